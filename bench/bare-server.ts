/**
 * The bare peer for P2: Fastify 5 and a pg.Pool, no authentication, no tenant transaction, no
 * schemas — the same record query with the tenant explicit, and the same JSON shape as Rampart's
 * `GET …/records/:recordId`. p2-http.ts strips its types into .bench/bare-server.mjs and starts that
 * on plain Node, as its own process.
 *
 * Record bodies are encrypted, so the bare server decrypts them as Rampart does — the same
 * envelope code (compiled, from dist/), data keys unwrapped once and kept in a Map — but with the
 * tenant key handed to it: no keyring, no KMS, no key-version or plain-row checks.
 *
 * Env: BARE_DATABASE_URL (a BYPASSRLS role), BARE_TENANT_KEY (hex), BARE_POOL_SIZE (default 10),
 * PORT (default 0: any).
 */
import Fastify from 'fastify';
import pg from 'pg';
import type { RecordRow } from '../src/modules/records/store.js';
// p2-http.ts points this at dist/ when it compiles the server to plain JavaScript.
import { openValue, readValueHeader, unwrapDataKey } from '../src/platform/crypto/envelope.js';

const COLLECTION = 'tickets';
const SQL = `SELECT r.id, r.body, r.body_format, r.version, r.created_at, r.updated_at
  FROM rampart.records r JOIN rampart.collections c ON c.tenant_id = r.tenant_id AND c.id = r.collection_id
 WHERE r.tenant_id = $1 AND c.name = $2 AND r.id = $3`;


const url = process.env['BARE_DATABASE_URL'];
if (!url) throw new Error('BARE_DATABASE_URL is required');
const tenantKey = Buffer.from(process.env['BARE_TENANT_KEY'] ?? '', 'hex');
if (tenantKey.length !== 32) throw new Error('BARE_TENANT_KEY (64 hex digits) is required');
const dataKeys = new Map<string, Buffer>();

function decrypt(tenantId: string, row: RecordRow): Buffer {
  const header = readValueHeader(row.body);
  const id = header.dataKeyId.toString('latin1');
  let key = dataKeys.get(id);
  if (!key) {
    key = unwrapDataKey(tenantKey, tenantId, header.version, header.dataKeyId, header.wrappedKey);
    dataKeys.set(id, key);
  }
  return openValue(key, { tenantId, table: 'records', rowId: row.id, field: 'body' }, row.body);
}
// Pool settings as Rampart's PostgresDatabase has them.
const pool = new pg.Pool({
  connectionString: url,
  max: Number(process.env['BARE_POOL_SIZE'] ?? 10),
  idleTimeoutMillis: 30_000,
  connectionTimeoutMillis: 10_000,
  application_name: 'bench-bare-http',
});
pool.on('error', () => {});

const app = Fastify({ logger: false });

app.get<{ Params: { tenant: string; id: string } }>('/records/:tenant/:id', async (request, reply) => {
  const { rows } = await pool.query<RecordRow>(SQL, [request.params.tenant, COLLECTION, request.params.id]);
  const row = rows[0];
  if (!row) return reply.status(404).send({ error: 'record_not_found' });
  return reply.header('etag', `"${row.version}"`).send({
    id: row.id,
    collection: COLLECTION,
    data: JSON.parse(decrypt(request.params.tenant, row).toString('utf8')) as unknown,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  });
});

await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 0) });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.stdout.write(`bare server listening on http://127.0.0.1:${port}\n`);

const stop = (): void => {
  void app
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

/**
 * The bare peer for P2: Fastify 5 and a pg.Pool, no authentication, no tenant transaction, no
 * schemas — the same record query with the tenant explicit, and the same JSON shape as Rampart's
 * `GET …/records/:recordId`. p2-http.ts strips its types into .bench/bare-server.mjs and starts that
 * on plain Node, as its own process.
 *
 * Env: BARE_DATABASE_URL (a BYPASSRLS role), BARE_POOL_SIZE (default 10), PORT (default 0: any).
 */
import Fastify from 'fastify';
import pg from 'pg';
import type { RecordRow } from '../src/modules/records/store.js';

const COLLECTION = 'tickets';
const SQL = `SELECT r.id, r.body, r.body_format, r.version, r.created_at, r.updated_at
  FROM rampart.records r JOIN rampart.collections c ON c.tenant_id = r.tenant_id AND c.id = r.collection_id
 WHERE r.tenant_id = $1 AND c.name = $2 AND r.id = $3`;


const url = process.env['BARE_DATABASE_URL'];
if (!url) throw new Error('BARE_DATABASE_URL is required');
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
    data: JSON.parse(row.body.toString('utf8')) as unknown,
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

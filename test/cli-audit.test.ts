/**
 * `rampart audit`: verify every chain of a real embedded database; export a chain; verify the
 * export offline with only the public keys; name the first bad sequence number when one byte of
 * the file changed; refuse, unless told, a file that proves less than it seems to (unsigned
 * events, a filtered export), saying what it did not prove; refuse to verify a file without keys.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import type { ExportHeader } from '../src/platform/audit/export.js';
import { exportLine, hashRecord, splitExportLine } from '../src/platform/audit/record.js';
import { embeddedDatabaseDir } from '../src/platform/db/index.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { startServer } from '../src/server.js';
import { captureLogLine, capturingLogger, instrumentApp, registerKeyFile } from './helpers/secret-capture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-cli-audit-'));
const ENV = { LOG_LEVEL: 'silent', RAMPART_DATA_DIR: dir };

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'rampart', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env: ENV });
  for (const line of [...out, ...err]) captureLogLine(line);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('rampart audit', () => {
  let ws = '';
  const file = path.join(dir, 'export.jsonl');
  const keys = path.join(dir, 'keys.json');

  beforeAll(async () => {
    const config = loadConfig({ env: { ...ENV, RAMPART_DEV: '1' }, flags: { port: 0 } });
    const s = await startServer(config, () => {}, { logger: capturingLogger(config), beforeListen: instrumentApp });
    registerKeyFile(path.join(dir, 'root-keys.json'));
    try {
      const setupToken = s.setupLink?.split('#token=')[1];
      const payload = { email: 'owner@example.test', password: 'correct horse battery staple', name: 'Owner', setupToken };
      expect((await s.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload })).statusCode).toBe(201);
      const token = (await s.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email: payload.email, password: payload.password } })).json<{ token: string }>().token;
      const headers = { authorization: `Bearer ${token}` };
      ws = (await s.app.inject({ method: 'POST', url: `/api/v1/workspaces`, headers, payload: { name: 'Cli' } })).json<{ id: string }>().id;
      for (const name of ['a', 'b', 'c']) await s.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections`, headers, payload: { name } });
      writeFileSync(keys, (await s.app.inject({ method: 'GET', url: '/api/v1/audit/public-keys' })).body);
    } finally {
      await s.close();
    }
  });

  it('lists its commands', async () => {
    const { code, out } = await run(['audit', '--help']);
    expect(code).toBe(0);
    for (const c of ['verify', 'export', 'checkpoint', 'public-keys']) expect(out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it('verifies every chain of the live database', async () => {
    const { code, out, err } = await run(['audit', 'verify', '--dev', '--json']);
    expect(code, err).toBe(0);
    const { chains } = JSON.parse(out) as { chains: Array<{ chain: string; ok: boolean; count: number }> };
    expect(chains.find((c) => c.chain === ws)).toMatchObject({ ok: true });
    expect(chains.find((c) => c.chain === 'accounts')?.count).toBeGreaterThan(0);
    expect(chains.every((c) => c.ok)).toBe(true);
  });

  it('exports a chain and verifies the file offline with only the public keys', async () => {
    expect((await run(['audit', 'checkpoint', '--chain', ws, '--dev'])).code).toBe(0);
    const exported = await run(['audit', 'export', '--chain', ws, '--out', file, '--dev']);
    expect(exported.code, exported.err).toBe(0);
    const ok = await run(['audit', 'verify', '--file', file, '--public-key', keys]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(new RegExp(`^${ws}: ok, seq 1–\\d+ \\(\\d+ events\\); head [0-9a-f]{16}…; 1 checkpoints verified`));
  });

  it('names the first bad sequence number when one byte of the file changed, and exits 1', async () => {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    lines[3] = (lines[3] as string).replace('"outcome":"success"', '"outcome":"successs"');
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, `${lines.join('\n')}\n`);
    const seq = Number(/^\{"seq":(\d+)/.exec(lines[3])?.[1]);
    const result = await run(['audit', 'verify', '--file', bad, '--public-key', keys, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.out)).toMatchObject({ ok: false, firstBad: { seq, problem: 'hash_mismatch' } });
  });

  it('refuses the forgeries found from outside, and accepts what it cannot prove only when told, saying what it did not prove', async () => {
    const [headerLine, ...events] = readFileSync(file, 'utf8').trimEnd().split('\n');
    const header = JSON.parse(headerLine as string) as ExportHeader;
    const last = Number(/^\{"seq":(\d+)/.exec(events.at(-1) as string)?.[1]);
    const write = (name: string, h: ExportHeader, body: readonly string[]) => {
      const p = path.join(dir, name);
      writeFileSync(p, `${[JSON.stringify(h), ...body].join('\n')}\n`);
      return p;
    };
    const verify = (f: string, ...flags: string[]) => run(['audit', 'verify', '--file', f, '--public-key', keys, ...flags]);

    // The checkpoints stripped from the header: every link holds, nothing is signed.
    const stripped = write('stripped.jsonl', { ...header, checkpoints: [] }, events);
    const refused = await verify(stripped);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`not proven: none of the ${last} events (seq 1–${last}) is signed by a valid checkpoint`);
    expect(refused.err).toMatch(/refused: .*pass --allow-unsigned-tail/);
    const json = await verify(stripped, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, accepted: false, signed: null, unsigned: { from: 1, through: last, count: last }, unproven: [{ reason: 'unsigned_tail' }] });
    const allowed = await verify(stripped, '--allow-unsigned-tail');
    expect(allowed.code, allowed.err).toBe(0);
    expect(allowed.out).toContain(`not proven: none of the ${last} events (seq 1–${last}) is signed by a valid checkpoint`);

    // Marked incomplete, a line edited (its hash member recomputed) and the line after it deleted.
    const edited = [...events];
    const parts = splitExportLine((edited[2] as string).replace('"outcome":"success"', '"outcome":"failure"'));
    if (!parts) throw new Error('not an export line');
    edited[2] = exportLine(parts.record, hashRecord(parts.record));
    edited.splice(3, 1);
    const incomplete = write('incomplete.jsonl', { ...header, complete: false }, edited);
    const refusedPartial = await verify(incomplete);
    expect(refusedPartial.code).toBe(1);
    expect(refusedPartial.out).toMatch(/not proven: this export is marked incomplete/);
    expect(refusedPartial.err).toMatch(/refused: .*pass --allow-incomplete/);
    const acceptedPartial = await verify(incomplete, '--allow-incomplete', '--json');
    expect(acceptedPartial.code).toBe(0);
    expect(JSON.parse(acceptedPartial.out)).toMatchObject({ ok: true, accepted: true, complete: false, signed: null, unproven: [{ reason: 'incomplete' }] });
    // The complete export itself needs neither.
    expect(JSON.parse((await verify(file, '--json')).out)).toMatchObject({ ok: true, accepted: true, unsigned: null, unproven: [] });
  });

  it('rotates the signing key: old checkpoints still verify with the published keys, and the rotation is an event', async () => {
    const rotated = await run(['audit', 'rotate-signing-key', '--dev', '--json']);
    expect(rotated.code, rotated.err).toBe(0);
    const { keyId } = JSON.parse(rotated.out) as { keyId: string };
    const published = JSON.parse((await run(['audit', 'public-keys', '--dev', '--json'])).out) as { keys: Array<{ keyId: string; retiredAt: string | null }> };
    expect(published.keys.map((k) => k.keyId)).toHaveLength(2);
    expect(published.keys[0]).toMatchObject({ keyId, retiredAt: null });
    writeFileSync(keys, JSON.stringify(published));
    expect((await run(['audit', 'checkpoint', '--chain', 'staff', '--dev'])).out).toContain(`signed by ${keyId}`);
    const all = await run(['audit', 'verify', '--dev', '--json', '--public-key', keys]);
    expect(all.code, all.out).toBe(0);
    const staff = await run(['audit', 'export', '--chain', 'staff', '--dev']);
    expect(staff.out).toContain('"action":"audit.signing_key_rotated"');
  });

  it('refuses a file without keys, and keys that are not Ed25519', async () => {
    expect(await run(['audit', 'verify', '--file', file])).toMatchObject({ code: 1, err: expect.stringMatching(/needs --public-key/) });
    const junk = path.join(dir, 'junk.json');
    writeFileSync(junk, '{"keys":[]}');
    expect(await run(['audit', 'verify', '--file', file, '--public-key', junk])).toMatchObject({ code: 1, err: expect.stringMatching(/holds no Ed25519 public key/) });
  });

  it('checkpoint refuses a chain whose events since its last checkpoint fail verification, names the event, and exits 1', async () => {
    // The rotation is a staff event after the staff chain's last checkpoint; then it is edited.
    expect((await run(['audit', 'rotate-signing-key', '--dev'])).code).toBe(0);
    const db = await PgliteDatabase.open({ dataDir: embeddedDatabaseDir(loadConfig({ env: { ...ENV, RAMPART_DEV: '1' } })) });
    let seq: number;
    try {
      seq = (await db.pg.query<{ seq: number }>(`SELECT seq::int AS seq FROM rampart.platform_audit_events WHERE chain = 'staff' ORDER BY seq DESC LIMIT 1`)).rows[0]?.seq ?? 0;
      await db.pg.exec(`SET session_replication_role = replica;
        UPDATE rampart.platform_audit_events SET body = replace(body, '"outcome":"success"', '"outcome":"failure"') WHERE chain = 'staff' AND seq = ${seq};
        SET session_replication_role = origin;`);
    } finally {
      await db.close();
    }
    const refused = await run(['audit', 'checkpoint', '--dev', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toMatchObject({ refused: [{ chain: 'staff', seq, problem: 'hash_mismatch' }] });
    const text = await run(['audit', 'checkpoint', '--chain', 'staff', '--dev']);
    expect(text).toMatchObject({ code: 1, err: expect.stringContaining(`staff: NOT signed: it fails verification at seq ${seq} (hash_mismatch)`) });
  });
});

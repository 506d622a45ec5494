/**
 * Nothing is signed that does not verify, on every backend. Events after the last checkpoint,
 * rewritten or cut in the database, are never signed by a restarted server (it verifies from the
 * last checkpoint before signing): it refuses, logs an error, records the failure in the chain
 * and in the staff chain, and verification names the first bad event. The running server also
 * holds the chain to what it chained itself, so even a consistent rewrite or cut of its unsigned
 * tail is refused. The window is short by default, and a clean stop signs what moved.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { AuditLog } from '../src/platform/audit/log.js';
import { startAuditMaintenance } from '../src/platform/audit/maintenance.js';
import { hashRecord, recordOf } from '../src/platform/audit/record.js';
import { AuditSinks } from '../src/platform/audit/sinks.js';
import { verifyExport } from '../src/platform/audit/verify-file.js';
import type { Checkpoint, PublicKeyInfo } from '../src/platform/audit/verify.js';
import { BACKENDS } from './helpers/backends.js';
import type { Caller, TestApp } from './helpers/app.js';
import { openAuditApp, recordEvents, sqlBytes, sqlText, withoutTriggers, workspaceWith } from './helpers/audit-chain.js';

describe('the audit checkpoint interval', () => {
  it('defaults to under a minute, and stays configurable', () => {
    const seconds = loadConfig({ env: {} }).auditCheckpointSeconds;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(60);
    expect(loadConfig({ env: { RAMPART_AUDIT_CHECKPOINT_SECONDS: '5' } }).auditCheckpointSeconds).toBe(5);
  });
});

describe.each(BACKENDS)('audit signing on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let keys: PublicKeyInfo[];

  beforeAll(async () => void ({ t, owner, keys } = await openAuditApp(backend)));
  afterAll(async () => t?.close());

  /** A workspace whose chain has a checkpoint, then `tail` more events after it. */
  async function signedThenTail(tail: number): Promise<{ ws: string; cp: Checkpoint; head: number }> {
    const ws = await workspaceWith(t, owner, 4);
    const cp = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    await recordEvents(t, ws, tail);
    return { ws, cp, head: (await t.services.audit.head(ws)).seq };
  }

  /** A new AuditLog over the same database, with the same key: the server after a restart. */
  const restarted = () => new AuditLog(t.database.db, { signer: t.services.audit.signer, log: t.app.log });

  /** Starts the restarted server's audit housekeeping (it checkpoints at once) and stops it. */
  async function startAndStop(audit: AuditLog): Promise<void> {
    audit.start();
    const maintenance = startAuditMaintenance(audit, new AuditSinks(t.database.db, audit, []), { checkpointSeconds: 3600, retentionDays: 0 }, t.app.log);
    await maintenance.stop();
    await audit.stop();
  }

  const newest = async (ws: string) => (await t.services.audit.checkpoints(ws, { limit: 1 }))[0];

  /** Rewrites the chain from `fromSeq` on with `change` applied to each body, every hash and link recomputed, and the head row moved: consistent throughout. */
  async function rewriteConsistently(ws: string, fromSeq: number, change: (body: string) => string, throughSeq?: number): Promise<void> {
    const rows = await t.database.raw<{ seq: number; body: string; prev_hash: Buffer }>(
      'SELECT seq::int AS seq, body, prev_hash FROM rampart.audit_events WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq',
      [ws, fromSeq],
    );
    let prev = rows[0]?.prev_hash as Buffer;
    const statements: string[] = [];
    let last = fromSeq - 1;
    for (const r of rows) {
      if (throughSeq !== undefined && r.seq > throughSeq) {
        statements.push(`DELETE FROM rampart.audit_events WHERE tenant_id = '${ws}' AND seq = ${r.seq}`);
        continue;
      }
      const body = change(r.body);
      const hash = hashRecord(recordOf(r.seq, prev, body));
      statements.push(`UPDATE rampart.audit_events SET body = ${sqlText(body)}, prev_hash = ${sqlBytes(prev)}, hash = ${sqlBytes(hash)} WHERE tenant_id = '${ws}' AND seq = ${r.seq}`);
      prev = hash;
      last = r.seq;
    }
    statements.push(`UPDATE rampart.audit_heads SET seq = ${last}, hash = ${sqlBytes(prev)} WHERE chain = '${ws}'`);
    await withoutTriggers(t, statements);
  }

  it('an event after the last checkpoint edited in the database: the restarted server signs nothing over it, says so, and verification names it', async () => {
    const { ws, cp, head } = await signedThenTail(3);
    const edited = head - 1;
    await withoutTriggers(t, [`UPDATE rampart.audit_events SET body = replace(body, '"outcome":"success"', '"outcome":"failure"') WHERE tenant_id = '${ws}' AND seq = ${edited}`]);
    const logged = t.logs.length;
    await startAndStop(restarted());
    expect(await newest(ws)).toEqual(cp);
    await expect(restarted().checkpoint(ws)).rejects.toThrow(/failed verification/);
    expect(await newest(ws)).toEqual(cp);
    expect((await t.services.audit.verify(ws, keys)).firstBad).toMatchObject({ seq: edited, problem: 'hash_mismatch' });
    // Operators and the workspace are told: an error in the log, an event in the chain and in the staff chain.
    expect(t.logs.slice(logged).some((l) => l.includes('"level":50') && l.includes(ws) && l.includes('hash_mismatch') && l.includes('checkpoint refused'))).toBe(true);
    const [alert] = await t.services.audit.list(ws, { action: 'audit.verification_failed', limit: 5 });
    expect(alert).toMatchObject({ outcome: 'failure', actor: { type: 'system' }, details: { refused: 'checkpoint', seq: edited, problem: 'hash_mismatch' } });
    const staff = await t.services.audit.list('staff', { action: 'audit.verification_failed', limit: 50 });
    expect(staff.find((e) => e.target?.id === ws)).toMatchObject({ details: { refused: 'checkpoint', seq: edited, problem: 'hash_mismatch' } });
    // An export still downloads, and says the same offline.
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/audit/export?format=jsonl`, headers: owner.bearer });
    expect(res.statusCode).toBe(200);
    expect((await verifyExport(Readable.from([res.body]), keys)).firstBad).toMatchObject({ seq: edited, problem: 'hash_mismatch' });
  });

  it('the tail cut in the database (the head row left as it was): nothing signed, and the first missing event named', async () => {
    const { ws, cp, head } = await signedThenTail(4);
    await withoutTriggers(t, [`DELETE FROM rampart.audit_events WHERE tenant_id = '${ws}' AND seq > ${head - 2}`]);
    await startAndStop(restarted());
    expect(await newest(ws)).toEqual(cp);
    // The failure recorded after the cut makes it a gap.
    expect((await t.services.audit.verify(ws, keys)).firstBad).toMatchObject({ seq: head - 1, problem: 'missing' });
  });

  it('a rewritten tail with a forged checkpoint row over it: the restarted server checks that checkpoint too', async () => {
    const { ws, cp } = await signedThenTail(3);
    await rewriteConsistently(ws, cp.seq + 1, (b) => b.replace('"outcome":"success"', '"outcome":"failure"'));
    const [head] = await t.database.raw<{ seq: number; hash: Buffer }>('SELECT seq::int AS seq, hash FROM rampart.audit_heads WHERE chain = $1', [ws]);
    await withoutTriggers(t, [
      `INSERT INTO rampart.audit_checkpoints (chain, seq, head, signed_at, key_id, signature)
       VALUES ('${ws}', ${head?.seq}, ${sqlBytes(head?.hash as Buffer)}, now(), '${keys[0]?.keyId}', ${sqlBytes(randomBytes(64))})`,
    ]);
    await expect(restarted().checkpoint(ws, true)).rejects.toThrow(/checkpoint_signature_invalid/);
    expect((await t.services.audit.checkpoints(ws, { limit: 2 }))[1]).toEqual(cp);
    expect((await t.services.audit.verify(ws, keys)).firstBad?.problem).toBe('checkpoint_signature_invalid');
  });

  it('the running server holds the chain to what it chained: a consistent rewrite of its unsigned tail, or a consistent cut, is not signed', async () => {
    const rewritten = await signedThenTail(3);
    await rewriteConsistently(rewritten.ws, rewritten.cp.seq + 1, (b) => b.replace('"outcome":"success"', '"outcome":"failure"'));
    await expect(t.services.audit.checkpoint(rewritten.ws)).rejects.toThrow(/rewritten/);
    expect(await newest(rewritten.ws)).toEqual(rewritten.cp);
    // Nor later, once the event recording the failure has moved the chain on past what it remembered.
    await t.services.audit.sequence(rewritten.ws);
    await expect(t.services.audit.checkpoint(rewritten.ws)).rejects.toThrow(/rewritten/);
    expect(await newest(rewritten.ws)).toEqual(rewritten.cp);
    expect(await t.services.audit.list(rewritten.ws, { action: 'audit.verification_failed', limit: 5 })).toHaveLength(1);

    const cut = await signedThenTail(3);
    await rewriteConsistently(cut.ws, cut.cp.seq + 1, (b) => b, cut.head - 2);
    await expect(t.services.audit.checkpoint(cut.ws)).rejects.toThrow(/truncated/);
    expect(await newest(cut.ws)).toEqual(cut.cp);
  });

  it('a clean stop signs every head that moved', async () => {
    const audit = restarted();
    audit.start();
    const maintenance = startAuditMaintenance(audit, new AuditSinks(t.database.db, audit, []), { checkpointSeconds: 3600, retentionDays: 0 }, t.app.log);
    const ws = await workspaceWith(t, owner, 3);
    await maintenance.stop();
    await audit.stop();
    const head = await t.services.audit.head(ws);
    expect(await newest(ws)).toMatchObject({ seq: head.seq, head: head.hash });
  });
});

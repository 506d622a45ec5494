/**
 * Retention can be proven and cannot be forged, on every backend. A real retention run deletes
 * only events below a checkpoint signed longer ago than the retention period, signs a statement
 * saying so, and what remains verifies live and exported. Someone with write access to the
 * database but not the signing key cannot pass off deleted events as pruned: not by moving the
 * pruned-through marker to a young checkpoint, not by also deleting the checkpoints that covered
 * them, not with a statement signed by a key they added to the key table. Nor can they make the
 * server prune for them (by ageing the time column, or with a checkpoint row it did not sign), or
 * prune away evidence of tampering.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, bodyTail } from '../src/platform/audit/entry.js';
import { AuditLog } from '../src/platform/audit/log.js';
import { hashRecord, microTime, recordOf } from '../src/platform/audit/record.js';
import { verifyExport } from '../src/platform/audit/verify-file.js';
import type { Checkpoint, PublicKeyInfo } from '../src/platform/audit/verify.js';
import { newId } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import type { Caller, TestApp } from './helpers/app.js';
import { DAY_MS, openAuditApp, publishedKeys, recordEvents, sqlBytes, sqlText, withoutTriggers, workspaceWith } from './helpers/audit-chain.js';

describe.each(BACKENDS)('audit retention on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let keys: PublicKeyInfo[];

  beforeAll(async () => void ({ t, owner, keys } = await openAuditApp(backend)));
  afterAll(async () => t?.close());

  /** A checkpoint of the chain's head signed by the server's key as if `daysAgo` days ago. */
  async function checkpointSignedAgo(ws: string, daysAgo: number): Promise<Checkpoint> {
    const past = new AuditLog(t.database.db, { signer: t.services.audit.signer, now: () => Date.now() - daysAgo * DAY_MS });
    try {
      const cp = await past.checkpoint(ws, true);
      if (!cp) throw new Error('no checkpoint');
      return cp;
    } finally {
      await past.stop();
    }
  }

  /** The database refuses to delete events younger than a day: age their time column, as time would. */
  const age = (ws: string, throughSeq: number) =>
    withoutTriggers(t, [`UPDATE rampart.audit_events SET occurred_at = now() - interval '400 days' WHERE tenant_id = '${ws}' AND seq <= ${throughSeq}`]);

  async function exportOf(ws: string): Promise<string> {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/audit/export?format=jsonl`, headers: owner.bearer });
    expect(res.statusCode, res.body).toBe(200);
    return res.body;
  }

  const eventCount = async (ws: string) =>
    (await t.database.raw<{ n: number }>('SELECT count(*)::int AS n FROM rampart.audit_events WHERE tenant_id = $1', [ws]))[0]?.n ?? 0;

  it('a real retention run prunes below a checkpoint signed before the retention period; what remains verifies, live and exported', async () => {
    const ws = await workspaceWith(t, owner, 8);
    const old = await checkpointSignedAgo(ws, 400);
    await recordEvents(t, ws, 3, 'test.after');
    const young = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    expect(young.seq).toBeGreaterThan(old.seq);
    // The database holds its own line: events it dates younger than a day are never deleted.
    await expect(t.services.audit.prune(ws, 365)).rejects.toThrow(/younger than a day/);
    expect(await eventCount(ws)).toBe(young.seq);
    await age(ws, old.seq);
    expect(await t.services.audit.prune(ws, 365)).toEqual({ deleted: old.seq, through: old.seq });
    // A second run finds nothing new to prune.
    expect(await t.services.audit.prune(ws, 365)).toEqual({ deleted: 0, through: old.seq });

    const report = await t.services.audit.verify(ws, keys);
    // What remains: the three later events, and the event that records the pruning.
    expect(report).toMatchObject({ ok: true, from: old.seq + 1, count: 4, firstBad: null });
    expect(report.anchor).toMatchObject({ seq: old.seq, kind: 'pruned', pruning: { retentionDays: 365, checkpointSignedAt: old.signedAt } });
    const viaApi = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/audit/verify`, headers: owner.bearer, payload: {} });
    expect(viaApi.json()).toMatchObject({ ok: true, anchor: { seq: old.seq, kind: 'pruned', pruning: { retentionDays: 365 } } });
    // The pruning is an event of the chain: the workspace sees it in its own log.
    const [pruned] = await t.services.audit.list(ws, { action: 'audit.pruned', limit: 5 });
    expect(pruned).toMatchObject({ actor: { type: 'system' }, details: { through: old.seq, head: old.head, retentionDays: 365, checkpointSignedAt: old.signedAt } });

    const exported = await verifyExport(Readable.from([await exportOf(ws)]), keys);
    expect(exported).toMatchObject({ ok: true, from: old.seq + 1, anchor: { seq: old.seq, kind: 'pruned' } });
  });

  it('oldest events deleted and the pruned-through marker set to a young checkpoint: verification refuses', async () => {
    const ws = await workspaceWith(t, owner, 6);
    const cp = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    await recordEvents(t, ws, 3);
    await t.services.audit.checkpoint(ws);
    await withoutTriggers(t, [`DELETE FROM rampart.audit_events WHERE tenant_id = '${ws}' AND seq <= ${cp.seq}`, `UPDATE rampart.audit_heads SET pruned_through = ${cp.seq} WHERE chain = '${ws}'`]);
    const report = await t.services.audit.verify(ws, keys);
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ seq: cp.seq, problem: 'pruning_unproven' });
    // The export of what is left says the same offline.
    expect((await verifyExport(Readable.from([await exportOf(ws)]), keys)).firstBad).toMatchObject({ seq: cp.seq, problem: 'pruning_unproven' });
  });

  it('oldest events deleted with the checkpoints that covered them: verification refuses', async () => {
    const ws = await workspaceWith(t, owner, 4);
    const first = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    await recordEvents(t, ws, 4);
    const second = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    await recordEvents(t, ws, 2);
    await withoutTriggers(t, [
      `DELETE FROM rampart.audit_events WHERE tenant_id = '${ws}' AND seq <= ${second.seq}`,
      `DELETE FROM rampart.audit_checkpoints WHERE chain = '${ws}' AND seq <= ${first.seq}`,
      `UPDATE rampart.audit_heads SET pruned_through = ${second.seq} WHERE chain = '${ws}'`,
    ]);
    expect((await t.services.audit.verify(ws, keys)).firstBad).toMatchObject({ seq: second.seq, problem: 'pruning_unproven' });
    // Or every checkpoint gone and the marker left at zero: the first event is missing.
    await withoutTriggers(t, [`DELETE FROM rampart.audit_checkpoints WHERE chain = '${ws}'`, `UPDATE rampart.audit_heads SET pruned_through = 0 WHERE chain = '${ws}'`]);
    expect((await t.services.audit.verify(ws, keys)).firstBad).toMatchObject({ seq: 1, problem: 'missing' });
  });

  it('a pruning statement signed by a key added to the key table is not published, and proves nothing', async () => {
    const ws = await workspaceWith(t, owner, 5);
    const cp = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    await recordEvents(t, ws, 2);
    // The attacker's own Ed25519 key, added to the table the published keys come from.
    const rogue = generateKeyPairSync('ed25519');
    const raw = Buffer.from(rogue.publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const keyId = createHash('sha256').update(raw).digest('hex').slice(0, 16);
    await withoutTriggers(t, [
      `INSERT INTO rampart.audit_signing_keys (key_id, version, public_key, provider, key_ref, wrapped, retired_at)
       VALUES ('${keyId}', 99, ${sqlBytes(raw)}, 'local', 'local:1', ${sqlBytes(randomBytes(60))}, now())`,
    ]);
    const served = await t.services.audit.signer?.publicKeys();
    expect(served?.map((k) => k.keyId)).not.toContain(keyId);
    expect((await publishedKeys(t)).map((k) => k.keyId)).toEqual(keys.map((k) => k.keyId));

    // A statement in the documented format, signed by that key, appended to the chain as the server would.
    const statement = { through: cp.seq, head: cp.head, checkpointSignedAt: '2000-01-01T00:00:00.000Z', prunedAt: new Date().toISOString(), retentionDays: 365 };
    const message = ['rampart-audit-pruning:v1', ws, statement.through, statement.head, statement.checkpointSignedAt, statement.prunedAt, statement.retentionDays].join('\n');
    const details = { ...statement, keyId, signature: sign(null, Buffer.from(message), rogue.privateKey).toString('base64') };
    const [head] = await t.database.raw<{ seq: number; hash: Buffer }>('SELECT seq::int AS seq, hash FROM rampart.audit_heads WHERE chain = $1', [ws]);
    if (!head) throw new Error('no head');
    const id = newId();
    const body = bodyOf(ws, bodyTail(id, microTime(), { action: 'audit.pruned', outcome: 'success', actor: { type: 'system', id: null }, details }, null));
    const seq = head.seq + 1;
    const hash = hashRecord(recordOf(seq, head.hash, body));
    await withoutTriggers(t, [
      `DELETE FROM rampart.audit_events WHERE tenant_id = '${ws}' AND seq <= ${cp.seq}`,
      `INSERT INTO rampart.audit_events (tenant_id, seq, id, occurred_at, actor_type, actor_id, action, outcome, body, prev_hash, hash)
       VALUES ('${ws}', ${seq}, '${id}', now(), 'system', NULL, 'audit.pruned', 'success', ${sqlText(body)}, ${sqlBytes(head.hash)}, ${sqlBytes(hash)})`,
      `UPDATE rampart.audit_heads SET seq = ${seq}, hash = ${sqlBytes(hash)}, pruned_through = ${cp.seq} WHERE chain = '${ws}'`,
    ]);
    const report = await t.services.audit.verify(ws, served ?? []);
    expect(report.firstBad).toMatchObject({ seq: cp.seq, problem: 'pruning_unproven' });
  });

  it('ageing the time column does not make the server prune young events', async () => {
    const ws = await workspaceWith(t, owner, 6);
    const cp = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    await recordEvents(t, ws, 2);
    await age(ws, cp.seq + 2);
    expect(await t.services.audit.prune(ws, 365)).toMatchObject({ deleted: 0, through: 0 });
    expect(await eventCount(ws)).toBe(cp.seq + 2);
    expect((await t.services.audit.verify(ws, keys)).ok).toBe(true);
  });

  it('the server prunes only at a checkpoint it signed, and never prunes away evidence of tampering', async () => {
    // A checkpoint row that looks old enough, but that the server never signed.
    const forged = await workspaceWith(t, owner, 6);
    const [last] = await t.database.raw<{ seq: number; hash: Buffer }>('SELECT seq::int AS seq, hash FROM rampart.audit_heads WHERE chain = $1', [forged]);
    await withoutTriggers(t, [
      `INSERT INTO rampart.audit_checkpoints (chain, seq, head, signed_at, key_id, signature)
       VALUES ('${forged}', ${last?.seq}, ${sqlBytes(last?.hash as Buffer)}, now() - interval '400 days', '${keys[0]?.keyId}', ${sqlBytes(randomBytes(64))})`,
    ]);
    await age(forged, last?.seq as number);
    expect(await t.services.audit.prune(forged, 365)).toMatchObject({ deleted: 0, refused: { problem: 'checkpoint_signature_invalid' } });
    expect(await eventCount(forged)).toBe(last?.seq);

    // A real old checkpoint, over events someone has since edited: kept, and reported.
    const ws = await workspaceWith(t, owner, 6);
    const old = await checkpointSignedAgo(ws, 400);
    await age(ws, old.seq);
    await withoutTriggers(t, [`UPDATE rampart.audit_events SET body = replace(body, '"i":2', '"i":7') WHERE tenant_id = '${ws}' AND body LIKE '%"i":2%'`]);
    const [edited] = await t.database.raw<{ seq: number }>(`SELECT seq::int AS seq FROM rampart.audit_events WHERE tenant_id = $1 AND body LIKE '%"i":7%'`, [ws]);
    const refused = await t.services.audit.prune(ws, 365);
    expect(refused).toMatchObject({ deleted: 0, refused: { seq: edited?.seq, problem: 'hash_mismatch' } });
    expect(await eventCount(ws)).toBeGreaterThanOrEqual(old.seq);
    expect((await t.services.audit.verify(ws, keys)).firstBad).toMatchObject({ seq: edited?.seq, problem: 'hash_mismatch' });
    // Operators and the workspace are told: an error in the log, an event in the chain.
    expect(t.logs.some((l) => l.includes('"level":50') && l.includes(ws) && l.includes('hash_mismatch'))).toBe(true);
    const [alert] = await t.services.audit.list(ws, { action: 'audit.verification_failed', limit: 5 });
    expect(alert).toMatchObject({ outcome: 'failure', details: { refused: 'pruning', seq: edited?.seq, problem: 'hash_mismatch' } });
  });
});

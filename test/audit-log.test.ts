/**
 * The tamper-evident audit log on every backend: concurrent writers never fork a chain; the app
 * role cannot change or delete events; verification names the first bad sequence number for an
 * edited byte, a deleted event and a reordering, live and in an exported file; checkpoints are
 * signed and a forged one is refused (and recorded); a whole rewritten chain is caught by its
 * checkpoint; exports, filters and the access log. Retention: audit-retention.test.ts.
 */
import { Readable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffActor } from '../src/modules/events/index.js';
import { bodyOf, bodyTail } from '../src/platform/audit/entry.js';
import type { ExportHeader } from '../src/platform/audit/export.js';
import { exportLine, hashRecord, microTime, recordOf, splitExportLine } from '../src/platform/audit/record.js';
import { verifyExport } from '../src/platform/audit/verify-file.js';
import type { Checkpoint, PublicKeyInfo } from '../src/platform/audit/verify.js';
import { tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { openAuditApp, recordEvents, sqlBytes, sqlText, withoutTriggers as tamper, workspaceWith as workspaceWithEvents } from './helpers/audit-chain.js';

function code(res: LightMyRequestResponse): string | undefined {
  return res.statusCode >= 400 ? res.json<{ error: { code: string } }>().error.code : undefined;
}

describe.each(BACKENDS)('audit log on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let keys: PublicKeyInfo[];

  const api = (who: Caller, method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) =>
    t.app.inject({ method, url, headers: who.bearer, ...(payload ? { payload } : {}) });

  const workspaceWith = (n: number, name = 'Audited') => workspaceWithEvents(t, owner, n, name);
  const withoutTriggers = (statements: readonly string[]) => tamper(t, statements);
  const lit = sqlBytes;
  const text = sqlText;

  async function exportOf(ws: string, query = ''): Promise<string> {
    const res = await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/export?format=jsonl${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.body;
  }

  const verifyText = (text: string) => verifyExport(Readable.from([text]), keys);

  beforeAll(async () => void ({ t, owner, keys } = await openAuditApp(backend, { poolSize: 10 })));
  afterAll(async () => t?.close());

  it('8 concurrent writers × 1,000 events on one workspace: one gap-free chain, no fork, verified', async () => {
    const ws = (await createWorkspace(t, owner, 'Busy')).id;
    const ctx = tenantContext(ws, null);
    await t.services.audit.sequence(ws);
    const before = (await t.services.audit.head(ws)).seq;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 1000; i++) {
          await t.services.workspaceEvents.record(ctx, null, { action: 'load.write', outcome: 'success', details: { writer: w, i } }, null);
        }
      }),
    );
    await t.services.audit.sequence(ws);
    const [stats] = await t.database.raw<{ n: number; lo: number; hi: number; queued: number; prevs: number }>(
      `SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi, count(DISTINCT prev_hash)::int AS prevs,
              (SELECT count(*)::int FROM rampart.audit_queue WHERE tenant_id = $1) AS queued
         FROM rampart.audit_events WHERE tenant_id = $1`,
      [ws],
    );
    expect(stats).toEqual({ n: before + 8000, lo: 1, hi: before + 8000, queued: 0, prevs: before + 8000 });
    const report = await t.services.audit.verify(ws, keys);
    expect(report).toMatchObject({ ok: true, from: 1, through: before + 8000, count: before + 8000, firstBad: null });
  }, 120_000);

  it('is append-only for the app role, and the triggers refuse even the owner', async () => {
    const ws = await workspaceWith(3);
    const app = (sql: string) => t.database.db.withTenant(tenantContext(ws, null), (tx) => tx.query(sql));
    await expect(app(`UPDATE audit_events SET outcome = 'failure'`)).rejects.toThrow(/append-only|permission denied/);
    await expect(app('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    await expect(app('TRUNCATE audit_events')).rejects.toThrow(/permission denied|append-only/);
    await expect(app('DELETE FROM audit_heads')).rejects.toThrow(/permission denied/);
    await expect(app('DELETE FROM audit_checkpoints')).rejects.toThrow(/permission denied/);
    // Pruning's own switch does not open fresh events, nor events above any checkpoint.
    await expect(
      t.database.db.withTenant(tenantContext(ws, null), async (tx) => {
        await tx.query(`SELECT set_config('rampart.audit_pruning', 'on', true)`);
        await tx.query('DELETE FROM audit_events');
      }),
    ).rejects.toThrow(/younger than a day/);
    // A queued event leaves the queue only into the chain.
    await expect(
      t.database.db.withTenant(tenantContext(ws, null), async (tx) => {
        await t.services.workspaceEvents.recordIn(tx, null, { action: 'test.queued', outcome: 'success' }, null);
        await tx.query('DELETE FROM audit_queue');
      }),
    ).rejects.toThrow(/leaves the queue only into its chain/);
    await expect(t.database.raw('UPDATE rampart.audit_events SET outcome = $2 WHERE tenant_id = $1', [ws, 'failure'])).rejects.toThrow(/append-only/);
    await expect(t.database.raw('DELETE FROM rampart.audit_events WHERE tenant_id = $1', [ws])).rejects.toThrow(/append-only/);
    expect((await t.services.audit.verify(ws, keys)).ok).toBe(true);
  });

  it('another workspace sees none of the chain, and its events never join it', async () => {
    const a = await workspaceWith(2, 'A');
    const b = await workspaceWith(2, 'B');
    const seen = await t.database.db.withTenant(tenantContext(b, null), (tx) =>
      tx.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1', [a]),
    );
    expect(seen.rows[0]?.n).toBe(0);
    await expect(
      t.database.db.withTenant(tenantContext(b, null), (tx) =>
        tx.query(`INSERT INTO audit_queue (tenant_id, id, occurred_at, actor_type, action, outcome, body) VALUES ($1, gen_random_uuid(), now(), 'system', 'x.y', 'success', '{"v":1,"chain":"x"}')`, [a]),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  describe('tampering in the database is found, and named by its sequence number', () => {
    it('one byte changed', async () => {
      const ws = await workspaceWith(10);
      await withoutTriggers([`UPDATE rampart.audit_events SET body = replace(body, '"i":4', '"i":5') WHERE tenant_id = '${ws}' AND body LIKE '%"i":4%'`]);
      const [row] = await t.database.raw<{ seq: number }>(`SELECT seq::int AS seq FROM rampart.audit_events WHERE tenant_id = $1 AND body LIKE '%"i":5%' ORDER BY seq LIMIT 1`, [ws]);
      const report = await t.services.audit.verify(ws, keys);
      expect(report.ok).toBe(false);
      expect(report.firstBad).toMatchObject({ seq: row?.seq, problem: 'hash_mismatch' });
    });

    it('an event deleted', async () => {
      const ws = await workspaceWith(10);
      await withoutTriggers([`DELETE FROM rampart.audit_events WHERE tenant_id = '${ws}' AND seq = 6`]);
      expect((await t.services.audit.verify(ws, keys)).firstBad).toMatchObject({ seq: 6, problem: 'missing' });
    });

    it('two events reordered', async () => {
      const ws = await workspaceWith(10);
      await withoutTriggers([
        `UPDATE rampart.audit_events SET seq = 1000 WHERE tenant_id = '${ws}' AND seq = 4`,
        `UPDATE rampart.audit_events SET seq = 4 WHERE tenant_id = '${ws}' AND seq = 5`,
        `UPDATE rampart.audit_events SET seq = 5 WHERE tenant_id = '${ws}' AND seq = 1000`,
      ]);
      expect((await t.services.audit.verify(ws, keys)).firstBad?.seq).toBe(4);
    });

    it('the whole chain rewritten consistently: the signed checkpoint catches it', async () => {
      const ws = await workspaceWith(6);
      const cp = await t.services.audit.checkpoint(ws);
      expect(cp?.seq).toBeGreaterThan(5);
      // Rewrite event 3 and recompute every hash after it, and the head: links all hold.
      const rows = await t.database.raw<{ seq: number; body: string }>('SELECT seq::int AS seq, body FROM rampart.audit_events WHERE tenant_id = $1 ORDER BY seq', [ws]);
      let prev: Buffer = Buffer.alloc(32);
      const rewritten: string[] = [];
      for (const r of rows) {
        const body = r.seq === 3 ? r.body.replace('"outcome":"success"', '"outcome":"failure"') : r.body;
        const hash = hashRecord(recordOf(r.seq, prev, body));
        rewritten.push(`UPDATE rampart.audit_events SET body = ${text(body)}, prev_hash = ${lit(prev)}, hash = ${lit(hash)} WHERE tenant_id = '${ws}' AND seq = ${r.seq}`);
        prev = hash;
      }
      rewritten.push(`UPDATE rampart.audit_heads SET hash = ${lit(prev)} WHERE chain = '${ws}'`);
      await withoutTriggers(rewritten);
      const report = await t.services.audit.verify(ws, keys);
      expect(report.ok).toBe(false);
      expect(report.firstBad).toMatchObject({ seq: cp?.seq, problem: 'checkpoint_mismatch' });
    });
  });

  describe('exports verify offline with only the public keys', () => {
    let ws: string;
    let text: string;
    beforeAll(async () => {
      ws = await workspaceWith(12);
      await t.services.audit.checkpoint(ws);
      text = await exportOf(ws);
    });
    const lines = () => text.trimEnd().split('\n');
    const seqOf = (line: string) => Number(/^\{"seq":(\d+)/.exec(line)?.[1]);

    it('an untouched export verifies, through its last event, against the checkpoint it carries', async () => {
      const report = await verifyText(text);
      expect(report).toMatchObject({ ok: true, complete: true, from: 1, firstBad: null });
      expect(report.checkpointsVerified).toBeGreaterThanOrEqual(1);
      expect(report.signedThrough).toBeGreaterThanOrEqual(12);
    });

    it('an export from the API is signed through its last event, and the report says so', async () => {
      const last = seqOf(lines().at(-1) as string);
      expect(await verifyText(text)).toMatchObject({ ok: true, complete: true, signed: { from: 1, through: last, count: last }, unsigned: null, unproven: [] });
    });

    /** The file with its header changed, and these event lines. */
    const withHeader = (change: (h: ExportHeader) => ExportHeader, body: readonly string[]) => [JSON.stringify(change(JSON.parse(lines()[0] as string) as ExportHeader)), ...body].join('\n');
    /** An exported line with one change, and the hash member recomputed to match it. */
    const rehashed = (line: string, from: string, to: string) => {
      const parts = splitExportLine(line.replace(from, to));
      if (!parts) throw new Error('not an export line');
      return exportLine(parts.record, hashRecord(parts.record));
    };

    it('events after the last checkpoint are reported as unsigned, and not proven: a fabricated tail links, but nothing signs it', async () => {
      const events = lines().slice(1);
      const n = seqOf(events.at(-1) as string);
      let prev: Buffer = Buffer.from(splitExportLine(events.at(-1) as string)?.claimed ?? '', 'hex');
      for (let i = 1; i <= 2; i++) {
        const record = recordOf(n + i, prev, bodyOf(ws, bodyTail(newId(), microTime(), { action: 'test.forged', outcome: 'success', actor: { type: 'system', id: null } }, null)));
        prev = hashRecord(record);
        events.push(exportLine(record, prev));
      }
      const report = await verifyText(withHeader((h) => ({ ...h, through: n + 2 }), events));
      expect(report).toMatchObject({ ok: true, signed: { from: 1, through: n }, unsigned: { from: n + 1, through: n + 2, count: 2 }, unproven: [{ reason: 'unsigned_tail' }] });
    });

    it('the forgeries found from outside: an export marked incomplete with a line edited and another deleted; an export with its checkpoints stripped', async () => {
      const events = lines().slice(1);
      // Marked incomplete, one line edited (its hash member recomputed), a later one deleted: the
      // edited line's successor still names the old hash.
      const edited = [...events];
      edited[4] = rehashed(edited[4] as string, '"outcome":"success"', '"outcome":"failure"');
      edited.splice(8, 1);
      const incomplete = withHeader((h) => ({ ...h, complete: false }), edited);
      expect((await verifyText(incomplete)).firstBad).toMatchObject({ seq: seqOf(edited[4]), problem: 'link_broken' });
      // With that successor deleted as well, no link shows the edit: nothing proves the lines, and the report says so.
      edited.splice(5, 1);
      const hidden = await verifyText(withHeader((h) => ({ ...h, complete: false }), edited));
      expect(hidden).toMatchObject({ ok: true, complete: false, signed: null, unproven: [{ reason: 'incomplete' }] });
      // The checkpoints stripped from the header: every link holds, and nothing is signed.
      const last = seqOf(events.at(-1) as string);
      const stripped = await verifyText(withHeader((h) => ({ ...h, checkpoints: [] }), events));
      expect(stripped).toMatchObject({ ok: true, checkpointsVerified: 0, signedThrough: 0, signed: null, unsigned: { from: 1, through: last, count: last }, unproven: [{ reason: 'unsigned_tail' }] });
    });

    it('one byte changed in a line names that line', async () => {
      const all = lines();
      const target = all[5] as string;
      all[5] = target.replace('"outcome":"success"', '"outcome":"succesS"');
      expect(all[5]).not.toBe(target);
      expect((await verifyText(`${all.join('\n')}\n`)).firstBad).toMatchObject({ seq: seqOf(target), problem: 'hash_mismatch' });
    });

    it('a line deleted, or two swapped, names the first sequence number missing or out of place', async () => {
      const deleted = lines();
      const gone = deleted.splice(4, 1)[0] as string;
      expect((await verifyText(deleted.join('\n'))).firstBad).toMatchObject({ seq: seqOf(gone), problem: 'missing' });
      const swapped = lines();
      const [x, y] = [swapped[6] as string, swapped[7] as string];
      swapped[6] = y;
      swapped[7] = x;
      expect((await verifyText(swapped.join('\n'))).firstBad).toMatchObject({ seq: seqOf(x), problem: 'missing' });
    });

    it('verifies bytes as read: non-ASCII details, CRLF line ends, and chunks that split a character', async () => {
      const other = await workspaceWith(0, 'Unicode');
      await t.services.workspaceEvents.record(tenantContext(other, null), null, { action: 'test.unicode', outcome: 'success', details: { name: 'café ☕ 日本語 \u2028' } }, null);
      const exported = Buffer.from((await exportOf(other)).replace(/\n/g, '\r\n'), 'utf8');
      const chunks: Buffer[] = [];
      for (let i = 0; i < exported.length; i += 7) chunks.push(exported.subarray(i, i + 7));
      expect(await verifyExport(Readable.from(chunks), keys)).toMatchObject({ ok: true, firstBad: null });
    });

    it('a tail cut before the signed checkpoint is found', async () => {
      const cut = lines().slice(0, -2);
      expect((await verifyText(cut.join('\n'))).firstBad?.problem).toBe('truncated');
    });

    it('a checkpoint in the file signed by another key, or edited, fails', async () => {
      const all = lines();
      const header = JSON.parse(all[0] as string) as { checkpoints: Checkpoint[] };
      const last = header.checkpoints.at(-1) as Checkpoint;
      header.checkpoints[header.checkpoints.length - 1] = { ...last, head: last.head.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
      all[0] = JSON.stringify(header);
      expect((await verifyText(all.join('\n'))).firstBad?.problem).toBe('checkpoint_signature_invalid');
    });

    it('an export from a time starts at the checkpoint before it, and still verifies', async () => {
      const total = (await t.services.audit.checkpoints(ws, { limit: 1 }))[0]?.seq as number;
      for (let i = 0; i < 4; i++) {
        await t.services.workspaceEvents.record(tenantContext(ws, null), null, { action: 'test.later', outcome: 'success' }, null);
      }
      await t.services.audit.sequence(ws);
      const from = (await t.services.audit.list(ws, { action: 'test.later', limit: 1 }))[0]?.time as string;
      const later = await exportOf(ws, `&from=${encodeURIComponent(from)}`);
      const header = JSON.parse(later.split('\n')[0] as string) as { anchor: { seq: number } };
      expect(header.anchor.seq).toBe(total);
      const report = await verifyText(later);
      // Anchored at that checkpoint, and signed through its end by the checkpoint the export made.
      const last = seqOf(later.trimEnd().split('\n').at(-1) as string);
      expect(report).toMatchObject({ ok: true, from: total + 1, checkpointsVerified: 2, signedThrough: last, anchor: { seq: total, kind: 'checkpoint' } });
    });

    it('an export up to a time verifies, signed through the last checkpoint in its range; its header carries only the checkpoints that prove it', async () => {
      const other = await workspaceWith(3, 'Bounded');
      const first = (await t.services.audit.checkpoint(other)) as Checkpoint;
      await recordEvents(t, other, 3, 'test.middle');
      const second = (await t.services.audit.checkpoint(other)) as Checkpoint;
      await recordEvents(t, other, 2, 'test.late');
      const to = (await t.services.audit.list(other, { action: 'test.late', limit: 5 })).at(-1)?.time as string;
      const bounded = await exportOf(other, `&to=${encodeURIComponent(to)}`);
      const header = JSON.parse(bounded.split('\n')[0] as string) as ExportHeader;
      // Later checkpoints (the export signs the head) are not in range; of those in range, the newest proves the rest.
      expect(header.checkpoints.map((c) => c.seq)).toEqual([second.seq]);
      expect(header.through).toBe(second.seq);
      expect(await verifyText(bounded)).toMatchObject({ ok: true, through: second.seq, signed: { from: 1, through: second.seq }, unsigned: null });
      expect(first.seq).toBeLessThan(second.seq);
    });

    it('an export filtered by actor says it is partial; each line still checks against its own hash', async () => {
      const partial = await exportOf(ws, `&actor=${owner.accountId}`);
      const report = await verifyText(partial);
      expect(report).toMatchObject({ ok: true, complete: false });
      expect((await verifyText(partial.replace('"outcome":"success"', '"outcome":"failure"'))).ok).toBe(false);
    });

    it('CSV: one row per event, and no cell a spreadsheet would run as a formula', async () => {
      await api({ ...owner, bearer: { ...owner.bearer, 'user-agent': '=HYPERLINK("http://evil")' } }, 'POST', `/api/v1/workspaces/${ws}/audit/verify`, {});
      const csv = await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/export?format=csv`);
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const rows = csv.body.trimEnd().split('\r\n');
      expect(rows[0]).toBe('seq,time,actor_type,actor_id,actor_name,actor_role,action,outcome,target_type,target_id,ip,user_agent,request_id,details,hash');
      expect(csv.body).toContain(`"'=HYPERLINK(""http://evil"")"`);
      expect(csv.body).not.toMatch(/(^|,)=HYPERLINK/m);
    });
  });

  describe('checkpoints and verification through the API', () => {
    let ws: string;
    let cp: Checkpoint;
    beforeAll(async () => {
      ws = await workspaceWith(4);
      cp = (await t.services.audit.checkpoint(ws)) as Checkpoint;
    });

    it('lists signed checkpoints; a kept checkpoint verifies against the chain', async () => {
      const list = await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/checkpoints`);
      expect(list.json<{ data: Checkpoint[] }>().data[0]).toEqual(cp);
      const res = await api(owner, 'POST', `/api/v1/workspaces/${ws}/audit/verify`, { checkpoint: cp });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ ok: true, firstBad: null });
    });

    it('a forged checkpoint is 400 audit_checkpoint_invalid, and the attempt is an event', async () => {
      const forged = [
        { ...cp, signature: Buffer.alloc(64, 1).toString('base64') },
        { ...cp, head: 'f'.repeat(64) },
        { ...cp, seq: cp.seq - 1 },
      ];
      for (const c of forged) {
        const res = await api(owner, 'POST', `/api/v1/workspaces/${ws}/audit/verify`, { checkpoint: c });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ error: { code: 'audit_checkpoint_invalid', details: { reason: 'signature' } } });
      }
      const other = await workspaceWith(1, 'Other');
      const wrongChain = await api(owner, 'POST', `/api/v1/workspaces/${other}/audit/verify`, { checkpoint: cp });
      expect(wrongChain.json()).toMatchObject({ error: { code: 'audit_checkpoint_invalid', details: { reason: 'chain' } } });
      const events = await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/events?action=audit.verified&limit=10`);
      const failures = events.json<{ data: Array<{ outcome: string; details: { reason?: string } }> }>().data.filter((e) => e.outcome === 'failure');
      expect(failures.map((e) => e.details.reason)).toEqual(['signature', 'signature', 'signature']);
    });

    it('a member without audit:read can neither read nor verify', async () => {
      const stranger = await signUp(t, 'stranger');
      expect(code(await api(stranger, 'GET', `/api/v1/workspaces/${ws}/audit/events`))).toBe('workspace_not_found');
    });
  });

  it('filters by time, actor and action, and pages back by sequence number', async () => {
    const ws = await workspaceWith(5);
    const all = (await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/events?limit=500`)).json<{ data: Array<{ seq: number; time: string; action: string; actor: { id: string } }> }>().data;
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => b - a));
    const page = (await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/events?limit=2&action=test.event`)).json<{ data: Array<{ seq: number }>; nextBefore: number }>();
    expect(page.data).toHaveLength(2);
    const next = (await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/events?limit=2&action=test.event&before=${page.nextBefore}`)).json<{ data: Array<{ seq: number }> }>();
    expect(Math.max(...next.data.map((e) => e.seq))).toBeLessThan(Math.min(...page.data.map((e) => e.seq)));
    const mine = (await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/events?actor=${owner.accountId}&limit=500`)).json<{ data: Array<{ actor: { id: string } }> }>().data;
    expect(mine.length).toBeGreaterThanOrEqual(5);
    expect(mine.every((e) => e.actor.id === owner.accountId)).toBe(true);
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect((await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/events?from=${future}`)).json<{ data: unknown[] }>().data).toEqual([]);
    expect(code(await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/events?from=yesterday`))).toBe('validation_failed');
    // Times carry microseconds.
    expect(all[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("the access log shows staff access only: who, in which role, under which request", async () => {
    const ws = await workspaceWith(2);
    const staff: StaffActor = { type: 'staff', id: '0b7c4a7e-6d0e-4e5c-9a0b-6f5c1f2e3d4a', name: 'Sam Support', role: 'support' };
    await t.services.workspaceEvents.record(
      tenantContext(ws, null),
      staff,
      { action: 'staff.records.read', outcome: 'success', target: { type: 'record', id: 'r1' }, details: { grantId: 'g1', justification: 'customer-initiated-support', ticket: 'T-1' } },
      { ip: '10.0.0.1', userAgent: 'staff-console', requestId: 'req-1' },
    );
    const log = (await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/access-log`)).json<{ data: Array<{ actor: unknown; action: string; details: unknown }> }>().data;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ actor: { type: 'staff', id: staff.id, name: 'Sam Support', role: 'support' }, action: 'staff.records.read', details: { ticket: 'T-1' } });
    // Exportable: the access log is the export of the staff's events.
    const csv = (await api(owner, 'GET', `/api/v1/workspaces/${ws}/audit/export?format=csv&actorType=staff`)).body.trimEnd().split('\r\n');
    expect(csv).toHaveLength(2);
    expect(csv[1]).toContain(',staff,0b7c4a7e-6d0e-4e5c-9a0b-6f5c1f2e3d4a,Sam Support,support,staff.records.read,success,record,r1,10.0.0.1,staff-console,req-1,');
    const jsonl = await exportOf(ws, '&actorType=staff');
    expect(await verifyText(jsonl)).toMatchObject({ ok: true, complete: false, count: 1 });
  });
});

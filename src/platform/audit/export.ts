/**
 * Exports of a chain, shared by the API and the CLI.
 *
 * JSON Lines: a header line, then one line per event — the hashed record with its hash as the
 * last member (record.ts). The header names the anchor the first event links to (genesis; the
 * signed pruning the chain starts after, whose statement it carries; or a signed checkpoint at or
 * before the requested start), so the file verifies on its own, and carries the checkpoints that
 * prove its range; the chain's head is signed first, so an export to the head is signed to its end. An export filtered by actor (or kind of actor: the
 * access log is the staff's events) is not contiguous: its
 * header says `complete: false`, and the verifier checks each line only against its own hash.
 *
 * CSV: for spreadsheets and SIEM imports; one row per event, not verifiable. Cells that a
 * spreadsheet would run as a formula are prefixed with an apostrophe.
 */
import { z } from 'zod';
import type { AuditActorType, AuditBody } from './entry.js';
import { AuditIntegrityError, type AuditLog } from './log.js';
import { GENESIS_HASH, exportLine, recordOf } from './record.js';
import { CheckpointSchema, PruningSchema, type Checkpoint, type PruningStatement } from './verify.js';

export interface ExportFilter {
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  readonly actorId?: string | undefined;
  /** Only events by this kind of actor: `staff` exports the access log. */
  readonly actorType?: AuditActorType | undefined;
}

/** The first line of a JSON Lines export (what the verifier reads it with, too). */
export const ExportHeaderSchema = z.object({
  type: z.literal('rampart.audit.export'),
  v: z.literal(1),
  chain: z.string().max(64),
  exportedAt: z.string().max(64),
  /** The sequence number and hash the first event links to. */
  anchor: z.object({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), head: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** The last sequence number in range. */
  through: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** False when filtered by actor or kind of actor: lines are not contiguous. */
  complete: z.boolean(),
  filter: z.object({ from: z.string().max(64).nullable(), to: z.string().max(64).nullable(), actor: z.string().max(64).nullable(), actorType: z.string().max(64).nullable() }),
  checkpoints: z.array(CheckpointSchema),
  /** When the anchor is where the chain was pruned: the signed statement of that pruning. */
  pruning: PruningSchema.nullable().default(null),
});
export type ExportHeader = z.infer<typeof ExportHeaderSchema>;

/**
 * Where an export of the chain with this filter starts and ends, and the checkpoints that prove
 * it: the one it starts at, and the newest in range (every event before that links to it). Not
 * every checkpoint in range: a busy chain has thousands a day, and the others prove nothing more.
 */
async function range(
  audit: AuditLog,
  chain: string,
  filter: ExportFilter,
): Promise<{ anchor: { seq: number; head: string }; through: number; checkpoints: Checkpoint[]; pruning: PruningStatement | null }> {
  await audit.sequence(chain);
  const head = await audit.head(chain);
  let through = head.seq;
  if (filter.to) {
    const after = await audit.firstSeqAt(chain, filter.to);
    if (after !== null) through = after - 1;
  }
  const wanted = filter.from ? ((await audit.firstSeqAt(chain, filter.from)) ?? through + 1) : head.prunedThrough + 1;
  // The newest checkpoint the export can link back to: at or before the first wanted event.
  const [before] = await audit.checkpoints(chain, { atOrBelow: wanted - 1, atOrAbove: Math.max(head.prunedThrough, 1), limit: 1 });
  let anchor = before ? { seq: before.seq, head: before.head } : { seq: 0, head: GENESIS_HASH.toString('hex') };
  // A pruned chain starts where it was pruned: the statement of that pruning proves the start.
  const pruning = head.prunedThrough > 0 ? await audit.pruningAt(chain, head.prunedThrough) : null;
  if (anchor.seq < head.prunedThrough) anchor = { seq: head.prunedThrough, head: pruning?.head ?? GENESIS_HASH.toString('hex') };
  const [start] = anchor.seq > 0 ? await audit.checkpoints(chain, { atOrBelow: anchor.seq, atOrAbove: anchor.seq, limit: 1 }) : [];
  const [end] = await audit.checkpoints(chain, { atOrBelow: through, atOrAbove: anchor.seq + 1, limit: 1 });
  const checkpoints = [start, end].filter((c) => c !== undefined);
  return { anchor, through, checkpoints, pruning: anchor.seq === head.prunedThrough ? pruning : null };
}

export async function* exportJsonLines(audit: AuditLog, chain: string, filter: ExportFilter): AsyncGenerator<string> {
  // The head is signed first, so an export of the whole chain is signed through its last event.
  // A chain that fails verification is not signed (that is reported where it is found); its
  // export still goes out, and its verification shows the same.
  if (audit.signer) await audit.checkpoint(chain).catch((err: unknown) => {
    if (!(err instanceof AuditIntegrityError)) throw err;
  });
  const { anchor, through, checkpoints, pruning } = await range(audit, chain, filter);
  const header: ExportHeader = {
    type: 'rampart.audit.export',
    v: 1,
    chain,
    exportedAt: new Date().toISOString(),
    anchor,
    through,
    complete: filter.actorId === undefined && filter.actorType === undefined,
    filter: { from: filter.from?.toISOString() ?? null, to: filter.to?.toISOString() ?? null, actor: filter.actorId ?? null, actorType: filter.actorType ?? null },
    checkpoints,
    pruning,
  };
  yield `${JSON.stringify(header)}\n`;
  for await (const page of audit.pages(chain, { afterSeq: anchor.seq, throughSeq: through, actorId: filter.actorId, actorType: filter.actorType })) {
    yield page.map((r) => `${exportLine(recordOf(Number(r.seq), r.prev_hash, r.body), r.hash)}\n`).join('');
  }
}

export const CSV_COLUMNS = [
  'seq',
  'time',
  'actor_type',
  'actor_id',
  'actor_name',
  'actor_role',
  'action',
  'outcome',
  'target_type',
  'target_id',
  'ip',
  'user_agent',
  'request_id',
  'details',
  'hash',
] as const;

/** One CSV cell: quoted when needed, and never a formula. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function* exportCsv(audit: AuditLog, chain: string, filter: ExportFilter): AsyncGenerator<string> {
  await audit.sequence(chain);
  const head = await audit.head(chain);
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  for await (const page of audit.pages(chain, { afterSeq: head.prunedThrough, from: filter.from, to: filter.to, actorId: filter.actorId, actorType: filter.actorType })) {
    let out = '';
    for (const r of page) {
      const e = JSON.parse(r.body) as AuditBody;
      out += `${[
        r.seq,
        e.time,
        e.actor.type,
        e.actor.id,
        e.actor.name ?? null,
        e.actor.role ?? null,
        e.action,
        e.outcome,
        e.target?.type ?? null,
        e.target?.id ?? null,
        e.ip,
        e.userAgent,
        e.requestId,
        JSON.stringify(e.details),
        r.hash.toString('hex'),
      ]
        .map(csvCell)
        .join(',')}\r\n`;
    }
    yield out;
  }
}

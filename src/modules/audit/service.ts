/**
 * A workspace's view of its audit chain: events and the access log (staff only), exports,
 * checkpoints, and verification — of the live chain, and of a checkpoint the customer kept.
 */
import { Readable } from 'node:stream';
import type { AuditActorType } from '../../platform/audit/entry.js';
import type { AuditLog, AuditEventView } from '../../platform/audit/log.js';
import { exportCsv, exportJsonLines } from '../../platform/audit/export.js';
import { checkpointSignatureValid, type Checkpoint, type PublicKeyInfo, type VerifyReport } from '../../platform/audit/verify.js';
import { RampartError } from '../../platform/errors.js';
import type { WorkspaceCaller } from '../../platform/http/context.js';
import type { WorkspaceEvents } from '../events/index.js';

export interface AuditListQuery {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly actor?: string | undefined;
  readonly actorType?: AuditActorType | undefined;
  readonly action?: string | undefined;
  readonly before?: number | undefined;
  readonly limit: number;
}

const date = (s: string | undefined) => (s === undefined ? undefined : new Date(s));

export class AuditService {
  constructor(
    private readonly audit: AuditLog,
    private readonly events: WorkspaceEvents,
  ) {}

  list(caller: WorkspaceCaller, q: AuditListQuery): Promise<AuditEventView[]> {
    return this.audit.list(caller.tenant.tenantId, {
      from: date(q.from),
      to: date(q.to),
      actorId: q.actor,
      actorType: q.actorType,
      action: q.action,
      beforeSeq: q.before,
      limit: q.limit,
    });
  }

  /** Every access by the operator's staff: who, in which role, under which request, what. */
  accessLog(caller: WorkspaceCaller, q: Omit<AuditListQuery, 'actor' | 'actorType' | 'action'>): Promise<AuditEventView[]> {
    return this.list(caller, { ...q, actorType: 'staff' });
  }

  async export(
    caller: WorkspaceCaller,
    q: { format: 'jsonl' | 'csv'; from?: string | undefined; to?: string | undefined; actor?: string | undefined; actorType?: AuditActorType | undefined },
  ): Promise<Readable> {
    const filter = { from: date(q.from), to: date(q.to), actorId: q.actor, actorType: q.actorType };
    await this.events.record(
      caller.tenant,
      caller.actor,
      { action: 'audit.exported', outcome: 'success', details: { format: q.format, from: q.from ?? null, to: q.to ?? null, actor: q.actor ?? null, actorType: q.actorType ?? null } },
      caller.meta,
    );
    const chain = caller.tenant.tenantId;
    return Readable.from(q.format === 'csv' ? exportCsv(this.audit, chain, filter) : exportJsonLines(this.audit, chain, filter));
  }

  checkpoints(caller: WorkspaceCaller, limit = 100): Promise<Checkpoint[]> {
    return this.audit.checkpoints(caller.tenant.tenantId, { limit });
  }

  async publicKeys() {
    const signer = this.audit.signer;
    return { keys: signer ? await signer.publicKeys() : [] };
  }

  /**
   * Verifies the live chain; with a checkpoint, first that it is ours and agrees with the chain.
   * Either way the attempt is an event.
   */
  async verify(caller: WorkspaceCaller, checkpoint: Checkpoint | undefined): Promise<VerifyReport> {
    const chain = caller.tenant.tenantId;
    const keys: PublicKeyInfo[] = (await this.publicKeys()).keys;
    if (checkpoint) {
      const reason = await this.checkpointProblem(chain, checkpoint, keys);
      if (reason) {
        await this.events.record(caller.tenant, caller.actor, { action: 'audit.verified', outcome: 'failure', details: { checkpointSeq: checkpoint.seq, reason } }, caller.meta);
        throw new RampartError('audit_checkpoint_invalid', { details: { reason } });
      }
    }
    const report = await this.audit.verify(chain, keys);
    await this.events.record(
      caller.tenant,
      caller.actor,
      {
        action: 'audit.verified',
        outcome: report.ok ? 'success' : 'failure',
        details: { through: report.through, checkpointSeq: checkpoint?.seq ?? null, firstBadSeq: report.firstBad?.seq ?? null, problem: report.firstBad?.problem ?? null },
      },
      caller.meta,
    );
    return report;
  }

  private async checkpointProblem(chain: string, c: Checkpoint, keys: readonly PublicKeyInfo[]): Promise<string | null> {
    if (c.chain !== chain) return 'chain';
    if (!checkpointSignatureValid(c, keys)) return 'signature';
    const head = await this.audit.head(chain);
    if (c.seq > head.seq) return 'beyond_head';
    // Pruned below: the checkpoint must be one we still hold.
    const hash = c.seq <= head.prunedThrough ? ((await this.audit.checkpoints(chain, { atOrBelow: c.seq, limit: 1 }))[0]?.head ?? null) : await this.audit.hashAt(chain, c.seq);
    return hash === c.head ? null : 'mismatch';
  }
}

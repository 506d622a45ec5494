/**
 * The audit log: append, sequence, read, export, checkpoint, verify, prune.
 *
 * Appending is one INSERT into the chain's queue, inside the caller's transaction, so an event
 * commits or rolls back with the change it records and writers never wait on each other. The
 * sequencer then moves queued events into the chain in batches under the chain's head-row lock
 * (one sequencer per chain at a time, across instances), in queue order. A commit that queued
 * events nudges the sequencer of its chain (a few milliseconds later, gathering concurrent
 * writers into one batch); at start each instance sweeps every chain, for events a stopped
 * instance left queued.
 *
 * Nothing is signed that does not verify: before a checkpoint, the events since the last one are
 * checked against it (and against what this instance chained itself); before a pruning, the
 * events to delete are checked against the checkpoint it stops at. A failure refuses the
 * signature, is logged as an error and is recorded in the chain and in the staff chain.
 */
import type { FastifyBaseLogger } from 'fastify';
import { operatorContext, tenantContext, type Database, type Tx, type TxOptions } from '../db/types.js';
import type { RequestMeta } from '../http/context.js';
import { isUuid, newId } from '../ids.js';
import { bodyOf, bodyTail, type AuditBody, type AuditEntry } from './entry.js';
import { GENESIS_HASH, hashRecord, isPlatformChain, microTime, recordOf, type PlatformChain } from './record.js';
import type { CheckpointSigner } from './signer.js';
import { ChainVerifier, pruningProblem, PruningSchema, type ChainStart, type Checkpoint, type PruningStatement, type PublicKeyInfo, type VerifyReport } from './verify.js';

export interface AuditLogOptions {
  readonly log?: FastifyBaseLogger | undefined;
  readonly signer?: CheckpointSigner | undefined;
  /** Events moved per sequencer transaction. */
  readonly batch?: number;
  /** How long a nudge waits before sequencing, gathering concurrent appends into one batch. */
  readonly nudgeDelayMs?: number;
  /** The clock checkpoints and prunings are signed with (milliseconds since the epoch). */
  readonly now?: () => number;
}

/** What a verification found first, when it found anything. */
export type FirstBad = NonNullable<VerifyReport['firstBad']>;

/** A checkpoint or a pruning the log refused to sign, because the chain failed verification. */
export class AuditIntegrityError extends Error {
  constructor(
    readonly chain: string,
    readonly refused: 'checkpoint' | 'pruning',
    readonly firstBad: FirstBad,
  ) {
    super(`audit chain ${chain} failed verification at seq ${firstBad.seq} (${firstBad.problem}): ${refused} refused`);
    this.name = 'AuditIntegrityError';
  }
}

export interface PruneResult {
  readonly deleted: number;
  /** The chain is pruned through this sequence number (0: never pruned). */
  readonly through: number;
  /** Set when the events to prune failed verification: nothing was deleted. */
  readonly refused?: { readonly seq: number; readonly problem: FirstBad['problem'] };
}

/**
 * What a chain's stored state says about its integrity, without verifying it again (a few indexed
 * reads): its newest checkpoint, the newest verification failure recorded after it (a refused
 * checkpoint or pruning: the chain failed verification and nothing has been signed since), and,
 * for a pruned chain, whether a published key signed the statement that its start was pruned.
 */
export interface ChainIntegrity {
  readonly lastCheckpoint: { readonly seq: number; readonly signedAt: string } | null;
  readonly failure: { readonly at: string; readonly refused: 'checkpoint' | 'pruning' | null } | null;
  readonly prunedThrough: number;
  /** Null when nothing was pruned. */
  readonly pruningProven: boolean | null;
}

/** A chained event as stored. */
export type ChainedRow = {
  seq: number;
  body: string;
  prev_hash: Buffer;
  hash: Buffer;
};

type FilterColumns = ChainedRow & { id: string; action: string; actor_type: string; actor_id: string | null };

export interface AuditFilter {
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  readonly actorId?: string | undefined;
  readonly actorType?: string | undefined;
  readonly action?: string | undefined;
  /** Newest first, strictly below this sequence number (pagination). */
  readonly beforeSeq?: number | undefined;
  readonly limit: number;
}

export interface AuditEventView extends AuditBody {
  readonly seq: number;
  readonly hash: string;
  readonly prevHash: string;
}

interface ChainTables {
  readonly queue: string;
  readonly events: string;
  /** The column naming the chain, and how a parameter is cast to it. */
  readonly key: string;
  readonly cast: string;
  readonly platform: boolean;
}

const TENANT_TABLES: ChainTables = { queue: 'audit_queue', events: 'audit_events', key: 'tenant_id', cast: '::uuid', platform: false };
const PLATFORM_TABLES: ChainTables = { queue: 'platform_audit_queue', events: 'platform_audit_events', key: 'chain', cast: '::text', platform: true };

const DAY_MS = 86_400_000;

export function assertChain(chain: string): void {
  if (!isPlatformChain(chain) && !isUuid(chain)) throw new TypeError(`not an audit chain: ${chain}`);
}

function tablesOf(chain: string): ChainTables {
  assertChain(chain);
  return isPlatformChain(chain) ? PLATFORM_TABLES : TENANT_TABLES;
}

export function toView(row: ChainedRow): AuditEventView {
  return { ...(JSON.parse(row.body) as AuditBody), seq: Number(row.seq), hash: row.hash.toString('hex'), prevHash: row.prev_hash.toString('hex') };
}

function checkpointOf(r: { chain: string; seq: number; head: Buffer; signed_at: Date | string; key_id: string; signature: Buffer }): Checkpoint {
  const signedAt = typeof r.signed_at === 'string' ? r.signed_at : r.signed_at.toISOString();
  return { chain: r.chain, seq: Number(r.seq), head: r.head.toString('hex'), signedAt, keyId: r.key_id, signature: r.signature.toString('base64') };
}

export class AuditLog {
  private readonly batch: number;
  private readonly nudgeDelayMs: number;
  /** Chains with committed, not yet sequenced appends of this instance. */
  private readonly pending = new Set<string>();
  private sweeping: Promise<number> | null = null;
  /** One sequencer run per chain at a time in this process; others wait for it and run again. */
  private readonly running = new Map<string, Promise<number>>();
  private readonly again = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /**
   * Per chain, the last event this instance chained: a chain whose head later differs there (or
   * falls below it) was rewritten or cut, however consistently, and is not signed.
   */
  private readonly chained = new Map<string, { seq: number; hash: string }>();
  /**
   * Per chain, the first verification failure this instance found before a checkpoint. It never
   * signs that chain again: what only its memory showed would otherwise be lost as soon as the
   * chain moved on (the event recording the failure moves it).
   */
  private readonly broken = new Map<string, FirstBad>();

  constructor(
    private readonly db: Database,
    private readonly options: AuditLogOptions = {},
  ) {
    this.batch = options.batch ?? 2000;
    this.nudgeDelayMs = options.nudgeDelayMs ?? 20;
  }

  get signer(): CheckpointSigner | undefined {
    return this.options.signer;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private requireSigner(): CheckpointSigner {
    const signer = this.options.signer;
    if (!signer) throw new Error('no checkpoint signer configured');
    return signer;
  }

  /**
   * Runs fn in a transaction that can see the chain: its tenant's, or, for a platform chain, the
   * operator's realm (migration 0013: no other transaction reads the platform chains).
   */
  withChain<T>(chain: string, fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T> {
    return this.db.withTenant(isPlatformChain(chain) ? operatorContext() : tenantContext(chain, null), fn, options);
  }

  // Appending ------------------------------------------------------------------------------------

  /** Appends to the chain of the transaction's tenant; returns the tenant id. */
  async appendTenantIn(tx: Tx, entry: AuditEntry, meta: RequestMeta | null): Promise<string> {
    const id = newId();
    const time = microTime();
    const tail = bodyTail(id, time, entry, meta);
    const { rows } = await tx.query<{ tenant_id: string }>(
      `INSERT INTO audit_queue (tenant_id, id, occurred_at, actor_type, actor_id, action, outcome, body)
       VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, '{"v":1,"chain":"' || current_tenant_id()::text || '",' || $7)
       RETURNING tenant_id`,
      [id, time, entry.actor.type, entry.actor.id, entry.action, entry.outcome, tail],
    );
    const tenant = rows[0]?.tenant_id;
    if (tenant === undefined) throw new Error('audit append outside a tenant transaction');
    tx.afterCommit(() => this.nudge(tenant));
    return tenant;
  }

  /** Appends to a platform chain inside any transaction. */
  async appendPlatformIn(tx: Tx, chain: PlatformChain, entry: AuditEntry, meta: RequestMeta | null): Promise<void> {
    const id = newId();
    const time = microTime();
    const body = bodyOf(chain, bodyTail(id, time, entry, meta));
    await tx.query(
      `INSERT INTO platform_audit_queue (chain, id, occurred_at, actor_type, actor_id, account_id, action, outcome, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [chain, id, time, entry.actor.type, entry.actor.id, entry.account ?? null, entry.action, entry.outcome, body],
    );
    tx.afterCommit(() => this.nudge(chain));
  }

  /** Marks a chain as having committed queued events; the sequencer runs soon after. */
  nudge(chain: string): void {
    this.pending.add(chain);
    this.schedule(this.nudgeDelayMs);
  }

  private schedule(ms: number): void {
    if (this.timer || this.stopped) return;
    // A short wait gathers the appends of concurrent writers into one batch. Readers do not
    // wait for it: they sequence the chain themselves first.
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, ms);
    this.timer.unref();
  }

  /** Sequences the pending chains. A failure is logged and retried a second later. */
  private async tick(): Promise<void> {
    const chains = [...this.pending];
    this.pending.clear();
    await Promise.all(
      chains.map(async (chain) => {
        try {
          await this.sequence(chain);
        } catch (err) {
          this.options.log?.error({ err, chain }, 'audit sequencing failed; retrying');
          this.pending.add(chain);
          this.schedule(1000);
        }
      }),
    );
  }

  /** At start: sequence every chain, for events a stopped instance left queued. */
  start(): void {
    this.stopped = false;
    this.sweeping ??= this.sequenceAll()
      .catch((err: unknown) => {
        this.options.log?.error({ err }, 'audit sweep failed');
        return 0;
      })
      .finally(() => {
        this.sweeping = null;
      });
  }

  /** Runs what is pending now and waits for every sequencer run in flight (tests, shutdown). */
  async settle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.sweeping;
    while (this.pending.size > 0 || this.running.size > 0) {
      await this.tick();
      await Promise.allSettled([...this.running.values()]);
    }
  }

  /** Sequences the chains pending now, and waits for it (not for what is appended meanwhile). */
  private async flush(): Promise<void> {
    await this.sweeping;
    await this.tick();
    await Promise.allSettled([...this.running.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // What this instance queued is chained before it goes.
    await this.settle().catch(() => undefined);
  }

  // Sequencing -----------------------------------------------------------------------------------

  /** Chains every event queued for the chain so far; returns how many moved. */
  sequence(chain: string): Promise<number> {
    const running = this.running.get(chain);
    if (running) {
      // Someone is already at it; events queued after it started need one more run.
      this.again.add(chain);
      return running.then(() => (this.running.get(chain) ?? this.sequence(chain)));
    }
    const run = (async () => {
      let total = 0;
      try {
        for (;;) {
          this.again.delete(chain);
          const moved = await this.sequenceBatch(chain);
          total += moved;
          if (moved < this.batch && !this.again.has(chain)) return total;
        }
      } finally {
        this.running.delete(chain);
      }
    })();
    this.running.set(chain, run);
    return run;
  }

  private async sequenceBatch(chain: string): Promise<number> {
    const t = tablesOf(chain);
    const moved = await this.withChain(chain, async (tx) => {
      const queued = await tx.query<{ id: string }>(`SELECT 1 AS id FROM ${t.queue} WHERE ${t.key} = $1${t.cast} LIMIT 1`, [chain]);
      if (queued.rowCount === 0) return null;
      let head = await tx.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_heads WHERE chain = $1 FOR UPDATE', [chain]);
      if (head.rowCount === 0) {
        await tx.query('INSERT INTO audit_heads (chain) VALUES ($1) ON CONFLICT DO NOTHING', [chain]);
        head = await tx.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_heads WHERE chain = $1 FOR UPDATE', [chain]);
      }
      const start = head.rows[0];
      if (!start) throw new Error('audit head missing');
      const { rows } = await tx.query<{ id: string; body: string }>(
        `SELECT id, body FROM ${t.queue} WHERE ${t.key} = $1${t.cast} ORDER BY queued_at, id LIMIT $2`,
        [chain, this.batch],
      );
      if (rows.length === 0) return null;
      let seq = Number(start.seq);
      let prev = start.hash;
      const links: Array<{ id: string; seq: number; prev: string; hash: string }> = [];
      for (const r of rows) {
        seq += 1;
        const hash = hashRecord(recordOf(seq, prev, r.body));
        links.push({ id: r.id, seq, prev: prev.toString('hex'), hash: hash.toString('hex') });
        prev = hash;
      }
      // The bodies are already in the queue: only ids, numbers and hashes travel back.
      await tx.query(
        `INSERT INTO ${t.events} (${t.key}, seq, id, occurred_at, actor_type, actor_id, ${t.platform ? 'account_id, ' : ''}action, outcome, body, prev_hash, hash)
         SELECT q.${t.key}, x.seq, q.id, q.occurred_at, q.actor_type, q.actor_id, ${t.platform ? 'q.account_id, ' : ''}q.action, q.outcome, q.body,
                decode(x.prev, 'hex'), decode(x.hash, 'hex')
           FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, seq bigint, prev text, hash text)
           JOIN ${t.queue} q ON q.${t.key} = $1${t.cast} AND q.id = x.id`,
        [chain, JSON.stringify(links)],
      );
      await tx.query(`DELETE FROM ${t.queue} WHERE ${t.key} = $1${t.cast} AND id IN (SELECT value::uuid FROM jsonb_array_elements_text($2::jsonb))`, [
        chain,
        JSON.stringify(links.map((l) => l.id)),
      ]);
      await tx.query('UPDATE audit_heads SET seq = $2, hash = $3 WHERE chain = $1', [chain, seq, prev]);
      return { count: rows.length, seq, hash: prev.toString('hex') };
    });
    if (!moved) return 0;
    // Committed: what this instance chained, to hold the chain to before signing it.
    if ((this.chained.get(chain)?.seq ?? 0) < moved.seq) this.chained.set(chain, { seq: moved.seq, hash: moved.hash });
    return moved.count;
  }

  /** Every chain with a head. */
  async chains(): Promise<string[]> {
    const { rows } = await this.db.withGlobal((tx) => tx.query<{ chain: string }>('SELECT chain FROM audit_heads ORDER BY chain'), { readOnly: true });
    return rows.map((r) => r.chain);
  }

  /** Sequences every chain (at start: what a stopped instance left queued). */
  async sequenceAll(): Promise<number> {
    let total = 0;
    for (const chain of await this.chains()) total += await this.sequence(chain);
    return total;
  }

  /** A workspace's chain begins with the workspace (so sweeps find it). */
  async createChainIn(tx: Tx, chain: string): Promise<void> {
    assertChain(chain);
    await tx.query('INSERT INTO audit_heads (chain) VALUES ($1) ON CONFLICT DO NOTHING', [chain]);
  }

  async head(chain: string): Promise<{ seq: number; hash: string; prunedThrough: number; checkpointed: number }> {
    assertChain(chain);
    const { rows } = await this.db.withGlobal(
      (tx) =>
        tx.query<{ seq: number; hash: Buffer; pruned_through: number; checkpointed: number }>(
          'SELECT seq, hash, pruned_through, checkpointed FROM audit_heads WHERE chain = $1',
          [chain],
        ),
      { readOnly: true },
    );
    const r = rows[0];
    if (!r) return { seq: 0, hash: GENESIS_HASH.toString('hex'), prunedThrough: 0, checkpointed: 0 };
    return { seq: Number(r.seq), hash: r.hash.toString('hex'), prunedThrough: Number(r.pruned_through), checkpointed: Number(r.checkpointed) };
  }

  // Reading --------------------------------------------------------------------------------------

  /** Newest first, after chaining what is queued (so a caller sees its own writes). */
  async list(chain: string, filter: AuditFilter): Promise<AuditEventView[]> {
    await this.sequence(chain);
    const t = tablesOf(chain);
    const { rows } = await this.withChain(
      chain,
      (tx) =>
        tx.query<ChainedRow>(
          `SELECT seq, body, prev_hash, hash FROM ${t.events}
            WHERE ${t.key} = $1${t.cast}
              AND ($2::timestamptz IS NULL OR occurred_at >= $2) AND ($3::timestamptz IS NULL OR occurred_at < $3)
              AND ($4::uuid IS NULL OR actor_id = $4) AND ($5::text IS NULL OR actor_type = $5)
              AND ($6::text IS NULL OR action = $6) AND ($7::bigint IS NULL OR seq < $7)
            ORDER BY seq DESC LIMIT $8`,
          [
            chain,
            filter.from?.toISOString() ?? null,
            filter.to?.toISOString() ?? null,
            filter.actorId ?? null,
            filter.actorType ?? null,
            filter.action ?? null,
            filter.beforeSeq ?? null,
            filter.limit,
          ],
        ),
      { readOnly: true },
    );
    return rows.map(toView);
  }

  /** An account's own `accounts`-chain events, newest first. */
  async forAccount(accountId: string, limit: number): Promise<AuditEventView[]> {
    await this.sequence('accounts');
    const { rows } = await this.db.withAccount(
      accountId,
      (tx) =>
        tx.query<ChainedRow>(
          `SELECT seq, body, prev_hash, hash FROM platform_audit_events WHERE chain = 'accounts' AND account_id = $1 ORDER BY seq DESC LIMIT $2`,
          [accountId, limit],
        ),
      { readOnly: true },
    );
    return rows.map(toView);
  }

  /**
   * The chain's records in order, in pages, from `afterSeq` (exclusive) through `throughSeq`,
   * optionally only some of them. Yields each page.
   */
  async *pages(
    chain: string,
    range: {
      afterSeq: number;
      throughSeq?: number | undefined;
      from?: Date | undefined;
      to?: Date | undefined;
      actorId?: string | undefined;
      actorType?: string | undefined;
    },
    pageSize = 5000,
    withColumns = false,
  ): AsyncGenerator<ChainedRow[]> {
    const t = tablesOf(chain);
    let after = range.afterSeq;
    for (;;) {
      const { rows } = await this.withChain(
        chain,
        (tx) =>
          tx.query<ChainedRow>(
            `SELECT seq, body, prev_hash, hash${withColumns ? ', id, action, actor_type, actor_id' : ''} FROM ${t.events}
              WHERE ${t.key} = $1${t.cast} AND seq > $2 AND ($3::bigint IS NULL OR seq <= $3)
                AND ($4::timestamptz IS NULL OR occurred_at >= $4) AND ($5::timestamptz IS NULL OR occurred_at < $5)
                AND ($6::uuid IS NULL OR actor_id = $6) AND ($7::text IS NULL OR actor_type = $7)
              ORDER BY seq LIMIT $8`,
            [chain, after, range.throughSeq ?? null, range.from?.toISOString() ?? null, range.to?.toISOString() ?? null, range.actorId ?? null, range.actorType ?? null, pageSize],
          ),
        { readOnly: true },
      );
      if (rows.length === 0) return;
      yield rows;
      after = Number((rows[rows.length - 1] as ChainedRow).seq);
      if (rows.length < pageSize) return;
    }
  }

  /** Chained events after `afterSeq`, in order, inside the caller's transaction on the chain. */
  async eventsAfterIn(tx: Tx, chain: string, afterSeq: number, limit: number): Promise<ChainedRow[]> {
    const t = tablesOf(chain);
    const { rows } = await tx.query<ChainedRow>(
      `SELECT seq, body, prev_hash, hash FROM ${t.events} WHERE ${t.key} = $1${t.cast} AND seq > $2 ORDER BY seq LIMIT $3`,
      [chain, afterSeq, limit],
    );
    return rows;
  }

  /** Checkpoints after `afterSeq`, oldest first, inside the caller's transaction. */
  async checkpointsIn(tx: Tx, chain: string, afterSeq: number): Promise<Checkpoint[]> {
    const { rows } = await tx.query<{ chain: string; seq: number; head: Buffer; signed_at: Date; key_id: string; signature: Buffer }>(
      'SELECT chain, seq, head, signed_at, key_id, signature FROM audit_checkpoints WHERE chain = $1 AND seq > $2 ORDER BY seq',
      [chain, afterSeq],
    );
    return rows.map(checkpointOf);
  }

  /** The first sequence number at or after a time (for exports that start there). */
  async firstSeqAt(chain: string, from: Date): Promise<number | null> {
    const t = tablesOf(chain);
    const { rows } = await this.withChain(
      chain,
      (tx) =>
        tx.query<{ seq: number | null }>(`SELECT min(seq) AS seq FROM ${t.events} WHERE ${t.key} = $1${t.cast} AND occurred_at >= $2`, [
          chain,
          from.toISOString(),
        ]),
      { readOnly: true },
    );
    const seq = rows[0]?.seq;
    return seq === null || seq === undefined ? null : Number(seq);
  }

  /** The hash of the record at `seq` (0: genesis), or null when it is not (or no longer) in the chain. */
  async hashAt(chain: string, seq: number): Promise<string | null> {
    if (seq === 0) return GENESIS_HASH.toString('hex');
    const t = tablesOf(chain);
    const { rows } = await this.withChain(
      chain,
      (tx) => tx.query<{ hash: Buffer }>(`SELECT hash FROM ${t.events} WHERE ${t.key} = $1${t.cast} AND seq = $2`, [chain, seq]),
      { readOnly: true },
    );
    return rows[0]?.hash.toString('hex') ?? null;
  }

  // Checkpoints ----------------------------------------------------------------------------------

  /** The chain's checkpoints, newest first: those at or below `atOrBelow`, at or above `atOrAbove`, signed before `signedBefore`. */
  async checkpoints(chain: string, options: { limit?: number; atOrBelow?: number; atOrAbove?: number; signedBefore?: Date } = {}): Promise<Checkpoint[]> {
    assertChain(chain);
    const { rows } = await this.db.withGlobal(
      (tx) =>
        tx.query<{ chain: string; seq: number; head: Buffer; signed_at: Date; key_id: string; signature: Buffer }>(
          `SELECT chain, seq, head, signed_at, key_id, signature FROM audit_checkpoints
            WHERE chain = $1 AND ($2::bigint IS NULL OR seq <= $2) AND ($3::bigint IS NULL OR seq >= $3) AND ($4::timestamptz IS NULL OR signed_at < $4)
            ORDER BY seq DESC LIMIT $5`,
          [chain, options.atOrBelow ?? null, options.atOrAbove ?? null, options.signedBefore?.toISOString() ?? null, options.limit ?? 1000],
        ),
      { readOnly: true },
    );
    return rows.map(checkpointOf);
  }

  /**
   * Signs the chain's head if it moved since the last checkpoint (or always, with `force`), once
   * the events since that checkpoint verify against it and end at the head. Returns the
   * checkpoint made (or the one already at the head), or null when the head has not moved.
   * Throws AuditIntegrityError, having logged and recorded the failure, when they do not verify.
   */
  async checkpoint(chain: string, force = false): Promise<Checkpoint | null> {
    const signer = this.requireSigner();
    await this.sequence(chain);
    const head = await this.head(chain);
    if (!force && head.seq === head.checkpointed) return null;
    const known = this.broken.get(chain);
    if (known) throw await this.refuse(chain, 'checkpoint', known);
    const last = (await this.checkpoints(chain, { limit: 1 }))[0];
    // From the last checkpoint (its signature checked too), or from where the chain starts.
    const start: ChainStart = last ? { kind: 'checkpoint', seq: last.seq, head: last.head } : await this.startOf(chain, head.prunedThrough);
    const report = await this.verifySegment(chain, { start, checkpoints: last ? [last] : [], publicKeys: await signer.publicKeys(), head });
    if (report.firstBad) {
      this.broken.set(chain, report.firstBad);
      throw await this.refuse(chain, 'checkpoint', report.firstBad, true);
    }
    if (last && last.seq === head.seq) return last;
    const cp = await signer.sign({ chain, seq: head.seq, head: head.hash, signedAt: new Date(this.now()).toISOString() });
    await this.db.withGlobal(async (tx) => {
      await tx.query(
        `INSERT INTO audit_checkpoints (chain, seq, head, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [chain, cp.seq, Buffer.from(cp.head, 'hex'), cp.signedAt, cp.keyId, Buffer.from(cp.signature, 'base64')],
      );
      await tx.query('UPDATE audit_heads SET checkpointed = greatest(checkpointed, $2) WHERE chain = $1', [chain, cp.seq]);
    });
    return cp;
  }

  /**
   * Checkpoints every chain whose head moved (or only `chain`, always). A chain that fails
   * verification is refused (and reported), the others signed.
   */
  async checkpointAll(chain?: string): Promise<{ made: Checkpoint[]; refused: AuditIntegrityError[] }> {
    const made: Checkpoint[] = [];
    const refused: AuditIntegrityError[] = [];
    // What this instance queued is chained first (other instances chain their own; at start, the sweep).
    await this.flush();
    const { rows } = chain
      ? { rows: [{ chain }] }
      : await this.db.withGlobal((tx) => tx.query<{ chain: string }>('SELECT chain FROM audit_heads WHERE seq <> checkpointed ORDER BY chain'), { readOnly: true });
    for (const row of rows) {
      try {
        const cp = await this.checkpoint(row.chain, chain !== undefined);
        if (cp) made.push(cp);
      } catch (err) {
        if (!(err instanceof AuditIntegrityError)) throw err;
        refused.push(err);
      }
    }
    return { made, refused };
  }

  /**
   * A verification failure that refuses a signature: an error in the log every time, and when it
   * is `found` (not a chain already known broken) an event in the chain itself (where its readers
   * see it, and which the chain's verification keeps flagging) and in the staff chain (where
   * operators see it).
   */
  private async refuse(chain: string, refused: 'checkpoint' | 'pruning', bad: FirstBad, found = false): Promise<AuditIntegrityError> {
    const error = new AuditIntegrityError(chain, refused, bad);
    this.options.log?.error({ chain, refused, seq: bad.seq, problem: bad.problem, detail: bad.message }, error.message);
    if (!found) return error;
    const entry: AuditEntry = { action: 'audit.verification_failed', outcome: 'failure', actor: { type: 'system', id: null }, details: { refused, seq: bad.seq, problem: bad.problem } };
    await this.appendTo(chain, entry);
    if (chain !== 'staff') await this.appendTo('staff', { ...entry, target: { type: 'audit_chain', id: chain } });
    return error;
  }

  /** Appends an event of the log's own to a chain, in a transaction of its own. */
  private async appendTo(chain: string, entry: AuditEntry): Promise<void> {
    await this.withChain(chain, (tx) => this.appendIn(tx, chain, entry));
  }

  /** Appends an event of the log's own inside a transaction on the chain. */
  private async appendIn(tx: Tx, chain: string, entry: AuditEntry): Promise<void> {
    if (isPlatformChain(chain)) await this.appendPlatformIn(tx, chain, entry, null);
    else await this.appendTenantIn(tx, entry, null);
  }

  /** See `ChainIntegrity`. */
  async integrity(chain: string): Promise<ChainIntegrity> {
    const [head, [last]] = await Promise.all([this.head(chain), this.checkpoints(chain, { limit: 1 })]);
    const t = tablesOf(chain);
    // The newest failure chained after the newest checkpoint, or still queued (after it by definition).
    const { rows } = await this.withChain(
      chain,
      (tx) =>
        tx.query<{ occurred_at: Date | string; body: string }>(
          `SELECT occurred_at, body FROM (
             (SELECT occurred_at, body, 1 AS chained, seq FROM ${t.events}
               WHERE ${t.key} = $1${t.cast} AND action = 'audit.verification_failed' AND seq > $2 ORDER BY seq DESC LIMIT 1)
             UNION ALL
             (SELECT occurred_at, body, 0 AS chained, 0 AS seq FROM ${t.queue}
               WHERE ${t.key} = $1${t.cast} AND action = 'audit.verification_failed' ORDER BY occurred_at DESC LIMIT 1)
           ) f ORDER BY chained, seq DESC LIMIT 1`,
          [chain, last?.seq ?? 0],
        ),
      { readOnly: true },
    );
    const found = rows[0];
    const refused = found ? (JSON.parse(found.body) as AuditBody).details?.['refused'] : undefined;
    let pruningProven: boolean | null = null;
    if (head.prunedThrough > 0) {
      const statement = await this.pruningAt(chain, head.prunedThrough);
      const keys = this.options.signer ? await this.options.signer.publicKeys() : [];
      pruningProven = statement !== null && pruningProblem(statement, chain, head.prunedThrough, keys) === null;
    }
    return {
      lastCheckpoint: last ? { seq: last.seq, signedAt: last.signedAt } : null,
      failure: found
        ? { at: new Date(found.occurred_at).toISOString(), refused: refused === 'checkpoint' || refused === 'pruning' ? refused : null }
        : null,
      prunedThrough: head.prunedThrough,
      pruningProven,
    };
  }

  // Verifying ------------------------------------------------------------------------------------

  /**
   * Verifies the live chain from where it starts (genesis, or the signed pruning) through its
   * head, against every checkpoint at or after that point and the head row. Also checks that the
   * filter columns say what the hashed body says.
   */
  async verify(chain: string, publicKeys: readonly PublicKeyInfo[]): Promise<VerifyReport> {
    await this.sequence(chain);
    const head = await this.head(chain);
    const checkpoints = await this.checkpoints(chain, { atOrAbove: head.prunedThrough, limit: 1_000_000 });
    return this.verifySegment(chain, { start: await this.startOf(chain, head.prunedThrough), checkpoints, publicKeys, head });
  }

  /** Where the live chain starts: genesis, or the pruning its head records, with the statement that proves it. */
  private async startOf(chain: string, prunedThrough: number): Promise<ChainStart> {
    return prunedThrough > 0 ? { kind: 'pruned', seq: prunedThrough, statement: await this.pruningAt(chain, prunedThrough) } : { kind: 'genesis' };
  }

  /** The signed statement of the pruning through `through`: the `audit.pruned` event the chain recorded it in. */
  async pruningAt(chain: string, through: number): Promise<PruningStatement | null> {
    const t = tablesOf(chain);
    const { rows } = await this.withChain(
      chain,
      (tx) =>
        tx.query<{ body: string }>(`SELECT body FROM ${t.events} WHERE ${t.key} = $1${t.cast} AND seq > $2 AND action = 'audit.pruned' ORDER BY seq DESC`, [
          chain,
          through,
        ]),
      { readOnly: true },
    );
    for (const r of rows) {
      const parsed = PruningSchema.safeParse({ ...(JSON.parse(r.body) as AuditBody).details, chain });
      if (parsed.success && parsed.data.through === through) return parsed.data;
    }
    return null;
  }

  /**
   * Verifies the chain's events after `start` through `head.seq` (or `throughSeq`) against the
   * checkpoints, that they end at the head row when one is given, that the filter columns say
   * what each hashed body says, and that nothing this instance chained was since rewritten or cut.
   */
  private async verifySegment(
    chain: string,
    o: {
      start: ChainStart;
      checkpoints: readonly Checkpoint[];
      publicKeys: readonly PublicKeyInfo[];
      head?: { seq: number; hash: string };
      throughSeq?: number;
    },
  ): Promise<VerifyReport> {
    const verifier = new ChainVerifier({ chain, start: o.start, checkpoints: o.checkpoints, publicKeys: o.publicKeys });
    const startSeq = o.start.kind === 'genesis' ? 0 : o.start.seq;
    const ours = this.chained.get(chain);
    const bad = (report: VerifyReport, firstBad: FirstBad): VerifyReport => ({ ...report, ok: false, firstBad });
    if (verifier.failed) return verifier.finish();
    for await (const page of this.pages(chain, { afterSeq: startSeq, throughSeq: o.head?.seq ?? o.throughSeq }, 5000, true)) {
      for (const row of page) {
        const seq = Number(row.seq);
        if (!verifier.push(recordOf(seq, row.prev_hash, row.body), row.hash)) return verifier.finish();
        // The columns that filters use must say what the hashed body says.
        const f = row as FilterColumns;
        const b = JSON.parse(row.body) as AuditBody;
        if (b.id !== f.id || b.action !== f.action || b.actor.type !== f.actor_type || b.actor.id !== f.actor_id) {
          return bad(verifier.finish(), { seq, problem: 'columns_mismatch', message: `seq ${seq}: its filter columns differ from its hashed body` });
        }
        if (ours?.seq === seq && row.hash.toString('hex') !== ours.hash) {
          return bad(verifier.finish(), { seq, problem: 'rewritten', message: `seq ${seq} is not the event this server chained there` });
        }
      }
    }
    const report = verifier.finish();
    if (!report.ok || !o.head) return report;
    const through = report.through ?? startSeq;
    if (through !== o.head.seq) return bad(report, { seq: through + 1, problem: 'truncated', message: `the chain's head says seq ${o.head.seq}` });
    if (report.head !== o.head.hash) return bad(report, { seq: o.head.seq, problem: 'checkpoint_mismatch', message: "the last event differs from the chain's head" });
    if (ours && ours.seq > o.head.seq) return bad(report, { seq: o.head.seq + 1, problem: 'truncated', message: `this server chained through seq ${ours.seq}; the head says seq ${o.head.seq}` });
    return report;
  }

  // Retention ------------------------------------------------------------------------------------

  /**
   * Deletes the chain's events below the newest checkpoint signed more than `retentionDays` ago
   * (every event it covers was chained before then), once they verify against it, and signs a
   * statement saying so: recorded as an `audit.pruned` event of the chain, it anchors what
   * remains. Refused, deleting nothing, when the events to delete fail verification.
   */
  async prune(chain: string, retentionDays: number): Promise<PruneResult> {
    if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new RangeError('audit events are kept at least one day');
    const signer = this.requireSigner();
    const t = tablesOf(chain);
    const now = this.now();
    const head = await this.head(chain);
    const unchanged = { deleted: 0, through: head.prunedThrough };
    const cp = (await this.checkpoints(chain, { signedBefore: new Date(now - retentionDays * DAY_MS), limit: 1 }))[0];
    if (!cp || cp.seq <= head.prunedThrough) return unchanged;
    // Never prune away evidence, and only at a checkpoint the server signed: what goes must verify against it.
    const report = await this.verifySegment(chain, { start: await this.startOf(chain, head.prunedThrough), checkpoints: [cp], publicKeys: await signer.publicKeys(), throughSeq: cp.seq });
    if (report.firstBad) {
      await this.refuse(chain, 'pruning', report.firstBad, true);
      return { ...unchanged, refused: { seq: report.firstBad.seq, problem: report.firstBad.problem } };
    }
    const s = await signer.signPruning({ chain, through: cp.seq, head: cp.head, checkpointSignedAt: cp.signedAt, prunedAt: new Date(now).toISOString(), retentionDays });
    const details = { through: s.through, head: s.head, checkpointSignedAt: s.checkpointSignedAt, prunedAt: s.prunedAt, retentionDays: s.retentionDays, keyId: s.keyId, signature: s.signature };
    return this.withChain(chain, async (tx) => {
      // One pruning of a chain at a time, across instances; another that got here first wins.
      const locked = await tx.query<{ pruned_through: number }>('SELECT pruned_through FROM audit_heads WHERE chain = $1 FOR UPDATE', [chain]);
      if (Number(locked.rows[0]?.pruned_through) !== head.prunedThrough) return { deleted: 0, through: Number(locked.rows[0]?.pruned_through ?? 0) };
      await tx.query(`SELECT set_config('rampart.audit_pruning', 'on', true)`);
      const del = await tx.query(`DELETE FROM ${t.events} WHERE ${t.key} = $1${t.cast} AND seq <= $2`, [chain, cp.seq]);
      await tx.query(`SELECT set_config('rampart.audit_pruning', 'off', true)`);
      await tx.query('UPDATE audit_heads SET pruned_through = $2 WHERE chain = $1', [chain, cp.seq]);
      await this.appendIn(tx, chain, { action: 'audit.pruned', outcome: 'success', actor: { type: 'system', id: null }, details });
      return { deleted: del.rowCount, through: cp.seq };
    });
  }
}

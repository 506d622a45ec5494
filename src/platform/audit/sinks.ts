/**
 * Streams chained events and checkpoints to SIEMs: an HTTP endpoint (JSON Lines, acknowledged by
 * a 2xx) and syslog (RFC 5424 messages) over RELP, which acknowledges each message.
 *
 * Nothing is lost: each sink keeps, per chain, the last sequence number (and checkpoint) it
 * acknowledged, in the database. A batch is read after that cursor, delivered, and only then the
 * cursor moves, in the same transaction that locked it (two instances never send one batch
 * twice; a crash between delivery and commit resends it — receivers deduplicate on chain and
 * seq, which every line carries). A failing sink is retried with exponential backoff.
 *
 * Syslog over UDP or plain TCP is not offered: neither can say what arrived.
 */
import net from 'node:net';
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/types.js';
import type { AuditBody } from './entry.js';
import type { AuditLog } from './log.js';
import { exportLine, recordOf } from './record.js';
import type { Checkpoint } from './verify.js';

export interface SinkRecord {
  readonly chain: string;
  readonly seq: number;
  /** The verifiable line (export format) or, for a checkpoint, its JSON. */
  readonly line: string;
  readonly kind: 'event' | 'checkpoint';
  readonly outcome?: string | undefined;
}

export interface SinkTransport {
  /** A short stable name, the cursor's key. */
  readonly name: string;
  /** Resolves once the receiver has the whole batch; rejects otherwise. */
  deliver(records: readonly SinkRecord[]): Promise<void>;
  close(): Promise<void>;
}

export class HttpSink implements SinkTransport {
  readonly name = 'http';
  constructor(
    private readonly url: string,
    private readonly token: string | null,
    private readonly timeoutMs = 10_000,
  ) {}

  async deliver(records: readonly SinkRecord[]): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-ndjson',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: records.map((r) => `${r.line}\n`).join(''),
      signal: AbortSignal.timeout(this.timeoutMs),
      redirect: 'error',
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`the audit sink answered ${res.status}`);
  }

  async close(): Promise<void> {}
}

/** RFC 5424: facility 13 (log audit); severity 6 (informational), 4 (warning) for refusals and failures. */
export function syslogMessage(r: SinkRecord, hostname: string, time = new Date().toISOString()): string {
  const severity = r.outcome === 'denied' || r.outcome === 'failure' ? 4 : 6;
  const pri = 13 * 8 + severity;
  const host = hostname.replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';
  return `<${pri}>1 ${time} ${host} rampart - ${r.kind === 'event' ? 'audit' : 'checkpoint'} - ${r.line}`;
}

/**
 * Syslog over RELP (the Reliable Event Logging Protocol of rsyslog's imrelp): every message is
 * acknowledged by the receiver, so a batch counts as delivered only when each message was. Plain
 * TCP syslog cannot say what arrived (a write succeeds into the kernel while the receiver is
 * already gone), so it is not offered.
 */
export class RelpSink implements SinkTransport {
  readonly name = 'syslog';
  private socket: net.Socket | null = null;
  private txnr = 0;
  private buffer = '';
  private readonly waiting = new Map<number, { resolve: (reply: string) => void; reject: (err: Error) => void }>();
  private readonly hostname = os.hostname();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs = 10_000,
  ) {}

  private fail(socket: net.Socket, err: Error): void {
    socket.destroy();
    if (this.socket === socket) this.socket = null;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    this.buffer += chunk.toString('utf8');
    for (;;) {
      // TXNR SP "rsp" SP DATALEN [SP DATA] LF
      const m = /^(\d{1,9}) (\S{1,32}) (\d{1,9})[ \n]/.exec(this.buffer);
      if (!m) {
        if (this.buffer.length > 64 && !/^\d{1,9} \S{1,32} \d{1,9}/.test(this.buffer)) this.fail(socket, new Error('the RELP receiver sent a malformed frame'));
        return;
      }
      const length = Number(m[3]);
      const start = m[0].length;
      const end = length === 0 ? start - 1 : start + length;
      if (this.buffer.length < end + 1) return;
      const data = length === 0 ? '' : this.buffer.slice(start, end);
      this.buffer = this.buffer.slice(end + 1);
      const txnr = Number(m[1]);
      if (m[2] === 'serverclose') {
        this.fail(socket, new Error('the RELP receiver closed the session'));
        return;
      }
      const w = this.waiting.get(txnr);
      if (!w) continue;
      this.waiting.delete(txnr);
      w.resolve(data);
    }
  }

  private send(socket: net.Socket, command: string, data: string): Promise<void> {
    this.txnr = this.txnr >= 999_999_999 ? 1 : this.txnr + 1;
    const txnr = this.txnr;
    const bytes = Buffer.byteLength(data, 'utf8');
    const reply = new Promise<string>((resolve, reject) => this.waiting.set(txnr, { resolve, reject }));
    socket.write(`${txnr} ${command} ${bytes}${bytes > 0 ? ` ${data}` : ''}\n`);
    return reply.then((r) => {
      if (!r.startsWith('200')) throw new Error(`the RELP receiver refused a message: ${r.slice(0, 80)}`);
    });
  }

  private async connect(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port });
      s.setTimeout(this.timeoutMs);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
    this.buffer = '';
    this.txnr = 0;
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err) => this.fail(socket, err));
    socket.on('timeout', () => this.fail(socket, new Error('the RELP receiver timed out')));
    socket.on('close', () => this.fail(socket, new Error('the RELP connection closed')));
    this.socket = socket;
    await this.send(socket, 'open', 'relp_version=0\nrelp_software=rampart\ncommands=syslog');
    return socket;
  }

  async deliver(records: readonly SinkRecord[]): Promise<void> {
    const socket = await this.connect();
    // Sent together, acknowledged one by one; the batch is delivered when every ack is in.
    await Promise.all(records.map((r) => this.send(socket, 'syslog', syslogMessage(r, this.hostname))));
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    await this.send(socket, 'close', '').catch(() => undefined);
    socket.destroy();
    this.socket = null;
  }
}

/** `relp://host:port` → a syslog sink. */
export function syslogSink(url: string): RelpSink {
  const u = new URL(url);
  if (u.protocol !== 'relp:') throw new Error('the syslog sink is relp://host:port');
  return new RelpSink(u.hostname, Number(u.port || 2514));
}

export interface SinkStatus {
  readonly sink: string;
  readonly lagging: number;
  readonly failures: number;
  readonly lastError: string | null;
}

export class AuditSinks {
  private readonly failures = new Map<string, { count: number; retryAt: number; lastError: string }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly sinks: readonly SinkTransport[],
    private readonly options: { batch?: number; log?: FastifyBaseLogger; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Chains whose events or checkpoints this sink has not acknowledged yet. */
  private async lagging(sink: string): Promise<string[]> {
    const { rows } = await this.db.withGlobal(
      (tx) =>
        tx.query<{ chain: string }>(
          `SELECT h.chain FROM audit_heads h LEFT JOIN audit_sink_cursors c ON c.sink = $1 AND c.chain = h.chain
            WHERE h.seq > coalesce(c.seq, 0) OR h.checkpointed > coalesce(c.checkpoint_seq, 0) ORDER BY h.chain`,
          [sink],
        ),
      { readOnly: true },
    );
    return rows.map((r) => r.chain);
  }

  /** One batch of one chain to one sink; returns how many records it acknowledged. */
  private async deliverBatch(sink: SinkTransport, chain: string): Promise<number> {
    const batch = this.options.batch ?? 500;
    return this.audit.withChain(chain, async (tx) => {
      await tx.query('INSERT INTO audit_sink_cursors (sink, chain, seq) VALUES ($1, $2, (SELECT pruned_through FROM audit_heads WHERE chain = $2)) ON CONFLICT DO NOTHING', [
        sink.name,
        chain,
      ]);
      const cursor = await tx.query<{ seq: number; checkpoint_seq: number }>(
        'SELECT seq, checkpoint_seq FROM audit_sink_cursors WHERE sink = $1 AND chain = $2 FOR UPDATE SKIP LOCKED',
        [sink.name, chain],
      );
      const at = cursor.rows[0];
      if (!at) return 0; // another instance is delivering this chain
      const events = await this.audit.eventsAfterIn(tx, chain, Number(at.seq), batch);
      const checkpoints = (await this.audit.checkpointsIn(tx, chain, Number(at.checkpoint_seq))).filter((c) => c.seq <= (events.at(-1)?.seq ?? Number(at.seq)));
      if (events.length === 0 && checkpoints.length === 0) return 0;
      const records: SinkRecord[] = events.map((r) => ({
        chain,
        seq: Number(r.seq),
        kind: 'event',
        line: exportLine(recordOf(Number(r.seq), r.prev_hash, r.body), r.hash),
        outcome: (JSON.parse(r.body) as AuditBody).outcome,
      }));
      for (const c of checkpoints) records.push({ chain, seq: c.seq, kind: 'checkpoint', line: JSON.stringify({ type: 'rampart.audit.checkpoint', ...c }) });
      await sink.deliver(records);
      await tx.query('UPDATE audit_sink_cursors SET seq = $3, checkpoint_seq = $4, updated_at = now() WHERE sink = $1 AND chain = $2', [
        sink.name,
        chain,
        events.at(-1)?.seq ?? at.seq,
        Math.max(Number(at.checkpoint_seq), ...checkpoints.map((c) => c.seq)),
      ]);
      return records.length;
    });
  }

  /** Delivers everything outstanding to every sink that is not backing off; returns records sent. */
  deliver(): Promise<number> {
    this.running ??= this.deliverAll().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async deliverAll(): Promise<number> {
    let sent = 0;
    for (const sink of this.sinks) {
      const failing = this.failures.get(sink.name);
      if (failing && failing.retryAt > this.now()) continue;
      try {
        for (const chain of await this.lagging(sink.name)) {
          for (;;) {
            const n = await this.deliverBatch(sink, chain);
            sent += n;
            if (n === 0) break;
          }
        }
        this.failures.delete(sink.name);
      } catch (err) {
        const count = (failing?.count ?? 0) + 1;
        // 1 s, 2 s, 4 s … up to 5 minutes between attempts.
        const wait = Math.min(300_000, 1000 * 2 ** (count - 1));
        const lastError = err instanceof Error ? err.message : String(err);
        this.failures.set(sink.name, { count, retryAt: this.now() + wait, lastError });
        this.options.log?.warn({ sink: sink.name, attempt: count, retryInMs: wait, reason: lastError }, 'audit sink delivery failed; will retry');
      }
    }
    return sent;
  }

  async status(): Promise<SinkStatus[]> {
    const out: SinkStatus[] = [];
    for (const sink of this.sinks) {
      const f = this.failures.get(sink.name);
      out.push({ sink: sink.name, lagging: (await this.lagging(sink.name)).length, failures: f?.count ?? 0, lastError: f?.lastError ?? null });
    }
    return out;
  }

  start(intervalMs = 2000): void {
    if (this.timer || this.sinks.length === 0) return;
    this.timer = setInterval(() => {
      void this.deliver().catch((err: unknown) => this.options.log?.error({ err }, 'audit sink loop failed'));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
    for (const sink of this.sinks) await sink.close();
  }
}

export type { Checkpoint };

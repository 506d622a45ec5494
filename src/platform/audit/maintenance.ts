/**
 * The server's audit housekeeping: sign checkpoints of every chain that moved (at start, every
 * interval, and at a clean stop; each only once the chain's events since its last checkpoint
 * verify), stream events and checkpoints to the configured sinks, and prune what is past
 * retention (below a checkpoint).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AuditLog } from './log.js';
import type { AuditSinks } from './sinks.js';

export interface AuditMaintenanceOptions {
  readonly checkpointSeconds: number;
  readonly retentionDays: number;
  readonly sinkIntervalMs?: number;
  readonly pruneIntervalMs?: number;
}

export function startAuditMaintenance(audit: AuditLog, sinks: AuditSinks, options: AuditMaintenanceOptions, log: FastifyBaseLogger): { stop(): Promise<void> } {
  const timers: NodeJS.Timeout[] = [];
  let work: Promise<unknown> = Promise.resolve();
  const serial = (name: string, fn: () => Promise<unknown>) => {
    work = work.then(fn).catch((err: unknown) => log.error({ err }, `audit ${name} failed`));
  };
  const every = (ms: number, name: string, fn: () => Promise<unknown>) => {
    const timer = setInterval(() => serial(name, fn), ms);
    timer.unref();
    timers.push(timer);
  };

  if (options.checkpointSeconds > 0) {
    serial('checkpoint', () => audit.checkpointAll());
    every(options.checkpointSeconds * 1000, 'checkpoint', () => audit.checkpointAll());
  }
  sinks.start(options.sinkIntervalMs ?? 2000);
  if (options.retentionDays > 0) {
    const prune = async () => {
      for (const chain of await audit.chains()) {
        // One chain's failure (reported by the log itself, or here) does not hold up the others.
        const result = await audit.prune(chain, options.retentionDays).catch((err: unknown) => log.error({ err, chain }, 'audit pruning failed'));
        if (result && result.deleted > 0) log.info({ chain, deleted: result.deleted, through: result.through }, 'audit events past retention pruned');
      }
    };
    serial('prune', prune);
    every(options.pruneIntervalMs ?? 6 * 3_600_000, 'prune', prune);
  }
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      // A clean stop signs what moved: a restart leaves no unsigned tail behind it.
      if (options.checkpointSeconds > 0) serial('checkpoint', () => audit.checkpointAll());
      await work;
      await sinks.stop();
    },
  };
}

/**
 * `rampart audit …`: verify a live chain or an exported file (offline, with only the public
 * keys), export, and sign checkpoints.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from './config.js';
import { AUDIT_ACTOR_TYPES } from './platform/audit/entry.js';
import { exportCsv, exportJsonLines } from './platform/audit/export.js';
import type { AuditLog } from './platform/audit/log.js';
import { isPlatformChain } from './platform/audit/record.js';
import { accepted, parsePublicKeys, verifyExport, type Unproven } from './platform/audit/verify-file.js';
import type { PublicKeyInfo, VerifyReport } from './platform/audit/verify.js';
import { isUuid } from './platform/ids.js';
import type { Database } from './platform/db/types.js';
import { StaffEvents } from './modules/events/staff.js';
import type { Runtime } from './runtime.js';

export interface CliContext {
  readonly io: { out: (line: string) => void; err: (line: string) => void };
  readonly outcome: { exitCode: number };
  readonly withCommon: (cmd: Command) => Command;
  /** Runs `work` on the database, opened by the command or lent by the running server (src/runtime.ts). */
  readonly open: <T>(flags: AuditFlags, extra: Partial<Record<keyof Config, unknown>>, work: (rt: Runtime) => Promise<T>) => Promise<T>;
  /** A file named on the command line, resolved against the caller's working directory. */
  readonly path: (value: string) => string;
}

interface AuditFlags {
  config?: string;
  dataDir?: string;
  json?: boolean;
  dev?: boolean;
}

function chainArg(value: string): string {
  if (!isUuid(value) && !isPlatformChain(value)) throw new InvalidArgumentError('a workspace id (lowercase UUID), accounts or staff');
  return value;
}

function dateArg(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('an ISO 8601 time');
  return d;
}

function withAudit<T>(ctx: CliContext, flags: AuditFlags, work: (audit: AuditLog, db: Database) => Promise<T>): Promise<T> {
  return ctx.open(flags, { dev: flags.dev }, async (rt) => work(await rt.audit(), rt.db));
}

function describeReport(r: VerifyReport): string {
  if (!r.ok) return `${r.chain}: TAMPERED or incomplete — first bad seq ${r.firstBad?.seq}: ${r.firstBad?.message}`;
  const range = r.count === 0 ? 'no events' : `seq ${r.from}–${r.through} (${r.count} events)`;
  const { anchor } = r;
  const start =
    anchor.kind === 'genesis'
      ? 'from genesis'
      : anchor.kind === 'pruned'
        ? `after seq ${anchor.seq}, pruned at ${anchor.pruning?.prunedAt} under a retention of ${anchor.pruning?.retentionDays} days (signed)`
        : `after the signed checkpoint at seq ${anchor.seq}`;
  return `${r.chain}: ok, ${range}; head ${r.head.slice(0, 16)}…; ${r.checkpointsVerified} checkpoints verified, signed through seq ${r.signedThrough}; ${start}`;
}

export function auditCommands(program: Command, ctx: CliContext): void {
  const { io, outcome } = ctx;
  const audit = program.command('audit').description('the tamper-evident audit log: verify, export, checkpoint');
  const common = (cmd: Command) => ctx.withCommon(cmd).option('--json', 'print the result as JSON').option('--dev', 'development mode');

  common(audit.command('verify'))
    .description('verify a chain of the live database (every chain by default), or an exported JSON Lines file offline')
    .option('--chain <id>', 'a workspace id, accounts or staff', chainArg)
    .option('--file <export.jsonl>', 'verify this export instead of the database', ctx.path)
    .option('--public-key <file>', "the published keys (JSON from /api/v1/audit/public-keys, or PEM); required with --file", ctx.path)
    .option('--allow-unsigned-tail', 'with --file: accept events no valid checkpoint signs (said, not proven)')
    .option('--allow-incomplete', 'with --file: accept a filtered export, whose completeness cannot be proven (said, not proven)')
    .action(async (flags: AuditFlags & { chain?: string; file?: string; publicKey?: string; allowUnsignedTail?: boolean; allowIncomplete?: boolean }) => {
      let keys: PublicKeyInfo[] | null = null;
      if (flags.publicKey) {
        try {
          keys = parsePublicKeys(readFileSync(flags.publicKey, 'utf8'));
        } catch {
          throw new Error(`${flags.publicKey} holds no Ed25519 public key`);
        }
        if (keys.length === 0) throw new Error(`${flags.publicKey} holds no Ed25519 public key`);
      }
      if (flags.file) {
        if (!keys) throw new Error('--file needs --public-key: an export is verified against the published keys only');
        const allow = new Set<Unproven>([...(flags.allowUnsignedTail ? ['unsigned_tail' as const] : []), ...(flags.allowIncomplete ? ['incomplete' as const] : [])]);
        const report = await verifyExport(flags.file, keys);
        const ok = accepted(report, allow);
        if (!ok) outcome.exitCode = 1;
        if (flags.json) return io.out(JSON.stringify({ ...report, accepted: ok }));
        io.out(describeReport(report));
        if (!report.ok) return;
        io.out(report.signed ? `signed: ${report.signed.from === report.signed.through ? `seq ${report.signed.from}` : `seq ${report.signed.from}–${report.signed.through}`}` : 'signed: no event');
        for (const u of report.unproven) {
          io.out(`not proven: ${u.message}`);
          if (!allow.has(u.reason)) io.err(`refused: ${u.reason === 'incomplete' ? 'a filtered export' : 'events no checkpoint signs'}; pass --allow-${u.reason.replace('_', '-')} to accept it unproven`);
        }
        return;
      }
      const reports = await withAudit(ctx, flags, async (a) => {
        const published = keys ?? (await a.signer?.publicKeys()) ?? [];
        const chains = flags.chain ? [flags.chain] : await a.chains();
        const out: VerifyReport[] = [];
        for (const chain of chains) out.push(await a.verify(chain, published));
        return out;
      });
      if (flags.json) io.out(JSON.stringify({ chains: reports }));
      else for (const r of reports) io.out(describeReport(r));
      if (reports.some((r) => !r.ok)) outcome.exitCode = 1;
    });

  common(audit.command('export'))
    .description('export a chain as JSON Lines (verifiable) or CSV')
    .requiredOption('--chain <id>', 'a workspace id, accounts or staff', chainArg)
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--from <time>', 'events at or after this time', dateArg)
    .option('--to <time>', 'events before this time', dateArg)
    .option('--actor <id>', 'only events of this actor (not verifiable as a chain)')
    .option('--actor-type <type>', 'only events of this kind of actor: staff exports the access log (not verifiable as a chain)')
    .option('--out <file>', 'write here instead of stdout', ctx.path)
    .action((flags: AuditFlags & { chain: string; format: string; from?: Date; to?: Date; actor?: string; actorType?: string; out?: string }) => {
      if (flags.format !== 'jsonl' && flags.format !== 'csv') throw new Error('--format is jsonl or csv');
      const actorType = flags.actorType === undefined ? undefined : AUDIT_ACTOR_TYPES.find((a) => a === flags.actorType);
      if (flags.actorType !== undefined && actorType === undefined) throw new Error(`--actor-type is one of ${AUDIT_ACTOR_TYPES.join(', ')}`);
      if (flags.actor !== undefined && !isUuid(flags.actor)) throw new Error('--actor is a lowercase UUID');
      return withAudit(ctx, flags, async (a) => {
        const filter = { from: flags.from, to: flags.to, actorId: flags.actor, actorType };
        const lines = flags.format === 'csv' ? exportCsv(a, flags.chain, filter) : exportJsonLines(a, flags.chain, filter);
        if (!flags.out) {
          for await (const chunk of lines) io.out(chunk.replace(/\r?\n$/, ''));
          return;
        }
        const file = createWriteStream(flags.out, { mode: 0o600 });
        for await (const chunk of lines) if (!file.write(chunk)) await once(file, 'drain');
        file.end();
        await once(file, 'finish');
        io.err(`wrote ${flags.out}`);
      });
    });

  common(audit.command('checkpoint'))
    .description('sign a checkpoint of each chain whose head moved (or of one chain, always), once its events since the last one verify')
    .option('--chain <id>', 'a workspace id, accounts or staff', chainArg)
    .action((flags: AuditFlags & { chain?: string }) =>
      withAudit(ctx, flags, async (a) => {
        const { made, refused } = await a.checkpointAll(flags.chain);
        if (refused.length > 0) outcome.exitCode = 1;
        if (flags.json) return io.out(JSON.stringify({ checkpoints: made, refused: refused.map((r) => ({ chain: r.chain, ...r.firstBad })) }));
        for (const c of made) io.out(`${c.chain}: seq ${c.seq} head ${c.head} signed by ${c.keyId}`);
        for (const r of refused) io.err(`${r.chain}: NOT signed: it fails verification at seq ${r.firstBad.seq} (${r.firstBad.problem}): ${r.firstBad.message}`);
        if (made.length === 0 && refused.length === 0) io.out('no chain moved since its last checkpoint');
      }),
    );

  common(audit.command('rotate-signing-key'))
    .description('make a new checkpoint signing key; the old one stays published, so its checkpoints still verify')
    .action((flags: AuditFlags) =>
      withAudit(ctx, flags, async (a, db) => {
        if (!a.signer) throw new Error('no signer');
        const keyId = await a.signer.rotate();
        await new StaffEvents(db, a).record(null, { action: 'audit.signing_key_rotated', outcome: 'success', details: { keyId, via: 'cli' } }, null);
        io.out(flags.json ? JSON.stringify({ keyId }) : `checkpoints are now signed by ${keyId}; publish the new public key (rampart audit public-keys)`);
      }),
    );

  common(audit.command('public-keys'))
    .description('print the checkpoint public keys (what verifiers need)')
    .action((flags: AuditFlags) =>
      withAudit(ctx, flags, async (a) => {
        io.out(JSON.stringify({ keys: (await a.signer?.publicKeys()) ?? [] }, null, flags.json ? 0 : 2));
      }),
    );
}

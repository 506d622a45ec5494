import { z } from 'zod';
import { AUDIT_ACTOR_TYPES } from '../../platform/audit/entry.js';
import { Id } from '../../platform/http/schemas.js';
import { AuditActorView, EVENT_FIELDS } from '../events/routes.js';

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

export const AuditEventView = z
  .object({
    seq: z.number().int().describe("The event's place in the chain: gap-free, from 1."),
    id: Id,
    time: z.string().describe('When it happened: ISO 8601 UTC with microseconds.'),
    actor: AuditActorView,
    ...EVENT_FIELDS,
    hash: Hex32.describe('SHA-256 of this record (docs/audit-log.md).'),
    prevHash: Hex32.describe("The previous record's hash."),
  })
  .meta({ id: 'AuditEvent' });

const Time = z.iso.datetime({ offset: true });
const ActorType = z.enum(AUDIT_ACTOR_TYPES);

export const AuditQuery = z.strictObject({
  from: Time.optional().describe('Events at or after this time.'),
  to: Time.optional().describe('Events before this time.'),
  actor: Id.optional().describe('Only events by this actor (an account, API key or staff member id).'),
  actorType: ActorType.optional(),
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/).optional(),
  before: z.coerce.number().int().min(1).optional().describe('Page back: events with a lower sequence number.'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const AccessLogQuery = z.strictObject({
  from: Time.optional(),
  to: Time.optional(),
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const ExportQuery = z.strictObject({
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
  from: Time.optional(),
  to: Time.optional(),
  actor: Id.optional(),
  actorType: ActorType.optional().describe('`staff` exports the access log.'),
});

export const CheckpointView = z
  .object({
    chain: z.string(),
    seq: z.number().int().min(0),
    head: Hex32,
    signedAt: z.string(),
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    signature: z.string().max(200).describe('Ed25519 signature, base64, over docs/audit-log.md#checkpoints.'),
  })
  .meta({ id: 'AuditCheckpoint' });

export const VerifyBody = z.strictObject({
  checkpoint: CheckpointView.optional().describe('A checkpoint you kept (from an export, a sink or an earlier call): it must be ours and agree with the chain.'),
});

export const VerifyReportView = z
  .object({
    ok: z.boolean(),
    chain: z.string(),
    anchor: z
      .object({
        seq: z.number().int(),
        kind: z.enum(['genesis', 'pruned', 'checkpoint']),
        pruning: z.object({ prunedAt: z.string(), retentionDays: z.number().int(), checkpointSignedAt: z.string() }).nullable(),
      })
      .describe('What the first event checked links to: genesis, or the pruning (by retention) a signed statement proves.'),
    from: z.number().int().nullable(),
    through: z.number().int().nullable(),
    count: z.number().int(),
    head: z.string(),
    checkpointsVerified: z.number().int(),
    signedThrough: z.number().int(),
    firstBad: z.object({ seq: z.number().int(), problem: z.string(), message: z.string() }).nullable(),
  })
  .meta({ id: 'AuditVerifyReport' });

export const PublicKeysView = z
  .object({
    keys: z.array(
      z.object({
        keyId: z.string(),
        publicKey: z.string().describe('Raw 32-byte Ed25519 public key, base64.'),
        pem: z.string(),
        createdAt: z.string(),
        retiredAt: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'AuditPublicKeys' });

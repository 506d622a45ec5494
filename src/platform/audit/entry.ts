/**
 * What one audit event says, and its body: the JSON written once when it happens. Field order is
 * fixed here; the bytes are hashed as written, so no canonicalisation is ever needed to verify.
 */
import type { RequestMeta } from '../http/context.js';

export const AUDIT_ACTOR_TYPES = ['account', 'api_key', 'staff', 'system', 'anonymous', 'scim_token'] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];
export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditActorRef {
  readonly type: AuditActorType;
  readonly id: string | null;
  /** Staff only: their name and the role they acted in, as the workspace's access log shows them. */
  readonly name?: string | null;
  readonly role?: string | null;
}

export type AuditDetailValue = string | number | boolean | null | readonly string[];

export interface AuditEntry {
  /** Dotted, lowercase: `record.created`, `auth.sign_in`, `staff.records.read`, … */
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly actor: AuditActorRef;
  readonly target?: { readonly type: string; readonly id: string } | null | undefined;
  /** Public, non-secret facts. Never a token, secret, password or customer content. */
  readonly details?: Readonly<Record<string, AuditDetailValue>> | undefined;
  /** `accounts` chain: the customer account the event concerns, and the email an attempt named. */
  readonly account?: string | null | undefined;
  readonly email?: string | null | undefined;
}

/** The parsed body, as the API and exports show it. */
export interface AuditBody {
  readonly v: 1;
  readonly chain: string;
  readonly id: string;
  readonly time: string;
  readonly actor: { type: AuditActorType; id: string | null; name?: string | null; role?: string | null };
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly target: { type: string; id: string } | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
  readonly details: Record<string, unknown>;
  readonly account?: string | null;
  readonly email?: string | null;
}

/**
 * The body's members after `"v":1,"chain":"…",` — the chain is written by whoever knows it
 * (the database, for a workspace event recorded inside its tenant transaction).
 */
export function bodyTail(id: string, time: string, entry: AuditEntry, meta: RequestMeta | null): string {
  const actor =
    entry.actor.type === 'staff'
      ? { type: entry.actor.type, id: entry.actor.id, name: entry.actor.name ?? null, role: entry.actor.role ?? null }
      : { type: entry.actor.type, id: entry.actor.id };
  const target = entry.target ? { type: entry.target.type, id: entry.target.id.slice(0, 200) } : null;
  const details: Record<string, AuditDetailValue> = {};
  for (const key of Object.keys(entry.details ?? {}).sort()) details[key] = (entry.details as Record<string, AuditDetailValue>)[key] ?? null;
  const tail = JSON.stringify({
    id,
    time,
    actor,
    action: entry.action,
    outcome: entry.outcome,
    target,
    ip: meta?.ip ?? null,
    userAgent: meta?.userAgent?.slice(0, 512) ?? null,
    requestId: meta?.requestId ?? null,
    details,
    ...(entry.account !== undefined || entry.email !== undefined ? { account: entry.account ?? null, email: entry.email?.slice(0, 254) ?? null } : {}),
  });
  return tail.slice(1);
}

export function bodyOf(chain: string, tail: string): string {
  return `{"v":1,"chain":${JSON.stringify(chain)},${tail}`;
}

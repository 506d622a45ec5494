/**
 * Who an audit event names as its actor. A workspace request acts as an account or an API key
 * (`Actor`); the operator's staff act as themselves, with their role; `null` is the system.
 */
import type { AuditActorRef } from '../../platform/audit/entry.js';
import type { Actor } from '../../platform/http/context.js';

/** The staff roles, least privilege first; each names what it may do (docs/staff-access.md). */
export const STAFF_ROLES = ['support', 'engineer', 'security', 'staff-admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** A member of the operator's staff, named and with the role they acted in. */
export interface StaffActor {
  readonly type: 'staff';
  readonly id: string;
  readonly name: string;
  readonly role: StaffRole;
}

/** A workspace's SCIM token: the customer's directory, acting through the SCIM API (docs/scim.md). */
export interface ScimTokenActor {
  readonly type: 'scim_token';
  readonly id: string;
}

/** Someone who presented no valid credential (a failed SCIM authentication, say). */
export interface AnonymousActor {
  readonly type: 'anonymous';
}

export type EventActor = Actor | StaffActor | ScimTokenActor | AnonymousActor;

export function actorRef(actor: EventActor | null): AuditActorRef {
  if (actor === null) return { type: 'system', id: null };
  if (actor.type === 'staff') return { type: 'staff', id: actor.id, name: actor.name, role: actor.role };
  if (actor.type === 'anonymous') return { type: 'anonymous', id: null };
  return { type: actor.type, id: actor.id };
}

/**
 * What each staff role may do, written down once. A staff route names the one permission it
 * needs (`config.staffPermission`); the authenticating hook allows the request only when the
 * caller's role holds it (403 `forbidden` otherwise). Two route levels are not permissions:
 * `self` (any staff member whose session proved TOTP: their own session, signing out) and
 * `enrolment` (any staff session, even before TOTP: enrolling and proving TOTP, reading the
 * session, signing out). docs/staff-access.md lists this table; test/staff-permissions.test.ts
 * keeps the two equal.
 */
import { STAFF_ROLES, type StaffRole } from '../events/actors.js';
import type { Scope } from '../../platform/http/scopes.js';

export { STAFF_ROLES, type StaffRole };

export const STAFF_PERMISSION_CATALOGUE = {
  'access:request': 'File access requests to a workspace, see and cancel your own.',
  'access:use': "Read a workspace through a grant it approved: only the grant's scope, only until it expires or is revoked.",
  'break-glass:open': 'Open emergency access to a workspace without its approval: at most 1 hour, owners and admins emailed at once.',
  'staff-audit:read': "Read the staff audit chain: staff sign-ins, enrolments, account changes and refusals.",
  'staff:manage': 'Add staff members, change their roles, reset their sign-in, disable them. Nothing on workspace data.',
} as const satisfies Record<string, string>;

export type StaffPermission = keyof typeof STAFF_PERMISSION_CATALOGUE;
export const STAFF_PERMISSIONS = Object.keys(STAFF_PERMISSION_CATALOGUE) as [StaffPermission, ...StaffPermission[]];

/**
 * Least privilege. `support` and `engineer` hold the same permissions in Rampart: both reach a
 * workspace only through a grant it approved. The roles stay apart so the workspace's access log
 * names which kind of staff looked, and so the table can diverge without a data migration.
 */
export const STAFF_ROLE_PERMISSIONS: Readonly<Record<StaffRole, ReadonlySet<StaffPermission>>> = {
  support: new Set<StaffPermission>(['access:request', 'access:use']),
  engineer: new Set<StaffPermission>(['access:request', 'access:use']),
  security: new Set<StaffPermission>(['access:request', 'access:use', 'break-glass:open', 'staff-audit:read']),
  'staff-admin': new Set<StaffPermission>(['staff:manage']),
};

/** What a staff route declares: a permission, or one of the two levels every role has. */
export type StaffRouteLevel = StaffPermission | 'self' | 'enrolment';

const LEVELS: ReadonlySet<string> = new Set<string>([...STAFF_PERMISSIONS, 'self', 'enrolment']);

export function isStaffRouteLevel(value: unknown): value is StaffRouteLevel {
  return typeof value === 'string' && LEVELS.has(value);
}

export function isStaffRole(value: unknown): value is StaffRole {
  return typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);
}

/** Whether a role may use a route of this level (MFA is checked separately). */
export function staffMay(role: StaffRole, level: StaffRouteLevel): boolean {
  if (level === 'self' || level === 'enrolment') return true;
  return STAFF_ROLE_PERMISSIONS[role].has(level);
}

/** The permissions a role holds, in catalogue order. */
export function permissionsOf(role: StaffRole): StaffPermission[] {
  return STAFF_PERMISSIONS.filter((p) => STAFF_ROLE_PERMISSIONS[role].has(p));
}

/**
 * The scopes staff may ask a workspace for: reads of customer content only, each with a staff
 * read route behind it. Writes, settings, members and keys are never lent to staff.
 */
export const STAFF_REQUESTABLE_SCOPES: readonly Scope[] = ['records:read', 'documents:read'];

/** Why staff need access; the workspace sees the code, the free text and the ticket. */
export const JUSTIFICATIONS = ['customer-initiated-support', 'incident-response', 'legal-request', 'security-investigation'] as const;
export type Justification = (typeof JUSTIFICATIONS)[number];

/** The longest grant a request may ask for, in minutes (8 hours). */
export const MAX_REQUEST_MINUTES = 8 * 60;
/** The longest break-glass grant, in minutes (1 hour); also its default. */
export const MAX_BREAK_GLASS_MINUTES = 60;
/** How long a request waits for a decision before it expires undecided. */
export const PENDING_TTL_HOURS = 24;

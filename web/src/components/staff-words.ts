/** The words both sides of staff access use: justification codes, requestable scopes, statuses. */
import type { AccessRequestStatus, Justification } from '../api';

export const JUSTIFICATION_LABELS: Readonly<Record<Justification, string>> = {
  'customer-initiated-support': 'Customer-initiated support',
  'incident-response': 'Incident response',
  'legal-request': 'Legal request',
  'security-investigation': 'Security investigation',
};

export const JUSTIFICATIONS = Object.keys(JUSTIFICATION_LABELS) as Justification[];

export function justificationLabel(code: unknown): string {
  if (typeof code !== 'string') return '—';
  return code in JUSTIFICATION_LABELS ? JUSTIFICATION_LABELS[code as Justification] : code;
}

/** The scopes staff may ask for, and what each lets them do. */
export const REQUESTABLE_SCOPES = [
  { scope: 'records:read', label: 'Read records' },
  { scope: 'documents:read', label: 'Read documents' },
] as const;

export function scopeLabel(scope: unknown): string {
  if (typeof scope !== 'string') return '—';
  return REQUESTABLE_SCOPES.find((s) => s.scope === scope)?.label ?? scope;
}

export const STATUS_LABELS: Readonly<Record<AccessRequestStatus, string>> = {
  pending: 'Pending',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  revoked: 'Revoked',
  cancelled: 'Cancelled',
};

/** The badge class of a status: live access stands out, refusals and endings are muted or red. */
export function statusClass(status: AccessRequestStatus): string {
  switch (status) {
    case 'approved':
      return 'badge ok';
    case 'pending':
      return 'badge pending';
    case 'denied':
    case 'revoked':
      return 'badge warn';
    default:
      return 'badge';
  }
}

export const MAX_REQUEST_MINUTES = 8 * 60;
export const MAX_BREAK_GLASS_MINUTES = 60;

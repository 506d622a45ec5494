/**
 * The profile, email change and workspace overview calls of the API (until api.ts carries them
 * in its block "Profile, workspace-for-key, overview"; then this file goes).
 */
import { request, type Account, type Member } from './api';

/** A member with whether they have a second factor. */
export interface MemberWithMfa extends Member {
  readonly mfa: boolean;
}

export type OverviewSection =
  | 'members'
  | 'invitations'
  | 'roles'
  | 'sso'
  | 'api-keys'
  | 'encryption'
  | 'access-requests'
  | 'access-log'
  | 'audit'
  | 'settings'
  | 'collections'
  | 'documents';

export interface OverviewAlert {
  readonly id: string;
  readonly severity: 'critical' | 'warning' | 'info';
  readonly at: string;
  readonly title: string;
  readonly section: OverviewSection;
}

/** A workspace's security posture; a part is null when the caller lacks the scope that reads it. */
export interface Overview {
  readonly members: { readonly total: number; readonly withMfa: number; readonly mfaRequired: boolean } | null;
  readonly sso: {
    readonly saml: boolean;
    readonly oidc: boolean;
    readonly scim: boolean;
    readonly enforced: boolean;
    readonly domains: { readonly verified: number; readonly pending: number };
  } | null;
  readonly keys: { readonly currentVersion: number; readonly versions: number; readonly rotatedAt: string | null; readonly nextRotationAt: string | null } | null;
  readonly accessRequests: { readonly pending: number } | null;
  readonly audit: { readonly chain: 'verified' | 'failed' | 'unknown'; readonly lastCheckpointAt: string | null } | null;
  readonly alerts: readonly OverviewAlert[];
}

const ws = (workspaceId: string) => `/workspaces/${encodeURIComponent(workspaceId)}`;

export const profileApi = {
  updateAccount: (body: { name: string }) => request<Account>('PATCH', '/auth/account', { json: body }),
  /** Sends a link to the new address; the old one is told. */
  changeEmail: (body: { email: string; password?: string }) => request<{ pendingEmail: string }>('POST', '/auth/account/email', { json: body, quiet401: true }),
  confirmEmailChange: (token: string) => request<Account>('POST', '/auth/account/email/confirm', { json: { token } }),
  overview: (workspaceId: string) => request<Overview>('GET', `${ws(workspaceId)}/overview`),
};

/**
 * The console's map: every section of a workspace, its URL, where the sidebar lists it, and the
 * scopes that open it (any one of them). A section the caller's scopes do not open is not
 * offered; opened by its URL anyway, it says which scope it needs, and the server decides all the
 * same.
 */
import { can, type OverviewSection, type Scope, type Workspace } from './api';

/** The overview, and every section an overview alert can point to. */
export type SectionId = 'overview' | OverviewSection;

export type SectionGroup = 'Data' | 'People' | 'Security' | null;

export interface SectionInfo {
  readonly id: SectionId;
  readonly label: string;
  /** The sidebar's group; null for the overview and the settings, listed on their own. */
  readonly group: SectionGroup;
  /** Any one of these opens the section; none listed: every member. */
  readonly anyOf: readonly Scope[];
  /** What the page is for, said under its title. */
  readonly description: string;
}

export const SECTIONS: readonly SectionInfo[] = [
  { id: 'overview', label: 'Overview', group: null, anyOf: [], description: 'The security state of this workspace, each part linked to where it is changed.' },
  { id: 'collections', label: 'Collections', group: 'Data', anyOf: ['records:read'], description: 'Collections of JSON records, encrypted at rest under this workspace’s keys.' },
  { id: 'documents', label: 'Documents', group: 'Data', anyOf: ['documents:read'], description: 'Files, encrypted at rest under this workspace’s keys.' },
  { id: 'members', label: 'Members', group: 'People', anyOf: ['members:read'], description: 'Who belongs to this workspace, their roles and whether they use a second factor.' },
  { id: 'invitations', label: 'Invitations', group: 'People', anyOf: ['invitations:manage'], description: 'Invitations sent by email, each with the role it gives.' },
  { id: 'roles', label: 'Roles', group: 'People', anyOf: ['members:read'], description: 'Roles are sets of scopes; each member holds one or more.' },
  { id: 'sso', label: 'Single sign-on', group: 'Security', anyOf: ['sso:manage'], description: 'Verified domains, the SAML connection, SCIM provisioning and directory groups.' },
  { id: 'api-keys', label: 'API keys', group: 'Security', anyOf: ['api-keys:manage'], description: 'Keys for programs calling the API, each limited to the scopes it was given.' },
  {
    id: 'encryption',
    label: 'Encryption and secrets',
    group: 'Security',
    anyOf: ['keys:manage', 'integrations:manage'],
    description: 'The keys this workspace’s content is encrypted under, and the secrets vault for integrations.',
  },
  { id: 'access-requests', label: 'Access requests', group: 'Security', anyOf: ['staff-access:approve'], description: 'Staff ask before reading this workspace’s data; you approve, deny or revoke.' },
  { id: 'access-log', label: 'Access log', group: 'Security', anyOf: ['audit:read'], description: 'Every read of this workspace’s data by staff.' },
  { id: 'audit', label: 'Audit log', group: 'Security', anyOf: ['audit:read'], description: 'Every change in this workspace, in a tamper-evident chain.' },
  { id: 'settings', label: 'Settings', group: null, anyOf: ['settings:manage', 'workspace:delete'], description: 'The workspace’s name, its MFA requirement, its region, and deleting it.' },
];

export const SECTION_GROUPS: readonly Exclude<SectionGroup, null>[] = ['Data', 'People', 'Security'];

export function sectionInfo(id: SectionId): SectionInfo {
  return SECTIONS.find((s) => s.id === id)!;
}

export function isSectionId(value: string): value is SectionId {
  return SECTIONS.some((s) => s.id === value);
}

/** Whether the caller's scopes open the section. The server decides; this shapes the page. */
export function opens(workspace: Pick<Workspace, 'scopes'>, section: SectionInfo | SectionId): boolean {
  const info = typeof section === 'string' ? sectionInfo(section) : section;
  return info.anyOf.length === 0 || info.anyOf.some((scope) => can(workspace, scope));
}

/** A workspace section's URL: `/w/<id>` for the overview, `/w/<id>/<section>` for the others. */
export function sectionPath(workspaceId: string, section: SectionId = 'overview', query?: Record<string, string>): string {
  const base = `/w/${encodeURIComponent(workspaceId)}${section === 'overview' ? '' : `/${section}`}`;
  const search = query ? new URLSearchParams(query).toString() : '';
  return search ? `${base}?${search}` : base;
}

/** The account's pages, reached from the account menu. */
export const ACCOUNT_PAGES = [
  { path: '/account', label: 'Profile' },
  { path: '/account/security', label: 'Security' },
  { path: '/account/sessions', label: 'Sessions' },
] as const;

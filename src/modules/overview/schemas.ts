import { z } from 'zod';

/** The console's sections an alert can point to (its URLs: /w/:workspaceId/<section>). */
export const SECTIONS = [
  'collections',
  'documents',
  'members',
  'invitations',
  'roles',
  'sso',
  'api-keys',
  'encryption',
  'access-requests',
  'access-log',
  'audit',
  'settings',
] as const;

export const OverviewAlert = z
  .object({
    id: z.string().describe('Names the condition (`audit.verification_failed`, `keys.rotation_overdue`, …): the same while it lasts.'),
    severity: z.enum(['critical', 'warning', 'info']),
    at: z.iso
      .datetime()
      .describe('When the condition began, where the data says; for a certificate, when it expires (or expired); otherwise the time of this answer.'),
    title: z.string().describe('One sentence for a person.'),
    section: z.enum(SECTIONS).describe('The console section where it is dealt with.'),
  })
  .meta({ id: 'OverviewAlert' });

const Count = z.number().int().min(0);

export const WorkspaceOverview = z
  .object({
    members: z
      .object({ total: Count, withMfa: Count.describe('Members with a confirmed authenticator app or a passkey.'), mfaRequired: z.boolean() })
      .nullable()
      .describe('Null without `members:read`.'),
    sso: z
      .object({
        saml: z.boolean().describe('A SAML connection is set up and enabled.'),
        oidc: z.boolean().describe("Sign-in with this instance's OpenID Connect provider is configured (an instance setting, not the workspace's)."),
        scim: z.boolean().describe('The workspace has a live SCIM token.'),
        enforced: z.boolean().describe('SSO is enforced for at least one verified domain.'),
        domains: z.object({ verified: Count, pending: Count }),
      })
      .nullable()
      .describe('Null without `sso:manage`.'),
    keys: z
      .object({
        currentVersion: Count.describe('0 while nothing is encrypted yet.'),
        versions: Count,
        rotatedAt: z.iso.datetime().nullable(),
        nextRotationAt: z.iso.datetime().nullable(),
      })
      .nullable()
      .describe('Null without `keys:manage`.'),
    accessRequests: z.object({ pending: Count }).nullable().describe('Null without `staff-access:approve`.'),
    audit: z
      .object({
        chain: z
          .enum(['verified', 'failed', 'unknown'])
          .describe('`failed`: a verification failure was recorded after the newest checkpoint, or a pruning is unproven; `verified`: a checkpoint was signed (each is signed only after the events since the one before verified) and nothing failed since; `unknown`: no checkpoint yet.'),
        lastCheckpointAt: z.iso.datetime().nullable(),
      })
      .nullable()
      .describe('Null without `audit:read`.'),
    alerts: z.array(OverviewAlert).describe('Derived from the parts the caller may read, most severe first.'),
  })
  .meta({ id: 'WorkspaceOverview' });

export type OverviewView = z.infer<typeof WorkspaceOverview>;
export type OverviewAlertView = z.infer<typeof OverviewAlert>;

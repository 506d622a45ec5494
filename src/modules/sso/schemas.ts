import { z } from 'zod';
import { Id, WorkspaceParams } from '../../platform/http/schemas.js';
import { Domain } from '../domains/schemas.js';
import { CreateScimTokenBody, ScimToken } from '../scim/schemas.js';
import { METADATA_MAX_BYTES } from './metadata.js';

export const SpInfo = z.object({
  entityId: z.string().describe("Rampart's entity id for this workspace (also its metadata URL)."),
  acsUrl: z.string().describe('The assertion consumer service URL (HTTP-POST binding).'),
  metadataUrl: z.string(),
  loginUrl: z.string().describe('Where a browser starts SP-initiated sign-in.'),
});
export type SpInfoView = z.infer<typeof SpInfo>;

const AttributeName = z.string().trim().min(1).max(256).nullable();

const ConnectionFields = z.strictObject({
    metadataXml: z.string().min(1).max(METADATA_MAX_BYTES).optional().describe("The IdP's metadata XML, pasted."),
    metadataUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().describe("The IdP's metadata URL, fetched now by Rampart (https; 5 s; 512 KiB)."),
    idpEntityId: z.string().trim().min(1).max(1024).optional(),
    ssoUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().describe("The IdP's single sign-on URL (HTTP-Redirect binding)."),
    certificates: z.array(z.string().min(1).max(16_384)).min(1).max(4).optional().describe('Signing certificates, PEM or base64 DER.'),
    enabled: z.boolean().optional(),
    allowIdpInitiated: z.boolean().optional().describe('Accept responses no Rampart request asked for (off by default).'),
    clockSkewSeconds: z.number().int().min(0).max(600).optional().describe('Tolerance for the IdP clock, default 120.'),
    jitProvisioning: z.boolean().optional().describe('Create accounts and memberships at first sign-in (on by default; only for verified domains).'),
    defaultRoleId: Id.optional().describe("The role given at provisioning; the built-in member role when not set. Never the owner's."),
    attributes: z
      .strictObject({ email: AttributeName.optional(), name: AttributeName.optional(), groups: AttributeName.optional() })
      .optional()
      .describe('Assertion attribute names for email, display name and groups; the NameID is the email when no email attribute is named.'),
});

const oneSource = (b: { metadataXml?: string | undefined; metadataUrl?: string | undefined; idpEntityId?: string | undefined; ssoUrl?: string | undefined; certificates?: string[] | undefined }) =>
  [b.metadataXml !== undefined, b.metadataUrl !== undefined, b.idpEntityId !== undefined || b.ssoUrl !== undefined || b.certificates !== undefined].filter(Boolean).length === 1;
const ONE_SOURCE = 'give exactly one of metadataXml, metadataUrl, or idpEntityId with ssoUrl and certificates';

export const ConnectionBody = ConnectionFields.refine(oneSource, ONE_SOURCE);
export type ConnectionBodyInput = z.infer<typeof ConnectionBody>;

const SetupToken = z.string().min(20).max(200).describe('The token from the setup link (its URL fragment).');
export const SetupTokenBody = z.strictObject({ token: SetupToken });
/** Through a setup link the IT admin sets up the IdP; who gets in, and with which role, stays the workspace admins' decision. */
export const SetupScimTokenBody = CreateScimTokenBody.extend({ token: SetupToken });
export const SetupSamlBody = ConnectionFields.omit({ defaultRoleId: true, jitProvisioning: true }).extend({ token: SetupToken }).refine(oneSource, ONE_SOURCE);

export const Connection = z.object({
  sp: SpInfo,
  connection: z
    .object({
      id: z.string(),
      enabled: z.boolean(),
      idpEntityId: z.string(),
      ssoUrl: z.string(),
      metadataUrl: z.string().nullable(),
      certificates: z.array(z.object({ subject: z.string(), notAfter: z.string(), fingerprintSha256: z.string() })),
      allowIdpInitiated: z.boolean(),
      clockSkewSeconds: z.number(),
      jitProvisioning: z.boolean(),
      defaultRoleId: z.string(),
      attributes: z.object({ email: z.string().nullable(), name: z.string().nullable(), groups: z.string().nullable() }),
      updatedAt: z.string(),
    })
    .nullable(),
});
export type ConnectionView = z.infer<typeof Connection>;

export const SsoAttempt = z.object({
  time: z.string(),
  outcome: z.enum(['success', 'failure', 'denied']),
  reason: z.string().nullable().describe('Why a failed attempt was refused (docs/sso.md lists the reasons).'),
  accountId: z.string().nullable(),
  nameId: z.string().nullable(),
  ip: z.string().nullable(),
  requestId: z.string().nullable(),
});
export type SsoAttemptView = z.infer<typeof SsoAttempt>;

export const AttemptsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export const DiscoverBody = z.strictObject({ email: z.string().trim().min(3).max(254) });
export const DiscoverResponse = z.object({
  sso: z.boolean().describe("Whether the email's domain signs in through a workspace's SAML SSO."),
  enforced: z.boolean().describe('Whether other sign-in methods are refused for it.'),
  workspaceId: z.string().nullable(),
  loginUrl: z.string().nullable(),
});

export const SamlParams = z.strictObject({ workspaceId: z.string().max(64) });
export const LoginQuery = z.strictObject({ returnTo: z.string().max(512).optional() });
export const AcsForm = z.strictObject({
  SAMLResponse: z.string().max(4 * 1024 * 1024),
  RelayState: z.string().max(1024).optional(),
});

export const SetupLinkBody = z.strictObject({ expiresInHours: z.number().int().min(1).max(168).default(72) });
export const SetupLink = z.object({ id: z.string(), createdAt: z.string(), expiresAt: z.string() });
export const CreatedSetupLink = SetupLink.extend({ url: z.string().describe('Shown once: the link for the IT admin.') });
export const SetupLinkParams = WorkspaceParams.extend({ linkId: Id });

export const SetupPage = z.object({
  workspace: z.object({ id: z.string(), name: z.string() }),
  expiresAt: z.string(),
  sp: SpInfo,
  connection: Connection.shape.connection,
  domains: z.array(Domain),
  scim: z.object({ baseUrl: z.string(), tokens: z.array(ScimToken) }).describe('The SCIM base URL and the live SCIM tokens (never the tokens themselves).'),
  instructions: z.array(z.object({ idp: z.enum(['okta', 'entra', 'google']), name: z.string(), steps: z.array(z.string()), provisioning: z.array(z.string()).describe('SCIM provisioning steps.') })),
});
export type SetupPageView = z.infer<typeof SetupPage>;

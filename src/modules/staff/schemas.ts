import { z } from 'zod';
import { displayName, filterParam, Id, page, PageQuery, WorkspaceParams } from '../../platform/http/schemas.js';
import { Email, OpaqueToken, Password } from '../accounts/schemas.js';
import { normaliseTotpCode } from '../mfa/totp.js';
import { CollectionName } from '../records/schemas.js';
import { JUSTIFICATIONS, MAX_BREAK_GLASS_MINUTES, STAFF_PERMISSIONS, STAFF_ROLES } from './permissions.js';

const Role = z.enum(STAFF_ROLES).describe('support, engineer, security or staff-admin (docs/staff-access.md).');
const Note = z.string().trim().max(2000).optional().describe('Shown with the decision; optional.');
/** A scope as asked for: checked by the service, so an unknown one answers `unknown_scope`. */
const ScopeName = z.string().max(64).regex(/^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$/, 'a scope looks like records:read').describe('A read scope: records:read or documents:read.');
/** Minutes, bounded by the service so that too long answers `access_duration_too_long`. */
const Minutes = z.number().int().min(1).max(1_000_000);

export const StaffMember = z
  .object({
    id: Id,
    email: z.string(),
    name: z.string(),
    role: Role,
    totp: z.boolean().describe('Whether an authenticator app is enrolled.'),
    passwordSet: z.boolean().describe('Whether the setup link was used (false again after a reset).'),
    disabled: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'StaffMember' });

export const StaffSession = z
  .object({
    staff: StaffMember,
    permissions: z.array(z.enum(STAFF_PERMISSIONS)).describe("The staff role's permissions."),
    session: z.object({
      id: Id,
      kind: z.enum(['cookie', 'bearer']),
      expiresAt: z.iso.datetime(),
      mfa: z.boolean().describe('Whether this session proved a TOTP code; until it does, only enrolment routes answer.'),
    }),
    csrfToken: z.string().nullable().describe('Send as x-csrf-token on cookie-authenticated writes; null for bearer sessions.'),
  })
  .meta({ id: 'StaffSession' });

export const StaffToken = z
  .object({
    staff: StaffMember,
    token: z.string().describe('Staff bearer token; shown once. It must prove a TOTP code (POST /api/v1/staff/mfa/totp/verify) before anything else.'),
    tokenType: z.literal('Bearer'),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'StaffBearerToken' });

export const StaffSignInBody = z.strictObject({ email: Email, password: Password });
export const StaffSetupBody = z.strictObject({ token: OpaqueToken.describe('From the one-time setup link.'), password: Password });
export const StaffTotpEnrolment = z.object({
  secret: z.string().describe('Base32 secret for the authenticator app; shown once.'),
  otpauthUrl: z.string().describe('otpauth:// URL, for a QR code.'),
});
export const StaffTotpBody = z.strictObject({
  code: z
    .string()
    .max(32)
    .refine((v) => normaliseTotpCode(v) !== null, 'must be a 6-digit code')
    .describe('The 6-digit code the authenticator app shows.'),
});

export const AddStaffBody = z.strictObject({ email: Email, name: displayName(200), role: Role });
export const ChangeStaffBody = z.strictObject({ role: Role });
export const StaffParams = z.strictObject({ staffId: Id });
export const StaffWithSetupLink = z.object({
  member: StaffMember,
  setupLink: z.string().describe('One-time link (24 hours) for the member to choose a password; shown once.'),
});

export const AccessRequest = z
  .object({
    id: Id,
    workspaceId: Id,
    staff: z.object({ id: Id, name: z.string(), role: z.string() }),
    scope: z.string(),
    justification: z.enum(JUSTIFICATIONS),
    reason: z.string(),
    ticket: z.string().nullable(),
    durationMinutes: z.number().int(),
    breakGlass: z.boolean(),
    status: z.enum(['pending', 'approved', 'denied', 'expired', 'revoked', 'cancelled']),
    createdAt: z.iso.datetime(),
    pendingUntil: z.iso.datetime().describe('A pending request expires undecided at this time.'),
    decidedAt: z.iso.datetime().nullable(),
    decidedBy: Id.nullable().describe('The account that approved or denied.'),
    decisionNote: z.string().nullable(),
    grant: z
      .object({
        id: Id.describe('Read through it at /api/v1/staff/grants/{grantId}/…'),
        grantedAt: z.iso.datetime(),
        expiresAt: z.iso.datetime(),
        revokedAt: z.iso.datetime().nullable(),
        revokedBy: Id.nullable(),
      })
      .nullable(),
  })
  .meta({ id: 'StaffAccessRequest' });

export const AccessRequestBody = z.strictObject({
  workspaceId: Id,
  scope: ScopeName,
  justification: z.enum(JUSTIFICATIONS),
  reason: z.string().trim().min(1).max(2000).describe('Why, in words the workspace will read.'),
  ticket: z.string().trim().min(1).max(200).describe('The support or incident ticket this is for.'),
  durationMinutes: Minutes.describe('How long the grant lasts from approval; at most 480 (8 hours).'),
});

export const BreakGlassBody = z.strictObject({
  workspaceId: Id,
  scope: ScopeName,
  reason: z.string().trim().min(1).max(2000).describe('Mandatory: why this cannot wait for approval.'),
  ticket: z.string().trim().min(1).max(200).optional(),
  durationMinutes: Minutes.optional().describe(`At most ${MAX_BREAK_GLASS_MINUTES} (the default).`),
});

export const RequestParams = z.strictObject({ requestId: Id });
export const WorkspaceRequestParams = WorkspaceParams.extend({ requestId: Id });
export const DecisionBody = z.strictObject({ note: Note });
export const WorkspaceRequestsQuery = z.strictObject({
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'revoked', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(100),
});

export const GrantParams = z.strictObject({ grantId: Id });
export const GrantCollectionParams = GrantParams.extend({ collection: CollectionName });
export const GrantRecordParams = GrantCollectionParams.extend({ recordId: Id });
export const GrantDocumentParams = GrantParams.extend({ documentId: Id });
export const GrantRecordsQuery = z.looseObject({ ...PageQuery, filter: filterParam(8) });
export const GrantPageQuery = z.strictObject(PageQuery);

export const StaffCollection = z.object({ id: Id, name: z.string(), createdAt: z.iso.datetime() }).meta({ id: 'StaffCollection' });
export const StaffRecord = z
  .object({
    id: Id,
    collection: z.string(),
    data: z.record(z.string(), z.unknown()),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'StaffRecord' });
export const StaffDocument = z
  .object({ id: Id, name: z.string(), contentType: z.string(), size: z.number().int(), sha256: z.string(), createdAt: z.iso.datetime() })
  .meta({ id: 'StaffDocument' });
export const StaffRecordPage = page(StaffRecord);
export const StaffDocumentPage = page(StaffDocument);

export const StaffAuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/).optional(),
});

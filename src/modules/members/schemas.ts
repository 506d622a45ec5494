import { z } from 'zod';
import { displayName, displayText, Id, WorkspaceParams } from '../../platform/http/schemas.js';
import { GRANTABLE_SCOPES, SCOPES } from '../../platform/http/scopes.js';

export const ScopeName = z.enum(SCOPES).meta({ id: 'Scope' });
export const GrantableScope = z.enum(GRANTABLE_SCOPES).describe('A scope a custom role or API key may hold (any but the owner-only ones).');

export const ScopeInfo = z
  .object({ scope: ScopeName, description: z.string(), ownerOnly: z.boolean() })
  .meta({ id: 'ScopeInfo' });

export const Builtin = z.enum(['owner', 'admin', 'member']);

/** A role as others refer to it. */
export const RoleRef = z.object({ id: Id, name: z.string(), builtin: Builtin.nullable() }).meta({ id: 'RoleRef' });

export const Role = z
  .object({
    id: Id,
    name: z.string(),
    description: z.string(),
    builtin: Builtin.nullable().describe('Set for the built-in roles, which cannot be edited or deleted.'),
    scopes: z.array(ScopeName),
    memberCount: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Role' });

const RoleName = displayName(60).describe('1–60 characters, unique in the workspace (case-insensitive); no control, bidirectional or invisible characters.');
const Description = displayText(500);
const RoleScopes = z.array(GrantableScope).min(1).max(64).describe('The scopes the role grants; you must hold each of them.');

export const CreateRoleBody = z
  .strictObject({ name: RoleName, description: Description.optional(), scopes: RoleScopes })
  .meta({ examples: [{ name: 'Support agent', description: 'Reads records and documents.', scopes: ['records:read', 'documents:read'] }] });
export const UpdateRoleBody = z
  .strictObject({ name: RoleName.optional(), description: Description.optional(), scopes: RoleScopes.optional() })
  .refine((b) => b.name !== undefined || b.description !== undefined || b.scopes !== undefined, 'name, description or scopes is required');

export const RoleParams = WorkspaceParams.extend({ roleId: Id.describe('Role id.') });
export const MemberParams = WorkspaceParams.extend({ accountId: Id.describe("The member's account id.") });

export const Member = z
  .object({
    accountId: Id,
    email: z.string(),
    name: z.string(),
    roles: z.array(RoleRef),
    joinedAt: z.iso.datetime(),
    mfa: z.boolean().describe('Whether the member has a second factor: a confirmed authenticator app or a passkey.'),
  })
  .meta({ id: 'Member' });

export const UpdateMemberBody = z.strictObject({
  roleIds: z
    .array(Id)
    .min(1)
    .max(20)
    .describe("The member's roles from now on (at least one). You must hold every scope of each role you add or take away; the owner role moves only by transferring ownership."),
});

export const TransferOwnershipBody = z.strictObject({
  accountId: Id.describe('The member who becomes the owner. You become an admin.'),
});

export type RoleView = z.infer<typeof Role>;
export type RoleRefView = z.infer<typeof RoleRef>;
export type MemberView = z.infer<typeof Member>;

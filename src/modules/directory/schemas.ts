import { z } from 'zod';
import { Id, WorkspaceParams } from '../../platform/http/schemas.js';
import { RoleRef } from '../members/index.js';

export const GroupRoleMapping = z
  .object({
    id: Id,
    groupKey: z.string().describe("The directory group, lower-cased: a SCIM group's displayName or externalId, or a SAML groups attribute value."),
    role: RoleRef,
    createdBy: Id.nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'GroupRoleMapping' });

export const CreateGroupRoleMappingBody = z.strictObject({
  group: z
    .string()
    .trim()
    .min(1)
    .max(256)
    .describe('The group as the directory names it (compared case-insensitively).'),
  roleId: Id.describe('The role members of the group get; never the owner role, and only a role whose scopes you hold.'),
});

export const GroupRoleMappingParams = WorkspaceParams.extend({ mappingId: Id.describe('Mapping id.') });

export type GroupRoleMappingView = z.infer<typeof GroupRoleMapping>;

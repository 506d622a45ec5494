import { z } from 'zod';
import { displayName, Id } from '../../platform/http/schemas.js';
import { RoleRef, ScopeName } from '../members/schemas.js';

const Name = displayName(100);

export const CreateWorkspaceBody = z
  .strictObject({
    name: Name,
    region: z.string().max(32).optional().describe('Data region; one of the configured regions. Defaults to the first.'),
  })
  .meta({ examples: [{ name: 'Acme Support' }] });

export const UpdateWorkspaceBody = z
  .strictObject({
    name: Name.optional(),
    requireMfa: z.boolean().optional().describe('Admit only sessions that proved a second factor; members without one are sent to set it up.'),
  })
  .refine((b) => b.name !== undefined || b.requireMfa !== undefined, 'name or requireMfa is required');

export const DeleteWorkspaceBody = z.strictObject({
  confirm: z.string().max(100).describe("The workspace's current name, typed to confirm deletion."),
});

export const Workspace = z
  .object({
    id: Id,
    name: z.string(),
    region: z.string(),
    requireMfa: z.boolean(),
    createdAt: z.iso.datetime(),
    roles: z.array(RoleRef).describe('Your roles here (none for an API key).'),
    scopes: z.array(ScopeName).describe('What you may do here: the scopes your roles (or the API key) give.'),
  })
  .meta({ id: 'Workspace' });

export type WorkspaceView = z.infer<typeof Workspace>;
export type WorkspaceInfo = Omit<WorkspaceView, 'roles' | 'scopes'>;

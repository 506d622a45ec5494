import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, requirePrincipal, tenantOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { OWNER_ONLY_SCOPES, SCOPE_CATALOGUE, SCOPES } from '../../platform/http/scopes.js';
import type { AccountsService } from '../accounts/index.js';
import {
  CreateRoleBody,
  Member,
  MemberParams,
  Role,
  RoleParams,
  ScopeInfo,
  TransferOwnershipBody,
  UpdateMemberBody,
  UpdateRoleBody,
} from './schemas.js';
import type { MembersService } from './service.js';

const tags = ['members and roles'];

export function membersRoutes(members: MembersService, accounts: AccountsService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId';

    app.get('/api/v1/scopes', {
      config: { access: 'public' },
      schema: { tags, summary: 'The permission scopes roles and API keys are made of', response: { 200: z.object({ data: z.array(ScopeInfo) }) } },
      handler: async () => ({
        data: SCOPES.map((scope) => ({ scope, description: SCOPE_CATALOGUE[scope], ownerOnly: OWNER_ONLY_SCOPES.includes(scope) })),
      }),
    });

    app.get(`${base}/roles`, {
      config: { access: 'workspace', scope: 'members:read' },
      schema: { tags, summary: "The workspace's roles, built-in first", params: WorkspaceParams, response: { 200: z.object({ data: z.array(Role) }) } },
      handler: async (request) => ({ data: await members.listRoles(tenantOf(request)) }),
    });

    app.post(`${base}/roles`, {
      config: { access: 'workspace', scope: 'roles:manage', errors: ['role_name_taken', 'scope_escalation'] },
      schema: { tags, summary: 'Create a custom role from scopes you hold', params: WorkspaceParams, body: CreateRoleBody, response: { 201: Role } },
      handler: async (request, reply) => reply.status(201).send(await members.createRole(callerOf(request), request.body)),
    });

    app.patch(`${base}/roles/:roleId`, {
      config: { access: 'workspace', scope: 'roles:manage', errors: ['role_not_found', 'role_immutable', 'role_name_taken', 'scope_escalation'] },
      schema: { tags, summary: 'Rename or re-scope a custom role', params: RoleParams, body: UpdateRoleBody, response: { 200: Role } },
      handler: async (request) => members.updateRole(callerOf(request), request.params.roleId, request.body),
    });

    app.delete(`${base}/roles/:roleId`, {
      config: { access: 'workspace', scope: 'roles:manage', errors: ['role_not_found', 'role_immutable', 'role_in_use', 'scope_escalation'] },
      schema: { tags, summary: 'Delete a custom role nobody holds', params: RoleParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await members.deleteRole(callerOf(request), request.params.roleId);
        return reply.status(204).send();
      },
    });

    app.get(`${base}/members`, {
      config: { access: 'workspace', scope: 'members:read' },
      schema: { tags, summary: 'Members of a workspace, with their roles', params: WorkspaceParams, response: { 200: z.object({ data: z.array(Member) }) } },
      handler: async (request) => ({ data: await members.list(tenantOf(request)) }),
    });

    app.patch(`${base}/members/:accountId`, {
      config: { access: 'workspace', scope: 'members:manage' },
      schema: { tags, summary: "Set a member's roles", params: MemberParams, body: UpdateMemberBody, response: { 200: Member } },
      handler: async (request) => members.setRoles(callerOf(request), request.params.accountId, request.body.roleIds),
    });

    app.delete(`${base}/members/:accountId`, {
      config: { access: 'workspace', scope: 'members:manage', errors: ['member_not_found', 'last_owner', 'scope_escalation'] },
      schema: {
        tags,
        summary: 'Remove a member: their sessions lose the workspace at once and their API keys are revoked',
        params: MemberParams,
        response: { 204: NoContent },
      },
      handler: async (request, reply) => {
        await members.remove(callerOf(request), request.params.accountId);
        return reply.status(204).send();
      },
    });

    app.delete(`${base}/membership`, {
      config: { access: 'workspace', scope: 'workspace:read', errors: ['last_owner'] },
      schema: {
        tags,
        summary: 'Leave the workspace (the owner transfers ownership first); your API keys here are revoked',
        params: WorkspaceParams,
        response: { 204: NoContent },
      },
      handler: async (request, reply) => {
        await members.leave(callerOf(request));
        return reply.status(204).send();
      },
    });

    app.post(`${base}/transfer-ownership`, {
      config: { access: 'workspace', scope: 'ownership:transfer' },
      schema: {
        tags,
        summary: 'Hand the owner role to another member (owner, signed in within 15 minutes); you become an admin',
        params: WorkspaceParams,
        body: TransferOwnershipBody,
        response: { 204: NoContent },
      },
      handler: async (request, reply) => {
        await accounts.assertRecentSignIn(requirePrincipal(request), undefined, 'Sign in again to transfer ownership.');
        await members.transferOwnership(callerOf(request), request.body.accountId);
        return reply.status(204).send();
      },
    });
  };
}

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { CreateGroupRoleMappingBody, GroupRoleMapping, GroupRoleMappingParams } from './schemas.js';
import type { DirectoryService } from './service.js';

const tags = ['directory'];

export function directoryRoutes(directory: DirectoryService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/directory/group-roles';

    app.get(base, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: { tags, summary: 'Which directory groups give which roles', params: WorkspaceParams, response: { 200: z.object({ data: z.array(GroupRoleMapping) }) } },
      handler: async (request) => ({ data: await directory.listMappings(callerOf(request)) }),
    });

    app.post(base, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: {
        tags,
        summary: "Give a role to a directory group's members (applied at once to the SCIM members of the group)",
        params: WorkspaceParams,
        body: CreateGroupRoleMappingBody,
        response: { 201: GroupRoleMapping },
      },
      handler: async (request, reply) => reply.status(201).send(await directory.createMapping(callerOf(request), request.body)),
    });

    app.delete(`${base}/:mappingId`, {
      config: { access: 'workspace', scope: 'sso:manage', errors: ['group_role_mapping_not_found'] },
      schema: { tags, summary: "Stop a directory group giving a role (taken away at once from the group's SCIM members)", params: GroupRoleMappingParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await directory.deleteMapping(callerOf(request), request.params.mappingId);
        return reply.status(204).send();
      },
    });
  };
}

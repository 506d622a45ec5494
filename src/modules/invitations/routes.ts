import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, requestMeta, requirePrincipal } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { Workspace } from '../workspaces/schemas.js';
import type { WorkspacesService } from '../workspaces/index.js';
import { CreateInvitationBody, Invitation, InvitationParams, InvitationPreview, InvitationTokenBody } from './schemas.js';
import type { InvitationsService } from './service.js';

const tags = ['invitations'];

export function invitationsRoutes(invitations: InvitationsService, workspaces: WorkspacesService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/invitations';

    app.get(base, {
      config: { access: 'workspace', scope: 'invitations:manage' },
      schema: { tags, summary: 'Pending invitations (expired ones included, marked)', params: WorkspaceParams, response: { 200: z.object({ data: z.array(Invitation) }) } },
      handler: async (request) => ({ data: await invitations.list(callerOf(request)) }),
    });

    app.post(base, {
      config: { access: 'workspace', scope: 'invitations:manage', errors: ['role_not_found', 'owner_role_reserved', 'scope_escalation', 'already_member', 'invitation_pending'] },
      schema: { tags, summary: 'Invite an email address with a role', params: WorkspaceParams, body: CreateInvitationBody, response: { 201: Invitation } },
      handler: async (request, reply) => reply.status(201).send(await invitations.create(callerOf(request), request.body)),
    });

    app.post(`${base}/:invitationId/resend`, {
      config: { access: 'workspace', scope: 'invitations:manage', errors: ['invitation_not_found'] },
      schema: { tags, summary: 'Send a new link (the old one stops working) with a new expiry', params: InvitationParams, response: { 200: Invitation } },
      handler: async (request) => invitations.resend(callerOf(request), request.params.invitationId),
    });

    app.delete(`${base}/:invitationId`, {
      config: { access: 'workspace', scope: 'invitations:manage', errors: ['invitation_not_found'] },
      schema: { tags, summary: 'Revoke a pending invitation', params: InvitationParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await invitations.revoke(callerOf(request), request.params.invitationId);
        return reply.status(204).send();
      },
    });

    app.post('/api/v1/invitations/preview', {
      config: { access: 'public', errors: ['invitation_invalid', 'rate_limited'] },
      schema: {
        tags,
        summary: 'What an invitation link offers: the workspace, the role, who invited, and the invited address (signed in or not)',
        body: InvitationTokenBody,
        response: { 200: InvitationPreview },
      },
      handler: async (request) => invitations.preview(request.body.token, requestMeta(request)),
    });

    app.post('/api/v1/invitations/accept', {
      config: { access: 'account' },
      schema: {
        tags,
        summary: 'Accept an invitation, signed in with the invited (verified) email',
        body: InvitationTokenBody,
        response: { 200: Workspace },
      },
      handler: async (request) => {
        const principal = requirePrincipal(request);
        const workspaceId = await invitations.accept(principal, request.body.token, requestMeta(request));
        return workspaces.getForAccount(workspaceId, principal.accountId);
      },
    });
  };
}

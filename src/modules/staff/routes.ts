/**
 * The staff API under /api/v1/staff (sign-in, TOTP, staff management, access requests,
 * break-glass, reads through grants, the staff audit chain) and the workspace's side of staff
 * access under /api/v1/workspaces/{id}/access-requests. Each staff route names its staff
 * permission (src/modules/staff/permissions.ts); each workspace route its scope.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, requestMeta, requireStaff } from '../../platform/http/context.js';
import { toRampartError } from '../../platform/http/errors.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { asAttachment } from '../documents/index.js';
import { EVENT_FIELDS, type StaffEvents } from '../events/index.js';
import { parseFilters } from '../records/index.js';
import type { StaffAccessService } from './access.js';
import { clearStaffCookie, issuedBody, setStaffCookie, startStaffCookie } from './http.js';
import {
  AccessRequest,
  AccessRequestBody,
  AddStaffBody,
  BreakGlassBody,
  ChangeStaffBody,
  DecisionBody,
  GrantCollectionParams,
  GrantDocumentParams,
  GrantPageQuery,
  GrantParams,
  GrantRecordParams,
  GrantRecordsQuery,
  RequestParams,
  StaffAuditQuery,
  StaffCollection,
  StaffDocumentPage,
  StaffMember,
  StaffParams,
  StaffRecord,
  StaffRecordPage,
  StaffSession,
  StaffSetupBody,
  StaffSignInBody,
  StaffToken,
  StaffTotpBody,
  StaffTotpEnrolment,
  StaffWithSetupLink,
  WorkspaceRequestParams,
  WorkspaceRequestsQuery,
} from './schemas.js';
import { staffActor, type StaffService } from './service.js';

const tags = ['staff'];
const PAGE_KEYS = new Set(['limit', 'cursor']);

const StaffAuditEvent = z
  .object({
    seq: z.number().int(),
    id: z.string(),
    time: z.string(),
    actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable().optional(), role: z.string().nullable().optional() }),
    ...EVENT_FIELDS,
    hash: z.string(),
    prevHash: z.string(),
  })
  .meta({ id: 'StaffAuditEvent' });

export function staffRoutes(staff: StaffService, access: StaffAccessService, events: StaffEvents): FastifyPluginAsyncZod {
  return async (app) => {
    // A refused staff request (403, or any other refusal but 401 and 429) is one event in the
    // staff chain, with the staff member when known; the global hook leaves staff routes to this.
    app.addHook('onError', async (request, _reply, error) => {
      if (request.routeOptions.config.access !== 'staff') return;
      const refused = toRampartError(error);
      if (refused.status < 400 || refused.status >= 500 || refused.status === 401 || refused.status === 429 || refused.recorded) return;
      try {
        await events.record(
          request.staff ? staffActor(request.staff) : null,
          {
            action: 'staff.refused',
            outcome: 'denied',
            details: {
              code: refused.code,
              status: refused.status,
              method: request.method,
              route: request.routeOptions.url ?? null,
              staffPermission: request.routeOptions.config.staffPermission ?? null,
            },
          },
          requestMeta(request),
        );
      } catch (err) {
        request.log.error({ err }, 'recording a staff refusal failed');
      }
    });

    // --- setup and sign-in (public) ----------------------------------------------------------------

    app.post('/api/v1/staff/setup', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Use a staff setup link: choose a password and sign in (the session must then enrol or prove TOTP)',
        body: StaffSetupBody,
        response: { 201: StaffSession },
      },
      handler: async (request, reply) => {
        const issued = await staff.setup(request.body.token, request.body.password, 'cookie', requestMeta(request));
        await startStaffCookie(staff, request, reply, issued);
        return reply.status(201).header('cache-control', 'no-store').send(issuedBody(staff, issued));
      },
    });

    app.post('/api/v1/staff/auth/sign-in', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Staff sign-in with email and password (staff session cookie); the session must then prove a TOTP code',
        body: StaffSignInBody,
        response: { 200: StaffSession },
      },
      handler: async (request, reply) => {
        const issued = await staff.signIn(request.body, 'cookie', requestMeta(request));
        await startStaffCookie(staff, request, reply, issued);
        return reply.header('cache-control', 'no-store').send(issuedBody(staff, issued));
      },
    });

    app.post('/api/v1/staff/auth/tokens', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Staff sign-in for API use: a staff bearer token, which must then prove a TOTP code',
        body: StaffSignInBody,
        response: { 201: StaffToken },
      },
      handler: async (request, reply) => {
        const issued = await staff.signIn(request.body, 'bearer', requestMeta(request));
        return reply
          .status(201)
          .header('cache-control', 'no-store')
          .send({ staff: issued.member, token: issued.token, tokenType: 'Bearer' as const, expiresAt: issued.expiresAt.toISOString() });
      },
    });

    // --- the session and TOTP (allowed before TOTP) --------------------------------------------------

    app.get('/api/v1/staff/session', {
      config: { access: 'staff', staffPermission: 'enrolment' },
      schema: { tags, summary: 'The staff member and session making this request', response: { 200: StaffSession } },
      handler: async (request) => staff.describe(requireStaff(request)),
    });

    app.post('/api/v1/staff/auth/sign-out', {
      config: { access: 'staff', staffPermission: 'enrolment' },
      schema: { tags, summary: 'End this staff session', response: { 204: NoContent } },
      handler: async (request, reply) => {
        await staff.signOut(requireStaff(request), requestMeta(request));
        clearStaffCookie(reply);
        return reply.status(204).send();
      },
    });

    app.post('/api/v1/staff/mfa/totp', {
      config: { access: 'staff', staffPermission: 'enrolment' },
      schema: {
        tags,
        summary: 'Start enrolling an authenticator app: a new secret to scan (409 `mfa_already_enabled` once one is on)',
        response: { 200: StaffTotpEnrolment },
      },
      handler: async (request, reply) => reply.header('cache-control', 'no-store').send(await staff.startTotp(requireStaff(request), requestMeta(request))),
    });

    app.post('/api/v1/staff/mfa/totp/verify', {
      config: { access: 'staff', staffPermission: 'enrolment' },
      schema: {
        tags,
        summary: "Prove a TOTP code for this session (the first one also turns the app on); a cookie session gets a new token",
        body: StaffTotpBody,
        response: { 200: StaffSession },
      },
      handler: async (request, reply) => {
        const principal = requireStaff(request);
        const { token, session } = await staff.verifyTotp(principal, request.body.code, requestMeta(request));
        if (token) setStaffCookie(reply, token, session.expires_at);
        const described = await staff.describe(principal);
        return { ...described, csrfToken: token ? staff.csrfToken(token) : described.csrfToken };
      },
    });

    // --- staff management (staff-admin) --------------------------------------------------------------

    app.get('/api/v1/staff/members', {
      config: { access: 'staff', staffPermission: 'staff:manage' },
      schema: { tags, summary: 'Staff members', response: { 200: z.object({ data: z.array(StaffMember) }) } },
      handler: async () => ({ data: await staff.list() }),
    });

    app.post('/api/v1/staff/members', {
      config: { access: 'staff', staffPermission: 'staff:manage' },
      schema: { tags, summary: 'Add a staff member; the response carries their one-time setup link', body: AddStaffBody, response: { 201: StaffWithSetupLink } },
      handler: async (request, reply) =>
        reply.status(201).header('cache-control', 'no-store').send(await staff.add(requireStaff(request), request.body, requestMeta(request))),
    });

    app.patch('/api/v1/staff/members/:staffId', {
      config: { access: 'staff', staffPermission: 'staff:manage' },
      schema: { tags, summary: "Change a staff member's role (not your own)", params: StaffParams, body: ChangeStaffBody, response: { 200: StaffMember } },
      handler: async (request) => staff.changeRole(requireStaff(request), request.params.staffId, request.body.role, requestMeta(request)),
    });

    app.post('/api/v1/staff/members/:staffId/disable', {
      config: { access: 'staff', staffPermission: 'staff:manage' },
      schema: { tags, summary: 'Disable a staff member (not yourself): their sessions end at once', params: StaffParams, response: { 200: StaffMember } },
      handler: async (request) => staff.disable(requireStaff(request), request.params.staffId, requestMeta(request)),
    });

    app.post('/api/v1/staff/members/:staffId/reset', {
      config: { access: 'staff', staffPermission: 'staff:manage' },
      schema: {
        tags,
        summary: "Reset a staff member's sign-in (not yours): password and authenticator app removed, sessions ended, a new setup link",
        params: StaffParams,
        response: { 200: StaffWithSetupLink },
      },
      handler: async (request, reply) => reply.header('cache-control', 'no-store').send(await staff.reset(requireStaff(request), request.params.staffId, requestMeta(request))),
    });

    // --- access requests (the staff side) ------------------------------------------------------------

    app.get('/api/v1/staff/access-requests', {
      config: { access: 'staff', staffPermission: 'access:request' },
      schema: { tags, summary: 'My access requests and grants, across workspaces, newest first', response: { 200: z.object({ data: z.array(AccessRequest) }) } },
      handler: async (request) => ({ data: await access.mine(requireStaff(request)) }),
    });

    app.post('/api/v1/staff/access-requests', {
      config: { access: 'staff', staffPermission: 'access:request' },
      schema: {
        tags,
        summary: "Ask a workspace for access to its data; those who may approve are emailed",
        description: 'At most 480 minutes (`access_duration_too_long`); a read scope staff may ask for (`unknown_scope`, `scope_not_requestable`).',
        body: AccessRequestBody,
        response: { 201: AccessRequest },
      },
      handler: async (request, reply) => reply.status(201).send(await access.request(requireStaff(request), request.body, requestMeta(request))),
    });

    app.get('/api/v1/staff/access-requests/:requestId', {
      config: { access: 'staff', staffPermission: 'access:request' },
      schema: { tags, summary: 'One of my access requests', params: RequestParams, response: { 200: AccessRequest } },
      handler: async (request) => access.mineOne(requireStaff(request), request.params.requestId),
    });

    app.post('/api/v1/staff/access-requests/:requestId/cancel', {
      config: { access: 'staff', staffPermission: 'access:request' },
      schema: { tags, summary: 'Withdraw one of my pending access requests', params: RequestParams, response: { 200: AccessRequest } },
      handler: async (request) => access.cancel(requireStaff(request), request.params.requestId, requestMeta(request)),
    });

    app.post('/api/v1/staff/break-glass', {
      config: { access: 'staff', staffPermission: 'break-glass:open' },
      schema: {
        tags,
        summary: 'Open emergency access to a workspace without approval (security staff; at most 60 minutes; owners and admins emailed at once)',
        body: BreakGlassBody,
        response: { 201: AccessRequest },
      },
      handler: async (request, reply) => reply.status(201).send(await access.breakGlass(requireStaff(request), request.body, requestMeta(request))),
    });

    // --- reads through a grant -----------------------------------------------------------------------

    const grant = '/api/v1/staff/grants/:grantId';

    app.get(`${grant}/collections`, {
      config: { access: 'staff', staffPermission: 'access:use' },
      schema: { tags, summary: 'Collections of the granted workspace (records:read grants)', params: GrantParams, response: { 200: z.object({ data: z.array(StaffCollection) }) } },
      handler: async (request) => ({ data: await access.listCollections(requireStaff(request), request.params.grantId, requestMeta(request)) }),
    });

    app.get(`${grant}/collections/:collection/records`, {
      config: { access: 'staff', staffPermission: 'access:use' },
      schema: {
        tags,
        summary: "Records of a collection of the granted workspace, oldest first; filter with filter[field]=value",
        params: GrantCollectionParams,
        querystring: GrantRecordsQuery,
        response: { 200: StaffRecordPage },
      },
      handler: async (request) => {
        const { limit, cursor } = request.query;
        const filters = parseFilters(request.query, PAGE_KEYS);
        return access.listRecords(requireStaff(request), request.params.grantId, request.params.collection, { limit, cursor, filters }, requestMeta(request));
      },
    });

    app.get(`${grant}/collections/:collection/records/:recordId`, {
      config: { access: 'staff', staffPermission: 'access:use' },
      schema: { tags, summary: 'A record of the granted workspace', params: GrantRecordParams, response: { 200: StaffRecord } },
      handler: async (request) =>
        access.getRecord(requireStaff(request), request.params.grantId, request.params.collection, request.params.recordId, requestMeta(request)),
    });

    app.get(`${grant}/documents`, {
      config: { access: 'staff', staffPermission: 'access:use' },
      schema: { tags, summary: 'Documents of the granted workspace (documents:read grants)', params: GrantParams, querystring: GrantPageQuery, response: { 200: StaffDocumentPage } },
      handler: async (request) => access.listDocuments(requireStaff(request), request.params.grantId, request.query, requestMeta(request)),
    });

    app.get(`${grant}/documents/:documentId/content`, {
      config: { access: 'staff', staffPermission: 'access:use' },
      schema: { tags, summary: "Download a document of the granted workspace (always as an attachment)", params: GrantDocumentParams },
      handler: async (request, reply) => {
        const { document, content } = await access.downloadDocument(requireStaff(request), request.params.grantId, request.params.documentId, requestMeta(request));
        return asAttachment(reply, document).send(content);
      },
    });

    // --- the staff audit chain (security) ------------------------------------------------------------

    app.get('/api/v1/staff/audit', {
      config: { access: 'staff', staffPermission: 'staff-audit:read' },
      schema: { tags, summary: 'The staff audit chain, newest first', querystring: StaffAuditQuery, response: { 200: z.object({ data: z.array(StaffAuditEvent) }) } },
      handler: async (request) => ({ data: await events.list({ limit: request.query.limit, action: request.query.action }) }),
    });

    // --- the workspace's side --------------------------------------------------------------------------

    const base = '/api/v1/workspaces/:workspaceId/access-requests';
    const wtags = ['staff access'];

    app.get(base, {
      config: { access: 'workspace', scope: 'staff-access:approve' },
      schema: {
        tags: wtags,
        summary: "Staff requests for access to this workspace's data, newest first",
        params: WorkspaceParams,
        querystring: WorkspaceRequestsQuery,
        response: { 200: z.object({ data: z.array(AccessRequest) }) },
      },
      handler: async (request) => ({ data: await access.listForWorkspace(callerOf(request), request.query) }),
    });

    app.get(`${base}/:requestId`, {
      config: { access: 'workspace', scope: 'staff-access:approve', errors: ['access_request_not_found'] },
      schema: { tags: wtags, summary: 'A staff access request', params: WorkspaceRequestParams, response: { 200: AccessRequest } },
      handler: async (request) => access.getForWorkspace(callerOf(request), request.params.requestId),
    });

    app.post(`${base}/:requestId/approve`, {
      config: { access: 'workspace', scope: 'staff-access:approve' },
      schema: {
        tags: wtags,
        summary: 'Approve a pending request: the grant runs from now for the requested time (a signed-in member only, not an API key)',
        params: WorkspaceRequestParams,
        body: DecisionBody,
        response: { 200: AccessRequest },
      },
      handler: async (request) => access.approve(callerOf(request), request.params.requestId, request.body.note ?? null),
    });

    app.post(`${base}/:requestId/deny`, {
      config: { access: 'workspace', scope: 'staff-access:approve' },
      schema: { tags: wtags, summary: 'Deny a pending request', params: WorkspaceRequestParams, body: DecisionBody, response: { 200: AccessRequest } },
      handler: async (request) => access.deny(callerOf(request), request.params.requestId, request.body.note ?? null),
    });

    app.post(`${base}/:requestId/revoke`, {
      config: { access: 'workspace', scope: 'staff-access:approve' },
      schema: { tags: wtags, summary: 'Revoke a live grant (approved or break-glass): it stops at once', params: WorkspaceRequestParams, body: DecisionBody, response: { 200: AccessRequest } },
      handler: async (request) => access.revoke(callerOf(request), request.params.requestId, request.body.note ?? null),
    });
  };
}

/**
 * Staff access to a workspace's data, only with the workspace's consent.
 *
 * - A staff session reads no workspace data by itself. Staff file a request (workspace, one
 *   requestable read scope, a justification code, free text, a ticket, at most 8 hours); the
 *   members who may approve (`staff-access:approve`: owners, admins, custom roles with it) are
 *   emailed; one of them approves or denies. Approval makes a grant that expires the requested
 *   time after approval; the workspace can revoke it at any moment.
 * - Break-glass: a `security` staff member opens a grant without approval (at most 1 hour, a
 *   mandatory reason); those who may approve are emailed at once.
 * - Every read through a grant runs in the workspace's tenant transaction with the grant's scope
 *   only: the grant is checked before the read, and checked again (locked) in the transaction
 *   that records the read in the workspace's audit chain; the data goes out only once that
 *   event has committed. An expired or revoked grant answers 403 and reads nothing.
 * - Every request, decision, revocation, break-glass opening and read is one event in the
 *   workspace's chain: the workspace's access log is built from them.
 */
import type { Readable } from 'node:stream';
import type { Database, TenantContext, Tx } from '../../platform/db/types.js';
import { tenantContext } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { RequestMeta, StaffPrincipal, WorkspaceCaller } from '../../platform/http/context.js';
import { isScope, type Scope } from '../../platform/http/scopes.js';
import { newId } from '../../platform/ids.js';
import type { Mailer, MailMessage } from '../../platform/mail/index.js';
import type { DocumentView, DocumentsService } from '../documents/index.js';
import type { WorkspaceEvent, WorkspaceEvents } from '../events/index.js';
import type { MembersService } from '../members/index.js';
import type { CollectionView, JsonValue, RecordView, RecordsService } from '../records/index.js';
import type { WorkspacesService } from '../workspaces/index.js';
import {
  MAX_BREAK_GLASS_MINUTES,
  MAX_REQUEST_MINUTES,
  PENDING_TTL_HOURS,
  STAFF_REQUESTABLE_SCOPES,
  type Justification,
} from './permissions.js';
import { staffActor } from './service.js';
import * as store from './store.js';

/** The approval scope: who sees, approves, denies and revokes staff access in a workspace. */
export const APPROVE_SCOPE: Scope = 'staff-access:approve';
/** The most requests the staff side lists at once. */
const MINE_LIMIT = 200;

export interface AccessRequestView {
  readonly id: string;
  readonly workspaceId: string;
  readonly staff: { readonly id: string; readonly name: string; readonly role: string };
  readonly scope: string;
  readonly justification: Justification;
  readonly reason: string;
  readonly ticket: string | null;
  readonly durationMinutes: number;
  readonly breakGlass: boolean;
  readonly status: store.RequestStatus;
  readonly createdAt: string;
  readonly pendingUntil: string;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  readonly decisionNote: string | null;
  readonly grant: { readonly id: string; readonly grantedAt: string; readonly expiresAt: string; readonly revokedAt: string | null; readonly revokedBy: string | null } | null;
}

export function requestView(row: store.AccessRequestRow): AccessRequestView {
  return {
    id: row.id,
    workspaceId: row.tenant_id,
    staff: { id: row.staff_id, name: row.staff_name, role: row.staff_role },
    scope: row.scope,
    justification: row.justification,
    reason: row.reason,
    ticket: row.ticket,
    durationMinutes: row.duration_minutes,
    breakGlass: row.break_glass,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    pendingUntil: row.pending_until.toISOString(),
    decidedAt: row.decided_at?.toISOString() ?? null,
    decidedBy: row.decided_by,
    decisionNote: row.decision_note,
    grant:
      row.grant_id && row.granted_at && row.expires_at
        ? {
            id: row.grant_id,
            grantedAt: row.granted_at.toISOString(),
            expiresAt: row.expires_at.toISOString(),
            revokedAt: row.revoked_at?.toISOString() ?? null,
            revokedBy: row.revoked_by,
          }
        : null,
  };
}

export interface AccessRequestInput {
  readonly workspaceId: string;
  readonly scope: string;
  readonly justification: Justification;
  readonly reason: string;
  readonly ticket: string;
  readonly durationMinutes: number;
}

export interface BreakGlassInput {
  readonly workspaceId: string;
  readonly scope: string;
  readonly reason: string;
  readonly ticket?: string | undefined;
  readonly durationMinutes?: number | undefined;
}

export interface StaffAccessDeps {
  readonly db: Database;
  readonly workspaces: WorkspacesService;
  readonly members: MembersService;
  readonly records: RecordsService;
  readonly documents: DocumentsService;
  readonly events: WorkspaceEvents;
  readonly mailer: Mailer;
  /** An absolute URL of this instance for a console path (links in email). */
  readonly link: (path: string) => string;
}

/** A member who may approve staff access, as emailed. */
interface Approver {
  readonly email: string;
  readonly name: string;
}

/** A grant found live, with what its reads record. */
interface LiveGrant {
  readonly ctx: TenantContext;
  readonly row: store.AccessRequestRow;
}

/** What a staff read touched, for its event. */
interface ReadTouch {
  readonly operation: 'list_collections' | 'list_records' | 'get_record' | 'list_documents' | 'get_document' | 'download_document';
  readonly target: { readonly type: 'collection' | 'record' | 'document'; readonly id: string };
  readonly extra?: Readonly<Record<string, string | number | boolean | null | readonly string[]>>;
}

function checkScope(scope: string): Scope {
  if (!isScope(scope)) throw new RampartError('unknown_scope', { details: { scope } });
  if (!STAFF_REQUESTABLE_SCOPES.includes(scope)) {
    throw new RampartError('scope_not_requestable', { message: `Staff may ask only for ${STAFF_REQUESTABLE_SCOPES.join(', ')}.`, details: { scope, allowed: STAFF_REQUESTABLE_SCOPES } });
  }
  return scope;
}

function checkDuration(minutes: number, max: number): void {
  if (minutes > max) {
    throw new RampartError('access_duration_too_long', { message: `Access lasts at most ${max} minutes.`, details: { maxMinutes: max, requestedMinutes: minutes } });
  }
}

/** The grant's state as a refusal, or null when it is live. */
function grantRefusal(row: store.AccessRequestRow): RampartError | null {
  if (row.stored_status === 'revoked') return new RampartError('staff_grant_revoked', { details: { grantId: row.grant_id, revokedAt: row.revoked_at?.toISOString() ?? null } });
  if (row.status === 'expired') return new RampartError('staff_grant_expired', { details: { grantId: row.grant_id, expiredAt: row.expires_at?.toISOString() ?? null } });
  if (row.status !== 'approved') return new RampartError('staff_grant_not_found');
  return null;
}

export class StaffAccessService {
  constructor(private readonly deps: StaffAccessDeps) {}

  private get db(): Database {
    return this.deps.db;
  }

  // --- the staff side ------------------------------------------------------------------------------

  /** The members who may approve (hold `staff-access:approve`), with their email addresses. */
  private async approvers(ctx: TenantContext): Promise<Approver[]> {
    const [members, roles] = await Promise.all([this.deps.members.list(ctx), this.deps.members.listRoles(ctx)]);
    const approving = new Set(roles.filter((r) => r.scopes.includes(APPROVE_SCOPE)).map((r) => r.id));
    return members.filter((m) => m.roles.some((r) => approving.has(r.id))).map((m) => ({ email: m.email, name: m.name }));
  }

  private staffLabel(staff: StaffPrincipal): string {
    return `${staff.name} (${staff.role})`;
  }

  private consoleLink(workspaceId: string): string {
    return this.deps.link(`/w/${workspaceId}/access-requests`);
  }

  /**
   * Files a new request (`insert`: pending, or break-glass and live) in its workspace: indexed
   * for the staff side, one email (`mail`) to each member who may approve, one event (`action`)
   * in the workspace's chain.
   */
  private async file(
    staff: StaffPrincipal,
    workspaceId: string,
    action: string,
    meta: RequestMeta,
    insert: (tx: Tx) => Promise<store.AccessRequestRow>,
    mail: (to: Approver, workspace: string, created: store.AccessRequestRow) => MailMessage,
  ): Promise<AccessRequestView> {
    const ctx = tenantContext(workspaceId, null);
    const workspace = await this.deps.workspaces.get(ctx);
    const approvers = await this.approvers(ctx);
    const row = await this.db.withTenant(ctx, async (tx) => {
      const created = await insert(tx);
      await store.indexRequest(tx, { requestId: created.id, workspaceId: ctx.tenantId, staffId: staff.staffId, grantId: created.grant_id });
      for (const a of approvers) await this.deps.mailer.enqueue(tx, mail(a, workspace.name, created));
      await this.deps.events.recordIn(tx, staffActor(staff), this.requestEvent(action, created, { notified: approvers.length }), meta);
      return created;
    });
    return requestView(row);
  }

  /** Files a request: one event in the workspace's chain; those who may approve are emailed. */
  async request(staff: StaffPrincipal, input: AccessRequestInput, meta: RequestMeta): Promise<AccessRequestView> {
    const scope = checkScope(input.scope);
    checkDuration(input.durationMinutes, MAX_REQUEST_MINUTES);
    return this.file(
      staff,
      input.workspaceId,
      'staff.access.requested',
      meta,
      (tx) =>
        store.insertRequest(tx, {
          id: newId(),
          staffId: staff.staffId,
          staffName: staff.name,
          staffRole: staff.role,
          scope,
          justification: input.justification,
          reason: input.reason,
          ticket: input.ticket,
          durationMinutes: input.durationMinutes,
          pendingHours: PENDING_TTL_HOURS,
        }),
      (a, workspace) => ({
        template: 'staff_access_requested',
        to: a.email,
        data: {
          name: a.name,
          staff: this.staffLabel(staff),
          workspace,
          scope,
          justification: input.justification,
          reason: input.reason,
          ticket: input.ticket,
          durationMinutes: input.durationMinutes,
          link: this.consoleLink(input.workspaceId),
        },
      }),
    );
  }

  /** Opens break-glass access: a live grant at once, marked, at most an hour; approvers emailed now. */
  async breakGlass(staff: StaffPrincipal, input: BreakGlassInput, meta: RequestMeta): Promise<AccessRequestView> {
    const scope = checkScope(input.scope);
    const minutes = input.durationMinutes ?? MAX_BREAK_GLASS_MINUTES;
    checkDuration(minutes, MAX_BREAK_GLASS_MINUTES);
    return this.file(
      staff,
      input.workspaceId,
      'staff.break_glass.opened',
      meta,
      (tx) =>
        store.insertBreakGlass(tx, {
          id: newId(),
          grantId: newId(),
          staffId: staff.staffId,
          staffName: staff.name,
          staffRole: staff.role,
          scope,
          justification: 'incident-response',
          reason: input.reason,
          ticket: input.ticket ?? null,
          durationMinutes: minutes,
        }),
      (a, workspace, created) => ({
        template: 'staff_break_glass',
        to: a.email,
        data: {
          name: a.name,
          staff: this.staffLabel(staff),
          workspace,
          scope,
          reason: input.reason,
          ticket: input.ticket ?? null,
          expiresAt: (created.expires_at as Date).toISOString(),
          link: this.consoleLink(input.workspaceId),
        },
      }),
    );
  }

  /** The caller's own requests across workspaces, newest first. */
  async mine(staff: StaffPrincipal): Promise<AccessRequestView[]> {
    const index = await this.db.withAccount(staff.staffId, (tx) => store.indexOfStaff(tx, staff.staffId, MINE_LIMIT), { readOnly: true });
    const byWorkspace = new Map<string, string[]>();
    for (const e of index) byWorkspace.set(e.workspace_id, [...(byWorkspace.get(e.workspace_id) ?? []), e.request_id]);
    const rows: store.AccessRequestRow[] = [];
    for (const [workspaceId, ids] of byWorkspace) {
      rows.push(...(await this.db.withTenant(tenantContext(workspaceId, null), (tx) => store.requestsOfStaff(tx, staff.staffId, ids), { readOnly: true })));
    }
    rows.sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : -1));
    return rows.map(requestView);
  }

  /** One of the caller's own requests. */
  async mineOne(staff: StaffPrincipal, requestId: string): Promise<AccessRequestView> {
    const entry = await this.db.withAccount(staff.staffId, (tx) => store.indexEntry(tx, requestId, staff.staffId), { readOnly: true });
    if (!entry) throw new RampartError('access_request_not_found');
    const [row] = await this.db.withTenant(tenantContext(entry.workspace_id, null), (tx) => store.requestsOfStaff(tx, staff.staffId, [requestId]), { readOnly: true });
    if (!row) throw new RampartError('access_request_not_found');
    return requestView(row);
  }

  /** Withdraws one of the caller's own pending requests. */
  async cancel(staff: StaffPrincipal, requestId: string, meta: RequestMeta): Promise<AccessRequestView> {
    const entry = await this.db.withAccount(staff.staffId, (tx) => store.indexEntry(tx, requestId, staff.staffId), { readOnly: true });
    if (!entry) throw new RampartError('access_request_not_found');
    const row = await this.db.withTenant(tenantContext(entry.workspace_id, null), async (tx) => {
      const cancelled = await store.cancel(tx, requestId, staff.staffId);
      if (!cancelled) {
        if (!(await store.requestById(tx, requestId))) throw new RampartError('access_request_not_found');
        throw new RampartError('access_request_not_pending');
      }
      await this.deps.events.recordIn(tx, staffActor(staff), this.requestEvent('staff.access.cancelled', cancelled), meta);
      return cancelled;
    });
    return requestView(row);
  }

  private requestEvent(action: string, row: store.AccessRequestRow, extra: Record<string, string | number | boolean | null> = {}): WorkspaceEvent {
    return {
      action,
      outcome: 'success',
      target: { type: 'access_request', id: row.id },
      details: {
        accessRequestId: row.id,
        grantId: row.grant_id,
        staffId: row.staff_id,
        staffName: row.staff_name,
        staffRole: row.staff_role,
        scope: row.scope,
        justification: row.justification,
        reason: row.reason,
        ticket: row.ticket,
        durationMinutes: row.duration_minutes,
        breakGlass: row.break_glass,
        expiresAt: row.expires_at?.toISOString() ?? null,
        ...extra,
      },
    };
  }

  // --- the workspace side --------------------------------------------------------------------------

  listForWorkspace(caller: WorkspaceCaller, options: { limit: number; status?: store.RequestStatus | undefined }): Promise<AccessRequestView[]> {
    return this.db.withTenant(caller.tenant, async (tx) => (await store.requests(tx, options)).map(requestView), { readOnly: true });
  }

  /** How many staff requests wait for the transaction's workspace to decide, and since when. */
  pendingIn(tx: Tx): Promise<{ pending: number; oldest: Date | null }> {
    return store.pendingCount(tx);
  }

  async getForWorkspace(caller: WorkspaceCaller, requestId: string): Promise<AccessRequestView> {
    const row = await this.db.withTenant(caller.tenant, (tx) => store.requestById(tx, requestId), { readOnly: true });
    if (!row) throw new RampartError('access_request_not_found');
    return requestView(row);
  }

  /** Explains why a decision matched nothing: no such request, or it is past deciding. */
  private async missed(tx: Tx, requestId: string, code: 'access_request_not_pending' | 'staff_grant_not_active'): Promise<never> {
    if (!(await store.requestById(tx, requestId))) throw new RampartError('access_request_not_found');
    throw new RampartError(code);
  }

  /**
   * Approves a pending request: the grant runs from now for the requested time. Consent is a
   * person's: an API key may deny and revoke, never approve.
   */
  async approve(caller: WorkspaceCaller, requestId: string, note: string | null): Promise<AccessRequestView> {
    if (caller.actor.type !== 'account') {
      // Recorded here, with what was asked: the workspace sees that a key tried to consent.
      const asked = await this.db.withTenant(caller.tenant, (tx) => store.requestById(tx, requestId), { readOnly: true });
      if (!asked) throw new RampartError('access_request_not_found');
      await this.deps.events.record(caller.tenant, caller.actor, { ...this.requestEvent('staff.access.approved', asked, { code: 'approval_requires_session' }), outcome: 'denied' }, caller.meta);
      throw new RampartError('approval_requires_session', { recorded: true });
    }
    const accountId = caller.actor.id;
    return this.decide(caller, requestId, 'staff.access.approved', note, 'access_request_not_pending', async (tx) => {
      const approved = await store.approve(tx, requestId, accountId, note, newId());
      if (approved) await store.indexGrant(tx, approved.id, approved.grant_id as string);
      return approved;
    });
  }

  deny(caller: WorkspaceCaller, requestId: string, note: string | null): Promise<AccessRequestView> {
    return this.decide(caller, requestId, 'staff.access.denied', note, 'access_request_not_pending', (tx, by) => store.deny(tx, requestId, by, note));
  }

  /** Revokes a live grant: the next read through it is refused (`staff_grant_revoked`). */
  revoke(caller: WorkspaceCaller, requestId: string, note: string | null): Promise<AccessRequestView> {
    return this.decide(caller, requestId, 'staff.access.revoked', note, 'staff_grant_not_active', (tx, by) => store.revoke(tx, requestId, by, note));
  }

  /**
   * Makes a decision on a request (`change`, by the caller's account or its API key's creator):
   * null from it is explained (`missed`), otherwise one event (`action`, with the note) records it.
   */
  private async decide(
    caller: WorkspaceCaller,
    requestId: string,
    action: string,
    note: string | null,
    missedCode: 'access_request_not_pending' | 'staff_grant_not_active',
    change: (tx: Tx, by: string) => Promise<store.AccessRequestRow | null>,
  ): Promise<AccessRequestView> {
    const by = caller.actor.type === 'account' ? caller.actor.id : caller.actor.createdBy;
    const row = await this.db.withTenant(caller.tenant, async (tx) => {
      const decided = (await change(tx, by)) ?? (await this.missed(tx, requestId, missedCode));
      await this.deps.events.recordIn(tx, caller.actor, this.requestEvent(action, decided, { note }), caller.meta);
      return decided;
    });
    return requestView(row);
  }

  /** A deleted workspace's entries leave the staff index. */
  async workspaceDeleted(workspaceId: string): Promise<void> {
    await this.db.withTenant(tenantContext(workspaceId, null), (tx) => store.dropWorkspaceIndex(tx, workspaceId));
  }

  // --- reads through a grant -----------------------------------------------------------------------

  /** The caller's grant, live and of `scope`; otherwise the refusal (404, 403 expired/revoked/scope). */
  private async liveGrant(staff: StaffPrincipal, grantId: string, scope: Scope): Promise<LiveGrant> {
    const entry = await this.db.withAccount(staff.staffId, (tx) => store.indexOfGrant(tx, grantId, staff.staffId), { readOnly: true });
    if (!entry) throw new RampartError('staff_grant_not_found');
    const ctx = tenantContext(entry.workspace_id, null);
    const row = await this.db.withTenant(ctx, (tx) => store.requestByGrant(tx, grantId, false), { readOnly: true });
    if (!row || row.staff_id !== staff.staffId) throw new RampartError('staff_grant_not_found');
    const refusal = grantRefusal(row);
    if (refusal) throw refusal;
    if (row.scope !== scope) {
      throw new RampartError('forbidden', { message: `This grant is for ${row.scope}, not ${scope}.`, details: { scope, granted: row.scope } });
    }
    return { ctx, row };
  }

  /**
   * Runs a read through a live grant, then records it in the workspace's chain in a transaction
   * that checks the grant again (locked against a concurrent revocation). The result goes out
   * only once that event committed; a read that failed (nothing found) is recorded as a failure.
   */
  private async read<T>(
    staff: StaffPrincipal,
    grantId: string,
    scope: Scope,
    meta: RequestMeta,
    run: (ctx: TenantContext) => Promise<T>,
    touched: (result: T | null) => ReadTouch,
    /** Releases a result that will not be sent (an open stream). */
    discard: (result: T) => void = () => undefined,
  ): Promise<T> {
    const grant = await this.liveGrant(staff, grantId, scope);
    let result: T | null = null;
    let failure: RampartError | null = null;
    try {
      result = await run(grant.ctx);
    } catch (err) {
      if (!(err instanceof RampartError) || err.status !== 404) throw err;
      failure = err;
    }
    const touch = touched(result);
    const recording = this.db.withTenant(grant.ctx, async (tx) => {
      const now = await store.requestByGrant(tx, grantId, true);
      const refusal = now ? grantRefusal(now) : new RampartError('staff_grant_not_found');
      if (refusal) throw refusal;
      const row = now as store.AccessRequestRow;
      await this.deps.events.recordIn(
        tx,
        staffActor(staff),
        {
          action: scope === 'documents:read' ? 'staff.documents.read' : 'staff.records.read',
          outcome: failure ? 'failure' : 'success',
          target: touch.target,
          details: {
            grantId,
            accessRequestId: row.id,
            justification: row.justification,
            ticket: row.ticket,
            scope: row.scope,
            breakGlass: row.break_glass,
            operation: touch.operation,
            ...(failure ? { code: failure.code } : {}),
            ...touch.extra,
          },
        },
        meta,
      );
    });
    try {
      await recording;
    } catch (err) {
      if (result !== null) discard(result);
      throw err;
    }
    if (failure) throw failure;
    return result as T;
  }

  listCollections(staff: StaffPrincipal, grantId: string, meta: RequestMeta): Promise<CollectionView[]> {
    return this.read(
      staff,
      grantId,
      'records:read',
      meta,
      (ctx) => this.deps.records.listCollections(ctx),
      (r) => ({ operation: 'list_collections', target: { type: 'collection', id: '*' }, extra: { count: r?.length ?? 0 } }),
    );
  }

  listRecords(
    staff: StaffPrincipal,
    grantId: string,
    collection: string,
    options: { limit: number; cursor?: string | undefined; filters?: ReadonlyArray<readonly [string, JsonValue]> },
    meta: RequestMeta,
  ): Promise<{ data: RecordView[]; nextCursor: string | null }> {
    return this.read(
      staff,
      grantId,
      'records:read',
      meta,
      (ctx) => this.deps.records.list(ctx, collection, options),
      (r) => ({
        operation: 'list_records',
        target: { type: 'collection', id: collection },
        extra: { collection, count: r?.data.length ?? 0, recordIds: r?.data.map((d) => d.id) ?? [], filtered: (options.filters?.length ?? 0) > 0 },
      }),
    );
  }

  getRecord(staff: StaffPrincipal, grantId: string, collection: string, recordId: string, meta: RequestMeta): Promise<RecordView> {
    return this.read(
      staff,
      grantId,
      'records:read',
      meta,
      (ctx) => this.deps.records.get(ctx, collection, recordId),
      () => ({ operation: 'get_record', target: { type: 'record', id: recordId }, extra: { collection } }),
    );
  }

  listDocuments(staff: StaffPrincipal, grantId: string, options: { limit: number; cursor?: string | undefined }, meta: RequestMeta): Promise<{ data: DocumentView[]; nextCursor: string | null }> {
    return this.read(
      staff,
      grantId,
      'documents:read',
      meta,
      (ctx) => this.deps.documents.list(ctx, options),
      (r) => ({ operation: 'list_documents', target: { type: 'document', id: '*' }, extra: { count: r?.data.length ?? 0, documentIds: r?.data.map((d) => d.id) ?? [] } }),
    );
  }

  /** A document's content; the stream is opened before the read is recorded, and sent after. */
  downloadDocument(staff: StaffPrincipal, grantId: string, documentId: string, meta: RequestMeta): Promise<{ document: DocumentView; content: Readable }> {
    return this.read(
      staff,
      grantId,
      'documents:read',
      meta,
      (ctx) => this.deps.documents.download(ctx, documentId),
      () => ({ operation: 'download_document', target: { type: 'document', id: documentId } }),
      (r) => r.content.destroy(),
    );
  }
}

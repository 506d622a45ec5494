/**
 * Setup links: a workspace admin hands the customer's IT admin a time-limited link (at most a
 * week) where they configure SAML and create a SCIM token without a Rampart account. Revoking
 * SCIM tokens, the default role and enforcement stay with the workspace's admins. The token is
 * 256 random bits behind the workspace id, shown once, stored as SHA-256, and travels in the URL
 * fragment and then in request bodies, never in a query string. What is done through it is
 * recorded with the link's id.
 */
import { tenantContext, type Database, type TenantContext } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import { accountableAccount, type RequestMeta, type WorkspaceCaller } from '../../platform/http/context.js';
import { newId, sha256, tenantBoundToken, tenantOfToken } from '../../platform/ids.js';
import type { DomainsService } from '../domains/index.js';
import { scimBaseUrl, type ScimService, type ScimTokenView } from '../scim/index.js';
import type { WorkspaceEvents } from '../events/index.js';
import type { WorkspacesService } from '../workspaces/index.js';
import { instructionsFor } from './instructions.js';
import type { ConnectionBodyInput, ConnectionView, SetupPageView } from './schemas.js';
import type { SsoService } from './service.js';
import * as store from './store.js';

const TOKEN_PREFIX = 'rsso';

export interface SetupLinkView {
  readonly id: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

function view(row: store.SetupLinkRow): SetupLinkView {
  return { id: row.id, createdAt: row.created_at.toISOString(), expiresAt: row.expires_at.toISOString() };
}

export class SetupLinks {
  constructor(
    private readonly deps: {
      readonly db: Database;
      readonly sso: SsoService;
      readonly domains: DomainsService;
      readonly workspaces: WorkspacesService;
      readonly events: WorkspaceEvents;
      readonly scim: Pick<ScimService, 'createToken' | 'listTokens'>;
      /** The server's public base URL. */
      readonly baseUrl: () => string;
      /** An absolute console URL for a path and fragment. */
      readonly link: (pathAndFragment: string) => string;
    },
  ) {}

  async create(caller: WorkspaceCaller, hours: number): Promise<SetupLinkView & { url: string }> {
    const token = tenantBoundToken(TOKEN_PREFIX, caller.tenant.tenantId);
    const row = await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const created = await store.insertSetupLink(tx, { id: newId(), tokenHash: sha256(token), createdBy: accountableAccount(caller.actor), hours });
      await this.deps.events.recordIn(tx, caller.actor, { action: 'sso.setup_link.created', outcome: 'success', target: { type: 'sso_setup_link', id: created.id }, details: { expiresInHours: hours } }, caller.meta);
      return created;
    });
    return { ...view(row), url: this.deps.link(`/sso-setup#token=${token}`) };
  }

  list(caller: WorkspaceCaller): Promise<SetupLinkView[]> {
    return this.deps.db.withTenant(caller.tenant, async (tx) => (await store.liveSetupLinks(tx)).map(view), { readOnly: true });
  }

  async revoke(caller: WorkspaceCaller, id: string): Promise<void> {
    await this.deps.db.withTenant(caller.tenant, async (tx) => {
      if (!(await store.revokeSetupLink(tx, id))) throw new RampartError('not_found');
      await this.deps.events.recordIn(tx, caller.actor, { action: 'sso.setup_link.revoked', outcome: 'success', target: { type: 'sso_setup_link', id } }, caller.meta);
    });
  }

  /** The workspace and live link a token opens, or `invalid_link` (the same for every failure). */
  async resolve(token: string): Promise<{ ctx: TenantContext; linkId: string; expiresAt: Date }> {
    const tenantId = tenantOfToken(TOKEN_PREFIX, token);
    if (!tenantId) throw new RampartError('invalid_link');
    const ctx = tenantContext(tenantId, null);
    const row = await this.deps.db.withTenant(ctx, (tx) => store.setupLinkByHash(tx, sha256(token)), { readOnly: true });
    if (!row) throw new RampartError('invalid_link');
    return { ctx, linkId: row.id, expiresAt: row.expires_at };
  }

  async page(token: string): Promise<SetupPageView> {
    const { ctx, expiresAt } = await this.resolve(token);
    const workspace = await this.deps.workspaces.get(ctx);
    const { sp, connection } = await this.deps.sso.get(ctx);
    const scim = scimBaseUrl(this.deps.baseUrl(), ctx.tenantId);
    return {
      workspace: { id: workspace.id, name: workspace.name },
      expiresAt: expiresAt.toISOString(),
      sp,
      connection,
      domains: await this.deps.domains.listFor(ctx.tenantId),
      scim: { baseUrl: scim, tokens: await this.deps.scim.listTokens({ tenant: ctx }) },
      instructions: instructionsFor(sp, scim),
    };
  }

  async putSaml(token: string, input: ConnectionBodyInput, meta: RequestMeta): Promise<ConnectionView> {
    const { ctx, linkId } = await this.resolve(token);
    return this.deps.sso.put({ tenant: ctx, actor: null, meta, setupLinkId: linkId }, input);
  }

  async createScimToken(token: string, name: string, meta: RequestMeta): Promise<ScimTokenView & { token: string; baseUrl: string }> {
    const { ctx, linkId } = await this.resolve(token);
    const created = await this.deps.scim.createToken({ tenant: ctx, actor: null, meta, setupLinkId: linkId }, { name });
    return { ...created, baseUrl: scimBaseUrl(this.deps.baseUrl(), ctx.tenantId) };
  }
}

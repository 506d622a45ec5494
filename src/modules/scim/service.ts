/**
 * The SCIM 2.0 server's work (RFC 7643/7644): tokens, Users, Groups, and what they mean for the
 * workspace — through the directory module, a SCIM user is a Rampart account with a membership,
 * and a group's members hold the roles mapped to it (docs/scim.md).
 *
 * Every write is one tenant transaction that ends with exactly one workspace event, with the
 * SCIM token as its actor; any error rolls the whole of it back. Every failed authentication is
 * an event too (in the addressed workspace when it exists, else in the accounts chain).
 */
import type { Database, TenantContext, Tx } from '../../platform/db/types.js';
import { tenantContext } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import { configAttribution, type ConfigCaller, type RequestMeta, type WorkspaceCaller } from '../../platform/http/context.js';
import type { Throttle } from '../../platform/http/throttle.js';
import { isUuid, newId, sha256, tenantBoundToken, tenantOfToken } from '../../platform/ids.js';
import { isProvisionableEmail, type DirectoryService } from '../directory/index.js';
import type { AuthEvents, ScimTokenActor, WorkspaceEvent, WorkspaceEvents } from '../events/index.js';
import { invalidValue, mutability, notFound, ScimError, unauthorized, uniqueness } from './errors.js';
import { compileFilter, GROUP_FILTER, parseFilter, USER_FILTER, type FilterTarget } from './filter.js';
import { applyPatch, GROUP_SPEC, normalizeDoc, USER_SPEC, type Doc } from './patch.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, MAX_COUNT, USER_SCHEMA } from './resources.js';
import { GroupDoc, PatchBody, resourceBody, UserDoc, validate, type GroupDocValue, type ScimTokenView, type UserDocValue } from './schemas.js';
import * as store from './store.js';

export const TOKEN_PREFIX = 'rscim';
/** Live tokens a workspace may have at once: enough to rotate (create the new, then revoke the old). */
export const MAX_LIVE_TOKENS = 3;
/** Page size when `count` is not given. */
export const DEFAULT_COUNT = 100;

/** Who acts on a SCIM request: the workspace (tenant), through one of its SCIM tokens. */
export interface ScimCaller {
  readonly tenant: TenantContext;
  readonly actor: ScimTokenActor;
  readonly meta: RequestMeta;
  /** This workspace's SCIM base URL (absolute), for `meta.location` and `Location`. */
  readonly base: string;
}

export interface Projection {
  readonly attributes?: string | undefined;
  readonly excludedAttributes?: string | undefined;
}

export interface ResourceResult {
  readonly resource: Doc;
  readonly etag: string;
  readonly location: string;
}

export interface ListParams extends Projection {
  readonly filter?: string | undefined;
  readonly startIndex?: number | undefined;
  readonly count?: number | undefined;
}

const etagOf = (version: number) => `W/"${version}"`;

/** Whether an If-Match / If-None-Match header names this version (`*` names any). */
export function etagMatches(header: string, version: number): boolean {
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return tag === '*' || tag.replace(/^W\//, '') === `"${version}"`;
  });
}

function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (ifMatch !== undefined && !etagMatches(ifMatch, version)) {
    throw new ScimError(412, null, 'The resource has changed: If-Match names another version.');
  }
}

/** A body's id, if it names one, must be the resource's (ids are assigned by the server). */
function checkBodyId(body: Record<string, unknown>, id: string): void {
  const given = Object.entries(body).find(([k]) => k.toLowerCase() === 'id')?.[1];
  if (given !== undefined && given !== id) throw mutability('"id" is assigned by the server and cannot change.');
}

// --- documents ---------------------------------------------------------------------------------

function userFields(doc: UserDocValue): store.UserFields {
  const emails = (doc.emails ?? []).map((e) => ({
    value: e.value,
    ...(e.type ? { type: e.type } : {}),
    ...(e.primary !== undefined && e.primary !== null ? { primary: e.primary } : {}),
    ...(e.display ? { display: e.display } : {}),
  }));
  const enterprise = doc[ENTERPRISE_SCHEMA];
  const kept = enterprise ? Object.fromEntries(Object.entries(enterprise).filter(([, v]) => v !== null && v !== undefined)) : null;
  return {
    externalId: doc.externalId ?? null,
    userName: doc.userName,
    active: doc.active ?? true,
    displayName: doc.displayName ?? null,
    givenName: doc.name?.givenName ?? null,
    familyName: doc.name?.familyName ?? null,
    formattedName: doc.name?.formatted ?? null,
    emails,
    enterprise: kept && Object.keys(kept).length > 0 ? kept : null,
  };
}

/**
 * The address of the account a user stands for: the primary email, else the first, else the
 * userName; lower-cased, or null when it is not an address the directory can provision.
 */
function addressOf(emails: readonly store.EmailValue[], userName: string): string | null {
  const email = ((emails.find((e) => e.primary === true) ?? emails[0])?.value ?? userName).trim().toLowerCase();
  return isProvisionableEmail(email) ? email : null;
}

function personName(f: store.UserFields): string {
  return (f.displayName ?? f.formattedName ?? [f.givenName, f.familyName].filter(Boolean).join(' ')) || '';
}

/** The stored user's attributes as a document of patch.ts (the resource, without id, meta, groups). */
function userDoc(row: store.UserRow): Doc {
  const doc: Doc = { userName: row.user_name, active: row.active, emails: row.emails };
  if (row.external_id !== null) doc['externalId'] = row.external_id;
  if (row.display_name !== null) doc['displayName'] = row.display_name;
  const name: Doc = {};
  if (row.given_name !== null) name['givenName'] = row.given_name;
  if (row.family_name !== null) name['familyName'] = row.family_name;
  if (row.formatted_name !== null) name['formatted'] = row.formatted_name;
  if (Object.keys(name).length > 0) doc['name'] = name;
  if (row.enterprise) doc[ENTERPRISE_SCHEMA] = row.enterprise;
  return doc;
}

function userResource(row: store.UserRow, base: string): Doc {
  const location = `${base}/Users/${row.id}`;
  const doc = userDoc(row);
  return {
    schemas: row.enterprise ? [USER_SCHEMA, ENTERPRISE_SCHEMA] : [USER_SCHEMA],
    id: row.id,
    ...doc,
    ...(row.groups ? { groups: row.groups.map((g) => ({ ...g, $ref: `${base}/Groups/${g.value}` })) } : {}),
    meta: { resourceType: 'User', created: row.created_at.toISOString(), lastModified: row.updated_at.toISOString(), location, version: etagOf(row.version) },
  };
}

function groupResource(row: store.GroupRow, base: string): Doc {
  return {
    schemas: [GROUP_SCHEMA],
    id: row.id,
    displayName: row.display_name,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    ...(row.members ? { members: row.members.map((m) => ({ ...m, type: 'User', $ref: `${base}/Users/${m.value}` })) } : {}),
    meta: {
      resourceType: 'Group',
      created: row.created_at.toISOString(),
      lastModified: row.updated_at.toISOString(),
      location: `${base}/Groups/${row.id}`,
      version: etagOf(row.version),
    },
  };
}

// --- attributes / excludedAttributes -------------------------------------------------------------

function attributeList(list: string | undefined, schema: string): Array<[string, string | null]> {
  if (list === undefined || list.trim() === '') return [];
  return list.split(',').map((raw) => {
    let path = raw.trim().toLowerCase();
    if (path.startsWith(`${schema.toLowerCase()}:`)) path = path.slice(schema.length + 1);
    const ext = ENTERPRISE_SCHEMA.toLowerCase();
    if (path === ext) return [ext, null];
    if (path.startsWith(`${ext}:`)) return [ext, path.slice(ext.length + 1)];
    const [top, sub] = path.split('.', 2);
    return [top ?? '', sub ?? null];
  });
}

const findKey = (o: Doc, lower: string) => Object.keys(o).find((k) => k.toLowerCase() === lower);

/** RFC 7644 §3.9: only the attributes asked for (id and schemas always), or all but the excluded. */
export function project(doc: Doc, schema: string, p: Projection): Doc {
  const wanted = attributeList(p.attributes, schema);
  if (wanted.length > 0) {
    const out: Doc = { schemas: doc['schemas'], id: doc['id'] };
    for (const [top, sub] of wanted) {
      const key = findKey(doc, top);
      if (key === undefined) continue;
      const value = doc[key];
      if (sub === null) {
        out[key] = value;
      } else if (Array.isArray(value)) {
        const previous = Array.isArray(out[key]) ? (out[key] as Doc[]) : [];
        out[key] = value.map((e: Doc, i) => {
          const k = findKey(e, sub);
          return { ...previous[i], ...(k === undefined ? {} : { [k]: e[k] }) };
        });
      } else if (typeof value === 'object' && value !== null) {
        const complex = value as Doc;
        const k = findKey(complex, sub);
        const previous: Doc = typeof out[key] === 'object' && out[key] !== null ? (out[key] as Doc) : {};
        if (k !== undefined) out[key] = { ...previous, [k]: complex[k] };
      }
    }
    return out;
  }
  const excluded = attributeList(p.excludedAttributes, schema);
  if (excluded.length === 0) return doc;
  const out: Doc = structuredClone(doc);
  for (const [top, sub] of excluded) {
    const key = findKey(out, top);
    if (key === undefined || key === 'id' || key === 'schemas') continue;
    if (sub === null) {
      delete out[key];
      continue;
    }
    const value = out[key];
    for (const o of Array.isArray(value) ? (value as Doc[]) : typeof value === 'object' && value !== null ? [value as Doc] : []) {
      const k = findKey(o, sub);
      if (k !== undefined) delete o[k];
    }
  }
  return out;
}

/** Whether a group's members are part of the answer (they are its costly part). */
function wantsMembers(p: Projection): boolean {
  const wanted = attributeList(p.attributes, GROUP_SCHEMA);
  if (wanted.length > 0) return wanted.some(([top]) => top === 'members');
  return !attributeList(p.excludedAttributes, GROUP_SCHEMA).some(([top, sub]) => top === 'members' && sub === null);
}

function page(params: ListParams): { limit: number; offset: number; startIndex: number } {
  const startIndex = Math.max(1, params.startIndex ?? 1);
  const limit = Math.min(MAX_COUNT, Math.max(0, params.count ?? DEFAULT_COUNT));
  return { limit, offset: startIndex - 1, startIndex };
}

function compiled(filter: string | undefined, target: FilterTarget) {
  return filter === undefined || filter.trim() === '' ? null : compileFilter(parseFilter(filter), target, 1);
}

function memberIdsOf(doc: GroupDocValue): string[] {
  const ids = (doc.members ?? []).map((m) => m.value.toLowerCase());
  for (const id of ids) if (!isUuid(id)) throw invalidValue(`Group member "${id.slice(0, 64)}" is not a user of this workspace.`);
  return [...new Set(ids)];
}

type Details = NonNullable<WorkspaceEvent['details']>;

export class ScimService {
  constructor(
    private readonly deps: {
      db: Database;
      directory: DirectoryService;
      events: WorkspaceEvents;
      authEvents: AuthEvents;
      throttle: Throttle;
    },
  ) {
    // A mapping of groups to roles changed: the SCIM members of those groups get it at once.
    deps.directory.onMappingChanged(async (tx, key) => ({ membersUpdated: await this.syncUsersIn(tx, await store.usersInGroupsWithKey(tx, key)) }));
  }

  private record(tx: Tx, caller: ScimCaller, event: WorkspaceEvent): Promise<void> {
    return this.deps.events.recordIn(tx, caller.actor, event, caller.meta);
  }

  // --- authentication ----------------------------------------------------------------------------

  /**
   * The SCIM token behind `Authorization: Bearer …` on `/scim/v2/{workspaceId}/…`. Missing,
   * empty, malformed, unknown or revoked: 401. A well-formed token of another workspace: 404 —
   * the request is refused without a lookup in that workspace (the token names its tenant), as
   * if this workspace had no SCIM server. A workspace id that is not a UUID: 404.
   */
  async authenticate(workspaceId: string, authorization: string | undefined, meta: RequestMeta): Promise<{ tenant: TenantContext; actor: ScimTokenActor }> {
    if (!isUuid(workspaceId)) return this.refuse(null, 404, 'invalid_workspace', meta);
    if (authorization === undefined) return this.refuse(workspaceId, 401, 'missing', meta);
    const match = /^Bearer +(\S*) *$/i.exec(authorization);
    if (!match) return this.refuse(workspaceId, 401, 'malformed', meta);
    const token = match[1] as string;
    if (token === '') return this.refuse(workspaceId, 401, 'empty', meta);
    const tenantOfTheToken = tenantOfToken(TOKEN_PREFIX, token);
    if (tenantOfTheToken === null) return this.refuse(workspaceId, 401, 'malformed', meta);
    if (tenantOfTheToken !== workspaceId) return this.refuse(workspaceId, 404, 'other_workspace', meta);
    const tenant = tenantContext(workspaceId, null);
    const row = await this.deps.db.withTenant(tenant, (tx) => store.authenticate(tx, sha256(token)), { autocommit: true });
    if (!row) return this.refuse(workspaceId, 401, 'unknown_token', meta);
    return { tenant, actor: { type: 'scim_token', id: row.id } };
  }

  /** Records the failed attempt, counts it against the client's address, and refuses. */
  private async refuse(workspaceId: string | null, status: 401 | 404, reason: string, meta: RequestMeta): Promise<never> {
    const event = { action: 'scim.auth_failed', outcome: 'denied' as const, details: { reason } };
    const recorded =
      workspaceId !== null &&
      (await this.deps.db.withTenant(tenantContext(workspaceId, null), async (tx) => {
        if (!(await store.workspaceExists(tx))) return false;
        await this.deps.events.recordIn(tx, { type: 'anonymous' }, event, meta);
        return true;
      }));
    if (!recorded) await this.deps.authEvents.record({ ...event, accountId: null }, meta);
    await this.deps.throttle.hitIp(meta.ip);
    throw status === 401 ? unauthorized() : notFound();
  }

  // --- tokens (the admin API) ----------------------------------------------------------------------

  /** How many live SCIM tokens the transaction's workspace has. */
  liveTokenCountIn(tx: Tx): Promise<number> {
    return store.liveTokenCount(tx);
  }

  listTokens(caller: Pick<WorkspaceCaller, 'tenant'>): Promise<ScimTokenView[]> {
    return this.deps.db.withTenant(caller.tenant, async (tx) => (await store.tokens(tx)).map(tokenView), { readOnly: true });
  }

  /** Creates a token from the admin API or through a setup link (recorded with the link's id). */
  async createToken(caller: ConfigCaller, input: { name: string }): Promise<ScimTokenView & { token: string }> {
    const token = tenantBoundToken(TOKEN_PREFIX, caller.tenant.tenantId);
    const attribution = configAttribution(caller);
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      await store.lockTokens(tx);
      if ((await store.liveTokenCount(tx)) >= MAX_LIVE_TOKENS) throw new RampartError('scim_token_limit', { details: { max: MAX_LIVE_TOKENS } });
      const row = await store.insertToken(tx, {
        id: newId(),
        name: input.name,
        displayPrefix: token.slice(0, TOKEN_PREFIX.length + 1 + 26),
        tokenHash: sha256(token),
        createdBy: attribution.createdBy,
      });
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'scim.token.created', outcome: 'success', target: { type: 'scim_token', id: row.id }, details: { name: row.name, prefix: row.display_prefix, ...attribution.details } },
        caller.meta,
      );
      return { ...tokenView(row), token };
    });
  }

  async revokeToken(caller: WorkspaceCaller, id: string): Promise<void> {
    await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.revokeToken(tx, id);
      if (!row) throw new RampartError('scim_token_not_found');
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'scim.token.revoked', outcome: 'success', target: { type: 'scim_token', id }, details: { name: row.name, prefix: row.display_prefix } },
        caller.meta,
      );
    });
  }

  // --- users ---------------------------------------------------------------------------------------

  async listUsers(caller: ScimCaller, params: ListParams): Promise<Doc> {
    const filter = compiled(params.filter, USER_FILTER);
    const { limit, offset, startIndex } = page(params);
    const { rows, total } = await this.deps.db.withTenant(caller.tenant, (tx) => store.listUsers(tx, filter, limit, offset), { readOnly: true });
    return list(total, startIndex, rows.map((r) => project(userResource(r, caller.base), USER_SCHEMA, params)));
  }

  async getUser(caller: ScimCaller, id: string, projection: Projection): Promise<ResourceResult> {
    const row = isUuid(id) ? await this.deps.db.withTenant(caller.tenant, (tx) => store.userById(tx, id), { readOnly: true }) : null;
    if (!row) throw notFound();
    return this.userResult(row, caller, projection);
  }

  private userResult(row: store.UserRow, caller: ScimCaller, projection: Projection = {}): ResourceResult {
    const resource = userResource(row, caller.base);
    return { resource: project(resource, USER_SCHEMA, projection), etag: etagOf(row.version), location: `${caller.base}/Users/${row.id}` };
  }

  async createUser(caller: ScimCaller, body: unknown): Promise<ResourceResult> {
    const fields = userFields(validate(UserDoc, normalizeDoc(resourceBody(body, USER_SCHEMA), USER_SPEC)));
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      const person = { email: await this.checkUserIn(tx, fields, null), name: personName(fields) };
      const account = fields.active ? await this.deps.directory.provisionIn(tx, person) : { ...(await this.deps.directory.accountForIn(tx, person)), joined: false };
      const id = newId();
      // Checked above; a concurrent create of the same userName or account loses here.
      if (!(await store.insertUser(tx, id, account.accountId, fields))) throw uniqueness('This userName, or the account of this email, is already another user\'s.');
      await this.record(tx, caller, {
        action: 'scim.user.created',
        outcome: 'success',
        target: { type: 'scim_user', id },
        details: { userName: fields.userName, accountId: account.accountId, accountCreated: account.created, joined: account.joined, active: fields.active },
      });
      return this.userResult((await store.userById(tx, id))!, caller);
    });
  }

  async replaceUser(caller: ScimCaller, id: string, body: unknown, ifMatch: string | undefined): Promise<ResourceResult> {
    const record = resourceBody(body, USER_SCHEMA);
    const fields = userFields(validate(UserDoc, normalizeDoc(record, USER_SPEC)));
    return this.withUser(caller, id, ifMatch, async (tx, row) => {
      checkBodyId(record, id);
      return this.writeUserIn(tx, caller, row, fields);
    });
  }

  async patchUser(caller: ScimCaller, id: string, body: unknown, ifMatch: string | undefined): Promise<ResourceResult> {
    const patch = validate(PatchBody, body, true);
    return this.withUser(
      caller,
      id,
      ifMatch,
      async (tx, row) => {
        // From the resource as read (id, meta and groups included: read-only, compared as given).
        const patched = applyPatch(userResource(row, caller.base), patch.Operations, USER_SPEC);
        return this.writeUserIn(tx, caller, row, userFields(validate(UserDoc, patched)));
      },
      { groups: true },
    );
  }

  async deleteUser(caller: ScimCaller, id: string, ifMatch: string | undefined): Promise<void> {
    await this.withUser(caller, id, ifMatch, async (tx, row) => {
      const gone = row.active ? await this.deps.directory.deprovisionIn(tx, row.account_id, { actor: caller.actor }) : null;
      await store.deleteUser(tx, row.id);
      await this.record(tx, caller, {
        action: 'scim.user.deleted',
        outcome: 'success',
        target: { type: 'scim_user', id: row.id },
        details: { userName: row.user_name, accountId: row.account_id, sessionsRevoked: gone?.sessionsRevoked ?? 0, membershipRemoved: gone?.membershipRemoved ?? false, ...gone?.facts },
      });
    });
  }

  private async withUser<T>(
    caller: ScimCaller,
    id: string,
    ifMatch: string | undefined,
    work: (tx: Tx, row: store.UserRow) => Promise<T>,
    options: { groups?: boolean } = {},
  ): Promise<T> {
    if (!isUuid(id)) throw notFound();
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.userById(tx, id, { lock: true, groups: options.groups ?? false });
      if (!row) throw notFound();
      checkIfMatch(ifMatch, row.version);
      return work(tx, row);
    });
  }

  /**
   * The rules every write of a user obeys, create, PUT and PATCH alike: its userName is no other
   * user's here (case-insensitively); its address (primary email, else first, else userName) is an
   * email address, of a domain this workspace verified, whose account is no other user's here.
   * A userName of another workspace's directory is refused by the same rule when it is the
   * address: its domain is that workspace's (a domain is verified by one workspace at most).
   * On an update the address rules bind when the address changes, so a write that keeps it — a
   * deactivation after the domain stopped being verified — is never blocked. Returns the address.
   */
  private async checkUserIn(tx: Tx, fields: store.UserFields, current: store.UserRow | null): Promise<string> {
    const renamed = current === null || fields.userName.toLowerCase() !== current.user_name.toLowerCase();
    if (renamed && (await store.userNameHolder(tx, fields.userName, current?.id ?? null))) throw uniqueness('A user with this userName already exists.');
    const address = addressOf(fields.emails, fields.userName);
    if (address === null) throw invalidValue('A user needs an email address: in emails, or as its userName.');
    if (current !== null && address === addressOf(current.emails, current.user_name)) return address;
    await this.deps.directory.assertProvisionableIn(tx, address);
    const account = await this.deps.directory.accountIdIn(tx, address);
    const holder = account === null ? null : await store.userOfAccount(tx, account);
    if (holder !== null && holder !== current?.id) throw uniqueness('The account of this email is already provisioned as another user.');
    return address;
  }

  /** Stores a user's new state and does what its `active` change means; one event. */
  private async writeUserIn(tx: Tx, caller: ScimCaller, row: store.UserRow, fields: store.UserFields): Promise<ResourceResult> {
    await this.checkUserIn(tx, fields, row);
    await store.updateUser(tx, row.id, fields);
    let action = 'scim.user.updated';
    let details: Details = { userName: fields.userName, accountId: row.account_id };
    if (row.active && !fields.active) {
      const gone = await this.deps.directory.deprovisionIn(tx, row.account_id, { actor: caller.actor });
      action = 'scim.user.deactivated';
      details = { ...details, sessionsRevoked: gone.sessionsRevoked, membershipRemoved: gone.membershipRemoved, ...gone.facts };
    } else if (!row.active && fields.active) {
      const joined = await this.deps.directory.rejoinIn(tx, row.account_id);
      await this.syncUsersIn(tx, [row.id]);
      action = 'scim.user.reactivated';
      details = { ...details, joined };
    }
    await this.record(tx, caller, { action, outcome: 'success', target: { type: 'scim_user', id: row.id }, details });
    return this.userResult((await store.userById(tx, row.id))!, caller);
  }

  /** Recomputes the directory roles of these users' accounts from their groups; how many changed. */
  private async syncUsersIn(tx: Tx, userIds: Iterable<string>): Promise<number> {
    let changed = 0;
    for (const id of new Set(userIds)) {
      const user = await store.userById(tx, id, { groups: false });
      if (!user?.active) continue;
      const result = await this.deps.directory.setDirectoryRolesIn(tx, user.account_id, await store.groupKeysOfUser(tx, id));
      if (result && result.added + result.removed > 0) changed += 1;
    }
    return changed;
  }

  // --- groups --------------------------------------------------------------------------------------

  async listGroups(caller: ScimCaller, params: ListParams): Promise<Doc> {
    const filter = compiled(params.filter, GROUP_FILTER);
    const { limit, offset, startIndex } = page(params);
    const { rows, total } = await this.deps.db.withTenant(caller.tenant, (tx) => store.listGroups(tx, filter, limit, offset, wantsMembers(params)), {
      readOnly: true,
    });
    return list(total, startIndex, rows.map((r) => project(groupResource(r, caller.base), GROUP_SCHEMA, params)));
  }

  async getGroup(caller: ScimCaller, id: string, projection: Projection): Promise<ResourceResult> {
    const row = isUuid(id)
      ? await this.deps.db.withTenant(caller.tenant, (tx) => store.groupById(tx, id, { members: wantsMembers(projection) }), { readOnly: true })
      : null;
    if (!row) throw notFound();
    return this.groupResult(row, caller, projection);
  }

  private groupResult(row: store.GroupRow, caller: ScimCaller, projection: Projection = {}): ResourceResult {
    return { resource: project(groupResource(row, caller.base), GROUP_SCHEMA, projection), etag: etagOf(row.version), location: `${caller.base}/Groups/${row.id}` };
  }

  async createGroup(caller: ScimCaller, body: unknown): Promise<ResourceResult> {
    const doc = validate(GroupDoc, normalizeDoc(resourceBody(body, GROUP_SCHEMA), GROUP_SPEC));
    const members = memberIdsOf(doc);
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      if (await store.displayNameHolder(tx, doc.displayName, null)) throw uniqueness('A group with this displayName already exists.');
      await this.assertUsers(tx, members);
      const id = newId();
      if (!(await store.insertGroup(tx, { id, externalId: doc.externalId ?? null, displayName: doc.displayName }))) {
        throw uniqueness('A group with this displayName already exists.');
      }
      await store.addMembers(tx, id, members);
      const rolesChanged = await this.syncUsersIn(tx, members);
      await this.record(tx, caller, {
        action: 'scim.group.created',
        outcome: 'success',
        target: { type: 'scim_group', id },
        details: { displayName: doc.displayName, members: members.length, rolesChanged },
      });
      return this.groupResult((await store.groupById(tx, id))!, caller);
    });
  }

  async replaceGroup(caller: ScimCaller, id: string, body: unknown, ifMatch: string | undefined): Promise<ResourceResult> {
    const record = resourceBody(body, GROUP_SCHEMA);
    const doc = validate(GroupDoc, normalizeDoc(record, GROUP_SPEC));
    return this.withGroup(caller, id, ifMatch, async (tx, row, before) => {
      checkBodyId(record, id);
      return this.writeGroupIn(tx, caller, row, before, doc);
    });
  }

  async patchGroup(caller: ScimCaller, id: string, body: unknown, ifMatch: string | undefined): Promise<ResourceResult> {
    const patch = validate(PatchBody, body, true);
    return this.withGroup(caller, id, ifMatch, async (tx, row, before) => {
      // From the resource as read (id and meta included: read-only, compared as given).
      const current: Doc = { ...groupResource({ ...row, members: null }, caller.base), members: before.map((value) => ({ value })) };
      const patched = applyPatch(current, patch.Operations, GROUP_SPEC);
      return this.writeGroupIn(tx, caller, row, before, validate(GroupDoc, patched));
    });
  }

  async deleteGroup(caller: ScimCaller, id: string, ifMatch: string | undefined): Promise<void> {
    await this.withGroup(caller, id, ifMatch, async (tx, row, before) => {
      await store.deleteGroup(tx, row.id);
      const rolesChanged = await this.syncUsersIn(tx, before);
      await this.record(tx, caller, {
        action: 'scim.group.deleted',
        outcome: 'success',
        target: { type: 'scim_group', id: row.id },
        details: { displayName: row.display_name, members: before.length, rolesChanged },
      });
    });
  }

  private async withGroup<T>(
    caller: ScimCaller,
    id: string,
    ifMatch: string | undefined,
    work: (tx: Tx, row: store.GroupRow, members: string[]) => Promise<T>,
  ): Promise<T> {
    if (!isUuid(id)) throw notFound();
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.groupById(tx, id, { lock: true, members: false });
      if (!row) throw notFound();
      checkIfMatch(ifMatch, row.version);
      return work(tx, row, await store.memberIds(tx, id));
    });
  }

  private async writeGroupIn(tx: Tx, caller: ScimCaller, row: store.GroupRow, before: string[], doc: GroupDocValue): Promise<ResourceResult> {
    if (doc.displayName.toLowerCase() !== row.display_name.toLowerCase() && (await store.displayNameHolder(tx, doc.displayName, row.id))) {
      throw uniqueness('A group with this displayName already exists.');
    }
    const after = memberIdsOf(doc);
    const had = new Set(before);
    const has = new Set(after);
    const added = after.filter((m) => !had.has(m));
    const removed = before.filter((m) => !has.has(m));
    await this.assertUsers(tx, added);
    const externalId = doc.externalId ?? null;
    await store.updateGroup(tx, row.id, { externalId, displayName: doc.displayName });
    await store.removeMembers(tx, row.id, removed);
    await store.addMembers(tx, row.id, added);
    // A new name or externalId is a new mapping key for everyone in the group.
    const keysChanged = doc.displayName.toLowerCase() !== row.display_name.toLowerCase() || externalId?.toLowerCase() !== row.external_id?.toLowerCase();
    const rolesChanged = await this.syncUsersIn(tx, keysChanged ? [...before, ...added] : [...added, ...removed]);
    await this.record(tx, caller, {
      action: 'scim.group.updated',
      outcome: 'success',
      target: { type: 'scim_group', id: row.id },
      details: { displayName: doc.displayName, membersAdded: added.length, membersRemoved: removed.length, rolesChanged },
    });
    return this.groupResult((await store.groupById(tx, row.id))!, caller);
  }

  /** 400 invalidValue unless every id is a user of this workspace. */
  private async assertUsers(tx: Tx, ids: readonly string[]): Promise<void> {
    const found = await store.existingUsers(tx, ids);
    const missing = ids.find((id) => !found.has(id));
    if (missing !== undefined) throw invalidValue(`Group member "${missing}" is not a user of this workspace.`);
  }
}

function list(total: number, startIndex: number, resources: Doc[]): Doc {
  return { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

function tokenView(row: store.TokenRow): ScimTokenView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.display_prefix,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

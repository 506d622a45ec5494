/**
 * A SCIM client for the tests, as an identity provider drives the server: requests in process
 * with a workspace's SCIM token, the SCIM error shape, and a write's one audit event with the
 * token as actor. Shared by test/scim.test.ts and test/scim-vendors.test.ts.
 */
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { tenantContext } from '../../src/platform/db/types.js';
import { newId } from '../../src/platform/ids.js';
import type { Caller, TestApp } from './app.js';
import { auditEventCount, auditEventsOfRequest } from './audit.js';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- SCIM responses are read loosely in tests
export type Json = any;

export interface ScimRequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Another token, or null for none. */
  token?: string | null;
  workspace?: string;
  /** The body exactly as given (a vendor's documented bytes, or malformed JSON). */
  raw?: string;
}

export interface ScimClient {
  readonly request: (method: Method, path: string, options?: ScimRequestOptions) => Promise<LightMyRequestResponse>;
  /** A write and its one event: the action, outcome success, the SCIM token as actor. */
  readonly write: (send: () => Promise<LightMyRequestResponse>, status: number, action: string) => Promise<Json>;
}

/** A client of one workspace's SCIM server; `target` is read at each request (set in beforeAll). */
export function scimClient(t: () => TestApp, target: () => { workspace: string; token: string }): ScimClient {
  return {
    request: (method, path, options = {}) => {
      const { workspace, token } = target();
      const headers: Record<string, string> = { ...(options.token === null ? {} : { authorization: `Bearer ${options.token ?? token}` }), ...options.headers };
      if (options.body !== undefined || options.raw !== undefined) headers['content-type'] ??= 'application/scim+json';
      return t().app.inject({
        method,
        url: `/scim/v2/${options.workspace ?? workspace}${path}`,
        headers,
        ...(options.raw !== undefined ? { payload: options.raw } : options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
      });
    },
    write: async (send, status, action) => {
      const app = t();
      const before = await auditEventCount(app);
      const res = await send();
      const result: unknown = expectStatus(res, status);
      expect(await auditEventsOfRequest(app, res.headers['x-request-id'] as string)).toEqual([{ action, outcome: 'success' }]);
      expect((await auditEventCount(app)) - before).toBe(1);
      const [event] = await app.database.raw<{ actor_type: string }>('SELECT actor_type FROM rampart.workspace_events WHERE request_id = $1', [res.headers['x-request-id']]);
      expect(event?.actor_type).toBe('scim_token');
      return result;
    },
  };
}

export const body = (res: LightMyRequestResponse): Json => JSON.parse(res.body);

export function expectStatus(res: LightMyRequestResponse, status: number): Json {
  expect(res.statusCode, res.body).toBe(status);
  return res.body ? body(res) : null;
}

/** RFC 7644 §3.12: the error body, as application/scim+json, with this scimType (or none). */
export function expectScimError(res: LightMyRequestResponse, status: number, scimType?: string): Json {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  const b = body(res);
  expect(b.schemas).toEqual([ERROR]);
  expect(b.status).toBe(String(status));
  expect(typeof b.detail).toBe('string');
  if (scimType) expect(b.scimType).toBe(scimType);
  else expect(b.scimType).toBeUndefined();
  return b;
}

export const patchOps = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

/** Marks a domain verified for a workspace, as a passed DNS check would (docs/sso.md). */
export async function verifyDomain(t: TestApp, workspace: string, domain: string): Promise<void> {
  await t.database.db.withTenant(tenantContext(workspace, null), (tx) =>
    tx.query(
      `INSERT INTO workspace_domains (tenant_id, id, domain, verification_token, verified_at) VALUES (current_tenant_id(), $1, $2, $3, now())`,
      [newId(), domain, 'v'.repeat(40)],
    ),
  );
}

/** A new SCIM token of the workspace, created through the admin API by `as`. */
export async function newScimToken(t: TestApp, workspace: string, as: Caller, name = 'idp'): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${workspace}/scim/tokens`, headers: as.bearer, payload: { name } });
  return expectStatus(res, 201).token as string;
}

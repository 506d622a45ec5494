/**
 * Setting up a SAML connection: from a metadata URL (fetched server-side, with limits), by hand,
 * and through a setup link that the customer's IT admin opens without an account.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../src/platform/db/types.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { auditEventsOfRequest } from './helpers/audit.js';
import { keyPair, TestIdp } from './helpers/saml-idp.js';

const PUBLIC_URL = 'https://rampart.test';

interface SetupPage {
  workspace: { id: string; name: string };
  sp: { entityId: string; acsUrl: string };
  connection: { idpEntityId: string } | null;
  scim: { baseUrl: string; tokens: { id: string }[] };
  instructions: { idp: string; steps: string[]; provisioning: string[] }[];
}

describe.each(BACKENDS)('SSO setup on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let ws: string;
  let server: Server;
  let base: string;
  const idp = new TestIdp('https://idp.setup.test/metadata');
  const routes = new Map<string, (res: ServerResponse) => void>();

  const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = owner.bearer) =>
    t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  const errorOf = (res: { json: <T>() => T }) => res.json<{ error: { code: string; details: { reason?: string } | null } }>().error;

  beforeAll(async () => {
    // An IdP's metadata endpoint on loopback (allowed by samlMetadataAllowPrivate, as for an IdP inside the network).
    server = createServer((req, res) => {
      const handler = routes.get(req.url ?? '');
      if (handler) handler(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    routes.set('/metadata', (res) => res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(idp.metadata('https://idp.setup.test/sso')));
    routes.set('/huge', (res) => res.writeHead(200).end(`<x>${'a'.repeat(600 * 1024)}</x>`));
    routes.set('/broken', (res) => res.writeHead(500).end());
    routes.set('/redirect', (res) => res.writeHead(302, { location: `${base}/metadata` }).end());
    routes.set('/dtd', (res) => res.writeHead(200).end(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`));
    t = await buildTestApp(backend, { publicUrl: PUBLIC_URL, samlMetadataAllowPrivate: true });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner)).id;
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  describe('the metadata URL', () => {
    it('is fetched by the server and read', async () => {
      const res = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataUrl: `${base}/metadata` });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<{ connection: { idpEntityId: string; metadataUrl: string } }>().connection).toMatchObject({ idpEntityId: idp.entityId, metadataUrl: `${base}/metadata` });
    });

    it('is refused when too large, failing, redirecting, declaring a DTD, or not metadata — nothing changes', async () => {
      for (const [path, reason] of [
        ['/huge', 'too_large'],
        ['/broken', 'http_500'],
        ['/redirect', 'http_302'],
        ['/dtd', 'dtd_present'],
        ['/missing', 'http_404'],
      ] as const) {
        const res = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataUrl: `${base}${path}` });
        expect(res.statusCode, path).toBe(400);
        expect(errorOf(res), path).toMatchObject({ code: 'saml_metadata_invalid', details: { reason } });
      }
      const after = await api('GET', `/api/v1/workspaces/${ws}/sso/saml`);
      expect(after.json<{ connection: { metadataUrl: string } }>().connection.metadataUrl).toBe(`${base}/metadata`);
    });
  });

  describe('fields entered by hand', () => {
    it('take a PEM certificate and refuse a weak or malformed one', async () => {
      const good = keyPair('manual');
      const ok = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { idpEntityId: 'https://manual.test', ssoUrl: 'https://manual.test/sso', certificates: [good.cert] });
      expect(ok.statusCode, ok.body).toBe(200);
      const weak = keyPair('weak', 1024);
      const refused = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { idpEntityId: 'https://manual.test', ssoUrl: 'https://manual.test/sso', certificates: [weak.cert] });
      expect(errorOf(refused)).toMatchObject({ code: 'saml_certificate_invalid', details: { reason: 'weak_key' } });
      const garbage = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { idpEntityId: 'https://manual.test', ssoUrl: 'https://manual.test/sso', certificates: ['not a certificate'] });
      expect(errorOf(garbage).code).toBe('saml_certificate_invalid');
      const two = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataUrl: `${base}/metadata`, idpEntityId: 'https://manual.test' });
      expect(errorOf(two).code).toBe('validation_failed');
    });

    it('never make the owner role the default role', async () => {
      const roles = (await api('GET', `/api/v1/workspaces/${ws}/roles`)).json<{ data: { id: string; builtin: string | null }[] }>().data;
      const ownerRole = roles.find((r) => r.builtin === 'owner')?.id ?? '';
      const res = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataUrl: `${base}/metadata`, defaultRoleId: ownerRole });
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('owner_role_reserved');
    });
    it('choose a default role only with all its scopes, and keep a chosen one without them', async () => {
      const wsBase = `/api/v1/workspaces/${ws}`;
      const roles = (await api('GET', `${wsBase}/roles`)).json<{ data: { id: string; builtin: string | null }[] }>().data;
      const adminRole = roles.find((r) => r.builtin === 'admin')?.id ?? '';
      const ssoOnly = (await api('POST', `${wsBase}/roles`, { name: 'SSO admins', scopes: ['sso:manage'] })).json<{ id: string }>().id;
      const ivan = await signUp(t, 'ivan');
      await t.services.members.addMember(tenantContext(ws, owner.accountId), ivan.accountId, 'member');
      expect((await api('PATCH', `${wsBase}/members/${ivan.accountId}`, { roleIds: [ssoOnly] })).statusCode).toBe(200);

      // Every account the IdP provisions would get the admin role: that is granting it.
      const refused = await api('PUT', `${wsBase}/sso/saml`, { metadataUrl: `${base}/metadata`, defaultRoleId: adminRole }, ivan.bearer);
      expect(refused.statusCode, refused.body).toBe(403);
      expect(errorOf(refused).code).toBe('scope_escalation');
      const unchanged = (await api('GET', `${wsBase}/sso/saml`)).json<{ connection: { defaultRoleId: string } }>().connection;
      expect(unchanged.defaultRoleId).not.toBe(adminRole);

      // The owner may; then the SSO admin can still save the connection with the role it keeps.
      expect((await api('PUT', `${wsBase}/sso/saml`, { metadataUrl: `${base}/metadata`, defaultRoleId: adminRole })).statusCode).toBe(200);
      const kept = await api('PUT', `${wsBase}/sso/saml`, { metadataUrl: `${base}/metadata`, defaultRoleId: adminRole, clockSkewSeconds: 90 }, ivan.bearer);
      expect(kept.statusCode, kept.body).toBe(200);
      expect(kept.json<{ connection: { defaultRoleId: string; clockSkewSeconds: number } }>().connection).toMatchObject({ defaultRoleId: adminRole, clockSkewSeconds: 90 });
      const member = roles.find((r) => r.builtin === 'member')?.id ?? '';
      expect((await api('PUT', `${wsBase}/sso/saml`, { metadataUrl: `${base}/metadata`, defaultRoleId: member })).statusCode).toBe(200);
    });
    it("a new connection's default role is the member role, named or not, for an SSO admin without its scopes", async () => {
      const fresh = (await createWorkspace(t, owner, 'Fresh')).id;
      const wsBase = `/api/v1/workspaces/${fresh}`;
      const roles = (await api('GET', `${wsBase}/roles`)).json<{ data: { id: string; builtin: string | null }[] }>().data;
      const byBuiltin = (name: string) => roles.find((r) => r.builtin === name)?.id ?? '';
      const ssoOnly = (await api('POST', `${wsBase}/roles`, { name: 'SSO admins', scopes: ['sso:manage'] })).json<{ id: string }>().id;
      const judy = await signUp(t, 'judy');
      await t.services.members.addMember(tenantContext(fresh, owner.accountId), judy.accountId, 'member');
      expect((await api('PATCH', `${wsBase}/members/${judy.accountId}`, { roleIds: [ssoOnly] })).statusCode).toBe(200);

      const refused = await api('PUT', `${wsBase}/sso/saml`, { metadataUrl: `${base}/metadata`, defaultRoleId: byBuiltin('admin') }, judy.bearer);
      expect(refused.statusCode, refused.body).toBe(403);
      expect(errorOf(refused).code).toBe('scope_escalation');
      expect((await api('GET', `${wsBase}/sso/saml`)).json<{ connection: unknown }>().connection).toBeNull();

      const named = await api('PUT', `${wsBase}/sso/saml`, { metadataUrl: `${base}/metadata`, defaultRoleId: byBuiltin('member') }, judy.bearer);
      expect(named.statusCode, named.body).toBe(200);
      expect(named.json<{ connection: { defaultRoleId: string } }>().connection.defaultRoleId).toBe(byBuiltin('member'));
    });
  });

  describe('setup links', () => {
    let token: string;
    let linkId: string;

    it('are made by an admin, shown once, and open a page without an account', async () => {
      const created = await api('POST', `/api/v1/workspaces/${ws}/sso/setup-links`, { expiresInHours: 24 });
      expect(created.statusCode, created.body).toBe(201);
      const link = created.json<{ id: string; url: string; expiresAt: string }>();
      linkId = link.id;
      expect(link.url.startsWith(`${PUBLIC_URL}/sso-setup#token=rsso_`)).toBe(true);
      token = link.url.split('#token=')[1] ?? '';
      const listed = await api('GET', `/api/v1/workspaces/${ws}/sso/setup-links`);
      expect(listed.body).not.toContain(token);
      expect(listed.json<{ data: { id: string }[] }>().data.map((l) => l.id)).toEqual([linkId]);

      const page = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/view', payload: { token } });
      expect(page.statusCode, page.body).toBe(200);
      const view = page.json<SetupPage>();
      expect(view.workspace.id).toBe(ws);
      expect(view.sp.acsUrl).toBe(`${PUBLIC_URL}/api/v1/sso/saml/${ws}/acs`);
      expect(view.instructions.map((i) => i.idp)).toEqual(['okta', 'entra', 'google']);
      expect(view.instructions[0]?.steps.join(' ')).toContain(view.sp.acsUrl);
      // SCIM steps name this workspace's base URL where the IdP takes one (Okta, Entra ID).
      expect(view.instructions.filter((i) => i.provisioning.join(' ').includes(`${PUBLIC_URL}/scim/v2/${ws}`)).map((i) => i.idp)).toEqual(['okta', 'entra']);
    });

    it('let the IT admin set up the IdP, recorded with the link, but not the default role', async () => {
      const other = new TestIdp('https://idp.other.test/metadata');
      const res = await t.app.inject({ method: 'PUT', url: '/api/v1/sso/setup/saml', payload: { token, metadataXml: other.metadata('https://idp.other.test/sso') } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<{ connection: { idpEntityId: string } }>().connection.idpEntityId).toBe(other.entityId);
      await t.services.audit.settle();
      const events = await auditEventsOfRequest(t, res.headers['x-request-id'] as string);
      expect(events).toEqual([{ action: 'sso.connection.updated', outcome: 'success' }]);
      const [row] = await t.database.raw<{ details: { via: string; setupLinkId: string } }>(
        `SELECT (body::jsonb)->'details' AS details FROM rampart.audit_events WHERE tenant_id = $1 AND (body::jsonb)->>'action' = 'sso.connection.updated' ORDER BY seq DESC LIMIT 1`,
        [ws],
      );
      expect(row?.details).toMatchObject({ via: 'setup_link', setupLinkId: linkId });
      const escalate = await t.app.inject({ method: 'PUT', url: '/api/v1/sso/setup/saml', payload: { token, metadataXml: other.metadata('https://idp.other.test/sso'), defaultRoleId: ws } });
      expect(escalate.statusCode).toBe(400);
      expect(errorOf(escalate).code).toBe('validation_failed');
    });

    it('give the IT admin a SCIM token that works, recorded with the link, and never show it again', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/scim-tokens', payload: { token, name: 'Okta provisioning' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      const created = res.json<{ id: string; token: string; baseUrl: string; createdBy: string | null }>();
      expect(created.baseUrl).toBe(`${PUBLIC_URL}/scim/v2/${ws}`);
      expect(created.createdBy).toBeNull();
      const users = await t.app.inject({ method: 'GET', url: `/scim/v2/${ws}/Users`, headers: { authorization: `Bearer ${created.token}` } });
      expect(users.statusCode, users.body).toBe(200);
      await t.services.audit.settle();
      expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'scim.token.created', outcome: 'success' }]);
      const [row] = await t.database.raw<{ details: { via: string; setupLinkId: string } }>(
        `SELECT (body::jsonb)->'details' AS details FROM rampart.audit_events WHERE tenant_id = $1 AND (body::jsonb)->>'action' = 'scim.token.created' ORDER BY seq DESC LIMIT 1`,
        [ws],
      );
      expect(row?.details).toMatchObject({ via: 'setup_link', setupLinkId: linkId });

      const page = (await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/view', payload: { token } })).json<SetupPage>();
      expect(page.scim.baseUrl).toBe(created.baseUrl);
      expect(page.scim.tokens.map((k) => k.id)).toEqual([created.id]);
      expect(JSON.stringify(page)).not.toContain(created.token);
      const listed = await api('GET', `/api/v1/workspaces/${ws}/scim/tokens`);
      expect(listed.json<{ data: { id: string }[] }>().data.map((k) => k.id)).toEqual([created.id]);
      expect(listed.body).not.toContain(created.token);

      for (const name of ['', ' ', 'x'.repeat(101)]) {
        const bad = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/scim-tokens', payload: { token, name } });
        expect(bad.statusCode, name).toBe(400);
        expect(errorOf(bad).code).toBe('validation_failed');
      }
      const extra = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/scim-tokens', payload: { token, name: 'x', workspaceId: ws } });
      expect(errorOf(extra).code).toBe('validation_failed');
      expect((await api('GET', `/api/v1/workspaces/${ws}/scim/tokens`)).json<{ data: unknown[] }>().data).toHaveLength(1);
    });

    it('answer invalid_link for a tampered, unknown or revoked token', async () => {
      const other = (await createWorkspace(t, owner, 'Other')).id;
      const otherLink = (await api('POST', `/api/v1/workspaces/${other}/sso/setup-links`, { expiresInHours: 1 })).json<{ url: string }>().url.split('#token=')[1] ?? '';
      // The other workspace's random part behind this workspace's id: looked up here, found nowhere.
      const spliced = `${token.slice(0, 5 + 22)}${otherLink.slice(5 + 22)}`;
      // One character changed (never to itself: a token ending in A stays a token).
      const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      for (const bad of [spliced, flipped, 'rsso_garbage-garbage-garbage']) {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/view', payload: { token: bad } });
        expect(res.statusCode, bad).toBe(400);
        expect(errorOf(res).code).toBe('invalid_link');
      }
      expect((await api('DELETE', `/api/v1/workspaces/${ws}/sso/setup-links/${linkId}`)).statusCode).toBe(204);
      const revoked = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/view', payload: { token } });
      expect(errorOf(revoked).code).toBe('invalid_link');
      const put = await t.app.inject({ method: 'PUT', url: '/api/v1/sso/setup/saml', payload: { token, metadataUrl: `${base}/metadata` } });
      expect(errorOf(put).code).toBe('invalid_link');
      const scim = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/scim-tokens', payload: { token, name: 'after revocation' } });
      expect(scim.statusCode).toBe(400);
      expect(errorOf(scim).code).toBe('invalid_link');
      expect((await api('GET', `/api/v1/workspaces/${ws}/scim/tokens`)).json<{ data: unknown[] }>().data).toHaveLength(1);
    });

    it('expire', async () => {
      const link = (await api('POST', `/api/v1/workspaces/${ws}/sso/setup-links`, { expiresInHours: 1 })).json<{ id: string; url: string }>();
      await t.database.raw(`UPDATE rampart.sso_setup_links SET expires_at = now() - interval '1 second' WHERE id = $1`, [link.id]);
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/sso/setup/view', payload: { token: link.url.split('#token=')[1] } });
      expect(errorOf(res).code).toBe('invalid_link');
    });
  });
});

describe('metadata URLs on private addresses, when not allowed', () => {
  it('are refused before connecting', async () => {
    const { fetchMetadata } = await import('../src/modules/sso/metadata.js');
    for (const [url, reason] of [
      ['https://127.0.0.1/metadata', 'private_address'],
      ['https://[::1]/metadata', 'private_address'],
      ['https://169.254.169.254/latest/meta-data', 'private_address'],
      ['https://localhost:1/metadata', 'private_address'],
      ['http://idp.example.test/metadata', 'not_https'],
      ['https://user:pw@idp.example.test/metadata', 'bad_url'],
    ] as const) {
      await expect(fetchMetadata(url, { allowPrivate: false }), url).rejects.toMatchObject({ code: 'saml_metadata_invalid', details: { reason } });
    }
  });
});

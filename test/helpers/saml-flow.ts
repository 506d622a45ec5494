/** The browser's and the admin's steps of SAML sign-in, driven against the app in process. */
import { inflateRawSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.js';
import type { TestDns } from './dns.js';
import { base64, type TestIdp } from './saml-idp.js';

export const SAML_COOKIE = '__Host-rampart_saml';

export interface SpInfo {
  readonly entityId: string;
  readonly acsUrl: string;
  readonly loginUrl: string;
}

export interface StartedSaml {
  readonly binding: string;
  readonly requestId: string;
  readonly location: string;
  readonly response: LightMyRequestResponse;
}

type Headers = Record<string, string>;

/** Claims a domain, publishes its TXT record in the test DNS, and verifies it. */
export async function verifyDomain(t: TestApp, dns: TestDns, workspaceId: string, domain: string, headers: Headers): Promise<string> {
  const added = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${workspaceId}/domains`, headers, payload: { domain } });
  if (added.statusCode !== 201) throw new Error(`adding ${domain} failed: ${added.statusCode} ${added.body}`);
  const d = added.json<{ id: string; verification: { value: string } }>();
  dns.txt.set(`_rampart.${domain}`, [d.verification.value]);
  const verified = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${workspaceId}/domains/${d.id}/verify`, headers });
  if (verified.statusCode !== 200) throw new Error(`verifying ${domain} failed: ${verified.statusCode} ${verified.body}`);
  return d.id;
}

/** Sets up the workspace's SAML connection from the IdP's metadata; returns Rampart's SP details. */
export async function connectIdp(t: TestApp, workspaceId: string, idp: TestIdp, ssoUrl: string, headers: Headers, extra: Record<string, unknown> = {}): Promise<SpInfo> {
  const put = await t.app.inject({ method: 'PUT', url: `/api/v1/workspaces/${workspaceId}/sso/saml`, headers, payload: { metadataXml: idp.metadata(ssoUrl), ...extra } });
  if (put.statusCode !== 200) throw new Error(`connecting the IdP failed: ${put.statusCode} ${put.body}`);
  return put.json<{ sp: SpInfo }>().sp;
}

/** The browser starts SP-initiated sign-in: the AuthnRequest's id and the binding cookie. */
export async function startSaml(t: TestApp, workspaceId: string): Promise<StartedSaml> {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/sso/saml/${workspaceId}/login` });
  const location = response.headers.location ?? '';
  const samlRequest = location.startsWith('http') ? new URL(location).searchParams.get('SAMLRequest') : null;
  const request = samlRequest ? inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8') : '';
  return {
    binding: response.cookies.find((c) => c.name === SAML_COOKIE)?.value ?? '',
    requestId: /ID="([^"]+)"/.exec(request)?.[1] ?? '',
    location,
    response,
  };
}

/** The IdP's page posts a response to the ACS, cross-site, with the browser's cookie if any. */
export function postSaml(t: TestApp, workspaceId: string, samlResponseBase64: string, binding: string | null): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/sso/saml/${workspaceId}/acs`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'cross-site',
      ...(binding ? { cookie: `${SAML_COOKIE}=${binding}` } : {}),
    },
    payload: new URLSearchParams({ SAMLResponse: samlResponseBase64, RelayState: '' }).toString(),
  });
}

/** A whole SP-initiated sign-in for `nameId`, answered by `idp`; returns the ACS's answer. */
export async function samlSignIn(t: TestApp, workspaceId: string, idp: TestIdp, sp: SpInfo, nameId: string): Promise<LightMyRequestResponse> {
  const started = await startSaml(t, workspaceId);
  return postSaml(t, workspaceId, base64(idp.response(sp, { nameId, inResponseTo: started.requestId })), started.binding);
}

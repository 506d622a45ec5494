/** The browser's and the admin's steps of SAML sign-in, driven against the app in process. */
import { inflateRawSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.js';
import { CookieJar } from './cookie-jar.js';
import type { TestDns } from './dns.js';
import { base64, type TestIdp } from './saml-idp.js';

/** What every SAML binding cookie's name starts with (one cookie per pending sign-in). */
export const SAML_COOKIE_PREFIX = '__Host-rampart_saml';

export interface SpInfo {
  readonly entityId: string;
  readonly acsUrl: string;
  readonly loginUrl: string;
}

export interface StartedSaml {
  /** The binding cookie this start set, as the browser sends it back (`name=value`); '' if none. */
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

/**
 * One browser of the SAML flows: Rampart's cookies in a jar, carried on each step (the IdP's
 * cross-site POST to the ACS carries them too: the binding cookies are SameSite=None).
 */
export class SamlBrowser {
  readonly jar = new CookieJar();

  constructor(private readonly t: TestApp) {}

  /** The binding cookies this browser holds. */
  bindings(): string[] {
    return this.jar.named(SAML_COOKIE_PREFIX);
  }

  /** Starts SP-initiated sign-in: the AuthnRequest's id and the binding cookie set for it. */
  async start(workspaceId: string): Promise<StartedSaml> {
    const response = await this.t.app.inject({ method: 'GET', url: `/api/v1/sso/saml/${workspaceId}/login`, headers: { cookie: this.jar.header() } });
    this.jar.keep(response);
    const location = response.headers.location ?? '';
    const samlRequest = location.startsWith('http') ? new URL(location).searchParams.get('SAMLRequest') : null;
    const request = samlRequest ? inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8') : '';
    const set = response.cookies.find((c) => c.name.startsWith(SAML_COOKIE_PREFIX) && c.value !== '');
    return { binding: set ? `${set.name}=${set.value}` : '', requestId: /ID="([^"]+)"/.exec(request)?.[1] ?? '', location, response };
  }

  /** The IdP's page posts a response to the ACS, cross-site, with this browser's cookies. */
  async post(workspaceId: string, samlResponseBase64: string): Promise<LightMyRequestResponse> {
    const response = await postSaml(this.t, workspaceId, samlResponseBase64, this.jar.header() || null);
    this.jar.keep(response);
    return response;
  }
}

/** A new browser starts SP-initiated sign-in: the AuthnRequest's id and the binding cookie. */
export function startSaml(t: TestApp, workspaceId: string): Promise<StartedSaml> {
  return new SamlBrowser(t).start(workspaceId);
}

/** The IdP's page posts a response to the ACS, cross-site, with the browser's cookies (`name=value; …`) if any. */
export function postSaml(t: TestApp, workspaceId: string, samlResponseBase64: string, cookies: string | null): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/sso/saml/${workspaceId}/acs`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'cross-site',
      ...(cookies ? { cookie: cookies } : {}),
    },
    payload: new URLSearchParams({ SAMLResponse: samlResponseBase64, RelayState: '' }).toString(),
  });
}

/** A whole SP-initiated sign-in for `nameId`, answered by `idp`; returns the ACS's answer. */
export async function samlSignIn(t: TestApp, workspaceId: string, idp: TestIdp, sp: SpInfo, nameId: string): Promise<LightMyRequestResponse> {
  const started = await startSaml(t, workspaceId);
  return postSaml(t, workspaceId, base64(idp.response(sp, { nameId, inResponseTo: started.requestId })), started.binding);
}

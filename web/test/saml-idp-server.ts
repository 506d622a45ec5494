/**
 * A SAML identity provider a real browser can visit, for the console's SSO tests: a node:http
 * server at `http://localhost:<port>` (cross-site to the console at 127.0.0.1) whose SSO URL
 * takes Rampart's AuthnRequest (HTTP-Redirect binding) and answers, for the person the test
 * chose, with a page that posts a signed response (built by test/helpers/saml-idp.ts, samlify)
 * to the ACS URL, as an IdP's page does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { base64, TestIdp } from '../../test/helpers/saml-idp.js';

export interface SpValues {
  readonly entityId: string;
  readonly acsUrl: string;
}

export interface IdpServer {
  readonly idp: TestIdp;
  readonly origin: string;
  /** The IdP's single sign-on URL, as its metadata names it. */
  readonly ssoUrl: string;
  /** Rampart's SP values the responses are addressed to; set once the console shows them. */
  sp: SpValues | null;
  /** Who the IdP says signed in (the NameID, an email address). */
  signInAs: string | null;
  /** Whether the IdP's page posts the response at once (the default) or waits for its Continue button. */
  autoPost: boolean;
  /** The AuthnRequest ids received, in order. */
  readonly requestIds: string[];
  close: () => Promise<void>;
}

const escapeHtml = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function startIdpServer(entityId = 'https://idp.console-test.example/metadata'): Promise<IdpServer> {
  const idp = new TestIdp(entityId);
  let origin = '';
  const state: IdpServer = {
    idp,
    get origin() {
      return origin;
    },
    get ssoUrl() {
      return `${origin}/sso`;
    },
    sp: null,
    signInAs: null,
    autoPost: true,
    requestIds: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/sso') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const samlRequest = url.searchParams.get('SAMLRequest');
    const relayState = url.searchParams.get('RelayState');
    const request = samlRequest ? inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8') : '';
    const requestId = /\sID="([^"]+)"/.exec(request)?.[1];
    if (!requestId || !state.sp || !state.signInAs) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('no AuthnRequest, or the test set no SP or person');
      return;
    }
    state.requestIds.push(requestId);
    const response = base64(idp.response(state.sp, { nameId: state.signInAs, inResponseTo: requestId }));
    const relay = relayState ? `<input type="hidden" name="RelayState" value="${escapeHtml(relayState)}">` : '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP</title></head><body>` +
        `<h1>Test IdP</h1><p id="who">Signing in ${escapeHtml(state.signInAs)}…</p>` +
        `<form id="post" method="post" action="${escapeHtml(state.sp.acsUrl)}">` +
        `<input type="hidden" name="SAMLResponse" value="${response}">${relay}<button type="submit">Continue</button></form>` +
        `${state.autoPost ? "<script>document.getElementById('post').submit();</script>" : ''}</body></html>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return state;
}

/**
 * A real OpenID Provider (`oidc-provider`) in process on 127.0.0.1, for the OIDC tests.
 *
 * - One confidential client (client_secret_basic, PKCE S256 required) whose redirect URI is the
 *   Rampart test app's callback.
 * - Accounts come from a map the test controls; `loginAs(sub)` picks who signs in at the next
 *   login interaction, which this server completes programmatically (no forms): its interaction
 *   route finishes the login, then the consent with a grant for the requested scopes.
 * - A tampering step sits in front of the token endpoint: when the test arms `tamperNext`, the
 *   next token response is fetched from the real endpoint, its ID token decoded, its claims
 *   changed and re-signed as the test asks (the OP's own key, a key it does not publish, an
 *   unknown kid, or `alg: none`).
 * - `fakeDiscovery` serves a discovery document whose `issuer` is not the URL it is served
 *   from (issuer mismatch).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface TestUser {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export type Claims = Record<string, unknown>;

export interface IdTokenTampering {
  /** Returns the claims to sign instead (the real token's claims are given). */
  readonly claims?: (claims: Claims) => Claims;
  /**
   * - `op`: the OP's own signing key and kid (a validly signed token with the claims chosen);
   * - `foreign_key`: a key the OP does not publish, under the OP's kid (a bad signature);
   * - `unknown_kid`: a key the OP does not publish, named by a kid its JWKS does not hold;
   * - `none`: `alg: none`, no signature.
   */
  readonly signer?: 'op' | 'foreign_key' | 'unknown_kid' | 'none';
}

export interface TestOp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly users: Map<string, TestUser>;
  /** The subject that signs in at the next login interaction. */
  loginAs(sub: string): void;
  /** Tampers with the ID token of the next token response (once). */
  tamperNext(tampering: IdTokenTampering): void;
  /** Token responses the tampering step changed so far. */
  readonly tampered: number;
  /** The kids the OP publishes (several keys). */
  readonly publishedKids: readonly string[];
  close(): Promise<void>;
}

// oidc-provider ships no type declarations: the little of its API used here, typed by hand.
interface InteractionDetails {
  prompt: { name: string; details: { missingOIDCScope?: string[] } };
  params: Record<string, unknown>;
  session?: { accountId?: string };
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface ProviderInstance {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<InteractionDetails>;
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: unknown, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => GrantInstance;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

async function loadProvider(): Promise<ProviderConstructor> {
  const specifier: string = 'oidc-provider';
  const mod = (await import(specifier)) as { default: ProviderConstructor };
  return mod.default;
}

async function rsaKey(kid: string): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startTestOp(options: { redirectUri: string }): Promise<TestOp> {
  const Provider = await loadProvider();
  const clientId = 'rampart-test';
  const clientSecret = randomBytes(24).toString('base64url');
  const passthrough = randomBytes(16).toString('hex');
  const users = new Map<string, TestUser>();
  let nextLogin: string | null = null;
  let pendingTamper: IdTokenTampering | null = null;
  let tamperedCount = 0;

  // Several published keys: the first signs; the foreign key is never published.
  const signing = await rsaKey('op-key-1');
  const second = await rsaKey('op-key-2');
  const foreign = await rsaKey('foreign-key');

  const server = http.createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    jwks: { keys: [signing.jwk, second.jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Like Google: the ID token carries the claims of the requested scopes.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...user }) };
    },
  });
  const handle = provider.callback();

  async function interaction(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      if (!nextLogin) throw new Error('test OP: no user chosen with loginAs()');
      await provider.interactionFinished(req, res, { login: { accountId: nextLogin } }, { mergeWithLastSubmission: false });
      return;
    }
    if (details.prompt.name === 'consent') {
      const grant = new provider.Grant({ accountId: details.session?.accountId as string, clientId: details.params['client_id'] as string });
      grant.addOIDCScope((details.prompt.details.missingOIDCScope ?? ['openid']).join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    throw new Error(`test OP: unexpected prompt ${details.prompt.name}`);
  }

  async function sign(claims: Claims, signer: NonNullable<IdTokenTampering['signer']>): Promise<string> {
    if (signer === 'none') return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    const [key, kid] =
      signer === 'op' ? [signing.privateKey, 'op-key-1'] : signer === 'foreign_key' ? [foreign.privateKey, 'op-key-1'] : [foreign.privateKey, 'no-such-kid'];
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
  }

  /** The tampering step: the real token response, with its ID token rewritten. */
  async function tamperedToken(req: http.IncomingMessage, res: http.ServerResponse, tampering: IdTokenTampering): Promise<void> {
    const body = await readBody(req);
    const headers: Record<string, string> = { 'x-test-passthrough': passthrough };
    for (const name of ['authorization', 'content-type', 'accept']) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const upstream = await fetch(`${issuer}${req.url ?? '/token'}`, { method: 'POST', headers, body });
    const json = (await upstream.json()) as Record<string, unknown>;
    if (upstream.ok && typeof json['id_token'] === 'string') {
      const original = decodeJwt(json['id_token']);
      const claims = tampering.claims ? tampering.claims({ ...original }) : { ...original };
      json['id_token'] = await sign(claims, tampering.signer ?? 'op');
      tamperedCount += 1;
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(json));
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const fail = (err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`test OP error: ${err instanceof Error ? err.message : String(err)}`);
    };
    if (req.method === 'GET' && url.pathname.startsWith('/interaction/')) {
      interaction(req, res).catch(fail);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token' && req.headers['x-test-passthrough'] !== passthrough && pendingTamper) {
      const tampering = pendingTamper;
      pendingTamper = null;
      tamperedToken(req, res, tampering).catch(fail);
      return;
    }
    handle(req, res);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    users,
    loginAs(sub) {
      nextLogin = sub;
    },
    tamperNext(tampering) {
      pendingTamper = tampering;
    },
    get tampered() {
      return tamperedCount;
    },
    publishedKids: ['op-key-1', 'op-key-2'],
    close: () => close(server),
  };
}

/**
 * A server whose discovery document names another issuer (the real OP's): configuring Rampart
 * with this server's URL as the issuer must fail discovery.
 */
export async function startMismatchedDiscovery(op: TestOp): Promise<{ issuer: string; close(): Promise<void> }> {
  const upstream = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(upstream));
      return;
    }
    res.writeHead(404).end();
  });
  const port = await listen(server);
  return { issuer: `http://127.0.0.1:${port}`, close: () => close(server) };
}

/** Claims of an ID token without the given names. */
export function without(claims: Claims, ...names: string[]): Claims {
  const copy = { ...claims };
  for (const n of names) delete copy[n];
  return copy;
}

/**
 * A browser for the OIDC flows, played by plain HTTP requests: redirects followed by hand,
 * cookies carried per side (Rampart through `inject`, the provider through `fetch`). Rampart's
 * public URL must be `PUBLIC_URL`, and the provider's redirect URI its callback.
 */
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Caller, TestApp } from './app.js';
import { CookieJar } from './cookie-jar.js';
import type { IdTokenTampering, TestOp } from './oidc-provider.js';

export const PUBLIC_URL = 'https://rampart.test';
export const SESSION_COOKIE = '__Host-rampart_session';
export const OIDC_COOKIE = '__Host-rampart_oidc';

/** One browser: a cookie jar for Rampart and one for the provider. */
export class Browser {
  readonly rampart = new CookieJar();
  private readonly provider = new Map<string, string>();

  constructor(
    private readonly t: TestApp,
    private readonly op: TestOp,
  ) {}

  /** A request to Rampart, carrying this browser's cookies. */
  async rampartRequest(method: 'GET' | 'POST' | 'DELETE', url: string, options: { headers?: Record<string, string>; payload?: unknown } = {}) {
    const res = await this.t.app.inject({
      method,
      url,
      headers: { cookie: this.rampart.header(), ...(options.headers ?? {}) },
      ...(options.payload === undefined ? {} : { payload: options.payload as Record<string, unknown> }),
    });
    this.rampart.keep(res);
    return res;
  }

  /** Follows the provider's redirects (signing in as `loginAs`) until it sends the browser back to Rampart. */
  async throughProvider(authorizationUrl: string): Promise<string> {
    let url = authorizationUrl;
    for (let hop = 0; hop < 12; hop += 1) {
      if (url.startsWith(PUBLIC_URL)) return url;
      if (!url.startsWith(this.op.issuer)) throw new Error(`unexpected redirect to ${url}`);
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...this.provider].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const at = (pair as string).indexOf('=');
        this.provider.set((pair as string).slice(0, at), (pair as string).slice(at + 1));
      }
      const location = res.headers.get('location');
      if (!location) throw new Error(`provider answered ${res.status} without a redirect: ${await res.text()}`);
      url = new URL(location, url).href;
    }
    throw new Error('too many redirects at the provider');
  }

  /** GET /start: the provider's authorization URL. */
  async start(): Promise<LightMyRequestResponse> {
    return this.rampartRequest('GET', '/api/v1/auth/oidc/start');
  }

  /** Delivers the provider's redirect back to Rampart. */
  async callback(callbackUrl: string): Promise<LightMyRequestResponse> {
    const u = new URL(callbackUrl);
    return this.rampartRequest('GET', `${u.pathname}${u.search}`);
  }

  /**
   * A whole sign-in as `sub`: start, the provider, the callback. `beforeCallback` may change
   * the callback URL or this browser's cookies (attacks).
   */
  async signIn(
    sub: string,
    options: { tamper?: IdTokenTampering; beforeCallback?: (url: URL, browser: Browser) => URL } = {},
  ): Promise<{ res: LightMyRequestResponse; callbackUrl: string }> {
    const started = await this.start();
    expect(started.statusCode).toBe(302);
    this.op.loginAs(sub);
    let callbackUrl = await this.throughProvider(started.headers.location as string);
    if (options.beforeCallback) callbackUrl = options.beforeCallback(new URL(callbackUrl), this).href;
    if (options.tamper) this.op.tamperNext(options.tamper);
    const res = await this.callback(callbackUrl);
    return { res, callbackUrl };
  }
}

/** Headers for a signed-in browser's writes: its CSRF token. */
export async function csrfOf(browser: Browser): Promise<Record<string, string>> {
  const res = await browser.rampartRequest('GET', '/api/v1/auth/session');
  expect(res.statusCode).toBe(200);
  return { 'x-csrf-token': res.json<{ csrfToken: string }>().csrfToken };
}

/** A browser signed in as an existing password account. */
export function browserOf(t: TestApp, op: TestOp, caller: Caller): Browser {
  const b = new Browser(t, op);
  b.rampart.set(SESSION_COOKIE, (caller.cookie['cookie'] as string).split('=')[1] as string);
  return b;
}

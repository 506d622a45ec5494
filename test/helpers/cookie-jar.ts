/**
 * A browser's cookies for one site, kept as a browser keeps them: each Set-Cookie of an answer
 * replaces the cookie of its name, and one set empty, with Max-Age 0 or an expiry in the past
 * removes it. Sent back whole as the Cookie header.
 */
import type { LightMyRequestResponse } from 'fastify';

export class CookieJar extends Map<string, string> {
  /** The Cookie header this browser sends. */
  header(): string {
    return [...this].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Applies an answer's Set-Cookie headers. */
  keep(res: LightMyRequestResponse): void {
    for (const c of res.cookies) {
      const expired = c.value === '' || c.maxAge === 0 || (c.expires instanceof Date && c.expires.getTime() <= Date.now());
      if (expired) this.delete(c.name);
      else this.set(c.name, c.value);
    }
  }

  /** The names of the cookies held that start with `prefix`. */
  named(prefix: string): string[] {
    return [...this.keys()].filter((name) => name.startsWith(prefix));
  }
}

/**
 * Brute-force protection primitives (src/platform/http/throttle.ts), on both stores: in memory,
 * and Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379) under a key prefix unique to this run,
 * whose keys are removed afterwards. Also: Redis unreachable or lost mid-run degrades to the
 * in-process insurance limiter, and the HTTP error handler turns `rate_limited` into 429 +
 * Retry-After.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RampartError } from '../src/platform/errors.js';
import { installErrorHandling } from '../src/platform/http/errors.js';
import { normalizeIp, Throttle, throttleKey, type ThrottleLimits, type ThrottleOptions } from '../src/platform/http/throttle.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN_PREFIX = `rampart-test:throttle:${randomUUID()}`;

const SMALL: Partial<ThrottleLimits> = {
  ip: { points: 3, durationSeconds: 1 },
  account: { points: 2, durationSeconds: 60 },
  email_link: { points: 2, durationSeconds: 60 },
  mfa: { points: 2, durationSeconds: 60 },
  lockout: { failures: 3, windowSeconds: 60, lockSeconds: 2 },
};

/** What a call threw, or undefined. */
async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err;
  }
}

function expectRateLimited(err: unknown, maxSeconds: number): RampartError {
  expect(err).toBeInstanceOf(RampartError);
  const e = err as RampartError;
  expect(e.code).toBe('rate_limited');
  expect(e.status).toBe(429);
  expect(e.retryAfterSeconds).toBeGreaterThan(0);
  expect(e.retryAfterSeconds).toBeLessThanOrEqual(maxSeconds);
  return e;
}

type Store = 'memory' | 'redis';

describe.each<Store>(['memory', 'redis'])('Throttle (%s)', (store) => {
  const opened: Throttle[] = [];
  let n = 0;
  /** A throttle on this store; with Redis, `prefix` lets two instances share counts. */
  const open = (prefix = `${RUN_PREFIX}:${store}:${n++}`, limits: Partial<ThrottleLimits> = SMALL): Throttle => {
    const options: ThrottleOptions = { keyPrefix: prefix, limits };
    if (store === 'redis') options.redisUrl = REDIS_URL;
    const t = Throttle.create(options);
    opened.push(t);
    return t;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });

  it('allows N requests per window, refuses the next with 429 and a retry time, and allows again after the window', async () => {
    const t = open();
    const key = throttleKey('ip', '203.0.113.7');
    for (let i = 0; i < 3; i++) await t.hit('ip', key);
    const e = expectRateLimited(await thrown(t.hit('ip', key)), 1);
    expect(e.retryAfterSeconds).toBe(1);
    // Still refused on a second try inside the window.
    expectRateLimited(await thrown(t.hit('ip', key)), 1);
    // Another key, and the same key under another rule, are unaffected.
    await t.hit('ip', throttleKey('ip', '203.0.113.8'));
    await t.hit('mfa', key);
    await sleep(1_150);
    await t.hit('ip', key);
  });

  it('reports the time left in a long window', async () => {
    const t = open();
    const key = throttleKey('email', 'someone@example.com');
    await t.hit('email_link', key);
    await t.hit('email_link', key);
    const e = expectRateLimited(await thrown(t.hit('email_link', key)), 60);
    expect(e.retryAfterSeconds).toBeGreaterThanOrEqual(59);
  });

  it('locks a key on the failures-th failure, once, for lockSeconds, then lets it go', async () => {
    const t = open();
    const key = throttleKey('email', 'victim@example.com');
    await t.assertNotLocked(key);
    expect(await t.recordFailure(key)).toEqual({ lockedNow: false, lockSeconds: 2 });
    expect(await t.recordFailure(key)).toEqual({ lockedNow: false, lockSeconds: 2 });
    await t.assertNotLocked(key);
    expect(await t.recordFailure(key)).toEqual({ lockedNow: true, lockSeconds: 2 });
    const e = expectRateLimited(await thrown(t.assertNotLocked(key)), 2);
    expect(e.retryAfterSeconds).toBe(2);
    // Further failures while locked never announce a new lockout (no second email).
    for (let i = 0; i < 4; i++) expect((await t.recordFailure(key)).lockedNow).toBe(false);
    expectRateLimited(await thrown(t.assertNotLocked(key)), 2);
    // Other keys are not locked.
    await t.assertNotLocked(throttleKey('email', 'bystander@example.com'));
    await sleep(2_150);
    await t.assertNotLocked(key);
    // After expiry the count starts again: a new lockout takes `failures` new failures.
    expect((await t.recordFailure(key)).lockedNow).toBe(false);
    expect((await t.recordFailure(key)).lockedNow).toBe(false);
    expect((await t.recordFailure(key)).lockedNow).toBe(true);
  });

  it('clears the failures on success', async () => {
    const t = open();
    const key = throttleKey('email', 'forgetful@example.com');
    await t.recordFailure(key);
    await t.recordFailure(key);
    await t.recordSuccess(key);
    expect((await t.recordFailure(key)).lockedNow).toBe(false);
    expect((await t.recordFailure(key)).lockedNow).toBe(false);
    await t.assertNotLocked(key);
    expect((await t.recordFailure(key)).lockedNow).toBe(true);
  });

  it('announces a lockout exactly once among concurrent failures', async () => {
    const t = open();
    const key = throttleKey('email', 'race@example.com');
    const results = await Promise.all(Array.from({ length: 10 }, () => t.recordFailure(key)));
    expect(results.filter((r) => r.lockedNow)).toHaveLength(1);
    expectRateLimited(await thrown(t.assertNotLocked(key)), 2);
  });

  it(store === 'redis' ? 'shares counts and lockouts between instances' : 'keeps counts per instance', async () => {
    const prefix = `${RUN_PREFIX}:${store}:shared`;
    const a = open(prefix);
    const b = open(prefix);
    const key = throttleKey('account', 'acc-1');
    await a.hit('account', key);
    await b.hit('account', key);
    const third = await thrown(a.hit('account', key));
    const lockKey = throttleKey('email', 'shared@example.com');
    await a.recordFailure(lockKey);
    await b.recordFailure(lockKey);
    const locked = await a.recordFailure(lockKey);
    if (store === 'redis') {
      expectRateLimited(third, 60);
      expect(locked.lockedNow).toBe(true);
      expectRateLimited(await thrown(b.assertNotLocked(lockKey)), 2);
    } else {
      expect(third).toBeUndefined();
      expect(locked.lockedNow).toBe(false);
      await b.assertNotLocked(lockKey);
    }
  });
});

describe('Throttle with Redis unavailable', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  async function exercise(t: Throttle): Promise<void> {
    const key = throttleKey('ip', '198.51.100.1');
    for (let i = 0; i < 3; i++) await t.hit('ip', key);
    expectRateLimited(await thrown(t.hit('ip', key)), 1);
    await t.hit('ip', throttleKey('ip', '198.51.100.2'));
    const email = throttleKey('email', 'outage@example.com');
    await t.assertNotLocked(email);
    expect((await t.recordFailure(email)).lockedNow).toBe(false);
    expect((await t.recordFailure(email)).lockedNow).toBe(false);
    expect((await t.recordFailure(email)).lockedNow).toBe(true);
    expect((await t.recordFailure(email)).lockedNow).toBe(false);
    expectRateLimited(await thrown(t.assertNotLocked(email)), 2);
    const other = throttleKey('email', 'other@example.com');
    await t.recordFailure(other);
    await t.recordSuccess(other);
    await t.assertNotLocked(other);
  }

  it('enforces the limits in process when Redis cannot be reached at all', async () => {
    const logged: string[] = [];
    const logger = { warn: (_: object, msg: string) => logged.push(msg), info: (_: object, msg: string) => logged.push(msg) };
    const t = Throttle.create({ redisUrl: 'redis://127.0.0.1:1', keyPrefix: `${RUN_PREFIX}:down`, limits: SMALL, logger });
    try {
      const started = Date.now();
      await exercise(t);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(logged.some((m) => m.includes('Redis unreachable'))).toBe(true);
    } finally {
      await t.close();
    }
    await sleep(200);
    expect(unhandled).toEqual([]);
  });

  it('falls back to the insurance limiter when Redis goes away mid-run', async () => {
    // A TCP relay to Redis that the test can cut.
    const sockets = new Set<Socket>();
    const target = new URL(REDIS_URL);
    const relay: Server = createServer((client) => {
      const upstream = netConnect(Number(target.port || 6379), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as { port: number };
    const t = Throttle.create({ redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: `${RUN_PREFIX}:cut`, limits: SMALL });
    try {
      await t.hit('mfa', throttleKey('account', 'before-the-cut'));
      await new Promise<void>((resolve) => {
        relay.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await exercise(t);
    } finally {
      await t.close();
    }
    await sleep(200);
    expect(unhandled).toEqual([]);
  });
});

describe('429 over HTTP', () => {
  it('sends rate_limited with Retry-After', async () => {
    const t = Throttle.create({ limits: { ip: { points: 1, durationSeconds: 30 } } });
    const app = Fastify();
    installErrorHandling(app);
    app.post('/sign-in', async (request) => {
      await t.hit('ip', throttleKey('ip', request.ip));
      return { ok: true };
    });
    try {
      expect((await app.inject({ method: 'POST', url: '/sign-in' })).statusCode).toBe(200);
      const res = await app.inject({ method: 'POST', url: '/sign-in' });
      expect(res.statusCode).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(29);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(30);
      expect(res.json().error.code).toBe('rate_limited');
    } finally {
      await app.close();
      await t.close();
    }
  });
});

describe('throttleKey', () => {
  it('is the same for the same email in any case or surrounding space, and does not contain it', () => {
    const k = throttleKey('email', 'Alice.Smith@Example.COM');
    expect(throttleKey('email', ' alice.smith@example.com ')).toBe(k);
    expect(k).toMatch(/^[0-9a-f]{32}$/);
    expect(k).not.toContain('alice');
    expect(k).not.toContain('example');
    expect(throttleKey('email', 'bob@example.com')).not.toBe(k);
    // Kinds do not collide.
    expect(throttleKey('account', 'alice.smith@example.com')).not.toBe(k);
  });

  it('groups IPv6 by /64 and treats IPv4-mapped IPv6 as IPv4', () => {
    const a = throttleKey('ip', '2001:db8:1:2:aaaa::1');
    expect(throttleKey('ip', '2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(a);
    expect(throttleKey('ip', '2001:0DB8:0001:0002::')).toBe(a);
    expect(throttleKey('ip', '[2001:db8:1:2::5]')).toBe(a);
    expect(throttleKey('ip', 'fe80::1%eth0')).toBe(throttleKey('ip', 'fe80::2'));
    expect(throttleKey('ip', '2001:db8:1:3::1')).not.toBe(a);
    expect(normalizeIp('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(normalizeIp('::1')).toBe('0:0:0:0::/64');

    expect(throttleKey('ip', '::ffff:192.0.2.1')).toBe(throttleKey('ip', '192.0.2.1'));
    expect(throttleKey('ip', '::FFFF:c000:0201')).toBe(throttleKey('ip', '192.0.2.1'));
    expect(normalizeIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKey('ip', '192.0.2.1')).not.toBe(throttleKey('ip', '192.0.2.2'));
    // Not an address: still a stable key, never a crash.
    expect(throttleKey('ip', 'unknown')).toBe(throttleKey('ip', 'UNKNOWN'));
  });
});

// Remove this run's Redis keys.
afterAll(async () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${RUN_PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
});

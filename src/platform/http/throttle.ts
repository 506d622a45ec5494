/**
 * Brute-force protection: fixed-window rate limits per IP / email / account, and temporary
 * lockouts after repeated failures (docs/decisions/0007-rate-limits.md).
 *
 * One rate-limiter-flexible limiter per rule. In memory by default (`RateLimiterMemory`, per
 * process); with a Redis URL, `RateLimiterRedis` shares the counts between instances, backed by an
 * in-memory insurance limiter so that a Redis outage degrades to per-instance limits rather than
 * to no limits or to failing every sign-in.
 *
 * Lockout follows the library's "login endpoint protection" pattern: read the failure count
 * before checking credentials (`assertNotLocked`), count a failure after a wrong one
 * (`recordFailure`, which blocks the key once the threshold is reached) and delete the count on
 * success (`recordSuccess`). Keys are opaque hashes (`throttleKey`): no email address or IP is
 * stored in Redis.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RampartError } from '../errors.js';
import { redactUrl } from '../log.js';

export type ThrottleRule = 'ip' | 'account' | 'email_link' | 'mfa';

export interface ThrottleWindow {
  points: number;
  durationSeconds: number;
}

export interface ThrottleLimits {
  /** Requests per IP to the auth endpoints (default 60 per 60 s, as RAMPART_RATE_LIMIT_IP_PER_MINUTE). */
  ip: ThrottleWindow;
  /** Sign-in attempts naming one email (default 10 per 300 s). */
  account: ThrottleWindow;
  /** Magic-link / reset / verification emails per address (default 5 per 3600 s). */
  email_link: ThrottleWindow;
  /** Second-factor attempts per account (default 10 per 300 s). */
  mfa: ThrottleWindow;
  /** Default: 10 failures within 3600 s lock the key for 900 s. */
  lockout: { failures: number; windowSeconds: number; lockSeconds: number };
}

/** The subset of a pino logger the throttle uses to report Redis outages and recoveries. */
export interface ThrottleLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ThrottleOptions {
  /** Shared counts in Redis; unset keeps them in this process's memory. */
  redisUrl?: string | undefined;
  /** Prefix of every key (Redis); default `rampart:throttle`. */
  keyPrefix?: string;
  /** Overrides (tests, configuration). */
  limits?: Partial<ThrottleLimits>;
  /** Where Redis connection trouble is reported; silent when absent. */
  logger?: ThrottleLogger | undefined;
}

export const DEFAULT_THROTTLE_LIMITS: Readonly<ThrottleLimits> = Object.freeze({
  ip: { points: 60, durationSeconds: 60 },
  account: { points: 10, durationSeconds: 300 },
  email_link: { points: 5, durationSeconds: 3600 },
  mfa: { points: 10, durationSeconds: 300 },
  lockout: { failures: 10, windowSeconds: 3600, lockSeconds: 900 },
});

const RULES: readonly ThrottleRule[] = ['ip', 'account', 'email_link', 'mfa'];

/** How long the first operations wait for the initial Redis connection before using the insurance. */
const CONNECT_TIMEOUT_MS = 2_000;
/** A Redis command slower than this counts as an outage for that operation (insurance answers). */
const COMMAND_TIMEOUT_MS = 1_000;

type Limiter = RateLimiterAbstract;

export class Throttle {
  readonly limits: Readonly<ThrottleLimits>;
  private readonly limiters: Record<ThrottleRule, Limiter>;
  private readonly lockLimiter: Limiter;
  private readonly redis: Redis | undefined;
  /** Settles after the first Redis connection attempt (success, failure or timeout). */
  private connecting: Promise<void> | undefined;

  private constructor(limits: ThrottleLimits, keyPrefix: string, redis: Redis | undefined) {
    this.limits = limits;
    this.redis = redis;
    const make = (name: string, points: number, duration: number): Limiter => {
      const keyPrefixForRule = `${keyPrefix}:${name}`;
      if (!redis) return new RateLimiterMemory({ keyPrefix: keyPrefixForRule, points, duration });
      return new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: keyPrefixForRule,
        points,
        duration,
        // Do not even try a command while the connection is down: the insurance answers at once.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: keyPrefixForRule, points, duration }),
      });
    };
    this.limiters = Object.fromEntries(RULES.map((rule) => [rule, make(rule, limits[rule].points, limits[rule].durationSeconds)])) as Record<
      ThrottleRule,
      Limiter
    >;
    this.lockLimiter = make('lock', limits.lockout.failures, limits.lockout.windowSeconds);
  }

  static create(options: ThrottleOptions): Throttle {
    const limits = resolveLimits(options.limits);
    const keyPrefix = options.keyPrefix ?? 'rampart:throttle';
    if (!options.redisUrl) return new Throttle(limits, keyPrefix, undefined);

    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof IORedis;
    const redis: Redis = new RedisClient(options.redisUrl, {
      // As rate-limiter-flexible recommends: fail fast (to the insurance limiter) instead of
      // queueing commands while disconnected.
      enableOfflineQueue: false,
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
    });
    const throttle = new Throttle(limits, keyPrefix, redis);
    throttle.watch(options.logger, options.redisUrl);
    throttle.connecting = Promise.race([
      redis.connect().then(
        () => undefined,
        () => undefined,
      ),
      new Promise<void>((resolve) => setTimeout(resolve, CONNECT_TIMEOUT_MS + 500).unref()),
    ]);
    return throttle;
  }

  /** Counts one request from a client address against the `ip` rule (an unknown address shares one key). */
  hitIp(ip: string | null): Promise<void> {
    return this.hit('ip', throttleKey('ip', ip ?? 'unknown'));
  }

  /** Counts one request for `key` under `rule`; throws `rate_limited` (429) when over the limit. */
  async hit(rule: ThrottleRule, key: string): Promise<void> {
    await this.ready();
    try {
      await this.limiters[rule].consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited(err.msBeforeNext, `throttle ${rule}`);
      throw err;
    }
  }

  /** Throws `rate_limited` (with `retryAfterSeconds` = time left) while `key` is locked out. */
  async assertNotLocked(key: string): Promise<void> {
    await this.ready();
    const res = await this.lockLimiter.get(key);
    if (res && res.consumedPoints >= this.limits.lockout.failures) {
      throw rateLimited(res.msBeforeNext, 'locked out');
    }
  }

  /**
   * Records a failed attempt for `key`. Returns `lockedNow: true` exactly once, on the failure
   * that starts a lockout (the caller then emails the owner), with the lockout's duration.
   */
  async recordFailure(key: string): Promise<{ lockedNow: boolean; lockSeconds: number }> {
    await this.ready();
    const { failures, lockSeconds } = this.limits.lockout;
    // `penalty` is an atomic increment that never rejects: of concurrent failures, exactly one
    // sees the threshold itself. Failures while locked go past it without extending the lock.
    const res = await this.lockLimiter.penalty(key, 1);
    if (res.consumedPoints !== failures) return { lockedNow: false, lockSeconds };
    // `block` stores points + 1 with the lock's own expiry, replacing the failure window.
    await this.lockLimiter.block(key, lockSeconds);
    return { lockedNow: true, lockSeconds };
  }

  /** A success clears the failures of `key`. */
  async recordSuccess(key: string): Promise<void> {
    await this.ready();
    await this.lockLimiter.delete(key);
  }

  async close(): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'end') return;
    if (redis.status === 'ready') {
      try {
        await redis.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    redis.disconnect();
  }

  private async ready(): Promise<void> {
    if (this.connecting) {
      await this.connecting;
      this.connecting = undefined;
    }
  }

  /** A listener for 'error' is required (an unheard one would crash the process); log transitions only. */
  private watch(logger: ThrottleLogger | undefined, url: string): void {
    const redis = this.redis;
    if (!redis) return;
    const where = redactUrl(url);
    let down = false;
    redis.on('error', (err: unknown) => {
      if (down) return;
      down = true;
      logger?.warn({ err, redis: where }, 'rate limits: Redis unreachable; using per-instance limits until it returns');
    });
    redis.on('ready', () => {
      if (!down) return;
      down = false;
      logger?.info({ redis: where }, 'rate limits: Redis reachable again; limits are shared again');
    });
  }
}

function rateLimited(msBeforeNext: number, internal: string): RampartError {
  const retryAfterSeconds = msBeforeNext > 0 ? Math.max(1, Math.ceil(msBeforeNext / 1000)) : 1;
  return new RampartError('rate_limited', { retryAfterSeconds, internal });
}

function resolveLimits(overrides: Partial<ThrottleLimits> | undefined): ThrottleLimits {
  const limits: ThrottleLimits = {
    ip: { ...DEFAULT_THROTTLE_LIMITS.ip, ...overrides?.ip },
    account: { ...DEFAULT_THROTTLE_LIMITS.account, ...overrides?.account },
    email_link: { ...DEFAULT_THROTTLE_LIMITS.email_link, ...overrides?.email_link },
    mfa: { ...DEFAULT_THROTTLE_LIMITS.mfa, ...overrides?.mfa },
    lockout: { ...DEFAULT_THROTTLE_LIMITS.lockout, ...overrides?.lockout },
  };
  // Redis expiries are whole seconds, so every number must be a positive integer.
  const check = (name: string, value: number): void => {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`throttle limit ${name} must be a positive integer`);
  };
  for (const rule of RULES) {
    check(`${rule}.points`, limits[rule].points);
    check(`${rule}.durationSeconds`, limits[rule].durationSeconds);
  }
  check('lockout.failures', limits.lockout.failures);
  check('lockout.windowSeconds', limits.lockout.windowSeconds);
  check('lockout.lockSeconds', limits.lockout.lockSeconds);
  return limits;
}


/**
 * A stable, opaque key: the value normalized (emails and ids lowercased; IPv6 reduced to its /64,
 * IPv4-mapped IPv6 to the IPv4 address), then SHA-256, hex, truncated to 128 bits.
 */
export function throttleKey(kind: 'ip' | 'email' | 'account', value: string): string {
  const normalized = kind === 'ip' ? normalizeIp(value) : value.trim().normalize('NFC').toLowerCase();
  return createHash('sha256').update(`${kind}\0${normalized}`).digest('hex').slice(0, 32);
}

/** IPv4 as is; IPv4-mapped IPv6 as IPv4; other IPv6 as its /64 prefix; anything else lowercased. */
export function normalizeIp(value: string): string {
  let ip = value.trim().toLowerCase();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (already checked with `isIPv6`). */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // A dotted IPv4 tail ("::ffff:1.2.3.4") becomes its two hex groups.
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  let groups: number[];
  const gap = text.indexOf('::');
  if (gap >= 0) {
    const head = parse(text.slice(0, gap));
    const rest = parse(text.slice(gap + 2));
    const fill = 8 - head.length - rest.length;
    if (fill < 0) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = parse(text);
  }
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  return groups;
}

/**
 * The password policy and hashing.
 *
 * - argon2id at OWASP's parameters by default (m = 19 MiB, t = 2, p = 1), all configurable;
 *   a stored hash made with other parameters is replaced at the next successful sign-in.
 * - At least 12 and at most 256 characters (the upper bound keeps hashing from being a
 *   denial-of-service lever).
 * - Refused: the ~49,000 most common passwords (the list zxcvbn-ts ships), those same words
 *   padded with digits and symbols ("password123456!"), short patterns repeated
 *   ("abcabcabcabc"), and the account's own email or its local part.
 * - At most one hash per core runs at a time; the rest wait in a bounded queue. Each hash holds
 *   19 MiB, so unbounded concurrency would let a burst of sign-ins exhaust memory, and more
 *   hashes than cores only thrash the caches. A full queue answers 503 with Retry-After.
 */
import os from 'node:os';
import { hash, verify, type Algorithm, type Options as Argon2Options } from '@node-rs/argon2';
import pLimit, { type LimitFunction } from 'p-limit';
import { dictionary } from '@zxcvbn-ts/language-common';
import { RampartError } from '../../platform/errors.js';
import { randomToken } from '../../platform/ids.js';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** Algorithm.Argon2id (a const enum, which isolated modules cannot import by name). */
const ARGON2ID = 2 as Algorithm;

export interface PasswordParams {
  readonly argon2MemoryKib: number;
  readonly argon2TimeCost: number;
  readonly argon2Parallelism: number;
}

let common: Promise<ReadonlySet<string>> | undefined;

/** The shipped list of common passwords, lowercased. Loaded once, on first use. */
export function commonPasswords(): Promise<ReadonlySet<string>> {
  common ??= (async () => {
    const entry = (dictionary as Record<string, unknown>)['passwords-common'];
    const words = (typeof entry === 'function' ? await (entry as () => Promise<unknown>)() : entry);
    if (!Array.isArray(words) || words.length < 10_000) throw new Error('the common-password list did not load');
    return new Set(words.map((w) => String(w).toLowerCase()));
  })();
  return common;
}

/** Why a password is refused, or null if it meets the policy. */
export async function passwordProblem(password: string, email?: string): Promise<string | null> {
  if ([...password].length < PASSWORD_MIN) return `The password must be at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `The password must be at most ${PASSWORD_MAX} characters.`;
  const lower = password.toLowerCase();
  if (/^(.{1,4})\1+$/su.test(lower)) return 'The password is a short pattern repeated.';
  const list = await commonPasswords();
  const core = lower.replace(/^[\d\W_]+|[\d\W_]+$/gu, '');
  if (list.has(lower) || (core.length >= 4 && list.has(core)) || (core.length === 0 && list.has(lower.replace(/\W/gu, '')))) {
    return 'The password is too common.';
  }
  if (email) {
    const local = email.toLowerCase().split('@')[0] ?? '';
    if (lower === email.toLowerCase() || (local.length >= 4 && core === local)) return 'The password must not be your email address.';
  }
  return null;
}

export async function assertPasswordPolicy(password: string, email?: string): Promise<void> {
  const problem = await passwordProblem(password, email);
  if (problem) throw new RampartError('weak_password', { message: problem });
}

/** Hashes waiting beyond those running; past this a sign-in is refused rather than queued. */
const MAX_QUEUED_HASHES = 256;

export class Passwords {
  private readonly options: Argon2Options;
  private readonly slots: LimitFunction = pLimit(Math.max(1, os.availableParallelism()));
  /** A real hash of a random password, verified against when there is no hash (same cost). */
  private dummyHash: Promise<string> | undefined;

  constructor(
    params: PasswordParams,
    private readonly maxQueued = MAX_QUEUED_HASHES,
  ) {
    this.options = {
      algorithm: ARGON2ID,
      memoryCost: params.argon2MemoryKib,
      timeCost: params.argon2TimeCost,
      parallelism: params.argon2Parallelism,
    };
  }

  /** Runs one argon2 operation in a slot, or refuses when too many are waiting. */
  private run<T>(work: () => Promise<T>): Promise<T> {
    if (this.slots.pendingCount >= this.maxQueued) {
      return Promise.reject(new RampartError('not_ready', { message: 'Too many sign-ins at once; try again shortly.', retryAfterSeconds: 1 }));
    }
    return this.slots(work);
  }

  hash(password: string): Promise<string> {
    return this.run(() => hash(password, this.options));
  }

  /** Verifies against `stored`, or against a dummy hash at the same cost when there is none. */
  async verify(stored: string | null | undefined, password: string): Promise<boolean> {
    this.dummyHash ??= this.hash(randomToken('dummy'));
    const target = stored ?? (await this.dummyHash);
    const ok = await this.run(() => verify(target, password)).catch((err: unknown) => {
      if (err instanceof RampartError) throw err;
      return false;
    });
    return ok && stored !== null && stored !== undefined;
  }

  /** Whether a stored hash was made with other parameters (or another algorithm). */
  needsRehash(stored: string): boolean {
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    if (!m) return true;
    return Number(m[1]) !== this.options.memoryCost || Number(m[2]) !== this.options.timeCost || Number(m[3]) !== this.options.parallelism;
  }
}

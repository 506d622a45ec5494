/**
 * SoftHSM2 tokens for the PKCS#11 provider tests. Each call makes a token in a fresh directory
 * with its own config file, pointed to by SOFTHSM2_CONF. SoftHSM2 reads that variable when the
 * module is initialised, so make the token before the first provider opens: one token directory
 * per test file (vitest runs each file in its own process).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11js, { type Handle, type PKCS11 } from 'pkcs11js';

/** Where Debian and Ubuntu put the module; RAMPART_SOFTHSM_MODULE overrides. */
const MODULE_CANDIDATES = [
  process.env.RAMPART_SOFTHSM_MODULE,
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
].filter((path): path is string => Boolean(path));

export type SoftHsmAvailability = { available: true; module: string } | { available: false; reason: string };

/** Whether softhsm2-util and the module are installed, and if not, what is missing. */
export function softHsmAvailable(): SoftHsmAvailability {
  const util = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' });
  if (util.error || util.status !== 0) return { available: false, reason: 'SoftHSM2 is not installed (softhsm2-util not found)' };
  const module = MODULE_CANDIDATES.find((path) => existsSync(path));
  if (!module) return { available: false, reason: `SoftHSM2 module not found (looked in ${MODULE_CANDIDATES.join(', ')})` };
  return { available: true, module };
}

export interface SoftHsmToken {
  readonly module: string;
  readonly tokenLabel: string;
  readonly pin: string;
  readonly dir: string;
  /** Removes the token directory and restores SOFTHSM2_CONF. */
  cleanup(): void;
}

export function createSoftHsmToken(options: { tokenLabel?: string; pin?: string } = {}): SoftHsmToken {
  const availability = softHsmAvailable();
  if (!availability.available) throw new Error(availability.reason);
  const tokenLabel = options.tokenLabel ?? `rampart-test-${randomBytes(3).toString('hex')}`;
  const pin = options.pin ?? randomBytes(8).toString('hex');
  const soPin = randomBytes(8).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'rampart-softhsm-'));
  const tokens = join(dir, 'tokens');
  const conf = join(dir, 'softhsm2.conf');
  mkdirSync(tokens);
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const init = spawnSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', soPin],
    { encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: conf } },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`softhsm2-util --init-token failed: ${init.stderr || init.stdout}`);
  }
  return {
    module: availability.module,
    tokenLabel,
    pin,
    dir,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
    },
  };
}

/**
 * Runs `fn` in a logged-in session of its own on the token, through the binding directly: what
 * an HSM administrator does to Rampart's keys from outside. Call it while a provider is open; it
 * shares the process-wide module state and login, and never finalizes the module.
 */
export function withTokenSession<T>(token: SoftHsmToken, fn: (pkcs11: PKCS11, session: Handle) => T): T {
  const pkcs11 = new pkcs11js.PKCS11();
  pkcs11.load(token.module);
  try {
    pkcs11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (!String(err).includes('CKR_CRYPTOKI_ALREADY_INITIALIZED')) throw err;
  }
  const slot = pkcs11.C_GetSlotList(true).find((s) => pkcs11.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel);
  if (!slot) throw new Error(`no token ${token.tokenLabel}`);
  const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    try {
      pkcs11.C_Login(session, pkcs11js.CKU_USER, token.pin);
    } catch (err) {
      if (!String(err).includes('CKR_USER_ALREADY_LOGGED_IN')) throw err;
    }
    return fn(pkcs11, session);
  } finally {
    pkcs11.C_CloseSession(session);
  }
}

/** The handles of the secret keys labelled `label` on the token. */
export function findKeys(pkcs11: PKCS11, session: Handle, label: string): Handle[] {
  pkcs11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  try {
    return pkcs11.C_FindObjects(session, 100);
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

/**
 * What `rampart start` checks before it writes or opens anything, and what `rampart check-config`
 * reports: one function, so the two cannot disagree. Every refusal names its fix (`--dev`,
 * another `--data-dir`, `PORT=`…).
 *
 * Checked here: the configuration's safety (checkSafety), the data directory (a directory this
 * process can use, its embedded database not held by another process), the local root key file
 * (readable, intact, and not a development key outside development), the PKCS#11 module file, the
 * TLS certificate and key (readable, and a pair), and the port (free on the host). Not checked: the
 * PostgreSQL server and a remote KMS, which only a real connection proves (start reports those).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { checkSafety, tlsEnabled, type Config } from './config.js';
import { rootKeyFile } from './platform/crypto/index.js';
import { LocalKeyProvider } from './platform/crypto/providers/local.js';
import { KeyProviderError } from './platform/crypto/providers/types.js';
import { embeddedDatabaseDir } from './platform/db/index.js';
import { embeddedDatabaseHolder } from './platform/db/pglite.js';

export interface PreflightReport {
  /** What stops `start`, each with its fix. */
  readonly refusals: readonly string[];
  /** Unsafe settings development mode allows: start prints them as warnings. */
  readonly allowed: readonly string[];
}

export interface PreflightOptions {
  /** Bind the port and let it go again, to learn whether it is free (skipped for port 0). */
  readonly port?: boolean;
}

/** The unsafe settings (checkSafety): refused outside development, with the flag that allows them; allowed in it. */
export function safetyReport(config: Config): PreflightReport {
  const { unsafe } = checkSafety(config);
  if (config.dev) return { refusals: [], allowed: unsafe };
  return { refusals: unsafe.length > 0 ? [...unsafe, 'for local development only, pass --dev (RAMPART_DEV=1) to allow these'] : [], allowed: [] };
}

export async function preflight(config: Config, options: PreflightOptions = {}): Promise<PreflightReport> {
  const safety = safetyReport(config);
  const refusals = [...safety.refusals];

  const dataDir = dataDirProblem(config);
  if (dataDir) refusals.push(dataDir);
  else {
    const holder = config.databaseUrl ? null : embeddedDatabaseHolder(embeddedDatabaseDir(config));
    if (holder !== null) {
      refusals.push(
        `the embedded database in ${path.resolve(config.dataDir)} is in use by process ${holder} (a running Rampart, or a rampart command): ` +
          'stop it first, or pass another --data-dir (RAMPART_DATA_DIR)',
      );
    }
    const key = rootKeyProblem(config);
    if (key) refusals.push(key);
  }
  if (config.pkcs11Module && !existsSync(config.pkcs11Module)) {
    refusals.push(`the PKCS#11 module ${config.pkcs11Module} does not exist: fix RAMPART_PKCS11_MODULE`);
  }
  refusals.push(...tlsProblems(config));
  if (options.port && config.port !== 0) {
    const port = await portProblem(config);
    if (port) refusals.push(port);
  }
  return { refusals, allowed: safety.allowed };
}

/** The data directory must be a directory, or creatable: its nearest existing ancestor a directory. */
function dataDirProblem(config: Config): string | null {
  const dir = path.resolve(config.dataDir);
  for (let p = dir; ; p = path.dirname(p)) {
    if (existsSync(p)) {
      if (statSync(p).isDirectory()) return null;
      return p === dir
        ? `the data directory ${dir} is not a directory: pass another --data-dir (RAMPART_DATA_DIR)`
        : `the data directory ${dir} cannot be created: ${p} is not a directory; pass another --data-dir (RAMPART_DATA_DIR)`;
    }
    if (path.dirname(p) === p) return null;
  }
}

/** The local root key file, read exactly as start reads it (never created here). */
function rootKeyProblem(config: Config): string | null {
  if (config.kmsProvider !== 'local' || config.localRootKeys) return null;
  const file = rootKeyFile(config);
  if (!existsSync(file)) return null;
  try {
    void LocalKeyProvider.open({ kind: 'file', file, dev: config.dev }).close();
    return null;
  } catch (err) {
    if (err instanceof KeyProviderError) return err.message;
    throw err;
  }
}

function tlsProblems(config: Config): string[] {
  if (!tlsEnabled(config)) return [];
  const files = [
    { what: 'certificate', file: config.tlsCertFile as string, env: 'RAMPART_TLS_CERT_FILE' },
    { what: 'key', file: config.tlsKeyFile as string, env: 'RAMPART_TLS_KEY_FILE' },
  ];
  const problems: string[] = [];
  const pem: Buffer[] = [];
  for (const f of files) {
    try {
      pem.push(readFileSync(f.file));
    } catch (err) {
      problems.push(`cannot read the TLS ${f.what} ${f.file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): fix ${f.env}`);
    }
  }
  if (problems.length > 0) return problems;
  try {
    tls.createSecureContext({ cert: pem[0], key: pem[1], minVersion: 'TLSv1.2' });
    return [];
  } catch (err) {
    // OpenSSL says which part failed (a key that does not match, a file that is not PEM); no key material is in its message.
    const reason = (err as Error).message.replace(/\s+/g, ' ').trim();
    return [
      `the TLS certificate ${config.tlsCertFile as string} and key ${config.tlsKeyFile as string} cannot serve HTTPS (${reason}): ` +
        'fix RAMPART_TLS_CERT_FILE and RAMPART_TLS_KEY_FILE (a PEM certificate chain and its own private key)',
    ];
  }
}

/** Why listening on host:port failed, with the fix; null when the error is not about the address. */
export function listenProblem(config: Pick<Config, 'host' | 'port'>, err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const where = `port ${config.port} on ${config.host}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${where} is in use: stop what listens there, or choose another port with PORT=<n> or --port <n>`;
    case 'EACCES':
      return `${where} needs privileges this user does not have: choose a port above 1023 with PORT=<n> or --port <n>`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${config.host} is not an address of this machine: choose another with HOST=<address> or --host <address>`;
    default:
      return null;
  }
}

/** Binds the port and lets it go: a free port now is free for start a moment later (start maps a late EADDRINUSE the same way). */
function portProblem(config: Config): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err) => resolve(listenProblem(config, err) ?? `cannot listen on port ${config.port} on ${config.host}: ${err.message}`));
    probe.listen({ host: config.host, port: config.port, exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

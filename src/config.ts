/**
 * One typed, validated configuration for Rampart.
 *
 * Sources, lowest precedence first: built-in defaults, an optional JSON file
 * (`--config` / `RAMPART_CONFIG_FILE`), the environment, command-line flags. Every setting is
 * described once in `SETTINGS`; the README's configuration table is checked against it.
 *
 * Unsafe settings refuse to start (`checkSafety`) unless development mode is explicitly on.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.union([z.boolean(), z.enum(['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off', ''])]).transform((v) =>
  typeof v === 'boolean' ? v : ['1', 'true', 'yes', 'on'].includes(v),
);
const regionName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a region is lowercase letters, digits and dashes');
const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL');

/** `false`, a hop count, or a list of addresses/CIDRs whose X-Forwarded-For is believed. */
const trustProxy = z.union([z.literal(false), z.number().int().min(1).max(10), z.array(z.string().min(1)).min(1)]);

export const ConfigSchema = z.strictObject({
  /** Development mode: allows the unsafe settings listed in checkSafety, loudly. */
  dev: z.boolean().default(false),
  /** Interface to listen on; loopback by default so nothing is exposed by accident. */
  host: z.string().min(1).default('127.0.0.1'),
  /** TCP port. */
  port: port.default(3000),
  /** Where the embedded database, objects and generated secrets live. */
  dataDir: z.string().min(1).default('.rampart'),
  /** The URL users reach Rampart at; used in links. Defaults to http(s)://host:port. */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** PostgreSQL for the app (runtime). Unset: the embedded PGlite database under dataDir. */
  databaseUrl: postgresUrl.optional(),
  /** PostgreSQL login that owns the schema and runs migrations. Defaults to databaseUrl. */
  databaseOwnerUrl: postgresUrl.optional(),
  /** Connections in the runtime pool (PostgreSQL only). */
  databasePoolSize: z.coerce.number().int().min(1).max(500).default(10),
  /**
   * How long a request waits for a pooled PostgreSQL connection (a free one, or a new one to
   * open) before it is answered 503: short, so a busy, down or hung database fails fast.
   */
  databaseAcquireTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(2_000),
  /** Per-statement time limit on the runtime's PostgreSQL connections, in milliseconds. */
  statementTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /** Root secret (at least 32 characters) from which request-signing keys are derived. */
  rootSecret: z.string().min(32, 'the root secret must be at least 32 characters').optional(),
  /** PEM certificate chain and private key: with both, Rampart serves HTTPS (TLS 1.2 minimum). */
  tlsCertFile: z.string().min(1).optional(),
  tlsKeyFile: z.string().min(1).optional(),
  /** Which proxies to believe for the client address: false, a hop count, or addresses/CIDRs. */
  trustProxy: trustProxy.default(false),
  /** Largest JSON request body, in bytes. */
  bodyLimitBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Largest document upload, in bytes. */
  documentMaxBytes: z.coerce.number().int().min(1).max(1024 ** 4).default(25 * 1024 * 1024),
  /** Object storage root for the local filesystem backend. Defaults to <dataDir>/objects. */
  objectStorageDir: z.string().min(1).optional(),
  /** Data regions a workspace may be placed in; the first is the default. */
  regions: z.array(regionName).min(1).default(['local']),
  /** Who may create an account once the first account exists. */
  signup: z.enum(['open', 'closed']).default('open'),
  /** Absolute session lifetime, in seconds. */
  sessionTtlSeconds: z.coerce.number().int().min(60).max(90 * 86400).default(7 * 86400),
  /** A session unused for this long ends, in seconds. */
  sessionIdleSeconds: z.coerce.number().int().min(60).max(90 * 86400).default(12 * 3600),
  /** Argon2id memory cost in KiB (OWASP: 19456). */
  argon2MemoryKib: z.coerce.number().int().min(8192).max(1024 * 1024).default(19456),
  /** Argon2id iterations (OWASP: 2 at 19 MiB). */
  argon2TimeCost: z.coerce.number().int().min(1).max(20).default(2),
  /** Argon2id lanes (OWASP: 1). */
  argon2Parallelism: z.coerce.number().int().min(1).max(16).default(1),
  /** SMTP server for outgoing mail, as smtp:// or smtps:// URL. Unset: mail stays in the outbox. */
  smtpUrl: z
    .string()
    .refine((v) => /^smtps?:\/\//.test(v), 'must be an smtp:// or smtps:// URL')
    .optional(),
  /** The From address of every message. */
  mailFrom: z.string().min(3).max(254).default('Rampart <no-reply@localhost>'),
  /** OpenID Connect sign-in ("Sign in with Google" or any provider): issuer URL. */
  oidcIssuer: z.url({ protocol: /^https?$/ }).optional(),
  oidcClientId: z.string().min(1).max(512).optional(),
  oidcClientSecret: z.string().min(1).max(1024).optional(),
  /** The name shown on the sign-in button. */
  oidcDisplayName: z.string().min(1).max(64).default('Google'),
  /** Audiences besides the client id an ID token may name (OIDC Core 3.1.3.7); none by default: any other is refused. */
  oidcTrustedAudiences: z.array(z.string().min(1).max(512)).max(16).default([]),
  /** Redis for rate limits shared between instances. Unset: in-memory limits. */
  redisUrl: z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Requests one address may make to the sign-in, email-link, reset and MFA endpoints per minute. */
  rateLimitIpPerMinute: z.coerce.number().int().min(1).max(1_000_000).default(60),
  /** Sign-in attempts naming one email address per 5 minutes. */
  rateLimitEmailPer5Minutes: z.coerce.number().int().min(1).max(1_000_000).default(10),
  /** Relying-party name passkey prompts show. */
  webauthnRpName: z.string().min(1).max(64).default('Rampart'),
  /** Which key-management provider holds the root key: local file, PKCS#11 token, or AWS KMS. */
  kmsProvider: z.enum(['local', 'pkcs11', 'aws-kms']).default('local'),
  /** Local provider: root key versions as `1:<base64url 32 bytes>,2:…`, instead of the key file. */
  localRootKeys: z.string().min(1).optional(),
  /** Local provider: the root key file. Defaults to <dataDir>/root-keys.json, created at first start (0600). */
  localRootKeyFile: z.string().min(1).optional(),
  /** PKCS#11: path to the module (.so) of the token. */
  pkcs11Module: z.string().min(1).optional(),
  /** PKCS#11: label of the token holding the root keys. */
  pkcs11TokenLabel: z.string().min(1).max(32).optional(),
  /** PKCS#11: user PIN of the token. */
  pkcs11Pin: z.string().min(1).max(256).optional(),
  /** PKCS#11: label prefix of Rampart's root keys; versions are `<prefix>-1`, `<prefix>-2`, … */
  pkcs11KeyLabel: z.string().min(1).max(64).default('rampart-root'),
  /** AWS KMS: the key (id, ARN or alias ARN) that wraps tenant keys. */
  awsKmsKeyId: z.string().min(1).max(2048).optional(),
  /** AWS KMS: region; defaults to the SDK's own resolution (AWS_REGION). */
  awsRegion: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as eu-west-1').optional(),
  /** AWS KMS: endpoint override (VPC endpoints, FIPS endpoints). */
  awsKmsEndpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Tenant keys older than this many days are rotated automatically (0: never). */
  keyRotationDays: z.coerce.number().int().min(0).max(3650).default(90),
  /** How long unwrapped keys stay cached in memory, in seconds. */
  keyCacheSeconds: z.coerce.number().int().min(0).max(86_400).default(300),
  /** How many values one data key encrypts before a new one is made. */
  dataKeyMaxUses: z.coerce.number().int().min(1).max(1_000_000_000).default(100_000),
  /** Days between a workspace's deletion and the destruction of its keys (crypto-shredding). */
  keyDestructionGraceDays: z.coerce.number().int().min(0).max(365).default(30),
  /**
   * Seconds between signed checkpoints of each audit chain that moved; 0 turns them off. Events
   * younger than the last checkpoint are the window in which someone who can write the database
   * can rewrite or cut them unseen (docs/audit-log.md#checkpoints): under a minute by default.
   */
  auditCheckpointSeconds: z.coerce.number().int().min(0).max(86_400).default(30),
  /** Days audit events are kept; older ones are pruned below a signed checkpoint. 0 keeps them forever. */
  auditRetentionDays: z.coerce.number().int().min(0).max(36_500).default(365),
  /** An HTTP(S) endpoint that receives every audit event and checkpoint as JSON Lines. */
  auditSinkUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Bearer token sent to auditSinkUrl. */
  auditSinkToken: z.string().min(16).max(1024).optional(),
  /** A syslog receiver speaking RELP (relp://host:port) for every audit event and checkpoint (RFC 5424). */
  auditSyslogUrl: z
    .string()
    .refine((v) => /^relp:\/\/[^/]+:\d{1,5}$/.test(v), 'must be relp://host:port')
    .optional(),
  /** DNS servers (`host` or `host:port`) for domain verification lookups; the system's resolvers when empty. */
  dnsServers: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9A-Za-z.-]+)(:\d{1,5})?$/, 'must be host or host:port')).max(8).default([]),
  /** The largest SAML response accepted, in bytes (decoded). */
  samlMaxResponseBytes: z.coerce.number().int().min(16_384).max(4_194_304).default(262_144),
  /** Let IdP metadata URLs point at private and loopback addresses (an IdP on the same network). */
  samlMetadataAllowPrivate: z.boolean().default(false),
  /** Log level. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
type Key = keyof Config;

interface Setting {
  readonly key: Key;
  readonly env: string;
  readonly flag?: string;
  readonly parse?: (raw: string) => unknown;
  readonly doc: string;
}

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function parseTrustProxy(raw: string): unknown {
  const v = raw.trim();
  if (v === '' || v === 'false' || v === '0') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return list(v);
}

/** Every setting once: its environment variable, its flag, and the line the README shows. */
export const SETTINGS: readonly Setting[] = [
  { key: 'dev', env: 'RAMPART_DEV', flag: 'dev', parse: (r) => bool.parse(r), doc: 'Development mode: permits unsafe settings, with warnings.' },
  { key: 'host', env: 'HOST', flag: 'host', doc: 'Interface to listen on.' },
  { key: 'port', env: 'PORT', flag: 'port', doc: 'TCP port.' },
  { key: 'dataDir', env: 'RAMPART_DATA_DIR', flag: 'dataDir', doc: 'Embedded database, local objects and generated files.' },
  { key: 'publicUrl', env: 'RAMPART_PUBLIC_URL', doc: 'External URL used in links; defaults to the listen address.' },
  { key: 'databaseUrl', env: 'DATABASE_URL', doc: 'PostgreSQL URL for the server; unset means the embedded database.' },
  { key: 'databaseOwnerUrl', env: 'DATABASE_OWNER_URL', doc: 'PostgreSQL URL of the schema owner, for migrations; defaults to DATABASE_URL.' },
  { key: 'databasePoolSize', env: 'DATABASE_POOL_SIZE', doc: 'Connections in the pool (PostgreSQL).' },
  {
    key: 'databaseAcquireTimeoutMs',
    env: 'DATABASE_ACQUIRE_TIMEOUT_MS',
    doc: 'How long a request waits for a pooled PostgreSQL connection (free, or newly opened) before answering 503 `service_unavailable`.',
  },
  { key: 'statementTimeoutMs', env: 'RAMPART_STATEMENT_TIMEOUT_MS', doc: 'Statement time limit on the PostgreSQL server connections (the embedded database cannot enforce one); a statement still unanswered a second later fails on the client too (a hung server), with 503 `service_unavailable`.' },
  { key: 'rootSecret', env: 'RAMPART_ROOT_SECRET', doc: 'Root secret, at least 32 characters (`rampart secret`). Required outside development.' },
  { key: 'tlsCertFile', env: 'RAMPART_TLS_CERT_FILE', doc: 'PEM certificate chain; with the key, Rampart serves HTTPS (TLS ≥ 1.2).' },
  { key: 'tlsKeyFile', env: 'RAMPART_TLS_KEY_FILE', doc: 'PEM private key for the certificate.' },
  { key: 'trustProxy', env: 'RAMPART_TRUST_PROXY', parse: parseTrustProxy, doc: 'Proxies trusted for X-Forwarded-*: `false`, a hop count, or addresses/CIDRs.' },
  { key: 'bodyLimitBytes', env: 'RAMPART_BODY_LIMIT_BYTES', doc: 'Largest JSON request body.' },
  { key: 'documentMaxBytes', env: 'RAMPART_DOCUMENT_MAX_BYTES', doc: 'Largest document upload.' },
  { key: 'objectStorageDir', env: 'RAMPART_OBJECT_STORAGE_DIR', doc: 'Local object storage root; defaults to `<dataDir>/objects`.' },
  { key: 'regions', env: 'RAMPART_REGIONS', parse: list, doc: 'Comma-separated data regions; the first is the default.' },
  { key: 'signup', env: 'RAMPART_SIGNUP', doc: '`open` or `closed`: whether anyone may sign up after the first account.' },
  { key: 'sessionTtlSeconds', env: 'RAMPART_SESSION_TTL_SECONDS', doc: 'Absolute session lifetime.' },
  { key: 'sessionIdleSeconds', env: 'RAMPART_SESSION_IDLE_SECONDS', doc: 'A session unused this long ends.' },
  { key: 'argon2MemoryKib', env: 'RAMPART_ARGON2_MEMORY_KIB', doc: 'Argon2id memory cost in KiB.' },
  { key: 'argon2TimeCost', env: 'RAMPART_ARGON2_TIME_COST', doc: 'Argon2id iterations.' },
  { key: 'argon2Parallelism', env: 'RAMPART_ARGON2_PARALLELISM', doc: 'Argon2id lanes.' },
  { key: 'smtpUrl', env: 'SMTP_URL', doc: 'SMTP server URL (`smtp://` or `smtps://`, credentials in the URL); unset keeps mail in the outbox.' },
  { key: 'mailFrom', env: 'MAIL_FROM', doc: 'From address of outgoing mail.' },
  { key: 'oidcIssuer', env: 'OIDC_ISSUER', doc: 'OpenID Connect issuer for "Sign in with …" (for Google: `https://accounts.google.com`).' },
  { key: 'oidcClientId', env: 'OIDC_CLIENT_ID', doc: 'OpenID Connect client id.' },
  { key: 'oidcClientSecret', env: 'OIDC_CLIENT_SECRET', doc: 'OpenID Connect client secret.' },
  { key: 'oidcDisplayName', env: 'OIDC_DISPLAY_NAME', doc: 'Name on the sign-in button.' },
  { key: 'oidcTrustedAudiences', env: 'OIDC_TRUSTED_AUDIENCES', parse: list, doc: 'Comma-separated audiences an ID token may name besides the client id (a provider that adds its own); unset refuses every other audience.' },
  { key: 'redisUrl', env: 'REDIS_URL', doc: 'Redis URL for rate limits shared between instances; unset keeps them in memory.' },
  { key: 'rateLimitIpPerMinute', env: 'RAMPART_RATE_LIMIT_IP_PER_MINUTE', doc: 'Requests per minute one address may make to the sign-in, email-link, reset and MFA endpoints (raise it behind a large NAT).' },
  { key: 'rateLimitEmailPer5Minutes', env: 'RAMPART_RATE_LIMIT_EMAIL_PER_5_MINUTES', doc: 'Sign-in attempts naming one email per 5 minutes (repeated failures also lock it for 15 minutes).' },
  { key: 'webauthnRpName', env: 'RAMPART_WEBAUTHN_RP_NAME', doc: 'Relying-party name shown by passkey prompts.' },
  { key: 'kmsProvider', env: 'RAMPART_KMS_PROVIDER', doc: 'Root key holder: `local` (key file or `RAMPART_LOCAL_ROOT_KEYS`), `pkcs11` or `aws-kms`.' },
  { key: 'localRootKeys', env: 'RAMPART_LOCAL_ROOT_KEYS', doc: 'Local root key versions `1:<base64url>,2:…` (32 bytes each) instead of the key file.' },
  { key: 'localRootKeyFile', env: 'RAMPART_LOCAL_ROOT_KEY_FILE', doc: 'Local root key file; defaults to `<dataDir>/root-keys.json`, created at first start with mode 0600.' },
  { key: 'pkcs11Module', env: 'RAMPART_PKCS11_MODULE', doc: 'PKCS#11 module path (for SoftHSM2: `/usr/lib/softhsm/libsofthsm2.so`).' },
  { key: 'pkcs11TokenLabel', env: 'RAMPART_PKCS11_TOKEN_LABEL', doc: 'Label of the PKCS#11 token that holds the root keys.' },
  { key: 'pkcs11Pin', env: 'RAMPART_PKCS11_PIN', doc: 'User PIN of the PKCS#11 token.' },
  { key: 'pkcs11KeyLabel', env: 'RAMPART_PKCS11_KEY_LABEL', doc: 'Label prefix of the root keys on the token (`<prefix>-<version>`).' },
  { key: 'awsKmsKeyId', env: 'RAMPART_AWS_KMS_KEY_ID', doc: 'AWS KMS key id or ARN that wraps tenant keys.' },
  { key: 'awsRegion', env: 'AWS_REGION', doc: 'AWS region of the KMS key.' },
  { key: 'awsKmsEndpoint', env: 'RAMPART_AWS_KMS_ENDPOINT', doc: 'AWS KMS endpoint override (VPC or FIPS endpoint).' },
  { key: 'keyRotationDays', env: 'RAMPART_KEY_ROTATION_DAYS', doc: 'Rotate each tenant key after this many days; 0 turns automatic rotation off.' },
  { key: 'keyCacheSeconds', env: 'RAMPART_KEY_CACHE_SECONDS', doc: 'Seconds unwrapped keys stay cached in memory (a revoked key stops working within this time).' },
  { key: 'dataKeyMaxUses', env: 'RAMPART_DATA_KEY_MAX_USES', doc: 'Values one data key encrypts before a new one is made.' },
  { key: 'keyDestructionGraceDays', env: 'RAMPART_KEY_DESTRUCTION_GRACE_DAYS', doc: "Days after a workspace's deletion before its keys are destroyed." },
  { key: 'auditCheckpointSeconds', env: 'RAMPART_AUDIT_CHECKPOINT_SECONDS', doc: 'Seconds between signed checkpoints of each audit chain that moved (also at start and at a clean stop): events after the last checkpoint can be cut or rewritten unseen by someone who can write the database. 0 turns them off.' },
  { key: 'auditRetentionDays', env: 'RAMPART_AUDIT_RETENTION_DAYS', doc: 'Days audit events are kept, then pruned below a signed checkpoint (never under a day); 0 keeps them forever.' },
  { key: 'auditSinkUrl', env: 'RAMPART_AUDIT_SINK_URL', doc: 'HTTP(S) endpoint that receives every audit event and checkpoint as JSON Lines (retried until acknowledged).' },
  { key: 'auditSinkToken', env: 'RAMPART_AUDIT_SINK_TOKEN', doc: 'Bearer token sent to the audit sink.' },
  { key: 'auditSyslogUrl', env: 'RAMPART_AUDIT_SYSLOG_URL', doc: 'Syslog receiver speaking RELP (`relp://host:port`, e.g. rsyslog imrelp) for every audit event and checkpoint, as RFC 5424 messages acknowledged one by one.' },
  { key: 'dnsServers', env: 'RAMPART_DNS_SERVERS', parse: list, doc: 'Comma-separated DNS servers (`host` or `host:port`) that domain verification asks; the system resolvers when unset.' },
  { key: 'samlMaxResponseBytes', env: 'RAMPART_SAML_MAX_RESPONSE_BYTES', doc: 'Largest SAML response accepted (decoded bytes); larger ones are refused unread.' },
  { key: 'samlMetadataAllowPrivate', env: 'RAMPART_SAML_METADATA_ALLOW_PRIVATE', parse: (r) => bool.parse(r), doc: 'Allow IdP metadata URLs on private, loopback and link-local addresses (an IdP inside your network).' },
  { key: 'logLevel', env: 'LOG_LEVEL', doc: 'fatal, error, warn, info, debug, trace or silent.' },
];

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    // One problem is one line (what a terminal shows at a glance); several are a list.
    super(problems.length === 1 ? `Rampart cannot start: ${problems[0] as string}` : `Rampart cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, already typed by the CLI. */
  readonly flags?: Partial<Record<Key, unknown>>;
  /** Path to a JSON configuration file. Defaults to RAMPART_CONFIG_FILE. */
  readonly file?: string;
}

/** Reads, merges and validates configuration. Throws ConfigError with every problem at once. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const merged: Record<string, unknown> = {};

  const file = options.file ?? env['RAMPART_CONFIG_FILE'];
  if (file) Object.assign(merged, readConfigFile(file));

  for (const s of SETTINGS) {
    const raw = env[s.env];
    if (raw === undefined || raw === '') continue;
    merged[s.key] = s.parse ? s.parse(raw) : raw;
  }
  for (const [k, v] of Object.entries(options.flags ?? {})) {
    if (v !== undefined) merged[k] = v;
  }

  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = i.path.join('.');
        const setting = SETTINGS.find((s) => s.key === i.path[0]);
        return `${key}${setting ? ` (${setting.env})` : ''}: ${i.message}`;
      }),
    );
  }
  const config = parsed.data;
  const problems: string[] = [];
  if (Boolean(config.tlsCertFile) !== Boolean(config.tlsKeyFile)) {
    problems.push('tlsCertFile and tlsKeyFile (RAMPART_TLS_CERT_FILE, RAMPART_TLS_KEY_FILE) must be set together');
  }
  const oidc = [config.oidcIssuer, config.oidcClientId, config.oidcClientSecret].filter(Boolean).length;
  if (oidc !== 0 && oidc !== 3) {
    problems.push('oidcIssuer, oidcClientId and oidcClientSecret (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET) must be set together');
  }
  if (config.oidcIssuer?.startsWith('http://') && !isLoopback(new URL(config.oidcIssuer).hostname)) {
    problems.push(`oidcIssuer (OIDC_ISSUER): ${config.oidcIssuer} must be https (plain http only on loopback)`);
  }
  if (config.kmsProvider === 'pkcs11' && !(config.pkcs11Module && config.pkcs11TokenLabel && config.pkcs11Pin)) {
    problems.push('kmsProvider pkcs11 needs pkcs11Module, pkcs11TokenLabel and pkcs11Pin (RAMPART_PKCS11_MODULE, RAMPART_PKCS11_TOKEN_LABEL, RAMPART_PKCS11_PIN)');
  }
  if (config.kmsProvider === 'aws-kms' && !config.awsKmsKeyId) {
    problems.push('kmsProvider aws-kms needs awsKmsKeyId (RAMPART_AWS_KMS_KEY_ID)');
  }
  if (config.localRootKeys && config.localRootKeyFile) {
    problems.push('set either localRootKeys or localRootKeyFile (RAMPART_LOCAL_ROOT_KEYS, RAMPART_LOCAL_ROOT_KEY_FILE), not both');
  }
  if (Array.isArray(config.trustProxy)) {
    for (const entry of config.trustProxy) if (!isAddressOrCidr(entry)) problems.push(`trustProxy: "${entry}" is not an IP address or CIDR`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError([`configuration file ${file} is not valid JSON`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError([`configuration file ${file} must hold a JSON object`]);
  }
  return value as Record<string, unknown>;
}

function isAddressOrCidr(value: string): boolean {
  const [addr, bits, extra] = value.split('/');
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Whether a host name or address (bracketed IPv6 and IPv4-mapped IPv6 included) is this machine. */
export function isLoopback(host: string): boolean {
  const h = host
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/^::ffff:(?=\d+\.)/, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export function tlsEnabled(config: Config): boolean {
  return Boolean(config.tlsCertFile && config.tlsKeyFile);
}

/** The URL users reach this instance at, without a trailing slash. */
export function publicUrl(config: Config, boundPort?: number): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${tlsEnabled(config) ? 'https' : 'http'}://${host}:${boundPort ?? config.port}`;
}

export function objectStorageDir(config: Config): string {
  return path.resolve(config.objectStorageDir ?? path.join(config.dataDir, 'objects'));
}

export interface SafetyReport {
  /** Settings that refuse to start outside development mode. */
  readonly unsafe: readonly string[];
}

/**
 * The settings that must not happen silently. Outside development mode any of them stops the
 * start with a clear message; in development mode each is printed as a warning.
 */
export function checkSafety(config: Config): SafetyReport {
  const unsafe: string[] = [];
  if (!isLoopback(config.host) && !tlsEnabled(config)) {
    const proxied = config.trustProxy !== false && (config.publicUrl ?? '').startsWith('https://');
    if (!proxied) {
      unsafe.push(
        `listening on ${config.host} (not loopback) over plain HTTP: configure TLS (RAMPART_TLS_CERT_FILE, RAMPART_TLS_KEY_FILE), ` +
          'or terminate TLS at a trusted proxy (RAMPART_TRUST_PROXY and an https RAMPART_PUBLIC_URL)',
      );
    }
  }
  if (!config.rootSecret) {
    unsafe.push('no root secret: set RAMPART_ROOT_SECRET (generate one with `rampart secret`)');
  }
  if (config.oidcIssuer && !config.publicUrl) {
    unsafe.push('OpenID Connect is configured without RAMPART_PUBLIC_URL: the redirect URI registered at the provider must be built from the public URL');
  }
  if (config.publicUrl?.startsWith('http://') && !isLoopback(new URL(config.publicUrl).hostname)) {
    unsafe.push(`the public URL ${config.publicUrl} is plain HTTP on a non-loopback host`);
  }
  return { unsafe };
}

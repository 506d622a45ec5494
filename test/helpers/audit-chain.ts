/**
 * What the audit tests do to chains: fill a workspace's chain, and tamper with it as someone with
 * full access to the database could (triggers off), but without the checkpoint signing key.
 */
import { parsePublicKeys } from '../../src/platform/audit/verify-file.js';
import type { PublicKeyInfo } from '../../src/platform/audit/verify.js';
import { tenantContext } from '../../src/platform/db/types.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './app.js';
import type { Backend } from './backends.js';

export const DAY_MS = 86_400_000;

/** A workspace with `n` events of its owner's own (beyond those its creation recorded), all chained. */
export async function workspaceWith(t: TestApp, owner: Caller, n: number, name = 'Audited'): Promise<string> {
  const ws = (await createWorkspace(t, owner, name)).id;
  await recordEvents(t, ws, n, 'test.event', owner);
  return ws;
}

/** Records `n` more events in the workspace's chain (by `by`, or the system), and chains them. */
export async function recordEvents(t: TestApp, ws: string, n: number, action = 'test.event', by?: Caller): Promise<void> {
  const ctx = tenantContext(ws, null);
  const actor = by ? ({ type: 'account', id: by.accountId } as const) : null;
  for (let i = 0; i < n; i++) {
    await t.services.workspaceEvents.record(ctx, actor, { action, outcome: 'success', details: { i } }, null);
  }
  await t.services.audit.sequence(ws);
}

/**
 * Runs statements as the database superuser with triggers off: what someone with full access to
 * the database could do. One DO block, so it is one transaction on every backend.
 */
export function withoutTriggers(t: TestApp, statements: readonly string[]): Promise<unknown> {
  return t.database.raw(`DO $$ BEGIN PERFORM set_config('session_replication_role', 'replica', true); ${statements.map((x) => `${x};`).join(' ')} END $$`);
}

/** SQL literals for the statements above. */
export const sqlBytes = (b: Buffer): string => `'\\x${b.toString('hex')}'::bytea`;
export const sqlText = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The keys the server publishes at /api/v1/audit/public-keys, as a verifier reads them. */
export async function publishedKeys(t: TestApp): Promise<PublicKeyInfo[]> {
  const res = await t.app.inject({ method: 'GET', url: '/api/v1/audit/public-keys' });
  if (res.statusCode !== 200) throw new Error(`public keys: ${res.statusCode}`);
  return parsePublicKeys(res.body);
}

/** The app an audit test file runs on: the backend's database, a signed-up owner, the one published key. */
export async function openAuditApp(backend: Backend, options: { poolSize?: number } = {}): Promise<{ t: TestApp; owner: Caller; keys: PublicKeyInfo[] }> {
  const t = await buildTestApp(backend, {}, options);
  const owner = await signUp(t, 'owner');
  const keys = await publishedKeys(t);
  if (keys.length !== 1) throw new Error(`expected one published key, found ${keys.length}`);
  return { t, owner, keys };
}

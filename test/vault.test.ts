/**
 * The per-tenant secrets vault and the keys API on every backend: values are write-only through
 * the API, encrypted at rest, read only by server-side code (as a `Secret`, recorded as an
 * event); key status, rotation, retirement and own-key settings answer only those allowed.
 */
import { inspect } from 'node:util';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../src/platform/db/types.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, latestLinkToken, signUp, type Caller, type TestApp } from './helpers/app.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

function code(res: LightMyRequestResponse): string | undefined {
  return res.statusCode >= 400 ? res.json<{ error: { code: string } }>().error.code : undefined;
}

describe.each(BACKENDS)('secrets vault and keys API on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let admin: Caller;
  let member: Caller;
  let ws: string;
  /** Every response body this suite saw: no secret value may be in any of them. */
  const seen: string[] = [];

  const call = async (who: Caller, method: Method, url: string, payload?: Record<string, unknown>) => {
    const res = await t.app.inject({ method, url, headers: who.bearer, ...(payload ? { payload } : {}) });
    seen.push(res.body);
    return res;
  };
  const base = () => `/api/v1/workspaces/${ws}`;

  async function join(role: 'admin' | 'member'): Promise<Caller> {
    const who = await signUp(t, role);
    const roles = (await call(owner, 'GET', `${base()}/roles`)).json<{ data: Array<{ id: string; builtin: string | null }> }>().data;
    const roleId = roles.find((r) => r.builtin === role)?.id;
    const invite = await call(owner, 'POST', `${base()}/invitations`, { email: who.email, roleId });
    expect(invite.statusCode, invite.body).toBe(201);
    const token = await latestLinkToken(t, who.email);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/invitations/accept', headers: who.bearer, payload: { token } })).statusCode).toBe(200);
    return who;
  }

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Vaulted')).id;
    admin = await join('admin');
    member = await join('member');
  });
  afterAll(async () => t?.close());

  it('stores, lists, rotates and deletes secrets; values never come back, and are ciphertext at rest', async () => {
    const value = 'xoxb-0000-secret-value-for-slack';
    const created = await call(admin, 'POST', `${base()}/secrets`, { integration: 'slack', name: 'bot-token', value });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    expect(created.json()).toMatchObject({ path: `tenants/${ws}/integrations/slack/bot-token`, integration: 'slack', name: 'bot-token', version: 1, lastUsedAt: null });
    const nested = await call(admin, 'POST', `${base()}/secrets`, { integration: 'github', name: 'oauth/refresh-token', value: 'ghr_nested-secret-value' });
    expect(nested.json()).toMatchObject({ path: `tenants/${ws}/integrations/github/oauth/refresh-token` });

    expect(code(await call(admin, 'POST', `${base()}/secrets`, { integration: 'slack', name: 'bot-token', value: 'again-and-again' }))).toBe('secret_exists');
    const list = await call(admin, 'GET', `${base()}/secrets`);
    expect(list.json<{ data: Array<{ path: string }> }>().data.map((s) => s.path)).toEqual([
      `tenants/${ws}/integrations/github/oauth/refresh-token`,
      `tenants/${ws}/integrations/slack/bot-token`,
    ]);
    expect((await call(admin, 'GET', `${base()}/secrets/integrations/github/oauth/refresh-token`)).json()).toMatchObject({ version: 1 });

    const [row] = await t.database.raw<{ value: Buffer; value_format: number; key_version: number }>('SELECT value, value_format, key_version FROM secrets WHERE id = $1', [id]);
    expect(row?.value_format).toBe(1);
    expect(row?.key_version).toBe(1);
    expect(row?.value.includes(Buffer.from(value))).toBe(false);

    const rotated = await call(admin, 'PUT', `${base()}/secrets/integrations/slack/bot-token`, { value: 'xoxb-1111-rotated-secret-value' });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json()).toMatchObject({ version: 2 });

    // Server-side code reads it; the read is an event naming the purpose, and the value prints as [redacted].
    const revealed = await t.services.vault.reveal(tenantContext(ws, null), 'slack', 'bot-token', 'post a message');
    expect(revealed.reveal()).toBe('xoxb-1111-rotated-secret-value');
    expect(String(revealed)).toBe('[redacted]');
    expect(JSON.stringify({ revealed })).toBe('{"revealed":"[redacted]"}');
    expect(inspect(revealed)).not.toContain('xoxb');
    expect((await call(admin, 'GET', `${base()}/secrets/integrations/slack/bot-token`)).json<{ lastUsedAt: string | null }>().lastUsedAt).not.toBeNull();

    expect((await call(admin, 'DELETE', `${base()}/secrets/integrations/slack/bot-token`)).statusCode).toBe(204);
    expect(code(await call(admin, 'GET', `${base()}/secrets/integrations/slack/bot-token`))).toBe('secret_not_found');
    expect(code(await call(admin, 'PUT', `${base()}/secrets/integrations/slack/bot-token`, { value: 'x-new-value-here' }))).toBe('secret_not_found');
    await expect(t.services.vault.reveal(tenantContext(ws, null), 'slack', 'bot-token', 'x')).rejects.toMatchObject({ code: 'secret_not_found' });

    const events = await t.database.raw<{ action: string; details: Record<string, unknown> }>(
      "SELECT action, details FROM workspace_events WHERE tenant_id = $1 AND action LIKE 'secret.%' ORDER BY created_at, id",
      [ws],
    );
    expect(events.map((e) => e.action)).toEqual(['secret.created', 'secret.created', 'secret.rotated', 'secret.read', 'secret.deleted']);
    expect(events[3]?.details).toMatchObject({ path: `tenants/${ws}/integrations/slack/bot-token`, purpose: 'post a message', version: 2 });
    for (const body of seen) {
      for (const v of [value, 'xoxb-1111-rotated-secret-value', 'ghr_nested-secret-value']) expect(body).not.toContain(v);
    }
    expect(JSON.stringify(events)).not.toContain('xoxb');
  });

  it('refuses bad paths and values with 400, and members without integrations:manage with 403', async () => {
    for (const payload of [
      { integration: 'Slack', name: 'token', value: 'v-long-enough' },
      { integration: 'slack', name: '../token', value: 'v-long-enough' },
      { integration: 'slack', name: 'a/b/c/d/e', value: 'v-long-enough' },
      { integration: 'slack', name: 'token', value: '' },
      { integration: 'slack', name: 'token', value: 'x'.repeat(16_385) },
      { integration: 'slack', name: 'token', value: 'ok-value', extra: true },
    ]) {
      expect(code(await call(admin, 'POST', `${base()}/secrets`, payload)), JSON.stringify(payload).slice(0, 80)).toBe('validation_failed');
    }
    // A malformed path segment is a malformed identifier.
    expect(code(await call(admin, 'GET', `${base()}/secrets/integrations/slack/..%2Fetc`))).toBe('invalid_id');
    expect(code(await call(member, 'GET', `${base()}/secrets`))).toBe('forbidden');
    expect(code(await call(member, 'POST', `${base()}/secrets`, { integration: 'slack', name: 'member', value: 'member-value-1' }))).toBe('forbidden');
    expect((await t.database.raw("SELECT 1 FROM secrets WHERE name = 'member'")).length).toBe(0);
  });

  it("shows key status to keys:manage holders; only the owner sets the workspace's own key", async () => {
    await call(owner, 'POST', `${base()}/collections`, { name: 'n' });
    await call(owner, 'POST', `${base()}/collections/n/records`, { data: { a: 1 } });
    const status = await call(admin, 'GET', `${base()}/keys`);
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      provider: 'local',
      ownKey: null,
      currentVersion: 1,
      minDecryptVersion: 1,
      versions: [{ version: 1, provider: 'local', keyRef: 'local:1', state: 'active', rows: { records: 1 } }],
      rotationDays: 90,
    });
    const next = new Date(status.json<{ nextRotationAt: string }>().nextRotationAt).getTime();
    expect(Math.round((next - Date.now()) / 86_400_000)).toBe(90);
    expect(code(await call(member, 'GET', `${base()}/keys`))).toBe('forbidden');
    expect(code(await call(member, 'POST', `${base()}/keys/rotate`))).toBe('forbidden');

    expect(code(await call(admin, 'PUT', `${base()}/keys/own-key`, { provider: 'local', keyRef: 'local:1' }))).toBe('forbidden');
    expect(code(await call(owner, 'PUT', `${base()}/keys/own-key`, { provider: 'local', keyRef: 'local:99' }))).toBe('key_not_usable');
    expect(code(await call(owner, 'PUT', `${base()}/keys/own-key`, { provider: 'aws-kms', keyRef: 'arn:aws:kms:eu-west-1:111122223333:key/x' }))).toBe(
      'kms_provider_not_configured',
    );
    expect(code(await call(owner, 'PUT', `${base()}/keys/own-key`, { provider: 'nope', keyRef: 'x' }))).toBe('validation_failed');
    expect(code(await call(owner, 'POST', `${base()}/keys/retire`, { minVersion: 5 }))).toBe('validation_failed');
    // Nothing changed by any refusal.
    expect((await call(admin, 'GET', `${base()}/keys`)).json()).toMatchObject({ ownKey: null, currentVersion: 1 });
  });
});

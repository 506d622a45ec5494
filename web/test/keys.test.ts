/**
 * Encryption keys and the secrets vault in the console, in Chromium against the real server (see
 * harness.ts): the owner sees the workspace's key (provider, versions, rows under each), rotates
 * it and watches the background rewrap finish, is told why retiring is refused, is refused an
 * own key that does not exist (and can use one that does, and stop); adds, rotates and deletes a
 * secret whose value never comes back to the page; a member is offered neither panel (nor the
 * section that holds them).
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_SECTIONS, openSection, useConsoleHarness } from './harness.js';

const OWNER = 'olivia@example.test';
const MEMBER = 'mike@example.test';

describe('encryption keys and secrets in the console (Chromium)', () => {
  const h = useConsoleHarness();
  const url = (p: string) => `${h.origin}${p}`;

  let owner: Page;
  let oliviaId: string;
  let acmeId: string;
  /** Every response body the owner's page received, for the secret checks. */
  const bodies: Promise<string>[] = [];

  const keys = () => owner.getByTestId('keys-panel');
  const currentVersion = () => keys().getByTestId('key-current-version').getAttribute('data-version');
  const pending = () => keys().getByTestId('key-pending-rewrap').getAttribute('data-pending');
  const versionRow = (v: number) => keys().locator(`[data-testid="key-version"][data-version="${v}"]`);

  beforeAll(async () => {
    oliviaId = await h.createFirstAccount(OWNER, 'Olivia');
  });

  it('shows a new workspace’s keys, then version 1 once content is stored', async () => {
    h.allowHttpErrors(401);
    owner = await h.newPage('owner');
    owner.on('response', (response) => bodies.push(response.text().catch(() => '')));
    await h.signIn(owner, OWNER);
    acmeId = await h.createWorkspace(owner, 'Acme');
    await openSection(owner, 'Encryption and secrets');

    await keys().getByTestId('key-status').waitFor();
    expect(await keys().getByTestId('key-provider').textContent()).toBe('local');
    expect(await currentVersion()).toBe('0');

    // A record through the API: its content is encrypted, under the workspace's first key version.
    expect((await h.apiCall(owner, 'POST', `/api/v1/workspaces/${acmeId}/collections`, { name: 'tickets' })).status).toBe(201);
    const record = await h.apiCall(owner, 'POST', `/api/v1/workspaces/${acmeId}/collections/tickets/records`, { data: { title: 'Printer on fire' } });
    expect(record.status).toBe(201);
    await keys().getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(currentVersion).toBe('1');
    expect(await keys().getByTestId('key-provider').textContent()).toBe('local');
    expect(await keys().getByTestId('key-min-decrypt').textContent()).toBe('decrypts from version 1');
    expect(await keys().getByTestId('key-next-rotation').textContent()).toMatch(/\(every 90 days\)$/);
    expect(await pending()).toBe('0');
    expect(await versionRow(1).getAttribute('data-state')).toBe('active');
    expect(await versionRow(1).getByTestId('key-version-rows').textContent()).toBe('1 record, 0 documents, 0 secrets');
    expect(await versionRow(1).textContent()).toContain('local:1');
  });

  it('rotates: version 2 at once, the rewrap moves the record to it in the background', async () => {
    await keys().getByRole('button', { name: 'Rotate key' }).click();
    await expect.poll(currentVersion).toBe('2');
    expect(await keys().getByRole('status').textContent()).toContain('version 2');
    // The panel asks again by itself until nothing waits.
    await expect.poll(pending, { timeout: 15_000 }).toBe('0');
    expect(await keys().getByTestId('key-pending-rewrap').textContent()).toBe('All content is under the current version.');
    expect(await versionRow(2).getByTestId('key-version-rows').textContent()).toBe('1 record, 0 documents, 0 secrets');
    expect(await versionRow(1).getByTestId('key-version-rows').textContent()).toBe('0 records, 0 documents, 0 secrets');
    expect(await keys().getByTestId('key-rotated-at').textContent()).not.toBe('never');
    // Still readable.
    const records = await h.apiCall(owner, 'GET', `/api/v1/workspaces/${acmeId}/collections/tickets/records`);
    expect((records.json as { data: { data: { title: string } }[] }).data.map((r) => r.data.title)).toEqual(['Printer on fire']);
  });

  it('shows why retiring the old version is refused while caches may still use it', async () => {
    h.allowHttpErrors(409);
    const form = keys().getByRole('form', { name: 'Retire old key versions' });
    expect(await form.getByLabel('Oldest version that may still decrypt').inputValue()).toBe('2');
    await form.getByRole('button', { name: 'Retire older versions' }).click();
    await expect.poll(() => form.getByTestId('retire-error').textContent()).toMatch(/too recent to retire.*Try again in (about \d+ minutes|\d+ seconds?)\./);
    expect(await keys().getByTestId('key-min-decrypt').textContent()).toBe('decrypts from version 1');
  });

  it('refuses an own key that does not exist, and changes nothing', async () => {
    h.allowHttpErrors(400);
    const form = keys().getByRole('form', { name: 'Use your own key' });
    expect(await form.getByLabel('Key provider').locator('option').allTextContents()).toEqual(['aws-kms', 'pkcs11', 'local']);
    expect(await keys().getByTestId('own-key').textContent()).toContain('makes this workspace\'s content unreadable');
    await form.getByLabel('Key provider').selectOption('local');
    await form.getByLabel('Key reference').fill('local:99');
    await form.getByRole('button', { name: 'Save own key' }).click();
    await expect.poll(() => form.getByTestId('own-key-error').textContent()).toBe(
      'The key could not be used: it does not exist, is disabled, or Rampart is not allowed to use it.',
    );
    await keys().getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => keys().getByRole('button', { name: 'Refresh' }).isEnabled()).toBe(true);
    expect(await currentVersion()).toBe('2');
    expect(await keys().getByTestId('key-own').count()).toBe(0);
    expect(await versionRow(3).count()).toBe(0);

    // A provider this instance does not have is named as such.
    await form.getByLabel('Key provider').selectOption('aws-kms');
    await form.getByLabel('Key reference').fill('arn:aws:kms:eu-west-1:111122223333:key/none');
    await form.getByRole('button', { name: 'Save own key' }).click();
    await expect.poll(() => form.getByTestId('own-key-error').textContent()).toContain('not configured on this instance');
  });

  it('uses an own key that exists, then stops using it', async () => {
    const form = keys().getByRole('form', { name: 'Use your own key' });
    await form.getByLabel('Key provider').selectOption('local');
    await form.getByLabel('Key reference').fill('local:1');
    await form.getByRole('button', { name: 'Save own key' }).click();
    await expect.poll(currentVersion).toBe('3');
    expect(await keys().getByTestId('key-own').textContent()).toBe('local local:1');
    await expect.poll(pending, { timeout: 15_000 }).toBe('0');

    const own = keys().getByTestId('own-key-current');
    await own.getByTestId('remove-own-key').click();
    await own.getByTestId('remove-own-key-confirm').click();
    await expect.poll(currentVersion).toBe('4');
    expect(await keys().getByTestId('key-own').count()).toBe(0);
    await keys().getByRole('form', { name: 'Use your own key' }).waitFor();
    await expect.poll(pending, { timeout: 15_000 }).toBe('0');
  });

  it('adds, rotates and deletes a secret; its values never come back to the page', async () => {
    h.allowHttpErrors(409);
    const first = `sk_live_${randomBytes(18).toString('base64url')}`;
    const second = `sk_live_${randomBytes(18).toString('base64url')}`;
    const panel = owner.getByTestId('secrets-panel');
    await panel.getByTestId('secrets-empty').waitFor();

    const form = panel.getByRole('form', { name: 'New secret' });
    const value = form.getByLabel('Secret value');
    expect(await value.getAttribute('type')).toBe('password');
    expect(await value.getAttribute('autocomplete')).toBe('off');
    await form.getByLabel('Integration').fill('stripe');
    await form.getByLabel('Secret name').fill('live/api-key');
    await value.fill(first);
    await form.getByRole('button', { name: 'Add secret' }).click();

    const path = `tenants/${acmeId}/integrations/stripe/live/api-key`;
    const row = panel.locator(`[data-testid="secret"][data-path="${path}"]`);
    await row.waitFor();
    expect(await row.getByTestId('secret-path').textContent()).toBe(path);
    expect(await row.getByTestId('secret-version').textContent()).toBe('version 1');
    expect(await row.textContent()).toContain('never used');
    expect(await value.inputValue()).toBe('');

    // The same path again is refused, with the server's words.
    await form.getByLabel('Secret name').fill('live/api-key');
    await value.fill(second);
    await form.getByRole('button', { name: 'Add secret' }).click();
    await expect.poll(() => form.getByTestId('secret-error').textContent()).toBe('A secret already exists at this path; rotate it instead.');
    expect(await value.inputValue()).toBe('');

    // Rotated: a new version.
    await row.getByRole('button', { name: `Rotate secret ${path}` }).click();
    const rotate = row.getByRole('form', { name: `Rotate ${path}` });
    expect(await rotate.getByLabel('New value').getAttribute('type')).toBe('password');
    await rotate.getByLabel('New value').fill(second);
    await rotate.getByRole('button', { name: 'Save new value' }).click();
    await expect.poll(() => row.getByTestId('secret-version').textContent()).toBe('version 2');
    expect(await rotate.count()).toBe(0);

    // The vault's content is encrypted under the current key version too.
    await keys().getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => versionRow(4).getByTestId('key-version-rows').textContent()).toBe('1 record, 0 documents, 1 secret');

    // Listed after a reload without either value; neither ever reached the page or its storage.
    await owner.reload();
    await expect.poll(() => owner.locator(`[data-testid="secret"][data-path="${path}"]`).getByTestId('secret-version').textContent()).toBe('version 2');
    const html = await owner.content();
    const stored = await owner.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    const received = await Promise.all(bodies);
    expect(received.length).toBeGreaterThan(10);
    for (const secret of [first, second]) {
      expect(html).not.toContain(secret);
      expect(stored).not.toContain(secret);
      expect(received.filter((b) => b.includes(secret))).toEqual([]);
    }

    const listed = owner.locator(`[data-testid="secret"][data-path="${path}"]`);
    await listed.getByTestId('delete-secret').click();
    await listed.getByTestId('delete-secret-confirm').click();
    await owner.getByTestId('secrets-panel').getByTestId('secrets-empty').waitFor();
    expect(await owner.getByTestId('secrets-panel').getByRole('status').textContent()).toBe(`Secret ${path} deleted.`);
    const after = await h.apiCall(owner, 'GET', `/api/v1/workspaces/${acmeId}/secrets`);
    expect(after.json).toEqual({ data: [] });
  });

  it('offers a member neither the keys nor the secrets, and the server refuses both', async () => {
    h.allowHttpErrors(401, 403);
    const mike = await h.newMemberPage(acmeId, oliviaId, MEMBER, 'Mike');

    const before = h.requestedUrls.length;
    await mike.goto(url(`/w/${acmeId}/collections`));
    await expect.poll(() => mike.getByTestId('workspace-role').allTextContents()).toEqual(['Member']);
    await mike.getByTestId('collection-link').filter({ hasText: 'tickets' }).waitFor();
    expect(await mike.getByTestId('workspace-nav').getByRole('link').allTextContents()).toEqual(MEMBER_SECTIONS);
    await openSection(mike, 'Documents');
    await mike.getByTestId('documents-empty').waitFor();
    // Opened by its address, the section says which scopes it needs, and shows neither panel.
    await mike.goto(url(`/w/${acmeId}/encryption`));
    await expect.poll(() => mike.getByTestId('section-forbidden').textContent()).toContain('keys:manage');
    expect(await mike.getByTestId('keys-panel').count()).toBe(0);
    expect(await mike.getByTestId('secrets-panel').count()).toBe(0);
    // Nor does any page ask for them.
    expect(h.requestedUrls.slice(before).filter((u) => /\/api\/.*\/(keys|secrets)\b/.test(u))).toEqual([]);

    expect((await h.apiCall(mike, 'GET', `/api/v1/workspaces/${acmeId}/keys`)).status).toBe(403);
    expect((await h.apiCall(mike, 'GET', `/api/v1/workspaces/${acmeId}/secrets`)).status).toBe(403);
  });
});

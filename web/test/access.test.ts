/**
 * Workspace access control in the console, in Chromium against the real server (see harness.ts):
 * custom roles and the scope matrix, invitations by email (accepted signed in, after signing
 * in, and refused to another account), members' roles and removal, API keys (the secret shown
 * once, used against the API, revoked), ownership transfer, and what a member without
 * management scopes is (not) offered.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OWNER_SECTIONS, signedInAs, submitPassword, useConsoleHarness } from './harness.js';

const OWNER = 'olivia@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@example.test';
const INVITATION = '/invitations/accept';

/** Every scope, in catalogue order, as the server lists them. */
const ALL_SCOPES = [
  'workspace:read',
  'settings:manage',
  'members:read',
  'members:manage',
  'roles:manage',
  'invitations:manage',
  'api-keys:manage',
  'records:read',
  'records:write',
  'collections:manage',
  'documents:read',
  'documents:write',
  'integrations:manage',
  'keys:manage',
  'sso:manage',
  'audit:read',
  'staff-access:approve',
  'workspace:delete',
  'ownership:transfer',
  'keys:configure',
];
const VIEWER_SCOPES = ['workspace:read', 'records:read', 'documents:read'];

describe('workspace access in the console (Chromium)', () => {
  const h = useConsoleHarness();
  const url = (p: string) => `${h.origin}${p}`;
  const pathOf = (page: Page) => new URL(page.url()).pathname;

  let owner: Page;
  let acmeId: string;

  /** Opens a section of the current workspace from its navigation. */
  async function openSection(page: Page, name: 'Data' | 'Members' | 'Roles' | 'Invitations' | 'API keys'): Promise<void> {
    await page.getByTestId('workspace-nav').getByRole('link', { name, exact: true }).click();
  }

  /** The scopes the matrix shows as granted to a role, in row order. */
  async function matrixScopes(page: Page, role: string): Promise<string[]> {
    return page
      .locator(`[data-testid="scope-matrix"] td[data-role="${role}"][data-granted="true"]`)
      .evaluateAll((cells) => cells.map((c) => c.getAttribute('data-scope') ?? ''));
  }

  const memberRow = (page: Page, email: string) => page.locator(`[data-testid="member"][data-email="${email}"]`);

  const api = (path: string, secret: string) =>
    fetch(`${h.server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${secret}`, accept: 'application/json' } });

  beforeAll(async () => {
    // The first account (from the setup link), the owner of the workspace under test.
    await h.createFirstAccount(OWNER, 'Olivia');
  });

  it('signs the owner in; a new workspace shows every section and the owner role', async () => {
    h.allowHttpErrors(401);
    owner = await h.newPage('owner');
    await h.signIn(owner, OWNER);
    acmeId = await h.createWorkspace(owner, 'Acme');
    expect(await owner.getByTestId('workspace-role').allTextContents()).toEqual(['Owner']);
    expect(await owner.getByTestId('workspace-nav').getByRole('link').allTextContents()).toEqual(OWNER_SECTIONS);
    await owner.getByTestId('workspace-settings').getByLabel('Workspace name', { exact: true }).waitFor();
    await owner.getByTestId('workspace-settings').getByLabel('Type the workspace name to confirm').waitFor();

    // Something for the others to read.
    await owner.getByLabel('New collection name').fill('tickets');
    await owner.getByRole('button', { name: 'Create collection' }).click();
    await owner.getByTestId('new-record').click();
    await owner.getByTestId('record-drawer').getByLabel('Record JSON').fill('{"title": "Printer on fire"}');
    await owner.getByTestId('record-drawer').getByRole('button', { name: 'Create record' }).click();
    await expect.poll(() => owner.getByTestId('record-row').count()).toBe(1);
    await owner.keyboard.press('Escape');
  });

  it('creates a custom role in the roles page and shows its scopes in the matrix', async () => {
    await openSection(owner, 'Roles');
    expect(pathOf(owner)).toBe(`/w/${acmeId}/roles`);
    await expect.poll(() => owner.getByTestId('role-name').allTextContents()).toEqual(['Owner', 'Admin', 'Member']);
    await expect.poll(() => owner.getByTestId('matrix-role').allTextContents()).toEqual(['Owner', 'Admin', 'Member']);
    // The matrix has a row per scope of the catalogue, in its order.
    expect(await owner.locator('[data-testid="scope-matrix"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-scope')))).toEqual(
      ALL_SCOPES,
    );
    expect(await matrixScopes(owner, 'Owner')).toEqual(ALL_SCOPES);
    expect(await matrixScopes(owner, 'Admin')).toEqual(ALL_SCOPES.filter((s) => s !== 'workspace:delete' && s !== 'ownership:transfer' && s !== 'keys:configure'));
    // Built-ins cannot be edited or deleted.
    expect(await owner.getByRole('button', { name: /^(Edit|Delete) role / }).count()).toBe(0);

    await owner.getByRole('button', { name: 'New role' }).click();
    const form = owner.getByRole('form', { name: 'New role' });
    await form.getByLabel('Role name').fill('Viewer');
    await form.getByLabel('Description (optional)').fill('Reads records and documents');
    // Owner-only scopes are never offered; workspace:read comes ticked.
    expect(await form.getByRole('checkbox', { name: 'workspace:delete' }).count()).toBe(0);
    expect(await form.getByRole('checkbox', { name: 'workspace:read', exact: true }).isChecked()).toBe(true);
    // Nothing else chosen yet is fine; a role without any scope is caught before sending.
    await form.getByRole('checkbox', { name: 'workspace:read', exact: true }).uncheck();
    await form.getByRole('button', { name: 'Create role' }).click();
    await expect.poll(() => form.getByTestId('role-form-error').textContent()).toBe('Choose at least one scope.');
    for (const scope of VIEWER_SCOPES) await form.getByRole('checkbox', { name: scope, exact: true }).check();
    await form.getByRole('button', { name: 'Create role' }).click();

    await expect.poll(() => owner.getByTestId('role-name').allTextContents()).toEqual(['Owner', 'Admin', 'Member', 'Viewer']);
    await expect.poll(() => owner.getByTestId('matrix-role').allTextContents()).toEqual(['Owner', 'Admin', 'Member', 'Viewer']);
    expect(await matrixScopes(owner, 'Viewer')).toEqual(VIEWER_SCOPES);
    const viewer = owner.getByTestId('role').filter({ hasText: 'Viewer' });
    expect(await viewer.textContent()).toContain('3 scopes · 0 members');

    // The server's refusal is shown as it says: the name is taken (whatever its case).
    h.allowHttpErrors(409);
    await owner.getByRole('button', { name: 'New role' }).click();
    const again = owner.getByRole('form', { name: 'New role' });
    await again.getByLabel('Role name').fill('viewer');
    await again.getByRole('button', { name: 'Create role' }).click();
    await expect.poll(() => again.getByTestId('role-form-error').textContent()).toBe('A role with this name already exists.');
    await again.getByRole('button', { name: 'Cancel' }).click();

    // Stored as shown.
    const roles = await h.apiCall(owner, 'GET', `/api/v1/workspaces/${acmeId}/roles`);
    expect((roles.json as { data: { name: string; scopes: string[] }[] }).data.find((r) => r.name === 'Viewer')?.scopes).toEqual(VIEWER_SCOPES);
  });

  describe('invitations', () => {
    let bob: Page;

    it('invites an email with the custom role, listed as pending', async () => {
      await openSection(owner, 'Invitations');
      const panel = owner.getByTestId('invitations-panel');
      await panel.getByTestId('invitations-empty').waitFor();
      // The owner role is never offered.
      expect(await panel.getByLabel('Role', { exact: true }).locator('option').allTextContents()).toEqual(['Admin', 'Member', 'Viewer']);
      await panel.getByLabel('Email to invite').fill(BOB);
      await panel.getByLabel('Role', { exact: true }).selectOption({ label: 'Viewer' });
      await panel.getByLabel('Expires after (days)').fill('3');
      await panel.getByRole('button', { name: 'Send invitation' }).click();
      const row = panel.getByTestId('invitation').filter({ hasText: BOB });
      await row.waitFor();
      expect(await row.getAttribute('data-status')).toBe('pending');
      expect(await row.textContent()).toContain('Viewer');

      // A second one for the same address is refused, with the server's words.
      h.allowHttpErrors(409);
      await panel.getByLabel('Email to invite').fill(BOB);
      await panel.getByRole('button', { name: 'Send invitation' }).click();
      await expect.poll(() => panel.getByTestId('invite-error').textContent()).toContain('already pending');
    });

    it('lets the invitee sign up, open the link, see the invitation, accept it, and see only what the role allows', async () => {
      h.allowHttpErrors(401, 403);
      bob = await h.newPage('bob');
      await h.signUpAndVerify(bob, BOB, 'Bob');
      await bob.getByTestId('no-workspaces').waitFor();

      const link = await h.emailLink(BOB, INVITATION);
      const token = link.split('#token=')[1]!;
      await bob.goto(link);
      const preview = bob.getByTestId('invitation-preview');
      await preview.waitFor();
      expect(await bob.getByRole('heading', { level: 1 }).textContent()).toBe('Join Acme');
      expect(await bob.getByTestId('invitation-workspace').textContent()).toBe('Acme');
      expect(await bob.getByTestId('invitation-role').textContent()).toBe('Viewer');
      expect(await bob.getByTestId('invitation-for').textContent()).toBe(BOB);
      expect(await preview.textContent()).toContain('Olivia');
      // The token left the address bar at once and went only into request bodies.
      expect(new URL(bob.url()).hash).toBe('');
      expect(h.requestedUrls.filter((u) => u.includes(token))).toEqual([]);

      await bob.getByRole('button', { name: 'Accept invitation' }).click();
      await expect.poll(() => bob.getByTestId('workspace-name').textContent()).toBe('Acme');
      expect(pathOf(bob)).toBe(`/w/${acmeId}`);
      expect(await bob.getByTestId('workspace-role').allTextContents()).toEqual(['Viewer']);
      expect(await bob.getByTestId('workspace-switcher').locator('option:not([disabled])').allTextContents()).toEqual(['Acme']);

      // Records and documents to read, nothing to change.
      await bob.getByTestId('collection-link').filter({ hasText: 'tickets' }).click();
      await expect.poll(() => bob.getByTestId('record-row').count()).toBe(1);
      await bob.getByTestId('documents-empty').waitFor();
      for (const name of ['Create collection', 'New record', 'Upload', 'Delete collection']) {
        expect(await bob.getByRole('button', { name, exact: true }).count(), name).toBe(0);
      }
      // The record opens to be read, not changed.
      await bob.getByTestId('open-record').click();
      expect(JSON.parse((await bob.getByTestId('record-json-view').textContent())!)).toEqual({ title: 'Printer on fire' });
      for (const name of ['Save', 'Delete record']) expect(await bob.getByRole('button', { name, exact: true }).count(), name).toBe(0);
      await bob.keyboard.press('Escape');
      expect(await bob.getByTestId('workspace-settings').count()).toBe(0);
      expect(await bob.getByTestId('workspace-nav').count()).toBe(0);
      // The settings pages say why they are closed, and ask the server for nothing.
      const before = h.requestedUrls.length;
      await bob.goto(url(`/w/${acmeId}/members`));
      await expect.poll(() => bob.getByTestId('section-forbidden').textContent()).toContain('members:read');
      expect(h.requestedUrls.slice(before).filter((u) => u.includes('/members'))).toEqual([`${h.origin}/w/${acmeId}/members`]);
      // And the server agrees.
      const members = await h.apiCall(bob, 'GET', `/api/v1/workspaces/${acmeId}/members`);
      expect(members.status).toBe(403);

      // Used once; the owner no longer lists it.
      h.allowHttpErrors(410);
      await bob.goto(link);
      await expect.poll(() => bob.getByTestId('invitation-error').textContent()).toContain('no longer valid');
      await owner.reload();
      await owner.getByTestId('invitations-empty').waitFor();
    });

    it('brings an invitee who opens the link signed out back to it after signing in, and refuses another account', async () => {
      h.allowHttpErrors(401);
      const carolHome = await h.newPage('carol (sign-up)');
      await h.signUpAndVerify(carolHome, CAROL, 'Carol');

      const panel = owner.getByTestId('invitations-panel');
      await panel.getByLabel('Email to invite').fill(CAROL);
      await panel.getByLabel('Role', { exact: true }).selectOption({ label: 'Member' });
      await panel.getByRole('button', { name: 'Send invitation' }).click();
      await panel.getByTestId('invitation').filter({ hasText: CAROL }).waitFor();
      const link = await h.emailLink(CAROL, INVITATION);

      // Bob, signed in, opens Carol's link: it names her address and offers to switch accounts.
      await bob.goto(link);
      const mismatch = bob.getByTestId('invitation-email-mismatch');
      await mismatch.waitFor();
      expect(await mismatch.textContent()).toContain(`This invitation is for ${CAROL}, but you are signed in as ${BOB}`);
      expect(await bob.getByRole('button', { name: 'Accept invitation' }).count()).toBe(0);

      // A signed-out browser: sign in first, then back to the invitation (the token kept in the tab).
      const carol = await h.newPage('carol');
      await carol.goto(link);
      await carol.getByTestId('invitation-sign-in-first').waitFor();
      expect(new URL(carol.url()).hash).toBe('');
      await carol.getByRole('link', { name: 'Sign in to accept' }).click();
      await expect.poll(() => pathOf(carol)).toBe('/sign-in');
      expect(new URL(carol.url()).searchParams.get('next')).toBe(INVITATION);
      expect(carol.url()).not.toContain('token');
      await submitPassword(carol, CAROL);
      await expect.poll(() => carol.getByTestId('invitation-role').textContent()).toBe('Member');
      expect(pathOf(carol)).toBe(INVITATION);
      await carol.getByRole('button', { name: 'Accept invitation' }).click();
      await expect.poll(() => carol.getByTestId('workspace-name').textContent()).toBe('Acme');
      expect(await carol.getByTestId('workspace-role').allTextContents()).toEqual(['Member']);

      // Switching accounts signs out and keeps the invitation for the next sign-in in this tab.
      await mismatch.getByRole('button', { name: 'Sign out and switch account' }).click();
      await expect.poll(() => pathOf(bob)).toBe('/sign-in');
      expect(new URL(bob.url()).searchParams.get('next')).toBe(INVITATION);
      // Carol accepted it meanwhile: it is no longer valid, and is forgotten. The 410 is allowed
      // before the sign-in, whose click may return after the invitation page has already asked.
      h.allowHttpErrors(410);
      await submitPassword(bob, BOB);
      await expect.poll(() => bob.getByTestId('invitation-error').textContent()).toContain('no longer valid');
      await bob.getByRole('link', { name: 'Go to your workspaces' }).click();
      await expect.poll(() => bob.getByTestId('workspace-name').textContent()).toBe('Acme');
      expect(await bob.getByTestId('invitation-waiting').count()).toBe(0);
    });
  });

  describe('members', () => {
    it('shows a member without members:manage the members and roles, but no way to change them', async () => {
      h.allowHttpErrors(401, 403);
      const carol = await h.newPage('carol (member)');
      await carol.goto(url(`/w/${acmeId}`));
      await submitPassword(carol, CAROL);
      await expect.poll(() => carol.getByTestId('workspace-name').textContent()).toBe('Acme');
      // A member works with records and documents, and sees who is here.
      await carol.getByRole('button', { name: 'Create collection' }).waitFor();
      await carol.getByRole('button', { name: 'Upload' }).waitFor();
      expect(await carol.getByTestId('workspace-settings').count()).toBe(0);
      expect(await carol.getByTestId('workspace-nav').getByRole('link').allTextContents()).toEqual(['Data', 'Members', 'Roles']);

      await openSection(carol, 'Members');
      await expect.poll(() => carol.getByTestId('member').count()).toBe(3);
      expect(await memberRow(carol, OWNER).getByTestId('member-role').allTextContents()).toEqual(['Owner']);
      expect(await memberRow(carol, BOB).getByTestId('member-role').allTextContents()).toEqual(['Viewer']);
      expect(await carol.getByRole('button', { name: /^Change roles/ }).count()).toBe(0);
      expect(await carol.getByTestId('remove-member').count()).toBe(0);
      expect(await carol.getByTestId('transfer-panel').count()).toBe(0);
      expect(await carol.getByTestId('workspace-events-panel').count()).toBe(0);

      await openSection(carol, 'Roles');
      await expect.poll(() => carol.getByTestId('matrix-role').allTextContents()).toEqual(['Owner', 'Admin', 'Member', 'Viewer']);
      expect(await carol.getByRole('button', { name: 'New role' }).count()).toBe(0);
      expect(await carol.getByRole('button', { name: /^(Edit|Delete) role / }).count()).toBe(0);

      await carol.goto(url(`/w/${acmeId}/api-keys`));
      await expect.poll(() => carol.getByTestId('section-forbidden').textContent()).toContain('api-keys:manage');

      // What the console does not offer, the server refuses anyway.
      const refused = await h.apiCall(carol, 'POST', `/api/v1/workspaces/${acmeId}/roles`, { name: 'Mine', scopes: ['records:read'] });
      expect(refused.status).toBe(403);
    });

    it('changes a member’s roles; the owner’s cannot be changed; the role in use cannot be deleted', async () => {
      h.allowHttpErrors(409);
      await openSection(owner, 'Members');
      const bobRow = memberRow(owner, BOB);
      await bobRow.waitFor();
      // The owner's roles change only by transferring ownership.
      const ownerRow = memberRow(owner, OWNER);
      expect(await ownerRow.textContent()).toContain('only by transferring ownership');
      expect(await ownerRow.getByRole('button').count()).toBe(0);

      await bobRow.getByRole('button', { name: `Change roles of ${BOB}` }).click();
      const editor = bobRow.getByRole('form', { name: `Roles of ${BOB}` });
      // Every role but the owner's.
      expect(await editor.getByRole('checkbox').count()).toBe(3);
      await editor.getByRole('checkbox', { name: 'Viewer', exact: true }).uncheck();
      await editor.getByRole('button', { name: 'Save roles' }).click();
      await expect.poll(() => editor.getByTestId('member-roles-error').textContent()).toContain('at least one role');
      await editor.getByRole('checkbox', { name: 'Viewer', exact: true }).check();
      await editor.getByRole('checkbox', { name: 'Member', exact: true }).check();
      await editor.getByRole('button', { name: 'Save roles' }).click();
      const row = memberRow(owner, BOB);
      await expect.poll(() => row.getByTestId('member-role').allTextContents()).toEqual(['Member', 'Viewer']);
      expect(await owner.getByTestId('members-panel').getByRole('status').textContent()).toBe(`Roles of ${BOB} saved.`);

      // Bob's console now offers what a member may do.
      const bob = await h.newPage('bob (member)');
      h.allowHttpErrors(401); // the signed-out session check, which may answer before goto returns
      await bob.goto(url(`/w/${acmeId}`));
      await submitPassword(bob, BOB);
      await expect.poll(() => bob.getByTestId('workspace-role').allTextContents()).toEqual(['Member', 'Viewer']);
      await bob.getByRole('button', { name: 'Create collection' }).waitFor();
      await bob.getByTestId('workspace-nav').getByRole('link', { name: 'Members' }).waitFor();

      // Viewer is still held: deleting it is refused, with the server's reason.
      await openSection(owner, 'Roles');
      const viewer = owner.getByTestId('role').filter({ hasText: 'Viewer' });
      await expect.poll(() => viewer.textContent()).toContain('1 member');
      await viewer.getByTestId('delete-role').click();
      await viewer.getByTestId('delete-role-confirm').click();
      await expect.poll(() => viewer.getByRole('alert').textContent()).toBe('The role is still held by members or pending invitations.');

      // Edited: the matrix follows.
      await viewer.getByRole('button', { name: 'Edit role Viewer' }).click();
      const form = owner.getByRole('form', { name: 'Edit role Viewer' });
      await form.getByRole('checkbox', { name: 'audit:read', exact: true }).check();
      await form.getByRole('button', { name: 'Save role' }).click();
      await expect.poll(() => matrixScopes(owner, 'Viewer')).toEqual([...VIEWER_SCOPES, 'audit:read']);
    });

    it('removes a member after confirmation; the removed member can no longer open the workspace', async () => {
      h.allowHttpErrors(401, 404);
      const bob = await h.newPage('bob (removed)');
      await bob.goto(url(`/w/${acmeId}`));
      await submitPassword(bob, BOB);
      await expect.poll(() => bob.getByTestId('workspace-name').textContent()).toBe('Acme');

      await openSection(owner, 'Members');
      const row = memberRow(owner, BOB);
      await row.getByTestId('remove-member').click();
      expect(await owner.getByTestId('member').count()).toBe(3);
      await row.getByTestId('remove-member-confirm').click();
      await expect.poll(() => owner.getByTestId('member').count()).toBe(2);
      expect(await owner.getByTestId('members-panel').getByRole('status').textContent()).toBe(`${BOB} was removed from the workspace.`);
      // Recorded among the workspace's events, which the owner can read.
      await owner.getByTestId('workspace-events-panel').getByRole('button', { name: 'Refresh' }).click();
      await owner.locator('[data-testid="workspace-event"][data-action="member.removed"]').first().waitFor();

      await bob.reload();
      await bob.getByTestId('workspace-not-found').waitFor();
      expect(await bob.getByTestId('workspace').count()).toBe(0);
      expect(await bob.getByTestId('workspace-switcher').locator('option:not([disabled])').allTextContents()).toEqual([]);

      // No one holds Viewer now: it can go.
      await openSection(owner, 'Roles');
      const viewer = owner.getByTestId('role').filter({ hasText: 'Viewer' });
      await viewer.getByTestId('delete-role').click();
      await viewer.getByTestId('delete-role-confirm').click();
      await expect.poll(() => owner.getByTestId('matrix-role').allTextContents()).toEqual(['Owner', 'Admin', 'Member']);
    });
  });

  it('creates an API key, shows its secret once, the key works until revoked in the console', async () => {
    h.allowHttpErrors(401, 403);
    await openSection(owner, 'API keys');
    const form = owner.getByRole('form', { name: 'New API key' });
    // Scopes one by one: the key's come from the caller's, never the owner-only ones.
    await form.getByRole('radio', { name: 'Custom' }).check();
    await form.getByRole('checkbox', { name: 'records:read', exact: true }).waitFor();
    expect(await form.getByRole('checkbox', { name: 'ownership:transfer' }).count()).toBe(0);
    await form.getByLabel('Key name').fill('Nightly export');
    await form.getByRole('checkbox', { name: 'records:read', exact: true }).check();
    await form.getByRole('button', { name: 'Create API key' }).click();

    const shown = owner.getByTestId('api-key-secret');
    await shown.waitFor();
    expect(await shown.textContent()).toContain('you will not see it again');
    const secret = (await shown.getByTestId('api-key-secret-value').textContent())!.trim();
    expect(secret).toMatch(/^rk_live_[A-Za-z0-9_-]+$/);
    // Kept in memory only.
    const stored = await owner.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.toContain(secret);

    const row = owner.locator('[data-testid="api-key"][data-key-name="Nightly export"]');
    expect(await row.getAttribute('data-status')).toBe('active');
    expect(await row.getByTestId('api-key-scopes').textContent()).toBe('records:read');
    const prefix = (await row.getByTestId('api-key-prefix').textContent())!.replace(/…$/, '');
    expect(secret.startsWith(prefix)).toBe(true);

    // The key works with its scope, in its workspace, and nothing more.
    const collections = await api(`/workspaces/${acmeId}/collections`, secret);
    expect(collections.status).toBe(200);
    expect(((await collections.json()) as { data: { name: string }[] }).data.map((c) => c.name)).toEqual(['tickets']);
    expect((await api(`/workspaces/${acmeId}/documents`, secret)).status).toBe(403);

    await shown.getByRole('button', { name: 'I have saved it' }).click();
    expect(await owner.getByTestId('api-key-secret').count()).toBe(0);
    await owner.reload();
    await expect.poll(() => owner.locator('[data-testid="api-key"][data-key-name="Nightly export"]').count()).toBe(1);
    expect(await owner.locator('body').textContent()).not.toContain(secret);
    await expect.poll(() => owner.locator('[data-testid="api-key"][data-key-name="Nightly export"]').textContent()).toContain('last used');

    const listed = owner.locator('[data-testid="api-key"][data-key-name="Nightly export"]');
    await listed.getByTestId('revoke-api-key').click();
    await listed.getByTestId('revoke-api-key-confirm').click();
    await expect.poll(() => listed.getAttribute('data-status')).toBe('revoked');
    expect(await listed.getByTestId('revoke-api-key').count()).toBe(0);
    expect((await api(`/workspaces/${acmeId}/collections`, secret)).status).toBe(401);
  });

  it('transfers ownership: the new owner gets the owner role, the old one becomes an admin', async () => {
    const handoverId = await h.createWorkspace(owner, 'Handover');
    const olivia = await h.server.services.accounts.accountByEmail(OWNER);
    await h.addMember(handoverId, olivia!.id, CAROL);

    await openSection(owner, 'Members');
    const panel = owner.getByTestId('transfer-panel');

    // Transferring needs a sign-in within 15 minutes: the owner's session is made 16 minutes old.
    h.allowHttpErrors(401);
    await h.server.db.withAccount(olivia!.id, (tx) =>
      tx.query(`UPDATE sessions SET created_at = now() - interval '16 minutes' WHERE account_id = $1 AND revoked_at IS NULL`, [olivia!.id]),
    );
    await panel.getByLabel('New owner').selectOption({ label: `Carol (${CAROL})` });
    await panel.getByRole('button', { name: 'Transfer ownership' }).click();
    await panel.getByRole('button', { name: `Make ${CAROL} the owner` }).click();
    await expect.poll(() => panel.getByTestId('transfer-error').textContent()).toContain('needs a recent sign-in');
    // Still signed in (the session is fine, only not fresh): offered to sign in again, and brought back.
    expect(await signedInAs(owner)).toBe(OWNER);
    await panel.getByRole('button', { name: 'Sign in again' }).click();
    await expect.poll(() => pathOf(owner)).toBe('/sign-in');
    expect(new URL(owner.url()).searchParams.get('next')).toBe(`/w/${handoverId}/members`);
    await submitPassword(owner, OWNER);
    await expect.poll(() => pathOf(owner)).toBe(`/w/${handoverId}/members`);

    await panel.getByLabel('New owner').selectOption({ label: `Carol (${CAROL})` });
    await panel.getByRole('button', { name: 'Transfer ownership' }).click();
    // Asked once more, naming who.
    await panel.getByRole('button', { name: `Make ${CAROL} the owner` }).click();
    await expect.poll(() => owner.getByTestId('workspace-role').allTextContents()).toEqual(['Admin']);
    expect(await owner.getByTestId('transfer-panel').count()).toBe(0);
    // Carol keeps the roles she had.
    await expect.poll(() => memberRow(owner, CAROL).getByTestId('member-role').allTextContents()).toEqual(['Owner', 'Member']);
    expect(await owner.getByTestId('members-panel').getByRole('status').textContent()).toBe(`${CAROL} is now the owner of Handover. You are an admin.`);
    // An admin may not delete the workspace.
    await openSection(owner, 'Data');
    await owner.getByTestId('workspace-settings').getByLabel('Workspace name', { exact: true }).waitFor();
    expect(await owner.getByTestId('workspace-settings').getByLabel('Type the workspace name to confirm').count()).toBe(0);
  });
});

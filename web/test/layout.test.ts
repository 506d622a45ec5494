/**
 * The console's layout and structure in Chromium against the real server (see harness.ts): every
 * section of a workspace, the account's pages and the signed-out pages, each at 390×844 (a phone)
 * and 1440×900 (a laptop), with no horizontal scrolling, no CSP violation or script error (the
 * harness), no serious or critical axe-core violation, and a screenshot of each in
 * artifacts/screenshots/<page>-<width>.png. Then how it behaves: the sidebar and the back button,
 * the phone's menu, the new-workspace dialog, editing the profile's name, the overview's links,
 * and the encryption state following the writes that change it without a reload.
 *
 * One server and one browser serve the whole file; one page is resized between the widths.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, openSection, PASSWORD, REPO, signedInAs, useConsoleHarness } from './harness.js';

const OWNER = 'olivia@example.test';
const MEMBER = 'mike@example.test';
const SHOTS = path.join(REPO, 'artifacts', 'screenshots');
const WIDTHS = [
  { width: 390, height: 844 },
  { width: 1440, height: 900 },
] as const;

describe('console layout at phone and laptop widths, and its structure (Chromium)', () => {
  const h = useConsoleHarness();
  const url = (p: string) => `${h.origin}${p}`;
  const pathOf = (page: Page) => new URL(page.url()).pathname;
  let page: Page;
  let acmeId: string;
  let ownerId: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    page = await h.newPage('owner');
  });

  /** Waits until the page has stopped loading: no request in flight, no "Loading…" left. */
  async function settled(p: Page): Promise<void> {
    await p.waitForLoadState('networkidle');
    await expect.poll(() => p.getByText(/^Loading/).count(), { message: 'still loading' }).toBe(0);
  }

  /**
   * At each width: no horizontal scrolling, no serious or critical axe violation, and a screenshot.
   * `widths` narrows it to one (the phone's menu exists only on a phone).
   */
  async function checkLayout(p: Page, name: string, widths: readonly { width: number; height: number }[] = WIDTHS): Promise<void> {
    for (const size of widths) {
      await p.setViewportSize(size);
      await settled(p);
      // The screenshot first, so that a failing page is there to look at.
      await p.screenshot({ path: path.join(SHOTS, `${name}-${size.width}.png`), fullPage: true });
      const overflow = await p.evaluate(() => {
        const client = document.documentElement.clientWidth;
        // The outermost elements that reach past the right edge, to say what widened the page.
        const wide = [...document.querySelectorAll<HTMLElement>('body *')]
          .filter((el) => el.getBoundingClientRect().right > client + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > client + 0.5))
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''}`);
        return { scroll: document.documentElement.scrollWidth, client, wide };
      });
      expect(overflow.scroll, `${name} at ${size.width} px scrolls sideways (${overflow.wide.join(', ')})`).toBeLessThanOrEqual(overflow.client);
      expect(await accessibilityViolations(p, ['serious', 'critical']), `${name} at ${size.width} px`).toEqual([]);
    }
  }

  /** Calls the API from the page with a multipart body (a document upload). */
  async function upload(p: Page, workspaceId: string, name: string, text: string): Promise<number> {
    return p.evaluate(
      async ({ workspaceId, name, text }) => {
        const session = (await (await fetch('/api/v1/auth/session')).json()) as { csrfToken: string };
        const form = new FormData();
        form.append('file', new Blob([text], { type: 'text/plain' }), name);
        const res = await fetch(`/api/v1/workspaces/${workspaceId}/documents`, { method: 'POST', headers: { 'x-csrf-token': session.csrfToken }, body: form });
        return res.status;
      },
      { workspaceId, name, text },
    );
  }

  describe('every page, at 390 and 1440 px', () => {
    it('the setup notice, before any account exists', async () => {
      h.allowHttpErrors(401); // the signed-out session check
      await page.goto(url('/'));
      await page.getByTestId('setup-needs-link').waitFor();
      await checkLayout(page, 'setup');
    });

    it('sign-in and sign-up', async () => {
      h.allowHttpErrors(401);
      ownerId = await h.createFirstAccount(OWNER, 'Olivia Owner');
      await page.goto(url('/sign-in'));
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      await checkLayout(page, 'sign-in');
      await page.goto(url('/sign-up'));
      await page.getByRole('button', { name: 'Create account' }).waitFor();
      await checkLayout(page, 'sign-up');
    });

    it('the welcome page of an account in no workspace, and the new-workspace dialog it opens', async () => {
      h.allowHttpErrors(401);
      await h.signIn(page, OWNER);
      await page.getByTestId('no-workspaces').waitFor();
      await checkLayout(page, 'welcome');
      await page.getByTestId('no-workspaces').getByRole('button', { name: 'Create a workspace' }).click();
      const dialog = page.getByRole('dialog', { name: 'New workspace' });
      await dialog.waitFor();
      await checkLayout(page, 'new-workspace-dialog');
      await dialog.getByLabel('Workspace name').fill('Acme');
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('Acme');
      acmeId = /\/w\/([0-9a-f-]{36})/.exec(pathOf(page))![1]!;
    });

    it('seeds the workspace: records, a document, a secret, a member, an invitation, an API key, a domain', async () => {
      const base = `/api/v1/workspaces/${acmeId}`;
      expect((await h.apiCall(page, 'POST', `${base}/collections`, { name: 'tickets' })).status).toBe(201);
      for (const data of [
        { title: 'Printer on fire', status: 'open' },
        { title: 'A long token that must wrap in its own cell', token: 'x'.repeat(180) },
      ]) {
        expect((await h.apiCall(page, 'POST', `${base}/collections/tickets/records`, { data })).status).toBe(201);
      }
      expect(await upload(page, acmeId, 'quarterly-report-with-a-rather-long-file-name-2025.txt', 'numbers')).toBe(201);
      expect((await h.apiCall(page, 'POST', `${base}/secrets`, { integration: 'github', name: 'token', value: 'ghp_not-a-real-token' })).status).toBe(201);
      const roles = (await h.apiCall(page, 'GET', `${base}/roles`)).json as { data: { id: string; builtin: string | null }[] };
      const memberRole = roles.data.find((r) => r.builtin === 'member')!.id;
      expect((await h.apiCall(page, 'POST', `${base}/invitations`, { email: 'invited.person@example.test', roleId: memberRole })).status).toBe(201);
      expect((await h.apiCall(page, 'POST', `${base}/api-keys`, { name: 'Reporting job', scopes: ['records:read'] })).status).toBe(201);
      expect((await h.apiCall(page, 'POST', `${base}/domains`, { domain: 'acme-corp.test' })).status).toBe(201);
      expect((await h.apiCall(page, 'POST', `${base}/roles`, { name: 'Support', description: 'Reads records', scopes: ['records:read', 'members:read'] })).status).toBe(201);
      h.allowHttpErrors(401); // the new member's signed-out session check
      const member = await h.newMemberPage(acmeId, ownerId, MEMBER, 'Mike Member');
      await member.close();
    });

    const sections: readonly [string, string, string][] = [
      ['overview', '', 'Overview'],
      ['collections', '/collections', 'Collections'],
      ['collection', '/c/tickets', 'Collection tickets'],
      ['documents', '/documents', 'Documents'],
      ['members', '/members', 'Members'],
      ['invitations', '/invitations', 'Invitations'],
      ['roles', '/roles', 'Roles'],
      ['sso', '/sso', 'Single sign-on'],
      ['sso-scim', '/sso?tab=scim', 'Single sign-on'],
      ['sso-domains', '/sso?tab=domains', 'Single sign-on'],
      ['sso-groups', '/sso?tab=groups', 'Single sign-on'],
      ['sso-setup-links', '/sso?tab=setup-links', 'Single sign-on'],
      ['sso-attempts', '/sso?tab=attempts', 'Single sign-on'],
      ['api-keys', '/api-keys', 'API keys'],
      ['encryption', '/encryption', 'Encryption and secrets'],
      ['access-requests', '/access-requests', 'Access requests'],
      ['access-log', '/access-log', 'Access log'],
      ['audit', '/audit', 'Audit log'],
      ['settings', '/settings', 'Settings'],
    ];

    it.each(sections)('%s', async (name, suffix, title) => {
      h.allowHttpErrors(404); // the overview, until the server answers it
      await page.goto(url(`/w/${acmeId}${suffix}`));
      await page.getByRole('heading', { level: 1, name: title, exact: true }).waitFor();
      await checkLayout(page, name);
    });

    it('an audit event’s details, in a drawer beside the log', async () => {
      await page.goto(url(`/w/${acmeId}/audit`));
      await page.getByTestId('audit-event').first().waitFor();
      await page.getByTestId('audit-event').first().getByRole('button', { name: /^Details of event \d+$/ }).click();
      const drawer = page.getByRole('dialog', { name: /^Event \d+: / });
      await drawer.waitFor();
      await checkLayout(page, 'audit-details');
      // The hash, a 64-character token, wraps inside the drawer instead of widening it.
      const box = await drawer.boundingBox();
      const hash = await drawer.locator('code.hash').first().boundingBox();
      expect(hash!.x + hash!.width).toBeLessThanOrEqual(box!.x + box!.width);
      await page.keyboard.press('Escape');
      await expect.poll(() => drawer.isVisible()).toBe(false);
    });

    it.each([
      ['account', '/account', 'Profile'],
      ['account-security', '/account/security', 'Security'],
      ['account-sessions', '/account/sessions', 'Sessions'],
      ['get-started', '/get-started', 'Get started with Rampart'],
    ] as const)('%s', async (name, where, title) => {
      await page.goto(url(where));
      await page.getByRole('heading', { level: 1, name: title, exact: true }).waitFor();
      await checkLayout(page, name);
    });

    it.each([
      ['overview', ''],
      ['audit', '/audit'],
      ['members', '/members'],
    ] as const)('%s in dark mode (from prefers-color-scheme)', async (name, suffix) => {
      await page.emulateMedia({ colorScheme: 'dark' });
      try {
        await page.goto(url(`/w/${acmeId}${suffix}`));
        await page.getByTestId('workspace').waitFor();
        // The colours come from the dark tokens, and still pass axe's contrast checks.
        expect(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).toBe('rgb(20, 23, 27)');
        await checkLayout(page, `${name}-dark`);
      } finally {
        await page.emulateMedia({ colorScheme: 'light' });
      }
    });

    it('the phone’s menu, open', async () => {
      h.allowHttpErrors(404);
      await page.setViewportSize(WIDTHS[0]);
      await page.goto(url(`/w/${acmeId}`));
      await page.getByTestId('menu-button').click();
      await page.getByTestId('workspace-nav').getByRole('link', { name: 'Members' }).waitFor();
      await checkLayout(page, 'menu', [WIDTHS[0]]);
    });
  });

  describe('behaviour', () => {
    it('the sidebar opens each section at its own URL, and Back and Forward retrace them', async () => {
      h.allowHttpErrors(404);
      await page.setViewportSize(WIDTHS[1]);
      await page.goto(url(`/w/${acmeId}`));
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      expect(await page.getByTestId('menu-button').isVisible()).toBe(false);

      await openSection(page, 'Members');
      expect(pathOf(page)).toBe(`/w/${acmeId}/members`);
      expect(await page.getByTestId('nav-members').getAttribute('aria-current')).toBe('page');
      await page.getByTestId('member').first().waitFor();
      await openSection(page, 'Audit log');
      expect(pathOf(page)).toBe(`/w/${acmeId}/audit`);
      expect(await page.getByTestId('nav-members').getAttribute('aria-current')).toBe(null);

      await page.goBack();
      await page.getByRole('heading', { level: 1, name: 'Members', exact: true }).waitFor();
      expect(pathOf(page)).toBe(`/w/${acmeId}/members`);
      await page.goBack();
      await page.getByRole('heading', { level: 1, name: 'Overview', exact: true }).waitFor();
      expect(pathOf(page)).toBe(`/w/${acmeId}`);
      await page.goForward();
      await page.getByRole('heading', { level: 1, name: 'Members', exact: true }).waitFor();

      // Sections group as Data, People and Security.
      const groups = await page.getByTestId('workspace-nav').locator('.nav-group-title').allTextContents();
      expect(groups).toEqual(['Data', 'People', 'Security']);
    });

    it('on a phone the sidebar is a menu: it opens from the top bar, closes with Esc or once a link is followed', async () => {
      await page.setViewportSize(WIDTHS[0]);
      await page.goto(url(`/w/${acmeId}/members`));
      await page.getByRole('heading', { level: 1, name: 'Members', exact: true }).waitFor();
      const menu = page.getByTestId('menu-button');
      const documents = page.getByTestId('workspace-nav').getByRole('link', { name: 'Documents' });
      expect(await documents.isVisible()).toBe(false);
      expect(await menu.getAttribute('aria-expanded')).toBe('false');

      await menu.click();
      await expect.poll(() => documents.isVisible()).toBe(true);
      expect(await menu.getAttribute('aria-expanded')).toBe('true');
      await page.keyboard.press('Escape');
      await expect.poll(() => documents.isVisible()).toBe(false);
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('menu-button');

      await menu.click();
      await documents.click();
      await page.getByRole('heading', { level: 1, name: 'Documents', exact: true }).waitFor();
      expect(pathOf(page)).toBe(`/w/${acmeId}/documents`);
      await expect.poll(() => documents.isVisible()).toBe(false);
      expect(await menu.getAttribute('aria-expanded')).toBe('false');
    });

    it('a new workspace is a dialog from the switcher: focus inside, Esc closes it, a refusal is shown, then it opens the new workspace', async () => {
      await page.setViewportSize(WIDTHS[1]);
      await page.goto(url(`/w/${acmeId}/members`));
      await page.getByRole('heading', { level: 1, name: 'Members', exact: true }).waitFor();
      // Never a form on the page itself.
      expect(await page.getByLabel('Workspace name').count()).toBe(0);

      const opener = page.getByRole('button', { name: 'New workspace', exact: true });
      await opener.click();
      const dialog = page.getByRole('dialog', { name: 'New workspace' });
      await dialog.waitFor();
      expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)).toBe('workspace-name');
      // The keyboard stays in the dialog.
      for (let i = 0; i < 6; i += 1) {
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null || document.activeElement === document.body)).toBe(true);
      }
      await page.keyboard.press('Escape');
      await expect.poll(() => dialog.isVisible()).toBe(false);
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('new-workspace');
      expect(pathOf(page)).toBe(`/w/${acmeId}/members`);

      // Without a name the form is not sent (the field says it is required).
      await opener.click();
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      expect(await dialog.getByLabel('Workspace name').evaluate((input: HTMLInputElement) => input.validity.valueMissing)).toBe(true);
      expect(await dialog.isVisible()).toBe(true);
      // A name of spaces only is refused before anything is sent.
      await dialog.getByLabel('Workspace name').fill('   ');
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      expect(await dialog.getByTestId('new-workspace-error').textContent()).toBe('Give the workspace a name.');
      h.allowHttpErrors(400);
      await dialog.getByLabel('Workspace name').fill('Beta');
      await dialog.getByLabel('Region (optional)').fill('mars');
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      await expect.poll(() => dialog.getByTestId('new-workspace-error').textContent()).toMatch(/region/i);
      await dialog.getByLabel('Region (optional)').fill('');
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('Beta');
      expect(await dialog.isVisible()).toBe(false);
      expect(pathOf(page)).toMatch(/^\/w\/[0-9a-f-]{36}$/);
      expect(pathOf(page)).not.toBe(`/w/${acmeId}`);
      expect(await page.getByTestId('toast').textContent()).toContain('Workspace Beta created.');
      expect(await page.getByTestId('workspace-switcher').locator('option').allTextContents()).toEqual(['Acme', 'Beta']);
    });

    it('the profile’s name is edited in place, the account menu follows; a new address shows as pending, after a reload too, until cancelled', async () => {
      await page.goto(url('/account'));
      await page.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
      const form = page.getByRole('form', { name: 'Change your name' });
      expect(await form.getByLabel('Name').inputValue()).toBe('Olivia Owner');
      expect(await form.getByRole('button', { name: 'Save name' }).isDisabled()).toBe(true);
      await form.getByLabel('Name').fill('Olivia O. Owner');
      await form.getByRole('button', { name: 'Save name' }).click();
      await expect.poll(() => form.getByRole('status').textContent()).toBe('Your name is now Olivia O. Owner.');
      expect(await page.getByTestId('account-menu').locator('.account-name').textContent()).toBe('Olivia O. Owner');
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
      expect(await page.getByRole('form', { name: 'Change your name' }).getByLabel('Name').inputValue()).toBe('Olivia O. Owner');
      expect(await signedInAs(page)).toBe(OWNER);

      // A new address waits for its link: shown as pending, the current one unchanged meanwhile.
      const email = page.getByRole('form', { name: 'Change your email address' });
      await email.getByLabel('New email address').fill('olivia@new.example.test');
      await email.getByLabel('Current password').fill(PASSWORD);
      await email.getByRole('button', { name: 'Send a confirmation link' }).click();
      await expect.poll(() => page.getByTestId('pending-email').textContent()).toContain('olivia@new.example.test');
      expect(await page.getByTestId('profile-current-email').textContent()).toContain(OWNER);
      expect(await signedInAs(page)).toBe(OWNER);
      const first = await h.emailLink('olivia@new.example.test', '/email-change');

      // The pending change is the account's: a reload still shows it, with the ways on from it.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
      await expect.poll(() => page.getByTestId('pending-email').textContent()).toContain('olivia@new.example.test');
      expect(await page.getByTestId('profile-current-email').textContent()).toContain(OWNER);
      await checkLayout(page, 'account-pending-email');

      // Sending the link again needs the password, as asking did; the new link replaces the first.
      const again = page.getByRole('form', { name: 'Send the link again' });
      h.allowHttpErrors(401);
      await again.getByRole('button', { name: 'Send the link again' }).click();
      await expect.poll(() => page.getByTestId('pending-email-error').textContent()).toBe('The current password is not right.');
      await again.getByLabel('Current password').fill(PASSWORD);
      await again.getByRole('button', { name: 'Send the link again' }).click();
      await expect.poll(() => again.getByRole('status').textContent()).toBe('A new link went to olivia@new.example.test; the earlier one no longer works.');
      expect(await page.getByTestId('pending-email-error').count()).toBe(0);
      expect(await h.emailLink('olivia@new.example.test', '/email-change')).not.toBe(first);

      // Cancelled: gone from the page, and still gone after a reload; the address is unchanged.
      await again.getByRole('button', { name: 'Cancel this change' }).click();
      await expect.poll(() => page.getByTestId('pending-email').count()).toBe(0);
      expect(await page.getByTestId('profile-email').getByRole('status').last().textContent()).toBe(
        'The change to olivia@new.example.test was cancelled; its link no longer works.',
      );
      expect(await page.getByRole('form', { name: 'Send the link again' }).count()).toBe(0);
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
      await page.getByRole('form', { name: 'Change your email address' }).waitFor();
      expect(await page.getByTestId('pending-email').count()).toBe(0);
      expect(await page.getByTestId('profile-current-email').textContent()).toContain(OWNER);
      const account = ((await h.apiCall(page, 'GET', '/api/v1/auth/session')).json as { account: { email: string; pendingEmail: string | null } }).account;
      expect(account).toMatchObject({ email: OWNER, pendingEmail: null });
    });

    it('the overview shows each state and links to the section where it is changed', async () => {
      await page.goto(url(`/w/${acmeId}`));
      const overview = page.getByTestId('overview');
      await overview.waitFor();
      // Records, a document and a secret are stored: content is under key version 1.
      expect(await page.getByTestId('overview-key-version').getAttribute('data-version')).toBe('1');
      expect(await page.getByTestId('overview-mfa-state').textContent()).toBe('0 of 2');
      expect(await page.getByTestId('overview-domains').textContent()).toBe('0 verified, 1 pending');
      expect(await page.getByTestId('overview-access-state').textContent()).toBe('None waiting');

      const links: readonly [string, string][] = [
        ['overview-link-members', '/members'],
        ['overview-link-settings', '/settings'],
        ['overview-link-sso', '/sso'],
        ['overview-link-sso-domains', '/sso?tab=domains'],
        ['overview-link-encryption', '/encryption'],
        ['overview-link-access-requests', '/access-requests'],
        ['overview-link-access-log', '/access-log'],
        ['overview-link-audit', '/audit'],
      ];
      for (const [testId, target] of links) {
        await page.getByTestId(testId).click();
        await expect.poll(() => `${pathOf(page)}${new URL(page.url()).search}`).toBe(`/w/${acmeId}${target}`);
        await page.getByRole('heading', { level: 1 }).filter({ hasNotText: 'Overview' }).waitFor();
        await page.goBack();
        await overview.waitFor();
      }
      // The domains link opens the SSO page on its Domains tab.
      await page.getByTestId('overview-link-sso-domains').click();
      expect(await page.getByRole('tab', { name: 'Domains' }).getAttribute('aria-selected')).toBe('true');
      await page.getByTestId('sso-domains').waitFor();
    });

    it('the encryption state follows the writes that change it, without Refresh', async () => {
      // A workspace with no content yet: nothing is encrypted.
      await page.goto(url('/'));
      const gammaId = await h.createWorkspace(page, 'Gamma');

      // Beside the secrets vault: storing a secret creates key version 1, and the keys panel says so.
      await page.goto(url(`/w/${gammaId}/encryption`));
      const keys = page.getByTestId('keys-panel');
      await keys.getByTestId('key-current-version').waitFor();
      expect(await keys.getByTestId('key-current-version').getAttribute('data-version')).toBe('0');
      const vault = page.getByRole('form', { name: 'New secret' });
      await vault.getByLabel('Integration').fill('slack');
      await vault.getByLabel('Secret name').fill('bot-token');
      await vault.getByLabel('Secret value').fill('xoxb-not-a-real-token');
      await vault.getByRole('button', { name: 'Add secret' }).click();
      await expect.poll(() => keys.getByTestId('key-current-version').getAttribute('data-version')).toBe('1');
      await expect.poll(() => keys.locator('[data-testid="key-version"][data-version="1"]').getByTestId('key-version-rows').textContent()).toBe('0 records, 0 documents, 1 secret');

      // Above the records: the first record stored shows as encrypted under version 1.
      const deltaId = await h.createWorkspace(page, 'Delta');
      await page.goto(url(`/w/${deltaId}/collections`));
      const strip = page.getByTestId('encryption-strip');
      await expect.poll(() => strip.getAttribute('data-version')).toBe('0');
      expect(await strip.textContent()).toContain('No content is encrypted yet');
      await page.getByLabel('New collection name').fill('notes');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await page.getByTestId('new-record').click();
      await page.getByTestId('record-drawer').getByLabel('Record JSON').fill('{"note": "first"}');
      await page.getByTestId('record-drawer').getByRole('button', { name: 'Create record' }).click();
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(1);
      await page.keyboard.press('Escape');
      await expect.poll(() => strip.getAttribute('data-version')).toBe('1');
      expect(await strip.textContent()).toContain('under key version 1');
    });
  });
});

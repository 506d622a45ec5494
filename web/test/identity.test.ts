/**
 * The console's identity flows in Chromium against the real server (see harness.ts): sign-up
 * with email verification, sign-in links, password reset, the identity-provider button,
 * authenticator-app enrolment and the second step of sign-in, recovery codes, sessions,
 * passkeys on Chromium's virtual authenticator (registration, second factor, passwordless, and a
 * cloned credential refused), a workspace that requires MFA, and the development mailbox.
 *
 * Served at http://localhost:<port>, which is also the public URL: email links point there, and
 * WebAuthn needs a domain for its relying party (an IP address is not a valid RP id).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../../src/platform/db/types.js';
import { openAccountPage, openSection, PASSWORD, signedInAs, signOutFromMenu, useConsoleHarness } from './harness.js';
import { totpCodes } from './totp.js';

const CAROL = 'carol@example.test';
const DAVE = 'dave@example.test';
const GINA = 'gina@example.test';
const ERIN = 'erin@example.test';
const FRANK = 'frank@example.test';
const HANK = 'hank@example.test';
const NEW_PASSWORD = 'a brand new passphrase for rampart';

describe('identity in the console (Chromium)', () => {
  const h = useConsoleHarness({ localhost: true });
  const url = (p: string) => `${h.origin}${p}`;

  const totpCode = totpCodes();

  const pathOf = (page: Page) => new URL(page.url()).pathname;

  async function submitPassword(page: Page, email: string, password = PASSWORD): Promise<void> {
    if (pathOf(page) !== '/sign-in') await page.goto(url('/sign-in'));
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async function signInWithPassword(page: Page, email: string, password = PASSWORD): Promise<void> {
    await submitPassword(page, email, password);
    await expect.poll(() => signedInAs(page)).toBe(email);
  }

  async function signOut(page: Page): Promise<void> {
    await signOutFromMenu(page);
    await expect.poll(() => pathOf(page)).toBe('/sign-in');
  }

  /** The account's security page (second factors, password), from the account menu. */
  async function openSettings(page: Page): Promise<void> {
    await openAccountPage(page, 'Security');
    await page.getByTestId('mfa-status').waitFor();
  }

  /** Sets up an authenticator app on the settings page; returns its secret and the recovery codes. */
  async function enrolTotp(page: Page): Promise<{ secret: string; codes: string[] }> {
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(await page.getByTestId('totp-uri').textContent()).toContain(`secret=${secret}`);
    await page.getByLabel('Code from the app').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    const codes = await page.getByTestId('recovery-code').allTextContents();
    expect(codes).toHaveLength(10);
    await expect.poll(() => page.getByTestId('mfa-status').getAttribute('data-enabled')).toBe('true');
    return { secret, codes };
  }

  /** A Chromium virtual authenticator (CTAP2, resident keys, user verification) in this page. */
  async function addAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return { cdp, authenticatorId };
  }

  beforeAll(async () => {
    // The first account (from the setup link), so that everyone after it signs up by email.
    await h.createFirstAccount('admin@example.test');
  });

  it('offers the identity provider only when it is configured, and explains a failed provider sign-in', async () => {
    h.allowHttpErrors(401);
    const page = await h.newPage('visitor');
    const status = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/auth/oidc');
    await page.goto(url('/sign-in'));
    expect(await (await status).json()).toEqual({ enabled: false, displayName: 'Google' });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByTestId('oidc-sign-in').count()).toBe(0);

    // As the server answers when a provider is configured.
    await page.route('**/api/v1/auth/oidc', (route) => route.fulfill({ json: { enabled: true, displayName: 'Google' } }));
    await page.reload();
    const button = page.getByRole('link', { name: 'Sign in with Google' });
    await button.waitFor();
    expect(await button.getAttribute('href')).toBe('/api/v1/auth/oidc/start');

    // The provider's failures come back as /sign-in?error=<code>.
    await page.goto(url('/sign-in?error=sign_in_failed'));
    await expect.poll(() => page.getByTestId('provider-error').textContent()).toBe('Sign-in with Google failed. Try again, or sign in another way.');
    // Following the button on this instance (no provider configured) comes back the same way.
    await button.click();
    await expect.poll(() => new URL(page.url()).searchParams.get('error')).toBe('provider_not_configured');
    await expect.poll(() => page.getByTestId('provider-error').textContent()).toContain('not configured');
    await page.unroute('**/api/v1/auth/oidc');
  });

  it('asks to sign in before linking a provider account offered at /link#token=…, then offers to link it', async () => {
    h.allowHttpErrors(401, 400);
    const page = await h.newPage('link offer');
    // The offer is made by the provider's redirect; an unknown one is refused when accepted.
    const token = `rlo_${'x'.repeat(43)}`;
    await page.goto(url(`/link#token=${token}`));
    await page.getByTestId('link-sign-in-first').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await page.getByRole('link', { name: 'Sign in to link' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('next')).toBe('/link');
    await submitPassword(page, 'admin@example.test');
    await page.getByRole('heading', { name: 'Link Google' }).waitFor();
    expect(pathOf(page)).toBe('/link');
    expect(await page.locator('main').textContent()).toContain('admin@example.test');
    await page.getByRole('button', { name: 'Link Google' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The link is invalid or has expired.');
    await page.getByRole('button', { name: 'Do not link' }).click();
    await expect.poll(() => signedInAs(page)).toBe('admin@example.test');
  });

  describe('email', () => {
    let carol: Page;

    it('signs up, says to check the email, and the link signs in the browser that signed up', async () => {
      h.allowHttpErrors(401);
      carol = await h.newPage('carol');
      await h.signUp(carol, CAROL, 'Carol');
      expect(await carol.getByTestId('check-email').textContent()).toContain(CAROL);
      // Not signed in yet.
      expect(await carol.evaluate(async () => (await fetch('/api/v1/auth/session')).status)).toBe(401);

      const link = await h.emailLink(CAROL, '/verify');
      const token = link.split('#token=')[1]!;
      await carol.goto(link);
      await expect.poll(() => signedInAs(carol)).toBe(CAROL);
      // The token left the address bar at once and was never part of a requested URL.
      expect(new URL(carol.url()).hash).toBe('');
      expect(h.requestedUrls.filter((u) => u.includes(token))).toEqual([]);
      expect(await carol.getByTestId('verify-email-notice').count()).toBe(0);
    });

    it('verifies an address opened in another browser, then asks to sign in there', async () => {
      h.allowHttpErrors(401);
      const daveA = await h.newPage('dave A');
      await h.signUp(daveA, DAVE);
      const daveB = await h.newPage('dave B');
      await daveB.goto(await h.emailLink(DAVE, '/verify'));
      await daveB.getByRole('heading', { name: 'Email verified — sign in' }).waitFor();
      await daveB.getByRole('link', { name: 'Sign in' }).click();
      await signInWithPassword(daveB, DAVE);
    });

    it('refuses a password sign-in before the address is verified, and sends a new link', async () => {
      h.allowHttpErrors(401, 403);
      const ginaA = await h.newPage('gina A');
      await h.signUp(ginaA, GINA);
      const first = await h.emailLink(GINA, '/verify');
      const ginaB = await h.newPage('gina B');
      await submitPassword(ginaB, GINA);
      await expect.poll(() => ginaB.getByRole('alert').textContent()).toContain('not verified yet');
      expect(await ginaB.getByRole('alert').textContent()).toContain(GINA);
      // A new link came; the first no longer works.
      const fresh = await h.emailLink(GINA, '/verify');
      expect(fresh).not.toBe(first);
      h.allowHttpErrors(400);
      await ginaA.goto(first);
      await expect.poll(() => ginaA.getByTestId('link-error').textContent()).toBe('The link is invalid or has expired.');
      await ginaB.goto(fresh);
      // Verified; whether this browser is signed in at once depends on whom the link is bound to.
      await ginaB.locator('[data-testid="account-email"], [data-testid="email-verified"]').first().waitFor();
    });

    it('signs in with an emailed link, only in the browser that asked for it, once', async () => {
      h.allowHttpErrors(401, 400);
      const carolB = await h.newPage('carol B');
      await carolB.goto(url('/sign-in'));
      // The address is needed first.
      await carolB.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await expect.poll(() => carolB.getByTestId('magic-link-error').textContent()).toContain('Enter your email address first');
      await carolB.getByLabel('Email').fill(CAROL);
      await carolB.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await carolB.getByTestId('check-email').waitFor();
      const link = await h.emailLink(CAROL, '/magic');

      const elsewhere = await h.newPage('carol elsewhere');
      await elsewhere.goto(link);
      await expect.poll(() => elsewhere.getByTestId('link-error').textContent()).toBe('Open this link in the browser where you asked for it.');
      expect(new URL(elsewhere.url()).hash).toBe('');

      await carolB.goto(link);
      await expect.poll(() => signedInAs(carolB)).toBe(CAROL);
      expect(new URL(carolB.url()).hash).toBe('');
      // Used once.
      await carolB.goto(link);
      await expect.poll(() => carolB.getByTestId('link-error').textContent()).toBe('The link is invalid or has expired.');
      await carolB.getByRole('link', { name: 'Ask for a new sign-in link' }).waitFor();
    });

    it('resets a forgotten password from the emailed link, ending the other sessions', async () => {
      h.allowHttpErrors(401, 400);
      const daveB = await h.newPage('dave C');
      await daveB.goto(url('/sign-in'));
      await daveB.getByRole('link', { name: 'Forgot your password?' }).click();
      await daveB.getByRole('heading', { name: 'Reset your password' }).waitFor();
      await daveB.getByLabel('Email').fill(DAVE);
      await daveB.getByRole('button', { name: 'Send reset link' }).click();
      await daveB.getByTestId('check-email').waitFor();

      await daveB.goto(await h.emailLink(DAVE, '/reset'));
      await daveB.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      expect(new URL(daveB.url()).hash).toBe('');
      // A common password is refused, and the form stays.
      await daveB.getByLabel('New password').fill('password1234');
      await daveB.getByRole('button', { name: 'Set new password' }).click();
      await expect.poll(() => daveB.getByRole('alert').textContent()).toMatch(/password/i);
      await daveB.getByLabel('New password').fill(NEW_PASSWORD);
      await daveB.getByRole('button', { name: 'Set new password' }).click();
      await expect.poll(() => signedInAs(daveB)).toBe(DAVE);

      const signIn = (password: string) =>
        fetch(`${h.server.url}/api/v1/auth/sign-in`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: DAVE, password }),
        }).then((r) => r.status);
      expect(await signIn(PASSWORD)).toBe(401);
      expect(await signIn(NEW_PASSWORD)).toBe(200);
    });

    describe('sessions', () => {
      let carolB: Page;

      it('lists the sessions, marks this device, and revoking another signs that browser out', async () => {
        h.allowHttpErrors(401);
        carolB = await h.newPage('carol B2');
        await signInWithPassword(carolB, CAROL);
        await openAccountPage(carol, 'Sessions');
        const sessions = carol.getByTestId('session');
        await expect.poll(() => sessions.count()).toBeGreaterThanOrEqual(2);
        const current = carol.locator('[data-testid="session"][data-current="true"]');
        expect(await current.count()).toBe(1);
        expect(await current.textContent()).toContain('This device');
        expect(await current.textContent()).toContain('Chrom');

        const bSession = await carolB.evaluate(async () => ((await (await fetch('/api/v1/auth/session')).json()) as { session: { id: string } }).session.id);
        const row = carol.locator(`[data-session-id="${bSession}"]`);
        await row.getByTestId('revoke-session').click();
        await row.getByTestId('revoke-session-confirm').click();
        await expect.poll(() => row.count()).toBe(0);
        await expect.poll(() => carol.getByTestId('sessions-panel').getByRole('status').textContent()).toContain('was revoked');

        // The other browser is signed out at its next request.
        await carolB.reload();
        await expect.poll(() => pathOf(carolB)).toBe('/sign-in');
      });

      it('signs out everywhere else, and a password change ends the other sessions too', async () => {
        h.allowHttpErrors(401);
        await signInWithPassword(carolB, CAROL);
        await carol.getByRole('button', { name: 'Refresh' }).first().click();
        await carol.getByTestId('revoke-others').click();
        await carol.getByRole('button', { name: /^Sign out \d+ other sessions?$/ }).click();
        await expect.poll(() => carol.getByTestId('sessions-panel').getByRole('status').textContent()).toMatch(/^Signed out of \d+ other sessions?\.$/);
        await expect.poll(() => carol.getByTestId('session').count()).toBe(1);
        await carolB.reload();
        await expect.poll(() => pathOf(carolB)).toBe('/sign-in');

        await signInWithPassword(carolB, CAROL);
        await openSettings(carol);
        const panel = carol.getByTestId('password-panel');
        await panel.getByLabel('Current password').fill('not my password at all');
        await panel.getByLabel('New password').fill(NEW_PASSWORD);
        await panel.getByRole('button', { name: 'Change password' }).click();
        await expect.poll(() => panel.getByTestId('password-error').textContent()).toBe('The current password is not right.');
        await panel.getByLabel('Current password').fill(PASSWORD);
        await panel.getByRole('button', { name: 'Change password' }).click();
        await expect.poll(() => panel.getByRole('status').textContent()).toBe('Password changed. Your other sessions were signed out.');
        await carolB.reload();
        await expect.poll(() => pathOf(carolB)).toBe('/sign-in');
        // This session carries on with its new token (a write needs the new CSRF token).
        await h.createWorkspace(carol, 'Loose');
      });
    });
  });

  describe('authenticator app', () => {
    let erin: Page;
    let secret: string;
    let codes: string[];

    it('enrols an authenticator app from its secret, and shows the recovery codes once, to download', async () => {
      h.allowHttpErrors(401);
      erin = await h.newPage('erin');
      await h.signUpAndVerify(erin, ERIN, 'Erin');
      await openSettings(erin);
      expect(await erin.getByTestId('mfa-status').getAttribute('data-enabled')).toBe('false');

      // A wrong first code is refused.
      await erin.getByRole('button', { name: 'Set up authenticator app' }).click();
      await erin.getByLabel('Code from the app').fill('12345');
      await erin.getByRole('button', { name: 'Turn on' }).click();
      await expect.poll(() => erin.getByTestId('totp-error').textContent()).toBe('Enter the 6-digit code the app shows.');
      await erin.getByRole('button', { name: 'Cancel' }).click();

      ({ secret, codes } = await enrolTotp(erin));
      for (const code of codes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
      const [download] = await Promise.all([erin.waitForEvent('download'), erin.getByRole('button', { name: 'Download' }).click()]);
      expect(download.suggestedFilename()).toBe('rampart-recovery-codes.txt');
      const saved = path.join(h.downloadsDir, 'erin-codes.txt');
      await download.saveAs(saved);
      const text = readFileSync(saved, 'utf8');
      for (const code of codes) expect(text).toContain(code);
      await erin.getByRole('button', { name: 'I have saved them' }).click();
      expect(await erin.getByTestId('recovery-codes').count()).toBe(0);
      await expect.poll(() => erin.getByTestId('recovery-codes-left').textContent()).toBe('10 left');
      // The session proved the factor (and got a new token): writes still work.
      await h.createWorkspace(erin, 'Strict');
    });

    it('asks for the code at sign-in, refusing a wrong one', async () => {
      h.allowHttpErrors(401);
      await signOut(erin);
      await submitPassword(erin, ERIN);
      await erin.getByRole('heading', { name: 'Second step' }).waitFor();
      expect(pathOf(erin)).toBe('/mfa');
      const code = await totpCode(secret);
      await erin.getByLabel('Code from your authenticator app').fill(code === '000000' ? '000001' : '000000');
      await erin.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => erin.getByTestId('mfa-error').textContent()).toContain('was not accepted');
      await erin.getByLabel('Code from your authenticator app').fill(code);
      await erin.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => signedInAs(erin)).toBe(ERIN);
      await expect.poll(() => pathOf(erin)).toMatch(/^\/w\//);
    });

    it('signs in with a recovery code, once', async () => {
      h.allowHttpErrors(401);
      await signOut(erin);
      await submitPassword(erin, ERIN);
      await erin.getByRole('button', { name: 'Use a recovery code instead' }).click();
      await erin.getByLabel('Recovery code').fill(codes[0]!.toUpperCase());
      await erin.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => signedInAs(erin)).toBe(ERIN);
      await openSettings(erin);
      await expect.poll(() => erin.getByTestId('recovery-codes-left').textContent()).toBe('9 left');

      await signOut(erin);
      await submitPassword(erin, ERIN);
      await erin.getByRole('button', { name: 'Use a recovery code instead' }).click();
      await erin.getByLabel('Recovery code').fill(codes[0]!);
      await erin.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => erin.getByTestId('mfa-error').textContent()).toContain('was not accepted');
      await erin.getByLabel('Recovery code').fill(codes[1]!);
      await erin.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => signedInAs(erin)).toBe(ERIN);
    });

    it('finishes a sign-in that arrives at /mfa#token=… (as from the identity provider)', async () => {
      h.allowHttpErrors(401);
      const res = await fetch(`${h.server.url}/api/v1/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: ERIN, password: PASSWORD }),
      });
      const pending = (await res.json()) as { status: string; mfaToken: string; factors: string[] };
      expect(pending.status).toBe('mfa_required');
      const other = await h.newPage('erin elsewhere');
      // As the provider's redirect gives it: the token and the account's factors.
      await other.goto(url(`/mfa#token=${pending.mfaToken}&factors=${pending.factors.join(',')}`));
      await other.getByRole('heading', { name: 'Second step' }).waitFor();
      expect(new URL(other.url()).hash).toBe('');
      // Only the ways this account has are offered: an authenticator app, no passkey.
      await other.getByLabel('Code from your authenticator app').waitFor();
      expect(await other.getByRole('button', { name: 'Use your passkey' }).count()).toBe(0);
      await other.getByRole('button', { name: 'Use a recovery code instead' }).click();
      await other.getByLabel('Recovery code').fill(codes[2]!);
      await other.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => signedInAs(other)).toBe(ERIN);
    });

    describe('a workspace that requires MFA', () => {
      let carol: Page;
      let carolOld: Page;
      let strictId: string;

      it('cannot be required by an owner whose own session has no second factor', async () => {
        h.allowHttpErrors(401, 403);
        carol = await h.newPage('carol (workspace)');
        await signInWithPassword(carol, CAROL, NEW_PASSWORD);
        // Carol's own workspace, created in the sessions test.
        await expect.poll(() => carol.getByTestId('workspace-name').textContent()).toBe('Loose');
        await openSection(carol, 'Settings');
        const settings = carol.getByTestId('workspace-settings');
        // Where MFA is required, how many members already have it: Carol alone, without one.
        await expect.poll(() => settings.getByTestId('settings-mfa-coverage').textContent()).toContain('Now 0 of 1 member has one;');
        await settings.getByLabel('Require MFA for all members').click();
        await expect.poll(() => settings.getByTestId('workspace-settings-error').textContent()).toContain('Set up multi-factor authentication for yourself');
        await settings.getByRole('link', { name: 'Set up MFA' }).waitFor();
        expect(await settings.getByLabel('Require MFA for all members').isChecked()).toBe(false);
      });

      it('is required by an owner who signed in with one', async () => {
        await erin.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Strict' });
        await expect.poll(() => erin.getByTestId('workspace-name').textContent()).toBe('Strict');
        strictId = (await erin.getByTestId('workspace').getAttribute('data-workspace-id'))!;
        await openSection(erin, 'Settings');
        const settings = erin.getByTestId('workspace-settings');
        await expect.poll(() => settings.getByTestId('settings-mfa-coverage').textContent()).toBe('Now 1 of 1 member has one.');
        await settings.getByLabel('Require MFA for all members').click();
        await expect.poll(() => settings.getByRole('status').textContent()).toBe('Members now need MFA to open this workspace.');
        await erin.getByTestId('requires-mfa').waitFor();
        expect(await settings.getByLabel('Require MFA for all members').isChecked()).toBe(true);

        const owner = await h.server.services.accounts.accountByEmail(ERIN);
        const member = await h.server.services.accounts.accountByEmail(CAROL);
        await h.server.services.members.addMember(tenantContext(strictId, owner!.id), member!.id, 'member');

        // Where roles are decided, each member says whether they have a second factor: Carol has none
        // yet, in a workspace that requires one.
        await openSection(erin, 'Members');
        const mfaOf = (email: string) => erin.locator(`[data-testid="member"][data-email="${email}"]`).getByTestId('member-mfa');
        await expect.poll(() => mfaOf(CAROL).textContent()).toBe('No MFA');
        expect(await mfaOf(CAROL).getAttribute('class')).toContain('danger');
        expect(await mfaOf(ERIN).textContent()).toBe('MFA');
      });

      it('sends a member without a second factor to enrol before showing the workspace', async () => {
        h.allowHttpErrors(401, 403);
        // A second browser of Carol's, signed in before she has a second factor.
        carolOld = await h.newPage('carol (old session)');
        await signInWithPassword(carolOld, CAROL, NEW_PASSWORD);

        const before = h.requestedUrls.length;
        await carol.goto(url(`/w/${strictId}`));
        // The old /settings address the console sends it to leads to the account's security page, with its query.
        await expect.poll(() => pathOf(carol)).toBe('/account/security');
        expect(new URL(carol.url()).searchParams.get('workspace')).toBe(strictId);
        const notice = carol.getByTestId('mfa-required-notice');
        await notice.waitFor();
        expect(await notice.textContent()).toContain('Strict requires multi-factor authentication');
        expect(await carol.getByTestId('workspace').count()).toBe(0);
        // Nothing of the workspace was asked for beyond the refused membership check.
        const asked = h.requestedUrls.slice(before).filter((u) => u.includes(`/api/v1/workspaces/${strictId}`));
        for (const u of asked) expect(new URL(u).pathname).toBe(`/api/v1/workspaces/${strictId}`);

        const { secret: carolSecret } = await enrolTotp(carol);
        await carol.getByRole('button', { name: 'I have saved them' }).click();
        const open = notice.getByRole('link', { name: 'Open Strict' });
        await open.click();
        await expect.poll(() => carol.getByTestId('workspace-name').textContent()).toBe('Strict');
        expect(pathOf(carol)).toBe(`/w/${strictId}`);

        // The older session has not proved the factor: it is asked to sign in again with it.
        await carolOld.goto(url(`/w/${strictId}`));
        await carolOld.getByTestId('mfa-required-notice').waitFor();
        await carolOld.getByRole('button', { name: 'Sign in again' }).click();
        await expect.poll(() => pathOf(carolOld)).toBe('/sign-in');
        expect(new URL(carolOld.url()).searchParams.get('next')).toBe(`/w/${strictId}`);
        await submitPassword(carolOld, CAROL, NEW_PASSWORD);
        await carolOld.getByLabel('Code from your authenticator app').fill(await totpCode(carolSecret));
        await carolOld.getByRole('button', { name: 'Verify' }).click();
        await expect.poll(() => carolOld.getByTestId('workspace-name').textContent()).toBe('Strict');
        expect(pathOf(carolOld)).toBe(`/w/${strictId}`);
      });
    });
  });

  describe('passkeys (virtual authenticator)', () => {
    let context: BrowserContext;
    let frank: Page;
    let authenticator: { cdp: CDPSession; authenticatorId: string };

    it('registers a passkey in the settings, names it, and turns MFA on', async () => {
      h.allowHttpErrors(401);
      context = await h.newContext('frank');
      frank = await context.newPage();
      authenticator = await addAuthenticator(frank);
      await h.signUpAndVerify(frank, FRANK, 'Frank');
      await openSettings(frank);
      await frank.getByLabel('New passkey name (optional)').fill('Laptop');
      await frank.getByRole('button', { name: 'Add a passkey' }).click();
      await expect.poll(() => frank.getByTestId('passkey-name').allTextContents()).toEqual(['Laptop']);
      // The first factor comes with recovery codes.
      await frank.getByTestId('recovery-codes').waitFor();
      await frank.getByRole('button', { name: 'I have saved them' }).click();
      await expect.poll(() => frank.getByTestId('mfa-status').getAttribute('data-enabled')).toBe('true');

      const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0]!.rpId).toBe('localhost');
      expect(credentials[0]!.isResidentCredential).toBe(true);

      await frank.getByRole('button', { name: 'Rename passkey Laptop' }).click();
      await frank.getByLabel('Passkey name', { exact: true }).fill('Work laptop');
      await frank.getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => frank.getByTestId('passkey-name').allTextContents()).toEqual(['Work laptop']);
    });

    it('signs in with the passkey as the second factor', async () => {
      h.allowHttpErrors(401);
      await signOut(frank);
      await submitPassword(frank, FRANK);
      await frank.getByRole('heading', { name: 'Second step' }).waitFor();
      await frank.getByRole('button', { name: 'Use your passkey' }).click();
      await expect.poll(() => signedInAs(frank)).toBe(FRANK);
    });

    it('signs in with the passkey alone', async () => {
      h.allowHttpErrors(401);
      await signOut(frank);
      await frank.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await expect.poll(() => signedInAs(frank)).toBe(FRANK);
      await openSettings(frank);
      await expect.poll(() => frank.getByTestId('passkey').textContent()).toContain('last used');
    });

    it('refuses a cloned passkey whose signature counter did not move forward', async () => {
      h.allowHttpErrors(401);
      const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
      const original = credentials[0]!;
      expect(original.signCount).toBeGreaterThanOrEqual(2);

      // The same private key in another authenticator, its counter set back.
      const thief = await h.newPage('frank clone');
      const clone = await addAuthenticator(thief);
      await clone.cdp.send('WebAuthn.addCredential', { authenticatorId: clone.authenticatorId, credential: { ...original, signCount: 0 } });
      await thief.goto(url('/sign-in'));
      await thief.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await expect.poll(() => thief.getByTestId('passkey-error').textContent()).toBe('This passkey was not accepted. Sign in another way.');
      expect(await thief.getByTestId('account-email').count()).toBe(0);
      expect(await thief.evaluate(async () => (await fetch('/api/v1/auth/session')).status)).toBe(401);

      // The owner sees it among the security events, beside the sessions.
      await openAccountPage(frank, 'Sessions');
      await frank
        .locator('[data-testid="event"][data-action="auth.mfa.passkey_clone_suspected"]')
        .first()
        .waitFor();
      await openSettings(frank);
    });

    it('removes the passkey after confirming the password', async () => {
      h.allowHttpErrors(401);
      const row = frank.getByTestId('passkey');
      await row.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
      await row.getByLabel('Confirm with your password').fill('wrong password, surely');
      await row.getByRole('button', { name: 'Remove passkey' }).click();
      await expect.poll(() => row.getByRole('alert').textContent()).toBe('That password or code is not right.');
      await row.getByLabel('Confirm with your password').fill(PASSWORD);
      await row.getByRole('button', { name: 'Remove passkey' }).click();
      await expect.poll(() => frank.getByTestId('passkey').count()).toBe(0);
      await expect.poll(() => frank.getByTestId('mfa-status').getAttribute('data-enabled')).toBe('false');
    });
  });

  it('lists the development mailbox, as text, with its links clickable', async () => {
    h.allowHttpErrors(401);
    const hank = await h.newPage('hank');
    await h.signUp(hank, HANK);
    await h.server.services.accounts.settle();
    await hank.goto(url('/dev/mailbox'));
    await hank.getByTestId('dev-only-notice').waitFor();
    const item = hank.getByTestId('mail-item').filter({ has: hank.getByTestId('mail-to').getByText(HANK, { exact: true }) }).first();
    await item.waitFor();
    // The text body, never the HTML one: the only elements inside are the links.
    expect(await item.getByTestId('mail-text').evaluate((pre) => [...pre.querySelectorAll('*')].every((e) => e.tagName === 'A'))).toBe(true);
    const link = item.getByTestId('mail-link').filter({ hasText: '/verify#token=' });
    expect(await link.count()).toBe(1);
    await link.click();
    await expect.poll(() => signedInAs(hank)).toBe(HANK);
  });
});

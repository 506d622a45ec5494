/**
 * The console's guided flows in Chromium against the real server (see harness.ts): enrolling an
 * authenticator app from its QR code (decoded here from the pixels on screen), a wrong first code
 * said as such while the session goes on, an invitation that survives signing up and verifying
 * the address in another tab, an API key's reveal (its curl command run as shown) and its
 * presets, the first-run guide, and confirming a new email address.
 *
 * One server and one browser serve the whole file; each person gets a context of their own.
 */
import jsQR from 'jsqr';
import type { Locator, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, PASSWORD, signedInAs, signOutFromMenu, submitPassword, useConsoleHarness } from './harness.js';
import { totpCodes } from './totp.js';

const OWNER = 'owner@example.test';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };

/** The text a QR code on screen holds, read from a screenshot of it; null when none is found. */
async function decodeQr(code: Locator): Promise<string | null> {
  const png = PNG.sync.read(await code.screenshot());
  const pixels = new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length);
  return jsQR(pixels, png.width, png.height)?.data ?? null;
}

/** Whether the page scrolls sideways at its current width. */
const scrollsSideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

describe('guided flows in the console (Chromium)', () => {
  const h = useConsoleHarness();
  const url = (p: string) => `${h.origin}${p}`;
  const pathOf = (page: Page) => new URL(page.url()).pathname;
  const totpCode = totpCodes();

  beforeAll(async () => {
    // The first account (from the setup link), so that everyone after it signs up by email.
    await h.createFirstAccount(OWNER, 'Olga');
  });

  describe('authenticator app', () => {
    let page: Page;
    const ERIN = 'erin@example.test';

    it('shows a QR code that holds the otpauth:// link shown beside it, at phone and desktop widths', async () => {
      h.allowHttpErrors(401);
      page = await h.newPage('erin');
      await h.signUpAndVerify(page, ERIN, 'Erin');
      await page.goto(url('/account/security'));
      await page.getByRole('button', { name: 'Set up authenticator app' }).click();
      const qr = page.getByTestId('totp-qr');
      await qr.waitFor();

      const shown = (await page.getByTestId('totp-uri').textContent())!.trim();
      expect(shown).toMatch(/^otpauth:\/\/totp\//);
      expect(await page.getByTestId('totp-link').getAttribute('href')).toBe(shown);
      const secret = new URL(shown).searchParams.get('secret')!;
      expect((await page.getByTestId('totp-secret').textContent())!.replace(/\s+/g, '')).toBe(secret);
      expect(await qr.getAttribute('aria-label')).toContain('QR code');

      for (const viewport of [PHONE, DESKTOP]) {
        await page.setViewportSize(viewport);
        expect(await decodeQr(qr), `${viewport.width}px`).toBe(shown);
        expect(await scrollsSideways(page), `${viewport.width}px`).toBe(false);
      }
      expect(await accessibilityViolations(page)).toEqual([]);
    });

    it('says a wrong code is wrong, and keeps the person signed in', async () => {
      const shown = (await page.getByTestId('totp-uri').textContent())!.trim();
      const secret = new URL(shown).searchParams.get('secret')!;
      const right = await totpCode(secret);
      h.allowHttpErrors(400);
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/account/mfa/totp/confirm'));
      await page.getByLabel('Code from the app').fill(right === '000000' ? '000001' : '000000');
      await page.getByRole('button', { name: 'Turn on' }).click();
      const refused = await answer;
      expect(refused.status()).toBe(400);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('mfa_code_invalid');
      await expect.poll(() => page.getByTestId('totp-error').textContent()).toContain('That code is not right');

      // Still signed in, on the same page, with the same QR code to try again.
      expect(pathOf(page)).toBe('/account/security');
      expect(await signedInAs(page)).toBe(ERIN);
      expect(await page.evaluate(async () => (await fetch('/api/v1/auth/session')).status)).toBe(200);
      expect(await page.getByTestId('totp-qr').count()).toBe(1);
    });

    it('turns the app on with a code computed from the secret the QR code holds', async () => {
      const decoded = await decodeQr(page.getByTestId('totp-qr'));
      const secret = new URL(decoded!).searchParams.get('secret')!;
      await page.getByLabel('Code from the app').fill(await totpCode(secret));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.getByTestId('recovery-codes').waitFor();
      await expect.poll(() => page.getByTestId('mfa-status').getAttribute('data-enabled')).toBe('true');
      expect(await page.getByTestId('totp-enabled').count()).toBe(1);
      expect(await signedInAs(page)).toBe(ERIN);
    });
  });

  describe('with a workspace', () => {
    let owner: Page;
    let acmeId: string;
    let readKey: string;
    const IVY = 'ivy@example.test';
    const INVITATION = '/invitations/accept';

    /** Calls the API as the owner's console would; fails the test on an error status. */
    async function asOwner<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await h.apiCall(owner, method, `/api/v1${path}`, body);
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).toBeLessThan(300);
      return res.json as T;
    }

    async function roleId(workspaceId: string, builtin: string): Promise<string> {
      const roles = await asOwner<{ data: { id: string; builtin: string | null }[] }>('GET', `/workspaces/${workspaceId}/roles`);
      return roles.data.find((r) => r.builtin === builtin)!.id;
    }

    it('signs the owner in, with a workspace holding a record', async () => {
      h.allowHttpErrors(401);
      owner = await h.newPage('owner');
      await h.signIn(owner, OWNER);
      acmeId = await h.createWorkspace(owner, 'Acme');
      await asOwner('POST', `/workspaces/${acmeId}/collections`, { name: 'tickets' });
      await asOwner('POST', `/workspaces/${acmeId}/collections/tickets/records`, { data: { title: 'First' } });
    });

    describe('an invitation', () => {
      it('survives signing up and verifying the address in a new tab, which resumes it, and joins the workspace', async () => {
        h.allowHttpErrors(401);
        await asOwner('POST', `/workspaces/${acmeId}/invitations`, { email: IVY, roleId: await roleId(acmeId, 'member') });
        const link = await h.emailLink(IVY, INVITATION);

        const browser = await h.newContext('ivy');
        const first = await browser.newPage();
        await first.setViewportSize(PHONE);
        await first.goto(link);
        // Signed out, the preview names the workspace and the invited address.
        await expect.poll(() => first.getByTestId('invitation-for').textContent()).toBe(IVY);
        expect(await first.getByTestId('invitation-workspace').textContent()).toBe('Acme');
        expect(await first.getByTestId('invitation-preview').textContent()).toContain('Olga');
        expect(new URL(first.url()).hash).toBe('');
        expect(await scrollsSideways(first)).toBe(false);
        expect(await accessibilityViolations(first)).toEqual([]);

        // Sign-up starts from the invited address.
        await first.getByRole('link', { name: 'Create an account' }).click();
        await expect.poll(() => pathOf(first)).toBe('/sign-up');
        expect(await first.getByLabel('Email').inputValue()).toBe(IVY);
        await first.getByLabel('Password').fill(PASSWORD);
        await first.getByRole('button', { name: 'Create account' }).click();
        await first.getByTestId('check-email').waitFor();

        // The verification link, opened in a new tab of the same browser, picks the invitation up.
        const second = await browser.newPage();
        await second.goto(await h.emailLink(IVY, '/verify'));
        await expect.poll(() => pathOf(second)).toBe(INVITATION);
        await expect.poll(() => second.getByTestId('invitation-workspace').textContent()).toBe('Acme');
        await second.getByRole('button', { name: 'Accept invitation' }).click();
        await expect.poll(() => pathOf(second)).toBe(`/w/${acmeId}`);
        const mine = (await h.apiCall(second, 'GET', '/api/v1/workspaces')).json as { data: { id: string; roles: { builtin: string | null }[] }[] };
        expect(mine.data.map((w) => [w.id, w.roles.map((r) => r.builtin)])).toEqual([[acmeId, ['member']]]);
        // Answered: no tab of this browser keeps it.
        expect(await second.evaluate(() => localStorage.getItem('rampart.invitation'))).toBeNull();
      });

      it('is not used once expired, nor when what storage holds is not one', async () => {
        h.allowHttpErrors(401);
        const page = await h.newPage('stale storage');
        await page.goto(url('/sign-up'));
        for (const held of [
          { token: 'inv_abc', email: 'old@example.test', expiresAt: Date.now() - 1_000 },
          { token: 'inv_abc', email: 'old@example.test', expiresAt: Date.now() + 30 * 24 * 3600 * 1000 },
          { token: 'inv abc <script>', email: 'old@example.test', expiresAt: Date.now() + 60_000 },
          'not json',
        ]) {
          await page.evaluate((value) => localStorage.setItem('rampart.invitation', typeof value === 'string' ? value : JSON.stringify(value)), held);
          await page.reload();
          await page.getByLabel('Email').waitFor();
          expect(await page.getByLabel('Email').inputValue(), JSON.stringify(held)).toBe('');
          expect(await page.getByTestId('invited-address').count()).toBe(0);
          expect(await page.evaluate(() => localStorage.getItem('rampart.invitation'))).toBeNull();
        }
      });

      it('is forgotten when the browser signs out', async () => {
        h.allowHttpErrors(401);
        await asOwner('POST', `/workspaces/${acmeId}/invitations`, { email: 'zed@example.test', roleId: await roleId(acmeId, 'member') });
        const link = await h.emailLink('zed@example.test', INVITATION);
        const page = await h.newPage('owner, second browser');
        await h.signIn(page, OWNER);
        await page.goto(link);
        await page.getByTestId('invitation-email-mismatch').waitFor();
        expect(await page.evaluate(() => localStorage.getItem('rampart.invitation'))).not.toBeNull();
        await page.goto(url(`/w/${acmeId}`));
        await signOutFromMenu(page);
        await expect.poll(() => pathOf(page)).toBe('/sign-in');
        expect(await page.evaluate(() => localStorage.getItem('rampart.invitation'))).toBeNull();
      });
    });

    describe('API keys', () => {
      /** Every `:read` scope of the catalogue that a key may hold, in catalogue order. */
      async function readScopes(): Promise<string[]> {
        const { data } = await asOwner<{ data: { scope: string; ownerOnly: boolean }[] }>('GET', '/scopes');
        return data.filter((s) => !s.ownerOnly && s.scope.endsWith(':read')).map((s) => s.scope);
      }

      it('reveals a new key once with the base URL, the workspace id and a curl command that, run, answers the workspace', async () => {
        await owner.goto(url(`/w/${acmeId}/api-keys`));
        const form = owner.getByRole('form', { name: 'New API key' });
        await form.getByRole('radio', { name: 'Read-only' }).waitFor();
        expect(await form.getByRole('radio', { name: 'Read-only' }).isChecked()).toBe(true);
        const reads = await readScopes();
        expect(reads).toContain('records:read');
        expect(await form.getByTestId('api-key-preset-scopes').locator('code').allTextContents()).toEqual(reads);
        await form.getByLabel('Key name').fill('Reporting');
        await form.getByRole('button', { name: 'Create API key' }).click();

        const shown = owner.getByTestId('api-key-secret');
        await shown.waitFor();
        readKey = (await shown.getByTestId('api-key-secret-value').textContent())!.trim();
        expect(readKey).toMatch(/^rk_live_[A-Za-z0-9_-]+$/);
        expect((await shown.getByTestId('api-key-base-url').textContent())!.trim()).toBe(h.origin);
        expect((await shown.getByTestId('api-key-workspace-id').textContent())!.trim()).toBe(acmeId);
        const curl = (await shown.getByTestId('api-key-curl').textContent())!.trim();
        expect(curl).toBe(`curl -H "Authorization: Bearer ${readKey}" ${h.origin}/api/v1/workspace`);
        for (const name of ['Copy API key', 'Copy base URL', 'Copy workspace id', 'Copy curl command']) {
          expect(await shown.getByRole('button', { name }).count(), name).toBe(1);
        }
        for (const viewport of [PHONE, DESKTOP]) {
          await owner.setViewportSize(viewport);
          expect(await scrollsSideways(owner), `${viewport.width}px`).toBe(false);
        }
        expect(await accessibilityViolations(owner)).toEqual([]);

        // The command, run as written: its header and its URL.
        const [, header, target] = /^curl -H "([^"]+)" (\S+)$/.exec(curl)!;
        const [headerName, headerValue] = header!.split(/:\s*/, 2);
        const res = await fetch(target!, { headers: { [headerName!]: headerValue! } });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { id: string; name: string; apiKey: { name: string; scopes: string[] } };
        expect(body.id).toBe(acmeId);
        expect(body.name).toBe('Acme');
        expect(body.apiKey.name).toBe('Reporting');
        expect(body.apiKey.scopes).toEqual(reads);
      });

      it('makes a read-only key from its preset: it reads records, and a write is refused', async () => {
        const call = (method: string, path: string, body?: unknown) =>
          fetch(`${h.server.url}/api/v1${path}`, {
            method,
            headers: { authorization: `Bearer ${readKey}`, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        const read = await call('GET', `/workspaces/${acmeId}/collections/tickets/records`);
        expect(read.status).toBe(200);
        expect(((await read.json()) as { data: { data: { title: string } }[] }).data.map((r) => r.data.title)).toEqual(['First']);
        const write = await call('POST', `/workspaces/${acmeId}/collections/tickets/records`, { data: { title: 'Second' } });
        expect(write.status).toBe(403);
        expect(((await write.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      });

      it('offers in each preset only the scopes its creator can grant', async () => {
        h.allowHttpErrors(401);
        const ops = await asOwner<{ id: string }>('POST', `/workspaces/${acmeId}/roles`, {
          name: 'Ops',
          scopes: ['workspace:read', 'records:read', 'records:write', 'documents:read', 'api-keys:manage'],
        });
        const mia = await h.newMemberPage(acmeId, (await h.server.services.accounts.accountByEmail(OWNER))!.id, 'mia@example.test', 'Mia');
        const miaId = (await h.server.services.accounts.accountByEmail('mia@example.test'))!.id;
        await asOwner('PATCH', `/workspaces/${acmeId}/members/${miaId}`, { roleIds: [ops.id] });

        await mia.setViewportSize(PHONE);
        await mia.goto(url(`/w/${acmeId}/api-keys`));
        const form = mia.getByRole('form', { name: 'New API key' });
        const listed = form.getByTestId('api-key-preset-scopes').locator('code');
        await form.getByRole('radio', { name: 'Read-only' }).waitFor();
        await expect.poll(() => listed.allTextContents()).toEqual(['workspace:read', 'records:read', 'documents:read']);
        await form.getByRole('radio', { name: 'Read-write' }).check();
        await expect.poll(() => listed.allTextContents()).toEqual(['workspace:read', 'records:read', 'records:write', 'documents:read']);
        expect(await scrollsSideways(mia)).toBe(false);
        expect(await accessibilityViolations(mia)).toEqual([]);
        // Custom offers the member's own scopes only, one by one.
        await form.getByRole('radio', { name: 'Custom' }).check();
        expect(await form.getByRole('checkbox').evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value))).toEqual([
          'workspace:read',
          'api-keys:manage',
          'records:read',
          'records:write',
          'documents:read',
        ]);
        await form.getByRole('radio', { name: 'Read-write' }).check();

        // The server agrees: the key is made, with exactly those scopes.
        await form.getByLabel('Key name').fill('Sync');
        await form.getByRole('button', { name: 'Create API key' }).click();
        await mia.getByTestId('api-key-secret').waitFor();
        const row = mia.locator('[data-testid="api-key"][data-key-name="Sync"]');
        expect(await row.getByTestId('api-key-scopes').textContent()).toBe('workspace:read, records:read, records:write, documents:read');
      });
    });
  });

  describe('the first-run guide', () => {
    it('ticks each step as it is done, from what the API says, and links to where each is done', async () => {
      h.allowHttpErrors(401);
      const page = await h.newPage('gus');
      await h.signUpAndVerify(page, 'gus@example.test', 'Gus');
      await page.setViewportSize(PHONE);
      await page.goto(url('/get-started'));
      const guide = page.getByTestId('get-started');
      const state = (id: string) => guide.getByTestId(`step-${id}`).getAttribute('data-state');
      const refresh = () => guide.getByRole('button', { name: 'Refresh' }).click();
      await expect.poll(() => guide.getByTestId('get-started-count').textContent()).toBe('0 of 4 done.');
      for (const id of ['workspace', 'data', 'invite', 'mfa']) expect(await state(id), id).toBe('todo');
      expect(await scrollsSideways(page)).toBe(false);
      expect(await accessibilityViolations(page)).toEqual([]);

      // The sidebar offers the guide while it is not hidden.
      expect(await page.getByTestId('get-started-link').getAttribute('aria-current')).toBe('page');

      // 1. A workspace, from the guide itself: the console's own "New workspace" dialog.
      await guide.getByRole('button', { name: 'Create a workspace' }).click();
      const dialog = page.getByRole('dialog', { name: 'New workspace' });
      await dialog.getByLabel('Workspace name').fill('Gus Co');
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('Gus Co');
      await page.goto(url('/get-started'));
      await expect.poll(() => state('workspace')).toBe('done');
      const { data } = (await h.apiCall(page, 'GET', '/api/v1/workspaces')).json as { data: { id: string }[] };
      const id = data[0]!.id;
      expect(await guide.getByRole('link', { name: 'Open collections' }).getAttribute('href')).toBe(`/w/${id}/collections`);
      expect(await guide.getByRole('link', { name: 'Create an API key' }).getAttribute('href')).toBe(`/w/${id}/api-keys`);
      expect(await guide.getByRole('link', { name: 'Invite someone' }).getAttribute('href')).toBe(`/w/${id}/invitations`);
      expect(await guide.getByRole('link', { name: 'Set up a second factor' }).getAttribute('href')).toBe('/account/security');
      expect(await state('data')).toBe('todo');

      // 2. Data.
      expect((await h.apiCall(page, 'POST', `/api/v1/workspaces/${id}/collections`, { name: 'notes' })).status).toBe(201);
      await refresh();
      await expect.poll(() => state('data')).toBe('done');
      expect(await state('invite')).toBe('todo');

      // 3. Someone invited.
      const roles = (await h.apiCall(page, 'GET', `/api/v1/workspaces/${id}/roles`)).json as { data: { id: string; builtin: string | null }[] };
      const member = roles.data.find((r) => r.builtin === 'member')!.id;
      expect((await h.apiCall(page, 'POST', `/api/v1/workspaces/${id}/invitations`, { email: 'hugo@example.test', roleId: member })).status).toBe(201);
      await refresh();
      await expect.poll(() => state('invite')).toBe('done');
      expect(await state('mfa')).toBe('todo');

      // 4. A second factor.
      const setup = (await h.apiCall(page, 'POST', '/api/v1/account/mfa/totp')).json as { secret: string };
      expect((await h.apiCall(page, 'POST', '/api/v1/account/mfa/totp/confirm', { code: await totpCode(setup.secret) })).status).toBe(200);
      await refresh();
      await expect.poll(() => state('mfa')).toBe('done');
      expect(await guide.getByTestId('get-started-count').textContent()).toBe('All done: your workspace is set up.');
      await page.setViewportSize(DESKTOP);
      expect(await scrollsSideways(page)).toBe(false);

      // Hidden for this account, and still reachable.
      await guide.getByRole('button', { name: 'Hide this guide' }).click();
      await expect.poll(() => pathOf(page)).not.toBe('/get-started');
      await expect.poll(() => page.getByTestId('workspace-name').count()).toBe(1);
      expect(await page.getByTestId('get-started-link').count()).toBe(0);
      await page.goto(url('/get-started'));
      await expect.poll(() => guide.getByRole('status').last().textContent()).toContain('You hid this guide');
      expect(await guide.getByRole('button', { name: 'Hide this guide' }).count()).toBe(0);
    });
  });

  describe('a new email address', () => {
    const HAL = 'hal@example.test';
    let hal: Page;

    it('is confirmed from the link sent to it, in the browser that asked', async () => {
      h.allowHttpErrors(401);
      hal = await h.newPage('hal');
      await h.signUpAndVerify(hal, HAL, 'Hal');
      const asked = await h.apiCall(hal, 'POST', '/api/v1/auth/account/email', { email: 'hal@new.example.test', password: PASSWORD });
      expect(asked.status).toBe(202);
      const link = await h.emailLink('hal@new.example.test', '/email-change');
      const token = link.split('#token=')[1]!;
      await hal.goto(link);
      await expect.poll(() => hal.getByTestId('email-changed').textContent()).toContain('hal@new.example.test');
      expect(new URL(hal.url()).hash).toBe('');
      expect(h.requestedUrls.filter((u) => u.includes(token))).toEqual([]);
      expect(((await h.apiCall(hal, 'GET', '/api/v1/auth/session')).json as { account: { email: string } }).account.email).toBe('hal@new.example.test');
    });

    it('waits, opened signed out, until the account signs in', async () => {
      h.allowHttpErrors(401);
      expect((await h.apiCall(hal, 'POST', '/api/v1/auth/account/email', { email: 'hal@third.example.test', password: PASSWORD })).status).toBe(202);
      const link = await h.emailLink('hal@third.example.test', '/email-change');
      const elsewhere = await h.newPage('hal elsewhere');
      await elsewhere.setViewportSize(PHONE);
      await elsewhere.goto(link);
      await elsewhere.getByTestId('email-change-sign-in-first').waitFor();
      expect(await accessibilityViolations(elsewhere)).toEqual([]);
      await elsewhere.getByRole('link', { name: 'Sign in to confirm' }).click();
      await expect.poll(() => pathOf(elsewhere)).toBe('/sign-in');
      await submitPassword(elsewhere, 'hal@new.example.test');
      await expect.poll(() => elsewhere.getByTestId('email-changed').textContent()).toContain('hal@third.example.test');
      expect(await scrollsSideways(elsewhere)).toBe(false);
    });
  });
});

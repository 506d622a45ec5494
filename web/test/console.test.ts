/**
 * The console in a real browser (Debian Chromium through playwright-core) against the real
 * server, in process, over its embedded database: setup, workspaces, collections, records,
 * documents, sign-out and sign-in, sign-up with email verification, isolation between accounts,
 * and the API docs, all under the server's Content-Security-Policy with no violation and no
 * script error anywhere (see harness.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { INDEX, openSection, PASSWORD, signOutFromMenu, useConsoleHarness } from './harness.js';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

describe('console in Chromium', () => {
  const h = useConsoleHarness();
  const { requestedUrls, downloadsDir, allowHttpErrors, apiCall, newContext } = h;

  function workspaceIdOf(page: Page): string {
    const match = /\/w\/([0-9a-f-]{36})/.exec(new URL(page.url()).pathname);
    if (!match) throw new Error(`not on a workspace page: ${page.url()}`);
    return match[1]!;
  }

  /** The cells of one column of the records grid, by its header. */
  async function gridColumn(page: Page, header: string): Promise<string[]> {
    const index = (await page.getByTestId('records-table').locator('thead th').allTextContents()).indexOf(header);
    if (index < 0) throw new Error(`no column ${header}`);
    return page.getByTestId('record-row').evaluateAll((rows, i) => rows.map((r) => r.children[i]?.textContent ?? ''), index);
  }

  async function switcherLabels(page: Page): Promise<string[]> {
    return page.getByTestId('workspace-switcher').locator('option:not([disabled])').allTextContents();
  }

  describe('as the first account', () => {
    let page: Page;
    let acmeId: string;
    let betaId: string;
    let firstRecordId: string;

    beforeAll(async () => {
      page = await (await newContext('alice')).newPage();
    });

    it('serves the built console with no inline script or style', async () => {
      const html = readFileSync(INDEX, 'utf8');
      expect(html).toMatch(/<script type="module"[^>]* src="\/assets\/[^"]+\.js"><\/script>/);
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=/);
      const res = await fetch(`${h.server.url}/w/anything`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toBe(html);
    });

    it('explains the setup link when no account exists and the link was not used', async () => {
      allowHttpErrors(401); // the signed-out session check
      await page.goto(`${h.server.url}/`);
      await expect.poll(() => new URL(page.url()).pathname).toBe('/setup');
      await page.getByTestId('setup-needs-link').waitFor();
    });

    it('creates the first account from the setup link and lands in the console', async () => {
      if (!h.server.setupLink) throw new Error('the server printed no setup link');
      const token = new URL(h.server.setupLink).hash.replace('#token=', '');
      expect(token).toMatch(/^rsu_/);
      allowHttpErrors(401);
      // Opened on the /setup page itself, only the fragment changes: no page load.
      await page.goto(h.server.setupLink);
      await page.getByRole('heading', { name: 'Create the first account' }).waitFor();
      expect(new URL(page.url()).hash).toBe('');
      // Opened fresh, as from the server's output.
      await page.goto('about:blank');
      await page.goto(h.server.setupLink);
      await page.getByRole('heading', { name: 'Create the first account' }).waitFor();
      // The token is taken out of the address bar as soon as it is read.
      expect(new URL(page.url()).hash).toBe('');
      await page.getByLabel('Email').fill(ALICE);
      await page.getByLabel('Name (optional)').fill('Alice');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => page.getByTestId('account-email').textContent()).toBe(ALICE);
      await page.getByTestId('no-workspaces').waitFor();
      expect(new URL(page.url()).pathname).toBe('/');
      // The token went only into the sign-up body, never into a URL.
      expect(requestedUrls.filter((u) => u.includes(token))).toEqual([]);
      // The setup link works once.
      const status = (await (await fetch(`${h.server.url}/api/v1/setup`)).json()) as { setupRequired: boolean };
      expect(status.setupRequired).toBe(false);
    });

    it('creates workspaces, each with its own collections, and switches between them', async () => {
      acmeId = await h.createWorkspace(page, 'Acme');
      expect(new URL(page.url()).pathname).toBe(`/w/${acmeId}`);
      await openSection(page, 'Collections');
      await page.getByTestId('collections-empty').waitFor();

      // A collection name the server would refuse is caught before any request.
      await page.getByLabel('New collection name').fill('Bad Name');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await expect.poll(() => page.getByTestId('collections-panel').getByRole('alert').textContent()).toContain('lowercase');

      await page.getByLabel('New collection name').fill('tickets');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await expect.poll(() => page.getByTestId('collection-link').allTextContents()).toEqual(['tickets']);
      expect(new URL(page.url()).pathname).toBe(`/w/${acmeId}/c/tickets`);

      // A duplicate is refused by the server, and its message is shown.
      allowHttpErrors(409);
      await page.getByLabel('New collection name').fill('tickets');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await expect.poll(() => page.getByTestId('collections-panel').getByRole('alert').textContent()).toContain('already exists');

      betaId = await h.createWorkspace(page, 'Beta');
      expect(workspaceIdOf(page)).toBe(betaId);
      expect(betaId).not.toBe(acmeId);
      await openSection(page, 'Collections');
      await page.getByTestId('collections-empty').waitFor();
      await page.getByLabel('New collection name').fill('leads');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await expect.poll(() => page.getByTestId('collection-link').allTextContents()).toEqual(['leads']);

      expect(await switcherLabels(page)).toEqual(['Acme', 'Beta']);
      // The switcher keeps the section: Acme's collections.
      await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Acme' });
      await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('Acme');
      expect(new URL(page.url()).pathname).toBe(`/w/${acmeId}/collections`);
      await expect.poll(() => page.getByTestId('collection-link').allTextContents()).toEqual(['tickets']);
      await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Beta' });
      await expect.poll(() => page.getByTestId('collection-link').allTextContents()).toEqual(['leads']);
      await page.goBack();
      await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('Acme');
      await expect.poll(() => page.getByTestId('workspace-switcher').inputValue()).toBe(acmeId);
    });

    it('creates records from JSON, validating it first, and lists them', async () => {
      await page.getByTestId('collection-link').filter({ hasText: 'tickets' }).click();
      await page.getByTestId('records-empty').waitFor();
      await page.getByTestId('new-record').click();
      const drawer = page.getByTestId('record-drawer');
      const json = drawer.getByLabel('Record JSON');
      const create = drawer.getByRole('button', { name: 'Create record' });

      await json.fill('{"title": ');
      await expect.poll(() => drawer.getByTestId('json-error').textContent()).toContain('Invalid JSON');
      expect(await create.isDisabled()).toBe(true);
      await json.fill('[1, 2]');
      await expect.poll(() => drawer.getByTestId('json-error').textContent()).toContain('must be a JSON object');
      expect(await create.isDisabled()).toBe(true);
      expect(await page.getByTestId('record-row').count()).toBe(0);

      await json.fill('{"title": "Printer on fire", "status": "open"}');
      await create.click();
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(1);
      expect(await drawer.getByTestId('record-version').textContent()).toBe('v1');
      firstRecordId = (await drawer.getByTestId('drawer-record-id').textContent())!;
      await page.keyboard.press('Escape');
      await page.getByTestId('new-record').click();
      await drawer.getByLabel('Record JSON').fill('{"title": "Coffee machine"}');
      await drawer.getByRole('button', { name: 'Create record' }).click();
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(2);
      expect(await drawer.getByTestId('json-error').count()).toBe(0);
      await page.keyboard.press('Escape');

      const first = page.getByTestId('record-row').first();
      expect(await first.getAttribute('data-record-id')).toBe(firstRecordId);
      await first.getByTestId('open-record').click();
      expect(await drawer.getByTestId('record-version').textContent()).toBe('v1');
      expect(JSON.parse(await drawer.getByLabel('Record JSON').inputValue())).toEqual({ title: 'Printer on fire', status: 'open' });
      await page.keyboard.press('Escape');

      // They are stored: a reload shows them again, oldest first.
      await page.reload();
      await expect.poll(() => gridColumn(page, 'title')).toEqual(['Printer on fire', 'Coffee machine']);
      expect(await gridColumn(page, 'status')).toEqual(['open', '—']);
    });

    it('edits a record, saving over the version shown, and refuses to overwrite a newer one', async () => {
      const row = page.locator(`[data-record-id="${firstRecordId}"]`);
      const drawer = page.getByTestId('record-drawer');
      await row.getByTestId('open-record').click();
      const editor = drawer.getByLabel('Record JSON');
      expect(JSON.parse(await editor.inputValue())).toEqual({ title: 'Printer on fire', status: 'open' });

      await editor.fill('{"title": "Printer on fire", "status": ');
      await expect.poll(() => drawer.getByTestId('json-error').textContent()).toContain('Invalid JSON');
      expect(await drawer.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);

      await editor.fill('{"title": "Printer on fire", "status": "closed"}');
      await drawer.getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => drawer.getByTestId('record-version').textContent()).toBe('v2');
      await expect.poll(() => gridColumn(page, 'status')).toEqual(['closed', '—']);
      const stored = await apiCall(page, 'GET', `/api/v1/workspaces/${acmeId}/collections/tickets/records/${firstRecordId}`);
      expect(stored.json).toMatchObject({ version: 2, data: { status: 'closed' } });

      // Someone else changes it meanwhile: saving over v2 must fail and change nothing.
      allowHttpErrors(412);
      const other = await apiCall(page, 'PUT', `/api/v1/workspaces/${acmeId}/collections/tickets/records/${firstRecordId}`, {
        data: { title: 'Printer on fire', status: 'reopened' },
      });
      expect(other).toMatchObject({ status: 200, json: { version: 3 } });
      await editor.fill('{"title": "mine"}');
      await drawer.getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => drawer.getByRole('alert').textContent()).toContain('has changed since it was read');
      const after = await apiCall(page, 'GET', `/api/v1/workspaces/${acmeId}/collections/tickets/records/${firstRecordId}`);
      expect(after.json).toMatchObject({ version: 3, data: { status: 'reopened' } });
      expect(await drawer.getByTestId('record-version').textContent()).toBe('v2');
      await page.keyboard.press('Escape');

      await page.reload();
      await page.locator(`[data-record-id="${firstRecordId}"]`).getByTestId('open-record').click();
      await expect.poll(() => drawer.getByTestId('record-version').textContent()).toBe('v3');
      await page.keyboard.press('Escape');
    });

    it('deletes a record after confirmation', async () => {
      const second = page.getByTestId('record-row').nth(1);
      const secondId = (await second.getAttribute('data-record-id'))!;
      const drawer = page.getByTestId('record-drawer');
      await second.getByTestId('open-record').click();
      await drawer.getByTestId('delete-record').click();
      // The first click only asks.
      expect(await page.getByTestId('record-row').count()).toBe(2);
      await drawer.getByTestId('delete-record-confirm').click();
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(1);
      allowHttpErrors(404);
      const gone = await apiCall(page, 'GET', `/api/v1/workspaces/${acmeId}/collections/tickets/records/${secondId}`);
      expect(gone.status).toBe(404);
      await page.reload();
      await expect.poll(() => page.getByTestId('record-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-record-id')))).toEqual([
        firstRecordId,
      ]);
    });

    it('pages through records with the API’s cursors', async () => {
      for (let i = 0; i < 55; i += 1) {
        const res = await apiCall(page, 'POST', `/api/v1/workspaces/${acmeId}/collections/tickets/records`, { data: { n: i } });
        expect(res.status).toBe(201);
      }
      await page.reload();
      const rowIds = () => page.getByTestId('record-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-record-id')));
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(25);
      const ids = await rowIds();
      await page.getByRole('button', { name: 'Next' }).click();
      await expect.poll(async () => (await rowIds())[0]).not.toBe(ids[0]);
      ids.push(...(await rowIds()));
      await page.getByRole('button', { name: 'Next' }).click();
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(6);
      ids.push(...(await rowIds()));
      expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
      expect(new Set(ids).size).toBe(56);
      expect(ids[0]).toBe(firstRecordId);
      expect((await gridColumn(page, 'n')).at(-1)).toBe('54');
    });

    it('uploads, lists, downloads and deletes documents', async () => {
      const content = `Quarterly notes\nline 2 ${randomBytes(4).toString('hex')}\n`;
      await openSection(page, 'Documents');
      await page.getByTestId('documents-empty').waitFor();
      await page.getByLabel('Document file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(content) });
      await page.getByRole('button', { name: 'Upload' }).click();
      const row = page.getByTestId('document').filter({ hasText: 'notes.txt' });
      await row.waitFor();
      expect(await row.textContent()).toContain('text/plain');
      expect(await row.textContent()).toContain(`${Buffer.byteLength(content)} B`);

      const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'Download notes.txt' }).click()]);
      expect(download.suggestedFilename()).toBe('notes.txt');
      const saved = path.join(downloadsDir, 'notes.txt');
      await download.saveAs(saved);
      expect(readFileSync(saved, 'utf8')).toBe(content);

      await page.getByLabel('Document file').setInputFiles({ name: 'scratch.txt', mimeType: 'text/plain', buffer: Buffer.from('scratch') });
      await page.getByRole('button', { name: 'Upload' }).click();
      await expect.poll(() => page.getByTestId('document-name').allTextContents()).toEqual(['notes.txt', 'scratch.txt']);
      const scratch = page.getByTestId('document').filter({ hasText: 'scratch.txt' });
      await scratch.getByTestId('delete-document').click();
      await scratch.getByTestId('delete-document-confirm').click();
      await expect.poll(() => page.getByTestId('document-name').allTextContents()).toEqual(['notes.txt']);

      await page.reload();
      await expect.poll(() => page.getByTestId('document-name').allTextContents()).toEqual(['notes.txt']);
      // Documents belong to their workspace.
      await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Beta' });
      await page.getByTestId('documents-empty').waitFor();
      await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Acme' });
      await expect.poll(() => page.getByTestId('document-name').allTextContents()).toEqual(['notes.txt']);
    });

    it('lets the owner delete a collection with its records', async () => {
      await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Beta' });
      await openSection(page, 'Collections');
      await page.getByTestId('collection-link').filter({ hasText: 'leads' }).click();
      await page.getByTestId('new-record').click();
      await page.getByTestId('record-drawer').getByLabel('Record JSON').fill('{"name": "Initech"}');
      await page.getByTestId('record-drawer').getByRole('button', { name: 'Create record' }).click();
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(1);
      await page.keyboard.press('Escape');
      await page.getByTestId('delete-collection').click();
      await page.getByTestId('delete-collection-confirm').click();
      await page.getByTestId('collections-empty').waitFor();
      expect(new URL(page.url()).pathname).toBe(`/w/${betaId}/collections`);
      const listed = await apiCall(page, 'GET', `/api/v1/workspaces/${betaId}/collections`);
      expect((listed.json as { data: unknown[] }).data).toEqual([]);
      await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Acme' });
      await expect.poll(() => page.getByTestId('collection-link').allTextContents()).toEqual(['tickets']);
    });

    it('signs out, refuses a wrong password, and signs back in to where it was sent', async () => {
      allowHttpErrors(401);
      await signOutFromMenu(page);
      await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
      const session = await fetch(`${h.server.url}/api/v1/auth/session`);
      expect(session.status).toBe(401);
      const stillSignedIn = await page.evaluate(async () => (await fetch('/api/v1/auth/session')).status);
      expect(stillSignedIn).toBe(401);

      await page.goto(`${h.server.url}/w/${acmeId}/c/tickets`);
      await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
      expect(new URL(page.url()).searchParams.get('next')).toBe(`/w/${acmeId}/c/tickets`);

      await page.getByLabel('Email').fill(ALICE);
      await page.getByLabel('Password').fill('not the password at all');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('Invalid credentials.');

      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('Acme');
      expect(new URL(page.url()).pathname).toBe(`/w/${acmeId}/c/tickets`);
      expect(await switcherLabels(page)).toEqual(['Acme', 'Beta']);
      await expect.poll(() => page.getByTestId('record-row').count()).toBe(25);
    });

    describe('and a second account', () => {
      let bob: Page;

      beforeAll(async () => {
        bob = await (await newContext('bob')).newPage();
      });

      it('signs up at /sign-up, verifies the address from the email, and sees none of the first account’s workspaces', async () => {
        allowHttpErrors(401);
        await bob.goto(`${h.server.url}/setup`);
        await bob.getByTestId('setup-done').waitFor();
        await bob.goto(`${h.server.url}/sign-up`);
        await bob.getByLabel('Email').fill(BOB);
        await bob.getByLabel('Password').fill(PASSWORD);
        await bob.getByRole('button', { name: 'Create account' }).click();
        // Not signed in yet: the address must be verified first.
        await bob.getByTestId('check-email').waitFor();
        expect(await bob.getByTestId('check-email').textContent()).toContain(BOB);
        // The link from the email, opened in the browser that signed up, signs in.
        await bob.goto(await h.emailLink(BOB, '/verify'));
        await expect.poll(() => bob.getByTestId('account-email').textContent()).toBe(BOB);
        expect(new URL(bob.url()).hash).toBe('');
        await bob.getByTestId('no-workspaces').waitFor();
        expect(await switcherLabels(bob)).toEqual([]);
        expect(await bob.getByTestId('workspace-switcher').textContent()).not.toContain('Acme');
      });

      it('gets "not found", and no data, for a workspace it is not a member of', async () => {
        allowHttpErrors(404, 400); // not a member; a malformed workspace id
        const before = requestedUrls.length;
        for (const url of [`/w/${acmeId}`, `/w/${acmeId}/c/tickets`]) {
          await bob.goto(`${h.server.url}${url}`);
          await bob.getByTestId('workspace-not-found').waitFor();
          expect(await bob.getByTestId('workspace').count()).toBe(0);
          expect(await bob.locator('body').textContent()).not.toMatch(/Acme|tickets|Printer|notes\.txt/);
        }
        // Only the membership check was asked for: no collections, records or documents.
        const asked = requestedUrls.slice(before).filter((u) => u.includes('/api/') && u.includes(acmeId));
        expect(asked.length).toBeGreaterThan(0);
        for (const u of asked) expect(new URL(u).pathname).toBe(`/api/v1/workspaces/${acmeId}`);

        await bob.goto(`${h.server.url}/w/not-a-workspace-id`);
        await bob.getByTestId('workspace-not-found').waitFor();
        await bob.goto(`${h.server.url}/no/such/page`);
        await bob.getByTestId('page-not-found').waitFor();

        // Its own workspace works as usual, and Alice still does not see it.
        await h.createWorkspace(bob, 'Bob Co');
        expect(await switcherLabels(bob)).toEqual(['Bob Co']);
        await page.reload();
        await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('Acme');
        expect(await switcherLabels(page)).toEqual(['Acme', 'Beta']);
      });
    });
  });

  it('renders the API docs (Swagger UI) under the CSP, every operation of the OpenAPI document', async () => {
    const page = await (await newContext('docs')).newPage();
    // Wait for the document, not the load event: the bundle (about 1.5 MB) and its run are slow on
    // a loaded machine, and what is tested is what Swagger UI renders once it has the spec.
    const res = await page.goto(`${h.server.url}/api/v1/docs`, { waitUntil: 'commit' });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });

    // The operations the OpenAPI document lists, SSO and SCIM included.
    const doc = (await (await page.request.get(`${h.server.url}/api/v1/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const methods = new Set(['get', 'put', 'post', 'delete', 'patch']);
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).filter((m) => methods.has(m)).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toContain('GET /api/v1/workspaces/{workspaceId}/collections/{collection}/records');
    expect(documented.length).toBeGreaterThan(100);

    // Swagger UI renders only the operations near the viewport (a virtual list): walk the page a
    // screen at a time, back to the top after the bottom, until every operation has been drawn.
    const nextScreen = () =>
      page.evaluate(() => {
        const bottom = window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1;
        window.scrollTo(0, bottom ? 0 : window.scrollY + window.innerHeight);
      });
    const rendered = new Set<string>();
    await expect
      .poll(
        async () => {
          const seen = await page.locator('.opblock-summary').evaluateAll((els) =>
            els.map((e) => {
              const method = e.querySelector('.opblock-summary-method')?.textContent ?? '';
              return `${method} ${e.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? ''}`;
            }),
          );
          for (const op of seen) rendered.add(op);
          await nextScreen();
          return [...rendered].sort();
        },
        { timeout: 45_000 },
      )
      .toEqual(documented);

    const workspaces = page.locator('.opblock-get .opblock-summary-path[data-path="/api/v1/workspaces"]');
    await expect
      .poll(
        async () => {
          const drawn = await workspaces.count();
          if (drawn === 0) await nextScreen();
          return drawn;
        },
        { timeout: 30_000 },
      )
      .toBe(1);
    await workspaces.click();
    await page.locator('.opblock.is-open').first().waitFor();
    // Swagger UI fetched the OpenAPI document itself (connect-src 'self').
    expect(await page.locator('.opblock.is-open').first().textContent()).toContain('Workspaces I belong to');
  });
});

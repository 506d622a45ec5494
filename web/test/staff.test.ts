/**
 * Staff access in the console, in Chromium against the real server (see harness.ts), the whole
 * way: a staff member added by the CLI sets up their account from the setup link (password, then
 * an authenticator app) in the staff console at /staff; signs in again with password and a TOTP
 * code (nothing works before the code); asks for access to a workspace. The workspace's owner, in
 * another browser, is emailed, sees the request with everything it says, and approves it. The
 * staff member opens the grant and reads a record; the owner sees each read in the access log.
 * Then the grant expires (its expiry moved into the past, as time would): the staff console says
 * the access ended and the record can no longer be read, by the page or by the API. A denial (with
 * its reason) and a revocation reach the staff member too. Security staff open break-glass access
 * (flagged in red, owners emailed at once) and download a document; a staff-admin manages staff
 * members and is offered no workspace access. A member without the approval scope is offered no
 * approval screen, and the server refuses them.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_SECTIONS, openSection, OWNER_SECTIONS, useConsoleHarness } from './harness.js';
import { addStaff, STAFF_PASSWORD, staffCode, superuser, type AddedStaff } from './staff-helpers.js';

const OWNER = 'olivia@example.test';
const MEMBER = 'mike@example.test';
const RECORD_TITLE = 'Printer on fire';

describe('staff access in the console (Chromium)', () => {
  const h = useConsoleHarness({ localhost: true });
  const url = (p: string) => `${h.origin}${p}`;

  let owner: Page;
  let staffContext: BrowserContext;
  let staff: Page;
  let sam: AddedStaff;
  let samSecret: string;
  let acmeId: string;
  let oliviaId: string;
  let recordId: string;
  let requestId: string;
  let grantId: string;

  /** The newest link in a staff access email to the owner. */
  async function accessRequestEmailLink(): Promise<string> {
    let link: string | undefined;
    await expect
      .poll(async () => {
        const mail = (await h.server.services.mailer.mailbox({ to: OWNER })).find((m) => m.template === 'staff_access_requested');
        link = mail?.text.match(/https?:\/\/\S+\/access-requests/)?.[0];
        return link !== undefined;
      })
      .toBe(true);
    return link!;
  }

  const myRequest = (id: string) => staff.locator(`[data-testid="staff-request"][data-request-id="${id}"]`);
  const entries = () => owner.getByTestId('access-log-entry');

  /** A staff member added by the CLI, onboarded in a browser of their own: setup link, password, authenticator app. */
  async function onboardInBrowser(label: string, added: AddedStaff): Promise<Page> {
    const page = await h.newPage(label);
    await page.goto(url(`/staff/setup#token=${added.setupToken}`));
    await page.getByLabel('Password').fill(STAFF_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    const secret = (await page.getByTestId('staff-totp-secret').textContent())!.replace(/\s+/g, '');
    await page.getByLabel('Code from your authenticator app').fill(await staffCode(h.server, added.id, secret));
    await page.getByRole('button', { name: 'Turn on and continue' }).click();
    await page.getByTestId('staff-home').waitFor();
    return page;
  }

  /** What a script in the page can see of the staff session: nothing. */
  const pageStorage = (page: Page) =>
    page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, html: document.documentElement.outerHTML }));

  beforeAll(async () => {
    oliviaId = await h.createFirstAccount(OWNER, 'Olivia');
  });

  it('the owner has a workspace with a record in it', async () => {
    h.allowHttpErrors(401);
    owner = await h.newPage('owner');
    await h.signIn(owner, OWNER);
    acmeId = await h.createWorkspace(owner, 'Acme');
    await openSection(owner, 'Collections');
    await owner.getByLabel('New collection name').fill('tickets');
    await owner.getByRole('button', { name: 'Create collection' }).click();
    await owner.getByTestId('new-record').click();
    await owner.getByTestId('record-drawer').getByLabel('Record JSON').fill(JSON.stringify({ title: RECORD_TITLE, customer: 'Dana' }));
    await owner.getByTestId('record-drawer').getByRole('button', { name: 'Create record' }).click();
    await expect.poll(() => owner.getByTestId('record-row').count()).toBe(1);
    await owner.keyboard.press('Escape');
    recordId = (await owner.getByTestId('record-row').first().getAttribute('data-record-id'))!;
    expect(recordId).toMatch(/^[0-9a-f-]{36}$/);
    // The owner's nav offers the approval screen and both logs; nothing waits yet.
    expect(await owner.getByTestId('workspace-nav').getByRole('link').allTextContents()).toEqual(OWNER_SECTIONS);
    expect(await owner.getByTestId('pending-access-notice').count()).toBe(0);
  });

  it('a new staff member sets up their account at /staff: a password, then an authenticator app', async () => {
    h.allowHttpErrors(401);
    sam = await addStaff(h.server, 'support', 'Sam Support');
    staffContext = await h.newContext('staff');
    staff = await staffContext.newPage();
    await staff.goto(url(`/staff/setup#token=${sam.setupToken}`));
    await staff.getByRole('heading', { name: 'Set up your staff account' }).waitFor();
    // The token leaves the address bar at once.
    expect(staff.url()).toBe(url('/staff/setup'));
    await staff.getByLabel('Password').fill(STAFF_PASSWORD);
    await staff.getByRole('button', { name: 'Set password' }).click();

    // Nothing works until an authenticator app is set up.
    await staff.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    expect(new URL(staff.url()).pathname).toBe('/staff');
    await staff.getByRole('button', { name: 'Set up authenticator app' }).click();
    samSecret = (await staff.getByTestId('staff-totp-secret').textContent())!.replace(/\s+/g, '');
    expect(samSecret).toMatch(/^[A-Z2-7]{16,}$/);
    await staff.getByLabel('Code from your authenticator app').fill(await staffCode(h.server, sam.id, samSecret));
    await staff.getByRole('button', { name: 'Turn on and continue' }).click();

    await staff.getByTestId('staff-home').waitFor();
    expect(await staff.getByTestId('staff-name').textContent()).toBe('Sam Support');
    expect(await staff.getByTestId('staff-role').textContent()).toBe('support');
    // A support member asks for access; break-glass is for security staff.
    await staff.getByTestId('request-access-panel').waitFor();
    expect(await staff.getByTestId('break-glass-panel').count()).toBe(0);

    // No secret in the page or its storage: the session cookie is HttpOnly, the CSRF token in memory.
    const seen = await pageStorage(staff);
    expect({ local: seen.local, session: seen.session, cookie: seen.cookie }).toEqual({ local: 0, session: 0, cookie: '' });
    for (const secret of [STAFF_PASSWORD, sam.setupToken, samSecret]) expect(seen.html).not.toContain(secret);
    const cookies = await staffContext.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.secure])).toEqual([['__Host-rampart_staff', true, true]]);
  });

  it('signs in with password, then a TOTP code; before the code the staff API answers nothing', async () => {
    h.allowHttpErrors(401, 403);
    await staff.getByRole('button', { name: 'Sign out' }).click();
    await staff.getByRole('form', { name: 'Staff sign-in' }).waitFor();
    expect(await staff.getByTestId('staff-signed-out-notice').textContent()).toBe('You are signed out.');
    await staff.getByLabel('Email').fill(sam.email);
    await staff.getByLabel('Password').fill(STAFF_PASSWORD);
    await staff.getByRole('button', { name: 'Sign in' }).click();
    await staff.getByRole('heading', { name: 'Second step' }).waitFor();

    // The password alone opens nothing.
    const early = await staff.evaluate(async () => {
      const res = await fetch('/api/v1/staff/access-requests');
      return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
    });
    expect(early).toEqual({ status: 403, code: 'staff_mfa_required' });

    // A wrong code is refused and explained.
    await staff.getByLabel('Code from your authenticator app').fill('000000');
    await staff.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => staff.getByTestId('staff-totp-error').textContent()).toContain('That code is not right');

    await staff.getByLabel('Code from your authenticator app').fill(await staffCode(h.server, sam.id, samSecret));
    await staff.getByRole('button', { name: 'Verify' }).click();
    await staff.getByTestId('staff-home').waitFor();
    expect(await staff.getByTestId('staff-email').textContent()).toBe(sam.email);

    // The customer's session is no staff session: the owner's browser gets the staff sign-in.
    const ownerStaff = await owner.context().newPage();
    await ownerStaff.goto(url('/staff'));
    await ownerStaff.getByRole('form', { name: 'Staff sign-in' }).waitFor();
    await ownerStaff.close();
  });

  it('asks for access to the workspace; the owner is emailed, sees the request in full and approves it', async () => {
    const form = staff.getByRole('form', { name: 'Request access' });
    await form.getByLabel('Workspace id').fill(acmeId);
    await form.getByLabel('Access').selectOption('records:read');
    await form.getByLabel('Justification').selectOption('customer-initiated-support');
    await form.getByLabel('Reason').fill('Dana reports the printer ticket is stuck; I need to see its record.');
    await form.getByLabel('Ticket').fill('SUP-4821');
    // More than 8 hours is refused before it is sent.
    await form.getByLabel('Duration (minutes)').fill('600');
    await form.getByRole('button', { name: 'Send request' }).click();
    expect(await form.getByTestId('request-access-error').textContent()).toContain('at most 8 hours');
    await form.getByLabel('Duration (minutes)').fill('30');
    await form.getByRole('button', { name: 'Send request' }).click();

    const pending = staff.locator('[data-testid="staff-request"][data-status="pending"]');
    await pending.waitFor();
    requestId = (await pending.getAttribute('data-request-id'))!;
    expect(await pending.getByTestId('staff-request-workspace').textContent()).toBe(acmeId);
    expect(await pending.getByTestId('staff-request-state').textContent()).toContain('Waiting for the workspace');
    expect(await pending.getByTestId('open-grant').count()).toBe(0);

    // The owner: a notice on the workspace, and the email's link to the approval screen.
    await owner.goto(url(`/w/${acmeId}`));
    await owner.getByTestId('pending-access-notice').waitFor();
    expect(await owner.getByTestId('pending-access-notice').textContent()).toContain('1 staff access request waits for a decision.');
    const link = await accessRequestEmailLink();
    expect(link).toBe(url(`/w/${acmeId}/access-requests`));
    await owner.goto(link);
    const card = owner.locator(`[data-testid="access-request"][data-request-id="${requestId}"]`);
    await card.waitFor();
    expect(await owner.getByTestId('pending-access-notice').count()).toBe(0);
    expect(await card.getByTestId('request-staff-name').textContent()).toBe('Sam Support');
    expect(await card.getByTestId('request-staff-role').textContent()).toBe('support');
    expect(await card.getByTestId('request-scope').textContent()).toBe('Read records records:read');
    expect(await card.getByTestId('request-justification').textContent()).toBe('Customer-initiated support');
    expect(await card.getByTestId('request-reason').textContent()).toBe('Dana reports the printer ticket is stuck; I need to see its record.');
    expect(await card.getByTestId('request-ticket').textContent()).toBe('SUP-4821');
    expect(await card.getByTestId('request-duration').textContent()).toBe('30 min');
    expect(await owner.getByRole('heading', { name: 'Waiting for your decision (1)' }).count()).toBe(1);

    await card.getByLabel(/Note to the staff member/).fill('Only the printer ticket, please.');
    await card.getByRole('button', { name: 'Approve for 30 min' }).click();
    const grant = owner.locator(`[data-testid="access-grant"][data-request-id="${requestId}"]`);
    await grant.waitFor();
    grantId = (await grant.getAttribute('data-grant-id'))!;
    expect(await grant.getByTestId('grant-expiry').textContent()).toMatch(/^Until .+ \(in (29|30|31) min\)\./);
    expect(await owner.getByTestId('pending-requests-panel').getByRole('status').textContent()).toContain('Approved: Sam Support may read records until');
    await owner.getByTestId('no-pending-requests').waitFor();
  });

  it('the staff member opens the grant and reads the record; the owner sees every read in the access log', async () => {
    await staff.getByTestId('my-requests-panel').getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => myRequest(requestId).getAttribute('data-status')).toBe('approved');
    expect(await myRequest(requestId).getByTestId('staff-request-state').textContent()).toMatch(/^Access until .+ \(in (29|30|31) min\)\.$/);
    expect(await myRequest(requestId).getByTestId('staff-request-note').textContent()).toBe('Only the printer ticket, please.');
    await myRequest(requestId).getByTestId('open-grant').click();

    expect(new URL(staff.url()).pathname).toBe(`/staff/access/${requestId}`);
    await staff.locator('[data-testid="staff-grant"][data-state="live"]').waitFor();
    expect(await staff.getByTestId('grant-workspace').textContent()).toBe(acmeId);
    await staff.getByTestId('staff-collection').filter({ hasText: 'tickets' }).click();
    await expect.poll(() => staff.getByTestId('staff-record').count()).toBe(1);
    expect(await staff.getByTestId('staff-record').first().textContent()).toContain(RECORD_TITLE);
    await staff.getByTestId('staff-open-record').click();
    const detail = staff.getByTestId('staff-record-detail');
    await detail.waitFor();
    expect(await detail.getAttribute('data-record-id')).toBe(recordId);
    expect(await detail.textContent()).toContain(RECORD_TITLE);
    expect(new URL(staff.url()).pathname).toBe(`/staff/access/${requestId}/c/tickets/r/${recordId}`);

    // The owner's access log: the request and the three reads, newest first, each with who and why.
    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Access log', exact: true }).click();
    await expect.poll(() => entries().count()).toBe(4);
    expect(await entries().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')))).toEqual([
      'staff.records.read',
      'staff.records.read',
      'staff.records.read',
      'staff.access.requested',
    ]);
    expect(await entries().getByTestId('access-what').allTextContents()).toEqual([
      expect.stringContaining(`Read record ${recordId} of collection tickets`),
      expect.stringContaining('Read 1 record of collection tickets'),
      expect.stringContaining('Listed the collections (1)'),
      expect.stringContaining('Asked for read records access for 30 minutes'),
    ]);
    const read = entries().first();
    expect(await read.getByTestId('staff-name').textContent()).toBe('Sam Support');
    expect(await read.getByTestId('staff-role').textContent()).toBe('support');
    expect(await read.getByTestId('staff-justification').textContent()).toBe('Customer-initiated support');
    expect(await read.getByTestId('staff-ticket').textContent()).toBe('SUP-4821');
    expect(await read.getByTestId('access-request-link').getAttribute('title')).toBe(requestId);
    expect(await read.getAttribute('data-break-glass')).toBe('false');
  });

  it('when the grant expires, the staff console says the access ended and the record can no longer be read', async () => {
    h.allowHttpErrors(403);
    // The server decides expiry by the grant's expires_at; move it into the past, as time would.
    await superuser(
      h.server,
      `UPDATE staff_access_requests SET granted_at = now() - interval '31 minutes', expires_at = now() - interval '1 second' WHERE id = $1`,
      [requestId],
    );

    // The page still shows the record; reading it again is refused, and the data leaves the page.
    await staff.getByRole('link', { name: 'Collection tickets' }).click();
    const ended = staff.getByTestId('access-ended');
    await ended.waitFor();
    expect(await staff.locator('[data-testid="staff-grant"]').getAttribute('data-state')).toBe('ended');
    expect(await ended.getByRole('heading').textContent()).toBe('Access ended');
    expect(await ended.textContent()).toContain('Nothing more of it can be read');
    await expect.poll(() => staff.getByTestId('grant-state').textContent()).toMatch(/^Access ended /);
    expect(await staff.getByTestId('staff-record').count()).toBe(0);
    expect(await staff.getByTestId('staff-record-detail').count()).toBe(0);
    expect(await staff.locator('body').textContent()).not.toContain(RECORD_TITLE);

    // Opening the record again reads nothing: the page knows, and the server refuses.
    await staff.goto(url(`/staff/access/${requestId}/c/tickets/r/${recordId}`));
    await staff.getByTestId('access-ended').waitFor();
    expect(await staff.getByTestId('staff-record-detail').count()).toBe(0);
    const refused = await staff.evaluate(async (path) => {
      const res = await fetch(path);
      return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
    }, `/api/v1/staff/grants/${grantId}/collections/tickets/records/${recordId}`);
    expect(refused).toEqual({ status: 403, code: 'staff_grant_expired' });

    // The staff home says so too.
    await staff.getByRole('link', { name: 'Back to the staff console' }).click();
    await expect.poll(() => myRequest(requestId).getAttribute('data-status')).toBe('expired');
    expect(await myRequest(requestId).getByTestId('staff-request-state').textContent()).toMatch(/^Access ended /);
    expect(await myRequest(requestId).getByTestId('open-grant').count()).toBe(0);

    // The owner: no live access, the request among the earlier ones; no read after expiry in the log.
    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Access requests', exact: true }).click();
    await owner.getByTestId('no-live-grants').waitFor();
    const past = owner.locator(`[data-testid="access-history"][data-request-id="${requestId}"]`);
    expect(await past.getAttribute('data-status')).toBe('expired');
    expect(await past.getByTestId('request-status').textContent()).toBe('Expired');
    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Access log', exact: true }).click();
    await expect.poll(() => entries().count()).toBe(4);
  });

  it('a denial reaches the staff member with its reason; a revocation cuts them off at once', async () => {
    h.allowHttpErrors(403);
    const ask = async (reason: string): Promise<string> => {
      const form = staff.getByRole('form', { name: 'Request access' });
      await form.getByLabel('Workspace id').fill(acmeId);
      await form.getByLabel('Reason').fill(reason);
      await form.getByLabel('Ticket').fill('SUP-4900');
      await form.getByLabel('Duration (minutes)').fill('60');
      await form.getByRole('button', { name: 'Send request' }).click();
      await expect.poll(() => staff.locator('[data-testid="staff-request"][data-status="pending"]').count()).toBe(1);
      return (await staff.locator('[data-testid="staff-request"][data-status="pending"]').getAttribute('data-request-id'))!;
    };

    const denied = await ask('Checking the ticket once more.');
    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Access requests', exact: true }).click();
    const card = owner.locator(`[data-testid="access-request"][data-request-id="${denied}"]`);
    await card.waitFor();
    await card.getByLabel(/Note to the staff member/).fill('The customer has not asked for this.');
    await card.getByRole('button', { name: 'Deny' }).click();
    await owner.locator(`[data-testid="access-history"][data-request-id="${denied}"][data-status="denied"]`).waitFor();
    await staff.getByTestId('my-requests-panel').getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => myRequest(denied).getAttribute('data-status')).toBe('denied');
    expect(await myRequest(denied).getByTestId('staff-request-state').textContent()).toBe('The workspace denied this request.');
    expect(await myRequest(denied).getByTestId('staff-request-note').textContent()).toBe('The customer has not asked for this.');

    const revoked = await ask('One more look at the printer ticket.');
    await owner.getByTestId('access-requests').getByRole('button', { name: 'Refresh' }).click();
    await owner.locator(`[data-testid="access-request"][data-request-id="${revoked}"]`).getByRole('button', { name: 'Approve for 1 h' }).click();
    const live = owner.locator(`[data-testid="access-grant"][data-request-id="${revoked}"]`);
    await live.waitFor();
    await staff.getByTestId('my-requests-panel').getByRole('button', { name: 'Refresh' }).click();
    await myRequest(revoked).getByTestId('open-grant').click();
    await staff.getByTestId('staff-collection').filter({ hasText: 'tickets' }).waitFor();

    await live.getByTestId('revoke-grant').click();
    await live.getByLabel('Reason (optional)').fill('Done for today.');
    await live.getByTestId('revoke-grant-confirm').click();
    await owner.locator(`[data-testid="access-history"][data-request-id="${revoked}"][data-status="revoked"]`).waitFor();

    await staff.getByTestId('staff-collection').filter({ hasText: 'tickets' }).click();
    await staff.getByTestId('access-ended').waitFor();
    expect(await staff.getByTestId('access-ended').textContent()).toContain('The workspace revoked this access.');
    expect(await staff.getByTestId('staff-record').count()).toBe(0);
  });

  it('security staff open break-glass access without approval: flagged in red, owners emailed at once, documents readable', async () => {
    h.allowHttpErrors(401);
    // A document to read.
    await owner.goto(url(`/w/${acmeId}/documents`));
    await owner.getByTestId('document-file').setInputFiles({ name: 'contract.txt', mimeType: 'text/plain', buffer: Buffer.from('The contract text.') });
    await owner.getByRole('button', { name: 'Upload' }).click();
    await owner.getByTestId('documents-panel').getByText('contract.txt').first().waitFor();

    const security = await onboardInBrowser('security staff', await addStaff(h.server, 'security', 'Sue Security'));
    await security.getByTestId('break-glass-panel').waitFor();

    const form = security.getByRole('form', { name: 'Open break-glass access' });
    await form.getByLabel('Workspace id').fill(acmeId);
    await form.getByLabel('Access').selectOption('documents:read');
    await form.getByLabel('Reason (required)').fill('Ransomware alert on this tenant.');
    await form.getByLabel('Ticket (optional)').fill('INC-9');
    await form.getByLabel(/^Duration/).fill('15');
    // Two steps: it asks once more.
    await form.getByRole('button', { name: 'Open break-glass access', exact: true }).click();
    await form.getByRole('button', { name: 'Open break-glass access now' }).click();
    const opened = security.locator('[data-testid="staff-request"][data-status="approved"]');
    await opened.waitFor();
    expect(await opened.getAttribute('class')).toContain('break-glass-row');
    expect(await opened.getByTestId('staff-request-state').textContent()).toMatch(/^Access until .+ \(in (14|15|16) min\)\.$/);
    const bgRequest = (await opened.getAttribute('data-request-id'))!;

    // The owners are told at once.
    await expect
      .poll(async () => (await h.server.services.mailer.mailbox({ to: OWNER })).some((m) => m.template === 'staff_break_glass'))
      .toBe(true);

    await opened.getByTestId('open-grant').click();
    const doc = security.getByTestId('staff-document').filter({ hasText: 'contract.txt' });
    await doc.waitFor();
    const [download] = await Promise.all([security.waitForEvent('download'), doc.getByRole('link', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('contract.txt');

    // The owner: live break-glass access, in red, revocable; each read flagged in the access log.
    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Access requests', exact: true }).click();
    const live = owner.locator(`[data-testid="access-grant"][data-request-id="${bgRequest}"]`);
    await live.waitFor();
    expect(await live.getAttribute('data-break-glass')).toBe('true');
    expect(await live.getByTestId('break-glass').textContent()).toBe('Break-glass');
    expect(await live.getByTestId('grant-expiry').textContent()).toContain('Opened without approval, for an emergency.');
    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Access log', exact: true }).click();
    await expect.poll(() => entries().first().getAttribute('data-action')).toBe('staff.documents.read');
    const top = entries().first();
    expect(await top.getAttribute('data-break-glass')).toBe('true');
    expect(await top.getByTestId('staff-name').textContent()).toBe('Sue Security');
    expect(await top.getByTestId('staff-role').textContent()).toBe('security');
    expect(await top.getByTestId('access-what').textContent()).toContain('Downloaded document');
    expect(await entries().nth(1).getByTestId('access-what').textContent()).toContain('Listed 1 document');
    expect(await entries().nth(2).getByTestId('access-what').textContent()).toContain('Opened break-glass access (read documents) without approval');
  });

  it('a staff-admin manages staff members and is offered no workspace access', async () => {
    h.allowHttpErrors(400, 401, 403);
    const ada = await addStaff(h.server, 'staff-admin', 'Ada Admin');
    const admin = await onboardInBrowser('staff admin', ada);
    await admin.getByTestId('no-workspace-access').waitFor();
    expect(await admin.getByTestId('request-access-panel').count()).toBe(0);
    expect(await admin.getByTestId('break-glass-panel').count()).toBe(0);
    const panel = admin.getByTestId('staff-members-panel');
    const self = panel.locator(`[data-testid="staff-member"][data-email="${ada.email}"]`);
    await self.waitFor();
    expect(await self.textContent()).toContain('you');
    expect(await self.getByTestId('disable-staff').count()).toBe(0);
    const refused = await admin.evaluate(async () => (await fetch('/api/v1/staff/access-requests')).status);
    expect(refused).toBe(403);

    const form = admin.getByRole('form', { name: 'Add a staff member' });
    await form.getByLabel('Email').fill('eve@staff.example.test');
    await form.getByLabel('Name').fill('Eve Engineer');
    await form.getByLabel('Role').selectOption('engineer');
    await form.getByRole('button', { name: 'Add staff member' }).click();
    const link = (await panel.getByTestId('staff-setup-link').textContent())!;
    expect(link).toMatch(new RegExp(`^${url('/staff/setup')}#token=rsts_[A-Za-z0-9_-]+$`));
    const eve = panel.locator('[data-testid="staff-member"][data-email="eve@staff.example.test"]');
    expect(await eve.textContent()).toContain('setup link not used yet');

    // The link opens the setup page.
    const eveBrowser = await h.newPage('eve');
    await eveBrowser.goto(link);
    await eveBrowser.getByRole('heading', { name: 'Set up your staff account' }).waitFor();

    await eve.getByTestId('disable-staff').click();
    await eve.getByTestId('disable-staff-confirm').click();
    await expect.poll(() => eve.getAttribute('data-disabled')).toBe('true');
    // A disabled member's link no longer works.
    await eveBrowser.getByLabel('Password').fill(STAFF_PASSWORD);
    await eveBrowser.getByRole('button', { name: 'Set password' }).click();
    await eveBrowser.getByTestId('staff-setup-error').waitFor();
  });

  it('a member without the approval scope is offered no approval screen, and the server refuses them', async () => {
    h.allowHttpErrors(401, 403);
    const mike = await h.newMemberPage(acmeId, oliviaId, MEMBER, 'Mike');

    // A request waits, which the owner would be told about.
    const pending = await staff.evaluate(
      async ({ workspaceId }) => {
        const session = (await (await fetch('/api/v1/staff/session')).json()) as { csrfToken: string };
        const res = await fetch('/api/v1/staff/access-requests', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
          body: JSON.stringify({ workspaceId, scope: 'records:read', justification: 'legal-request', reason: 'Subpoena 12.', ticket: 'LEG-1', durationMinutes: 15 }),
        });
        return res.status;
      },
      { workspaceId: acmeId },
    );
    expect(pending).toBe(201);

    const before = h.requestedUrls.length;
    await mike.goto(url(`/w/${acmeId}/collections`));
    await expect.poll(() => mike.getByTestId('workspace-role').allTextContents()).toEqual(['Member']);
    await mike.getByTestId('collection-link').filter({ hasText: 'tickets' }).waitFor();
    expect(await mike.getByTestId('workspace-nav').getByRole('link').allTextContents()).toEqual(MEMBER_SECTIONS);
    expect(await mike.getByTestId('pending-access-notice').count()).toBe(0);
    await mike.goto(url(`/w/${acmeId}/access-requests`));
    await mike.getByTestId('section-forbidden').waitFor();
    expect(await mike.getByTestId('section-forbidden').textContent()).toContain('staff-access:approve');
    expect(await mike.getByTestId('access-request').count()).toBe(0);
    // Nor does the page ask for the requests.
    expect(h.requestedUrls.slice(before).filter((u) => u.includes('/access-requests') && u.includes('/api/'))).toEqual([]);
    expect((await h.apiCall(mike, 'GET', `/api/v1/workspaces/${acmeId}/access-requests`)).status).toBe(403);

    // The owner still sees it waiting.
    await owner.goto(url(`/w/${acmeId}`));
    await owner.getByTestId('pending-access-notice').waitFor();
  });
});

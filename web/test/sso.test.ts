/**
 * Single sign-on in a real browser (Debian Chromium through playwright-core) against the real
 * server, in process, over its embedded database (see harness.ts), with a real DNS server (dns2)
 * for the domain proof and a SAML IdP on another site (saml-idp-server.ts, samlify):
 *
 * - an owner claims a domain, publishes its TXT record, verifies it, pastes the IdP's metadata
 *   and enforces SSO, all from the console's "Single sign-on" section;
 * - a person of the domain signs in from /sign-in with "Sign in with SSO": discovery, the IdP's
 *   page, its cross-site POST to the ACS, and the console signed in; the attempt is listed;
 * - a password sign-in for the domain is refused with a way to SSO instead;
 * - a setup link, opened signed out, configures the connection and creates a SCIM token that the
 *   owner's console then shows; the owner rotates the token and the revoked one stops working.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDns } from '../../test/helpers/dns.js';
import { PASSWORD, signedInAs, submitPassword, useConsoleHarness } from './harness.js';
import { startIdpServer } from './saml-idp-server.js';

const OWNER = 'owner@example.test';
const DOMAIN = 'acme-sso.test';
const CAROL = `carol@${DOMAIN}`;
const DAN = `dan@${DOMAIN}`;

// Started before the harness reads its settings: domain verification asks this DNS server.
const dns = await startTestDns();
const idpServer = await startIdpServer();

describe('single sign-on in Chromium', () => {
  const h = useConsoleHarness({ config: { dnsServers: [dns.server] } });
  const { allowHttpErrors, requestedUrls } = h;
  let owner: Page;
  let carol: Page;
  let workspaceId: string;
  let ownerId: string;

  afterAll(async () => {
    await idpServer.close();
    await dns.close();
  });

  /** The SSO tabs, by label, and the panel each shows. */
  const TABS = { SAML: 'sso-saml', SCIM: 'sso-scim', Domains: 'sso-domains', 'Directory groups': 'sso-group-roles', 'Setup links': 'sso-setup-links', 'Sign-in attempts': 'sso-attempts' } as const;
  type TabName = keyof typeof TABS;
  const TAB_IDS: Record<TabName, string> = { SAML: 'saml', SCIM: 'scim', Domains: 'domains', 'Directory groups': 'groups', 'Setup links': 'setup-links', 'Sign-in attempts': 'attempts' };

  /** Opens the workspace's single sign-on at one tab, by its address. */
  const ssoSection = async (page: Page, id: string, tab: TabName) => {
    await page.goto(`${h.origin}/w/${id}/sso?tab=${TAB_IDS[tab]}`);
    await page.getByTestId(TABS[tab]).waitFor();
  };
  /** Chooses a tab of the single sign-on page. */
  const openTab = async (page: Page, tab: TabName) => {
    await page.getByRole('tab', { name: tab, exact: true }).click();
    await page.getByTestId(TABS[tab]).waitFor();
  };

  type Answer = { id?: string; connection?: { defaultRoleId: string } | null; data?: { id: string; builtin: string | null }[] };
  const asOwner = async (method: string, url: string, body?: unknown) => {
    const res = await h.apiCall(owner, method, url, body);
    return { status: res.status, body: res.json as Answer };
  };
  /** The owner gives the member of `email` a new role of `scopes` as its only role; its id. */
  const holdOnly = async (workspace: string, email: string, name: string, scopes: string[]) => {
    const base = `/api/v1/workspaces/${workspace}`;
    const role = await asOwner('POST', `${base}/roles`, { name, scopes });
    expect(role.status).toBe(201);
    const accountId = (await h.server.services.accounts.accountByEmail(email))!.id;
    expect((await asOwner('PATCH', `${base}/members/${accountId}`, { roleIds: [role.body.id] })).status).toBe(200);
    return role.body.id ?? '';
  };

  beforeAll(async () => {
    ownerId = await h.createFirstAccount(OWNER, 'Olive Owner');
    owner = await (await h.newContext('owner')).newPage();
  });

  it('opens the single sign-on section from the workspace navigation', async () => {
    allowHttpErrors(401); // the signed-out session check on the sign-in page
    await h.signIn(owner, OWNER);
    workspaceId = await h.createWorkspace(owner, 'Acme');
    await owner.getByTestId('nav-sso').click();
    // SAML first.
    await owner.getByTestId('sso-saml').waitFor();
    expect(new URL(owner.url()).pathname).toBe(`/w/${workspaceId}/sso`);
    await owner.getByTestId('saml-none').waitFor();
    // Rampart's SP values, to give the IdP.
    expect(await owner.getByTestId('sp-entity-id').textContent()).toContain(workspaceId);
    expect(await owner.getByTestId('sp-acs-url').textContent()).toMatch(new RegExp(`/api/v1/sso/saml/${workspaceId}/acs$`));
    // The other parts are tabs, each in the address; the arrow keys move between them.
    expect(await owner.getByRole('tab').allTextContents()).toEqual(Object.keys(TABS));
    await owner.getByRole('tab', { name: 'SAML' }).focus();
    await owner.keyboard.press('ArrowRight');
    await owner.getByTestId('sso-scim').waitFor();
    expect(await owner.getByRole('tab', { name: 'SCIM' }).getAttribute('aria-selected')).toBe('true');
    expect(await owner.evaluate(() => document.activeElement?.textContent)).toBe('SCIM');
    expect(new URL(owner.url()).searchParams.get('tab')).toBe('scim');
    expect(await owner.getByTestId('sso-saml').count()).toBe(0);
    await owner.keyboard.press('End');
    await owner.getByTestId('sso-attempts-empty').waitFor();
    await owner.keyboard.press('ArrowRight');
    await owner.getByTestId('sso-saml').waitFor();
    await openTab(owner, 'Domains');
    await owner.getByTestId('domains-empty').waitFor();
  });

  it('lets a person of the domain sign up with a password while SSO is not enforced', async () => {
    allowHttpErrors(401);
    carol = await (await h.newContext('carol')).newPage();
    await h.signUpAndVerify(carol, CAROL, 'Carol');
  });

  it('claims the domain, shows its TXT record, and verifies it once the DNS holds it', async () => {
    await owner.getByLabel('Domain', { exact: true }).fill(DOMAIN);
    await owner.getByRole('button', { name: 'Add domain' }).click();
    const row = owner.locator(`[data-testid="domain"][data-domain="${DOMAIN}"]`);
    await expect.poll(() => row.getAttribute('data-status')).toBe('pending');
    const record = (await row.getByTestId('domain-txt-value').textContent()) ?? '';
    expect(record.length).toBeGreaterThan(20);
    expect(await row.getByTestId('domain-record').textContent()).toContain(`_rampart.${DOMAIN}`);

    // Before the record is published, verifying says so.
    allowHttpErrors(400);
    await row.getByTestId('verify-domain').click();
    await expect.poll(() => row.getByTestId('domain-verify-error').textContent()).toContain('DNS');
    expect(await row.getAttribute('data-status')).toBe('pending');

    dns.txt.set(`_rampart.${DOMAIN}`, [record]);
    await row.getByTestId('verify-domain').click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('verified');
    expect(await row.getByTestId('domain-status').textContent()).toBe('Verified');
  });

  it('refuses to enforce SSO before a SAML connection exists', async () => {
    allowHttpErrors(400);
    const row = owner.locator(`[data-testid="domain"][data-domain="${DOMAIN}"]`);
    await row.getByTestId('enforce-sso').check();
    await row.getByTestId('enforce-confirm').waitFor();
    await row.getByTestId('enforce-sso-confirm').click();
    await expect.poll(() => row.getByTestId('enforce-error').textContent()).toContain('SAML connection');
    await row.getByRole('button', { name: 'Cancel' }).click();
    expect(await row.getByTestId('enforce-sso').isChecked()).toBe(false);
  });

  it('saves the IdP from its metadata XML and lists its certificate', async () => {
    await openTab(owner, 'SAML');
    const saml = owner.getByTestId('sso-saml');
    // Bad metadata: the server's reason is shown.
    allowHttpErrors(400);
    await saml.getByLabel('IdP metadata XML').fill('<not-metadata/>');
    await saml.getByRole('button', { name: 'Save connection' }).click();
    await expect.poll(() => saml.getByTestId('saml-error').textContent()).toContain('metadata');

    await saml.getByLabel('IdP metadata XML').fill(idpServer.idp.metadata(idpServer.ssoUrl));
    await saml.getByRole('button', { name: 'Save connection' }).click();
    await saml.getByTestId('saml-connection').waitFor();
    expect(await saml.getByTestId('saml-idp-entity-id').textContent()).toBe(idpServer.idp.entityId);
    expect(await saml.getByTestId('saml-idp-sso-url').textContent()).toBe(idpServer.ssoUrl);
    expect(await saml.getByTestId('saml-connection-status').textContent()).toBe('Enabled');
    await expect.poll(() => saml.getByTestId('saml-certificate').count()).toBe(1);
    expect(await saml.getByTestId('saml-certificate-fingerprint').textContent()).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$|^[0-9a-f]{64}$/i);

    // The IdP addresses its responses with the values the console shows.
    idpServer.sp = {
      entityId: (await owner.getByTestId('sp-entity-id').textContent()) ?? '',
      acsUrl: (await owner.getByTestId('sp-acs-url').textContent()) ?? '',
    };
  });

  it('enforces SSO for the domain after a confirmation, ending the domain’s other sessions', async () => {
    await openTab(owner, 'Domains');
    const row = owner.locator(`[data-testid="domain"][data-domain="${DOMAIN}"]`);
    await row.getByTestId('enforce-sso').check();
    const confirm = row.getByTestId('enforce-confirm');
    expect(await confirm.textContent()).toContain('refused');
    expect(await confirm.textContent()).toContain('sessions');
    await row.getByTestId('enforce-sso-confirm').click();
    await row.getByTestId('domain-enforced').waitFor();
    expect(await row.getByTestId('enforce-sso').isChecked()).toBe(true);

    // Carol's password session ended.
    allowHttpErrors(401);
    await carol.reload();
    await expect.poll(() => new URL(carol.url()).pathname).toBe('/sign-in');
  });

  it('refuses a password sign-in for the domain and offers SSO for that email', async () => {
    allowHttpErrors(401, 403);
    await submitPassword(carol, CAROL, PASSWORD);
    await carol.getByTestId('sso-required').waitFor();
    expect(await carol.getByRole('alert').first().textContent()).toContain('single sign-on');
    await carol.getByRole('button', { name: `Continue with SSO as ${CAROL}` }).waitFor();
  });

  it('signs in through the IdP from “Sign in with SSO”: discovery, the IdP page, the cross-site POST', async () => {
    allowHttpErrors(401);
    const dan = await (await h.newContext('dan')).newPage();
    await dan.goto(`${h.origin}/sign-in`);
    await dan.getByRole('button', { name: 'Sign in with SSO' }).click();
    await dan.getByRole('heading', { name: 'Sign in with SSO' }).waitFor();

    // A domain without SSO is said so.
    await dan.getByLabel('Work email').fill('someone@elsewhere.test');
    await dan.getByRole('button', { name: 'Continue with SSO' }).click();
    await expect.poll(() => dan.getByTestId('sso-error').textContent()).toContain('not set up for elsewhere.test');

    idpServer.signInAs = DAN;
    await dan.getByLabel('Work email').fill(DAN);
    const before = idpServer.requestIds.length;
    await dan.getByRole('button', { name: 'Continue with SSO' }).click();
    // The IdP's page posts back, and the console opens signed in (a new account, provisioned).
    await expect.poll(() => signedInAs(dan), { timeout: 15_000 }).toBe(DAN);
    expect(idpServer.requestIds.length).toBe(before + 1);
    expect(requestedUrls.some((u) => u.startsWith(`${idpServer.ssoUrl}?SAMLRequest=`))).toBe(true);
    await dan.getByTestId('workspace-name').waitFor();
    expect(await dan.getByTestId('workspace-name').textContent()).toBe('Acme');
  });

  it('signs in the refused password account through SSO from the offered button', async () => {
    idpServer.signInAs = CAROL;
    await carol.getByRole('button', { name: `Continue with SSO as ${CAROL}` }).click();
    await expect.poll(() => signedInAs(carol), { timeout: 15_000 }).toBe(CAROL);
  });

  it('lists the successful attempts in the recent SSO attempts', async () => {
    await ssoSection(owner, workspaceId, 'Sign-in attempts');
    const table = owner.getByTestId('sso-attempts');
    await owner.getByTestId('refresh-sso-attempts').click();
    await expect.poll(() => table.locator('[data-testid="sso-attempt"][data-outcome="success"]').count()).toBeGreaterThanOrEqual(2);
    const nameIds = await table.locator('[data-testid="sso-attempt"][data-outcome="success"]').getByTestId('sso-attempt-name-id').allTextContents();
    expect(nameIds).toEqual(expect.arrayContaining([DAN, CAROL]));
  });

  it('maps a directory group to a role, refuses the same group twice, and removes the mapping', async () => {
    await ssoSection(owner, workspaceId, 'Directory groups');
    const panel = owner.getByTestId('sso-group-roles');
    await panel.getByTestId('group-roles-empty').waitFor();
    // The owner role is never the directory's to give.
    expect(await panel.getByLabel('Role').locator('option').allTextContents()).not.toContain('Owner');
    await panel.getByLabel('Group name').fill('Engineering');
    await panel.getByLabel('Role').selectOption({ label: 'Admin' });
    await panel.getByRole('button', { name: 'Map group' }).click();
    const row = panel.locator('[data-testid="group-role"][data-group="engineering"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('Admin');
    const listed: unknown = await owner.evaluate(async (id) => (await fetch(`/api/v1/workspaces/${id}/directory/group-roles`)).json() as Promise<unknown>, workspaceId);
    expect(listed).toMatchObject({ data: [{ groupKey: 'engineering', role: { builtin: 'admin' } }] });

    allowHttpErrors(409);
    await panel.getByLabel('Group name').fill('ENGINEERING');
    await panel.getByRole('button', { name: 'Map group' }).click();
    await expect.poll(() => panel.getByTestId('group-role-error').textContent()).toMatch(/already/i);
    expect(await panel.getByTestId('group-role').count()).toBe(1);

    await row.getByTestId('remove-group-role').click();
    await row.getByTestId('remove-group-role-confirm').click();
    await panel.getByTestId('group-roles-empty').waitFor();
  });

  it('offers an SSO admin only the roles it can give: its own without members:read, the others greyed out beyond its scopes', async () => {
    allowHttpErrors(401); // the signed-out session check on the sign-up page
    const erin = await h.newMemberPage(workspaceId, ownerId, 'erin@example.test', 'Erin');
    // The owner makes Erin an SSO admin, first without members:read.
    const ssoOnly = await holdOnly(workspaceId, 'erin@example.test', 'SSO only', ['workspace:read', 'sso:manage']);

    await ssoSection(erin, workspaceId, 'Directory groups');
    const panel = erin.getByTestId('sso-group-roles');
    await panel.getByLabel('Role').waitFor();
    expect(await panel.getByLabel('Role').locator('option').allTextContents()).toEqual(['SSO only']);
    expect(await erin.getByTestId('sso-roles-error').count()).toBe(0);
    await openTab(erin, 'SAML');
    await erin.getByTestId('sp-entity-id').waitFor();

    // With members:read it sees every role but the owner's; those beyond its scopes cannot be chosen.
    await holdOnly(workspaceId, 'erin@example.test', 'SSO readers', ['workspace:read', 'sso:manage', 'members:read']);
    await ssoSection(erin, workspaceId, 'Directory groups');
    const options = panel.getByLabel('Role').locator('option');
    await expect.poll(() => options.count()).toBeGreaterThan(1);
    expect(await options.allTextContents()).not.toContain('Owner');
    expect(await panel.getByLabel('Role').locator('option', { hasText: 'Admin' }).isDisabled()).toBe(true);
    expect(await panel.getByLabel('Role').locator('option', { hasText: 'SSO readers' }).isDisabled()).toBe(false);
    // Admin and Member grant scopes Erin lacks: the first role it can give is chosen.
    expect(await panel.getByLabel('Role').locator('option', { hasText: 'Member' }).isDisabled()).toBe(true);
    expect(await panel.getByLabel('Role').inputValue()).toBe(ssoOnly);
    await erin.context().close();
  });

  it('gives a new connection the member role, never the SSO admin’s own, and keeps a current role it cannot give', async () => {
    allowHttpErrors(401); // the signed-out session check on the sign-up page
    const fresh = (await asOwner('POST', '/api/v1/workspaces', { name: 'Fresh' })).body.id ?? '';
    const base = `/api/v1/workspaces/${fresh}`;
    const roleOf = async (builtin: string) => (await asOwner('GET', `${base}/roles`)).body.data?.find((r) => r.builtin === builtin)?.id;
    const fay = await h.newMemberPage(fresh, ownerId, 'fay@example.test', 'Fay');
    await holdOnly(fresh, 'fay@example.test', 'SSO only', ['workspace:read', 'sso:manage']);

    // Fay cannot list the roles: her own is all the select offers, and it is not chosen for her.
    await ssoSection(fay, fresh, 'SAML');
    const saml = fay.getByTestId('sso-saml');
    const role = saml.getByLabel('Default role');
    await role.waitFor();
    expect(await role.inputValue()).toBe('');
    expect(await role.locator('option:checked').textContent()).toBe('Member (the default)');
    await saml.getByLabel('IdP metadata XML').fill(idpServer.idp.metadata(idpServer.ssoUrl));
    await saml.getByRole('button', { name: 'Save connection' }).click();
    await saml.getByTestId('saml-connection').waitFor();
    const member = await roleOf('member');
    expect((await asOwner('GET', `${base}/sso/saml`)).body.connection?.defaultRoleId).toBe(member);

    // With members:read, the member role is listed: beyond her scopes, yet the one kept, so offered and chosen.
    await holdOnly(fresh, 'fay@example.test', 'SSO readers', ['workspace:read', 'sso:manage', 'members:read']);
    await ssoSection(fay, fresh, 'SAML');
    await saml.getByRole('button', { name: 'Change the connection' }).click();
    await expect.poll(() => role.inputValue()).toBe(member);
    expect(await role.locator('option', { hasText: 'Member' }).isDisabled()).toBe(false);
    expect(await role.locator('option', { hasText: 'Admin' }).isDisabled()).toBe(true);
    await fay.context().close();
  });

  it('shows the sign-in page’s error from the URL in words', async () => {
    allowHttpErrors(401);
    const page = await h.newPage('errors');
    await page.goto(`${h.origin}/sign-in?error=sso_required`);
    expect(await page.getByTestId('provider-error').textContent()).toContain('single sign-on');
    await page.goto(`${h.origin}/sign-in?error=sign_in_failed`);
    expect(await page.getByTestId('provider-error').textContent()).toContain('failed');
  });

  describe('through a setup link', () => {
    let url: string;
    let token: string;
    let setupWorkspace: string;
    const otherIdp = { entityId: 'https://idp.it-admin.example/entity', ssoUrl: 'https://idp.it-admin.example/sso' };
    let scimToken: string;
    /** What the identity provider's SCIM client gets for a list of users with this token. */
    const scimUsers = (bearer: string) => fetch(`${h.origin}/scim/v2/${setupWorkspace}/Users`, { headers: { authorization: `Bearer ${bearer}` } });

    it('creates a setup link in the console, shown once, and lists it', async () => {
      await owner.goto(`${h.origin}/`);
      setupWorkspace = await h.createWorkspace(owner, 'Beta');
      await ssoSection(owner, setupWorkspace, 'Setup links');
      const panel = owner.getByTestId('sso-setup-links');
      await panel.getByTestId('setup-links-empty').waitFor();
      await panel.getByLabel('Expires after (hours)').fill('24');
      await panel.getByRole('button', { name: 'Create setup link' }).click();
      url = (await panel.getByTestId('setup-link-url').textContent()) ?? '';
      expect(url).toMatch(new RegExp(`^${h.origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/sso-setup#token=`));
      token = new URL(url).hash.replace('#token=', '');
      await panel.getByTestId('setup-link').waitFor();
      await panel.getByRole('button', { name: 'I have sent it' }).click();
      expect(await panel.getByTestId('setup-link-url').count()).toBe(0);
    });

    it('opens signed out, shows the workspace, SP values, steps per IdP, and saves the connection', async () => {
      allowHttpErrors(401);
      const admin = await h.newPage('it-admin');
      await admin.goto(url);
      await admin.getByTestId('sso-setup-workspace').waitFor();
      // The token is taken out of the address bar, and went to the server only in request bodies.
      expect(new URL(admin.url()).hash).toBe('');
      expect(await admin.getByTestId('sso-setup-workspace').textContent()).toBe('Beta');
      expect(await admin.getByTestId('sp-entity-id').textContent()).toContain(setupWorkspace);
      expect(await admin.locator('[data-testid="idp-instructions"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-idp')))).toEqual([
        'okta',
        'entra',
        'google',
      ]);
      // No provisioning choices through a setup link.
      expect(await admin.getByLabel('Default role').count()).toBe(0);

      await admin.getByLabel('Enter manually').check();
      await admin.getByLabel('IdP entity ID').fill(otherIdp.entityId);
      await admin.getByLabel('IdP SSO URL').fill(otherIdp.ssoUrl);
      await admin.getByLabel('Signing certificate (PEM)').fill(idpServer.idp.keys.cert);
      await admin.getByRole('button', { name: 'Save connection' }).click();
      await admin.getByTestId('saml-connection').waitFor();
      expect(await admin.getByTestId('saml-idp-entity-id').textContent()).toBe(otherIdp.entityId);

      // SCIM: the base URL, a token created here and shown once, that the IdP can use.
      const scim = admin.getByTestId('setup-scim');
      expect(await scim.getByTestId('setup-scim-base-url').textContent()).toBe(`${h.origin}/scim/v2/${setupWorkspace}`);
      await scim.getByTestId('scim-tokens-empty').waitFor();
      await scim.getByText('Provisioning with Okta').click();
      expect(await scim.locator('[data-testid="idp-provisioning"][data-idp="okta"]').textContent()).toContain(`${h.origin}/scim/v2/${setupWorkspace}`);
      await scim.getByLabel('Token name').fill('Okta provisioning');
      await scim.getByRole('button', { name: 'Create SCIM token' }).click();
      scimToken = (await scim.getByTestId('scim-token-value').textContent()) ?? '';
      expect(scimToken).toMatch(/^rscim_/);
      expect((await scimUsers(scimToken)).status).toBe(200);
      await scim.getByRole('button', { name: 'I have saved it' }).click();
      await scim.locator('[data-testid="scim-token"][data-status="active"]').waitFor();
      expect(await scim.getByTestId('scim-token-value').count()).toBe(0);
      expect(await scim.getByTestId('revoke-scim-token').count()).toBe(0);
      expect(requestedUrls.filter((u) => u.includes(token))).toEqual([]);
    });

    it('shows the connection in the owner’s console, and a revoked link no longer opens', async () => {
      await ssoSection(owner, setupWorkspace, 'SAML');
      const saml = owner.getByTestId('sso-saml');
      await saml.getByTestId('saml-connection').waitFor();
      expect(await saml.getByTestId('saml-idp-entity-id').textContent()).toBe(otherIdp.entityId);
      expect(await saml.getByTestId('saml-idp-sso-url').textContent()).toBe(otherIdp.ssoUrl);

      // The owner sees the IT admin's SCIM token, creates another (shown once), and revokes the first.
      await openTab(owner, 'SCIM');
      const scim = owner.getByTestId('sso-scim');
      await scim.getByTestId('scim-token').waitFor();
      expect(await scim.getByTestId('scim-token').textContent()).toContain('through a setup link');
      await scim.getByLabel('Token name').fill('Okta (rotated)');
      await scim.getByRole('button', { name: 'Create SCIM token' }).click();
      const rotated = (await scim.getByTestId('scim-token-value').textContent()) ?? '';
      expect(await scim.getByTestId('scim-base-url').textContent()).toBe(`${h.origin}/scim/v2/${setupWorkspace}`);
      await scim.getByRole('button', { name: 'I have saved it' }).click();
      await expect.poll(() => scim.locator('[data-testid="scim-token"][data-status="active"]').count()).toBe(2);
      allowHttpErrors(401);
      await scim.getByRole('button', { name: 'Revoke the SCIM token Okta provisioning' }).click();
      await scim.getByTestId('revoke-scim-token-confirm').click();
      await scim.locator('[data-testid="scim-token"][data-status="revoked"]').waitFor();
      expect((await scimUsers(scimToken)).status).toBe(401);
      expect((await scimUsers(rotated)).status).toBe(200);

      await openTab(owner, 'Setup links');
      const panel = owner.getByTestId('sso-setup-links');
      await panel.getByTestId('revoke-setup-link').click();
      await panel.getByTestId('revoke-setup-link-confirm').click();
      await panel.getByTestId('setup-links-empty').waitFor();

      allowHttpErrors(400, 401);
      const late = await h.newPage('late');
      await late.goto(url);
      await expect.poll(() => late.getByTestId('sso-setup-error').textContent()).toContain('invalid');
    });
  });
});

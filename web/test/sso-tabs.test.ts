/**
 * Two SAML sign-ins pending in one real browser (Debian Chromium through playwright-core), one
 * per tab, against the real server in process and a samlify IdP on another site
 * (saml-idp-server.ts) whose page waits for its Continue button. Each pending sign-in has its own
 * binding cookie, so both complete, in the order the person finishes them, and a junk response a
 * cross-site page posts to the ACS in between uses and clears nothing.
 */
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestDns } from '../../test/helpers/dns.js';
import { signedInAs, useConsoleHarness } from './harness.js';
import { startIdpServer } from './saml-idp-server.js';

const OWNER = 'owner@example.test';
const DOMAIN = 'tabs-sso.test';
const AMY = `amy@${DOMAIN}`;
const BEN = `ben@${DOMAIN}`;
const BINDING_PREFIX = '__Host-rampart_saml';

// Started before the harness reads its settings: domain verification asks this DNS server.
const dns = await startTestDns();
const idpServer = await startIdpServer('https://idp.tabs-test.example/metadata');

describe('SAML sign-ins pending in two tabs of one browser, in Chromium', () => {
  const h = useConsoleHarness({ config: { dnsServers: [dns.server] } });
  const { allowHttpErrors } = h;
  let workspaceId: string;

  afterAll(async () => {
    await idpServer.close();
    await dns.close();
  });

  it('an owner verifies the domain and connects the IdP', async () => {
    allowHttpErrors(401); // the signed-out session check on the sign-in page
    await h.createFirstAccount(OWNER, 'Olive Owner');
    const owner = await h.newPage('owner');
    await h.signIn(owner, OWNER);
    workspaceId = await h.createWorkspace(owner, 'Tabs');
    const base = `/api/v1/workspaces/${workspaceId}`;
    const added = await h.apiCall(owner, 'POST', `${base}/domains`, { domain: DOMAIN });
    expect(added.status).toBe(201);
    const domain = added.json as { id: string; verification: { value: string } };
    dns.txt.set(`_rampart.${DOMAIN}`, [domain.verification.value]);
    expect((await h.apiCall(owner, 'POST', `${base}/domains/${domain.id}/verify`, {})).status).toBe(200);
    const connected = await h.apiCall(owner, 'PUT', `${base}/sso/saml`, { metadataXml: idpServer.idp.metadata(idpServer.ssoUrl) });
    expect(connected.status).toBe(200);
    idpServer.sp = (connected.json as { sp: { entityId: string; acsUrl: string } }).sp;
    idpServer.autoPost = false;
  });

  /** Opens Rampart's sign-on URL in the tab; the IdP's page waits there with a response for `email`. */
  async function startAt(tab: Page, email: string): Promise<void> {
    idpServer.signInAs = email;
    await tab.goto(`${h.origin}/api/v1/sso/saml/${workspaceId}/login`);
    expect(await tab.locator('#who').textContent()).toContain(email);
  }

  it('both complete, the later first, with a junk response posted cross-site in between', async () => {
    allowHttpErrors(401); // the signed-out session check of the sign-in page the junk post lands on
    const context = await h.newContext('person');
    const first = await context.newPage();
    const second = await context.newPage();
    await startAt(first, AMY);
    await startAt(second, BEN);
    const bindings = async () => (await context.cookies(h.origin)).filter((c) => c.name.startsWith(BINDING_PREFIX));
    const pending = await bindings();
    expect(pending).toHaveLength(2);
    expect(pending.every((c) => c.sameSite === 'None' && c.secure && c.httpOnly)).toBe(true);

    // A page of another site posts junk to the ACS in this browser: refused, and nothing cleared.
    const attacker = await context.newPage();
    await attacker.setContent(
      `<form method="post" action="${idpServer.sp?.acsUrl ?? ''}"><input type="hidden" name="SAMLResponse" value="PGp1bmsvPg=="><button type="submit">Post</button></form>`,
    );
    await attacker.getByRole('button', { name: 'Post' }).click();
    await expect.poll(() => attacker.url()).toBe(`${h.origin}/sign-in?error=sign_in_failed`);
    expect((await bindings()).map((c) => c.name).sort()).toEqual(pending.map((c) => c.name).sort());

    await second.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => signedInAs(second), { timeout: 15_000 }).toBe(BEN);
    expect(await bindings()).toHaveLength(1);

    await first.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => signedInAs(first), { timeout: 15_000 }).toBe(AMY);
    expect(await bindings()).toEqual([]);
  });
});

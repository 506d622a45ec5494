/**
 * The audit log and the access log in the console, in Chromium against the real server (see
 * harness.ts): the owner reads the workspace's audit log (local times to the microsecond, UTC in
 * the tooltip), filters it by action, kind of actor, actor and time range with the filters in the
 * URL (kept on reload, undone by Back), exports it as JSON Lines and CSV with the current filters,
 * finds the published keys, and verifies the chain — which names the first bad event once the
 * database is tampered with. Staff reads (an approved request and a break-glass opening) show in
 * the access log with name, role, justification and ticket, break-glass flagged. A member is
 * offered neither log, and the server refuses both.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_SECTIONS, useConsoleHarness } from './harness.js';
import { staffScript, superuser } from './staff-helpers.js';

const OWNER = 'olivia@example.test';
const MEMBER = 'mike@example.test';
/** The page says how long ago; the tooltip gives the exact local time, to the microsecond, then UTC. */
const RELATIVE = /^(just now|\d+ min ago|\d+ h ago)$/;
const MICRO_LOCAL = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \((.+, )?UTC[+-]\d{2}:\d{2}\)$/;

interface ApiEvent {
  seq: number;
  time: string;
  action: string;
  actor: { type: string; id: string | null };
}

describe('audit log and access log in the console (Chromium)', () => {
  const h = useConsoleHarness();
  const url = (p: string) => `${h.origin}${p}`;
  const search = (page: Page) => new URL(page.url()).searchParams;

  let owner: Page;
  let acmeId: string;
  let oliviaId: string;

  const rows = (page: Page) => page.getByTestId('audit-event');
  const actionsShown = (page: Page) => rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
  /** Waits for the events panel to have settled on a result (rows or "no events"). */
  async function settled(page: Page): Promise<void> {
    await page.locator('[data-testid="audit-event"], [data-testid="audit-empty"]').first().waitFor();
    await expect.poll(() => page.getByTestId('audit-events-panel').getByRole('button', { name: 'Refresh' }).isEnabled()).toBe(true);
  }

  beforeAll(async () => {
    oliviaId = await h.createFirstAccount(OWNER, 'Olivia');
  });

  it('shows the audit log newest first, in local time to the microsecond with UTC in the tooltip', async () => {
    h.allowHttpErrors(401);
    owner = await h.newPage('owner');
    await h.signIn(owner, OWNER);
    acmeId = await h.createWorkspace(owner, 'Acme');
    expect((await h.apiCall(owner, 'POST', `/api/v1/workspaces/${acmeId}/collections`, { name: 'tickets' })).status).toBe(201);
    for (const title of ['Printer on fire', 'Coffee machine empty']) {
      expect((await h.apiCall(owner, 'POST', `/api/v1/workspaces/${acmeId}/collections/tickets/records`, { data: { title } })).status).toBe(201);
    }

    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Audit log', exact: true }).click();
    expect(new URL(owner.url()).pathname).toBe(`/w/${acmeId}/audit`);
    await settled(owner);
    const shown = await actionsShown(owner);
    expect(shown.slice(0, 3)).toEqual(['record.created', 'record.created', 'collection.created']);
    expect(shown).toContain('workspace.created');
    const seqs = await rows(owner).evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-seq'))));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

    // The time: how long ago on the page; the tooltip has it local, to the microsecond, and the server's UTC value.
    const api = (await h.apiCall(owner, 'GET', `/api/v1/workspaces/${acmeId}/audit/events?limit=1`)).json as { data: ApiEvent[] };
    const newest = api.data[0]!;
    expect(newest.time).toMatch(/\.\d{6}Z$/);
    const time = rows(owner).first().getByTestId('event-time');
    expect(await time.textContent()).toMatch(RELATIVE);
    const [local, utc, ...more] = (await time.getAttribute('title'))!.split('\n');
    expect(local).toMatch(MICRO_LOCAL);
    expect(local).toContain(`.${newest.time.slice(20, 26)} (`);
    expect(utc).toBe(`${newest.time.slice(0, 10)} ${newest.time.slice(11, 26)} UTC`);
    expect(more).toEqual([]);
    expect(await time.getAttribute('datetime')).toBe(newest.time);
    expect(await rows(owner).first().getAttribute('data-actor-type')).toBe('account');
    // The owner is named, not only an id.
    expect(await rows(owner).first().textContent()).toContain(`Olivia (${OWNER})`);
  });

  it('filters by action, kind of actor and actor; the filters live in the URL, survive a reload and go with Back', async () => {
    const form = owner.getByRole('form', { name: 'Filter the audit log' });
    await form.getByLabel('Action').fill('record.created');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => search(owner).get('action')).toBe('record.created');
    await expect.poll(() => actionsShown(owner)).toEqual(['record.created', 'record.created']);
    expect(await owner.getByTestId('filter-summary').textContent()).toContain('action record.created');

    // A reload keeps the filter, in the results and in the form.
    await owner.reload();
    await settled(owner);
    expect(await actionsShown(owner)).toEqual(['record.created', 'record.created']);
    expect(await owner.getByRole('form', { name: 'Filter the audit log' }).getByLabel('Action').inputValue()).toBe('record.created');

    // Staff only: none yet.
    await owner.getByRole('form', { name: 'Filter the audit log' }).getByLabel('Kind of actor').selectOption('staff');
    await owner.getByRole('form', { name: 'Filter the audit log' }).getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => search(owner).get('actorType')).toBe('staff');
    await owner.getByTestId('audit-empty').waitFor();

    // Back: the previous filter again.
    await owner.goBack();
    await expect.poll(() => search(owner).get('actorType')).toBe(null);
    await expect.poll(() => actionsShown(owner)).toEqual(['record.created', 'record.created']);

    // Clear, then one actor from a row.
    await owner.getByRole('form', { name: 'Filter the audit log' }).getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => owner.url()).toBe(url(`/w/${acmeId}/audit`));
    await expect.poll(async () => (await actionsShown(owner)).includes('workspace.created')).toBe(true);
    await rows(owner).first().getByRole('button', { name: `Only this actor (${oliviaId})` }).click();
    await expect.poll(() => search(owner).get('actor')).toBe(oliviaId);
    await settled(owner);
    const types = await rows(owner).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-actor-type')));
    expect(types.length).toBeGreaterThan(3);
    expect(new Set(types)).toEqual(new Set(['account']));

    // A malformed actor is explained, not sent.
    await form.getByLabel('Actor id').fill('olivia');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    expect(await form.getByTestId('filter-error').textContent()).toContain('UUID');
    expect(search(owner).get('actor')).toBe(oliviaId);
  });

  it('filters by time range: a quick range, and a range with nothing in it', async () => {
    await owner.goto(url(`/w/${acmeId}/audit`));
    await settled(owner);
    const all = await rows(owner).count();
    await owner.getByRole('button', { name: 'Last hour' }).click();
    await expect.poll(() => search(owner).get('from')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const from = new Date(search(owner).get('from')!).getTime();
    expect(Math.abs(from - (Date.now() - 3_600_000))).toBeLessThan(60_000);
    await expect.poll(() => rows(owner).count()).toBe(all);
    // The form shows the range in local time.
    const fromField = owner.getByRole('form', { name: 'Filter the audit log' }).getByLabel(/^From/);
    expect(new Date(await fromField.inputValue()).getTime()).toBe(Math.floor(from / 1000) * 1000);

    // Tomorrow onwards: nothing.
    const tomorrow = new Date(Date.now() + 86_400_000);
    const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await fromField.fill(local);
    await owner.getByRole('form', { name: 'Filter the audit log' }).getByRole('button', { name: 'Apply filters' }).click();
    await owner.getByTestId('audit-empty').waitFor();
    expect(new Date(search(owner).get('from')!).getTime()).toBe(new Date(local).getTime());
  });

  it('exports the log as JSON Lines and CSV with the current filters, next to the published keys', async () => {
    await owner.goto(url(`/w/${acmeId}/audit?actor=${oliviaId}`));
    await settled(owner);
    const jsonl = owner.getByTestId('export-jsonl');
    expect(await jsonl.getAttribute('href')).toBe(`/api/v1/workspaces/${acmeId}/audit/export?format=jsonl&actor=${oliviaId}`);
    const [download] = await Promise.all([owner.waitForEvent('download'), jsonl.click()]);
    expect(download.suggestedFilename()).toBe(`audit-${acmeId}.jsonl`);
    const lines = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'rampart.audit.export', chain: acmeId, complete: false, filter: { actor: oliviaId } });
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.slice(1).every((l) => JSON.stringify(l).includes(oliviaId))).toBe(true);

    // Without filters: the whole chain, as CSV too.
    await owner.getByRole('form', { name: 'Filter the audit log' }).getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => owner.getByTestId('export-csv').getAttribute('href')).toBe(`/api/v1/workspaces/${acmeId}/audit/export?format=csv`);
    const [csv] = await Promise.all([owner.waitForEvent('download'), owner.getByTestId('export-csv').click()]);
    expect(csv.suggestedFilename()).toBe(`audit-${acmeId}.csv`);
    const text = readFileSync(await csv.path(), 'utf8');
    expect(text.split('\n')[0]).toContain('seq');
    expect(text).toContain('record.created');

    // The keys to verify an export offline, and how.
    const keysLink = owner.getByTestId('public-keys-link');
    expect(await keysLink.getAttribute('href')).toBe('/api/v1/audit/public-keys');
    const keys = (await (await fetch(`${h.server.url}/api/v1/audit/public-keys`)).json()) as { keys: { keyId: string }[] };
    expect(keys.keys.length).toBeGreaterThan(0);
    expect(await owner.getByTestId('audit-export-panel').textContent()).toContain(`rampart audit verify --file audit-${acmeId}.jsonl --public-key`);

    // Each export is itself an audit event.
    await owner.getByTestId('audit-events-panel').getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(async () => (await actionsShown(owner)).filter((a) => a === 'audit.exported').length).toBe(2);
  });

  it('verifies the chain on request', async () => {
    await owner.getByTestId('verify-audit').click();
    const result = owner.getByTestId('verify-result');
    await expect.poll(() => result.getAttribute('data-ok')).toBe('true');
    expect(await result.textContent()).toMatch(/The chain is intact\. Events 1–\d+ \(\d+\) verified/);
  });

  it('shows staff access in the access log: who, role, why, ticket, what; break-glass flagged', async () => {
    const support = await staffScript(h.server, 'support', 'Sam Support');
    const requested = await support.call<{ id: string }>('POST', '/access-requests', {
      workspaceId: acmeId,
      scope: 'records:read',
      justification: 'customer-initiated-support',
      reason: 'The customer asked why their printer ticket is stuck.',
      ticket: 'SUP-1234',
      durationMinutes: 30,
    });
    expect(requested.status).toBe(201);
    const approved = await h.apiCall(owner, 'POST', `/api/v1/workspaces/${acmeId}/access-requests/${requested.json.id}/approve`, {});
    expect(approved.status).toBe(200);
    const grantId = (approved.json as { grant: { id: string } }).grant.id;
    const read = await support.call<{ data: unknown[] }>('GET', `/grants/${grantId}/collections/tickets/records`);
    expect(read.status).toBe(200);
    expect(read.json.data).toHaveLength(2);

    const security = await staffScript(h.server, 'security', 'Sue Security');
    const opened = await security.call<{ grant: { id: string } }>('POST', '/break-glass', { workspaceId: acmeId, scope: 'records:read', reason: 'Active data exfiltration alert.', ticket: 'INC-77' });
    expect(opened.status).toBe(201);
    expect((await security.call('GET', `/grants/${opened.json.grant.id}/collections`)).status).toBe(200);

    await owner.getByTestId('workspace-nav').getByRole('link', { name: 'Access log', exact: true }).click();
    expect(new URL(owner.url()).pathname).toBe(`/w/${acmeId}/access-log`);
    const entries = owner.getByTestId('access-log-entry');
    await expect.poll(() => entries.count()).toBe(4);
    expect(await entries.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')))).toEqual([
      'staff.records.read',
      'staff.break_glass.opened',
      'staff.records.read',
      'staff.access.requested',
    ]);

    const supportRead = entries.nth(2);
    expect(await supportRead.getByTestId('staff-name').textContent()).toBe('Sam Support');
    expect(await supportRead.getByTestId('staff-role').textContent()).toBe('support');
    expect(await supportRead.getByTestId('staff-justification').textContent()).toBe('Customer-initiated support');
    expect(await supportRead.getByTestId('staff-ticket').textContent()).toBe('SUP-1234');
    expect(await supportRead.getByTestId('access-what').textContent()).toContain('Read 2 records of collection tickets');
    expect(await supportRead.getAttribute('data-break-glass')).toBe('false');
    expect(await supportRead.getByTestId('break-glass').count()).toBe(0);
    expect(await supportRead.getByTestId('event-time').textContent()).toMatch(RELATIVE);
    expect((await supportRead.getByTestId('event-time').getAttribute('title'))?.split('\n')[0]).toMatch(MICRO_LOCAL);
    // The request is linked to the approval screen.
    expect(await supportRead.getByTestId('access-request-link').getAttribute('title')).toBe(requested.json.id);
    // Their reason shows on the request entry.
    expect(await entries.nth(3).textContent()).toContain('The customer asked why their printer ticket is stuck.');

    const emergency = entries.first();
    expect(await emergency.getByTestId('staff-name').textContent()).toBe('Sue Security');
    expect(await emergency.getByTestId('staff-role').textContent()).toBe('security');
    expect(await emergency.getAttribute('data-break-glass')).toBe('true');
    expect(await emergency.getByTestId('break-glass').textContent()).toBe('Break-glass');
    expect(await emergency.getByTestId('access-what').textContent()).toContain('Listed the collections');
    // Flagged in red.
    const badge = await emergency.getByTestId('break-glass').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(badge).toMatch(/^rgb\((1[5-9]\d|2\d\d), \d{1,2}, \d{1,2}\)$/);

    // The time filter applies here too, in the URL.
    const tomorrow = new Date(Date.now() + 86_400_000);
    await owner.goto(url(`/w/${acmeId}/access-log?from=${encodeURIComponent(tomorrow.toISOString())}`));
    await owner.getByTestId('access-log-empty').waitFor();

    // In the audit log, staff events among the rest, marked.
    await owner.goto(url(`/w/${acmeId}/audit?actorType=staff`));
    await settled(owner);
    expect(await rows(owner).count()).toBe(4);
    expect(await rows(owner).first().getByTestId('staff-name').textContent()).toBe('Sue Security');
    expect(await rows(owner).first().getByTestId('break-glass').count()).toBe(1);
  });

  it('names the first bad event once the chain is tampered with', async () => {
    // Another workspace, so that Acme's chain stays whole.
    const created = await h.apiCall(owner, 'POST', '/api/v1/workspaces', { name: 'Beta' });
    const betaId = (created.json as { id: string }).id;
    expect((await h.apiCall(owner, 'POST', `/api/v1/workspaces/${betaId}/collections`, { name: 'notes' })).status).toBe(201);
    for (const n of [1, 2, 3]) {
      expect((await h.apiCall(owner, 'POST', `/api/v1/workspaces/${betaId}/collections/notes/records`, { data: { n } })).status).toBe(201);
    }
    await owner.goto(url(`/w/${betaId}/audit`));
    await settled(owner);
    await owner.getByTestId('verify-audit').click();
    await expect.poll(() => owner.getByTestId('verify-result').getAttribute('data-ok')).toBe('true');

    // Someone with the database's superuser changes one event (triggers off, as only they can).
    const [target] = await superuser<{ seq: number }>(
      h.server,
      `SELECT seq::int AS seq FROM audit_events WHERE tenant_id = $1 AND action = 'record.created' ORDER BY seq LIMIT 1`,
      [betaId],
    );
    await superuser(
      h.server,
      `DO $$ BEGIN PERFORM set_config('session_replication_role', 'replica', true);
         UPDATE rampart.audit_events SET body = replace(body, 'success', 'failure') WHERE tenant_id = '${betaId}' AND seq = ${target!.seq}; END $$`,
    );
    await owner.getByTestId('verify-audit').click();
    const result = owner.getByTestId('verify-result');
    await expect.poll(() => result.getAttribute('data-ok')).toBe('false');
    expect(await result.getByTestId('verify-first-bad').textContent()).toBe(String(target!.seq));
    expect(await result.textContent()).toContain('Verification failed');
  });

  it('offers a member neither log, and the server refuses both', async () => {
    h.allowHttpErrors(401, 403);
    const mike = await h.newMemberPage(acmeId, oliviaId, MEMBER, 'Mike');

    const before = h.requestedUrls.length;
    await mike.goto(url(`/w/${acmeId}`));
    await expect.poll(() => mike.getByTestId('workspace-role').allTextContents()).toEqual(['Member']);
    expect(await mike.getByTestId('workspace-nav').getByRole('link').allTextContents()).toEqual(MEMBER_SECTIONS);
    for (const section of ['audit', 'access-log']) {
      await mike.goto(url(`/w/${acmeId}/${section}`));
      await mike.getByTestId('section-forbidden').waitFor();
      expect(await mike.getByTestId('section-forbidden').textContent()).toContain('audit:read');
    }
    // Nor does the page ask for them.
    expect(h.requestedUrls.slice(before).filter((u) => /\/audit\//.test(u))).toEqual([]);
    expect((await h.apiCall(mike, 'GET', `/api/v1/workspaces/${acmeId}/audit/events`)).status).toBe(403);
    expect((await h.apiCall(mike, 'GET', `/api/v1/workspaces/${acmeId}/audit/access-log`)).status).toBe(403);
  });
});

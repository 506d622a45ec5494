/**
 * The records grid in a real browser against the real server: creating a collection under the
 * server's naming rule (shown before anything is typed, checked before anything is sent), keyset
 * pages forward and back, the column picker (remembered per collection), filters on exactly what
 * the API can filter, and the drawer's JSON editor (a syntax error shown with its place and saving
 * held back, a save over the version read, a conflict, a delete); at phone and desktop widths
 * with no sideways page scroll and no axe violation, under the CSP (harness.ts).
 *
 * The JSON checker behind the editor is also tested on its own, against JSON.parse.
 */
import type { Page, Request } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkJson, findJsonProblem, parseRecordJson } from '../src/components/records-json.js';
import { accessibilityViolations, useConsoleHarness } from './harness.js';

const OWNER = 'grid-owner@example.test';
const RULE = 'A collection name is 1–63 lowercase letters, digits, "_" or "-", starting with a letter.';

describe('the JSON checker of the record editor', () => {
  const valid = [
    '{}',
    '[]',
    '{"a": 1, "b": [true, false, null], "c": {"d": "e\\u00e9\\n"}}',
    ' -0.5e+10 ',
    '"x"',
    '[[[[[[]]]]]]',
    '{"a":{"b":{"c":[1,2,{"d":null}]}}}',
  ];
  const invalid: Array<[text: string, line: number, column: number, words: RegExp]> = [
    ['{"title": "Printer", "status": }', 1, 32, /Expected a value/],
    ['{\n  "title": "Printer",\n  "status": "open",\n}', 3, 19, /trailing comma/],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /Expected "," or "}" after a property value, found a double quote/],
    ["{'a': 1}", 1, 2, /double quotes/],
    ['{"a": tru}', 1, 10, /Expected true, found "}"/],
    ['{"a": True}', 1, 7, /lowercase/],
    ['{"a": 01}', 1, 8, /cannot start with 0/],
    ['{"a": 1.}', 1, 8, /"\." in a number/],
    ['{"a": "line\nbreak"}', 1, 12, /line break/],
    ['{"a": "\\x"}', 1, 8, /not an escape/],
    ['{"a": "open', 1, 7, /never closed/],
    ['{"a": 1', 1, 8, /ends where/],
    ['{"a": 1} x', 1, 10, /ends before this/],
    ['{"a" 1}', 1, 6, /":" after the property name/],
  ];

  it('accepts what JSON.parse accepts, and places the first problem of what it refuses', () => {
    for (const text of valid) {
      expect(findJsonProblem(text), text).toBeNull();
      expect(checkJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
    }
    for (const [text, line, column, words] of invalid) {
      expect(() => JSON.parse(text) as unknown, text).toThrow();
      const checked = checkJson(text);
      if (checked.ok) throw new Error(`accepted ${text}`);
      expect({ text, line: checked.problem.line, column: checked.problem.column }).toEqual({ text, line, column });
      expect(checked.problem.message, text).toMatch(words);
    }
  });

  it('agrees with JSON.parse on every one-character change of a record', () => {
    const base = JSON.stringify({ title: 'Printer "on fire"', n: -12.5e3, ok: true, none: null, tags: ['a', 'b'], nested: { deep: [0, { x: '\\u' }] } }, null, 1);
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', '-', '+', '.', '0', '1', 'e', 'E', 't', 'n', 'f', 'x', ' ', '\n', 'u'];
    let refused = 0;
    for (let i = 0; i <= base.length; i += 1) {
      const variants = [base.slice(0, i) + base.slice(i + 1), ...alphabet.map((ch) => base.slice(0, i) + ch + base.slice(i)), ...alphabet.map((ch) => base.slice(0, i) + ch + base.slice(i + 1))];
      for (const text of variants) {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        // The scanner finds a problem exactly when JSON.parse refuses the text.
        expect(findJsonProblem(text) === null, JSON.stringify(text)).toBe(parses);
        if (!parses) refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  it('asks for an object', () => {
    expect(parseRecordJson('[1, 2]')).toMatchObject({ ok: false, error: /must be a JSON object/ });
    expect(parseRecordJson('   ')).toMatchObject({ ok: false, error: /Invalid JSON/ });
    expect(parseRecordJson('{"a": 1}')).toEqual({ ok: true, data: { a: 1 } });
  });
});

describe('the records grid in Chromium', () => {
  const h = useConsoleHarness();
  let page: Page;
  let workspaceId: string;
  /** The ids of the records made through the API, oldest first. */
  const ids: string[] = [];
  const posts: string[] = [];

  const recordsUrl = (collection: string) => `/api/v1/workspaces/${workspaceId}/collections/${collection}/records`;
  const rowIds = () => page.getByTestId('record-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-record-id')));
  const headers = () => page.getByTestId('records-table').locator('thead th').allTextContents();
  /** The cells of one column, by its header. */
  const column = async (header: string) => {
    const index = (await headers()).indexOf(header);
    if (index < 0) throw new Error(`no column ${header}`);
    return page.getByTestId('record-row').evaluateAll((rows, i) => rows.map((r) => r.children[i]?.textContent ?? ''), index);
  };
  const drawer = () => page.getByTestId('record-drawer');
  const pageScrollsSideways = () => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
  /**
   * What of the collections, the records grid and the drawer reaches past the sides of the
   * screen, outside the grid's own scrolling region (where it may, and is scrolled to).
   */
  const beyondTheScreen = () =>
    page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const scopes = document.querySelectorAll('[data-testid="records-panel"], [data-testid="collections-panel"], dialog[open]');
      return [...scopes]
        .flatMap((scope) => [scope, ...scope.querySelectorAll('*')])
        .filter((el) => !el.parentElement?.closest('.table-wrap'))
        .filter((el) => {
          const box = el.getBoundingClientRect();
          return box.width > 0 && (box.right > width + 1 || box.left < -1);
        })
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)} > ${width}`);
    });

  async function openCollections(): Promise<void> {
    await page.goto(`${h.origin}/w/${workspaceId}/collections`);
    await page.getByTestId('collections-panel').waitFor();
  }

  beforeAll(async () => {
    await h.createFirstAccount(OWNER, 'Grid Owner');
    page = await h.newPage('grid');
    page.on('request', (request: Request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
    });
  });

  it('signs in and makes a workspace', async () => {
    h.allowHttpErrors(401); // the signed-out session check
    await h.signIn(page, OWNER);
    workspaceId = await h.createWorkspace(page, 'Grid');
  });

  it('shows the server’s collection-name rule before a name is typed, and refuses a bad name in its words without sending it', async () => {
    await openCollections();
    const rule = page.getByTestId('collection-name-rule');
    await expect.poll(() => rule.textContent()).toBe(RULE);
    // The words are the server's: the list's nameRule.
    const listed = await h.apiCall(page, 'GET', `/api/v1/workspaces/${workspaceId}/collections`);
    expect((listed.json as { nameRule: { description: string } }).nameRule.description).toBe(RULE.slice(0, -1).replace(/^A/, 'a'));
    await page.getByTestId('collections-empty').waitFor();

    const before = posts.length;
    for (const bad of ['Bad Name', '1st', 'x'.repeat(64)]) {
      await page.getByLabel('New collection name').fill(bad);
      await page.getByRole('button', { name: 'Create collection' }).click();
      await expect.poll(() => page.getByTestId('collection-name-error').textContent()).toContain(RULE);
      expect(await page.getByLabel('New collection name').getAttribute('aria-invalid')).toBe('true');
    }
    expect(posts.slice(before)).toEqual([]);

    await page.getByLabel('New collection name').fill('tickets');
    expect(await page.getByTestId('collection-name-error').count()).toBe(0);
    await page.getByRole('button', { name: 'Create collection' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/w/${workspaceId}/c/tickets`);
    await page.getByTestId('records-empty').waitFor();
    expect(posts.slice(before)).toEqual([`/api/v1/workspaces/${workspaceId}/collections`]);
  });

  it('pages forward and back with the API’s cursors, never an offset', async () => {
    for (let n = 0; n < 12; n += 1) {
      const data = { title: `Ticket ${n}`, status: n % 3 === 0 ? 'closed' : 'open', priority: n % 4, n, nested: { n }, tags: ['t'] };
      const res = await h.apiCall(page, 'POST', recordsUrl('tickets'), { data });
      expect(res.status).toBe(201);
      ids.push((res.json as { id: string }).id);
    }
    await page.reload();
    await expect.poll(rowIds).toEqual(ids);
    await page.getByLabel('Rows per page').selectOption('10');
    await expect.poll(rowIds).toEqual(ids.slice(0, 10));
    expect(await page.getByTestId('previous-page').isDisabled()).toBe(true);
    const asked = h.requestedUrls.length;

    await page.getByTestId('next-page').click();
    await expect.poll(rowIds).toEqual(ids.slice(10));
    expect(await page.getByTestId('next-page').isDisabled()).toBe(true);
    expect(await page.getByTestId('page-label').textContent()).toBe('Page 2 · 2 records');
    await page.getByTestId('previous-page').click();
    await expect.poll(rowIds).toEqual(ids.slice(0, 10));

    const lists = h.requestedUrls.slice(asked).filter((u) => new URL(u).pathname === recordsUrl('tickets'));
    expect(lists.length).toBe(2);
    const [forward, back] = lists.map((u) => new URL(u).searchParams);
    expect(forward?.get('limit')).toBe('10');
    expect(forward?.get('cursor')).toBeTruthy();
    expect(back?.get('cursor')).toBeNull();
    for (const u of h.requestedUrls) expect(u).not.toMatch(/[?&](offset|page)=/);
  });

  it('shows the columns chosen, and remembers the choice per collection in this browser', async () => {
    await expect.poll(headers).toEqual(['Id', 'title', 'status', 'priority', 'n', 'Created', 'Updated']);
    expect(await column('title')).toEqual(ids.slice(0, 10).map((_, n) => `Ticket ${n}`));

    await page.getByTestId('column-picker').locator('summary').click();
    const picker = page.getByTestId('column-picker');
    await picker.getByLabel('priority').uncheck();
    await picker.getByLabel('tags').check();
    await picker.getByLabel('Updated').uncheck();
    await expect.poll(headers).toEqual(['Id', 'title', 'status', 'n', 'tags', 'Created']);
    expect((await column('tags'))[0]).toBe('[1 item]');

    await page.reload();
    await expect.poll(headers).toEqual(['Id', 'title', 'status', 'n', 'tags', 'Created']);
    // The page size is part of the choice.
    await expect.poll(rowIds).toEqual(ids.slice(0, 10));

    // Another collection has its own columns.
    expect((await h.apiCall(page, 'POST', `/api/v1/workspaces/${workspaceId}/collections`, { name: 'leads' })).status).toBe(201);
    expect((await h.apiCall(page, 'POST', recordsUrl('leads'), { data: { company: 'Initech', stage: 'won', value: 12 } })).status).toBe(201);
    await page.goto(`${h.origin}/w/${workspaceId}/c/leads`);
    await expect.poll(headers).toEqual(['Id', 'company', 'stage', 'value', 'Created', 'Updated']);
    await page.goto(`${h.origin}/w/${workspaceId}/c/tickets`);
    await expect.poll(headers).toEqual(['Id', 'title', 'status', 'n', 'tags', 'Created']);
  });

  it('filters on the fields and values the API can filter, and says what it cannot', async () => {
    await page.getByTestId('filter-tool').locator('summary').click();
    const fieldOptions = await page.getByTestId('filter-field').locator('option:not([disabled])').allTextContents();
    expect(fieldOptions).toEqual(['title', 'status', 'priority', 'n']);
    const explained = (await page.getByTestId('filter-explained').textContent()) ?? '';
    expect(explained).toContain('encrypted');
    expect(explained).toContain('Not filterable here: nested (object); tags (list).');

    const asked = h.requestedUrls.length;
    await page.getByTestId('filter-field').selectOption('status');
    expect(await page.getByTestId('filter-kind').inputValue()).toBe('string');
    await page.getByTestId('filter-value').fill('closed');
    await page.getByRole('button', { name: 'Add filter' }).click();
    const closed = ids.filter((_, n) => n % 3 === 0);
    await expect.poll(rowIds).toEqual(closed);
    expect(await column('status')).toEqual(closed.map(() => 'closed'));
    expect(await page.getByTestId('active-filter').locator('code').allTextContents()).toEqual(['status = "closed"']);
    const filtered = h.requestedUrls.slice(asked).map((u) => new URL(u)).filter((u) => u.pathname === recordsUrl('tickets'));
    expect(filtered.at(-1)?.searchParams.get('filter[status]')).toBe('"closed"');

    // A number is a number: priority 0 among the closed ones.
    await page.getByTestId('filter-field').selectOption('priority');
    expect(await page.getByTestId('filter-kind').inputValue()).toBe('number');
    await page.getByTestId('filter-value').fill('0');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await expect.poll(rowIds).toEqual([ids[0]]);
    await page.getByTestId('filter-value').fill('zero');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await expect.poll(() => page.getByTestId('filter-error').textContent()).toContain('Enter a number');

    // Exact values only: no match says so, and clearing brings every record back.
    await page.getByRole('button', { name: 'Remove the filter priority = 0' }).click();
    await page.getByTestId('filter-field').selectOption('status');
    await page.getByTestId('filter-value').fill('Closed');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.getByTestId('records-empty').waitFor();
    expect(await page.getByTestId('records-empty').textContent()).toContain('No records match these filters');
    await page.getByTestId('records-empty').getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(rowIds).toEqual(ids.slice(0, 10));
  });

  it('opens a record in the drawer, holds back a save while the JSON is broken, saves it fixed, and the grid shows it', async () => {
    const first = page.locator(`[data-record-id="${ids[0]}"]`);
    await first.getByTestId('open-record').click();
    await expect.poll(() => drawer().getAttribute('open')).toBe('');
    expect(await drawer().getByTestId('drawer-record-id').textContent()).toBe(ids[0]);
    const editor = drawer().getByLabel('Record JSON');
    expect(JSON.parse(await editor.inputValue())).toEqual({ title: 'Ticket 0', status: 'closed', priority: 0, n: 0, nested: { n: 0 }, tags: ['t'] });
    const save = drawer().getByRole('button', { name: 'Save' });
    // Nothing changed yet: nothing to save.
    expect(await save.isDisabled()).toBe(true);

    await editor.fill('{\n  "title": "Ticket 0 (edited)",\n  "status": \n}');
    await expect.poll(() => drawer().getByTestId('json-error').textContent()).toContain('Line 4, column 1: Expected a value');
    expect(await editor.getAttribute('aria-invalid')).toBe('true');
    expect(await save.isDisabled()).toBe(true);
    // The error's place is one button away.
    await drawer().getByRole('button', { name: 'Go to line 4, column 1' }).click();
    expect(await editor.evaluate((el: HTMLTextAreaElement) => el.selectionStart)).toBe(47);

    await editor.fill('{"title": "Ticket 0 (edited)", "status": "closed", "priority": 0, "n": 0}');
    await expect.poll(() => drawer().getByTestId('json-error').count()).toBe(0);
    await drawer().getByRole('button', { name: 'Format' }).click();
    expect(await editor.inputValue()).toBe(JSON.stringify({ title: 'Ticket 0 (edited)', status: 'closed', priority: 0, n: 0 }, null, 2));
    await save.click();
    await expect.poll(() => drawer().getByTestId('record-version').textContent()).toBe('v2');
    const stored = await h.apiCall(page, 'GET', `${recordsUrl('tickets')}/${ids[0]}`);
    expect(stored.json).toMatchObject({ version: 2, data: { title: 'Ticket 0 (edited)' } });
    await drawer().getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => drawer().getAttribute('open')).toBeNull();
    await expect.poll(async () => (await column('title'))[0]).toBe('Ticket 0 (edited)');
    await expect.poll(async () => (await column('tags'))[0]).toBe('—');
  });

  it('keeps a change made meanwhile: the save is refused, said plainly, and the latest version loads', async () => {
    await page.locator(`[data-record-id="${ids[1]}"]`).getByTestId('open-record').click();
    const editor = drawer().getByLabel('Record JSON');
    await editor.waitFor();
    h.allowHttpErrors(412);
    const other = await h.apiCall(page, 'PUT', `${recordsUrl('tickets')}/${ids[1]}`, { data: { title: 'Changed elsewhere' } });
    expect(other).toMatchObject({ status: 200, json: { version: 2 } });
    await editor.fill('{"title": "Mine"}');
    await drawer().getByRole('button', { name: 'Save' }).click();
    const error = drawer().getByTestId('record-save-error');
    await expect.poll(() => error.textContent()).toContain('has changed since it was read');
    expect(await error.textContent()).toContain('nothing was overwritten');
    expect((await h.apiCall(page, 'GET', `${recordsUrl('tickets')}/${ids[1]}`)).json).toMatchObject({ version: 2, data: { title: 'Changed elsewhere' } });
    await drawer().getByRole('button', { name: 'Load the latest version' }).click();
    await expect.poll(async () => JSON.parse(await editor.inputValue()) as unknown).toEqual({ title: 'Changed elsewhere' });
    expect(await drawer().getByTestId('record-version').textContent()).toBe('v2');
    expect(await error.count()).toBe(0);
  });

  it('deletes a record after confirmation, and creates one', async () => {
    await drawer().getByTestId('delete-record').click();
    // The first click only asks.
    expect(await drawer().getAttribute('open')).toBe('');
    await drawer().getByTestId('delete-record-confirm').click();
    await expect.poll(() => drawer().getAttribute('open')).toBeNull();
    await expect.poll(rowIds).toEqual([ids[0], ...ids.slice(2, 11)]);
    h.allowHttpErrors(404);
    expect((await h.apiCall(page, 'GET', `${recordsUrl('tickets')}/${ids[1]}`)).status).toBe(404);

    await page.getByTestId('new-record').click();
    const editor = drawer().getByLabel('Record JSON');
    await editor.fill('[1, 2]');
    await expect.poll(() => drawer().getByTestId('json-error').textContent()).toContain('must be a JSON object');
    expect(await drawer().getByRole('button', { name: 'Create record' }).isDisabled()).toBe(true);
    await editor.fill('{"title": "Ticket 12", "status": "open"}');
    await drawer().getByRole('button', { name: 'Create record' }).click();
    await expect.poll(() => drawer().getByTestId('record-version').textContent()).toBe('v1');
    const created = (await drawer().getByTestId('drawer-record-id').textContent())!;
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer().getAttribute('open')).toBeNull();
    await page.getByTestId('next-page').click();
    await expect.poll(rowIds).toEqual([ids[11], created]);
    await page.getByTestId('previous-page').click();
    await expect.poll(rowIds).toEqual([ids[0], ...ids.slice(2, 11)]);
  });

  it('is used from the keyboard: a row opens with Enter, Esc closes the drawer and the focus goes back', async () => {
    const opener = page.locator(`[data-record-id="${ids[2]}"]`).getByTestId('open-record');
    await opener.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => drawer().getAttribute('open')).toBe('');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('id'))).toBe('record-json');
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer().getAttribute('open')).toBeNull();
    await expect.poll(() => opener.evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it('says plainly when the collection does not exist, and leads back to the list', async () => {
    h.allowHttpErrors(404);
    await page.goto(`${h.origin}/w/${workspaceId}/c/no-such-thing`);
    const gone = page.getByTestId('collection-gone');
    await expect.poll(() => gone.textContent()).toContain('There is no collection named no-such-thing');
    expect(await page.getByTestId('new-record').count()).toBe(0);
    expect(await page.getByTestId('records-table').count()).toBe(0);
    await page.goto(`${h.origin}/w/${workspaceId}/c/tickets`);
    await page.getByTestId('records-table').waitFor();
  });

  it.each([
    { name: 'phone', width: 390, height: 844 },
    { name: 'desktop', width: 1440, height: 900 },
  ])('at $name width ($width px), nothing of the grid widens the page: the grid scrolls inside itself, and axe finds nothing', async (viewport) => {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    // Many columns, and long values.
    await page.getByTestId('column-picker').locator('summary').click();
    for (const field of ['priority', 'nested']) await page.getByTestId('column-picker').getByLabel(field).check();
    await page.getByTestId('column-picker').locator('summary').click();
    await page.getByTestId('filter-tool').locator('summary').click();
    await expect.poll(headers).toEqual(['Id', 'title', 'status', 'priority', 'n', 'nested', 'tags', 'Created']);
    expect(await beyondTheScreen()).toEqual([]);
    expect(await pageScrollsSideways()).toBe(false);
    const region = page.getByRole('region', { name: 'Table of records in tickets' });
    const widths = await region.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    if (viewport.name === 'phone') expect(widths.scroll).toBeGreaterThan(widths.client);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.locator(`[data-record-id="${ids[0]}"]`).getByTestId('open-record').click();
    await drawer().getByLabel('Record JSON').waitFor();
    expect(await beyondTheScreen()).toEqual([]);
    expect(await pageScrollsSideways()).toBe(false);
    const box = await drawer().boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width + 1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.getByTestId('filter-tool').locator('summary').click();
    // Back to the choice the earlier steps made.
    await page.getByTestId('column-picker').locator('summary').click();
    for (const field of ['priority', 'nested']) await page.getByTestId('column-picker').getByLabel(field).uncheck();
    await page.getByTestId('column-picker').locator('summary').click();

    await openCollections();
    expect(await beyondTheScreen()).toEqual([]);
    expect(await pageScrollsSideways()).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.goto(`${h.origin}/w/${workspaceId}/c/tickets`);
    await page.getByTestId('records-table').waitFor();
  });
});

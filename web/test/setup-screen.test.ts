/**
 * The console's first screen before any account exists: it says so and tells how to get the
 * one-time setup link — printed in the terminal where the server started, and again by
 * `npx rampart setup-link --dev`, which works beside the running server — without ever showing the
 * link's token (a bearer secret that makes the first account; any page a browser or a
 * DNS-rebinding page could read must not hold it). Checked with axe-core at phone and desktop
 * widths, under the server's CSP.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, useConsoleHarness, VIEWPORTS } from './harness.js';

describe('the first screen while no account exists', () => {
  const h = useConsoleHarness();
  let page: Page;

  beforeAll(async () => {
    page = await h.newPage('first screen');
  });

  it.each(VIEWPORTS)('at $name width, says how to get the setup link, never the link itself, and passes axe', async (viewport) => {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    h.allowHttpErrors(401); // the signed-out session check
    await page.goto(`${h.server.url}/`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/setup');
    const notice = page.getByTestId('setup-needs-link');
    await notice.waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Set up Rampart');
    const text = (await notice.textContent()) ?? '';
    expect(text).toMatch(/No account exists yet/);
    expect(text).toMatch(/printed in the terminal where the server started/);
    expect(await page.getByTestId('setup-link-command').textContent()).toBe('npx rampart setup-link --dev');
    expect(text).toMatch(/npx rampart setup-link\b/);
    // The token is nowhere in the page, and the page asked for nothing that could carry it.
    const token = (h.server.setupLink ?? '').split('#token=')[1] as string;
    expect(token).toMatch(/^rsu_/);
    expect(await page.content()).not.toContain(token);
    expect(await page.content()).not.toContain('rsu_');
    expect(h.requestedUrls.join('\n')).not.toContain('rsu_');
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('the accessibility check is live: it reports an image without a text alternative', async () => {
    await page.evaluate(() => {
      const img = document.createElement('img');
      img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
      document.querySelector('main')?.append(img);
    });
    expect((await accessibilityViolations(page)).join('\n')).toMatch(/^image-alt: /m);
  });
});

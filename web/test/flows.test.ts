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
import { accessibilityViolations, signedInAs, useConsoleHarness } from './harness.js';
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
      await page.goto(url('/settings'));
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
      expect(pathOf(page)).toBe('/settings');
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
});

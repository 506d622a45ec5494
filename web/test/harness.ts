/**
 * What the console's browser tests share: the console built, the real server started in process
 * over its embedded database, Debian Chromium through playwright-core, and every page watched for
 * Content-Security-Policy violations, script errors and console errors. An error status a step
 * provokes on purpose is declared with `allowHttpErrors`; anything else fails the step.
 *
 * `useConsoleHarness` registers the suite's hooks (call it inside a `describe`); its fields are
 * set once `beforeAll` has run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { CONSOLE_INDEX, ensureConsoleBuilt } from '../../scripts/console-build.js';
import { loadConfig, type Config } from '../../src/config.js';
import { tenantContext } from '../../src/platform/db/types.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { capturingLogger, instrumentApp, registerConfigSecrets, registerKeyFile } from '../../test/helpers/secret-capture.js';

export const WEB = fileURLToPath(new URL('..', import.meta.url));
export const REPO = path.resolve(WEB, '..');
export const INDEX = CONSOLE_INDEX;

export const PASSWORD = 'correct horse battery staple';

/** Builds the console unless web/dist is present and newer than its sources. */
export function ensureBuilt(): void {
  ensureConsoleBuilt();
}

/** A TCP port free right now on the loopback interface. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Problem {
  readonly page: string;
  readonly kind: string;
  readonly text: string;
}

/** How Chromium logs a request the server answered with an error status. */
const HTTP_FAILURE = /^Failed to load resource: the server responded with a status of (\d{3})\b/;

export interface HarnessOptions {
  /**
   * Serve at `http://localhost:<port>` (also the public URL, so email links and the WebAuthn
   * relying party match the page's origin: an IP address is not a valid RP id). Otherwise the
   * server binds any free port and is reached at 127.0.0.1.
   */
  readonly localhost?: boolean;
  /** Settings on top of the development defaults. */
  readonly config?: Partial<Config>;
}

export interface Harness {
  readonly server: RunningServer;
  readonly browser: Browser;
  /** The origin pages are opened at. */
  readonly origin: string;
  /** Every URL any page requested, in order. */
  readonly requestedUrls: string[];
  readonly downloadsDir: string;
  /** Error statuses the current step provokes on purpose; any other is a problem. */
  allowHttpErrors: (...statuses: number[]) => void;
  /** A fresh browser context whose pages report console errors, script errors and CSP violations. */
  newContext: (label: string) => Promise<BrowserContext>;
  /** A new page in a fresh context. */
  newPage: (label: string) => Promise<Page>;
  /** Calls the API from inside the page, as the console would, with the session's CSRF token. */
  apiCall: (page: Page, method: string, url: string, body?: unknown) => Promise<{ status: number; json: unknown }>;
  /**
   * The newest email link to `path` (`/verify`, `/magic`, `/reset`) sent to `to` and not returned
   * before, read from the server's outbox once its background work has settled.
   */
  emailLink: (to: string, path: string) => Promise<string>;
  /** Creates the first account through the API with the server's setup link; returns its id. */
  createFirstAccount: (email: string, name?: string) => Promise<string>;
  /** Signs up at /sign-up (with the password PASSWORD); the page ends asking to check the email. */
  signUp: (page: Page, email: string, name?: string) => Promise<void>;
  /** Signs up, then opens the verification link from the email: the page ends signed in. */
  signUpAndVerify: (page: Page, email: string, name?: string) => Promise<void>;
  /** Signs in at /sign-in with the password and waits until the console shows the account. */
  signIn: (page: Page, email: string) => Promise<void>;
  /** Creates a workspace through the switcher's "New workspace" dialog; returns its id (the page ends on its overview). */
  createWorkspace: (page: Page, name: string) => Promise<string>;
  /** Adds the account with this email to a workspace in the member role, as one of its owners (`by`) would. */
  addMember: (workspaceId: string, by: string, email: string) => Promise<void>;
  /** A new page for a new member of the workspace: signed up, verified, and added by `by` in the member role. */
  newMemberPage: (workspaceId: string, by: string, email: string, name: string) => Promise<Page>;
}

/** The workspace's sections an owner's sidebar offers, in order. */
export const OWNER_SECTIONS = [
  'Overview',
  'Collections',
  'Documents',
  'Members',
  'Invitations',
  'Roles',
  'Single sign-on',
  'API keys',
  'Encryption and secrets',
  'Access requests',
  'Access log',
  'Audit log',
  'Settings',
];

/** The sections a member's sidebar offers (the member role's scopes). */
export const MEMBER_SECTIONS = ['Overview', 'Collections', 'Documents', 'Members', 'Roles'];

/** Opens a section of the current workspace from the sidebar, by its label. */
export async function openSection(page: Page, label: string): Promise<void> {
  await page.getByTestId('workspace-nav').getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: label, exact: true }).waitFor();
}

/** Opens one of the account's pages (Profile, Security, Sessions) from the account menu. */
export async function openAccountPage(page: Page, label: 'Profile' | 'Security' | 'Sessions'): Promise<void> {
  await page.getByTestId('account-menu').click();
  await page.getByRole('list', { name: 'Account' }).getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: label, exact: true }).waitFor();
}

/** Signs out from the account menu. */
export async function signOutFromMenu(page: Page): Promise<void> {
  await page.getByTestId('account-menu').click();
  await page.getByRole('list', { name: 'Account' }).getByRole('button', { name: 'Sign out', exact: true }).click();
}

/** The email address of the account the console shows as signed in. */
export const signedInAs = (page: Page) => page.getByTestId('account-email').textContent();

/** Fills in the sign-in form on the page and submits it. */
export async function submitPassword(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

export function useConsoleHarness(options: HarnessOptions = {}): Harness {
  const problems: Problem[] = [];
  const cspViolations: Problem[] = [];
  const requestedUrls: string[] = [];
  const contexts: BrowserContext[] = [];
  const allowedStatuses = new Set<number>();
  const seenLinks = new Set<string>();
  const downloadsDir = mkdtempSync(path.join(tmpdir(), 'rampart-downloads-'));
  let dataDir: string | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let origin = '';

  function watch(page: Page, label: string): void {
    page.on('console', (message) => {
      const text = message.text();
      if (/Refused to|Content Security Policy/i.test(text)) cspViolations.push({ page: label, kind: 'console', text });
      else if (message.type() === 'error' && !allowedStatuses.has(Number(HTTP_FAILURE.exec(text)?.[1]))) {
        problems.push({ page: label, kind: 'console.error', text });
      }
    });
    page.on('pageerror', (error) => problems.push({ page: label, kind: 'pageerror', text: error.message }));
  }

  const harness: Harness = {
    get server() {
      if (!server) throw new Error('the server is not started yet');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('the browser is not started yet');
      return browser;
    },
    get origin() {
      return origin;
    },
    requestedUrls,
    downloadsDir,
    allowHttpErrors: (...statuses) => statuses.forEach((s) => allowedStatuses.add(s)),

    newContext: async (label) => {
      const context = await harness.browser.newContext({ acceptDownloads: true });
      // Fail a step well within the test timeout, with Playwright's own message.
      context.setDefaultTimeout(10_000);
      contexts.push(context);
      await context.exposeBinding('__rampartCspViolation', ({ page }, v: { directive: string; blocked: string; source: string; sample: string }) => {
        cspViolations.push({ page: `${label} ${page.url()}`, kind: v.directive, text: `blocked ${v.blocked} from ${v.source} ${v.sample}`.trim() });
      });
      await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => {
          const report = (window as unknown as { __rampartCspViolation: (v: unknown) => void }).__rampartCspViolation;
          report({ directive: event.violatedDirective, blocked: event.blockedURI, source: event.sourceFile, sample: event.sample });
        });
      });
      context.on('page', (page) => watch(page, label));
      context.on('request', (request) => requestedUrls.push(request.url()));
      return context;
    },

    newPage: async (label) => {
      return (await harness.newContext(label)).newPage();
    },

    apiCall: async (page, method, url, body) => {
      return page.evaluate(
        async ({ method, url, body }) => {
          const session = (await (await fetch('/api/v1/auth/session')).json()) as { csrfToken: string };
          const res = await fetch(url, {
            method,
            headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const text = await res.text();
          return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
        },
        { method, url, body },
      );
    },

    emailLink: async (to, linkPath) => {
      const pattern = new RegExp(`${origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${linkPath}#token=[A-Za-z0-9_-]+`);
      let found: string | undefined;
      await expect
        .poll(
          async () => {
            await harness.server.services.accounts.settle();
            for (const item of await harness.server.services.mailer.mailbox({ to })) {
              const link = pattern.exec(item.text)?.[0];
              if (link && !seenLinks.has(link)) {
                found = link;
                return true;
              }
              // Newest first: an older unseen link is never the one asked for.
              if (link) return false;
            }
            return false;
          },
          { timeout: 5_000, message: `a new ${linkPath} link to ${to}` },
        )
        .toBe(true);
      seenLinks.add(found!);
      return found!;
    },

    createFirstAccount: async (email, name) => {
      const token = new URL(harness.server.setupLink!).hash.replace('#token=', '');
      const res = await fetch(`${harness.server.url}/api/v1/auth/sign-up`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, ...(name === undefined ? {} : { name }), password: PASSWORD, setupToken: token }),
      });
      expect(res.status).toBe(201);
      return (await harness.server.services.accounts.accountByEmail(email))!.id;
    },

    signUp: async (page, email, name) => {
      await page.goto(`${origin}/sign-up`);
      await page.getByLabel('Email').fill(email);
      if (name) await page.getByLabel('Name (optional)').fill(name);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByTestId('check-email').waitFor();
    },

    signUpAndVerify: async (page, email, name) => {
      await harness.signUp(page, email, name);
      await page.goto(await harness.emailLink(email, '/verify'));
      await expect.poll(() => signedInAs(page)).toBe(email);
    },

    signIn: async (page, email) => {
      await page.goto(`${origin}/sign-in`);
      await submitPassword(page, email);
      await expect.poll(() => signedInAs(page)).toBe(email);
    },

    createWorkspace: async (page, name) => {
      await page.getByRole('button', { name: 'New workspace', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'New workspace' });
      await dialog.getByLabel('Workspace name').fill(name);
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe(name);
      return (await page.getByTestId('workspace').getAttribute('data-workspace-id'))!;
    },

    addMember: async (workspaceId, by, email) => {
      const account = await harness.server.services.accounts.accountByEmail(email);
      await harness.server.services.members.addMember(tenantContext(workspaceId, by), account!.id, 'member');
    },

    newMemberPage: async (workspaceId, by, email, name) => {
      const page = await harness.newPage('member');
      await harness.signUpAndVerify(page, email, name);
      await harness.addMember(workspaceId, by, email);
      return page;
    },
  };

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'rampart-console-'));
    const port = options.localhost ? await freePort() : 0;
    const config: Config = {
      ...loadConfig({ env: {}, flags: { dev: true, port, dataDir, logLevel: 'warn' } }),
      rootSecret: randomBytes(32).toString('base64url'),
      argon2MemoryKib: 8192,
      // Many sign-ins from one address within a minute: the limits are tested elsewhere.
      rateLimitIpPerMinute: 100_000,
      rateLimitEmailPer5Minutes: 100_000,
      ...(options.localhost ? { publicUrl: `http://localhost:${port}` } : {}),
      ...options.config,
    };
    // The secret-capture harness sees this server's log, traffic and key file, as it does the API suites'.
    registerConfigSecrets(config);
    server = await startServer(config, () => {}, { logger: capturingLogger(config), beforeListen: instrumentApp });
    registerKeyFile(path.join(dataDir, 'root-keys.json'));
    origin = options.localhost ? `http://localhost:${port}` : server.url;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    rmSync(downloadsDir, { recursive: true, force: true });
  });

  // Checked after every step, so a violation is reported with the step that caused it.
  afterEach(() => {
    const found = { cspViolations: [...cspViolations], problems: [...problems] };
    cspViolations.length = 0;
    problems.length = 0;
    allowedStatuses.clear();
    expect(found).toEqual({ cspViolations: [], problems: [] });
  });

  return harness;
}

/** axe-core's rules for WCAG 2.x A and AA. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * The accessibility violations axe-core finds on the page as it is now, as `rule: targets` lines;
 * only those of the given impacts when `impacts` is set. axe is evaluated through the DevTools
 * protocol, which the page's CSP does not govern, so the page keeps its real policy while it is
 * checked.
 */
export async function accessibilityViolations(page: Page, impacts?: readonly ('minor' | 'moderate' | 'serious' | 'critical')[]): Promise<string[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const violations = await page.evaluate(
    async ({ tags, impacts }) => {
      const axe = (
        globalThis as unknown as {
          axe: { run: (ctx: Document, opts: object) => Promise<{ violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown[] }> }> }> };
        }
      ).axe;
      const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
      return result.violations
        .filter((v) => impacts === null || (v.impact !== null && impacts.includes(v.impact)))
        .map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
    },
    { tags: AXE_TAGS, impacts: impacts ? ([...impacts] as string[]) : null },
  );
  return violations;
}

/** Phone and desktop: the widths every screen is checked at. */
export const VIEWPORTS = [
  { name: 'phone', width: 375, height: 740 },
  { name: 'desktop', width: 1280, height: 800 },
] as const;

/**
 * The outbox and its SMTP relay.
 *
 * `enqueue` renders a message and inserts it in the caller's transaction, so a message and the
 * single-use link it carries commit or roll back together. The relay claims due messages with
 * `FOR UPDATE SKIP LOCKED` and a lease (safe with several instances on one database; a relay that
 * dies mid-send leaves its messages due again when the lease ends), sends them through SMTP, and
 * records the outcome: sent (bodies removed), rescheduled with exponential backoff after a
 * temporary failure, or failed (bodies removed) after a permanent rejection or too many attempts.
 *
 * Without SMTP every message is `held`: kept for the development mailbox, never sent later (its
 * links would have expired), its body removed after a day. In development mode its links are
 * also logged; outside development mode a link never reaches a log.
 *
 * The outbox belongs to no account and no workspace (migration 0012): any transaction may queue a
 * message but none can read one back; the relay and the development mailbox work in the
 * operator's realm (`operatorContext()`), which no request's transaction is.
 */
import type { FastifyBaseLogger } from 'fastify';
import { createRequire } from 'node:module';
import type * as Nodemailer from 'nodemailer';
import type { SMTPSentMessageInfo, SMTPTransportOptions, Transporter } from 'nodemailer';
import { isLoopback } from '../../config.js';
import { operatorContext, type Database, type Tx } from '../db/types.js';
import { newId } from '../ids.js';
import { renderMail, type MailMessage } from './templates.js';

/** nodemailer is loaded only when SMTP is configured. */
const requireModule = createRequire(import.meta.url);
const loadNodemailer = (): typeof Nodemailer => requireModule('nodemailer') as typeof Nodemailer;

export type { MailMessage } from './templates.js';

export interface MailerOptions {
  /** smtp:// or smtps:// URL, credentials included; unset keeps every message held in the outbox. */
  smtpUrl?: string | undefined;
  /** The From header and envelope sender, e.g. `Rampart <no-reply@example.com>`. */
  from: string;
  /** Development mode: held messages' links are logged. */
  dev: boolean;
  logger: FastifyBaseLogger;
  /** How often the relay looks for due messages; default 5 s. */
  pollIntervalMs?: number;
}

export interface MailboxItem {
  id: string;
  template: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  createdAt: string;
}

/** Attempts before a message that keeps failing temporarily is given up. */
export const MAX_ATTEMPTS = 8;
/** Backoff after the n-th failed attempt: 30 s × 2^(n−1), at most an hour. */
export function backoffSeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}
/** How long a claimed message belongs to the relay that claimed it. */
const LEASE_SECONDS = 300;
/** A relay stops starting sends this long before its lease ends, and releases the rest. */
const LEASE_MARGIN_MS = 90_000;
/** The longest one send may take, whatever the server does. */
const SEND_DEADLINE_MS = 60_000;
const BATCH = 10;
const CONCURRENCY = 4;
const SMTP_TIMEOUT_MS = 10_000;
/** Held bodies older than this are removed. */
const HELD_RETENTION_HOURS = 24;
const SCRUB_INTERVAL_MS = 10 * 60_000;
const WAKE_DELAY_MS = 250;
const DEFAULT_POLL_MS = 5000;
const SINGLE_ADDRESS = /^[^\s@<>,;:"()[\]\\]{1,64}@[^\s@<>,;:"()[\]\\]{1,253}$/;

type ClaimedRow = {
  id: string;
  template: string;
  recipient: string;
  subject: string;
  text_body: string | null;
  html_body: string | null;
  attempts: number;
};

type HeldRow = {
  id: string;
  template: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: Date | string;
};

type Outcome = { kind: 'sent' } | { kind: 'retry'; error: string } | { kind: 'failed'; error: string };

/**
 * Transport options from the URL. Parsed here, not by nodemailer, so that nothing in the URL can
 * loosen what Rampart requires (STARTTLS to any host but loopback, timeouts).
 */
export function transportOptions(smtpUrl: string): { options: SMTPTransportOptions; secrets: string[]; ignoredQuery: boolean } {
  const url = new URL(smtpUrl);
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new TypeError('SMTP URL must start with smtp:// or smtps://');
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const options: SMTPTransportOptions = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    secure,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
    dnsTimeout: SMTP_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
    tls: { minVersion: 'TLSv1.2' },
    logger: false,
    debug: false,
  };
  if (url.port) options.port = Number(url.port);
  // Plain SMTP is allowed only to this machine; anywhere else STARTTLS is required.
  if (!secure && !isLoopback(url.hostname)) options.requireTLS = true;
  if (user || pass) options.auth = { user, pass };
  return { options, secrets: [pass, url.password, Buffer.from(pass).toString('base64'), Buffer.from(`\u0000${user}\u0000${pass}`).toString('base64')].filter((s) => s.length >= 3), ignoredQuery: url.search !== '' };
}

/** Collapses a reply or message to one short line without credentials. */
function shortText(value: string, secrets: readonly string[]): string {
  let s = value;
  for (const secret of secrets) s = s.split(secret).join('[redacted]');
  s = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return s.length > 160 ? `${s.slice(0, 159)}…` : s;
}

interface SmtpError {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  originalCode?: unknown;
  name?: unknown;
}

/**
 * What a failed send means. SMTP 5xx replies to the envelope or message are permanent; 4xx
 * replies, connection and TLS problems, timeouts and authentication failures (a configuration
 * problem the operator can fix) are temporary. The recorded error is the code, the reply code
 * and a short reply text: never the command (AUTH carries the credentials) nor the message.
 */
export function classify(err: unknown, secrets: readonly string[]): { permanent: boolean; error: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpError;
  const code = typeof e.code === 'string' ? e.code.slice(0, 32) : 'ERROR';
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const response = typeof e.response === 'string' ? shortText(e.response.replace(/^\d{3}[ -]?/, ''), secrets) : '';
  const original = typeof e.originalCode === 'string' ? ` (${e.originalCode.slice(0, 32)})` : '';
  // A refused envelope or message is final when the server says so (5xx) or when nodemailer
  // refused it before sending (no reply): neither changes on a retry.
  const permanent = (code === 'EENVELOPE' || code === 'EMESSAGE') && (responseCode === null || responseCode >= 500);
  const error = responseCode !== null ? `${code} ${responseCode}${response ? ` ${response}` : ''}` : `${code}${original}`;
  return { permanent, error: error.slice(0, 300) };
}

export class Mailer {
  private readonly transport: Transporter<SMTPSentMessageInfo> | null;
  private readonly secrets: readonly string[];
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | null = null;
  private timerDueAt = 0;
  private running = false;
  private ticking = false;
  private wakeRequested = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastScrub = 0;

  constructor(
    private readonly db: Database,
    private readonly options: MailerOptions,
  ) {
    this.pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
    if (options.smtpUrl) {
      const { options: smtp, secrets, ignoredQuery } = transportOptions(options.smtpUrl);
      this.secrets = secrets;
      this.transport = loadNodemailer().createTransport(smtp);
      if (ignoredQuery) options.logger.warn('SMTP URL query parameters are ignored');
    } else {
      this.secrets = [];
      this.transport = null;
    }
  }

  /** Whether messages are sent (SMTP configured) or held. */
  get sending(): boolean {
    return this.transport !== null;
  }

  /**
   * Renders the message and inserts it in the caller's transaction (it commits or rolls back
   * with the token it carries). Returns the outbox id.
   */
  async enqueue(tx: Tx, message: MailMessage): Promise<string> {
    const to = message.to.trim();
    // One plain address: never a list or a display name that nodemailer would parse into more.
    if (!SINGLE_ADDRESS.test(to)) throw new TypeError('mail recipient must be one plain email address');
    const rendered = renderMail(message);
    const id = newId();
    await tx.query(
      `INSERT INTO outbox (id, template, recipient, subject, text_body, html_body, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, message.template, to, rendered.subject, rendered.text, rendered.html, this.transport ? 'pending' : 'held'],
    );
    if (this.transport) {
      this.wake();
    } else if (this.options.dev) {
      // Development without SMTP: the operator reads the links here or in the mailbox.
      const links = rendered.links.length ? rendered.links.join(' ') : '(no link)';
      this.options.logger.info({ mail: { id, template: message.template, to } }, `mail held (no SMTP): ${message.template} to ${to}: ${links}`);
    } else {
      this.options.logger.debug({ mail: { id, template: message.template } }, 'mail held (no SMTP)');
    }
    return id;
  }

  /** Starts the background relay. Without SMTP it only removes old held bodies, hourly. */
  start(): void {
    if (this.stopped || this.running) return;
    this.running = true;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    this.wakeRequested = false;
    try {
      if (this.transport) await this.deliverDue();
      else await this.track(this.scrubHeld());
    } catch (err) {
      this.options.logger.error({ err: { message: err instanceof Error ? shortText(err.message, this.secrets) : 'error' } }, 'mail relay pass failed');
    } finally {
      this.ticking = false;
    }
    this.schedule(this.wakeRequested ? WAKE_DELAY_MS : this.transport ? this.pollMs : 60 * 60_000);
  }

  /**
   * Runs the relay soon (after the enqueuing transaction has likely committed): never two
   * passes at once, and a burst of messages never postpones a pass already due sooner.
   */
  private wake(): void {
    if (!this.running || this.stopped) return;
    if (this.ticking) this.wakeRequested = true;
    else if (!this.timer || this.timerDueAt > Date.now() + WAKE_DELAY_MS) this.schedule(WAKE_DELAY_MS);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  /** One relay pass: claims due messages, sends them, records the outcome; returns how many were sent. */
  deliverDue(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    return this.track(this.pass());
  }

  private async pass(): Promise<number> {
    if (Date.now() - this.lastScrub > SCRUB_INTERVAL_MS) {
      this.lastScrub = Date.now();
      await this.scrubHeld();
    }
    const transport = this.transport;
    if (!transport) return 0;
    await this.expireLeases();
    let sent = 0;
    for (;;) {
      if (this.stopped) break;
      const claimedAt = Date.now();
      const batch = await this.claim();
      if (batch.length === 0) break;
      const queue = [...batch];
      const leaseEnds = claimedAt + LEASE_SECONDS * 1000 - LEASE_MARGIN_MS;
      const worker = async (): Promise<void> => {
        for (let row = queue.shift(); row; row = queue.shift()) {
          if (this.stopped || Date.now() > leaseEnds) {
            await this.release([row.id, ...queue.splice(0).map((r) => r.id)]);
            return;
          }
          const outcome = await this.send(transport, row);
          await this.record(row, outcome);
          if (outcome.kind === 'sent') sent += 1;
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, batch.length) }, worker));
      if (batch.length < BATCH) break;
    }
    return sent;
  }

  /** Claims up to BATCH due messages under a lease, counting the attempt. */
  private async claim(): Promise<ClaimedRow[]> {
    return this.db.withTenant(
      operatorContext(),
      async (tx) =>
        (
          await tx.query<ClaimedRow>(
            `WITH due AS (
               SELECT id FROM outbox
                WHERE (status = 'pending' AND next_attempt_at <= now())
                   OR (status = 'sending' AND locked_until <= now() AND attempts < $2)
                ORDER BY next_attempt_at, id
                LIMIT $1
                FOR UPDATE SKIP LOCKED)
             UPDATE outbox o
                SET status = 'sending', locked_until = now() + make_interval(secs => $3), attempts = o.attempts + 1
               FROM due WHERE o.id = due.id
             RETURNING o.id, o.template, o.recipient, o.subject, o.text_body, o.html_body, o.attempts`,
            [BATCH, MAX_ATTEMPTS, LEASE_SECONDS],
          )
        ).rows,
    );
  }

  /** Messages whose relay died on their last allowed attempt fail for good. */
  private async expireLeases(): Promise<void> {
    await this.db.withTenant(operatorContext(), (tx) =>
      tx.query(
        `UPDATE outbox SET status = 'failed', locked_until = NULL, text_body = NULL, html_body = NULL,
                last_error = 'relay stopped during the last attempt'
          WHERE status = 'sending' AND locked_until <= now() AND attempts >= $1`,
        [MAX_ATTEMPTS],
      ),
    );
  }

  /** Gives claimed, unsent messages back (not counting the attempt). */
  private async release(ids: string[]): Promise<void> {
    await this.db.withTenant(operatorContext(), (tx) =>
      tx.query(
        `UPDATE outbox SET status = 'pending', locked_until = NULL, attempts = greatest(attempts - 1, 0)
          WHERE id = ANY($1::uuid[]) AND status = 'sending'`,
        [ids],
      ),
    );
  }

  private async send(transport: Transporter<SMTPSentMessageInfo>, row: ClaimedRow): Promise<Outcome> {
    if (row.text_body === null && row.html_body === null) return { kind: 'failed', error: 'message body missing' };
    try {
      const info = await transport.sendMail({
        from: this.options.from,
        to: row.recipient,
        subject: row.subject,
        ...(row.text_body !== null ? { text: row.text_body } : {}),
        ...(row.html_body !== null ? { html: row.html_body } : {}),
        headers: { 'Auto-Submitted': 'auto-generated' },
        signal: AbortSignal.timeout(SEND_DEADLINE_MS),
      });
      if (info.rejected.length > 0) {
        const response = typeof info.response === 'string' ? shortText(info.response, this.secrets) : '';
        return { kind: 'failed', error: `rejected ${response}`.trim().slice(0, 300) };
      }
      return { kind: 'sent' };
    } catch (err) {
      const { permanent, error } = classify(err, this.secrets);
      if (permanent || row.attempts >= MAX_ATTEMPTS) return { kind: 'failed', error };
      return { kind: 'retry', error };
    }
  }

  private async record(row: ClaimedRow, outcome: Outcome): Promise<void> {
    const log = this.options.logger;
    const mail = { id: row.id, template: row.template, attempts: row.attempts };
    if (outcome.kind === 'sent') {
      await this.db.withTenant(operatorContext(), (tx) =>
        tx.query(
          `UPDATE outbox SET status = 'sent', sent_at = now(), locked_until = NULL, last_error = NULL, text_body = NULL, html_body = NULL
            WHERE id = $1 AND status = 'sending'`,
          [row.id],
        ),
      );
      log.info({ mail }, 'mail sent');
    } else if (outcome.kind === 'retry') {
      const delay = backoffSeconds(row.attempts);
      await this.db.withTenant(operatorContext(), (tx) =>
        tx.query(
          `UPDATE outbox SET status = 'pending', locked_until = NULL, last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
            WHERE id = $1 AND status = 'sending'`,
          [row.id, outcome.error, delay],
        ),
      );
      log.warn({ mail, error: outcome.error, retryInSeconds: delay }, 'mail not sent; will retry');
    } else {
      await this.db.withTenant(operatorContext(), (tx) =>
        tx.query(
          `UPDATE outbox SET status = 'failed', locked_until = NULL, last_error = $2, text_body = NULL, html_body = NULL
            WHERE id = $1 AND status = 'sending'`,
          [row.id, outcome.error],
        ),
      );
      log.error({ mail, error: outcome.error }, 'mail failed');
    }
  }

  /** Removes the bodies (and so the links) of held messages older than a day. */
  private async scrubHeld(): Promise<void> {
    await this.db.withTenant(operatorContext(), (tx) =>
      tx.query(
        `UPDATE outbox SET text_body = NULL, html_body = NULL
          WHERE status = 'held' AND text_body IS NOT NULL AND created_at < now() - make_interval(hours => $1)`,
        [HELD_RETENTION_HOURS],
      ),
    );
  }

  /** Stops the relay and closes the SMTP transport; waits for an in-flight pass. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
    this.transport?.close();
  }

  /** Held (unsent) messages of the last day, newest first, with bodies. */
  async mailbox(options: { to?: string; limit?: number } = {}): Promise<MailboxItem[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 200);
    const to = options.to?.trim().toLowerCase() ?? null;
    const rows = await this.db.withTenant(operatorContext(), async (tx) => {
      await tx.query(
        `UPDATE outbox SET text_body = NULL, html_body = NULL
          WHERE status = 'held' AND text_body IS NOT NULL AND created_at < now() - make_interval(hours => $1)`,
        [HELD_RETENTION_HOURS],
      );
      return (
        await tx.query<HeldRow>(
          `SELECT id, template, recipient, subject, text_body, html_body, created_at
             FROM outbox
            WHERE status = 'held' AND text_body IS NOT NULL AND html_body IS NOT NULL
              AND ($1::text IS NULL OR lower(recipient) = $1)
            ORDER BY created_at DESC, id DESC
            LIMIT $2`,
          [to, limit],
        )
      ).rows;
    });
    return rows.map((r) => ({
      id: r.id,
      template: r.template,
      to: r.recipient,
      subject: r.subject,
      text: r.text_body,
      html: r.html_body,
      createdAt: new Date(r.created_at).toISOString(),
    }));
  }
}

/**
 * Email delivery, end to end with real components: messages are queued in the outbox inside a
 * transaction, relayed by the Mailer through nodemailer to an SMTP server started here
 * (`smtp-server`, with authentication), and parsed on arrival (`mailparser`). Retries, permanent
 * rejections, refused connections, crashed relays, concurrent relays, held mail without SMTP and
 * the development mailbox, on every backend.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loggerOptions } from '../src/platform/log.js';
import { backoffSeconds, Mailer, MAX_ATTEMPTS, renderMail, TEMPLATE_NAMES, type MailMessage } from '../src/platform/mail/index.js';
import { classify, transportOptions } from '../src/platform/mail/mailer.js';
import { BACKENDS, type TestDatabase } from './helpers/backends.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

const USER = 'relay-user';
const PASSWORD = 'Sm7p-s3cret!pass';
const FROM_ADDRESS = 'no-reply@rampart.test';
const FROM = `Rampart <${FROM_ADDRESS}>`;
const EVIL_NAME = '<script>alert(1)</script> & "Bob"';
const LINK = 'https://rampart.test/magic?a=1&b=2#token=rml_abcDEF123';

interface Received {
  readonly mail: ParsedMail;
  readonly envelopeTo: string[];
  readonly user: string | undefined;
}

interface TestSmtp {
  readonly port: number;
  readonly received: Received[];
  /** Recipients answered with a temporary 451 on RCPT the next time (then accepted). */
  readonly tempFailOnce: Set<string>;
  /** Recipients always answered with a permanent 550 on RCPT. */
  readonly reject: Set<string>;
  close(): Promise<void>;
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

async function startSmtp(): Promise<TestSmtp> {
  const received: Received[] = [];
  const tempFailOnce = new Set<string>();
  const reject = new Set<string>();
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    authOptional: false,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) return callback(null, { user: USER });
      return callback(smtpError('Authentication credentials invalid', 535));
    },
    onRcptTo(address, _session, callback) {
      if (reject.has(address.address)) return callback(smtpError('No such user here', 550));
      if (tempFailOnce.delete(address.address)) return callback(smtpError('Mailbox busy, try again later', 451));
      return callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({ mail, envelopeTo: session.envelope.rcptTo.map((r) => r.address), user: session.user as string | undefined });
          callback();
        })
        .catch((err: unknown) => callback(err as Error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    tempFailOnce,
    reject,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP port on which nothing listens. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function capturedLogger() {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino(loggerOptions('debug'), sink), logs };
}

function messageFor(template: MailMessage['template'], to: string, link = LINK): MailMessage {
  const name = EVIL_NAME;
  switch (template) {
    case 'verify_email':
      return { template, to, data: { name, link, expiresMinutes: 60 } };
    case 'signup_existing':
      return { template, to, data: { name, signInLink: link, resetLink: `${link}&reset=1` } };
    case 'magic_link':
      return { template, to, data: { name, link, expiresMinutes: 15 } };
    case 'password_reset':
      return { template, to, data: { name, link, expiresMinutes: 60 } };
    case 'password_changed':
      return { template, to, data: { name, when: '2025-03-04T05:06:07.000Z', ip: '203.0.113.9' } };
    case 'account_locked':
      return { template, to, data: { name, minutes: 15, resetLink: link } };
    case 'mfa_changed':
      return { template, to, data: { name, change: 'authenticator app <b>added</b>', when: '2025-03-04T05:06:07.000Z' } };
    case 'email_change_verify':
      return { template, to, data: { name, newEmail: `${EVIL_NAME}@example.test`, link, expiresMinutes: 15 } };
    case 'email_change_requested':
      return { template, to, data: { name, newEmail: 'new\r\nBcc: x@evil.test', when: '2025-03-04T05:06:07.000Z', ip: '203.0.113.9' } };
    case 'email_change_taken':
      return { template, to, data: { name } };
    case 'email_changed':
      return { template, to, data: { name, newEmail: 'new@example.test', when: '2025-03-04T05:06:07.000Z' } };
    case 'workspace_invitation':
      return { template, to, data: { name, inviter: EVIL_NAME, workspace: '<i>Acme</i>\r\nBcc: x@evil.test', role: 'Admin', link, expiresDays: 7 } };
    case 'staff_access_requested':
      return {
        template,
        to,
        data: { name, staff: `${EVIL_NAME} (support)`, workspace: '<i>Acme</i>', scope: 'records:read', justification: 'customer-initiated-support', reason: 'Ticket\r\nBcc: x', ticket: 'SUP-1', durationMinutes: 120, link },
      };
    case 'staff_break_glass':
      return {
        template,
        to,
        data: { name, staff: `${EVIL_NAME} (security)`, workspace: '<i>Acme</i>', scope: 'records:read', reason: 'Incident', ticket: null, expiresAt: '2025-03-04T05:06:07.000Z', link },
      };
  }
}

const LINKED = new Set(['verify_email', 'email_change_verify', 'signup_existing', 'magic_link', 'password_reset', 'account_locked', 'workspace_invitation', 'staff_access_requested', 'staff_break_glass']);

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  if (!a) return [];
  return (Array.isArray(a) ? a : [a]).flatMap((o) => o.value.map((v) => v.address ?? ''));
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

type OutboxRow = {
  id: string;
  template: string;
  recipient: string;
  status: string;
  attempts: number;
  text_body: string | null;
  html_body: string | null;
  last_error: string | null;
  next_attempt_at: Date;
  locked_until: Date | null;
  sent_at: Date | null;
  due_in: number;
};

describe('mail templates', () => {
  it('every template has a subject, a text and an HTML body, with values escaped', () => {
    expect(TEMPLATE_NAMES).toHaveLength(14);
    for (const template of TEMPLATE_NAMES) {
      const m = renderMail(messageFor(template, 'a@example.test'));
      expect(m.subject, template).toMatch(/Rampart/);
      expect(m.subject).not.toMatch(/[\r\n<]/);
      expect(m.text, template).toContain('<script>alert(1)</script>');
      expect(m.html, template).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Bob&quot;');
      expect(m.html).not.toMatch(/<script/i);
      expect(m.html).not.toMatch(/<img|src=|https?:\/\/(?!rampart\.test)/i);
      if (LINKED.has(template)) {
        expect(m.text).toContain(LINK);
        expect(m.html).toContain(`href="https://rampart.test/magic?a=1&amp;b=2#token=rml_abcDEF123"`);
        expect(m.links).toContain(LINK);
      } else {
        expect(m.links).toEqual([]);
      }
    }
    const changed = renderMail(messageFor('mfa_changed', 'a@example.test'));
    expect(changed.html).toContain('authenticator app &lt;b&gt;added&lt;/b&gt;');
    expect(changed.text).toContain('2025-03-04 05:06 UTC');
  });

  it('keeps line breaks out of interpolated values and refuses links that are not http(s)', () => {
    const m = renderMail({ template: 'magic_link', to: 'a@example.test', data: { name: 'Eve\n\nClick https://evil.test', link: LINK, expiresMinutes: 15 } });
    expect(m.text.split('\n')[0]).toBe('Hello Eve Click https://evil.test,');
    expect(() => renderMail({ template: 'magic_link', to: 'a@example.test', data: { name: 'x', link: 'javascript:alert(1)', expiresMinutes: 15 } })).toThrow(
      /http/,
    );
    expect(() => renderMail({ template: 'magic_link', to: 'a@example.test', data: { name: 'x', link: '/relative', expiresMinutes: 15 } })).toThrow();
  });
});

describe('SMTP settings and errors', () => {
  it('require STARTTLS except on loopback, and take nothing else from the URL', () => {
    expect(transportOptions('smtp://u:p%40ss@mail.example.com:587').options).toMatchObject({
      host: 'mail.example.com',
      port: 587,
      secure: false,
      requireTLS: true,
      auth: { user: 'u', pass: 'p@ss' },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 10_000,
    });
    expect(transportOptions('smtp://mail.example.com?requireTLS=false&ignoreTLS=true').options.requireTLS).toBe(true);
    expect(transportOptions('smtp://mail.example.com?requireTLS=false').ignoredQuery).toBe(true);
    expect(transportOptions('smtp://127.0.0.1:2525').options.requireTLS).toBeUndefined();
    expect(transportOptions('smtp://localhost:2525').options.requireTLS).toBeUndefined();
    expect(transportOptions('smtp://[::1]:2525').options.requireTLS).toBeUndefined();
    expect(transportOptions('smtps://mail.example.com').options).toMatchObject({ secure: true });
    expect(() => transportOptions('http://mail.example.com')).toThrow();
  });

  it('classify: 5xx to the envelope or message is permanent; 4xx, connection and auth problems are temporary', () => {
    const secrets = [PASSWORD];
    expect(classify({ code: 'EENVELOPE', responseCode: 550, response: '550 No such user', command: 'RCPT TO' }, secrets)).toEqual({
      permanent: true,
      error: 'EENVELOPE 550 No such user',
    });
    expect(classify({ code: 'EENVELOPE', responseCode: 451, response: '451 busy' }, secrets).permanent).toBe(false);
    expect(classify({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, secrets)).toEqual({
      permanent: false,
      error: 'ESOCKET (ECONNREFUSED)',
    });
    const auth = classify({ code: 'EAUTH', responseCode: 535, response: `535 bad ${PASSWORD}`, command: `AUTH PLAIN ${PASSWORD}` }, secrets);
    expect(auth.permanent).toBe(false);
    expect(auth.error).not.toContain(PASSWORD);
    expect(auth.error).not.toContain('AUTH PLAIN');
    // Refused by nodemailer before sending (no reply): retrying would not change it.
    expect(classify({ code: 'EENVELOPE', message: 'Invalid recipient' }, secrets).permanent).toBe(true);
  });

  it('backs off exponentially from 30 s, capped at an hour', () => {
    expect([1, 2, 3, 4, 8, 20].map(backoffSeconds)).toEqual([30, 60, 120, 240, 3600, 3600]);
  });
});

describe.each(BACKENDS)('mail on $name', (backend) => {
  let t: TestDatabase;
  let smtp: TestSmtp;
  let smtpUrl: string;
  const mailers: Mailer[] = [];
  let counter = 0;

  const rcpt = (label: string) => `${label}-${++counter}@example.test`;

  function mailer(options: { smtpUrl?: string | undefined; dev?: boolean } = {}) {
    const { logger, logs } = capturedLogger();
    const m = new Mailer(t.db, { smtpUrl: 'smtpUrl' in options ? options.smtpUrl : smtpUrl, from: FROM, dev: options.dev ?? false, logger });
    mailers.push(m);
    return { m, logs };
  }

  async function enqueue(m: Mailer, message: MailMessage): Promise<string> {
    return t.db.withGlobal((tx) => m.enqueue(tx, message));
  }

  async function row(id: string): Promise<OutboxRow> {
    const [r] = await t.raw<OutboxRow>(
      `SELECT *, extract(epoch FROM next_attempt_at - now())::float8 AS due_in FROM outbox WHERE id = $1`,
      [id],
    );
    if (!r) throw new Error(`no outbox row ${id}`);
    return r;
  }

  async function makeDue(id: string): Promise<void> {
    await t.raw(`UPDATE outbox SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, [id]);
  }

  beforeAll(async () => {
    t = await backend.open({ poolSize: 6 });
    smtp = await startSmtp();
    smtpUrl = `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${smtp.port}`;
  });
  afterAll(async () => {
    await smtp?.close();
    await t?.close();
  });
  beforeEach(async () => {
    smtp.received.length = 0;
    smtp.tempFailOnce.clear();
    smtp.reject.clear();
    await t.raw('DELETE FROM outbox');
  });
  afterEach(async () => {
    await Promise.all(mailers.splice(0).map((m) => m.stop()));
  });

  it('sends every template through SMTP: from, to, subject, text link, escaped HTML; then removes the bodies', async () => {
    const { m, logs } = mailer();
    const sentTo = new Map<string, { id: string; message: MailMessage }>();
    for (const template of TEMPLATE_NAMES) {
      const message = messageFor(template, rcpt(template));
      sentTo.set(message.to, { id: await enqueue(m, message), message });
    }
    expect(await m.deliverDue()).toBe(TEMPLATE_NAMES.length);
    expect(smtp.received).toHaveLength(TEMPLATE_NAMES.length);
    for (const { mail, envelopeTo, user } of smtp.received) {
      expect(user).toBe(USER);
      expect(envelopeTo).toHaveLength(1);
      const to = envelopeTo[0] as string;
      const entry = sentTo.get(to);
      expect(entry, to).toBeDefined();
      const { id, message } = entry as { id: string; message: MailMessage };
      const rendered = renderMail(message);
      expect(addresses(mail.from)).toEqual([FROM_ADDRESS]);
      expect(addresses(mail.to)).toEqual([to]);
      expect(mail.subject).toBe(rendered.subject);
      expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
      expect(mail.text).toContain('Hello <script>alert(1)</script> & "Bob",');
      const html = mail.html as string;
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toMatch(/<script/i);
      if (LINKED.has(message.template)) {
        expect(mail.text).toContain(LINK);
        expect(html).toContain('<a href="https://rampart.test/magic?a=1&amp;b=2#token=rml_abcDEF123"');
      }
      const r = await row(id);
      expect(r).toMatchObject({ status: 'sent', attempts: 1, text_body: null, html_body: null, last_error: null, locked_until: null });
      expect(r.sent_at).not.toBeNull();
    }
    // A second pass finds nothing left.
    expect(await m.deliverDue()).toBe(0);
    expect(smtp.received).toHaveLength(TEMPLATE_NAMES.length);
    expect(logs.join('\n')).not.toContain('token=');
    expect(logs.join('\n')).not.toContain(PASSWORD);
  });

  it('retries a temporary 451 with backoff, then sends', async () => {
    const { m, logs } = mailer();
    const to = rcpt('busy');
    smtp.tempFailOnce.add(to);
    const id = await enqueue(m, messageFor('magic_link', to));
    expect(await m.deliverDue()).toBe(0);
    let r = await row(id);
    expect(r).toMatchObject({ status: 'pending', attempts: 1, locked_until: null });
    expect(r.text_body).not.toBeNull();
    expect(r.last_error).toMatch(/^EENVELOPE 451 /);
    expect(r.due_in).toBeGreaterThan(20);
    expect(r.due_in).toBeLessThanOrEqual(30);
    // Not due yet: nothing happens.
    expect(await m.deliverDue()).toBe(0);
    await makeDue(id);
    expect(await m.deliverDue()).toBe(1);
    r = await row(id);
    expect(r).toMatchObject({ status: 'sent', attempts: 2, text_body: null, html_body: null, last_error: null });
    expect(smtp.received.map((x) => x.envelopeTo)).toEqual([[to]]);
    expect(logs.join('\n')).not.toContain(PASSWORD);
  });

  it('fails at once on a permanent 550, keeping no password and no body', async () => {
    const { m, logs } = mailer();
    const to = rcpt('nobody');
    smtp.reject.add(to);
    const id = await enqueue(m, messageFor('password_reset', to));
    expect(await m.deliverDue()).toBe(0);
    const r = await row(id);
    expect(r).toMatchObject({ status: 'failed', attempts: 1, text_body: null, html_body: null, locked_until: null });
    expect(r.last_error).toMatch(/^EENVELOPE 550 /);
    expect(r.last_error).not.toContain(PASSWORD);
    expect(r.last_error).not.toContain('token=');
    expect(logs.join('\n')).not.toContain(PASSWORD);
    expect(await m.deliverDue()).toBe(0);
    expect(smtp.received).toHaveLength(0);
  });

  it('treats a rejected login as temporary and never records or logs the password', async () => {
    const wrong = 'Wr0ng-pa55-word!';
    const { m, logs } = mailer({ smtpUrl: `smtp://${USER}:${encodeURIComponent(wrong)}@127.0.0.1:${smtp.port}` });
    const id = await enqueue(m, messageFor('verify_email', rcpt('auth')));
    expect(await m.deliverDue()).toBe(0);
    const r = await row(id);
    expect(r).toMatchObject({ status: 'pending', attempts: 1 });
    expect(r.last_error).toMatch(/^EAUTH 535/);
    const everything = `${r.last_error}\n${logs.join('\n')}`;
    for (const secret of [wrong, encodeURIComponent(wrong), Buffer.from(wrong).toString('base64'), Buffer.from(`\0${USER}\0${wrong}`).toString('base64')]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('reschedules when the connection is refused, and gives up after the last attempt', async () => {
    const { m } = mailer({ smtpUrl: `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${await closedPort()}` });
    const id = await enqueue(m, messageFor('magic_link', rcpt('refused')));
    expect(await m.deliverDue()).toBe(0);
    let r = await row(id);
    expect(r).toMatchObject({ status: 'pending', attempts: 1, locked_until: null });
    expect(r.last_error).toMatch(/ECONNREFUSED/);
    expect(r.last_error).not.toContain(PASSWORD);
    expect(r.due_in).toBeGreaterThan(20);
    // The last allowed attempt fails too: the message fails for good and loses its body.
    await t.raw(`UPDATE outbox SET attempts = $2, next_attempt_at = now() - interval '1 second' WHERE id = $1`, [id, MAX_ATTEMPTS - 1]);
    expect(await m.deliverDue()).toBe(0);
    r = await row(id);
    expect(r).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, text_body: null, html_body: null });
  });

  it('sends again a message whose relay died while sending once its lease has ended', async () => {
    const { m } = mailer();
    const expired = await enqueue(m, messageFor('magic_link', rcpt('crashed')));
    const leased = await enqueue(m, messageFor('magic_link', rcpt('leased')));
    await t.raw(`UPDATE outbox SET status = 'sending', attempts = 1, locked_until = now() - interval '1 second' WHERE id = $1`, [expired]);
    await t.raw(`UPDATE outbox SET status = 'sending', attempts = 1, locked_until = now() + interval '5 minutes' WHERE id = $1`, [leased]);
    expect(await m.deliverDue()).toBe(1);
    expect(await row(expired)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await row(leased)).toMatchObject({ status: 'sending', attempts: 1 });
    // A relay that died on the last allowed attempt: the message fails rather than looping.
    await t.raw(`UPDATE outbox SET attempts = $2, locked_until = now() - interval '1 second' WHERE id = $1`, [leased, MAX_ATTEMPTS]);
    expect(await m.deliverDue()).toBe(0);
    expect(await row(leased)).toMatchObject({ status: 'failed', text_body: null, html_body: null, locked_until: null });
  });

  it('rolling back the enqueuing transaction leaves no message', async () => {
    const { m } = mailer();
    const to = rcpt('rollback');
    await expect(
      t.db.withGlobal(async (tx) => {
        await m.enqueue(tx, messageFor('magic_link', to));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await t.raw('SELECT id FROM outbox WHERE recipient = $1', [to])).toEqual([]);
    expect(await m.deliverDue()).toBe(0);
    expect(smtp.received).toHaveLength(0);
  });

  it('refuses a recipient that is not one plain address', async () => {
    const { m } = mailer();
    for (const to of ['a@example.test, b@evil.test', 'Eve <eve@evil.test>', 'a@example.test\r\nBcc: b@evil.test', 'not-an-address']) {
      await expect(enqueue(m, messageFor('magic_link', to))).rejects.toThrow(TypeError);
    }
    expect(await t.raw('SELECT id FROM outbox')).toEqual([]);
  });

  it('two relays on one database send each message exactly once', async () => {
    const a = mailer().m;
    const b = mailer().m;
    const recipients: string[] = [];
    for (let i = 0; i < 40; i++) {
      const to = rcpt('many');
      recipients.push(to);
      await enqueue(i % 2 ? a : b, messageFor('magic_link', to));
    }
    const counts = await Promise.all([a.deliverDue(), b.deliverDue(), a.deliverDue(), b.deliverDue()]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(40);
    const got = smtp.received.map((x) => x.envelopeTo[0] as string).sort();
    expect(got).toEqual([...recipients].sort());
    expect(await t.raw(`SELECT status, count(*)::int AS n FROM outbox GROUP BY status`)).toEqual([{ status: 'sent', n: 40 }]);
  });

  it('the started relay delivers shortly after enqueue, and stop() waits for it', async () => {
    const { m } = mailer();
    m.start();
    const to = rcpt('started');
    await enqueue(m, messageFor('verify_email', to));
    await until(() => smtp.received.length === 1);
    expect(smtp.received[0]?.envelopeTo).toEqual([to]);
    await m.stop();
    // Stopped: nothing more is sent.
    await enqueue(m, messageFor('verify_email', rcpt('after-stop')));
    expect(await m.deliverDue()).toBe(0);
  });

  describe('without SMTP', () => {
    it('holds messages; in development logs their links, otherwise never', async () => {
      const dev = mailer({ smtpUrl: undefined, dev: true });
      const prod = mailer({ smtpUrl: undefined, dev: false });
      const devTo = rcpt('dev');
      const prodTo = rcpt('prod');
      const devLink = 'https://rampart.test/magic#token=rml_devTOKEN';
      const prodLink = 'https://rampart.test/magic#token=rml_prodTOKEN';
      const devId = await enqueue(dev.m, messageFor('magic_link', devTo, devLink));
      const prodId = await enqueue(prod.m, messageFor('magic_link', prodTo, prodLink));
      expect(await row(devId)).toMatchObject({ status: 'held', attempts: 0 });
      expect(await row(prodId)).toMatchObject({ status: 'held', attempts: 0 });
      expect(dev.logs.join('\n')).toContain(devLink);
      const devLine = JSON.parse(dev.logs.find((l) => l.includes(devLink)) as string) as { level: number };
      expect(devLine.level).toBe(30);
      expect(prod.logs.join('\n')).not.toContain('rml_prodTOKEN');
      expect(await dev.m.deliverDue()).toBe(0);
      expect(await prod.m.deliverDue()).toBe(0);

      const box = await prod.m.mailbox();
      expect(box.map((x) => x.id)).toEqual([prodId, devId]);
      expect(box[0]).toMatchObject({ template: 'magic_link', to: prodTo, subject: 'Your Rampart sign-in link' });
      expect(box[0]?.text).toContain(prodLink);
      expect(box[0]?.html).toContain(`href="${prodLink}"`);
      expect(new Date(box[0]?.createdAt as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect((await dev.m.mailbox({ to: devTo.toUpperCase() })).map((x) => x.id)).toEqual([devId]);
      expect(await dev.m.mailbox({ to: devTo, limit: 1 })).toHaveLength(1);
    });

    it('never sends held messages later, even once SMTP is configured', async () => {
      const { m: held } = mailer({ smtpUrl: undefined });
      const id = await enqueue(held, messageFor('magic_link', rcpt('held')));
      const { m: relay } = mailer();
      expect(await relay.deliverDue()).toBe(0);
      expect(smtp.received).toHaveLength(0);
      expect(await row(id)).toMatchObject({ status: 'held', attempts: 0 });
    });

    it('removes the bodies of held messages after a day', async () => {
      const { m } = mailer({ smtpUrl: undefined });
      const old = await enqueue(m, messageFor('magic_link', rcpt('old')));
      const fresh = await enqueue(m, messageFor('magic_link', rcpt('fresh')));
      await t.raw(`UPDATE outbox SET created_at = now() - interval '25 hours' WHERE id = $1`, [old]);
      expect((await m.mailbox()).map((x) => x.id)).toEqual([fresh]);
      expect(await row(old)).toMatchObject({ status: 'held', text_body: null, html_body: null });
      expect((await row(fresh)).text_body).not.toBeNull();
      // The relay removes them too.
      await t.raw(`UPDATE outbox SET created_at = now() - interval '25 hours' WHERE id = $1`, [fresh]);
      const { m: relay } = mailer();
      await relay.deliverDue();
      expect(await row(fresh)).toMatchObject({ text_body: null, html_body: null });
    });
  });
});

describe.each(BACKENDS)('development mailbox route on $name', (backend) => {
  let dev: TestApp;
  let prod: TestApp;

  beforeAll(async () => {
    dev = await buildTestApp(backend, { dev: true });
    prod = await buildTestApp(backend, { dev: false });
  });
  afterAll(async () => {
    await dev?.close();
    await prod?.close();
  });

  it('lists held mail in development mode without SMTP, to this machine only', async () => {
    const to = 'mailbox-route@example.test';
    await dev.database.db.withGlobal((tx) => dev.services.mailer.enqueue(tx, messageFor('magic_link', to)));
    const res = await dev.app.inject({ method: 'GET', url: `/api/v1/dev/mailbox?to=${encodeURIComponent(to)}` });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ items: Array<{ to: string; template: string; text: string; html: string; createdAt: string }> }>();
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ to, template: 'magic_link' });
    expect(body.items[0]?.text).toContain(LINK);
    const remote = await dev.app.inject({ method: 'GET', url: '/api/v1/dev/mailbox', remoteAddress: '192.0.2.10' });
    expect(remote.statusCode).toBe(404);
    const bad = await dev.app.inject({ method: 'GET', url: '/api/v1/dev/mailbox?limit=0' });
    expect(bad.statusCode).toBe(400);
    const spec = await dev.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(spec.statusCode).toBe(200);
    expect(Object.keys(spec.json<{ paths: Record<string, unknown> }>().paths)).toContain('/api/v1/dev/mailbox');
  });

  it('does not exist outside development mode', async () => {
    const res = await prod.app.inject({ method: 'GET', url: '/api/v1/dev/mailbox' });
    expect(res.statusCode).toBe(404);
  });
});

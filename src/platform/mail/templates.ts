/**
 * Every email Rampart sends: a subject, a plain-text body and an HTML body per template. Values
 * are interpolated as text: HTML-escaped in the HTML body, stripped of control characters (no
 * line breaks smuggled into a name) in both. Links are shown in full in the text and as an
 * anchor in the HTML. No remote images, no tracking, inline styles only.
 */

export type MailMessage =
  | { template: 'verify_email'; to: string; data: { name: string; link: string; expiresMinutes: number } }
  /** Someone tried to sign up with an email that already has an account. */
  | { template: 'signup_existing'; to: string; data: { name: string; signInLink: string; resetLink: string } }
  | { template: 'magic_link'; to: string; data: { name: string; link: string; expiresMinutes: number } }
  | { template: 'password_reset'; to: string; data: { name: string; link: string; expiresMinutes: number } }
  | { template: 'password_changed'; to: string; data: { name: string; when: string; ip: string | null } }
  | { template: 'account_locked'; to: string; data: { name: string; minutes: number; resetLink: string } }
  | { template: 'mfa_changed'; to: string; data: { name: string; change: string; when: string } }
  /** To the new address of an email change: the link that proves it. */
  | { template: 'email_change_verify'; to: string; data: { name: string; newEmail: string; link: string; expiresMinutes: number } }
  /** To the current address when a change is asked for: who asked, for which address. */
  | { template: 'email_change_requested'; to: string; data: { name: string; newEmail: string; when: string; ip: string | null } }
  /** To an address another account already holds, when someone asked to move their account to it. */
  | { template: 'email_change_taken'; to: string; data: { name: string } }
  /** To the old address once the change is done. */
  | { template: 'email_changed'; to: string; data: { name: string; newEmail: string; when: string } }
  /** An invitation to join a workspace; `name` is empty (the invitee may have no account yet). */
  | {
      template: 'workspace_invitation';
      to: string;
      data: { name: string; inviter: string; workspace: string; role: string; link: string; expiresDays: number };
    }
  /** A staff member asks for access to a workspace's data; sent to those who may approve it. */
  | {
      template: 'staff_access_requested';
      to: string;
      data: {
        name: string;
        /** The staff member and their role, e.g. "Sam Lee (support)". */
        staff: string;
        workspace: string;
        scope: string;
        justification: string;
        reason: string;
        ticket: string;
        durationMinutes: number;
        link: string;
      };
    }
  /** A security staff member opened emergency access without approval; sent at once. */
  | {
      template: 'staff_break_glass';
      to: string;
      data: { name: string; staff: string; workspace: string; scope: string; reason: string; ticket: string | null; expiresAt: string; link: string };
    };

export type TemplateName = MailMessage['template'];

export const TEMPLATE_NAMES: readonly TemplateName[] = [
  'verify_email',
  'signup_existing',
  'magic_link',
  'password_reset',
  'password_changed',
  'account_locked',
  'mfa_changed',
  'email_change_verify',
  'email_change_requested',
  'email_change_taken',
  'email_changed',
  'workspace_invitation',
  'staff_access_requested',
  'staff_break_glass',
];

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The links the message carries (for the development log). */
  readonly links: readonly string[];
}

/** Escapes a value for HTML text and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** One line of plain text: control characters (line breaks included) become spaces; capped. */
function plain(value: string, max = 200): string {
  const flat = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Links must be absolute http(s) URLs: anything else is a programming error, not mail. */
function checkedLink(link: string): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new TypeError('mail link must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('mail link must be an http(s) URL');
  if (/[\s<>"]/.test(link)) throw new TypeError('mail link must not contain spaces, quotes or angle brackets');
  return link;
}

function duration(minutes: number): string {
  const m = Math.max(1, Math.round(minutes));
  if (m % 1440 === 0) return m === 1440 ? '24 hours' : `${m / 1440} days`;
  if (m % 60 === 0) return m === 60 ? '1 hour' : `${m / 60} hours`;
  return m === 1 ? '1 minute' : `${m} minutes`;
}

/** An ISO timestamp as "2025-01-31 14:05 UTC"; anything unparseable is shown as given. */
function moment(when: string): string {
  const t = Date.parse(when);
  if (Number.isNaN(t)) return plain(when, 64);
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A piece of a message body: text, a link, or a call-to-action button. */
type Part = string | { link: string } | { button: string; label: string };
/** A paragraph is a list of parts, joined without separators. */
type Paragraph = readonly Part[];

interface Body {
  readonly subject: string;
  readonly greeting: string;
  readonly paragraphs: readonly Paragraph[];
}

function renderText(body: Body): string {
  const paragraphs = body.paragraphs.map((p) =>
    p
      .map((part) => {
        if (typeof part === 'string') return part;
        if ('button' in part) return `${part.label}:\n${part.button}`;
        return part.link;
      })
      .join(''),
  );
  return `${[body.greeting, ...paragraphs].join('\n\n')}\n\n-- \nRampart\n`;
}

const FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

function renderHtml(body: Body): string {
  const paragraph = (p: Paragraph): string => {
    const button = p.find((part): part is { button: string; label: string } => typeof part === 'object' && 'button' in part);
    if (button) {
      const href = escapeHtml(button.button);
      return (
        `<p style="margin:24px 0"><a href="${href}" style="display:inline-block;padding:10px 18px;background:#1f4fd1;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${escapeHtml(button.label)}</a></p>\n` +
        `<p style="margin:0 0 16px;font-size:13px;color:#555555">If the button does not work, copy this address into your browser:<br><a href="${href}" style="color:#1f4fd1;word-break:break-all">${href}</a></p>`
      );
    }
    const inner = p
      .map((part) => {
        if (typeof part === 'string') return escapeHtml(part);
        if ('link' in part) return `<a href="${escapeHtml(part.link)}" style="color:#1f4fd1;word-break:break-all">${escapeHtml(part.link)}</a>`;
        return '';
      })
      .join('');
    return `<p style="margin:0 0 16px">${inner}</p>`;
  };
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(body.subject)}</title></head>`,
    `<body style="margin:0;padding:0;background:#f4f5f7">`,
    `<div style="max-width:560px;margin:0 auto;padding:32px 24px;${FONT};font-size:15px;line-height:1.5;color:#1a1a1a;background:#ffffff">`,
    `<p style="margin:0 0 16px">${escapeHtml(body.greeting)}</p>`,
    ...body.paragraphs.map(paragraph),
    `<p style="margin:32px 0 0;font-size:13px;color:#777777">Rampart</p>`,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function greeting(name: string): string {
  const n = plain(name, 100);
  return n ? `Hello ${n},` : 'Hello,';
}

function body(message: MailMessage): { body: Body; links: string[] } {
  const hello = greeting(message.data.name);
  switch (message.template) {
    case 'verify_email': {
      const link = checkedLink(message.data.link);
      return {
        links: [link],
        body: {
          subject: 'Confirm your email address for Rampart',
          greeting: hello,
          paragraphs: [
            ['Confirm your email address to finish creating your Rampart account.'],
            [{ button: link, label: 'Confirm email address' }],
            [`This link expires in ${duration(message.data.expiresMinutes)} and works once.`],
            ['If you did not create an account, you can ignore this email: nothing will happen.'],
          ],
        },
      };
    }
    case 'signup_existing': {
      const signIn = checkedLink(message.data.signInLink);
      const reset = checkedLink(message.data.resetLink);
      return {
        links: [signIn, reset],
        body: {
          subject: 'Sign-up attempt with your Rampart email address',
          greeting: hello,
          paragraphs: [
            ['Someone tried to create a Rampart account with this email address, but it already has an account. No new account was created.'],
            ['If it was you, sign in instead: ', { link: signIn }],
            ['If you forgot your password, you can reset it: ', { link: reset }],
            ['If it was not you, you can ignore this email: your account has not changed.'],
          ],
        },
      };
    }
    case 'magic_link': {
      const link = checkedLink(message.data.link);
      return {
        links: [link],
        body: {
          subject: 'Your Rampart sign-in link',
          greeting: hello,
          paragraphs: [
            ['Use this link to sign in to Rampart.'],
            [{ button: link, label: 'Sign in to Rampart' }],
            [`This link expires in ${duration(message.data.expiresMinutes)} and works once.`],
            ['If you did not ask to sign in, you can ignore this email: no one can sign in without the link.'],
          ],
        },
      };
    }
    case 'password_reset': {
      const link = checkedLink(message.data.link);
      return {
        links: [link],
        body: {
          subject: 'Reset your Rampart password',
          greeting: hello,
          paragraphs: [
            ['We received a request to reset the password of your Rampart account.'],
            [{ button: link, label: 'Choose a new password' }],
            [`This link expires in ${duration(message.data.expiresMinutes)} and works once.`],
            ['If you did not ask for this, you can ignore this email: your password has not changed.'],
          ],
        },
      };
    }
    case 'password_changed': {
      const where = message.data.ip ? ` from the address ${plain(message.data.ip, 64)}` : '';
      return {
        links: [],
        body: {
          subject: 'Your Rampart password was changed',
          greeting: hello,
          paragraphs: [
            [`The password of your Rampart account was changed on ${moment(message.data.when)}${where}.`],
            ['If you made this change, no action is needed.'],
            ['If you did not, reset your password right away with "Forgot password" on the sign-in page, and tell your administrator.'],
          ],
        },
      };
    }
    case 'account_locked': {
      const reset = checkedLink(message.data.resetLink);
      return {
        links: [reset],
        body: {
          subject: 'Sign-in to your Rampart account is paused',
          greeting: hello,
          paragraphs: [
            [`After several failed sign-in attempts, password sign-in to your Rampart account is paused for ${duration(message.data.minutes)}.`],
            ['If this was you, wait and try again, or reset your password: ', { link: reset }],
            ['If it was not you, someone may be trying to guess your password. Your account is safe while it is paused; consider choosing a new password and turning on two-step verification.'],
          ],
        },
      };
    }
    case 'mfa_changed':
      return {
        links: [],
        body: {
          subject: 'Your Rampart two-step verification changed',
          greeting: hello,
          paragraphs: [
            [`The two-step verification of your Rampart account changed on ${moment(message.data.when)}: ${plain(message.data.change).replace(/[.\s]+$/, '')}.`],
            ['If you made this change, no action is needed.'],
            ['If you did not, sign in, review your security settings and sessions, change your password, and tell your administrator.'],
          ],
        },
      };
    case 'email_change_verify': {
      const link = checkedLink(message.data.link);
      return {
        links: [link],
        body: {
          subject: 'Confirm your new email address for Rampart',
          greeting: hello,
          paragraphs: [
            [`You asked to use ${plain(message.data.newEmail, 254)} as the email address of your Rampart account. Confirm it while signed in to that account.`],
            [{ button: link, label: 'Confirm the new address' }],
            [`This link expires in ${duration(message.data.expiresMinutes)} and works once. Your address does not change until you open it.`],
            ['If you did not ask for this, you can ignore this email: nothing will change.'],
          ],
        },
      };
    }
    case 'email_change_requested': {
      const where = message.data.ip ? ` from the address ${plain(message.data.ip, 64)}` : '';
      return {
        links: [],
        body: {
          subject: 'A change of your Rampart email address was asked for',
          greeting: hello,
          paragraphs: [
            [`On ${moment(message.data.when)}${where}, someone signed in to your Rampart account asked to change its email address to ${plain(message.data.newEmail, 254)}.`],
            ['Nothing changes until the link sent to that address is opened by someone signed in to your account.'],
            ['If this was not you, sign in, change your password, and end your other sessions in your security settings.'],
          ],
        },
      };
    }
    case 'email_change_taken':
      return {
        links: [],
        body: {
          subject: 'Someone tried to use your email address on Rampart',
          greeting: hello,
          paragraphs: [
            ['Someone signed in to another Rampart account asked to change that account\'s email address to this one. This address already belongs to your account, so nothing changed and no link was sent.'],
            ['If you expected this (you have two accounts, say), sign in to this one instead. Otherwise you can ignore this email: your account has not changed.'],
          ],
        },
      };
    case 'email_changed':
      return {
        links: [],
        body: {
          subject: 'Your Rampart email address was changed',
          greeting: hello,
          paragraphs: [
            [`On ${moment(message.data.when)}, the email address of your Rampart account was changed to ${plain(message.data.newEmail, 254)}. Mail about the account goes there from now on, and your other sessions were ended.`],
            ['If you made this change, no action is needed.'],
            ['If you did not, tell your administrator or the operator of this Rampart at once: someone with your password or session, and the new mailbox, changed it.'],
          ],
        },
      };
    case 'workspace_invitation': {
      const link = checkedLink(message.data.link);
      const days = message.data.expiresDays;
      return {
        links: [link],
        body: {
          subject: 'You are invited to a workspace on Rampart',
          greeting: hello,
          paragraphs: [
            [`${plain(message.data.inviter, 100)} invited you to join the workspace "${plain(message.data.workspace, 100)}" as ${plain(message.data.role, 60)}.`],
            [{ button: link, label: 'Accept the invitation' }],
            [`The invitation works once and expires in ${days === 1 ? '1 day' : `${days} days`}. You accept it signed in with this email address; if you have no account yet, create one with it first.`],
            ['If you did not expect this, you can ignore this email: nothing happens unless you accept.'],
          ],
        },
      };
    }
    case 'staff_access_requested': {
      const link = checkedLink(message.data.link);
      const d = message.data;
      return {
        links: [link],
        body: {
          subject: 'Staff ask for access to your workspace on Rampart',
          greeting: hello,
          paragraphs: [
            [`${plain(d.staff, 160)} asks for access to the workspace "${plain(d.workspace, 100)}": ${plain(d.scope, 60)}, for ${duration(d.durationMinutes)} from approval.`],
            [`Justification: ${plain(d.justification, 60)}. Ticket: ${plain(d.ticket, 200)}.`],
            [`Reason given: ${plain(d.reason, 1000)}`],
            ['Nothing is read unless you approve; you can revoke an approval at any time, and every read is shown in the workspace\'s access log.'],
            [{ button: link, label: 'Review the request' }],
            ['The request expires if nobody decides within a day.'],
          ],
        },
      };
    }
    case 'staff_break_glass': {
      const link = checkedLink(message.data.link);
      const d = message.data;
      return {
        links: [link],
        body: {
          subject: 'Emergency staff access to your workspace on Rampart',
          greeting: hello,
          paragraphs: [
            [`${plain(d.staff, 160)} opened emergency (break-glass) access to the workspace "${plain(d.workspace, 100)}" without approval: ${plain(d.scope, 60)}, until ${moment(d.expiresAt)}.`],
            [`Reason given: ${plain(d.reason, 1000)}${d.ticket ? ` Ticket: ${plain(d.ticket, 200)}.` : ''}`],
            ['Every read is shown in the workspace\'s access log. If you do not recognise a reason for this, revoke the access now and contact the operator.'],
            [{ button: link, label: 'Review or revoke the access' }],
          ],
        },
      };
    }
  }
}

/** Renders a message: subject, plain text, HTML, and the links it carries. */
export function renderMail(message: MailMessage): RenderedMail {
  const { body: b, links } = body(message);
  return { subject: b.subject, text: renderText(b), html: renderHtml(b), links };
}

/**
 * Email delivery: templates (text and HTML), the outbox, and the SMTP relay.
 */
export { Mailer, MAX_ATTEMPTS, backoffSeconds, type MailboxItem, type MailerOptions } from './mailer.js';
export { renderMail, escapeHtml, TEMPLATE_NAMES, type MailMessage, type RenderedMail, type TemplateName } from './templates.js';

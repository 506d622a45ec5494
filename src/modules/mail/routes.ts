import { isLoopback } from '../../config.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RampartError } from '../../platform/errors.js';
import { Id } from '../../platform/http/schemas.js';
import type { Mailer } from '../../platform/mail/index.js';

const tags = ['dev'];

export const MailboxQuery = z.strictObject({
  to: z.string().min(1).max(254).optional().describe('Only messages to this address.'),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('At most this many, 1–200.'),
});

export const MailboxMessage = z
  .object({
    id: Id,
    template: z.string(),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    html: z.string().describe('The HTML body; render it only in a sandboxed frame.'),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'MailboxMessage' });

/**
 * The development mailbox: mail held in the outbox because no SMTP server is configured, with
 * its bodies (live sign-in links included). Registered only in development mode without SMTP,
 * and answered only to clients on this machine (the socket's address, never a forwarded one):
 * anywhere else it is 404, like a route that does not exist.
 */
export function mailRoutes(mailer: Mailer): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/v1/dev/mailbox', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Development only: mail held in the outbox (no SMTP configured), newest first',
        querystring: MailboxQuery,
        response: { 200: z.object({ items: z.array(MailboxMessage) }) },
      },
      handler: async (request) => {
        if (!isLoopback(request.raw.socket.remoteAddress ?? '')) throw new RampartError('not_found');
        return { items: await mailer.mailbox({ ...(request.query.to ? { to: request.query.to } : {}), limit: request.query.limit }) };
      },
    });
  };
}

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RETRY_AFTER_SECONDS } from '../../platform/db/failures.js';
import type { Database } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';

const tags = ['system'];

/** Liveness (the process answers) and readiness (the database answers, schema current). */
export function systemRoutes(db: Database): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/healthz', {
      config: { access: 'public' },
      schema: { tags, summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok') }) } },
      handler: async () => ({ status: 'ok' as const }),
    });

    app.get('/readyz', {
      config: { access: 'public' },
      schema: { tags, summary: 'Readiness: the database answers and its schema is current', response: { 200: z.object({ status: z.literal('ready') }) } },
      handler: async () => {
        try {
          await db.ready();
        } catch (err) {
          // Not ready while the database is unreachable; ready again, without a restart, once it answers.
          throw new RampartError('not_ready', { internal: err instanceof Error ? err.message : String(err), cause: err, retryAfterSeconds: RETRY_AFTER_SECONDS });
        }
        return { status: 'ready' as const };
      },
    });
  };
}

/**
 * Audit events as the tests count them: the one place in the tests that knows where events are
 * kept (the audit chains' queues and tables, read through the owner connection). Work that runs
 * after a response (decision 0010) is awaited first, so its events are counted too.
 */
import type { TestApp } from './app.js';

/**
 * How many audit events exist, in every chain, queued or chained (one statement: one snapshot,
 * so an event moving from queue to chain is never counted twice).
 */
export async function auditEventCount(t: TestApp): Promise<number> {
  await t.services.accounts.settle();
  await t.services.audit.settle();
  const [row] = await t.database.raw<{ n: number }>(
    `SELECT ((SELECT count(*) FROM rampart.audit_queue) + (SELECT count(*) FROM rampart.audit_events)
           + (SELECT count(*) FROM rampart.platform_audit_queue) + (SELECT count(*) FROM rampart.platform_audit_events))::int AS n`,
  );
  return row?.n ?? 0;
}

/** The events recorded for one request (by its `x-request-id`), in the order recorded. */
export async function auditEventsOfRequest(t: TestApp, requestId: string): Promise<Array<{ action: string; outcome: string }>> {
  await t.services.accounts.settle();
  await t.services.audit.settle();
  return t.database.raw<{ action: string; outcome: string }>(
    `SELECT action, outcome FROM (
       SELECT action, outcome, request_id, created_at FROM rampart.workspace_events
       UNION ALL
       SELECT action, outcome, request_id, created_at FROM rampart.auth_events
     ) e WHERE request_id = $1 ORDER BY created_at`,
    [requestId],
  );
}

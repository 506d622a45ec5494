/**
 * The workspace's consent to staff access (`staff-access:approve`, at `/w/:id/access-requests`):
 *
 * - Requests waiting for a decision come first and stand out: who asks (name, role), for what
 *   (scope), why (justification, their words, the ticket), for how long, since when and until
 *   when it waits. Approve, or deny, each with an optional note the staff member sees.
 * - Live access (approved grants and break-glass openings, the latter in red): until when, and a
 *   button to revoke it at once.
 * - Everything decided before: denied, expired, revoked, cancelled.
 *
 * `PendingAccessNotice` tells an approver on any page of the workspace that requests wait.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, can, type AccessRequest, type Member, type Workspace } from '../api';
import { useAction, useMemberNames, useNow } from '../hooks';
import { Link } from '../router';
import { sectionPath } from '../sections';
import { JUSTIFICATION_LABELS, scopeLabel, STATUS_LABELS, statusClass } from './staff-words';
import { Countdown, formatMinutes, relativeTime, ShortTime } from './time';
import { ErrorMessage, Panel, Status, Table } from './ui';

/** Who decided, by name (`useMemberNames`). */
const deciderName = (m: Member) => m.name || m.email;

function StaffWho({ request }: { request: AccessRequest }) {
  return (
    <span class="staff-who">
      <strong data-testid="request-staff-name">{request.staff.name}</strong>{' '}
      <span class="badge" data-testid="request-staff-role">
        {request.staff.role}
      </span>
    </span>
  );
}

/** The facts of a request, as a definition list. */
function RequestFacts({ request }: { request: AccessRequest }) {
  return (
    <dl class="facts">
      <dt>Access</dt>
      <dd data-testid="request-scope">
        {scopeLabel(request.scope)} <code>{request.scope}</code>
      </dd>
      <dt>Justification</dt>
      <dd data-testid="request-justification">{JUSTIFICATION_LABELS[request.justification] ?? request.justification}</dd>
      <dt>Reason</dt>
      <dd data-testid="request-reason">
        <q class="reason">{request.reason}</q>
      </dd>
      <dt>Ticket</dt>
      <dd data-testid="request-ticket">{request.ticket ?? '—'}</dd>
      <dt>Duration</dt>
      <dd data-testid="request-duration">{formatMinutes(request.durationMinutes)}</dd>
      <dt>Requested</dt>
      <dd>
        <ShortTime iso={request.createdAt} />
      </dd>
    </dl>
  );
}

function PendingRequest(props: { workspace: Workspace; request: AccessRequest; now: number; onDecided: (request: AccessRequest, message: string) => void }) {
  const { workspace, request } = props;
  const [note, setNote] = useState('');
  const { busy, error, run } = useAction({ staysBusy: true });
  const noteId = `decision-note-${request.id}`;

  const decide = (approve: boolean) =>
    run(async () => {
      const decided = approve
        ? await api.approveAccessRequest(workspace.id, request.id, note)
        : await api.denyAccessRequest(workspace.id, request.id, note);
      props.onDecided(
        decided,
        approve
          ? `Approved: ${request.staff.name} may ${scopeLabel(request.scope).toLowerCase()}${decided.grant ? `; the access ends ${relativeTime(decided.grant.expiresAt)}` : ''}.`
          : `Denied ${request.staff.name}'s request.`,
      );
    });

  return (
    <li class="request pending" data-testid="access-request" data-request-id={request.id} data-status="pending">
      <h3>
        <StaffWho request={request} /> asks to <strong>{scopeLabel(request.scope).toLowerCase()}</strong> for {formatMinutes(request.durationMinutes)}
      </h3>
      <RequestFacts request={request} />
      <p class="muted">
        Waits for a decision; it expires undecided <Countdown iso={request.pendingUntil} now={props.now} />.
      </p>
      <form
        class="stack decision"
        aria-label={`Decide on ${request.staff.name}'s request`}
        onSubmit={(event) => {
          event.preventDefault();
        }}
      >
        <label>
          Note to the staff member (optional; for a denial, the reason)
          <textarea name="note" id={noteId} rows={2} maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button type="button" disabled={busy} onClick={() => void decide(true)} data-testid="approve-request">
            Approve for {formatMinutes(request.durationMinutes)}
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => void decide(false)} data-testid="deny-request">
            Deny
          </button>
        </div>
        <p class="hint">Approval lets them {scopeLabel(request.scope).toLowerCase()} of this workspace, and nothing else, from now until the time runs out or you revoke it. Every read shows in the access log.</p>
        <ErrorMessage error={error} testId="decision-error" />
      </form>
    </li>
  );
}

function LiveGrant(props: { workspace: Workspace; request: AccessRequest; now: number; onRevoked: (request: AccessRequest, message: string) => void }) {
  const { workspace, request } = props;
  const [asking, setAsking] = useState(false);
  const [note, setNote] = useState('');
  const { busy, error, run } = useAction({ staysBusy: true });
  const grant = request.grant!;
  const ended = new Date(grant.expiresAt).getTime() <= props.now;

  const revoke = () =>
    run(async () => {
      const revoked = await api.revokeAccessRequest(workspace.id, request.id, note);
      props.onRevoked(revoked, `Revoked ${request.staff.name}'s access.`);
    });

  return (
    <li
      class={request.breakGlass ? 'request live break-glass-row' : 'request live'}
      data-testid="access-grant"
      data-request-id={request.id}
      data-grant-id={grant.id}
      data-break-glass={request.breakGlass ? 'true' : 'false'}
    >
      <h3>
        {request.breakGlass && (
          <span class="badge break-glass" data-testid="break-glass">
            Break-glass
          </span>
        )}{' '}
        <StaffWho request={request} /> may <strong>{scopeLabel(request.scope).toLowerCase()}</strong>
      </h3>
      <RequestFacts request={request} />
      <p data-testid="grant-expiry">
        {ended ? (
          <>
            Ended <ShortTime iso={grant.expiresAt} />.
          </>
        ) : (
          <>
            Ends <Countdown iso={grant.expiresAt} now={props.now} />.
          </>
        )}{' '}
        {request.breakGlass ? 'Opened without approval, for an emergency.' : <>Approved <ShortTime iso={grant.grantedAt} />.</>}
      </p>
      {!ended &&
        (asking ? (
          <form
            class="stack"
            aria-label={`Revoke ${request.staff.name}'s access`}
            onSubmit={(event) => {
              event.preventDefault();
              void revoke();
            }}
          >
            <label>
              Reason (optional)
              <input type="text" name="revoke-note" maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
            </label>
            <div class="actions">
              <button type="submit" class="danger" disabled={busy} data-testid="revoke-grant-confirm">
                Revoke now
              </button>
              <button type="button" class="secondary" disabled={busy} onClick={() => setAsking(false)}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <div class="actions">
            <button type="button" class="danger" onClick={() => setAsking(true)} data-testid="revoke-grant">
              Revoke access
            </button>
          </div>
        ))}
      <ErrorMessage error={error} testId="revoke-error" />
    </li>
  );
}

function HistoryTable({ requests, names }: { requests: AccessRequest[]; names: ReadonlyMap<string, string> }) {
  return (
    <Table
      label="Earlier requests"
      rows={requests}
      rowKey={(r) => r.id}
      rowAttributes={(r) => ({ 'data-testid': 'access-history', 'data-request-id': r.id, 'data-status': r.status, class: r.breakGlass ? 'break-glass-row' : undefined })}
      columns={[
        {
          id: 'status',
          header: 'Status',
          cell: (r) => (
            <>
              <span class={statusClass(r.status)} data-testid="request-status">
                {STATUS_LABELS[r.status]}
              </span>
              {r.breakGlass && <span class="badge break-glass">Break-glass</span>}
            </>
          ),
        },
        { id: 'staff', header: 'Staff member', cell: (r) => <StaffWho request={r} /> },
        { id: 'access', header: 'Access', cell: (r) => `${scopeLabel(r.scope)} for ${formatMinutes(r.durationMinutes)}` },
        {
          id: 'why',
          header: 'Justification',
          class: 'wrap',
          cell: (r) => (
            <>
              {JUSTIFICATION_LABELS[r.justification] ?? r.justification}
              <br />
              <q class="reason">{r.reason}</q>
            </>
          ),
        },
        { id: 'ticket', header: 'Ticket', class: 'wrap', cell: (r) => r.ticket ?? '—' },
        { id: 'requested', header: 'Requested', class: 'nowrap', cell: (r) => <ShortTime iso={r.createdAt} /> },
        { id: 'decision', header: 'Decision', class: 'wrap', cell: (r) => <Decision request={r} names={names} /> },
      ]}
    />
  );
}

function Decision({ request: r, names }: { request: AccessRequest; names: ReadonlyMap<string, string> }) {
  const by = (id: string | null) => (id ? ` by ${names.get(id) ?? `…${id.slice(-8)}`}` : '');
  const note = r.decisionNote ? (
    <>
      {' '}
      <q class="reason">{r.decisionNote}</q>
    </>
  ) : null;
  switch (r.status) {
    case 'denied':
      return (
        <>
          Denied{by(r.decidedBy)} {r.decidedAt && <ShortTime iso={r.decidedAt} />}
          {note}
        </>
      );
    case 'revoked':
      return (
        <>
          Revoked{by(r.grant?.revokedBy ?? null)} {r.grant?.revokedAt && <ShortTime iso={r.grant.revokedAt} />}
          {note}
        </>
      );
    case 'expired':
      return r.grant ? (
        <>
          Approved{by(r.decidedBy)}; ended <ShortTime iso={r.grant.expiresAt} />
        </>
      ) : (
        <>Expired undecided</>
      );
    case 'cancelled':
      return <>Withdrawn by the staff member</>;
    default:
      return <>{STATUS_LABELS[r.status]}</>;
  }
}

export function AccessRequestsSection({ workspace }: { workspace: Workspace }) {
  const [requests, setRequests] = useState<AccessRequest[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const names = useMemberNames(workspace, deciderName);
  const { busy, error, run } = useAction();
  const load = useCallback(() => run(async () => setRequests((await api.accessRequests(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const pending = (requests ?? []).filter((r) => r.status === 'pending');
  const live = (requests ?? []).filter((r) => r.status === 'approved' && r.grant);
  const past = (requests ?? []).filter((r) => r.status !== 'pending' && !(r.status === 'approved' && r.grant));
  const now = useNow(1000, pending.length + live.length > 0);

  const replace = (updated: AccessRequest, message: string) => {
    setRequests((previous) => previous?.map((r) => (r.id === updated.id ? updated : r)) ?? null);
    setStatus(message);
  };

  return (
    <div class="access-requests" data-testid="access-requests">
      <Panel title={`Waiting for your decision${requests ? ` (${pending.length})` : ''}`} titleId="pending-requests-title" testId="pending-requests-panel">
        <p class="hint">
          The operator&rsquo;s staff cannot read this workspace&rsquo;s data unless someone here approves their request. Check the ticket before
          you approve.
        </p>
        <ErrorMessage error={error} testId="access-requests-error" />
        <Status message={status} />
        {requests === null && !error && <p role="status">Loading…</p>}
        {requests !== null && pending.length === 0 && (
          <p class="empty" data-testid="no-pending-requests">
            No requests wait for a decision.
          </p>
        )}
        {pending.length > 0 && (
          <ul class="requests">
            {pending.map((r) => (
              <PendingRequest key={r.id} workspace={workspace} request={r} now={now} onDecided={replace} />
            ))}
          </ul>
        )}
        <div class="actions">
          <button type="button" class="secondary" disabled={busy} onClick={() => void load()}>
            Refresh
          </button>
        </div>
      </Panel>
      <Panel title="Live staff access" titleId="live-grants-title" testId="live-grants-panel">
        {requests !== null && live.length === 0 && (
          <p class="empty" data-testid="no-live-grants">
            No staff member has access now.
          </p>
        )}
        {live.length > 0 && (
          <ul class="requests">
            {live.map((r) => (
              <LiveGrant key={r.id} workspace={workspace} request={r} now={now} onRevoked={replace} />
            ))}
          </ul>
        )}
        {can(workspace, 'audit:read') && (
          <p class="hint">
            What they read: <Link href={sectionPath(workspace.id, 'access-log')}>access log</Link>.
          </p>
        )}
      </Panel>
      <Panel title="Earlier requests" titleId="access-history-title" testId="access-history-panel">
        {requests !== null && past.length === 0 && <p class="empty">None yet.</p>}
        {past.length > 0 && <HistoryTable requests={past} names={names} />}
      </Panel>
    </div>
  );
}

/** On the workspace's other pages: requests wait for a decision (approvers only). */
export function PendingAccessNotice({ workspace }: { workspace: Workspace }) {
  const [count, setCount] = useState(0);
  const allowed = can(workspace, 'staff-access:approve');
  useEffect(() => {
    if (!allowed) return;
    let live = true;
    api
      .accessRequests(workspace.id, 'pending')
      .then(({ data }) => {
        if (live) setCount(data.length);
      })
      // The approval page itself reports errors; this notice is only a pointer to it.
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [workspace.id, allowed]);
  if (!allowed || count === 0) return null;
  return (
    <div class="notice attention" role="status" data-testid="pending-access-notice">
      <p>
        <strong>
          {count} staff access request{count === 1 ? '' : 's'} wait{count === 1 ? 's' : ''} for a decision.
        </strong>{' '}
        <Link href={sectionPath(workspace.id, 'access-requests')}>Review</Link>
      </p>
    </div>
  );
}

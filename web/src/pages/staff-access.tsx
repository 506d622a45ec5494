/**
 * The staff console's work: asking a workspace for access, following one's requests and grants,
 * break-glass access (security staff), and reading a granted workspace's data.
 *
 * A staff session reads no workspace data by itself. Access is a request the workspace approves
 * (or a break-glass opening, flagged to the workspace at once); it lasts a fixed time and only for
 * its scope. Every read through it lands in the workspace's access log, so this page reads only
 * what the person opens: the collections when a grant is opened, a collection's records when it
 * is opened, a record when it is opened. When the grant expires or is revoked, the data leaves
 * the page and the server refuses further reads.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, errorMessage, type AccessRequest, type Justification } from '../api';
import { JUSTIFICATIONS, JUSTIFICATION_LABELS, MAX_BREAK_GLASS_MINUTES, MAX_REQUEST_MINUTES, REQUESTABLE_SCOPES, scopeLabel, STATUS_LABELS, statusClass } from '../components/staff-words';
import { Countdown, formatMinutes, ShortTime } from '../components/time';
import { ErrorMessage, formatBytes, Panel, Status } from '../components/ui';
import { useAction, useNow } from '../hooks';
import { Link } from '../router';
import { StaffMembersPanel } from './staff-admin';
import { staffApi, type StaffCollection, type StaffDocument, type StaffRecord, type StaffSession } from '../staff-api';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const grantPath = (requestId: string, rest = '') => `/staff/access/${encodeURIComponent(requestId)}${rest}`;

/** Whether a request is a grant that works now (the server still decides each read). */
function isLive(r: AccessRequest, now: number): boolean {
  return r.status === 'approved' && r.grant !== null && new Date(r.grant.expiresAt).getTime() > now;
}

// --- asking for access -------------------------------------------------------------------------

/** Whole minutes from 1 to `max`, or null. */
function minutesUpTo(text: string, max: number): number | null {
  const minutes = Number(text);
  return Number.isInteger(minutes) && minutes >= 1 && minutes <= max ? minutes : null;
}

/** A form for access to a workspace: which workspace and which access, then the rest (`children`). */
function AccessForm(props: {
  label: string;
  /** Goes before the fields' names, to tell them from the other form's. */
  prefix: string;
  workspaceId: string;
  onWorkspaceId: (value: string) => void;
  scope: string;
  onScope: (value: string) => void;
  onSubmit: () => void;
  children: ComponentChildren;
}) {
  return (
    <form
      class="stack narrow-form"
      aria-label={props.label}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit();
      }}
    >
      <label>
        Workspace id
        <input
          type="text"
          name={`${props.prefix}workspace-id`}
          autocomplete="off"
          spellcheck={false}
          required
          value={props.workspaceId}
          onInput={(e) => props.onWorkspaceId(e.currentTarget.value)}
        />
      </label>
      <label>
        Access
        <select name={`${props.prefix}scope`} value={props.scope} onChange={(e) => props.onScope(e.currentTarget.value)}>
          {REQUESTABLE_SCOPES.map((s) => (
            <option key={s.scope} value={s.scope}>
              {s.label} ({s.scope})
            </option>
          ))}
        </select>
      </label>
      {props.children}
    </form>
  );
}

function RequestAccessForm({ onCreated }: { onCreated: (r: AccessRequest) => void }) {
  const [workspaceId, setWorkspaceId] = useState('');
  const [scope, setScope] = useState<string>(REQUESTABLE_SCOPES[0].scope);
  const [justification, setJustification] = useState<Justification>('customer-initiated-support');
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const [minutes, setMinutes] = useState('60');
  const { busy, error, setError, run } = useAction();

  const submit = () => {
    const id = workspaceId.trim().toLowerCase();
    if (!UUID.test(id)) return setError('A workspace id is a UUID, as the customer or the ticket gives it.');
    const duration = minutesUpTo(minutes, MAX_REQUEST_MINUTES);
    if (duration === null) return setError(`Ask for 1 to ${MAX_REQUEST_MINUTES} minutes (at most 8 hours).`);
    if (!reason.trim() || !ticket.trim()) return setError('Give a reason and the ticket this is for: the workspace reads both.');
    void run(async () => {
      const created = await staffApi.requestAccess({ workspaceId: id, scope, justification, reason: reason.trim(), ticket: ticket.trim(), durationMinutes: duration });
      setReason('');
      setTicket('');
      onCreated(created);
    });
  };

  return (
    <Panel title="Request access to a workspace" titleId="request-access-title" testId="request-access-panel">
      <p class="hint">The workspace&rsquo;s owners and admins are emailed and decide. They see everything you write here, and every read you make.</p>
      <AccessForm label="Request access" prefix="" workspaceId={workspaceId} onWorkspaceId={setWorkspaceId} scope={scope} onScope={setScope} onSubmit={submit}>
        <label>
          Justification
          <select name="justification" value={justification} onChange={(e) => setJustification(e.currentTarget.value as Justification)}>
            {JUSTIFICATIONS.map((j) => (
              <option key={j} value={j}>
                {JUSTIFICATION_LABELS[j]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reason
          <textarea name="reason" rows={3} maxLength={2000} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        <label>
          Ticket
          <input type="text" name="ticket" maxLength={200} required value={ticket} onInput={(e) => setTicket(e.currentTarget.value)} />
        </label>
        <label>
          Duration (minutes)
          <input type="number" name="duration" min={1} max={MAX_REQUEST_MINUTES} step={1} required value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} aria-describedby="duration-hint" />
        </label>
        <p class="hint" id="duration-hint">
          From approval; at most {MAX_REQUEST_MINUTES} minutes (8 hours).
        </p>
        <ErrorMessage error={error} testId="request-access-error" />
        <button type="submit" disabled={busy}>
          Send request
        </button>
      </AccessForm>
    </Panel>
  );
}

function BreakGlassForm({ onCreated }: { onCreated: (r: AccessRequest) => void }) {
  const [workspaceId, setWorkspaceId] = useState('');
  const [scope, setScope] = useState<string>(REQUESTABLE_SCOPES[0].scope);
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const [minutes, setMinutes] = useState(String(MAX_BREAK_GLASS_MINUTES));
  const [confirming, setConfirming] = useState(false);
  const { busy, error, setError, run } = useAction();

  const submit = () => {
    const id = workspaceId.trim().toLowerCase();
    if (!UUID.test(id)) return setError('A workspace id is a UUID.');
    const duration = minutesUpTo(minutes, MAX_BREAK_GLASS_MINUTES);
    if (duration === null) return setError(`Break-glass access lasts 1 to ${MAX_BREAK_GLASS_MINUTES} minutes.`);
    if (!reason.trim()) return setError('Break-glass access needs a reason.');
    if (!confirming) return setConfirming(true);
    void run(async () => {
      const t = ticket.trim();
      const created = await staffApi.breakGlass({ workspaceId: id, scope, reason: reason.trim(), ...(t ? { ticket: t } : {}), durationMinutes: duration });
      setReason('');
      setTicket('');
      setConfirming(false);
      onCreated(created);
    });
  };

  return (
    <Panel title="Break-glass access" titleId="break-glass-title" testId="break-glass-panel">
      <div class="danger-zone">
        <p>
          <strong>For emergencies only.</strong> Opens access at once, without the workspace&rsquo;s approval, for at most an hour. The
          workspace&rsquo;s owners and admins are emailed immediately, and every read is flagged in their access log.
        </p>
        <AccessForm label="Open break-glass access" prefix="bg-" workspaceId={workspaceId} onWorkspaceId={setWorkspaceId} scope={scope} onScope={setScope} onSubmit={submit}>
          <label>
            Reason (required)
            <textarea name="bg-reason" rows={3} maxLength={2000} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <label>
            Ticket (optional)
            <input type="text" name="bg-ticket" maxLength={200} value={ticket} onInput={(e) => setTicket(e.currentTarget.value)} />
          </label>
          <label>
            Duration (minutes, at most {MAX_BREAK_GLASS_MINUTES})
            <input type="number" name="bg-duration" min={1} max={MAX_BREAK_GLASS_MINUTES} step={1} required value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
          </label>
          <ErrorMessage error={error} testId="break-glass-error" />
          <div class="actions">
            <button type="submit" class="danger" disabled={busy}>
              {confirming ? 'Open break-glass access now' : 'Open break-glass access'}
            </button>
            {confirming && (
              <button type="button" class="secondary" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            )}
          </div>
        </AccessForm>
      </div>
    </Panel>
  );
}

// --- my requests and grants --------------------------------------------------------------------

function RequestState({ request: r, now }: { request: AccessRequest; now: number }) {
  if (r.status === 'pending') {
    return (
      <>
        Waiting for the workspace&rsquo;s decision (the request lapses <ShortTime iso={r.pendingUntil} />).
      </>
    );
  }
  if (r.grant && isLive(r, now)) {
    return (
      <>
        Access ends <Countdown iso={r.grant.expiresAt} now={now} testId="request-expires" />.
      </>
    );
  }
  if (r.status === 'approved' || (r.status === 'expired' && r.grant)) {
    return <>Access ended <ShortTime iso={r.grant!.expiresAt} />.</>;
  }
  if (r.status === 'expired') return <>Lapsed without a decision.</>;
  if (r.status === 'revoked') return <>The workspace revoked this access{r.grant?.revokedAt ? <> <ShortTime iso={r.grant.revokedAt} /></> : null}.</>;
  if (r.status === 'denied') return <>The workspace denied this request.</>;
  return <>You withdrew this request.</>;
}

function MyRequest(props: { request: AccessRequest; now: number; onChanged: (r: AccessRequest) => void }) {
  const { request: r, now } = props;
  const cancelling = useAction();
  const live = isLive(r, now);
  // A grant whose time ran out on this clock shows as expired before the server is asked again.
  const shown = r.status === 'approved' && !live ? 'expired' : r.status;
  return (
    <li class={`row request-row${r.breakGlass ? ' break-glass-row' : ''}`} data-testid="staff-request" data-request-id={r.id} data-status={shown}>
      <div class="row-main">
        <span>
          <span class={statusClass(shown)} data-testid="staff-request-status">
            {STATUS_LABELS[shown]}
          </span>{' '}
          {r.breakGlass && <span class="badge break-glass">Break-glass</span>} <strong>{scopeLabel(r.scope)}</strong> in workspace{' '}
          <code data-testid="staff-request-workspace">{r.workspaceId}</code>
        </span>
        <span class="muted">
          {JUSTIFICATION_LABELS[r.justification] ?? r.justification}
          {r.ticket ? ` · ticket ${r.ticket}` : ''} · {formatMinutes(r.durationMinutes)} · asked <ShortTime iso={r.createdAt} />
        </span>
        <span data-testid="staff-request-state">
          <RequestState request={r} now={now} />
        </span>
        {r.decisionNote && (
          <span>
            Note from the workspace: <q class="reason" data-testid="staff-request-note">{r.decisionNote}</q>
          </span>
        )}
        <ErrorMessage error={cancelling.error} />
      </div>
      <div class="actions">
        {live && (
          <Link href={grantPath(r.id)} class="button" data-testid="open-grant">
            Open
          </Link>
        )}
        {r.status === 'pending' && (
          <button type="button" class="secondary" disabled={cancelling.busy} onClick={() => void cancelling.run(async () => props.onChanged(await staffApi.cancelRequest(r.id)))}>
            Withdraw
          </button>
        )}
      </div>
    </li>
  );
}

function MyRequests({ requests, error, busy, onRefresh, onChanged }: { requests: AccessRequest[] | null; error: string | null; busy: boolean; onRefresh: () => void; onChanged: (r: AccessRequest) => void }) {
  const waiting = (requests ?? []).some((r) => r.status === 'pending' || r.status === 'approved');
  const now = useNow(1000, waiting);
  return (
    <Panel title="Your requests and access" titleId="my-requests-title" testId="my-requests-panel">
      <ErrorMessage error={error} testId="my-requests-error" />
      {requests === null && !error && <p role="status">Loading…</p>}
      {requests !== null && requests.length === 0 && <p class="empty">You have not asked for access yet.</p>}
      {requests !== null && requests.length > 0 && (
        <ul class="rows">
          {requests.map((r) => (
            <MyRequest key={r.id} request={r} now={now} onChanged={onChanged} />
          ))}
        </ul>
      )}
      <div class="actions">
        <button type="button" class="secondary" disabled={busy} onClick={onRefresh}>
          Refresh
        </button>
      </div>
    </Panel>
  );
}

export function StaffHome({ session }: { session: StaffSession }) {
  const may = (p: StaffSession['permissions'][number]) => session.permissions.includes(p);
  const [requests, setRequests] = useState<AccessRequest[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const canRequest = may('access:request');
  const load = useCallback(() => run(async () => setRequests((await staffApi.myRequests()).data)), []);

  useEffect(() => {
    if (canRequest) void load();
  }, [canRequest, load]);

  // Look again when the person comes back to the tab. Not on a timer: background polling would
  // keep an unattended staff session from ever reaching its idle timeout.
  useEffect(() => {
    if (!canRequest) return;
    const onVisible = () => {
      if (document.visibilityState === 'visible') void load();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [canRequest, load]);

  const added = (r: AccessRequest, message: string) => {
    setRequests((previous) => [r, ...(previous ?? []).filter((p) => p.id !== r.id)]);
    setStatus(message);
  };

  return (
    <div class="staff-home" data-testid="staff-home">
      <h1>Staff console</h1>
      <p class="hint">
        You read a workspace&rsquo;s data only through access it approved, for the time it approved. Every read is shown to the
        workspace in its access log.
      </p>
      <Status message={status} />
      {canRequest && (
        <MyRequests
          requests={requests}
          error={error}
          busy={busy}
          onRefresh={() => void load()}
          onChanged={(r) => setRequests((previous) => previous?.map((p) => (p.id === r.id ? r : p)) ?? null)}
        />
      )}
      {canRequest && <RequestAccessForm onCreated={(r) => added(r, `Request sent to workspace ${r.workspaceId}. You will see here when it is decided.`)} />}
      {may('break-glass:open') && <BreakGlassForm onCreated={(r) => added(r, `Break-glass access to workspace ${r.workspaceId} is open; its owners have been told.`)} />}
      {!canRequest && (
        <p class="notice" data-testid="no-workspace-access">
          Your role (<strong>{session.staff.role}</strong>) manages the staff realm and never reads workspace data.
        </p>
      )}
      {may('staff:manage') && <StaffMembersPanel session={session} />}
    </div>
  );
}

// --- reading through a grant -------------------------------------------------------------------

const ENDED_CODES = new Set(['staff_grant_expired', 'staff_grant_revoked', 'staff_grant_not_found']);

/** Runs a read through the grant; a refusal because the grant ended is handed to `onEnded`. */
function useGrantRead<T>(read: () => Promise<T>, deps: readonly unknown[], onEnded: (err: ApiError) => void) {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setValue(null);
    setError(null);
    read()
      .then((v) => {
        if (live) setValue(v);
      })
      .catch((err: unknown) => {
        if (!live) return;
        if (err instanceof ApiError && ENDED_CODES.has(err.code)) onEnded(err);
        else setError(errorMessage(err));
      });
    return () => {
      live = false;
    };
  }, deps);
  return { value, error };
}

function RecordsBrowser(props: { request: AccessRequest; grantId: string; collection: string | null; recordId: string | null; onEnded: (err: ApiError) => void }) {
  const { request, grantId, collection, recordId, onEnded } = props;
  // Only what is open is read: the collections on the grant's page, a collection's records, a record.
  const collections = useGrantRead<StaffCollection[]>(async () => (collection ? [] : (await staffApi.collections(grantId)).data), [grantId, collection], onEnded);
  const records = useGrantRead(async () => (collection && !recordId ? staffApi.records(grantId, collection, null) : null), [grantId, collection, recordId], onEnded);
  const record = useGrantRead<StaffRecord | null>(async () => (collection && recordId ? staffApi.record(grantId, collection, recordId) : null), [grantId, collection, recordId], onEnded);

  if (!collection) {
    return (
      <Panel title="Collections" titleId="staff-collections-title" testId="staff-collections">
        <ErrorMessage error={collections.error} testId="staff-read-error" />
        {collections.value === null && !collections.error && <p role="status">Loading…</p>}
        {collections.value?.length === 0 && <p class="empty">This workspace has no collections.</p>}
        {collections.value && collections.value.length > 0 && (
          <ul class="nav-list">
            {collections.value.map((c) => (
              <li key={c.id}>
                <Link href={grantPath(request.id, `/c/${encodeURIComponent(c.name)}`)} data-testid="staff-collection">
                  {c.name}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </Panel>
    );
  }

  const back = (
    <p>
      <Link href={grantPath(request.id)}>All collections</Link>
      {recordId && (
        <>
          {' · '}
          <Link href={grantPath(request.id, `/c/${encodeURIComponent(collection)}`)}>Collection {collection}</Link>
        </>
      )}
    </p>
  );

  if (recordId) {
    return (
      <Panel title={`Record ${recordId}`} titleId="staff-record-title" testId="staff-record-panel">
        {back}
        <ErrorMessage error={record.error} testId="staff-read-error" />
        {record.value === null && !record.error && <p role="status">Loading…</p>}
        {record.value && (
          <div class="record" data-testid="staff-record-detail" data-record-id={record.value.id}>
            <div class="record-meta">
              <span class="record-id">{record.value.id}</span>
              <span>version {record.value.version}</span>
              <span>
                updated <ShortTime iso={record.value.updatedAt} />
              </span>
            </div>
            <pre class="json">{JSON.stringify(record.value.data, null, 2)}</pre>
          </div>
        )}
      </Panel>
    );
  }

  return (
    <Panel title={`Collection ${collection}`} titleId="staff-records-title" testId="staff-records">
      {back}
      <ErrorMessage error={records.error} testId="staff-read-error" />
      {records.value === null && !records.error && <p role="status">Loading…</p>}
      {records.value?.data.length === 0 && <p class="empty">No records.</p>}
      {records.value && records.value.data.length > 0 && (
        <ul class="records">
          {records.value.data.map((r) => (
            <li key={r.id} class="record" data-testid="staff-record" data-record-id={r.id}>
              <div class="record-meta">
                <Link href={grantPath(request.id, `/c/${encodeURIComponent(collection)}/r/${encodeURIComponent(r.id)}`)} class="record-id" data-testid="staff-open-record">
                  {r.id}
                </Link>
                <span>version {r.version}</span>
              </div>
              <pre class="json">{JSON.stringify(r.data, null, 2)}</pre>
            </li>
          ))}
        </ul>
      )}
      {records.value?.nextCursor && <p class="muted">More records exist; filter by a field to find one (through the staff API).</p>}
    </Panel>
  );
}

function DocumentsBrowser({ grantId, onEnded }: { grantId: string; onEnded: (err: ApiError) => void }) {
  const documents = useGrantRead(() => staffApi.documents(grantId, null), [grantId], onEnded);
  return (
    <Panel title="Documents" titleId="staff-documents-title" testId="staff-documents">
      <ErrorMessage error={documents.error} testId="staff-read-error" />
      {documents.value === null && !documents.error && <p role="status">Loading…</p>}
      {documents.value?.data.length === 0 && <p class="empty">No documents.</p>}
      {documents.value && documents.value.data.length > 0 && (
        <ul class="documents">
          {documents.value.data.map((d: StaffDocument) => (
            <li key={d.id} class="document" data-testid="staff-document">
              <span class="document-name">{d.name}</span>
              <span class="muted">
                {d.contentType} · {formatBytes(d.size)}
              </span>
              <a href={staffApi.documentUrl(grantId, d.id)} download={d.name} class="button secondary">
                Download
              </a>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function GrantSummary({ request: r, now, children }: { request: AccessRequest; now: number; children?: ComponentChildren }) {
  return (
    <section class={`panel grant-summary${r.breakGlass ? ' break-glass-row' : ''}`} aria-labelledby="grant-title" data-testid="grant-summary">
      <h1 id="grant-title">
        {scopeLabel(r.scope)} in workspace <code data-testid="grant-workspace">{r.workspaceId}</code>
      </h1>
      <p>
        {r.breakGlass && <span class="badge break-glass">Break-glass</span>} {JUSTIFICATION_LABELS[r.justification] ?? r.justification}
        {r.ticket ? <> · ticket <strong>{r.ticket}</strong></> : null} · <q class="reason">{r.reason}</q>
      </p>
      <p data-testid="grant-state">
        <RequestState request={r} now={now} />
      </p>
      {children}
    </section>
  );
}

export function StaffGrantPage(props: { session: StaffSession; requestId: string; collection: string | null; recordId: string | null }) {
  const { requestId, collection, recordId } = props;
  const [request, setRequest] = useState<AccessRequest | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const load = useCallback(() => run(async () => setRequest(await staffApi.myRequest(requestId))), [requestId]);
  useEffect(() => {
    void load();
  }, [load]);
  const live = request !== null && isLive(request, Date.now()) && refusal === null;
  const now = useNow(1000, live);

  const onEnded = useCallback(
    (err: ApiError) => {
      setRefusal(err.message);
      void load();
    },
    [load],
  );

  if (!request) {
    return (
      <>
        <ErrorMessage error={error} testId="grant-error" />
        {!error && <p role="status">Loading…</p>}
        <p>
          <Link href="/staff">Back to the staff console</Link>
        </p>
      </>
    );
  }

  const ended = refusal !== null || !isLive(request, now);
  const refresh = (
    <div class="actions">
      <button type="button" class="secondary" disabled={busy} onClick={() => void load()}>
        Refresh
      </button>
      <Link href="/staff">Back to the staff console</Link>
    </div>
  );

  if (ended) {
    return (
      <div class="staff-grant" data-testid="staff-grant" data-state="ended">
        <GrantSummary request={request} now={now}>
          {refresh}
        </GrantSummary>
        <section class="panel notice attention" role="alert" data-testid="access-ended">
          <h2>{request.status === 'pending' ? 'Not approved yet' : request.status === 'denied' ? 'Access denied' : 'Access ended'}</h2>
          <p>
            {request.status === 'pending'
              ? 'The workspace has not decided on this request yet. Nothing of it can be read until it is approved.'
              : request.status === 'denied'
                ? 'The workspace denied this request. Nothing of it can be read.'
                : request.status === 'revoked'
                  ? 'The workspace revoked this access. Nothing more of it can be read.'
                  : 'The time this access was granted for is over. Nothing more of it can be read; ask again if you still need it.'}
          </p>
          {refusal && (
            <p class="muted" data-testid="access-ended-refusal">
              The server said: {refusal}
            </p>
          )}
        </section>
      </div>
    );
  }

  return (
    <div class="staff-grant" data-testid="staff-grant" data-state="live">
      <GrantSummary request={request} now={now}>
        <p class="hint">Each page you open here is a read, recorded in the workspace&rsquo;s access log with this request and its ticket.</p>
        {refresh}
      </GrantSummary>
      {request.scope === 'records:read' && (
        <RecordsBrowser request={request} grantId={request.grant!.id} collection={collection} recordId={recordId} onEnded={onEnded} />
      )}
      {request.scope === 'documents:read' && <DocumentsBrowser grantId={request.grant!.id} onEnded={onEnded} />}
    </div>
  );
}


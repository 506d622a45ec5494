/**
 * A workspace's audit log and its access log (access transparency), both `audit:read`.
 *
 * - Audit log (`/w/:id/audit`): every event of the workspace's tamper-evident chain, newest
 *   first, filtered by time range, actor, kind of actor and action. The filters live in the URL
 *   (`?from=…&to=…&actor=…&actorType=…&action=…`, times ISO 8601 UTC), so a filtered view can be
 *   bookmarked and shared. Times show as how long ago; the tooltip has the local time to the
 *   microsecond and UTC, and an event's details (a drawer) say both.
 *   Exports (JSON Lines, CSV) with the current time and actor filters; a link to the published
 *   checkpoint keys for verifying an export offline; "Verify integrity" checks the live chain.
 * - Access log (`/w/:id/access-log`): every read or change by the operator's staff — who (name,
 *   role), when, which request, why (justification, ticket), what was touched; break-glass
 *   access flagged in red. Filtered by time range, in the URL too.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import {
  api,
  can,
  type AuditActor,
  type AuditActorType,
  type AuditCheckpoint,
  type AuditEvent,
  type AuditPage,
  type AuditVerifyReport,
  type Member,
  type Workspace,
} from '../api';
import { useAction, useMemberNames } from '../hooks';
import { Link, navigate, useLocation } from '../router';
import { sectionPath } from '../sections';
import { justificationLabel, scopeLabel } from './staff-words';
import { exactLocal, isoToLocalInput, localInputToIso, localOffsetLabel, MicroTime, ShortTime, utcLabel } from './time';
import { Drawer, ErrorMessage, Panel, Table, type Column, type RowAttributes } from './ui';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACTION = /^[a-z][a-z0-9_.-]{0,63}$/;
const PAGE = 100;

const ACTOR_TYPES: readonly { value: AuditActorType; label: string }[] = [
  { value: 'account', label: 'Member (account)' },
  { value: 'api_key', label: 'API key' },
  { value: 'staff', label: 'Operator staff' },
  { value: 'system', label: 'System' },
  { value: 'anonymous', label: 'Anonymous' },
];

/** The filters as the URL and the API carry them; '' when not set. */
export interface LogFilters {
  readonly from: string;
  readonly to: string;
  readonly actor: string;
  readonly actorType: AuditActorType | '';
  readonly action: string;
}

const NO_FILTERS: LogFilters = { from: '', to: '', actor: '', actorType: '', action: '' };

function filtersFrom(search: URLSearchParams): LogFilters {
  const actorType = search.get('actorType') ?? '';
  return {
    from: search.get('from') ?? '',
    to: search.get('to') ?? '',
    actor: search.get('actor') ?? '',
    actorType: ACTOR_TYPES.some((t) => t.value === actorType) ? (actorType as AuditActorType) : '',
    action: search.get('action') ?? '',
  };
}

function filtersQuery(f: LogFilters): string {
  const query = new URLSearchParams();
  for (const key of ['from', 'to', 'actor', 'actorType', 'action'] as const) if (f[key]) query.set(key, f[key]);
  return query.toString();
}

const withQuery = (path: string, query: string) => (query ? `${path}?${query}` : path);
/** Ids are UUIDv7: their first characters are a timestamp, the last ones tell them apart. */
const short = (id: string) => `…${id.slice(-8)}`;

/** An actor the log mentions, by name and email (`useMemberNames`). */
const actorName = (m: Member) => (m.name ? `${m.name} (${m.email})` : m.email);

// --- the filter form ---------------------------------------------------------------------------

const QUICK_RANGES = [
  { label: 'Last hour', ms: 3_600_000 },
  { label: 'Last 24 hours', ms: 86_400_000 },
  { label: 'Last 7 days', ms: 7 * 86_400_000 },
] as const;

function FilterForm(props: { filters: LogFilters; full: boolean; label: string; onApply: (filters: LogFilters) => void; actions?: readonly string[] }) {
  const { filters, full } = props;
  const [from, setFrom] = useState(isoToLocalInput(filters.from));
  const [to, setTo] = useState(isoToLocalInput(filters.to));
  const [actor, setActor] = useState(filters.actor);
  const [actorType, setActorType] = useState<AuditActorType | ''>(filters.actorType);
  const [action, setAction] = useState(filters.action);
  const [error, setError] = useState<string | null>(null);
  const active = filtersQuery(filters) !== '';

  const apply = () => {
    const fromIso = from ? localInputToIso(from) : '';
    const toIso = to ? localInputToIso(to) : '';
    if (fromIso === null || toIso === null) return setError('Enter the times as a date and a time.');
    if (fromIso && toIso && fromIso >= toIso) return setError('The start of the range must be before its end.');
    const actorId = actor.trim().toLowerCase();
    if (actorId && !UUID.test(actorId)) return setError('An actor is the id of an account, API key or staff member (a UUID).');
    const act = action.trim();
    if (act && !ACTION.test(act)) return setError('An action looks like record.created or staff.records.read.');
    setError(null);
    props.onApply({ from: fromIso, to: toIso, actor: full ? actorId : '', actorType: full ? actorType : '', action: full ? act : '' });
  };

  return (
    <form
      class="filters"
      aria-label={props.label}
      onSubmit={(event) => {
        event.preventDefault();
        apply();
      }}
    >
      <div class="inline-form">
        <label>
          From ({localOffsetLabel()})
          <input type="datetime-local" name="from" step={1} value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" name="to" step={1} value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        {full && (
          <>
            <label>
              Actor id
              <input
                type="text"
                name="actor"
                autocomplete="off"
                spellcheck={false}
                placeholder="any"
                size={38}
                value={actor}
                onInput={(e) => setActor(e.currentTarget.value)}
              />
            </label>
            <label>
              Kind of actor
              <select name="actorType" value={actorType} onChange={(e) => setActorType(e.currentTarget.value as AuditActorType | '')}>
                <option value="">Any</option>
                {ACTOR_TYPES.map((t) => (
                  <option key={t.value} value={t.value}>
                    {t.label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Action
              <input
                type="text"
                name="action"
                autocomplete="off"
                spellcheck={false}
                placeholder="any"
                list="audit-actions"
                value={action}
                onInput={(e) => setAction(e.currentTarget.value)}
              />
              <datalist id="audit-actions">
                {(props.actions ?? []).map((a) => (
                  <option key={a} value={a} />
                ))}
              </datalist>
            </label>
          </>
        )}
        <button type="submit">Apply filters</button>
        {active && (
          <button type="button" class="secondary" onClick={() => props.onApply(NO_FILTERS)}>
            Clear filters
          </button>
        )}
      </div>
      <div class="actions quick-ranges">
        <span class="muted">Quick range:</span>
        {QUICK_RANGES.map((r) => (
          <button
            key={r.label}
            type="button"
            class="link-button"
            onClick={() => props.onApply({ ...filters, from: new Date(Date.now() - r.ms).toISOString(), to: '' })}
          >
            {r.label}
          </button>
        ))}
      </div>
      <ErrorMessage error={error} testId="filter-error" />
    </form>
  );
}

/** The active filters in words, so the page says what it shows. */
function FilterSummary({ filters, names }: { filters: LogFilters; names: ReadonlyMap<string, string> }) {
  const parts: ComponentChildren[] = [];
  if (filters.from) parts.push(<span key="from">from <ShortTime iso={filters.from} /></span>);
  if (filters.to) parts.push(<span key="to">until <ShortTime iso={filters.to} /></span>);
  if (filters.actor) parts.push(<span key="actor">by {names.get(filters.actor) ?? filters.actor}</span>);
  if (filters.actorType) parts.push(<span key="type">by {ACTOR_TYPES.find((t) => t.value === filters.actorType)?.label.toLowerCase()}</span>);
  if (filters.action) parts.push(<span key="action">action <code>{filters.action}</code></span>);
  return (
    <p class="muted" data-testid="filter-summary">
      {parts.length === 0 ? 'Showing all events, newest first.' : <>Showing events {parts.map((p, i) => [i > 0 ? ', ' : '', p])}; newest first.</>}
    </p>
  );
}

// --- pages of events ---------------------------------------------------------------------------

function usePagedLog(load: (before: number | null) => Promise<AuditPage>) {
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const { busy, error, run } = useAction();
  const fetchPage = (before: number | null) =>
    run(async () => {
      const page = await load(before);
      setEvents((previous) => (before !== null && previous ? [...previous, ...page.data] : page.data));
      setNextBefore(page.nextBefore);
    });
  useEffect(() => {
    void fetchPage(null);
  }, []);
  return { events, nextBefore, busy, error, fetchPage };
}

/**
 * A log's events as a table, newest first, under what the filters select; the older pages on
 * request. The columns after the time are the log's own; the last opens the event's details in a
 * drawer (the table keeps its width).
 */
function LogPanel(props: {
  title: string;
  titleId: string;
  testId: string;
  /** Names the log's error and empty messages: `${name}-error`, `${name}-empty`. */
  name: string;
  filters: LogFilters;
  names: ReadonlyMap<string, string>;
  log: ReturnType<typeof usePagedLog>;
  empty: ComponentChildren;
  columns: readonly Column<AuditEvent>[];
  rowAttributes: (e: AuditEvent) => RowAttributes;
  older: string;
  children?: ComponentChildren;
}) {
  const { events, nextBefore, busy, error, fetchPage } = props.log;
  const [open, setOpen] = useState<AuditEvent | null>(null);
  const columns: Column<AuditEvent>[] = [
    { id: 'when', header: `When (${localOffsetLabel()})`, class: 'nowrap', cell: (e) => <MicroTime iso={e.time} testId="event-time" /> },
    ...props.columns,
    {
      id: 'details',
      header: 'Details',
      hideHeader: true,
      class: 'actions',
      cell: (e) => (
        <button type="button" class="link-button" aria-haspopup="dialog" aria-label={`Details of event ${e.seq}`} data-testid="event-details-open" onClick={() => setOpen(e)}>
          Details
        </button>
      ),
    },
  ];
  return (
    <Panel title={props.title} titleId={props.titleId} testId={props.testId}>
      <FilterSummary filters={props.filters} names={props.names} />
      <ErrorMessage error={error} testId={`${props.name}-error`} />
      {events === null && !error && <p role="status">Loading…</p>}
      {events !== null && events.length === 0 && (
        <p class="empty" data-testid={`${props.name}-empty`}>
          {props.empty}
        </p>
      )}
      {events !== null && events.length > 0 && (
        <Table label={props.title} class="audit" rows={events} rowKey={(e) => e.id} rowAttributes={props.rowAttributes} columns={columns} />
      )}
      <div class="actions">
        {nextBefore !== null && (
          <button type="button" class="secondary" disabled={busy} onClick={() => void fetchPage(nextBefore)}>
            {props.older}
          </button>
        )}
        <button type="button" class="secondary" disabled={busy} onClick={() => void fetchPage(null)}>
          Refresh
        </button>
      </div>
      {props.children}
      <Drawer open={open !== null} title={open ? `Event ${open.seq}: ${open.action}` : ''} onClose={() => setOpen(null)} testId="event-details">
        {open && <EventDetails event={open} names={props.names} />}
      </Drawer>
    </Panel>
  );
}

// --- one event ---------------------------------------------------------------------------------

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** A staff entry's grounds: justification, ticket, scope, request, break-glass (in red). */
function StaffGrounds({ details }: { details: Record<string, unknown> }) {
  const justification = str(details['justification']);
  const ticket = str(details['ticket']);
  const scope = str(details['scope']);
  const reason = str(details['reason']);
  const breakGlass = details['breakGlass'] === true;
  if (!justification && !ticket && !scope && !breakGlass) return null;
  return (
    <div class="staff-grounds">
      {breakGlass && (
        <span class="badge break-glass" data-testid="break-glass">
          Break-glass
        </span>
      )}
      {justification && <span data-testid="staff-justification">{justificationLabel(justification)}</span>}
      {ticket && (
        <span>
          ticket <strong data-testid="staff-ticket">{ticket}</strong>
        </span>
      )}
      {scope && <span class="muted">{scope}</span>}
      {reason && <q class="reason">{reason}</q>}
    </div>
  );
}

function ActorCell(props: { actor: AuditActor; names: ReadonlyMap<string, string>; onFilter?: ((actorId: string) => void) | undefined }) {
  const { actor, names } = props;
  let who: ComponentChildren;
  switch (actor.type) {
    case 'staff':
      who = (
        <>
          <span class="badge staff">Staff</span> <strong data-testid="staff-name">{actor.name ?? 'Unknown staff member'}</strong>{' '}
          {actor.role && (
            <span class="badge" data-testid="staff-role">
              {actor.role}
            </span>
          )}
        </>
      );
      break;
    case 'account':
      who = actor.id ? <span title={actor.id}>{names.get(actor.id) ?? `Account ${short(actor.id)}`}</span> : 'Account';
      break;
    case 'api_key':
      who = <span title={actor.id ?? undefined}>API key {actor.id ? short(actor.id) : ''}</span>;
      break;
    case 'system':
      who = <span class="muted">System</span>;
      break;
    default:
      who = <span class="muted">Anonymous</span>;
  }
  return (
    <div class="actor">
      <span>{who}</span>
      {props.onFilter && actor.id && (
        <button type="button" class="link-button small" aria-label={`Only this actor (${actor.id})`} onClick={() => props.onFilter?.(actor.id as string)}>
          only this actor
        </button>
      )}
    </div>
  );
}

/** Everything the chain holds about one event, long values wrapping in their own line. */
function EventDetails({ event, names }: { event: AuditEvent; names: ReadonlyMap<string, string> }) {
  const hasDetails = Object.keys(event.details).length > 0;
  return (
    <>
      <dl class="facts event-facts">
        <dt>Local time</dt>
        <dd data-testid="event-details-local">{exactLocal(event.time, true)}</dd>
        <dt>UTC</dt>
        <dd data-testid="event-details-utc">{utcLabel(event.time)}</dd>
        <dt>Actor</dt>
        <dd>
          <ActorCell actor={event.actor} names={names} />
          {event.actor.id && <code class="hash">{event.actor.id}</code>}
        </dd>
        <dt>Outcome</dt>
        <dd>
          <span class={outcomeClass(event.outcome)}>{event.outcome}</span>
        </dd>
        {event.target && (
          <>
            <dt>Target</dt>
            <dd>
              {event.target.type} <code>{event.target.id}</code>
            </dd>
          </>
        )}
        <dt>From</dt>
        <dd>{event.ip ?? '—'}</dd>
        <dt>Sequence</dt>
        <dd>{event.seq}</dd>
        <dt>Event id</dt>
        <dd>
          <code>{event.id}</code>
        </dd>
        {event.requestId && (
          <>
            <dt>Request id</dt>
            <dd>
              <code>{event.requestId}</code>
            </dd>
          </>
        )}
        {event.userAgent && (
          <>
            <dt>User agent</dt>
            <dd>{event.userAgent}</dd>
          </>
        )}
        <dt>Hash</dt>
        <dd>
          <code class="hash">{event.hash}</code>
        </dd>
        <dt>Previous hash</dt>
        <dd>
          <code class="hash">{event.prevHash}</code>
        </dd>
      </dl>
      {hasDetails && (
        <>
          <h3>Details</h3>
          <pre class="json wrap-json">{JSON.stringify(event.details, null, 2)}</pre>
        </>
      )}
    </>
  );
}

const outcomeClass = (outcome: string) => (outcome === 'success' ? 'badge ok' : 'badge warn');

// --- the audit log -----------------------------------------------------------------------------

function AuditEvents(props: { workspace: Workspace; filters: LogFilters; names: ReadonlyMap<string, string>; onFilter: (f: LogFilters) => void; onActions: (a: string[]) => void }) {
  const { workspace, filters, names } = props;
  const log = usePagedLog((before) =>
    api.auditEvents(
      workspace.id,
      {
        from: filters.from || undefined,
        to: filters.to || undefined,
        actor: filters.actor || undefined,
        actorType: filters.actorType || undefined,
        action: filters.action || undefined,
      },
      before,
      PAGE,
    ),
  );
  const { onActions } = props;
  const { events } = log;
  useEffect(() => {
    if (events) onActions([...new Set(events.map((e) => e.action))].sort());
  }, [events, onActions]);

  return (
    <LogPanel
      title="Events"
      titleId="audit-events-title"
      testId="audit-events-panel"
      name="audit"
      filters={filters}
      names={names}
      log={log}
      empty="No events match these filters."
      rowAttributes={(e) => ({
        class: e.actor.type === 'staff' ? 'staff-row' : undefined,
        'data-testid': 'audit-event',
        'data-seq': e.seq,
        'data-action': e.action,
        'data-actor-type': e.actor.type,
        'data-outcome': e.outcome,
      })}
      columns={[
        { id: 'actor', header: 'Actor', cell: (e) => <ActorCell actor={e.actor} names={names} onFilter={(actor) => props.onFilter({ ...filters, actor })} /> },
        {
          id: 'action',
          header: 'Action',
          class: 'wrap',
          cell: (e) => (
            <>
              <code>{e.action}</code>
              {e.actor.type === 'staff' && <StaffGrounds details={e.details} />}
            </>
          ),
        },
        {
          id: 'target',
          header: 'Target',
          class: 'wrap',
          cell: (e) => (e.target ? <span title={e.target.id}>{`${e.target.type} ${e.target.id.length > 12 ? short(e.target.id) : e.target.id}`}</span> : '—'),
        },
        { id: 'outcome', header: 'Outcome', cell: (e) => <span class={outcomeClass(e.outcome)}>{e.outcome}</span> },
        { id: 'from', header: 'From', class: 'nowrap', cell: (e) => e.ip ?? '—' },
      ]}
      older="Load older events"
    />
  );
}

function ExportPanel({ workspace, filters }: { workspace: Workspace; filters: LogFilters }) {
  const exportFilter = { from: filters.from || undefined, to: filters.to || undefined, actor: filters.actor || undefined };
  const ignored = [filters.actorType && 'kind of actor', filters.action && 'action'].filter(Boolean);
  return (
    <Panel title="Export" titleId="audit-export-title" testId="audit-export-panel">
      <p class="hint">
        Downloads the events {filters.from || filters.to || filters.actor ? 'matching the time range and actor above' : 'of the whole log'}, oldest first
        {ignored.length > 0 ? ` (the ${ignored.join(' and ')} filter does not apply to exports)` : ''}.
      </p>
      <div class="actions">
        <a class="button secondary" href={api.auditExportUrl(workspace.id, 'jsonl', exportFilter)} download data-testid="export-jsonl">
          Export JSON Lines
        </a>
        <a class="button secondary" href={api.auditExportUrl(workspace.id, 'csv', exportFilter)} download data-testid="export-csv">
          Export CSV
        </a>
      </div>
      <p class="hint">
        Verify a JSON Lines export offline with only the{' '}
        <a href={api.auditPublicKeysUrl} target="_blank" rel="noopener" data-testid="public-keys-link">
          published public keys
        </a>
        : <code>rampart audit verify --file audit-{workspace.id}.jsonl --public-key public-keys.json</code>.
        {filters.actor ? ' An export filtered by actor is not a continuous chain, so it cannot be verified on its own.' : ''}
      </p>
    </Panel>
  );
}

function IntegrityPanel({ workspace }: { workspace: Workspace }) {
  const [report, setReport] = useState<AuditVerifyReport | null>(null);
  const [checkpoint, setCheckpoint] = useState<AuditCheckpoint | null | undefined>(undefined);
  const { busy, error, run } = useAction();

  useEffect(() => {
    let live = true;
    api
      .auditCheckpoints(workspace.id)
      .then(({ data }) => {
        if (live) setCheckpoint(data[0] ?? null);
      })
      .catch(() => {
        if (live) setCheckpoint(null);
      });
    return () => {
      live = false;
    };
  }, [workspace.id]);

  const verify = () =>
    run(async () => {
      setReport(null);
      setReport(await api.verifyAudit(workspace.id));
    });

  return (
    <Panel title="Integrity" titleId="audit-integrity-title" testId="audit-integrity-panel">
      <p class="hint">
        Each event holds the hash of the one before it, and Rampart signs the chain&rsquo;s head at intervals (Ed25519). Verifying recomputes
        every hash and checks every signature.
      </p>
      {checkpoint && (
        <p data-testid="latest-checkpoint">
          Latest signed checkpoint: event {checkpoint.seq}, signed <ShortTime iso={checkpoint.signedAt} /> with key <code>{checkpoint.keyId}</code>.
        </p>
      )}
      {checkpoint === null && <p class="muted">No signed checkpoint yet.</p>}
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void verify()} data-testid="verify-audit">
          {busy ? 'Verifying…' : 'Verify integrity'}
        </button>
      </div>
      <ErrorMessage error={error} testId="verify-error" />
      {report && <VerifyResult report={report} />}
    </Panel>
  );
}

function VerifyResult({ report }: { report: AuditVerifyReport }) {
  if (report.ok) {
    return (
      <div class="verify-result ok" role="status" data-testid="verify-result" data-ok="true">
        <p>
          <strong>The chain is intact.</strong>{' '}
          {report.count === 0
            ? 'There are no events yet.'
            : `Events ${report.from ?? '?'}–${report.through ?? '?'} (${report.count}) verified; ${report.checkpointsVerified} signed checkpoint${report.checkpointsVerified === 1 ? '' : 's'} verified${report.signedThrough > 0 ? `, signed through event ${report.signedThrough}` : ''}.`}
        </p>
        <p class="muted">
          Head hash <code class="hash">{report.head}</code>
        </p>
      </div>
    );
  }
  return (
    <div class="verify-result bad" role="alert" data-testid="verify-result" data-ok="false">
      <p>
        <strong>Verification failed</strong>
        {report.firstBad ? (
          <>
            {' '}
            at event <span data-testid="verify-first-bad">{report.firstBad.seq}</span>: {report.firstBad.message}
          </>
        ) : (
          '.'
        )}
      </p>
    </div>
  );
}

export function AuditLogSection({ workspace }: { workspace: Workspace }) {
  const { search } = useLocation();
  const filters = filtersFrom(search);
  const key = filtersQuery(filters);
  const names = useMemberNames(workspace, actorName);
  const [actions, setActions] = useState<string[]>([]);
  const base = sectionPath(workspace.id, 'audit');
  const apply = useCallback((f: LogFilters) => navigate(withQuery(base, filtersQuery(f))), [base]);
  const mergeActions = useCallback((seen: string[]) => setActions((previous) => [...new Set([...previous, ...seen])].sort()), []);

  return (
    <div class="audit-page" data-testid="audit-log">
      <Panel title="Audit log" titleId="audit-log-title" testId="audit-filters-panel">
        <p class="hint">
          Every change, sign-in, refusal and staff access in this workspace, in a tamper-evident chain. Staff access alone:{' '}
          <Link href={sectionPath(workspace.id, 'access-log')}>access log</Link>.
        </p>
        <FilterForm key={key} filters={filters} full label="Filter the audit log" onApply={apply} actions={actions} />
      </Panel>
      <AuditEvents key={key} workspace={workspace} filters={filters} names={names} onFilter={apply} onActions={mergeActions} />
      <ExportPanel workspace={workspace} filters={filters} />
      <IntegrityPanel workspace={workspace} />
    </div>
  );
}

// --- the access log ----------------------------------------------------------------------------

/** What a staff event did, in words. */
function describeStaffEvent(e: AuditEvent): string {
  const d = e.details;
  const collection = str(d['collection']) ?? (e.target?.type === 'collection' && e.target.id !== '*' ? e.target.id : null);
  const count = typeof d['count'] === 'number' ? d['count'] : null;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  switch (e.action) {
    case 'staff.access.requested':
      return `Asked for ${scopeLabel(d['scope']).toLowerCase()} access${typeof d['durationMinutes'] === 'number' ? ` for ${d['durationMinutes']} minutes` : ''}`;
    case 'staff.access.cancelled':
      return 'Withdrew an access request';
    case 'staff.break_glass.opened':
      return `Opened break-glass access (${scopeLabel(d['scope']).toLowerCase()}) without approval`;
    case 'staff.records.read':
    case 'staff.documents.read':
      switch (d['operation']) {
        case 'list_collections':
          return `Listed the collections${count !== null ? ` (${count})` : ''}`;
        case 'list_records':
          return `Read ${count !== null ? plural(count, 'record') : 'records'} of collection ${collection ?? '?'}`;
        case 'get_record':
          return `Read record ${e.target?.id ?? '?'}${collection ? ` of collection ${collection}` : ''}`;
        case 'list_documents':
          return `Listed ${count !== null ? plural(count, 'document') : 'documents'}`;
        case 'get_document':
          return `Read document ${e.target?.id ?? '?'}`;
        case 'download_document':
          return `Downloaded document ${e.target?.id ?? '?'}`;
        default:
          return e.action;
      }
    default:
      return e.action;
  }
}

export function AccessLogSection({ workspace }: { workspace: Workspace }) {
  const { search } = useLocation();
  const filters = { ...filtersFrom(search), actor: '', actorType: '' as const, action: '' };
  const key = filtersQuery(filters);
  const base = sectionPath(workspace.id, 'access-log');
  const apply = useCallback((f: LogFilters) => navigate(withQuery(base, filtersQuery({ ...NO_FILTERS, from: f.from, to: f.to }))), [base]);
  const names = useMemo(() => new Map<string, string>(), []);

  return (
    <div class="audit-page" data-testid="access-log">
      <Panel title="Access log" titleId="access-log-title" testId="access-log-filters-panel">
        <p class="hint">
          Every read or change of this workspace&rsquo;s data by the operator&rsquo;s staff: who, in which role, when, under which request
          and why. Staff reach this workspace&rsquo;s data only through a request{' '}
          {can(workspace, 'staff-access:approve') ? (
            <Link href={sectionPath(workspace.id, 'access-requests')}>approved here</Link>
          ) : (
            'approved here'
          )}
          , or through break-glass access, which is flagged in red.
        </p>
        <FilterForm key={key} filters={filters} full={false} label="Filter the access log" onApply={apply} />
      </Panel>
      <AccessLogEntries key={key} workspace={workspace} filters={filters} names={names} />
    </div>
  );
}

function AccessLogEntries({ workspace, filters, names }: { workspace: Workspace; filters: LogFilters; names: ReadonlyMap<string, string> }) {
  const log = usePagedLog((before) =>
    api.accessLog(workspace.id, { from: filters.from || undefined, to: filters.to || undefined }, before, PAGE),
  );
  const approver = can(workspace, 'staff-access:approve');
  return (
    <LogPanel
      title="Staff access"
      titleId="access-log-entries-title"
      testId="access-log-panel"
      name="access-log"
      filters={filters}
      names={names}
      log={log}
      empty={<>No staff access {filters.from || filters.to ? 'in this time range' : 'yet'}.</>}
      rowAttributes={(e) => {
        const breakGlass = e.details['breakGlass'] === true;
        return {
          class: breakGlass ? 'staff-row break-glass-row' : 'staff-row',
          'data-testid': 'access-log-entry',
          'data-action': e.action,
          'data-seq': e.seq,
          'data-break-glass': breakGlass ? 'true' : 'false',
        };
      }}
      columns={[
        { id: 'staff', header: 'Staff member', cell: (e) => <ActorCell actor={e.actor} names={names} /> },
        { id: 'what', header: 'What', class: 'wrap', cell: (e) => <span data-testid="access-what">{describeStaffEvent(e)}</span> },
        { id: 'why', header: 'Why', class: 'wrap', cell: (e) => <StaffGrounds details={e.details} /> },
        {
          id: 'request',
          header: 'Request',
          cell: (e) => {
            const requestId = str(e.details['accessRequestId']);
            if (!requestId) return '—';
            return approver ? (
              <Link href={sectionPath(workspace.id, 'access-requests')} title={requestId} data-testid="access-request-link">
                {short(requestId)}
              </Link>
            ) : (
              <code title={requestId}>{short(requestId)}</code>
            );
          },
        },
        { id: 'outcome', header: 'Outcome', cell: (e) => <span class={outcomeClass(e.outcome)}>{e.outcome}</span> },
        { id: 'from', header: 'From', class: 'nowrap', cell: (e) => e.ip ?? '—' },
      ]}
      older="Load older entries"
    >
      <p class="hint">
        The access log is part of the audit log{' '}
        <Link href={`${sectionPath(workspace.id, 'audit')}?actorType=staff`}>(staff events there)</Link>, and is exported and verified with it.
      </p>
    </LogPanel>
  );
}

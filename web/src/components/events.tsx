/**
 * A panel of recent events — the account's security events, or a workspace's events — loaded
 * from the API, with a refresh button: when, the columns the caller describes, outcome, address.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useAction } from '../hooks';
import { ErrorMessage, formatDate, Panel } from './ui';

interface EventLike {
  readonly id: string;
  readonly action: string;
  readonly outcome: string;
  readonly ip: string | null;
  readonly createdAt: string;
}

export interface EventColumn<E> {
  readonly header: string;
  readonly cell: (event: E) => ComponentChildren;
}

export function EventsPanel<E extends EventLike>(props: {
  title: string;
  titleId: string;
  testId: string;
  /** The data-testid of each row. */
  rowTestId: string;
  load: () => Promise<E[]>;
  columns: readonly EventColumn<E>[];
  /** Wrap the table in a scrollable, focusable region (for wide tables). */
  scrollable?: boolean;
}) {
  const [events, setEvents] = useState<E[] | null>(null);
  const { busy, error, run } = useAction();
  const { load: fetchEvents } = props;
  const load = useCallback(() => run(async () => setEvents(await fetchEvents())), [fetchEvents]);
  useEffect(() => {
    void load();
  }, [load]);

  const table = events !== null && events.length > 0 && (
    <table class="events">
      <thead>
        <tr>
          <th scope="col">When</th>
          {props.columns.map((c) => (
            <th scope="col" key={c.header}>
              {c.header}
            </th>
          ))}
          <th scope="col">Outcome</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id} data-testid={props.rowTestId} data-action={e.action} data-outcome={e.outcome}>
            <td>{formatDate(e.createdAt)}</td>
            {props.columns.map((c) => (
              <td key={c.header}>{c.cell(e)}</td>
            ))}
            <td>
              <span class={e.outcome === 'success' ? 'badge ok' : 'badge warn'}>{e.outcome}</span>
            </td>
            <td>{e.ip ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );

  return (
    <Panel title={props.title} titleId={props.titleId} testId={props.testId}>
      <ErrorMessage error={error} />
      {events === null && !error && <p role="status">Loading…</p>}
      {events !== null && events.length === 0 && <p class="empty">No events yet.</p>}
      {table &&
        (props.scrollable ? (
          <div class="matrix" role="region" aria-labelledby={props.titleId} tabIndex={0}>
            {table}
          </div>
        ) : (
          table
        ))}
      <div class="actions">
        <button type="button" class="secondary" disabled={busy} onClick={() => void load()}>
          Refresh
        </button>
      </div>
    </Panel>
  );
}

/**
 * A panel of recent events — the account's security events, or a workspace's events — loaded
 * from the API, with a refresh button: when, the columns the caller describes, outcome, address.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useAction } from '../hooks';
import { ErrorMessage, Panel, Table, type Column } from './ui';
import { Time } from './time';

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
}) {
  const [events, setEvents] = useState<E[] | null>(null);
  const { busy, error, run } = useAction();
  const { load: fetchEvents } = props;
  const load = useCallback(() => run(async () => setEvents(await fetchEvents())), [fetchEvents]);
  useEffect(() => {
    void load();
  }, [load]);

  const columns: Column<E>[] = [
    { id: 'when', header: 'When', class: 'nowrap', cell: (e) => <Time iso={e.createdAt} /> },
    ...props.columns.map((c) => ({ id: c.header, header: c.header, cell: c.cell })),
    { id: 'outcome', header: 'Outcome', cell: (e) => <span class={e.outcome === 'success' ? 'badge ok' : 'badge warn'}>{e.outcome}</span> },
    { id: 'from', header: 'From', class: 'nowrap', cell: (e) => e.ip ?? '—' },
  ];

  return (
    <Panel title={props.title} titleId={props.titleId} testId={props.testId}>
      <ErrorMessage error={error} />
      {events === null && !error && <p role="status">Loading…</p>}
      {events !== null && events.length === 0 && <p class="empty">No events yet.</p>}
      {events !== null && events.length > 0 && (
        <Table<E>
          label={props.title}
          rows={events}
          rowKey={(e) => e.id}
          rowAttributes={(e) => ({ 'data-testid': props.rowTestId, 'data-action': e.action, 'data-outcome': e.outcome })}
          columns={columns}
        />
      )}
      <div class="actions">
        <button type="button" class="secondary" disabled={busy} onClick={() => void load()}>
          Refresh
        </button>
      </div>
    </Panel>
  );
}

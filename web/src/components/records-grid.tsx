/**
 * A collection's records as a grid: a column per chosen top-level field (the choice remembered in
 * this browser, per collection), the id and the created and updated times; keyset pages forward
 * and back; the filters the API can apply; and a drawer per record to read, edit or delete it, or
 * to create one. The grid scrolls inside its own region, so a phone's page never scrolls sideways.
 */
import { useState } from 'preact/hooks';
import { api, type JsonValue, type RecordItem } from '../api';
import { Link } from '../router';
import { ConfirmButton, EmptyState, ErrorMessage, SelectField, Status, Table, Time, type Column } from './ui';
import {
  columnOptions,
  DEFAULT_PAGE_SIZE,
  loadChoice,
  PAGE_SIZES,
  saveChoice,
  shownFields,
  toggleField,
  useRecordPages,
  type GridChoice,
  type PageSize,
  type RecordFilter,
} from './records-data';
import { RecordDrawer, type DrawerTarget } from './records-drawer';
import { ActiveFilters, FilterForm } from './records-filters';

import './records-grid.css';

export interface RecordsBrowserProps {
  readonly workspaceId: string;
  readonly collection: string;
  /** May create, edit and delete records (`records:write`). */
  readonly canWrite: boolean;
  /** May delete the whole collection (`collections:manage`). */
  readonly canDeleteCollection: boolean;
  readonly onCollectionDeleted: () => void;
  /** Where "back to the collections" goes when the collection is gone. */
  readonly collectionsHref: string;
}

/** How a value looks in a cell: short, one line, its kind plain to see. */
export function CellValue({ value }: { value: JsonValue | undefined }) {
  if (value === undefined) {
    return (
      <span class="muted" title="Not set in this record">
        —
      </span>
    );
  }
  if (value === null) return <span class="muted cell-null">null</span>;
  if (typeof value === 'string') {
    return (
      <span class="cell-text" title={value.length > 30 ? value.slice(0, 500) : undefined}>
        {value}
      </span>
    );
  }
  if (typeof value === 'number') return <span class="cell-number">{String(value)}</span>;
  if (typeof value === 'boolean') return <code class="cell-bool">{String(value)}</code>;
  if (Array.isArray(value)) return <span class="muted">[{value.length === 1 ? '1 item' : `${value.length} items`}]</span>;
  const size = Object.keys(value).length;
  return (
    <span class="muted">
      {'{'}
      {size === 1 ? '1 field' : `${size} fields`}
      {'}'}
    </span>
  );
}

/** The column picker: a checkbox per field, the two times, and a way back to the default. */
function ColumnPicker(props: { options: readonly string[]; choice: GridChoice; onChange: (choice: GridChoice | null) => void }) {
  const { options, choice } = props;
  const shown = new Set(choice.fields);
  const count = choice.fields.length + (choice.created ? 1 : 0) + (choice.updated ? 1 : 0);
  return (
    <details class="grid-tool" data-testid="column-picker">
      <summary>Columns ({count} shown)</summary>
      <fieldset class="column-choices">
        <legend>Show these columns (the id is always shown)</legend>
        {options.length === 0 && <p class="hint">Fields appear here once records are loaded.</p>}
        <ul>
          {options.map((field) => (
            <li key={field}>
              <label class="checkbox">
                <input
                  type="checkbox"
                  name="column"
                  value={field}
                  checked={shown.has(field)}
                  onChange={(e) => props.onChange(toggleField(choice, options, field, e.currentTarget.checked))}
                />
                <span class="column-name">{field}</span>
              </label>
            </li>
          ))}
          <li>
            <label class="checkbox">
              <input type="checkbox" name="column" checked={choice.created} onChange={(e) => props.onChange({ ...choice, created: e.currentTarget.checked })} />
              Created
            </label>
          </li>
          <li>
            <label class="checkbox">
              <input type="checkbox" name="column" checked={choice.updated} onChange={(e) => props.onChange({ ...choice, updated: e.currentTarget.checked })} />
              Updated
            </label>
          </li>
        </ul>
        <button type="button" class="link-button" onClick={() => props.onChange(null)}>
          Back to the default columns
        </button>
      </fieldset>
    </details>
  );
}

/** The last characters of an id: a UUIDv7's first ones are its time, the same for records made together. */
const shortId = (id: string) => `…${id.slice(-8)}`;

export function RecordsBrowser(props: RecordsBrowserProps) {
  const { workspaceId, collection, canWrite } = props;
  const [stored, setStored] = useState<GridChoice | null>(() => loadChoice(workspaceId, collection));
  const [filters, setFilters] = useState<RecordFilter[]>([]);
  const [target, setTarget] = useState<DrawerTarget | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const pageSize: PageSize = stored?.pageSize ?? DEFAULT_PAGE_SIZE;
  const pages = useRecordPages(workspaceId, collection, filters, pageSize);
  const { rows, fields } = pages;

  const fieldColumns = shownFields(stored, fields);
  const choice: GridChoice = stored ?? { fields: fieldColumns, created: true, updated: true, pageSize };
  const choose = (next: GridChoice | null) => {
    // Back to the default forgets the choice, but keeps the page size.
    const kept = next ?? (pageSize === DEFAULT_PAGE_SIZE ? null : { fields: shownFields(null, fields), created: true, updated: true, pageSize });
    setStored(kept);
    saveChoice(workspaceId, collection, kept);
  };

  const open = (record: RecordItem) => {
    setStatus(null);
    setTarget({ kind: 'record', record });
  };

  const columns: Column<RecordItem>[] = [
    {
      id: 'id',
      header: 'Id',
      class: 'nowrap',
      cell: (r) => (
        <button type="button" class="link-button record-open" data-testid="open-record" title={r.id} onClick={() => open(r)}>
          <span class="visually-hidden">Open record </span>
          <code>{shortId(r.id)}</code>
        </button>
      ),
    },
    ...fieldColumns.map(
      (field): Column<RecordItem> => ({
        id: `field:${field}`,
        header: field,
        cell: (r) => <CellValue value={r.data[field]} />,
      }),
    ),
    ...(choice.created ? [{ id: 'created', header: 'Created', class: 'nowrap', cell: (r: RecordItem) => <Time iso={r.createdAt} /> }] : []),
    ...(choice.updated ? [{ id: 'updated', header: 'Updated', class: 'nowrap', cell: (r: RecordItem) => <Time iso={r.updatedAt} /> }] : []),
  ];

  const gone = pages.errorCode === 'collection_not_found';
  const filtered = filters.length > 0;

  return (
    <div class="records-browser" data-testid="records-grid">
      <div class="grid-toolbar">
        <details class="grid-tool" data-testid="filter-tool" open={filtered || undefined}>
          <summary>Filter{filtered ? ` (${filters.length})` : ''}</summary>
          <FilterForm fields={fields} filters={filters} onChange={setFilters} />
        </details>
        <ColumnPicker options={columnOptions(stored, fields)} choice={choice} onChange={choose} />
        <div class="grid-page-size">
          <SelectField
            label="Rows per page"
            name="page-size"
            value={String(pageSize)}
            options={PAGE_SIZES.map((s) => ({ value: String(s), label: String(s) }))}
            onChange={(value) => {
              const size = PAGE_SIZES.find((s) => String(s) === value) ?? DEFAULT_PAGE_SIZE;
              choose({ ...choice, pageSize: size });
            }}
            testId="page-size"
          />
        </div>
        <div class="grid-actions actions">
          {canWrite && !gone && (
            <button
              type="button"
              data-testid="new-record"
              onClick={() => {
                setStatus(null);
                setTarget({ kind: 'new' });
              }}
            >
              New record
            </button>
          )}
          {props.canDeleteCollection && !gone && (
            <ConfirmButton
              label="Delete collection"
              confirmLabel={`Delete ${collection} and all its records`}
              testId="delete-collection"
              onConfirm={async () => {
                await api.deleteCollection(workspaceId, collection);
                props.onCollectionDeleted();
              }}
            />
          )}
        </div>
      </div>
      <ActiveFilters filters={filters} onChange={setFilters} />
      <Status message={status} />

      {gone ? (
        <EmptyState title={`There is no collection named ${collection}`} testId="collection-gone" action={<Link href={props.collectionsHref}>Back to the collections</Link>}>
          It may have been deleted, with its records.
        </EmptyState>
      ) : rows === null ? (
        pages.error ? (
          <div class="stack">
            <ErrorMessage error={pages.error} testId="records-error" />
            <div class="actions">
              <button type="button" class="secondary" onClick={pages.reload}>
                Try again
              </button>
            </div>
          </div>
        ) : (
          <p role="status" class="loading" data-testid="records-loading">
            Loading records…
          </p>
        )
      ) : (
        <>
          <ErrorMessage error={pages.error} testId="records-error" />
          <div class="grid-region" aria-busy={pages.loading ? 'true' : undefined}>
            <Table
              label={`Table of records in ${collection}`}
              layout="scroll"
              class="records-table"
              columns={columns}
              rows={rows}
              rowKey={(r) => r.id}
              rowAttributes={(r) => ({ 'data-testid': 'record-row', 'data-record-id': r.id, class: target?.kind === 'record' && target.record.id === r.id ? 'selected' : undefined })}
              testId="records-table"
              empty={
                filtered ? (
                  <EmptyState
                    title="No records match these filters"
                    testId="records-empty"
                    action={
                      <button type="button" class="secondary" onClick={() => setFilters([])}>
                        Clear filters
                      </button>
                    }
                  >
                    A filter matches a value exactly: "Open" is not "open", and the text "2" is not the number 2.
                  </EmptyState>
                ) : (
                  <EmptyState title={`No records in ${collection} yet`} testId="records-empty">
                    {canWrite ? 'Create the first with "New record", or through the API.' : 'Records created through the API or by members who may write appear here.'}
                  </EmptyState>
                )
              }
            />
          </div>
          {(pages.hasPrevious || pages.hasNext || rows.length > 0) && (
            <nav class="pager" aria-label="Pages of records">
              <button type="button" class="secondary" disabled={!pages.hasPrevious || pages.loading} onClick={pages.previous} data-testid="previous-page">
                Previous
              </button>
              <span class="muted" data-testid="page-label" aria-live="polite">
                Page {pages.pageIndex + 1}
                {rows.length > 0 ? ` · ${rows.length === 1 ? '1 record' : `${rows.length} records`}` : ''}
                {pages.loading ? ' · loading…' : ''}
              </span>
              <button type="button" class="secondary" disabled={!pages.hasNext || pages.loading} onClick={pages.next} data-testid="next-page">
                Next
              </button>
            </nav>
          )}
        </>
      )}

      <RecordDrawer
        workspaceId={workspaceId}
        collection={collection}
        target={target}
        canWrite={canWrite}
        onClose={() => setTarget(null)}
        onSaved={(record, created) => {
          setTarget({ kind: 'record', record });
          setStatus(created ? `Record ${record.id} created.` : `Record ${record.id} is at version ${record.version}.`);
          if (!created) pages.replace(record);
          pages.reload();
        }}
        onDeleted={(id) => {
          setTarget(null);
          setStatus(`Record ${id} deleted.`);
          pages.remove(id);
          pages.reload();
        }}
      />
    </div>
  );
}

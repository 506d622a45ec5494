/**
 * The records of one collection: a paged list (oldest first, "load more") and, for those who
 * may write, a JSON form to create one, and per record an editor that saves only over the
 * version it was read at (If-Match), and a delete.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type JsonObject, type RecordItem } from '../api';
import { useAction, usePagedList } from '../hooks';
import { ConfirmButton, ErrorMessage, formatDate, Panel, Status } from './ui';

/** Parses a record's JSON text: it must be a JSON object. Returns the object or a message. */
export function parseRecordJson(text: string): { ok: true; data: JsonObject } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `Invalid JSON: ${err instanceof Error ? err.message : 'cannot be parsed'}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'A record must be a JSON object, such as {"title": "Hello"}.' };
  }
  return { ok: true, data: value as JsonObject };
}

const pretty = (data: JsonObject) => JSON.stringify(data, null, 2);

function saveErrorMessage(err: unknown): string {
  if (err instanceof ApiError && err.code === 'precondition_failed') {
    return `${err.message} Someone else changed this record; cancel and reload to edit the latest version.`;
  }
  return errorMessage(err);
}

function RecordRow(props: {
  workspaceId: string;
  collection: string;
  record: RecordItem;
  canWrite: boolean;
  onChanged: (record: RecordItem) => void;
  onDeleted: (id: string) => void;
}) {
  const { workspaceId, collection, record } = props;
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const { busy, error, setError, run } = useAction({ describeError: saveErrorMessage });

  const startEditing = () => {
    setText(pretty(record.data));
    setError(null);
    setEditing(true);
  };

  const save = async () => {
    const parsed = parseRecordJson(text);
    if (!parsed.ok) {
      setError(parsed.error);
      return;
    }
    await run(async () => {
      const updated = await api.replaceRecord(workspaceId, collection, record.id, parsed.data, record.version);
      props.onChanged(updated);
      setEditing(false);
    });
  };

  const editorId = `record-editor-${record.id}`;
  return (
    <li class="record" data-testid="record" data-record-id={record.id}>
      <div class="record-meta">
        <code class="record-id" title={record.id}>
          {record.id}
        </code>
        <span class="badge" data-testid="record-version">
          v{record.version}
        </span>
        <span class="muted">updated {formatDate(record.updatedAt)}</span>
      </div>
      {editing ? (
        <form
          class="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <label for={editorId}>Record JSON</label>
          <textarea
            id={editorId}
            class="json"
            rows={Math.min(16, Math.max(4, text.split('\n').length + 1))}
            spellcheck={false}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <p class="hint">Saves over version {record.version} only; if it changed meanwhile, nothing is overwritten.</p>
          <ErrorMessage error={error} />
          <div class="actions">
            <button type="submit" disabled={busy}>
              Save
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <pre class="json" data-testid="record-data">
            {pretty(record.data)}
          </pre>
          {props.canWrite && (
            <div class="actions">
              <button type="button" class="secondary" onClick={startEditing}>
                Edit
              </button>
              <ConfirmButton
                label="Delete"
                confirmLabel="Confirm delete"
                testId="delete-record"
                onConfirm={async () => {
                  await api.deleteRecord(workspaceId, collection, record.id);
                  props.onDeleted(record.id);
                }}
              />
            </div>
          )}
        </>
      )}
    </li>
  );
}

function NewRecordForm(props: { workspaceId: string; collection: string; onCreated: (record: RecordItem) => void }) {
  const [text, setText] = useState('');
  const { busy, error, setError, run } = useAction();

  const create = async () => {
    const parsed = parseRecordJson(text);
    if (!parsed.ok) {
      setError(parsed.error);
      return;
    }
    await run(async () => {
      const created = await api.createRecord(props.workspaceId, props.collection, parsed.data);
      setText('');
      props.onCreated(created);
    });
  };

  return (
    <form
      class="stack new-record"
      onSubmit={(event) => {
        event.preventDefault();
        void create();
      }}
    >
      <label for="new-record-json">New record (JSON)</label>
      <textarea
        id="new-record-json"
        class="json"
        rows={5}
        spellcheck={false}
        placeholder={'{\n  "title": "Printer on fire",\n  "status": "open"\n}'}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <ErrorMessage error={error} testId="new-record-error" />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create record
        </button>
      </div>
    </form>
  );
}

export function RecordsPanel(props: {
  workspaceId: string;
  collection: string;
  /** Whether the caller may create, edit and delete records (`records:write`). */
  canWrite: boolean;
  /** Whether the caller may delete the whole collection (`collections:manage`). */
  canDeleteCollection: boolean;
  onCollectionDeleted: () => void;
}) {
  const { workspaceId, collection } = props;
  // The panel is keyed by workspace and collection, so the first page loads once per collection.
  const {
    items: records,
    setItems: setRecords,
    nextCursor,
    loading,
    error,
    load,
  } = usePagedList((cursor) => api.records(workspaceId, collection, cursor));
  const [status, setStatus] = useState<string | null>(null);

  const titleId = 'records-title';
  return (
    <Panel title={`Records in ${collection}`} titleId={titleId} testId="records-panel">
      {props.canDeleteCollection && (
        <div class="panel-tools">
          <ConfirmButton
            label="Delete collection"
            confirmLabel={`Delete ${collection} and all its records`}
            testId="delete-collection"
            onConfirm={async () => {
              await api.deleteCollection(workspaceId, collection);
              props.onCollectionDeleted();
            }}
          />
        </div>
      )}
      {props.canWrite && (
        <NewRecordForm
          workspaceId={workspaceId}
          collection={collection}
          onCreated={(created) => {
            setStatus(`Record ${created.id} created.`);
            // Records list oldest first: a new one belongs at the end, once every page is loaded.
            if (nextCursor === null) setRecords((previous) => [...(previous ?? []), created]);
          }}
        />
      )}
      <Status message={status} />
      <ErrorMessage error={error} testId="records-error" />
      {records === null && loading && <p role="status">Loading…</p>}
      {records !== null && records.length === 0 && <p class="empty" data-testid="records-empty">No records yet.</p>}
      {records !== null && records.length > 0 && (
        <ul class="records" data-testid="records" aria-labelledby={titleId}>
          {records.map((record) => (
            <RecordRow
              key={record.id}
              workspaceId={workspaceId}
              collection={collection}
              record={record}
              canWrite={props.canWrite}
              onChanged={(updated) => {
                setRecords((previous) => (previous ?? []).map((r) => (r.id === updated.id ? updated : r)));
                setStatus(`Record ${updated.id} saved as version ${updated.version}.`);
              }}
              onDeleted={(id) => {
                setRecords((previous) => (previous ?? []).filter((r) => r.id !== id));
                setStatus(`Record ${id} deleted.`);
              }}
            />
          ))}
        </ul>
      )}
      {nextCursor !== null && (
        <button type="button" class="secondary" disabled={loading} onClick={() => void load(nextCursor)}>
          {loading ? 'Loading…' : 'Load more records'}
        </button>
      )}
    </Panel>
  );
}

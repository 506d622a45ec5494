/**
 * One record in a drawer beside the grid: its id, version and times, and its JSON in an editor
 * that checks the text as it is typed (the first problem, with its line and column, and a button
 * that puts the cursor there), formats it, and saves it through the update route over the version
 * it was read at (If-Match), so a change made meanwhile is never overwritten. The same editor
 * creates a record. Deleting asks first, and also applies only to the version shown.
 */
import { useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type RecordItem } from '../api';
import { useAction } from '../hooks';
import { Badge, ConfirmButton, Drawer, ErrorMessage, Status, Time } from './ui';
import { describeProblem, parseRecordJson, prettyJson } from './records-json';

export type DrawerTarget = { readonly kind: 'record'; readonly record: RecordItem } | { readonly kind: 'new' };

const NEW_RECORD_TEXT = '{\n  \n}';

/** A refusal of a save or a delete, said plainly; `conflict` when the record moved on meanwhile. */
export function describeRefusal(err: unknown, version: number | null, action: 'save' | 'delete'): { message: string; conflict: boolean } {
  if (err instanceof ApiError) {
    if (err.code === 'precondition_failed') {
      const what = action === 'save' ? 'nothing was overwritten' : 'it was not deleted';
      const then = action === 'save' ? 'see their change (your edits here are then replaced; copy them first if you need them)' : 'see it before deleting it';
      return { message: `${err.message} Someone saved this record after you opened it at version ${version ?? '?'}, so ${what}. Load the latest version to ${then}.`, conflict: true };
    }
    if (err.code === 'record_not_found') return { message: `${err.message} It was deleted after you opened it.`, conflict: false };
    if (err.code === 'collection_not_found') return { message: `${err.message} It was deleted, with its records.`, conflict: false };
    if (err.code === 'validation_failed') return { message: `The server refused this record: ${err.message}`, conflict: false };
  }
  return { message: errorMessage(err), conflict: false };
}

function RecordFacts({ record }: { record: RecordItem }) {
  return (
    <dl class="facts record-facts">
      <dt>Id</dt>
      <dd>
        <code data-testid="drawer-record-id">{record.id}</code>
      </dd>
      <dt>Version</dt>
      <dd>
        <Badge testId="record-version">v{record.version}</Badge>
      </dd>
      <dt>Created</dt>
      <dd>
        <Time iso={record.createdAt} />
      </dd>
      <dt>Updated</dt>
      <dd>
        <Time iso={record.updatedAt} />
      </dd>
    </dl>
  );
}

function RecordEditor(props: {
  workspaceId: string;
  collection: string;
  initial: RecordItem | null;
  canWrite: boolean;
  onSaved: (record: RecordItem, created: boolean) => void;
  onDeleted: (id: string) => void;
}) {
  const { workspaceId, collection } = props;
  const [record, setRecord] = useState<RecordItem | null>(props.initial);
  const [text, setText] = useState(() => (props.initial ? prettyJson(props.initial.data) : NEW_RECORD_TEXT));
  const [status, setStatus] = useState<string | null>(null);
  const [conflict, setConflict] = useState(false);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const saving = useAction();
  const reloading = useAction();

  const checked = useMemo(() => parseRecordJson(text), [text]);
  const original = record ? prettyJson(record.data) : null;
  const changed = original === null || text !== original;
  const editorId = 'record-json';
  const problemId = 'record-json-problem';

  const save = () =>
    saving.run(async () => {
      if (!checked.ok) return;
      setStatus(null);
      setConflict(false);
      try {
        const saved = record
          ? await api.replaceRecord(workspaceId, collection, record.id, checked.data, record.version)
          : await api.createRecord(workspaceId, collection, checked.data);
        setRecord(saved);
        setText(prettyJson(saved.data));
        setStatus(record ? `Saved as version ${saved.version}.` : 'Record created.');
        props.onSaved(saved, record === null);
      } catch (err) {
        const refusal = describeRefusal(err, record?.version ?? null, 'save');
        setConflict(refusal.conflict);
        throw new Error(refusal.message, { cause: err });
      }
    });

  const loadLatest = () =>
    reloading.run(async () => {
      if (!record) return;
      const latest = await api.record(workspaceId, collection, record.id);
      setRecord(latest);
      setText(prettyJson(latest.data));
      setConflict(false);
      saving.setError(null);
      setStatus(`Showing version ${latest.version}, the latest.`);
      props.onSaved(latest, false);
    });

  const goToProblem = () => {
    const area = textarea.current;
    if (!area || checked.ok || !checked.problem) return;
    area.focus();
    const at = checked.problem.offset;
    area.setSelectionRange(at, Math.min(at + 1, text.length));
  };

  if (!props.canWrite) {
    return (
      <>
        {record && <RecordFacts record={record} />}
        <h3 class="record-json-title">Record JSON</h3>
        <pre class="json" data-testid="record-json-view">
          {text}
        </pre>
        <p class="hint">Your roles in this workspace let you read records, not change them.</p>
      </>
    );
  }

  return (
    <>
      {record && <RecordFacts record={record} />}
      <form
        class="stack record-editor"
        aria-label={record ? 'Edit the record' : 'New record'}
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label for={editorId}>Record JSON</label>
        <textarea
          id={editorId}
          ref={textarea}
          class="json"
          rows={Math.min(24, Math.max(8, text.split('\n').length + 1))}
          spellcheck={false}
          autocomplete="off"
          autocapitalize="off"
          aria-invalid={checked.ok ? undefined : 'true'}
          aria-describedby={`${problemId} record-json-hint`}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <div id={problemId} aria-live="polite" class="json-check">
          {!checked.ok && (
            <p class="error" data-testid="json-error">
              {checked.problem ? `Invalid JSON. ${describeProblem(checked.problem)}` : checked.error}{' '}
              {checked.problem && (
                <button type="button" class="link-button" onClick={goToProblem}>
                  Go to line {checked.problem.line}, column {checked.problem.column}
                </button>
              )}
            </p>
          )}
        </div>
        <p class="hint" id="record-json-hint">
          {record
            ? `Saves over version ${record.version} only: if someone changes the record meanwhile, nothing is overwritten.`
            : 'A JSON object. Its top-level text, number, true/false and null values can be filtered on.'}
        </p>
        <ErrorMessage error={saving.error} testId="record-save-error" />
        {conflict && (
          <div class="actions">
            <button type="button" class="secondary" disabled={reloading.busy} onClick={() => void loadLatest()}>
              Load the latest version
            </button>
          </div>
        )}
        <ErrorMessage error={reloading.error} />
        <Status message={status} />
        <div class="actions">
          <button type="submit" disabled={!checked.ok || !changed || saving.busy} data-testid="save-record">
            {record ? 'Save' : 'Create record'}
          </button>
          <button type="button" class="secondary" disabled={!checked.ok} onClick={() => checked.ok && setText(prettyJson(checked.data))}>
            Format
          </button>
          {record && changed && (
            <button type="button" class="secondary" disabled={saving.busy} onClick={() => original !== null && setText(original)}>
              Undo changes
            </button>
          )}
        </div>
      </form>
      {record && (
        <div class="danger-zone">
          <ConfirmButton
            label="Delete record"
            confirmLabel="Delete this record for good"
            testId="delete-record"
            describeError={(err) => describeRefusal(err, record.version, 'delete').message}
            onConfirm={async () => {
              try {
                await api.deleteRecord(workspaceId, collection, record.id, record.version);
              } catch (err) {
                setConflict(describeRefusal(err, record.version, 'delete').conflict);
                throw err;
              }
              props.onDeleted(record.id);
            }}
          />
        </div>
      )}
    </>
  );
}

/** The drawer; `target` null keeps it closed. */
export function RecordDrawer(props: {
  workspaceId: string;
  collection: string;
  target: DrawerTarget | null;
  canWrite: boolean;
  onClose: () => void;
  onSaved: (record: RecordItem, created: boolean) => void;
  onDeleted: (id: string) => void;
}) {
  const { target } = props;
  const record = target?.kind === 'record' ? target.record : null;
  return (
    <Drawer
      open={target !== null}
      title={record ? 'Record' : `New record in ${props.collection}`}
      description={record ? `In ${props.collection}` : undefined}
      onClose={props.onClose}
      testId="record-drawer"
    >
      {target && (
        // Rendered only while open; it keeps its own state until closed (a created record stays in it).
        <RecordEditor
          workspaceId={props.workspaceId}
          collection={props.collection}
          initial={record}
          canWrite={props.canWrite}
          onSaved={props.onSaved}
          onDeleted={props.onDeleted}
        />
      )}
    </Drawer>
  );
}

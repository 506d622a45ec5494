/**
 * The documents of a workspace: upload (multipart, one part named "file"), a paged list with
 * download links (a plain same-origin link: the session cookie authenticates the GET and the
 * server answers with an attachment), and delete.
 */
import { useRef, useState } from 'preact/hooks';
import { api, type DocumentItem } from '../api';
import { useAction, usePagedList } from '../hooks';
import { ConfirmButton, ErrorMessage, formatBytes, Panel, Status } from './ui';
import { Time } from './time';

function UploadForm(props: { workspaceId: string; onUploaded: (doc: DocumentItem) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const { busy, error, setError, run } = useAction();

  const upload = async (form: HTMLFormElement) => {
    const file = input.current?.files?.[0];
    if (!file) {
      setError('Choose a file to upload.');
      return;
    }
    await run(async () => {
      const created = await api.uploadDocument(props.workspaceId, file);
      form.reset();
      props.onUploaded(created);
    });
  };

  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        void upload(event.currentTarget);
      }}
    >
      <label>
        Document file
        <input ref={input} type="file" name="file" required data-testid="document-file" />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Uploading…' : 'Upload'}
      </button>
      <ErrorMessage error={error} testId="upload-error" />
    </form>
  );
}

export function DocumentsPanel({ workspaceId, canWrite }: { workspaceId: string; /** Upload and delete (`documents:write`). */ canWrite: boolean }) {
  // The panel is keyed by workspace, so the first page loads once per workspace.
  const {
    items: documents,
    setItems: setDocuments,
    nextCursor,
    loading,
    error,
    load,
  } = usePagedList((cursor) => api.documents(workspaceId, cursor));
  const [status, setStatus] = useState<string | null>(null);

  const titleId = 'documents-title';
  return (
    <Panel title="Documents" titleId={titleId} testId="documents-panel">
      {canWrite && (
        <UploadForm
          workspaceId={workspaceId}
          onUploaded={(doc) => {
            setStatus(`${doc.name} uploaded.`);
            if (nextCursor === null) setDocuments((previous) => [...(previous ?? []), doc]);
          }}
        />
      )}
      <Status message={status} />
      <ErrorMessage error={error} testId="documents-error" />
      {documents === null && loading && <p role="status">Loading…</p>}
      {documents !== null && documents.length === 0 && <p class="empty" data-testid="documents-empty">No documents yet.</p>}
      {documents !== null && documents.length > 0 && (
        <ul class="documents" data-testid="documents" aria-labelledby={titleId}>
          {documents.map((doc) => (
            <li key={doc.id} class="document" data-testid="document" data-document-id={doc.id}>
              <span class="document-name" data-testid="document-name">
                {doc.name}
              </span>
              <span class="muted">
                {formatBytes(doc.size)} · {doc.contentType} · <Time iso={doc.createdAt} />
              </span>
              <span class="actions">
                <a class="button secondary" href={api.documentContentUrl(workspaceId, doc.id)} download={doc.name} aria-label={`Download ${doc.name}`}>
                  Download
                </a>
                {canWrite && (
                  <ConfirmButton
                    label="Delete"
                    confirmLabel="Confirm delete"
                    accessibleName={`Delete ${doc.name}`}
                    testId="delete-document"
                    onConfirm={async () => {
                      await api.deleteDocument(workspaceId, doc.id);
                      setDocuments((previous) => (previous ?? []).filter((d) => d.id !== doc.id));
                      setStatus(`${doc.name} deleted.`);
                    }}
                  />
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
      {nextCursor !== null && (
        <button type="button" class="secondary" disabled={loading} onClick={() => void load(nextCursor)}>
          {loading ? 'Loading…' : 'Load more documents'}
        </button>
      )}
    </Panel>
  );
}

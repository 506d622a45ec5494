/** The collections of a workspace: a list of links and, for those who may, a form to create one. */
import { useState } from 'preact/hooks';
import { api, type Collection } from '../api';
import { useAction } from '../hooks';
import { Link, navigate } from '../router';
import { ErrorMessage, Panel } from './ui';

/** The server's rule for collection names, checked here first for a quicker answer. */
export const COLLECTION_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export function collectionPath(workspaceId: string, name: string): string {
  return `/w/${encodeURIComponent(workspaceId)}/c/${encodeURIComponent(name)}`;
}

export function CollectionsPanel(props: {
  workspaceId: string;
  collections: Collection[] | null;
  loadError: string | null;
  selected: string | null;
  /** Whether the caller may create collections (`records:write`). */
  canCreate: boolean;
  onCreated: (collection: Collection) => void;
}) {
  const { workspaceId, collections, selected } = props;
  const [name, setName] = useState('');
  const { busy, error, setError, run } = useAction();

  const create = async () => {
    const wanted = name.trim();
    if (!COLLECTION_NAME.test(wanted)) {
      setError('A collection name is 1–63 lowercase letters, digits, "_" or "-", starting with a letter.');
      return;
    }
    await run(async () => {
      const created = await api.createCollection(workspaceId, wanted);
      setName('');
      props.onCreated(created);
      navigate(collectionPath(workspaceId, created.name));
    });
  };

  return (
    <Panel title="Collections" titleId="collections-title" testId="collections-panel">
      <ErrorMessage error={props.loadError} />
      {collections === null && !props.loadError && <p role="status">Loading…</p>}
      {collections !== null && collections.length === 0 && <p class="empty" data-testid="collections-empty">No collections yet.</p>}
      {collections !== null && collections.length > 0 && (
        <ul class="nav-list" data-testid="collections">
          {collections.map((c) => (
            <li key={c.id}>
              <Link
                href={collectionPath(workspaceId, c.name)}
                data-testid="collection-link"
                aria-current={c.name === selected ? 'page' : undefined}
                class={c.name === selected ? 'current' : undefined}
              >
                {c.name}
              </Link>
            </li>
          ))}
        </ul>
      )}
      {props.canCreate && (
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            void create();
          }}
        >
          <label>
            New collection name
            <input
              type="text"
              name="collection"
              required
              maxLength={63}
              autocomplete="off"
              spellcheck={false}
              placeholder="tickets"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={busy}>
            Create collection
          </button>
        </form>
      )}
      <ErrorMessage error={error} />
    </Panel>
  );
}

/**
 * A workspace's data: its collections and their records (`/w/:id/collections`,
 * `/w/:id/c/:collection`) and its documents (`/w/:id/documents`). Above them, the state of the
 * encryption their content is stored under, where it is stored: it follows the writes made on
 * the page (the first record stored creates key version 1) without a reload.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, can, errorMessage, type Collection, type KeyStatus, type Workspace } from '../api';
import { CollectionsPanel } from '../components/collections';
import { DocumentsPanel } from '../components/documents';
import { RecordsPanel } from '../components/records';
import { EmptyState, Panel } from '../components/ui';
import { useRefreshAfter } from '../live';
import { Link, navigate } from '../router';
import { opens, sectionPath } from '../sections';

/** The key the workspace's content is encrypted under, for those who may read keys (`keys:manage`). */
export function EncryptionStrip({ workspace }: { workspace: Workspace }) {
  const [status, setStatus] = useState<KeyStatus | null>(null);
  const allowed = can(workspace, 'keys:manage');
  const load = useCallback(() => {
    if (!allowed) return;
    api
      .keys(workspace.id)
      .then(setStatus)
      // The encryption page reports errors; this strip is context, and stays as it was.
      .catch(() => undefined);
  }, [workspace.id, allowed]);
  useEffect(load, [load]);
  useRefreshAfter(workspace.id, ['records', 'documents', 'collections', 'keys'], load);

  if (!allowed) {
    return (
      <p class="strip" data-testid="encryption-strip">
        Stored encrypted at rest (AES-256-GCM) under this workspace’s own keys.
      </p>
    );
  }
  if (!status) return null;
  const version = status.currentVersion;
  return (
    <p class={version > 0 ? 'strip ok' : 'strip'} data-testid="encryption-strip" data-version={version}>
      {version > 0 ? (
        <>
          Encrypted at rest (AES-256-GCM) under key version <strong>{version}</strong>
          {status.pendingRewrap > 0 ? `; ${status.pendingRewrap} older rows are moving to it` : ''}.
        </>
      ) : (
        <>No content is encrypted yet: the first record or document stored creates key version 1.</>
      )}{' '}
      {opens(workspace, 'encryption') && <Link href={sectionPath(workspace.id, 'encryption')}>Keys and rotation</Link>}
    </p>
  );
}

export function CollectionsPage({ workspace, collection }: { workspace: Workspace; collection: string | null }) {
  const [collections, setCollections] = useState<Collection[] | null>(null);
  const [collectionsError, setCollectionsError] = useState<string | null>(null);

  const loadCollections = useCallback(async () => {
    try {
      setCollections((await api.collections(workspace.id)).data);
      setCollectionsError(null);
    } catch (err) {
      setCollectionsError(errorMessage(err));
    }
  }, [workspace.id]);

  useEffect(() => {
    void loadCollections();
  }, [loadCollections]);

  return (
    <div class="page-stack">
      <EncryptionStrip workspace={workspace} />
      <div class="columns">
        <CollectionsPanel
          workspaceId={workspace.id}
          collections={collections}
          loadError={collectionsError}
          selected={collection}
          canCreate={can(workspace, 'records:write')}
          onCreated={(created) => setCollections((previous) => [...(previous ?? []).filter((c) => c.id !== created.id), created])}
        />
        {collection ? (
          <RecordsPanel
            key={`${workspace.id}/${collection}`}
            workspaceId={workspace.id}
            collection={collection}
            canWrite={can(workspace, 'records:write')}
            canDeleteCollection={can(workspace, 'collections:manage')}
            onCollectionDeleted={() => {
              void loadCollections();
              navigate(sectionPath(workspace.id, 'collections'));
            }}
          />
        ) : (
          <Panel title="Records" titleId="records-title">
            <EmptyState title="Choose a collection">Its records show here.</EmptyState>
          </Panel>
        )}
      </div>
    </div>
  );
}

export function DocumentsPage({ workspace }: { workspace: Workspace }) {
  return (
    <div class="page-stack">
      <EncryptionStrip workspace={workspace} />
      <DocumentsPanel key={workspace.id} workspaceId={workspace.id} canWrite={can(workspace, 'documents:write')} />
    </div>
  );
}

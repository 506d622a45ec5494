/**
 * The records of one collection, as a page (`RecordsGrid`, at /w/:workspaceId/c/:collection) or
 * as a panel beside the list of collections (`RecordsPanel`). Both are the grid of
 * records-grid.tsx: columns chosen per collection, keyset pages, filters, and a drawer per record.
 */
import { can, type Workspace } from '../api';
import { Link, navigate } from '../router';
import { PageHeader, Panel } from './ui';
import { collectionPath, collectionsPath } from './collections';
import { RecordsBrowser } from './records-grid';

export { parseRecordJson } from './records-json';

/** A collection's records as a page of its own. */
export function RecordsGrid(props: {
  workspace: Pick<Workspace, 'id' | 'scopes'>;
  collection: string;
  /** After the collection is deleted; opens the list of collections unless given. */
  onCollectionDeleted?: () => void;
}) {
  const { workspace, collection } = props;
  const back = collectionsPath(workspace.id);
  return (
    <section class="records-page" aria-labelledby="records-title" data-testid="records-panel">
      <PageHeader
        eyebrow={<Link href={back}>Collections</Link>}
        title={<span id="records-title">{collection}</span>}
        description="Records are JSON objects. Choose the columns, filter on top-level values, and open a record to read, edit or delete it."
      />
      <RecordsBrowser
        key={collectionPath(workspace.id, collection)}
        workspaceId={workspace.id}
        collection={collection}
        canWrite={can(workspace, 'records:write')}
        canDeleteCollection={can(workspace, 'collections:manage')}
        onCollectionDeleted={props.onCollectionDeleted ?? (() => navigate(back))}
        collectionsHref={back}
      />
    </section>
  );
}

/** A collection's records as a panel beside the list of collections. */
export function RecordsPanel(props: {
  workspaceId: string;
  collection: string;
  /** Whether the caller may create, edit and delete records (`records:write`). */
  canWrite: boolean;
  /** Whether the caller may delete the whole collection (`collections:manage`). */
  canDeleteCollection: boolean;
  onCollectionDeleted: () => void;
}) {
  return (
    <Panel title={`Records in ${props.collection}`} titleId="records-title" testId="records-panel">
      <RecordsBrowser
        key={collectionPath(props.workspaceId, props.collection)}
        workspaceId={props.workspaceId}
        collection={props.collection}
        canWrite={props.canWrite}
        canDeleteCollection={props.canDeleteCollection}
        onCollectionDeleted={props.onCollectionDeleted}
        collectionsHref={`/w/${encodeURIComponent(props.workspaceId)}`}
      />
    </Panel>
  );
}

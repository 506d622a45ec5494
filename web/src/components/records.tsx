/**
 * The records of one collection, as a panel beside the list of collections (the console's
 * /w/:workspaceId/c/:collection): the grid of records-grid.tsx, with columns chosen per
 * collection, keyset pages, filters, and a drawer per record.
 */
import { sectionPath } from '../sections';
import { Panel } from './ui';
import { collectionPath } from './collections';
import { RecordsBrowser } from './records-grid';

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
        collectionsHref={sectionPath(props.workspaceId, 'collections')}
      />
    </Panel>
  );
}

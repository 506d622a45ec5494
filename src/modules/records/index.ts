export { RecordsService, parseFilters, type JsonValue, type RecordData, type ListOptions, type RecordsWriter } from './service.js';
export { recordsRoutes } from './routes.js';
export type { RecordViewT as RecordView, CollectionViewT as CollectionView } from './schemas.js';

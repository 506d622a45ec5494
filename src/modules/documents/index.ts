export { DocumentsService, type Upload, type Download } from './service.js';
export { documentsRoutes } from './routes.js';
export { documentName, mediaType } from './names.js';
export type { DocumentViewT as DocumentView } from './schemas.js';

export { DocumentsService, type Upload, type Download, type DocumentsWriter } from './service.js';
export { asAttachment, documentsRoutes } from './routes.js';
export { documentName, mediaType } from './names.js';
export type { DocumentViewT as DocumentView } from './schemas.js';

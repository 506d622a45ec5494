export { WorkspacesService, type WorkspaceDeletedListener } from './service.js';
export { workspacesRoutes } from './routes.js';
export type { WorkspaceView, WorkspaceInfo } from './schemas.js';

export { DirectoryService, groupKey, isProvisionableEmail, type MappingChangedListener, type Provisioned } from './service.js';
export { directoryRoutes } from './routes.js';
export type { GroupRoleMappingView } from './schemas.js';

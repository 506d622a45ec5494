export { KeysService } from './service.js';
export { keysRoutes } from './routes.js';
export { rewrapTenant, type RewrapProgress, type RewrapResult } from './rewrap.js';

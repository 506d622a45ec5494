export { AccountsService, type AccountsConfig, type IssuedSession, type RequestMeta } from './service.js';
export { accountsRoutes } from './routes.js';
export type { AccountView } from './schemas.js';

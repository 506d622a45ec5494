export { VaultService, secretPath } from './service.js';
export { vaultRoutes } from './routes.js';

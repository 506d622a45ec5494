export { ApiKeysService } from './service.js';
export { apiKeysRoutes } from './routes.js';
export { isWellFormedApiKey, API_KEY_PATTERN } from './secret.js';

export { ScimService, TOKEN_PREFIX, MAX_LIVE_TOKENS, type ScimCaller } from './service.js';
export { scimBaseUrl, scimRoutes, scimTokensRoutes, SCIM_PREFIX } from './routes.js';
export { CreatedScimToken, CreateScimTokenBody, ScimToken, type ScimTokenView } from './schemas.js';
export { listUsersSql } from './store.js';
export { compileFilter, parseFilter, USER_FILTER, GROUP_FILTER } from './filter.js';
export { SCIM_CONTENT_TYPE } from './errors.js';

export { SAML_COOKIE_PREFIX, ssoRoutes } from './routes.js';
export { hasSamlConnectionIn, samlSummaryIn, SsoService, spPaths, verifyResponse, type IdpTrust, type SsoDeps } from './service.js';
export { SetupLinks } from './setup-links.js';

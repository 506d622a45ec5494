export {
  OidcService,
  CALLBACK_PATH,
  FLOW_TTL_SECONDS,
  OFFER_TTL_SECONDS,
  MAX_ID_TOKEN_AGE_SECONDS,
  CLOCK_TOLERANCE_SECONDS,
  type OidcDeps,
  type CallbackOutcome,
  type FlowPurpose,
  type StartedFlow,
} from './service.js';
export { oidcRoutes, OIDC_COOKIE } from './routes.js';
export { Identity, OidcStatus, type IdentityView } from './schemas.js';

export {
  AccountsService,
  issueSetupToken,
  accountView,
  EMAIL_LINK_TTL_SECONDS,
  PENDING_MAX_FAILURES,
  type AccountsConfig,
  type AccountsDeps,
  type IssuedSession,
  type MfaProvider,
  type PendingSignIn,
  type SecondFactor,
  type SessionKind,
  type SignInResult,
} from './service.js';
export { accountsRoutes } from './routes.js';
export { bindingOf, currentSessionBody, ensureBinding, sessionBody, setSessionCookie, signInBody, startCookieSession } from './http.js';
export { OpaqueToken, SignInResponse, MfaRequired, SessionResponse, Email } from './schemas.js';
export type { AccountView } from './schemas.js';

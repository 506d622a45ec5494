export {
  AccountsService,
  signInFacts,
  issueSetupToken,
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
export { currentSessionBody, sessionBody, setSessionCookie, signInBody, startCookieSession } from './http.js';
export { OpaqueToken, SignInResponse, SessionResponse } from './schemas.js';
export type { AccountView } from './schemas.js';

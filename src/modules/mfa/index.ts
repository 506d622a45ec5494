export { MfaService, CHALLENGE_TTL_SECONDS, type MfaDeps, type MfaStatusView, type FactorChange } from './service.js';
export { mfaRoutes } from './routes.js';

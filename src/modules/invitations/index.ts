export { InvitationsService, type InvitationsDeps } from './service.js';
export { invitationsRoutes } from './routes.js';

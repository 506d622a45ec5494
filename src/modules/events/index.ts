export { AuthEvents, type AuthEvent, type EventOutcome, type EventRow } from './service.js';
export { WorkspaceEvents, type WorkspaceEvent } from './workspace.js';
export { StaffEvents } from './staff.js';
export { STAFF_ROLES, actorRef, type AnonymousActor, type EventActor, type ScimTokenActor, type StaffActor, type StaffRole } from './actors.js';
export { EVENT_FIELDS, workspaceEventsRoutes } from './routes.js';

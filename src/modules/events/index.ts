export { AuthEvents, type AuthEvent, type EventOutcome, type EventRow } from './service.js';
export { WorkspaceEvents, type WorkspaceEvent } from './workspace.js';
export { StaffEvents } from './staff.js';
export { STAFF_ROLES, actorRef, type EventActor, type StaffActor, type StaffRole } from './actors.js';
export { EVENT_FIELDS, workspaceEventsRoutes } from './routes.js';

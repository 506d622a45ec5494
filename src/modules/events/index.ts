export { AuthEvents, type AuthEvent, type EventOutcome, type EventRow } from './service.js';
export { WorkspaceEvents, type WorkspaceEvent, type WorkspaceEventRow } from './workspace.js';
export { workspaceEventsRoutes } from './routes.js';

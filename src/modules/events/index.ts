export { AuthEvents, type AuthEvent, type EventOutcome, type EventRow } from './service.js';

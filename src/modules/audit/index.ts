export { AuditService } from './service.js';
export { auditRoutes } from './routes.js';

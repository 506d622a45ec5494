export { OverviewService, type OverviewDeps } from './service.js';
export { overviewRoutes } from './routes.js';

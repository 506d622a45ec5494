export { MembersService, assertHolds, roleScopes, type MemberRemovedListener, type RemovedBy, type RoleUseCounter } from './service.js';
export { membersRoutes } from './routes.js';
export type { MemberView, RoleView, RoleRefView } from './schemas.js';
export { GrantableScope, RoleRef, ScopeName } from './schemas.js';

export { StaffService, addStaffMember, listStaffMembers, setupPath, staffActor, type StaffMemberView, type IssuedStaffSession } from './service.js';
export { StaffAccessService, APPROVE_SCOPE, type AccessRequestView } from './access.js';
export { staffRoutes } from './routes.js';
export {
  STAFF_PERMISSION_CATALOGUE,
  STAFF_PERMISSIONS,
  STAFF_ROLE_PERMISSIONS,
  STAFF_REQUESTABLE_SCOPES,
  JUSTIFICATIONS,
  MAX_REQUEST_MINUTES,
  MAX_BREAK_GLASS_MINUTES,
  isStaffRole,
  permissionsOf,
  staffMay,
  type StaffPermission,
  type StaffRouteLevel,
} from './permissions.js';

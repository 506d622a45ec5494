/** Where the staff console lives; kept apart so the first screen need not load the staff console to know it. */
export const STAFF_HOME = '/staff';

export function isStaffPath(path: string): boolean {
  return path === STAFF_HOME || path.startsWith(`${STAFF_HOME}/`);
}

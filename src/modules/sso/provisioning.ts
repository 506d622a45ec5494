/**
 * Just-in-time provisioning for SAML sign-in is the directory's (the same code SCIM uses): the
 * account for a verified domain's email, found or created (an unverified one taken over), its
 * membership with the workspace's default role, and roles from directory groups.
 */
import type { DirectoryService } from '../directory/index.js';
import type { DirectoryProvisioning } from './service.js';

export function jitProvisioning(directory: DirectoryService): DirectoryProvisioning {
  return {
    provisionIn: (tx, input) => directory.provisionIn(tx, { email: input.email, name: input.name }),
    joinIn: (tx, accountId) => directory.rejoinIn(tx, accountId),
    async setDirectoryRolesIn(tx, accountId, groupKeys) {
      return (await directory.setDirectoryRolesIn(tx, accountId, groupKeys)) ?? { added: 0, removed: 0 };
    },
  };
}

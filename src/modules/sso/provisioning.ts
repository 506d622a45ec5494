/**
 * Just-in-time provisioning for SAML sign-in: the account for a verified domain's email (found
 * or created) and its membership with the connection's default role; roles from directory
 * groups through `directory_group_roles`.
 */
import type { Tx } from '../../platform/db/types.js';
import type { AccountsService } from '../accounts/index.js';
import type { MembersService } from '../members/index.js';
import type { DirectoryProvisioning } from './service.js';

export function jitProvisioning(accounts: AccountsService, members: MembersService): DirectoryProvisioning {
  const joinIn = async (tx: Tx, accountId: string, defaultRoleId: string) => members.addMemberIn(tx, accountId, defaultRoleId, null);
  return {
    joinIn,
    async provisionIn(tx, input) {
      const existing = await accounts.accountByEmailIn(tx, input.email);
      const account = existing ?? (await accounts.createDirectoryAccountIn(tx, { email: input.email, name: input.name }));
      return { accountId: account.id, created: existing === null, joined: await joinIn(tx, account.id, input.defaultRoleId) };
    },
    async setDirectoryRolesIn(tx, accountId, groupKeys, defaultRoleId) {
      return members.setDirectoryRolesIn(tx, accountId, groupKeys, defaultRoleId);
    },
  };
}

/**
 * Verified domains. A workspace claims a domain, publishes a TXT record with the token Rampart
 * gives it, and asks Rampart to check. Only a verified domain counts: it lets the workspace's IdP
 * create and link accounts of that domain, and it can enforce single sign-on for them. A domain
 * is verified by at most one workspace (the global index's key); a second workspace learns that
 * only after proving control of the domain itself.
 */
import { randomBytes } from 'node:crypto';
import { tenantContext, type Database, type Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import { accountableAccount, type WorkspaceCaller } from '../../platform/http/context.js';
import { newId } from '../../platform/ids.js';
import type { AccountsService } from '../accounts/index.js';
import type { WorkspaceEvents } from '../events/index.js';
import type { TxtLookup } from './dns.js';
import { emailDomain, normalizeDomain, TXT_LABEL, TXT_PREFIX } from './names.js';
import type { DomainView } from './schemas.js';
import * as store from './store.js';

export interface SsoPolicy {
  /** The workspace that verified the email's domain. */
  readonly workspaceId: string;
  readonly enforced: boolean;
}

export interface DomainsDeps {
  readonly db: Database;
  readonly dns: TxtLookup;
  readonly events: WorkspaceEvents;
  readonly accounts: Pick<AccountsService, 'endNonSsoSessionsIn'>;
  /** Whether the workspace (the transaction's tenant) has an enabled SAML connection. */
  readonly hasSsoConnectionIn: (tx: Tx) => Promise<boolean>;
}

function view(row: store.DomainRow): DomainView {
  return {
    id: row.id,
    domain: row.domain,
    status: row.verified_at ? 'verified' : 'pending',
    verification: { type: 'TXT', names: [row.domain, `${TXT_LABEL}.${row.domain}`], value: `${TXT_PREFIX}${row.verification_token}` },
    verifiedAt: row.verified_at?.toISOString() ?? null,
    lastCheckedAt: row.last_checked_at?.toISOString() ?? null,
    ssoEnforced: row.sso_enforced,
    createdAt: row.created_at.toISOString(),
  };
}

export class DomainsService {
  constructor(private readonly deps: DomainsDeps) {}

  list(caller: WorkspaceCaller): Promise<DomainView[]> {
    return this.listFor(caller.tenant.tenantId);
  }

  async add(caller: WorkspaceCaller, input: { domain: string }): Promise<DomainView> {
    const domain = normalizeDomain(input.domain);
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      const id = newId();
      const row = await store.insert(tx, { id, domain, token: randomBytes(24).toString('base64url'), createdBy: accountableAccount(caller.actor) });
      if (!row) throw new RampartError('domain_exists');
      await this.deps.events.recordIn(tx, caller.actor, { action: 'domain.added', outcome: 'success', target: { type: 'domain', id }, details: { domain } }, caller.meta);
      return view(row);
    });
  }

  /**
   * Looks for the TXT record (outside any transaction), then records the check. A failed check is
   * recorded too, and then answered `domain_verification_failed` (or `domain_claimed`).
   */
  async verify(caller: WorkspaceCaller, id: string): Promise<DomainView> {
    const pending = await this.deps.db.withTenant(caller.tenant, (tx) => store.byId(tx, id), { readOnly: true });
    if (!pending) throw new RampartError('domain_not_found');
    const expected = `${TXT_PREFIX}${pending.verification_token}`;
    let found = false;
    let lookupFailed = false;
    for (const name of [pending.domain, `${TXT_LABEL}.${pending.domain}`]) {
      try {
        if ((await this.deps.dns.txt(name)).some((value) => value.trim() === expected)) {
          found = true;
          break;
        }
      } catch {
        lookupFailed = true;
      }
    }
    const outcome = await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.byId(tx, id, true);
      if (!row) throw new RampartError('domain_not_found');
      const claimed = found && !row.verified_at && (await store.claimedElsewhere(tx, row.domain));
      const verified = found && !claimed;
      const updated = await store.checked(tx, id, verified || row.verified_at !== null);
      const reason = claimed ? 'claimed_by_another_workspace' : found ? null : lookupFailed ? 'dns_lookup_failed' : 'record_not_found';
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'domain.verified', outcome: verified || row.verified_at ? 'success' : 'failure', target: { type: 'domain', id }, details: { domain: row.domain, ...(reason ? { reason } : {}) } },
        caller.meta,
      );
      return { updated, reason, wasVerified: row.verified_at !== null };
    });
    if (outcome.wasVerified || outcome.reason === null) return view(outcome.updated);
    if (outcome.reason === 'claimed_by_another_workspace') throw new RampartError('domain_claimed', { recorded: true });
    throw new RampartError('domain_verification_failed', {
      recorded: true,
      details: { recordType: 'TXT', recordNames: [pending.domain, `${TXT_LABEL}.${pending.domain}`], recordValue: expected, reason: outcome.reason },
    });
  }

  /** Turns SSO enforcement on or off; on, it ends every session of the domain's accounts that SAML through this workspace did not begin. */
  async setEnforcement(caller: WorkspaceCaller, id: string, enforced: boolean): Promise<DomainView> {
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.byId(tx, id, true);
      if (!row) throw new RampartError('domain_not_found');
      if (enforced && !row.verified_at) throw new RampartError('domain_not_verified');
      if (enforced && !(await this.deps.hasSsoConnectionIn(tx))) throw new RampartError('sso_connection_required');
      const updated = await store.setEnforced(tx, id, enforced);
      const sessionsEnded = enforced && !row.sso_enforced ? await this.deps.accounts.endNonSsoSessionsIn(tx, row.domain, caller.tenant.tenantId) : 0;
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'domain.sso_enforcement_changed', outcome: 'success', target: { type: 'domain', id }, details: { domain: row.domain, enforced, sessionsEnded } },
        caller.meta,
      );
      return view(updated);
    });
  }

  async remove(caller: WorkspaceCaller, id: string): Promise<void> {
    await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.byId(tx, id, true);
      if (!row) throw new RampartError('domain_not_found');
      await store.remove(tx, id);
      await this.deps.events.recordIn(tx, caller.actor, { action: 'domain.removed', outcome: 'success', target: { type: 'domain', id }, details: { domain: row.domain } }, caller.meta);
    });
  }

  /** The workspace's domains at a glance: verified, waiting, and whether SSO is enforced for any. */
  summaryIn(tx: Tx): Promise<{ verified: number; pending: number; enforced: boolean }> {
    return store.summary(tx);
  }

  // --- policy, read by sign-in ---------------------------------------------------------------------

  /** Who verified the email's domain and whether they enforce SSO, in any transaction. */
  async policyIn(tx: Tx, email: string): Promise<SsoPolicy | null> {
    const domain = emailDomain(email);
    if (!domain) return null;
    const row = await store.policyOf(tx, domain);
    return row ? { workspaceId: row.workspace_id, enforced: row.sso_enforced } : null;
  }

  policy(email: string): Promise<SsoPolicy | null> {
    return this.deps.db.withGlobal((tx) => this.policyIn(tx, email), { readOnly: true });
  }

  /** Whether the transaction's workspace has verified the email's domain. */
  async verifiedForEmailIn(tx: Tx, email: string): Promise<boolean> {
    const domain = emailDomain(email);
    return domain !== null && (await store.verifiedHere(tx, domain));
  }

  /** For a workspace's own reads without a caller (the setup page). */
  listFor(workspaceId: string): Promise<DomainView[]> {
    return this.deps.db.withTenant(tenantContext(workspaceId, null), async (tx) => (await store.list(tx)).map(view), { readOnly: true });
  }
}

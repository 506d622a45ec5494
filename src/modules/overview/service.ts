/**
 * A workspace's security posture on one page: members and their second factors, single sign-on,
 * encryption keys, staff access requests and the audit chain, each read only when the caller
 * holds the scope that reads its data elsewhere (a part without it is null, and yields no alert),
 * and alerts derived from that state as it is now — nothing is stored about them.
 *
 * One request, a few cheap reads: the tenant parts in one read-only transaction (counts over
 * indexed tenant rows), the key status without counting rows, the audit chain's stored state (its
 * newest checkpoint and any failure recorded after it) without verifying it again. Every read goes
 * through the owning module's service.
 */
import type { ChainIntegrity, AuditLog } from '../../platform/audit/log.js';
import type { Database, Tx } from '../../platform/db/types.js';
import type { WorkspaceCaller } from '../../platform/http/context.js';
import type { DomainsService } from '../domains/index.js';
import type { KeysService } from '../keys/index.js';
import type { MembersService } from '../members/index.js';
import type { ScimService } from '../scim/index.js';
import type { StaffAccessService } from '../staff/index.js';
import type { WorkspacesService } from '../workspaces/index.js';
import type { OverviewAlertView, OverviewView } from './schemas.js';

/** A SAML signing certificate is flagged this long before it expires. */
export const CERTIFICATE_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export interface OverviewDeps {
  readonly db: Database;
  readonly workspaces: Pick<WorkspacesService, 'getIn'>;
  readonly members: Pick<MembersService, 'mfaCountsIn'>;
  readonly domains: Pick<DomainsService, 'summaryIn'>;
  /** The transaction's workspace's SAML connection (src/modules/sso `samlSummaryIn`). */
  readonly samlSummaryIn: (tx: Tx) => Promise<{ enabled: boolean; certificates: ReadonlyArray<{ notAfter: string }> } | null>;
  readonly scim: Pick<ScimService, 'liveTokenCountIn'>;
  readonly staffAccess: Pick<StaffAccessService, 'pendingIn'>;
  readonly keys: Pick<KeysService, 'summary'>;
  readonly audit: Pick<AuditLog, 'integrity'>;
  /** Whether sign-in with the instance's OpenID Connect provider is configured. */
  readonly oidcEnabled: () => boolean;
  readonly now?: () => number;
}

const SEVERITY_ORDER: Record<OverviewAlertView['severity'], number> = { critical: 0, warning: 1, info: 2 };

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

export class OverviewService {
  constructor(private readonly deps: OverviewDeps) {}

  async overview(caller: WorkspaceCaller): Promise<OverviewView> {
    const may = (scope: Parameters<typeof caller.scopes.has>[0]) => caller.scopes.has(scope);
    const now = this.deps.now?.() ?? Date.now();
    const [tenant, keys, chain] = await Promise.all([
      this.deps.db.withTenant(
        caller.tenant,
        async (tx) => {
          const [members, sso, requests] = await Promise.all([
            may('members:read') ? this.membersIn(tx) : null,
            may('sso:manage') ? this.ssoIn(tx) : null,
            may('staff-access:approve') ? this.deps.staffAccess.pendingIn(tx) : null,
          ]);
          return { members, sso, requests };
        },
        { readOnly: true },
      ),
      may('keys:manage') ? this.deps.keys.summary(caller) : null,
      may('audit:read') ? this.deps.audit.integrity(caller.tenant.tenantId) : null,
    ]);

    const alerts: OverviewAlertView[] = [];
    const at = (ms: number) => new Date(ms).toISOString();
    const answeredAt = at(now);

    const { members, sso, requests } = tenant;
    if (members) {
      const without = members.total - members.withMfa;
      if (without > 0 && members.mfaRequired) {
        alerts.push({
          id: 'members.mfa_missing',
          severity: 'warning',
          at: answeredAt,
          title: `${plural(without, 'member has', 'members have')} no second factor; the workspace requires one, so they cannot open it until they set one up.`,
          section: 'members',
        });
      } else if (without > 0) {
        alerts.push({
          id: 'members.mfa_not_required',
          severity: 'info',
          at: answeredAt,
          title: `${plural(without, 'member has', 'members have')} no second factor, and the workspace does not require one.`,
          section: 'settings',
        });
      }
    }

    if (sso?.certificateExpiry) {
      const expires = Date.parse(sso.certificateExpiry);
      if (expires - now <= CERTIFICATE_WARNING_DAYS * DAY_MS) {
        const expired = expires <= now;
        alerts.push({
          id: 'sso.certificate_expiring',
          severity: 'warning',
          at: sso.certificateExpiry,
          title: expired
            ? `The identity provider's signing certificate expired on ${day(sso.certificateExpiry)}; add the one it signs with now, or SAML sign-in fails when it switches.`
            : `The identity provider's signing certificate expires on ${day(sso.certificateExpiry)}; add its next one before then.`,
          section: 'sso',
        });
      }
    }

    if (keys && keys.rotationDays > 0 && keys.currentVersion > 0 && keys.rotatedAt) {
      const due = keys.rotatedAt.getTime() + keys.rotationDays * DAY_MS;
      if (due <= now) {
        alerts.push({
          id: 'keys.rotation_overdue',
          severity: 'warning',
          at: at(due),
          title: `The encryption key is older than the rotation period of ${plural(keys.rotationDays, 'day', 'days')}; rotate it.`,
          section: 'encryption',
        });
      }
    }

    if (requests && requests.pending > 0) {
      alerts.push({
        id: 'access_requests.pending',
        severity: 'warning',
        at: requests.oldest ? requests.oldest.toISOString() : answeredAt,
        title: `${plural(requests.pending, 'staff request for access waits', 'staff requests for access wait')} for a decision.`,
        section: 'access-requests',
      });
    }

    if (chain?.failure) {
      alerts.push({
        id: 'audit.verification_failed',
        severity: 'critical',
        at: chain.failure.at,
        title:
          chain.failure.refused === 'pruning'
            ? 'The audit log failed verification: a pruning was refused, and nothing has been signed since.'
            : 'The audit log failed verification: no checkpoint has been signed since.',
        section: 'audit',
      });
    }
    if (chain?.pruningProven === false) {
      alerts.push({
        id: 'audit.pruning_unproven',
        severity: 'critical',
        at: answeredAt,
        title: 'Events were pruned from the start of the audit log without a signed statement that proves the pruning.',
        section: 'audit',
      });
    }

    alerts.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
    return {
      members,
      sso: sso ? { saml: sso.saml, oidc: sso.oidc, scim: sso.scim, enforced: sso.enforced, domains: sso.domains } : null,
      keys: keys
        ? { currentVersion: keys.currentVersion, versions: keys.versions, rotatedAt: keys.rotatedAt?.toISOString() ?? null, nextRotationAt: keys.nextRotationAt?.toISOString() ?? null }
        : null,
      accessRequests: requests ? { pending: requests.pending } : null,
      audit: chain ? { chain: chainState(chain), lastCheckpointAt: chain.lastCheckpoint?.signedAt ?? null } : null,
      alerts,
    };
  }

  private async membersIn(tx: Tx): Promise<{ total: number; withMfa: number; mfaRequired: boolean }> {
    const [counts, workspace] = await Promise.all([this.deps.members.mfaCountsIn(tx), this.deps.workspaces.getIn(tx)]);
    return { ...counts, mfaRequired: workspace.requireMfa };
  }

  private async ssoIn(tx: Tx) {
    const [saml, domains, scimTokens] = await Promise.all([this.deps.samlSummaryIn(tx), this.deps.domains.summaryIn(tx), this.deps.scim.liveTokenCountIn(tx)]);
    const enabled = saml?.enabled === true;
    // Signatures verify under any of the connection's certificates: the newest one's expiry is the one that matters.
    const newest = enabled ? (saml?.certificates.map((c) => c.notAfter).sort().at(-1) ?? null) : null;
    return {
      saml: enabled,
      oidc: this.deps.oidcEnabled(),
      scim: scimTokens > 0,
      enforced: domains.enforced,
      domains: { verified: domains.verified, pending: domains.pending },
      certificateExpiry: newest,
    };
  }
}

function chainState(chain: ChainIntegrity): 'verified' | 'failed' | 'unknown' {
  if (chain.failure || chain.pruningProven === false) return 'failed';
  return chain.lastCheckpoint ? 'verified' : 'unknown';
}

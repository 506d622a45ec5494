/**
 * A workspace's overview (`/w/:id`): its security posture at a glance — second-factor coverage,
 * single sign-on, encryption keys, staff access waiting for a decision, the audit chain — and its
 * alerts. Every state links to the section where it is changed (when the caller's scopes open
 * it). A part the caller's scopes do not read is left out (the server sends it as null). The page
 * loads again after the writes that change what it shows.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { profileApi, type OverviewAlert, type Workspace, type WorkspaceOverview as Overview } from '../api';
import { Badge, EmptyState, ErrorMessage, type BadgeTone } from '../components/ui';
import { Time } from '../components/time';
import { useAction } from '../hooks';
import { useRefreshAfter } from '../live';
import { Link } from '../router';
import { isSectionId, opens, sectionInfo, sectionPath, type SectionId } from '../sections';

interface CardLink {
  readonly section: SectionId;
  readonly label: string;
  readonly query?: Record<string, string>;
}

function Card(props: { id: string; title: string; state: ComponentChildren; workspace: Workspace; links: readonly CardLink[]; children: ComponentChildren }) {
  const titleId = `overview-${props.id}-title`;
  const links = props.links.filter((l) => opens(props.workspace, l.section));
  return (
    <section class="card" aria-labelledby={titleId} data-testid={`overview-${props.id}`}>
      <header class="card-header">
        <h2 id={titleId}>{props.title}</h2>
        {props.state}
      </header>
      <div class="card-body">{props.children}</div>
      {links.length > 0 && (
        <footer class="card-links">
          {links.map((l) => (
            <Link key={l.label} href={sectionPath(props.workspace.id, l.section, l.query)} data-testid={`overview-link-${l.section}${l.query?.['tab'] ? `-${l.query['tab']}` : ''}`}>
              {l.label}
            </Link>
          ))}
        </footer>
      )}
    </section>
  );
}

function MfaCard({ workspace, members }: { workspace: Workspace; members: NonNullable<Overview['members']> }) {
  const all = members.withMfa === members.total;
  return (
    <Card
      id="mfa"
      title="Second factor (MFA)"
      workspace={workspace}
      state={
        <Badge tone={all ? 'ok' : members.mfaRequired ? 'warn' : 'danger'} testId="overview-mfa-state">
          {members.withMfa} of {members.total}
        </Badge>
      }
      links={[
        { section: 'members', label: 'Who has MFA' },
        { section: 'settings', label: members.mfaRequired ? 'MFA requirement' : 'Require MFA' },
      ]}
    >
      <p>
        {members.withMfa} of {members.total} {members.total === 1 ? 'member has' : 'members have'} a second factor.
      </p>
      <p class="muted" data-testid="overview-mfa-required">
        {members.mfaRequired
          ? 'Required: a session without a second factor cannot open this workspace.'
          : 'Not required: members may open this workspace with a password alone.'}
      </p>
    </Card>
  );
}

function SsoCard({ workspace, sso }: { workspace: Workspace; sso: NonNullable<Overview['sso']> }) {
  const connected = sso.saml;
  return (
    <Card
      id="sso"
      title="Single sign-on"
      workspace={workspace}
      state={
        <Badge tone={connected ? 'ok' : 'neutral'} testId="overview-sso-state">
          {connected ? (sso.enforced ? 'Enforced' : 'Connected') : 'Not set up'}
        </Badge>
      }
      links={[
        { section: 'sso', label: 'SSO settings' },
        ...(sso.domains.pending > 0 ? [{ section: 'sso' as const, label: 'Pending domains', query: { tab: 'domains' } }] : []),
      ]}
    >
      <dl class="facts compact">
        <dt>SAML</dt>
        <dd>{sso.saml ? 'connected' : 'not connected'}</dd>
        <dt>OpenID Connect</dt>
        <dd>{sso.oidc ? 'available (a server setting)' : 'not configured on this server'}</dd>
        <dt>SCIM provisioning</dt>
        <dd>{sso.scim ? 'on (a live token)' : 'off'}</dd>
        <dt>Enforced</dt>
        <dd>{sso.enforced ? 'yes, for verified domains' : 'no'}</dd>
        <dt>Domains</dt>
        <dd data-testid="overview-domains">
          {sso.domains.verified} verified{sso.domains.pending > 0 ? `, ${sso.domains.pending} pending` : ''}
        </dd>
      </dl>
    </Card>
  );
}

function KeysCard({ workspace, keys }: { workspace: Workspace; keys: NonNullable<Overview['keys']> }) {
  return (
    <Card
      id="keys"
      title="Encryption keys"
      workspace={workspace}
      state={
        <Badge tone={keys.currentVersion > 0 ? 'ok' : 'neutral'} testId="overview-keys-state">
          {keys.currentVersion > 0 ? `Version ${keys.currentVersion}` : 'No content yet'}
        </Badge>
      }
      links={[{ section: 'encryption', label: 'Keys and rotation' }]}
    >
      <p data-testid="overview-key-version" data-version={keys.currentVersion}>
        {keys.currentVersion > 0
          ? `New content is encrypted under key version ${keys.currentVersion} (${keys.versions} ${keys.versions === 1 ? 'version' : 'versions'} in all).`
          : 'No content is encrypted yet: the first record, document or secret stored creates key version 1.'}
      </p>
      <dl class="facts compact">
        <dt>Last rotation</dt>
        <dd>{keys.rotatedAt ? <Time iso={keys.rotatedAt} /> : 'never'}</dd>
        <dt>Next rotation</dt>
        <dd>{keys.nextRotationAt ? <Time iso={keys.nextRotationAt} /> : 'not scheduled'}</dd>
      </dl>
    </Card>
  );
}

function AccessCard({ workspace, pending }: { workspace: Workspace; pending: number }) {
  return (
    <Card
      id="access-requests"
      title="Staff access"
      workspace={workspace}
      state={
        <Badge tone={pending > 0 ? 'warn' : 'ok'} testId="overview-access-state">
          {pending > 0 ? `${pending} waiting` : 'None waiting'}
        </Badge>
      }
      links={[
        { section: 'access-requests', label: pending > 0 ? 'Decide' : 'Access requests' },
        { section: 'access-log', label: 'Access log' },
      ]}
    >
      <p>
        {pending > 0
          ? `${pending} staff access ${pending === 1 ? 'request waits' : 'requests wait'} for your decision.`
          : 'No staff access request waits for a decision. Staff read nothing here without your approval (or a break-glass opening, which is logged and notified).'}
      </p>
    </Card>
  );
}

const CHAIN: Record<NonNullable<Overview['audit']>['chain'], { tone: BadgeTone; label: string; text: string }> = {
  verified: { tone: 'ok', label: 'Verified', text: 'The audit chain verifies: no event was changed, removed or reordered.' },
  failed: { tone: 'danger', label: 'Broken', text: 'The audit chain does not verify: an event was changed, removed or reordered. Verify it to see where.' },
  unknown: { tone: 'neutral', label: 'Not verified yet', text: 'The audit chain has not been verified yet.' },
};

function AuditCard({ workspace, audit }: { workspace: Workspace; audit: NonNullable<Overview['audit']> }) {
  const chain = CHAIN[audit.chain];
  return (
    <Card
      id="audit"
      title="Audit log"
      workspace={workspace}
      state={
        <Badge tone={chain.tone} testId="overview-audit-state">
          {chain.label}
        </Badge>
      }
      links={[{ section: 'audit', label: audit.chain === 'failed' ? 'Verify the chain' : 'Audit log' }]}
    >
      <p>{chain.text}</p>
      <dl class="facts compact">
        <dt>Last signed checkpoint</dt>
        <dd data-testid="overview-checkpoint">{audit.lastCheckpointAt ? <Time iso={audit.lastCheckpointAt} /> : 'none yet'}</dd>
      </dl>
    </Card>
  );
}

const SEVERITY: Record<OverviewAlert['severity'], BadgeTone> = { critical: 'danger', warning: 'warn', info: 'info' };

function Alerts({ workspace, alerts }: { workspace: Workspace; alerts: readonly OverviewAlert[] }) {
  return (
    <section class="panel" aria-labelledby="overview-alerts-title" data-testid="overview-alerts">
      <h2 id="overview-alerts-title">Alerts</h2>
      {alerts.length === 0 ? (
        <p class="muted" data-testid="overview-no-alerts">
          Nothing needs your attention.
        </p>
      ) : (
        <ul class="rows">
          {alerts.map((alert) => {
            const section = isSectionId(alert.section) ? alert.section : null;
            return (
              <li key={alert.id} class="row" data-testid="overview-alert" data-severity={alert.severity}>
                <span class="row-main">
                  <span>
                    <Badge tone={SEVERITY[alert.severity]}>{alert.severity}</Badge> <strong>{alert.title}</strong>
                  </span>
                  <span class="muted">
                    <Time iso={alert.at} />
                  </span>
                </span>
                {section && opens(workspace, section) && (
                  <Link href={sectionPath(workspace.id, section)} class="button secondary" data-testid="overview-alert-link">
                    Open {sectionInfo(section).label.toLowerCase()}
                  </Link>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

export function OverviewPage({ workspace }: { workspace: Workspace }) {
  const [overview, setOverview] = useState<Overview | null>(null);
  const { error, run } = useAction();
  const load = useCallback(() => run(async () => setOverview(await profileApi.workspaceOverview(workspace.id))), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);
  useRefreshAfter(workspace.id, ['workspace', 'records', 'documents', 'secrets', 'keys', 'members', 'roles', 'sso', 'domains', 'scim', 'access-requests', 'audit'], () => void load());

  if (error && !overview) return <ErrorMessage error={error} testId="overview-error" />;
  if (!overview) return <p role="status">Loading…</p>;
  const { members, sso, keys, accessRequests, audit } = overview;
  const nothing = !members && !sso && !keys && !accessRequests && !audit;
  return (
    <div class="page-stack" data-testid="overview">
      {nothing ? (
        <EmptyState title="Nothing here for your roles">Your roles in this workspace do not read its security settings. The sections in the menu are the ones open to you.</EmptyState>
      ) : (
        <div class="cards">
          {members && <MfaCard workspace={workspace} members={members} />}
          {sso && <SsoCard workspace={workspace} sso={sso} />}
          {keys && <KeysCard workspace={workspace} keys={keys} />}
          {accessRequests && <AccessCard workspace={workspace} pending={accessRequests.pending} />}
          {audit && <AuditCard workspace={workspace} audit={audit} />}
        </div>
      )}
      <Alerts workspace={workspace} alerts={overview.alerts} />
      <ErrorMessage error={error} testId="overview-error" />
    </div>
  );
}

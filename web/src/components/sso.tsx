/**
 * A workspace's single sign-on (`sso:manage`), one tab each: its SAML connection, SCIM
 * provisioning tokens, its domains (claimed, proven by a DNS TXT record, and optionally
 * SSO-only), which directory groups give which roles, setup links for the customer's IT admin,
 * and the recent SSO sign-in attempts with the reason of each failure.
 *
 * A setup link's URL (its token) lives only in this component's state until dismissed: never in
 * storage, never in the address bar.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  type CreatedSetupLink,
  type Domain,
  type GroupRoleMapping,
  type SamlConnectionView,
  type ScimToken,
  type SetupLink,
  type SsoAttempt,
  type Workspace,
} from '../api';
import { useAction } from '../hooks';
import { ConnectionSummary, DomainRecord, describeSsoError, SamlForm, SpValues } from './saml';
import { NewScimTokenForm, ScimTokenList } from './scim';
import { preferredRole, type RoleChoice, RoleSelect, useRoleChoices } from './scopes';
import { exactLocal, ShortTime, Time } from './time';
import { ConfirmButton, CopyValue, ErrorMessage, Panel, ShownOnce, Status, Table, Tabs, type TabItem } from './ui';
import { navigate, useLocation } from '../router';

// --- domains ---------------------------------------------------------------------------------------

/** What a failed verification means, with the value the server looked for. */
function describeVerifyError(err: unknown): string {
  if (err instanceof ApiError && err.code === 'domain_verification_failed') {
    return `${err.message} It can take a few minutes for a new record to be seen; try again then.`;
  }
  return describeSsoError(err);
}

/** What enforcing means, asked before it is done; it takes the keyboard (and a screen reader) when it appears. */
function EnforceConfirm(props: { domain: Domain; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  const { domain, busy } = props;
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), []);
  return (
    <div class="notice attention" role="group" aria-labelledby={`enforce-title-${domain.id}`} data-testid="enforce-confirm" ref={box} tabIndex={-1}>
      <h3 id={`enforce-title-${domain.id}`}>Enforce single sign-on for {domain.domain}?</h3>
      <p>
        Every other sign-in method (password, email link, passkey, another identity provider) will be refused for @{domain.domain}{' '}
        addresses, and their sessions that did not begin with this workspace's SAML sign-in end now, yours included if your address is
        one of them. Make sure the SAML sign-in works first.
      </p>
      <div class="actions">
        <button type="button" class="danger" disabled={busy} data-testid="enforce-sso-confirm" onClick={props.onConfirm}>
          Enforce SSO and end other sessions
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function EnforceToggle({ workspace, domain, onChanged }: { workspace: Workspace; domain: Domain; onChanged: (d: Domain) => void }) {
  const [asking, setAsking] = useState(false);
  const { busy, error, run } = useAction({ describeError: describeSsoError });
  const set = (ssoEnforced: boolean) =>
    run(async () => {
      onChanged(await api.setSsoEnforced(workspace.id, domain.id, ssoEnforced));
      setAsking(false);
    });
  const hintId = `enforce-hint-${domain.id}`;
  return (
    <div class="stack">
      <label class="checkbox">
        <input
          type="checkbox"
          name="enforce-sso"
          data-testid="enforce-sso"
          checked={domain.ssoEnforced || asking}
          disabled={busy}
          aria-describedby={hintId}
          onChange={(e) => {
            if (e.currentTarget.checked) setAsking(true);
            else void set(false);
          }}
        />
        Enforce SSO for {domain.domain}
      </label>
      <p class="hint" id={hintId}>
        {domain.ssoEnforced
          ? `People with an @${domain.domain} address can sign in only through this workspace's SAML sign-in.`
          : `Off: people with an @${domain.domain} address may also sign in with a password, an email link or a passkey.`}
      </p>
      {asking && !domain.ssoEnforced && <EnforceConfirm domain={domain} busy={busy} onConfirm={() => void set(true)} onCancel={() => setAsking(false)} />}
      <ErrorMessage error={error} testId="enforce-error" />
    </div>
  );
}

function DomainRow(props: { workspace: Workspace; domain: Domain; onChanged: (d: Domain) => void; onRemoved: (d: Domain) => void }) {
  const { workspace, domain, onChanged } = props;
  const verifying = useAction({ describeError: describeVerifyError });
  const verified = domain.status === 'verified';
  return (
    <li class="row domain" data-testid="domain" data-domain={domain.domain} data-status={domain.status}>
      <span class="row-main">
        <span>
          <strong data-testid="domain-name">{domain.domain}</strong>{' '}
          <span class={verified ? 'badge ok' : 'badge pending'} data-testid="domain-status">
            {verified ? 'Verified' : 'Waiting for DNS'}
          </span>{' '}
          {domain.ssoEnforced && (
            <span class="badge" data-testid="domain-enforced">
              SSO enforced
            </span>
          )}
        </span>
        <span class="muted">
          Added <ShortTime iso={domain.createdAt} />
          {domain.verifiedAt && (
            <>
              {' '}
              · verified <ShortTime iso={domain.verifiedAt} />
            </>
          )}
          {domain.lastCheckedAt && (
            <>
              {' '}
              · last checked <ShortTime iso={domain.lastCheckedAt} />
            </>
          )}
        </span>
        {!verified && <DomainRecord domain={domain} />}
        {verified && <EnforceToggle workspace={workspace} domain={domain} onChanged={onChanged} />}
        <ErrorMessage error={verifying.error} testId="domain-verify-error" />
      </span>
      <span class="actions">
        {!verified && (
          <button
            type="button"
            disabled={verifying.busy}
            aria-label={`Verify ${domain.domain}`}
            data-testid="verify-domain"
            onClick={() => void verifying.run(async () => onChanged(await api.verifyDomain(workspace.id, domain.id)))}
          >
            {verifying.busy ? 'Checking DNS…' : 'Verify'}
          </button>
        )}
        <ConfirmButton
          label="Remove"
          confirmLabel={`Remove ${domain.domain}`}
          accessibleName={`Remove domain ${domain.domain}`}
          testId="remove-domain"
          describeError={describeSsoError}
          onConfirm={async () => {
            await api.removeDomain(workspace.id, domain.id);
            props.onRemoved(domain);
          }}
        />
      </span>
    </li>
  );
}

function DomainsPanel({ workspace }: { workspace: Workspace }) {
  const [domains, setDomains] = useState<Domain[] | null>(null);
  const [name, setName] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();
  const adding = useAction({ describeError: describeSsoError });

  const load = useCallback(() => loading.run(async () => setDomains((await api.domains(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const replace = (d: Domain) => setDomains((previous) => previous?.map((x) => (x.id === d.id ? d : x)) ?? [d]);

  const add = async () => {
    const wanted = name.trim().toLowerCase().replace(/\.$/, '');
    if (!wanted) {
      adding.setError('Enter a domain name, such as example.com.');
      return;
    }
    setStatus(null);
    await adding.run(async () => {
      const created = await api.addDomain(workspace.id, wanted);
      setDomains((previous) => [...(previous ?? []).filter((d) => d.id !== created.id), created]);
      setName('');
      setStatus(`${created.domain} added: publish its TXT record, then verify.`);
    });
  };

  return (
    <Panel title="Domains" titleId="sso-domains-title" testId="sso-domains">
      <p class="hint">
        Claim the email domains of your organisation. Once a domain's DNS holds the record Rampart gives, its people can sign in with this
        workspace's SSO, be provisioned on first sign-in, and be held to SSO only.
      </p>
      <form
        class="inline-form"
        aria-label="Add a domain"
        onSubmit={(event) => {
          event.preventDefault();
          void add();
        }}
      >
        <label>
          Domain
          <input
            type="text"
            name="domain"
            required
            maxLength={253}
            autocomplete="off"
            spellcheck={false}
            placeholder="example.com"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={adding.busy}>
          Add domain
        </button>
        <ErrorMessage error={adding.error} testId="add-domain-error" />
      </form>
      <Status message={status} />
      <ErrorMessage error={loading.error} testId="domains-error" />
      {domains === null && !loading.error && <p role="status">Loading…</p>}
      {domains !== null && domains.length === 0 && (
        <p class="empty" data-testid="domains-empty">
          No domains yet.
        </p>
      )}
      {domains !== null && domains.length > 0 && (
        <ul class="rows" aria-labelledby="sso-domains-title">
          {domains.map((d) => (
            <DomainRow
              key={d.id}
              workspace={workspace}
              domain={d}
              onChanged={(changed) => {
                replace(changed);
                setStatus(
                  changed.status === 'verified' && d.status !== 'verified'
                    ? `${changed.domain} is verified.`
                    : changed.ssoEnforced !== d.ssoEnforced
                      ? changed.ssoEnforced
                        ? `SSO is now enforced for ${changed.domain}.`
                        : `SSO is no longer enforced for ${changed.domain}.`
                      : null,
                );
              }}
              onRemoved={(removed) => {
                setDomains((previous) => previous?.filter((x) => x.id !== removed.id) ?? null);
                setStatus(`${removed.domain} removed.`);
              }}
            />
          ))}
        </ul>
      )}
    </Panel>
  );
}

// --- the SAML connection ---------------------------------------------------------------------------

function SamlPanel({ workspace, roles }: { workspace: Workspace; roles: readonly RoleChoice[] | null }) {
  const [view, setView] = useState<SamlConnectionView | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const loading = useAction();

  const load = useCallback(
    () =>
      loading.run(async () => {
        setView(await api.saml(workspace.id));
      }),
    [workspace.id],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const connection = view?.connection ?? null;
  const roleName = connection ? (roles?.find((c) => c.role.id === connection.defaultRoleId)?.role.name ?? connection.defaultRoleId) : undefined;

  return (
    <Panel title="SAML connection" titleId="sso-saml-title" testId="sso-saml">
      <ErrorMessage error={loading.error} testId="saml-load-error" />
      {view === null && !loading.error && <p role="status">Loading…</p>}
      {view && (
        <>
          <h3>Rampart's values for your identity provider</h3>
          <p class="hint">Create a SAML application in your IdP with these values (or give it the metadata URL).</p>
          <SpValues sp={view.sp} />
          <h3>Identity provider</h3>
          <Status message={status} />
          {connection ? <ConnectionSummary connection={connection} roleName={roleName} /> : <p class="empty" data-testid="saml-none">No identity provider is connected yet.</p>}
          {connection && !editing ? (
            <div class="actions">
              <button type="button" class="secondary" onClick={() => setEditing(true)}>
                Change the connection
              </button>
              <ConfirmButton
                label="Remove connection"
                confirmLabel="Remove the SAML connection"
                testId="remove-saml"
                describeError={describeSsoError}
                onConfirm={async () => {
                  await api.removeSaml(workspace.id);
                  setView({ sp: view.sp, connection: null });
                  setStatus('The SAML connection is removed.');
                }}
              />
            </div>
          ) : (
            roles && (
              <SamlForm
                key={connection?.updatedAt ?? 'new'}
                idPrefix="saml"
                connection={connection}
                roles={roles}
                onSave={async (body) => {
                  setView(await api.putSaml(workspace.id, body));
                  setEditing(false);
                  setStatus('The SAML connection is saved.');
                }}
              />
            )
          )}
          {connection && editing && (
            <div class="actions">
              <button type="button" class="secondary" onClick={() => setEditing(false)}>
                Cancel
              </button>
            </div>
          )}
        </>
      )}
    </Panel>
  );
}

// --- SCIM tokens -----------------------------------------------------------------------------------

function ScimPanel({ workspace }: { workspace: Workspace }) {
  const [tokens, setTokens] = useState<ScimToken[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();

  const load = useCallback(() => loading.run(async () => setTokens((await api.scimTokens(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Panel title="SCIM provisioning" titleId="sso-scim-title" testId="sso-scim">
      <p class="hint">
        The identity provider creates, updates and deactivates this workspace's members over SCIM 2.0 with a bearer token. Deactivating a user
        there ends their sessions here at once. At most three tokens are live: to rotate, create the new one, switch the IdP to it, then
        revoke the old one.
      </p>
      <NewScimTokenForm
        idPrefix="scim-token"
        create={(name) => api.createScimToken(workspace.id, name)}
        onCreated={(created) => {
          setStatus(null);
          const { token: _token, baseUrl: _baseUrl, ...listed } = created;
          setTokens((previous) => [listed, ...(previous ?? [])]);
        }}
      />
      <Status message={status} />
      <ErrorMessage error={loading.error} testId="scim-tokens-error" />
      {tokens !== null && (
        <ScimTokenList
          tokens={tokens}
          titleId="sso-scim-title"
          onRevoke={async (k) => {
            await api.revokeScimToken(workspace.id, k.id);
            const revokedAt = new Date().toISOString();
            setTokens((previous) => previous?.map((x) => (x.id === k.id ? { ...x, revokedAt } : x)) ?? null);
            setStatus(`The SCIM token “${k.name}” is revoked: the identity provider can no longer use it.`);
          }}
        />
      )}
    </Panel>
  );
}

// --- directory groups → roles -----------------------------------------------------------------------

function GroupRolesPanel({ workspace, roles }: { workspace: Workspace; roles: readonly RoleChoice[] | null }) {
  const [mappings, setMappings] = useState<GroupRoleMapping[] | null>(null);
  const [group, setGroup] = useState('');
  const [chosen, setChosen] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();
  const adding = useAction();

  const load = useCallback(
    () =>
      loading.run(async () => {
        setMappings((await api.groupRoles(workspace.id)).data);
      }),
    [workspace.id],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const roleId = chosen || (roles && preferredRole(roles)?.id) || '';

  const add = async () => {
    const wanted = group.trim();
    if (!wanted) {
      adding.setError('Name the group as the identity provider sends it.');
      return;
    }
    setStatus(null);
    await adding.run(async () => {
      const created = await api.createGroupRole(workspace.id, wanted, roleId);
      setMappings((previous) => [...(previous ?? []), created]);
      setGroup('');
      setStatus(`Members of “${created.groupKey}” now get the role ${created.role.name}.`);
    });
  };

  return (
    <Panel title="Directory groups and roles" titleId="sso-group-roles-title" testId="sso-group-roles">
      <p class="hint">
        Members of a directory group (a SCIM group's name, or a value of the SAML connection's groups attribute) get its role: at once for
        SCIM members, at the next SSO sign-in for the others. Group names are compared without case; the owner role is never given this way.
      </p>
      <ErrorMessage error={loading.error} testId="group-roles-error" />
      {roles && (
        <form
          class="inline-form"
          aria-label="New group mapping"
          onSubmit={(event) => {
            event.preventDefault();
            void add();
          }}
        >
          <label>
            Group name
            <input type="text" name="group" required maxLength={256} autocomplete="off" placeholder="e.g. Engineering" value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
          </label>
          <RoleSelect id="group-role" label="Role" name="group-role" value={roleId} choices={roles} placeholder="No role to offer" onChange={setChosen} />
          <button type="submit" disabled={adding.busy || !roleId}>
            Map group
          </button>
          <ErrorMessage error={adding.error} testId="group-role-error" />
        </form>
      )}
      <Status message={status} />
      {mappings !== null && mappings.length === 0 && (
        <p class="empty" data-testid="group-roles-empty">
          No group gives a role yet.
        </p>
      )}
      {mappings !== null && mappings.length > 0 && (
        <ul class="rows" aria-labelledby="sso-group-roles-title">
          {mappings.map((m) => (
            <li class="row" key={m.id} data-testid="group-role" data-group={m.groupKey}>
              <span class="row-main">
                <span>
                  <strong>{m.groupKey}</strong> → {m.role.name}
                </span>
                <span class="muted">
                  Added <ShortTime iso={m.createdAt} />
                </span>
              </span>
              <ConfirmButton
                label="Remove"
                confirmLabel="Remove the mapping"
                accessibleName={`Remove the mapping of ${m.groupKey} to ${m.role.name}`}
                testId="remove-group-role"
                onConfirm={async () => {
                  await api.removeGroupRole(workspace.id, m.id);
                  setMappings((previous) => previous?.filter((x) => x.id !== m.id) ?? null);
                  setStatus(`“${m.groupKey}” no longer gives the role ${m.role.name}.`);
                }}
              />
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

// --- setup links -----------------------------------------------------------------------------------

function NewSetupLink({ link, onDone }: { link: CreatedSetupLink; onDone: () => void }) {
  return (
    <ShownOnce title="Your setup link" titleId="setup-link-title" testId="setup-link-created" doneLabel="I have sent it" onDone={onDone}>
      <p>
        <strong>Copy it now: you will not see it again.</strong> Send it to your IT admin over a channel you trust. Anyone with the link can
        change this workspace's identity provider and create SCIM tokens; it stops working <ShortTime iso={link.expiresAt} />.
      </p>
      <CopyValue label="setup link" value={link.url} testId="setup-link-url" />
    </ShownOnce>
  );
}

function SetupLinksPanel({ workspace }: { workspace: Workspace }) {
  const [links, setLinks] = useState<SetupLink[] | null>(null);
  const [created, setCreated] = useState<CreatedSetupLink | null>(null);
  const [hours, setHours] = useState('72');
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();
  const creating = useAction();

  const load = useCallback(() => loading.run(async () => setLinks((await api.setupLinks(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async () => {
    const n = Number(hours);
    if (!Number.isInteger(n) || n < 1 || n > 168) {
      creating.setError('A setup link lasts from 1 to 168 hours (a week).');
      return;
    }
    setStatus(null);
    await creating.run(async () => {
      const link = await api.createSetupLink(workspace.id, n);
      const { url: _url, ...listed } = link;
      setCreated(link);
      setLinks((previous) => [listed, ...(previous ?? []).filter((l) => l.id !== link.id)]);
    });
  };

  return (
    <Panel title="Setup links" titleId="sso-setup-links-title" testId="sso-setup-links">
      <p class="hint">
        A time-limited link where your customer's IT admin sets up the identity provider without a Rampart account. Through it they see
        Rampart's values and your domains' records, and can save the SAML connection and create a SCIM token; revoking tokens, the default
        role and enforcement stay yours.
      </p>
      {created ? (
        <NewSetupLink link={created} onDone={() => setCreated(null)} />
      ) : (
        <form
          class="inline-form"
          aria-label="New setup link"
          onSubmit={(event) => {
            event.preventDefault();
            void create();
          }}
        >
          <label>
            Expires after (hours)
            <input type="number" name="setup-link-hours" min={1} max={168} step={1} required value={hours} onInput={(e) => setHours(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={creating.busy}>
            Create setup link
          </button>
          <ErrorMessage error={creating.error} testId="setup-link-error" />
        </form>
      )}
      <Status message={status} />
      <ErrorMessage error={loading.error} testId="setup-links-error" />
      {links !== null && links.length === 0 && (
        <p class="empty" data-testid="setup-links-empty">
          No live setup links.
        </p>
      )}
      {links !== null && links.length > 0 && (
        <ul class="rows" aria-labelledby="sso-setup-links-title">
          {links.map((l) => (
            <li class="row" key={l.id} data-testid="setup-link">
              <span class="row-main">
                <span>
                  Created <ShortTime iso={l.createdAt} />
                </span>
                <span class="muted">
                  Expires <ShortTime iso={l.expiresAt} />
                </span>
              </span>
              <ConfirmButton
                label="Revoke"
                confirmLabel="Revoke the link"
                accessibleName={`Revoke the setup link created ${exactLocal(l.createdAt)}`}
                testId="revoke-setup-link"
                onConfirm={async () => {
                  await api.revokeSetupLink(workspace.id, l.id);
                  setLinks((previous) => previous?.filter((x) => x.id !== l.id) ?? null);
                  setStatus('The setup link is revoked: it no longer opens.');
                }}
              />
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

// --- attempts --------------------------------------------------------------------------------------

const OUTCOME_BADGE: Record<SsoAttempt['outcome'], string> = { success: 'badge ok', failure: 'badge warn', denied: 'badge warn' };

function AttemptsPanel({ workspace }: { workspace: Workspace }) {
  const [attempts, setAttempts] = useState<SsoAttempt[] | null>(null);
  const loading = useAction();
  const load = useCallback(() => loading.run(async () => setAttempts((await api.ssoAttempts(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Panel title="Recent SSO attempts" titleId="sso-attempts-title" testId="sso-attempts">
      <ErrorMessage error={loading.error} testId="sso-attempts-error" />
      {attempts === null && !loading.error && <p role="status">Loading…</p>}
      {attempts !== null && attempts.length === 0 && (
        <p class="empty" data-testid="sso-attempts-empty">
          No SSO sign-in attempts yet.
        </p>
      )}
      {attempts !== null && attempts.length > 0 && (
        <Table
          label="Recent SSO attempts"
          rows={attempts}
          rowKey={(a) => `${a.time}-${a.requestId ?? a.nameId ?? ''}`}
          rowAttributes={(a) => ({ 'data-testid': 'sso-attempt', 'data-outcome': a.outcome })}
          columns={[
            { id: 'when', header: 'When', class: 'nowrap', cell: (a) => <Time iso={a.time} precise /> },
            {
              id: 'outcome',
              header: 'Outcome',
              cell: (a) => (
                <span class={OUTCOME_BADGE[a.outcome]} data-testid="sso-attempt-outcome">
                  {a.outcome}
                </span>
              ),
            },
            { id: 'reason', header: 'Reason', class: 'wrap', cell: (a) => <span data-testid="sso-attempt-reason">{a.reason ? <code>{a.reason}</code> : <span class="muted">—</span>}</span> },
            { id: 'name-id', header: 'NameID', class: 'wrap', cell: (a) => <span data-testid="sso-attempt-name-id">{a.nameId ?? <span class="muted">—</span>}</span> },
            { id: 'ip', header: 'IP', class: 'nowrap', cell: (a) => a.ip ?? <span class="muted">—</span> },
          ]}
        />
      )}
      <div class="actions">
        <button type="button" class="secondary" disabled={loading.busy} data-testid="refresh-sso-attempts" onClick={() => void load()}>
          Refresh
        </button>
      </div>
    </Panel>
  );
}

const SSO_TABS = [
  { id: 'saml', label: 'SAML' },
  { id: 'scim', label: 'SCIM' },
  { id: 'domains', label: 'Domains' },
  { id: 'groups', label: 'Directory groups' },
  { id: 'setup-links', label: 'Setup links' },
  { id: 'attempts', label: 'Sign-in attempts' },
] as const satisfies readonly TabItem[];

export type SsoTab = (typeof SSO_TABS)[number]['id'];

/** The tab a URL's `?tab=` names, SAML when none (or an unknown one). */
export function ssoTabOf(search: URLSearchParams): SsoTab {
  const wanted = search.get('tab');
  return SSO_TABS.find((t) => t.id === wanted)?.id ?? 'saml';
}

/** Single sign-on as tabs, the open one in the URL (`?tab=domains`), so it can be linked to. */
export function SsoSection({ workspace }: { workspace: Workspace }) {
  // The roles the SAML default role and the group mappings choose from, listed once for both.
  const roles = useRoleChoices(workspace);
  const { path, search } = useLocation();
  const tab = ssoTabOf(search);
  return (
    <>
      <ErrorMessage error={roles.error} testId="sso-roles-error" />
      <Tabs
        label="Single sign-on"
        tabs={SSO_TABS}
        selected={tab}
        testId="sso-tabs"
        onSelect={(id) => {
          const query = new URLSearchParams(search);
          query.set('tab', id);
          navigate(`${path}?${query.toString()}`, { replace: true });
        }}
      >
        {tab === 'saml' && <SamlPanel workspace={workspace} roles={roles.choices} />}
        {tab === 'scim' && <ScimPanel workspace={workspace} />}
        {tab === 'domains' && <DomainsPanel workspace={workspace} />}
        {tab === 'groups' && <GroupRolesPanel workspace={workspace} roles={roles.choices} />}
        {tab === 'setup-links' && <SetupLinksPanel workspace={workspace} />}
        {tab === 'attempts' && <AttemptsPanel workspace={workspace} />}
      </Tabs>
    </>
  );
}

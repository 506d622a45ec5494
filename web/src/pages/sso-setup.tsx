/**
 * The SSO setup page a workspace admin's setup link opens (`/sso-setup#token=…`), for the
 * customer's IT admin, who needs no Rampart account: Rampart's SP values, per-IdP steps, the
 * workspace's domains and their TXT records (read-only), the SAML connection form, and SCIM:
 * the base URL, the live tokens (read-only) and a form to create one.
 *
 * The token is read from the fragment once (see flow.ts), removed from the address bar, kept in
 * memory only, and sent only in request bodies: never in a query string, never in storage.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type SsoSetupView } from '../api';
import { ConnectionSummary, DomainRecord, SamlForm, SpValues } from '../components/saml';
import { NewScimTokenForm, ScimTokenList } from '../components/scim';
import { ShortTime } from '../components/time';
import { CopyValue, ErrorMessage, Status } from '../components/ui';
import { useFragmentToken } from '../flow';

type SetupState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly view: SsoSetupView }
  | { readonly status: 'failed'; readonly message: string };

function SetupLayout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="page sso-setup" id="main" data-testid="sso-setup">
      <p class="brand">Rampart</p>
      <h1>{title}</h1>
      {children}
    </main>
  );
}

export function SsoSetupPage() {
  const token = useFragmentToken();
  const [state, setState] = useState<SetupState>({ status: 'loading' });
  const [status, setStatus] = useState<string | null>(null);

  const load = useCallback(async () => {
    if (!token) return;
    try {
      setState({ status: 'ready', view: await api.ssoSetupView(token) });
    } catch (err) {
      setState({
        status: 'failed',
        message:
          err instanceof ApiError && err.code === 'invalid_link'
            ? 'This setup link is invalid, was revoked, or has expired. Ask the person who sent it for a new one.'
            : errorMessage(err),
      });
    }
  }, [token]);

  useEffect(() => {
    void load();
  }, [load]);

  if (!token) {
    return (
      <SetupLayout title="Set up single sign-on">
        <p data-testid="missing-token">This page opens from a setup link (it looks like <code>/sso-setup#token=…</code>). Open the link you were sent.</p>
      </SetupLayout>
    );
  }
  if (state.status === 'loading') {
    return (
      <SetupLayout title="Set up single sign-on">
        <p role="status">Loading…</p>
      </SetupLayout>
    );
  }
  if (state.status === 'failed') {
    return (
      <SetupLayout title="Set up single sign-on">
        <ErrorMessage error={state.message} testId="sso-setup-error" />
      </SetupLayout>
    );
  }

  const { view } = state;
  return (
    <SetupLayout title={`Set up single sign-on for ${view.workspace.name}`}>
      <p>
        You were sent this link to connect <strong data-testid="sso-setup-workspace">{view.workspace.name}</strong> to your organisation's
        identity provider. It stops working <ShortTime iso={view.expiresAt} testId="sso-setup-expires" />; keep it to yourself.
      </p>
      <section class="panel" aria-labelledby="setup-sp-title">
        <h2 id="setup-sp-title">1. Create a SAML application in your identity provider</h2>
        <p class="hint">Give it these values (or, where your IdP takes one, the metadata URL).</p>
        <SpValues sp={view.sp} />
        {view.instructions.map((i) => (
          <details key={i.idp} class="idp-steps" data-testid="idp-instructions" data-idp={i.idp}>
            <summary>Steps for {i.name}</summary>
            <ol class="steps">
              {i.steps.map((step) => (
                <li key={step}>{step}</li>
              ))}
            </ol>
          </details>
        ))}
      </section>
      <section class="panel" aria-labelledby="setup-domains-title">
        <h2 id="setup-domains-title">2. Your domains</h2>
        {view.domains.length === 0 ? (
          <p class="empty">The workspace claims no domain yet; its admins add them.</p>
        ) : (
          <ul class="rows" aria-labelledby="setup-domains-title">
            {view.domains.map((d) => (
              <li class="row" key={d.id} data-testid="setup-domain" data-domain={d.domain} data-status={d.status}>
                <span class="row-main">
                  <span>
                    <strong>{d.domain}</strong>{' '}
                    <span class={d.status === 'verified' ? 'badge ok' : 'badge pending'}>{d.status === 'verified' ? 'Verified' : 'Waiting for DNS'}</span>
                    {d.ssoEnforced && <span class="badge"> SSO enforced</span>}
                  </span>
                  {d.status !== 'verified' && <DomainRecord domain={d} />}
                </span>
              </li>
            ))}
          </ul>
        )}
        <p class="hint">Once the record is published, the workspace's admins verify the domain from their console.</p>
      </section>
      <section class="panel" aria-labelledby="setup-saml-title">
        <h2 id="setup-saml-title">3. Give Rampart your identity provider's details</h2>
        <Status message={status} />
        {view.connection && <ConnectionSummary connection={view.connection} />}
        <SamlForm
          key={view.connection?.updatedAt ?? 'new'}
          idPrefix="setup-saml"
          connection={view.connection}
          roles={null}
          onSave={async (body) => {
            const saved = await api.ssoSetupSaml(token, body);
            setState({ status: 'ready', view: { ...view, sp: saved.sp, connection: saved.connection } });
            setStatus('The SAML connection is saved. The workspace admins can now test sign-in.');
          }}
        />
      </section>
      <section class="panel" aria-labelledby="setup-scim-title" data-testid="setup-scim">
        <h2 id="setup-scim-title">4. Provision users with SCIM (optional)</h2>
        <p class="hint">
          In the identity provider's provisioning settings, give this base URL and a token created here. Users and groups assigned to the
          application are then created, updated and deactivated in {view.workspace.name} automatically.
        </p>
        <CopyValue label="SCIM base URL" value={view.scim.baseUrl} testId="setup-scim-base-url" />
        {view.instructions.map((i) => (
          <details key={i.idp} class="idp-steps" data-testid="idp-provisioning" data-idp={i.idp}>
            <summary>Provisioning with {i.name}</summary>
            <ol class="steps">
              {i.provisioning.map((step) => (
                <li key={step}>{step}</li>
              ))}
            </ol>
          </details>
        ))}
        <ScimTokenList tokens={view.scim.tokens.filter((k) => !k.revokedAt)} titleId="setup-scim-title" />
        <NewScimTokenForm
          idPrefix="setup-scim-token"
          create={(name) => api.ssoSetupScimToken(token, name)}
          onCreated={(created) => {
            const { token: _token, baseUrl: _baseUrl, ...listed } = created;
            setState({ status: 'ready', view: { ...view, scim: { ...view.scim, tokens: [listed, ...view.scim.tokens] } } });
          }}
        />
        <p class="hint">Revoking a token is done by the workspace's admins in their console.</p>
      </section>
    </SetupLayout>
  );
}

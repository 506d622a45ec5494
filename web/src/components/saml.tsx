/**
 * SAML pieces shared by the console's single sign-on section and the setup-link page: Rampart's
 * SP values, a domain's TXT record, the current connection, and the connection
 * form (metadata XML, metadata URL, or entity id + SSO URL + certificate, and its options).
 */
import { useState } from 'preact/hooks';
import {
  ApiError,
  errorMessage,
  type Domain,
  type SamlConnection,
  type SamlConnectionInput,
  type SamlSource,
  type SpInfo,
} from '../api';
import { useAction } from '../hooks';
import { type RoleChoice, RoleSelect } from './scopes';
import { ShortTime } from './time';
import { CopyValue, ErrorMessage, Status } from './ui';

/** An API error's message, with the reason the server gives for it (`details.reason`) when there is one. */
export function describeSsoError(err: unknown): string {
  if (err instanceof ApiError && typeof err.details === 'object' && err.details !== null && 'reason' in err.details) {
    const reason = err.details.reason;
    if (typeof reason === 'string' && reason) return `${err.message} (${reason.replace(/_/g, ' ')})`;
  }
  return errorMessage(err);
}

/** Rampart's service provider values, as the IdP needs them. */
export function SpValues({ sp }: { sp: SpInfo }) {
  return (
    <dl class="facts sp-values" data-testid="sp-values">
      <dt>Entity ID (audience)</dt>
      <dd>
        <CopyValue label="entity ID" value={sp.entityId} testId="sp-entity-id" />
      </dd>
      <dt>ACS URL (reply URL)</dt>
      <dd>
        <CopyValue label="ACS URL" value={sp.acsUrl} testId="sp-acs-url" />
      </dd>
      <dt>Metadata URL</dt>
      <dd>
        <CopyValue label="metadata URL" value={sp.metadataUrl} testId="sp-metadata-url" />
      </dd>
      <dt>Sign-in URL</dt>
      <dd>
        <CopyValue label="sign-in URL" value={sp.loginUrl} testId="sp-login-url" />
      </dd>
    </dl>
  );
}

/** The TXT record that proves a domain, at either of its names. */
export function DomainRecord({ domain }: { domain: Domain }) {
  const [preferred, ...others] = [...domain.verification.names].sort((a, b) => b.length - a.length);
  return (
    <div class="stack domain-record" data-testid="domain-record">
      <p class="hint">
        Publish this {domain.verification.type} record in the DNS of <strong>{domain.domain}</strong>
        {preferred ? (
          <>
            {' '}
            at <code>{preferred}</code>
            {others.length > 0 && (
              <>
                {' '}
                (or at <code>{others.join(', ')}</code>)
              </>
            )}
          </>
        ) : null}
        :
      </p>
      <CopyValue label={`TXT record value for ${domain.domain}`} value={domain.verification.value} testId="domain-txt-value" />
    </div>
  );
}

const SOON_MS = 30 * 24 * 60 * 60 * 1000;

/** The IdP as the connection knows it: entity id, SSO URL, options and signing certificates. */
export function ConnectionSummary({ connection, roleName }: { connection: SamlConnection; roleName?: string | undefined }) {
  const now = Date.now();
  const attr = (value: string | null, fallback: string) => (value ? <code>{value}</code> : <span class="muted">{fallback}</span>);
  return (
    <div class="stack" data-testid="saml-connection">
      <p>
        <span class={connection.enabled ? 'badge ok' : 'badge warn'} data-testid="saml-connection-status">
          {connection.enabled ? 'Enabled' : 'Disabled'}
        </span>{' '}
        <span class="muted">
          Updated <ShortTime iso={connection.updatedAt} />
        </span>
      </p>
      <dl class="facts">
        <dt>IdP entity ID</dt>
        <dd data-testid="saml-idp-entity-id">{connection.idpEntityId}</dd>
        <dt>IdP SSO URL</dt>
        <dd data-testid="saml-idp-sso-url">{connection.ssoUrl}</dd>
        {connection.metadataUrl && (
          <>
            <dt>Metadata URL</dt>
            <dd>{connection.metadataUrl}</dd>
          </>
        )}
        <dt>IdP-initiated sign-in</dt>
        <dd>{connection.allowIdpInitiated ? 'Allowed' : 'Refused'}</dd>
        <dt>Clock skew</dt>
        <dd>{connection.clockSkewSeconds} s</dd>
        <dt>Just-in-time provisioning</dt>
        <dd>{connection.jitProvisioning ? 'On' : 'Off'}</dd>
        {roleName !== undefined && (
          <>
            <dt>Default role</dt>
            <dd>{roleName}</dd>
          </>
        )}
        <dt>Email attribute</dt>
        <dd>{attr(connection.attributes.email, 'the NameID')}</dd>
        <dt>Name attribute</dt>
        <dd>{attr(connection.attributes.name, 'none')}</dd>
        <dt>Groups attribute</dt>
        <dd>{attr(connection.attributes.groups, 'none')}</dd>
      </dl>
      <h3>Signing certificates</h3>
      <ul class="rows" data-testid="saml-certificates">
        {connection.certificates.map((c) => {
          const ends = new Date(c.notAfter).getTime();
          const expired = ends <= now;
          const soon = !expired && ends - now < SOON_MS;
          return (
            <li class="row" key={c.fingerprintSha256} data-testid="saml-certificate">
              <span class="row-main">
                <span>
                  <strong>{c.subject}</strong>{' '}
                  {(expired || soon) && <span class="badge warn">{expired ? 'Expired' : 'Expires soon'}</span>}
                </span>
                <span class="muted">
                  {expired ? 'Expired' : 'Expires'} <ShortTime iso={c.notAfter} />
                </span>
                <span class="muted">
                  SHA-256 <code class="hash" data-testid="saml-certificate-fingerprint">{c.fingerprintSha256}</code>
                </span>
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

type SourceMode = 'xml' | 'url' | 'manual';
const MODES: readonly { id: SourceMode; label: string }[] = [
  { id: 'xml', label: 'Paste metadata XML' },
  { id: 'url', label: 'Metadata URL' },
  { id: 'manual', label: 'Enter manually' },
];

/** The PEM blocks of a text, or the text itself as one base64 certificate. */
function certificatesOf(text: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (blocks) return blocks;
  const trimmed = text.trim();
  return trimmed ? [trimmed] : [];
}

export interface SamlFormProps {
  /** The connection as it is, to start from; null for a first one. */
  readonly connection: SamlConnection | null;
  /** The roles one can be given at provisioning (no owner); null where provisioning is not set here (a setup link). */
  readonly roles: readonly RoleChoice[] | null;
  readonly onSave: (body: SamlConnectionInput) => Promise<void>;
  readonly idPrefix: string;
}

/** Sets up or replaces the connection: one source of IdP settings, and the options. */
export function SamlForm({ connection, roles, onSave, idPrefix }: SamlFormProps) {
  const [mode, setMode] = useState<SourceMode>(connection?.metadataUrl ? 'url' : 'xml');
  const [xml, setXml] = useState('');
  const [url, setUrl] = useState(connection?.metadataUrl ?? '');
  const [entityId, setEntityId] = useState(connection?.idpEntityId ?? '');
  const [ssoUrl, setSsoUrl] = useState(connection?.ssoUrl ?? '');
  const [certificate, setCertificate] = useState('');
  const [enabled, setEnabled] = useState(connection?.enabled ?? true);
  const [idpInitiated, setIdpInitiated] = useState(connection?.allowIdpInitiated ?? false);
  const [skew, setSkew] = useState(String(connection?.clockSkewSeconds ?? 120));
  const [jit, setJit] = useState(connection?.jitProvisioning ?? true);
  // The role provisioning gives now (a new connection's is the member role). Keeping it needs no
  // scopes, so it stays selectable; no other role is ever chosen for the admin.
  const kept = connection?.defaultRoleId ?? roles?.find((c) => c.role.builtin === 'member')?.role.id;
  const choices = roles?.map((c) => (c.role.id === kept ? { ...c, grantable: true } : c)) ?? null;
  // Not listed (the caller cannot read the roles): none is sent, and the server keeps it.
  const [roleId, setRoleId] = useState(choices?.some((c) => c.role.id === kept) ? (kept ?? '') : '');
  const [emailAttr, setEmailAttr] = useState(connection?.attributes.email ?? '');
  const [nameAttr, setNameAttr] = useState(connection?.attributes.name ?? '');
  const [groupsAttr, setGroupsAttr] = useState(connection?.attributes.groups ?? '');
  const [status, setStatus] = useState<string | null>(null);
  const { busy, error, setError, run } = useAction({ describeError: describeSsoError });
  const id = (name: string) => `${idPrefix}-${name}`;

  const source = (): SamlSource | string => {
    if (mode === 'xml') return xml.trim() ? { metadataXml: xml.trim() } : 'Paste the metadata XML your identity provider gives.';
    if (mode === 'url') return /^https?:\/\/\S+$/.test(url.trim()) ? { metadataUrl: url.trim() } : 'Enter the metadata URL (https://…) your identity provider gives.';
    const certificates = certificatesOf(certificate);
    if (!entityId.trim() || !/^https?:\/\/\S+$/.test(ssoUrl.trim()) || certificates.length === 0) {
      return 'Enter the IdP entity ID, its SSO URL (https://…) and its signing certificate.';
    }
    return { idpEntityId: entityId.trim(), ssoUrl: ssoUrl.trim(), certificates };
  };

  const save = async () => {
    setStatus(null);
    const from = source();
    if (typeof from === 'string') {
      setError(from);
      return;
    }
    const seconds = Number(skew);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 600) {
      setError('The clock skew is a whole number of seconds from 0 to 600.');
      return;
    }
    const body: SamlConnectionInput = {
      ...from,
      enabled,
      allowIdpInitiated: idpInitiated,
      clockSkewSeconds: seconds,
      attributes: { email: emailAttr.trim() || null, name: nameAttr.trim() || null, groups: groupsAttr.trim() || null },
      ...(choices ? { jitProvisioning: jit, ...(roleId ? { defaultRoleId: roleId } : {}) } : {}),
    };
    await run(async () => {
      await onSave(body);
      setXml('');
      setCertificate('');
      setStatus('The SAML connection is saved.');
    });
  };

  return (
    <form
      class="stack saml-form"
      aria-label="SAML connection"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <fieldset class="segmented">
        <legend>Where the identity provider's settings come from</legend>
        {MODES.map((m) => (
          <label key={m.id} class={mode === m.id ? 'selected' : undefined}>
            <input type="radio" name={id('source')} value={m.id} checked={mode === m.id} onChange={() => setMode(m.id)} />
            {m.label}
          </label>
        ))}
      </fieldset>
      {mode === 'xml' && (
        <label>
          IdP metadata XML
          <textarea
            name="metadata-xml"
            rows={8}
            spellcheck={false}
            aria-describedby={id('xml-hint')}
            value={xml}
            onInput={(e) => setXml(e.currentTarget.value)}
          />
        </label>
      )}
      {mode === 'xml' && (
        <p class="hint" id={id('xml-hint')}>
          The IdP's federation metadata (an <code>EntityDescriptor</code> with its signing certificate and SSO URL).
          {connection && ' Saving replaces the IdP settings the connection has now.'}
        </p>
      )}
      {mode === 'url' && (
        <>
          <label>
            IdP metadata URL
            <input type="url" name="metadata-url" autocomplete="off" spellcheck={false} aria-describedby={id('url-hint')} value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
          </label>
          <p class="hint" id={id('url-hint')}>
            Rampart fetches it now, once (https, within 5 seconds, at most 512 KiB). Saving again fetches it again.
          </p>
        </>
      )}
      {mode === 'manual' && (
        <>
          <label>
            IdP entity ID
            <input type="text" name="idp-entity-id" autocomplete="off" spellcheck={false} value={entityId} onInput={(e) => setEntityId(e.currentTarget.value)} />
          </label>
          <label>
            IdP SSO URL
            <input type="url" name="idp-sso-url" autocomplete="off" spellcheck={false} value={ssoUrl} onInput={(e) => setSsoUrl(e.currentTarget.value)} />
          </label>
          <label>
            Signing certificate (PEM)
            <textarea
              name="idp-certificate"
              rows={6}
              spellcheck={false}
              aria-describedby={id('cert-hint')}
              value={certificate}
              onInput={(e) => setCertificate(e.currentTarget.value)}
            />
          </label>
          <p class="hint" id={id('cert-hint')}>
            One or more <code>-----BEGIN CERTIFICATE-----</code> blocks (two during a certificate rollover).
          </p>
        </>
      )}
      <fieldset class="stack">
        <legend>Options</legend>
        <label class="checkbox">
          <input type="checkbox" name="saml-enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
          Enabled
        </label>
        <label class="checkbox">
          <input
            type="checkbox"
            name="allow-idp-initiated"
            checked={idpInitiated}
            aria-describedby={id('idp-initiated-hint')}
            onChange={(e) => setIdpInitiated(e.currentTarget.checked)}
          />
          Allow IdP-initiated sign-in
        </label>
        <p class="hint" id={id('idp-initiated-hint')}>
          Accepts responses that no Rampart sign-in asked for (a tile in the IdP's portal). Off is safer.
        </p>
        {choices && (
          <>
            <label class="checkbox">
              <input type="checkbox" name="jit-provisioning" checked={jit} aria-describedby={id('jit-hint')} onChange={(e) => setJit(e.currentTarget.checked)} />
              Just-in-time provisioning
            </label>
            <p class="hint" id={id('jit-hint')}>
              Creates the account and the membership at a person's first sign-in, for emails of the workspace's verified domains.
            </p>
            <RoleSelect
              id={id('default-role')}
              label="Default role"
              name="default-role"
              value={roleId}
              choices={choices}
              placeholder={connection ? 'The current role' : 'Member (the default)'}
              onChange={setRoleId}
            />
          </>
        )}
        <label>
          Clock skew (seconds)
          <input type="number" name="clock-skew" min={0} max={600} step={1} value={skew} onInput={(e) => setSkew(e.currentTarget.value)} />
        </label>
      </fieldset>
      <fieldset class="stack">
        <legend>Attribute names (optional)</legend>
        <label>
          Email attribute
          <input type="text" name="attr-email" autocomplete="off" spellcheck={false} placeholder="the NameID" value={emailAttr} onInput={(e) => setEmailAttr(e.currentTarget.value)} />
        </label>
        <label>
          Name attribute
          <input type="text" name="attr-name" autocomplete="off" spellcheck={false} value={nameAttr} onInput={(e) => setNameAttr(e.currentTarget.value)} />
        </label>
        <label>
          Groups attribute
          <input type="text" name="attr-groups" autocomplete="off" spellcheck={false} value={groupsAttr} onInput={(e) => setGroupsAttr(e.currentTarget.value)} />
        </label>
      </fieldset>
      <ErrorMessage error={error} testId="saml-error" />
      <Status message={status} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save connection'}
        </button>
      </div>
    </form>
  );
}

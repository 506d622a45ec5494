/**
 * SAML 2.0 single sign-on per workspace, with Rampart as the service provider.
 *
 * @node-saml/node-saml verifies the XML signature against the workspace's IdP certificates (and
 * only those: a certificate in the response's KeyInfo is never trusted), the timestamps with the
 * workspace's clock skew, and the audience. Rampart screens the response before that (xml.ts)
 * and checks afterwards, from the signed assertion alone: issuer, recipient, destination, our
 * InResponseTo (single use, bound to the browser that started), and the replay cache.
 *
 * Identities are (connection, NameID). A NameID seen for the first time is linked to an account
 * only when the email it asserts is in a domain this workspace verified: the domain's owner
 * already controls that mailbox, so the link gives nobody an account they could not reset into.
 */
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import { randomBytes } from 'node:crypto';
import { tenantContext, type Database, type TenantContext, type Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import { configAttribution, type ConfigCaller, type RequestMeta, type WorkspaceCaller } from '../../platform/http/context.js';
import type { Throttle } from '../../platform/http/throttle.js';
import { isUuid, newId, sha256 } from '../../platform/ids.js';
import { signInFacts, type AccountsService, type SignInResult } from '../accounts/index.js';
import { isProvisionableEmail, type DirectoryService } from '../directory/index.js';
import type { DomainsService } from '../domains/index.js';
import type { MembersService } from '../members/index.js';
import type { WorkspaceEvents } from '../events/index.js';
import { fetchMetadata, normalizeCertificate, parseIdpMetadata, pem, certificateFacts, type IdpSettings } from './metadata.js';
import type { ConnectionBodyInput, ConnectionView, SpInfoView, SsoAttemptView } from './schemas.js';
import * as store from './store.js';
import { assertionFacts, SamlRefusal, screenResponse, type AssertionFacts } from './xml.js';

export const REQUEST_TTL_SECONDS = 5 * 60;
const NAME_ID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

export interface SsoDeps {
  readonly db: Database;
  readonly accounts: AccountsService;
  readonly domains: DomainsService;
  readonly events: WorkspaceEvents;
  readonly throttle: Throttle;
  /** Just-in-time provisioning is the directory's, the same as SCIM's. */
  readonly directory: Pick<DirectoryService, 'provisionIn' | 'rejoinIn' | 'setDirectoryRolesIn'>;
  readonly members: Pick<MembersService, 'isMemberIn' | 'builtinRoleIdIn' | 'grantableRoleIn'>;
  /** This instance's public base URL (entity ids and ACS URLs are built on it). */
  readonly baseUrl: () => string;
  readonly maxResponseBytes: number;
  /** Metadata URLs may point at private addresses (a local IdP); off in production. */
  readonly allowPrivateMetadata: boolean;
}

export type AcsOutcome =
  /** `requestId`: the request this response used (its binding is spent), null for IdP-initiated. */
  | { readonly kind: 'signed_in'; readonly result: SignInResult; readonly returnTo: string; readonly requestId: string | null }
  | { readonly kind: 'failed'; readonly code: string; readonly reason: string; readonly detail: string };

/** Whether the transaction's workspace has an enabled SAML connection. */
export async function hasSamlConnectionIn(tx: Tx): Promise<boolean> {
  const c = await store.connection(tx);
  return c !== null && c.enabled;
}

/** The transaction's workspace's SAML connection at a glance (null when there is none): on or off, and its IdP certificates. */
export async function samlSummaryIn(tx: Tx): Promise<{ enabled: boolean; certificates: Array<{ notAfter: string; fingerprintSha256: string }> } | null> {
  const c = await store.connection(tx);
  return c ? { enabled: c.enabled, certificates: c.certificates.map(certificateFacts) } : null;
}

export function spPaths(workspaceId: string) {
  const base = `/api/v1/sso/saml/${workspaceId}`;
  return { metadata: `${base}/metadata`, acs: `${base}/acs`, login: `${base}/login` };
}

function safeReturnTo(value: string | null | undefined): string | null {
  if (!value || value.length > 512 || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || /[\r\n]/.test(value)) return null;
  return value;
}

export class SsoService {
  constructor(private readonly deps: SsoDeps) {}

  private ctx(workspaceId: string): TenantContext {
    if (!isUuid(workspaceId)) throw new RampartError('sso_not_configured');
    return tenantContext(workspaceId, null);
  }

  sp(workspaceId: string): SpInfoView {
    const base = this.deps.baseUrl();
    const paths = spPaths(workspaceId);
    return { entityId: `${base}${paths.metadata}`, acsUrl: `${base}${paths.acs}`, metadataUrl: `${base}${paths.metadata}`, loginUrl: `${base}${paths.login}` };
  }

  private saml(workspaceId: string, connection: store.ConnectionRow | null, requestId?: string): SAML {
    return samlFor(this.sp(workspaceId), connection ? idpOf(connection) : null, requestId);
  }

  /** Rampart's SP metadata for the workspace (public: the IdP admin needs it before anything). */
  async metadata(workspaceId: string): Promise<string> {
    const exists = await this.deps.db.withTenant(this.ctx(workspaceId), (tx) => store.workspaceExists(tx), { readOnly: true });
    if (!exists) throw new RampartError('sso_not_configured');
    return this.saml(workspaceId, null).generateServiceProviderMetadata(null, null);
  }

  // --- configuration ---------------------------------------------------------------------------------

  private view(workspaceId: string, row: store.ConnectionRow | null): ConnectionView {
    return {
      sp: this.sp(workspaceId),
      connection: row
        ? {
            id: row.id,
            enabled: row.enabled,
            idpEntityId: row.idp_entity_id,
            ssoUrl: row.sso_url,
            metadataUrl: row.metadata_url,
            certificates: row.certificates.map(certificateFacts),
            allowIdpInitiated: row.allow_idp_initiated,
            clockSkewSeconds: row.clock_skew_seconds,
            jitProvisioning: row.jit_provisioning,
            defaultRoleId: row.default_role_id,
            attributes: { email: row.email_attribute, name: row.name_attribute, groups: row.groups_attribute },
            updatedAt: row.updated_at.toISOString(),
          }
        : null,
    };
  }

  async get(ctx: TenantContext): Promise<ConnectionView> {
    const row = await this.deps.db.withTenant(ctx, (tx) => store.connection(tx), { readOnly: true });
    return this.view(ctx.tenantId, row);
  }

  /** The IdP's settings from whichever the body gives: metadata XML, a metadata URL, or the three fields. */
  private async idpSettings(input: ConnectionBodyInput): Promise<IdpSettings & { metadataUrl: string | null }> {
    if (input.metadataXml !== undefined) return { ...parseIdpMetadata(input.metadataXml), metadataUrl: null };
    if (input.metadataUrl !== undefined) {
      const xml = await fetchMetadata(input.metadataUrl, { allowPrivate: this.deps.allowPrivateMetadata });
      return { ...parseIdpMetadata(xml), metadataUrl: input.metadataUrl };
    }
    if (input.idpEntityId === undefined || input.ssoUrl === undefined || input.certificates === undefined) {
      throw new RampartError('validation_failed', { message: 'Give metadataXml, metadataUrl, or idpEntityId, ssoUrl and certificates.' });
    }
    const certificates = [...new Set(input.certificates.map(normalizeCertificate))];
    return { entityId: input.idpEntityId, ssoUrl: input.ssoUrl, certificates, metadataUrl: null };
  }

  /**
   * The role every provisioned account gets. Choosing another one is granting it, so it goes through
   * the members' rule (never the owner role, only roles whose scopes the caller holds); keeping the
   * current one needs nothing, and a new connection's current one is the built-in member role,
   * named or not. A setup link never chooses one (its body has no such field).
   */
  private async defaultRoleIdIn(tx: Tx, caller: ConfigCaller, wanted: string | undefined, current: string | undefined): Promise<string> {
    const kept = current ?? (await this.deps.members.builtinRoleIdIn(tx, 'member'));
    if (wanted === undefined || wanted === kept) return kept;
    if (caller.actor === null) throw new RampartError('validation_failed', { message: 'A setup link cannot choose the default role.' });
    return (await this.deps.members.grantableRoleIn(tx, caller, wanted)).id;
  }

  /** Creates or replaces the workspace's connection. `actor` null is the setup link. */
  async put(caller: ConfigCaller, input: ConnectionBodyInput): Promise<ConnectionView> {
    const idp = await this.idpSettings(input);
    const attribution = configAttribution(caller);
    const row = await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const before = await store.connection(tx, true);
      const defaultRoleId = await this.defaultRoleIdIn(tx, caller, input.defaultRoleId, before?.default_role_id);
      const saved = await store.upsertConnection(
        tx,
        before?.id ?? newId(),
        {
          enabled: input.enabled ?? before?.enabled ?? true,
          entityId: idp.entityId,
          ssoUrl: idp.ssoUrl,
          certificates: idp.certificates,
          metadataUrl: idp.metadataUrl,
          allowIdpInitiated: input.allowIdpInitiated ?? before?.allow_idp_initiated ?? false,
          clockSkewSeconds: input.clockSkewSeconds ?? before?.clock_skew_seconds ?? 120,
          jitProvisioning: input.jitProvisioning ?? before?.jit_provisioning ?? true,
          defaultRoleId,
          emailAttribute: input.attributes?.email !== undefined ? input.attributes.email : (before?.email_attribute ?? null),
          nameAttribute: input.attributes?.name !== undefined ? input.attributes.name : (before?.name_attribute ?? null),
          groupsAttribute: input.attributes?.groups !== undefined ? input.attributes.groups : (before?.groups_attribute ?? null),
        },
        attribution.createdBy,
      );
      if (!saved.enabled && (await store.enforcedDomains(tx)).length > 0) throw new RampartError('conflict', { message: 'Stop enforcing SSO on the workspace’s domains before disabling its connection.' });
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        {
          action: before ? 'sso.connection.updated' : 'sso.connection.created',
          outcome: 'success',
          target: { type: 'saml_connection', id: saved.id },
          details: {
            idpEntityId: saved.idp_entity_id,
            enabled: saved.enabled,
            certificates: saved.certificates.map((c) => certificateFacts(c).fingerprintSha256),
            allowIdpInitiated: saved.allow_idp_initiated,
            clockSkewSeconds: saved.clock_skew_seconds,
            source: input.metadataXml !== undefined ? 'metadata_xml' : input.metadataUrl !== undefined ? 'metadata_url' : 'fields',
            ...attribution.details,
          },
        },
        caller.meta,
      );
      return saved;
    });
    return this.view(caller.tenant.tenantId, row);
  }

  async remove(caller: WorkspaceCaller): Promise<void> {
    await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const before = await store.connection(tx, true);
      if (!before) throw new RampartError('sso_not_configured');
      if ((await store.enforcedDomains(tx)).length > 0) throw new RampartError('conflict', { message: 'Stop enforcing SSO on the workspace’s domains before removing its connection.' });
      await store.deleteConnection(tx);
      await this.deps.events.recordIn(tx, caller.actor, { action: 'sso.connection.deleted', outcome: 'success', target: { type: 'saml_connection', id: before.id }, details: { idpEntityId: before.idp_entity_id } }, caller.meta);
    });
  }

  /** The workspace's recent SSO sign-in attempts, each failure with its reason. */
  async attempts(ctx: TenantContext, limit: number): Promise<SsoAttemptView[]> {
    const events = await this.deps.events.list(ctx, { limit, action: 'sso.sign_in' });
    return events.map((e) => ({
      time: e.time,
      outcome: e.outcome,
      reason: typeof e.details['reason'] === 'string' ? e.details['reason'] : null,
      accountId: e.target?.type === 'account' ? e.target.id : null,
      nameId: typeof e.details['nameId'] === 'string' ? e.details['nameId'] : null,
      ip: e.ip,
      requestId: e.requestId,
    }));
  }

  // --- sign-in -----------------------------------------------------------------------------------------

  /** Home-realm discovery: whether an email's domain signs in through a workspace's SSO. */
  async discover(email: string): Promise<{ sso: boolean; enforced: boolean; workspaceId: string | null; loginUrl: string | null }> {
    const policy = await this.deps.domains.policy(email);
    if (!policy) return { sso: false, enforced: false, workspaceId: null, loginUrl: null };
    const enabled = await this.deps.db.withTenant(this.ctx(policy.workspaceId), (tx) => hasSamlConnectionIn(tx), { readOnly: true });
    if (!enabled) return { sso: false, enforced: false, workspaceId: null, loginUrl: null };
    return { sso: true, enforced: policy.enforced, workspaceId: policy.workspaceId, loginUrl: this.sp(policy.workspaceId).loginUrl };
  }

  /**
   * An AuthnRequest for the browser to carry to the IdP (HTTP-Redirect binding), and the binding
   * value the browser keeps for this request alone (see `acs`).
   */
  async start(workspaceId: string, returnTo: string | undefined, meta: RequestMeta): Promise<{ url: string; requestId: string; binding: string }> {
    await this.deps.throttle.hitIp(meta.ip);
    const ctx = this.ctx(workspaceId);
    const binding = randomBytes(32).toString('base64url');
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const connection = await this.deps.db.withTenant(ctx, async (tx) => {
      const c = await store.connection(tx);
      if (!c || !c.enabled) return null;
      await store.purgeExpired(tx);
      await store.insertRequest(tx, { id: requestId, bindingHash: sha256(binding), returnTo: safeReturnTo(returnTo), ttlSeconds: REQUEST_TTL_SECONDS });
      return c;
    });
    if (!connection) throw new RampartError('sso_not_configured');
    const url = await this.saml(workspaceId, connection, requestId).getAuthorizeUrlAsync('', undefined, {});
    await this.deps.events.record(ctx, null, { action: 'sso.sign_in_started', outcome: 'success', details: { method: 'saml', requestId } }, meta);
    return { url, requestId, binding };
  }

  /**
   * The assertion consumer service. Never throws for a refused response: the outcome says what
   * the browser sees, and the attempt is already the workspace's event, with its reason.
   *
   * `bindingFor` gives the binding value the browser holds for a request id (each pending
   * sign-in has its own). The request is used only by a valid response whose request this
   * browser holds the binding of, in the transaction that signs in; any refusal rolls that back,
   * so a junk or misdirected post uses nothing.
   */
  async acs(
    workspaceId: string,
    form: { SAMLResponse?: string | undefined; RelayState?: string | undefined },
    bindingFor: (requestId: string) => string | null,
    meta: RequestMeta,
  ): Promise<AcsOutcome> {
    let ctx: TenantContext | null = null;
    let nameId: string | null = null;
    try {
      ctx = this.ctx(workspaceId);
      await this.deps.throttle.hitIp(meta.ip);
      const connection = await this.deps.db.withTenant(ctx, (tx) => store.connection(tx), { readOnly: true });
      if (!connection || !connection.enabled) throw new SamlRefusal('not_configured');
      const facts = await verifyResponse(form.SAMLResponse ?? '', idpOf(connection), this.sp(workspaceId), this.deps.maxResponseBytes);
      nameId = facts.nameId.slice(0, 256);

      return await this.deps.db.withTenant(ctx, async (tx) => {
        let returnTo = '/';
        if (facts.inResponseTo === null) {
          if (!connection.allow_idp_initiated) throw new SamlRefusal('unsolicited_response', 'IdP-initiated sign-in is off for this workspace');
        } else {
          const request = await store.claimRequest(tx, facts.inResponseTo);
          if (!request) throw new SamlRefusal('unknown_in_response_to', 'no live request with this id (unknown, used or expired)');
          const binding = bindingFor(facts.inResponseTo);
          if (!binding || !sha256(binding).equals(request.binding_hash)) throw new SamlRefusal('other_browser', 'the response came back to another browser than the one that started');
          returnTo = request.return_to ?? '/';
        }
        const expiresAt = new Date(facts.notOnOrAfter.getTime() + connection.clock_skew_seconds * 1000);
        if (!(await store.rememberAssertion(tx, facts.id, expiresAt))) throw new SamlRefusal('replayed_assertion');

        const { accountId, provisioning } = await this.identify(tx, connection, facts);
        const groupsAttribute = connection.groups_attribute;
        const groups = groupsAttribute ? (facts.attributes.get(groupsAttribute) ?? []).filter((g) => g.length > 0) : null;
        const roles = groups ? await this.deps.directory.setDirectoryRolesIn(tx, accountId, groups) : null;
        const result = await this.deps.accounts.samlSignInIn(tx, accountId, 'cookie', meta, workspaceId);
        await this.deps.events.recordIn(
          tx,
          { type: 'account', id: accountId },
          {
            action: 'sso.sign_in',
            outcome: 'success',
            target: { type: 'account', id: accountId },
            details: { ...signInFacts('saml', result), nameId, idpInitiated: facts.inResponseTo === null, ...provisioning, ...(roles ? { rolesAdded: roles.added, rolesRemoved: roles.removed } : {}) },
          },
          meta,
        );
        return { kind: 'signed_in' as const, result, returnTo, requestId: facts.inResponseTo };
      });
    } catch (err) {
      const refusal =
        err instanceof SamlRefusal
          ? err
          : err instanceof RampartError && err.expose
            ? new SamlRefusal(err.code, err.internal ?? err.message)
            : new SamlRefusal('internal', err instanceof Error ? err.message : String(err));
      const code = refusal.reason === 'sso_required' ? 'sso_required' : refusal.reason === 'rate_limited' ? 'rate_limited' : 'sign_in_failed';
      if (ctx && refusal.reason !== 'rate_limited') {
        try {
          await this.deps.events.record(ctx, null, { action: 'sso.sign_in', outcome: 'failure', details: { reason: refusal.reason, ...(nameId ? { nameId } : {}) } }, meta);
        } catch {
          // The workspace does not exist: there is no workspace log to write to.
        }
      }
      return { kind: 'failed', code, reason: refusal.reason, detail: refusal.detail };
    }
  }

  /** The account a signed assertion names: its linked identity, or a link or new account by a verified domain's email. */
  private async identify(tx: Tx, connection: store.ConnectionRow, facts: AssertionFacts): Promise<{ accountId: string; provisioning: Record<string, boolean> }> {
    // Refused before anything is looked up, so the answer is the same whether the NameID is known or not.
    const claimed = { email: soleValue(facts, connection.email_attribute, 'email_ambiguous'), name: soleValue(facts, connection.name_attribute, 'name_ambiguous') };
    const linked = await store.identity(tx, connection.id, facts.nameId);
    if (linked) {
      if (await this.deps.members.isMemberIn(tx, linked)) return { accountId: linked, provisioning: {} };
      if (!connection.jit_provisioning) throw new SamlRefusal('not_a_member', 'the linked account is no longer a member');
      return { accountId: linked, provisioning: { joined: await this.deps.directory.rejoinIn(tx, linked) } };
    }
    const email = (claimed.email ?? (facts.nameIdFormat === NAME_ID_EMAIL || isProvisionableEmail(facts.nameId) ? facts.nameId : '')).trim().toLowerCase();
    if (!isProvisionableEmail(email)) throw new SamlRefusal('email_missing', 'the assertion names no usable email');
    if (!connection.jit_provisioning) {
      const existing = await this.deps.accounts.accountByEmailIn(tx, email);
      if (!existing || !(await this.deps.members.isMemberIn(tx, existing.id))) throw new SamlRefusal('not_a_member', 'just-in-time provisioning is off and the account is not a member');
    }
    const name = claimed.name ?? email.split('@')[0] ?? email;
    // The directory refuses (domain_not_verified) an email of a domain this workspace has not verified.
    const provisioned = await this.deps.directory.provisionIn(tx, { email, name });
    await store.linkIdentity(tx, { connectionId: connection.id, nameId: facts.nameId, accountId: provisioned.accountId, email });
    return { accountId: provisioned.accountId, provisioning: { accountCreated: provisioned.created, joined: provisioned.joined, identityLinked: true } };
  }
}

/**
 * The value of an attribute that names one thing (the email, the name): none when the connection
 * maps no attribute or the assertion gives none (or one empty value). Several values — in one
 * Attribute or in several of that name, alike or not — are ambiguous, and refused with `reason`:
 * reading the first would let the IdP's ordering, or whoever can add a value, choose the account.
 */
function soleValue(facts: AssertionFacts, attribute: string | null, reason: string): string | undefined {
  if (!attribute) return undefined;
  const values = facts.attributes.get(attribute) ?? [];
  if (values.length > 1) throw new SamlRefusal(reason, `${values.length} values for the attribute ${attribute.slice(0, 100)}`);
  return values[0] || undefined;
}

/** What verifying a response needs to know of the IdP. */
export interface IdpTrust {
  readonly entityId: string;
  readonly ssoUrl: string;
  /** Base64 DER. */
  readonly certificates: readonly string[];
  readonly clockSkewSeconds: number;
}

function idpOf(c: store.ConnectionRow): IdpTrust {
  return { entityId: c.idp_entity_id, ssoUrl: c.sso_url, certificates: c.certificates, clockSkewSeconds: c.clock_skew_seconds };
}

function samlFor(sp: SpInfoView, idp: IdpTrust | null, requestId?: string): SAML {
  return new SAML({
    idpCert: idp ? idp.certificates.map(pem) : 'unused',
    issuer: sp.entityId,
    callbackUrl: sp.acsUrl,
    audience: sp.entityId,
    ...(idp ? { entryPoint: idp.ssoUrl, idpIssuer: idp.entityId } : {}),
    wantAssertionsSigned: false,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: (idp?.clockSkewSeconds ?? 120) * 1000,
    // InResponseTo is Rampart's own check (single use, in the database, bound to the browser).
    validateInResponseTo: ValidateInResponseTo.never,
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    ...(requestId ? { generateUniqueId: () => requestId } : {}),
  });
}

/**
 * Everything about a posted response that needs no stored state: the screening, the signature
 * under the IdP's certificates, and the facts of the signed assertion checked against this SP.
 * InResponseTo against issued requests and the replay cache are the caller's (in the database).
 */
export async function verifyResponse(posted: string, idp: IdpTrust, sp: SpInfoView, maxBytes: number): Promise<AssertionFacts> {
  const { base64, envelope } = screenResponse(posted, maxBytes);
  let profile: Profile | null;
  try {
    ({ profile } = await samlFor(sp, idp).validatePostResponseAsync({ SAMLResponse: base64 }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new SamlRefusal(libraryReason(message), message.slice(0, 200));
  }
  if (!profile) throw new SamlRefusal('no_profile');
  const facts = assertionFacts(profile.getAssertionXml?.() ?? '');
  if (facts.issuer !== idp.entityId) throw new SamlRefusal('issuer_mismatch', `issuer ${facts.issuer.slice(0, 100)}`);
  if (!facts.audiences.includes(sp.entityId)) throw new SamlRefusal('audience_mismatch');
  if (facts.recipient !== sp.acsUrl) throw new SamlRefusal('recipient_mismatch', `recipient ${facts.recipient.slice(0, 200)}`);
  if (envelope.destination !== sp.acsUrl) throw new SamlRefusal('destination_mismatch', `destination ${envelope.destination?.slice(0, 200) ?? 'missing'}`);
  if (envelope.inResponseTo !== null && envelope.inResponseTo !== facts.inResponseTo) throw new SamlRefusal('in_response_to_mismatch');
  if (facts.notOnOrAfter.getTime() + idp.clockSkewSeconds * 1000 <= Date.now()) throw new SamlRefusal('expired');
  return facts;
}

/** node-saml's error messages, as stable reasons for the SSO log. */
function libraryReason(message: string): string {
  if (/signature/i.test(message)) return 'invalid_signature';
  if (/not yet valid/i.test(message)) return 'not_yet_valid';
  if (/expired/i.test(message)) return 'expired';
  if (/audience/i.test(message)) return 'audience_mismatch';
  if (/issuer/i.test(message)) return 'issuer_mismatch';
  if (/status/i.test(message)) return 'idp_status_not_success';
  return 'invalid_response';
}

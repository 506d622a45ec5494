/**
 * A SAML identity provider for tests, made of samlify (a SAML library independent of the one
 * Rampart verifies with): its login response template, its XML signing (xml-crypto underneath),
 * its IdP metadata. Responses can be built right, or wrong in one chosen way.
 *
 * samlify is loaded under the few types used here: its own typings pull in the browser's DOM
 * library, which changes Node's types for the whole test program.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

interface SignatureOptions {
  rawSamlMessage: string;
  referenceTagXPath?: string;
  privateKey: string;
  signingCert: string;
  signatureAlgorithm: string;
  isBase64Output: false;
  isMessageSigned?: boolean;
  signatureConfig: { prefix: string; location: { reference: string; action: 'after' | 'before' | 'append' | 'prepend' } };
}

interface SamlifyIdp {
  getMetadata(): string;
}

interface Samlify {
  setSchemaValidator(validator: { validate: (xml: string) => Promise<unknown> }): void;
  IdentityProvider(options: Record<string, unknown>): SamlifyIdp;
  ServiceProvider(options: Record<string, unknown>): {
    parseLoginResponse(idp: SamlifyIdp, binding: 'post', request: { body: { SAMLResponse: string } }): Promise<{ extract: { nameID: string } }>;
  };
  SamlLib: {
    defaultLoginResponseTemplate: { context: string };
    replaceTagsByValue(template: string, values: Record<string, string>): string;
    constructSAMLSignature(options: SignatureOptions): string;
  };
}

export const samlify = createRequire(import.meta.url)('samlify') as Samlify;
// Schema validation is the SP's business here (Rampart's); the IdP side needs none.
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

/** An RSA key and a self-signed certificate for it (openssl, as an IdP admin would make one). */
export function keyPair(commonName: string, bits = 2048): KeyPair {
  const dir = mkdtempSync(path.join(tmpdir(), 'rampart-idp-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', `rsa:${bits}`, '-nodes', '-sha256', '-days', '3', '-subj', `/CN=${commonName}`,
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ResponseOptions {
  readonly nameId: string;
  readonly inResponseTo?: string | null;
  readonly destination?: string;
  readonly recipient?: string;
  readonly audience?: string;
  readonly issuer?: string;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
  readonly attributes?: Readonly<Record<string, readonly string[]>>;
  readonly assertionId?: string;
  /** What is signed: the assertion (default), the whole response, both, or nothing. */
  readonly sign?: 'assertion' | 'response' | 'both' | 'none';
  /** The key to sign with (another key than the IdP's, to forge). */
  readonly keys?: KeyPair;
  readonly signatureAlgorithm?: string;
  /** A change to the XML before it is signed: a response the IdP really signed, shaped as the test needs. */
  readonly edit?: (unsignedXml: string) => string;
}

/** The certificate's base64 body, as samlify's signer embeds it in KeyInfo. */
function certBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function newSamlId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

const ASSERTION_XPATH = "/*[local-name(.)='Response']/*[local-name(.)='Assertion']";

export class TestIdp {
  readonly keys: KeyPair;

  constructor(
    readonly entityId: string,
    keys?: KeyPair,
  ) {
    this.keys = keys ?? keyPair('test-idp');
  }

  /** The IdP's metadata as samlify writes it. */
  metadata(ssoUrl: string): string {
    return samlify
      .IdentityProvider({
        entityID: this.entityId,
        signingCert: this.keys.cert,
        privateKey: this.keys.key,
        nameIDFormat: [NAMEID_EMAIL],
        singleSignOnService: [
          { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: ssoUrl },
          { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: ssoUrl },
        ],
      })
      .getMetadata();
  }

  /** The response XML, unsigned. */
  unsignedResponse(sp: { entityId: string; acsUrl: string }, o: ResponseOptions): string {
    const now = new Date();
    const notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
    const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
    const attributes = Object.entries(o.attributes ?? {});
    const statement =
      attributes.length === 0
        ? ''
        : `<saml:AttributeStatement>${attributes
            .map(([name, values]) => `<saml:Attribute Name="${escapeXml(name)}">${values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
            .join('')}</saml:AttributeStatement>`;
    let xml = samlify.SamlLib.replaceTagsByValue(samlify.SamlLib.defaultLoginResponseTemplate.context, {
      ID: newSamlId(),
      AssertionID: o.assertionId ?? newSamlId(),
      Destination: o.destination ?? sp.acsUrl,
      Audience: o.audience ?? sp.entityId,
      EntityID: sp.entityId,
      SubjectRecipient: o.recipient ?? sp.acsUrl,
      Issuer: o.issuer ?? this.entityId,
      IssueInstant: now.toISOString(),
      AssertionConsumerServiceURL: sp.acsUrl,
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: notBefore.toISOString(),
      ConditionsNotOnOrAfter: notOnOrAfter.toISOString(),
      SubjectConfirmationDataNotOnOrAfter: notOnOrAfter.toISOString(),
      NameIDFormat: NAMEID_EMAIL,
      NameID: o.nameId,
      InResponseTo: o.inResponseTo ?? '',
      // samlify escapes every value; the two statements are XML, put in below.
      AuthnStatement: '@AUTHN@',
      AttributeStatement: '@ATTRIBUTES@',
    });
    const authn = `<saml:AuthnStatement AuthnInstant="${now.toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    xml = xml.replace('@AUTHN@', authn).replace('@ATTRIBUTES@', statement);
    // No InResponseTo at all (IdP-initiated), not an empty one.
    if (!o.inResponseTo) xml = xml.replace(/ InResponseTo=""/g, '');
    return xml;
  }

  signAssertion(xml: string, keys: KeyPair = this.keys, algorithm = RSA_SHA256): string {
    return samlify.SamlLib.constructSAMLSignature({
      rawSamlMessage: xml,
      referenceTagXPath: ASSERTION_XPATH,
      privateKey: keys.key,
      signingCert: certBody(keys.cert),
      signatureAlgorithm: algorithm,
      isBase64Output: false,
      signatureConfig: { prefix: 'ds', location: { reference: `${ASSERTION_XPATH}/*[local-name(.)='Issuer']`, action: 'after' } },
    });
  }

  signResponse(xml: string, keys: KeyPair = this.keys, algorithm = RSA_SHA256): string {
    return samlify.SamlLib.constructSAMLSignature({
      rawSamlMessage: xml,
      privateKey: keys.key,
      signingCert: certBody(keys.cert),
      signatureAlgorithm: algorithm,
      isBase64Output: false,
      isMessageSigned: true,
      signatureConfig: { prefix: 'ds', location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' } },
    });
  }

  /** A response signed as asked (the assertion by default). */
  response(sp: { entityId: string; acsUrl: string }, o: ResponseOptions): string {
    const keys = o.keys ?? this.keys;
    const algorithm = o.signatureAlgorithm ?? RSA_SHA256;
    let xml = this.unsignedResponse(sp, o);
    if (o.edit) xml = o.edit(xml);
    const sign = o.sign ?? 'assertion';
    if (sign === 'assertion' || sign === 'both') xml = this.signAssertion(xml, keys, algorithm);
    if (sign === 'response' || sign === 'both') xml = this.signResponse(xml, keys, algorithm);
    return xml;
  }
}

export function base64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

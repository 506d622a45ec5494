/**
 * The checks Rampart makes on a SAML response itself, before and after the library verifies its
 * signature, because signature libraries leave them to the caller (docs/sso.md lists each and
 * the attack it stops).
 *
 * Before: the bytes are strict base64 of strict UTF-8, within the size limit; the XML has no
 * DTD, entity or processing instruction; it is exactly one `samlp:Response` root holding exactly
 * one `saml:Assertion` in the whole document (no Advice, no wrapped copies, no encrypted
 * assertion); every ID is unique; no signature or digest uses SHA-1 or an HMAC; the NameID and
 * attribute values hold one text node each (a comment inside one is refused, so nothing can be
 * read truncated).
 *
 * After: the facts — issuer, subject, recipient, audience, times, InResponseTo — are read only
 * from the XML the library says was signed.
 */
import { COMMENT_NODE, DOMParser, ELEMENT_NODE, PROCESSING_INSTRUCTION_NODE, TEXT_NODE, type XmlDocument, type XmlElement, type XmlNode } from './dom.js';

export const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512',
]);
const DIGEST_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);

/** Why a response was refused: a stable word for the workspace's SSO log (never the XML). */
export class SamlRefusal extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string = reason,
  ) {
    super(detail);
    this.name = 'SamlRefusal';
  }
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Strict parsing: any error or warning refuses the document. */
export function parseXml(xml: string, reason = 'malformed_xml'): { doc: XmlDocument; root: XmlElement } {
  // A DTD (and so any entity, internal or external) is refused before a parser sees it.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SamlRefusal('dtd_present', 'the XML declares a DTD or entity');
  if (/<\?(?!xml[\s?])/i.test(xml)) throw new SamlRefusal('processing_instruction', 'the XML holds a processing instruction');
  const problems: string[] = [];
  const doc = new DOMParser({
    locator: {},
    errorHandler: { warning: (m) => problems.push(m), error: (m) => problems.push(m), fatalError: (m) => problems.push(m) },
  }).parseFromString(xml, 'text/xml');
  const root = doc?.documentElement;
  if (problems.length > 0 || !doc || !root) throw new SamlRefusal(reason, problems[0]?.slice(0, 200) ?? 'no document element');
  return { doc, root };
}

function elements(root: XmlDocument | XmlElement, ns: string, local: string): XmlElement[] {
  return Array.from(root.getElementsByTagNameNS(ns, local));
}

function children(parent: XmlElement, ns: string, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n: XmlNode | null = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE && (n as XmlElement).namespaceURI === ns && (n as XmlElement).localName === local) out.push(n as XmlElement);
  }
  return out;
}

/** The one `local` child; none is `reason`, several are `several` (by default the same). */
function only(parent: XmlElement, ns: string, local: string, reason: string, several = reason): XmlElement {
  const found = children(parent, ns, local);
  if (found.length !== 1) throw new SamlRefusal(found.length === 0 ? reason : several, `expected one ${local}, found ${found.length}`);
  return found[0] as XmlElement;
}

function optional(parent: XmlElement, ns: string, local: string): XmlElement | null {
  const found = children(parent, ns, local);
  if (found.length > 1) throw new SamlRefusal('duplicate_element', `more than one ${local}`);
  return found[0] ?? null;
}

/** The text of an element that must hold exactly one text node (no comment, no child element). */
function soleText(el: XmlElement, reason: string): string {
  const nodes = Array.from(el.childNodes);
  if (nodes.length !== 1 || nodes[0]?.nodeType !== TEXT_NODE) throw new SamlRefusal(reason, `${el.localName} does not hold exactly one text node`);
  const text = (nodes[0]?.nodeValue ?? '').trim();
  if (text.length === 0) throw new SamlRefusal(reason, `${el.localName} is empty`);
  return text;
}

function walk(node: XmlNode, visit: (n: XmlNode) => void): void {
  visit(node);
  for (let c = node.firstChild; c; c = c.nextSibling) walk(c, visit);
}

/** What screening returns: the XML, the posted base64 it came from, and the (unsigned) envelope's fields. */
export interface Screened {
  readonly xml: string;
  readonly base64: string;
  readonly envelope: Envelope;
}

/** Decodes and screens the posted SAMLResponse; the library then verifies the same bytes. */
export function screenResponse(posted: string, maxBytes: number): Screened {
  const compact = posted.replace(/[\r\n]/g, '');
  if (compact.length === 0) throw new SamlRefusal('empty_response');
  if (compact.length > Math.ceil((maxBytes * 4) / 3) + 4) throw new SamlRefusal('response_too_large', `over ${maxBytes} bytes`);
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw new SamlRefusal('not_base64');
  const bytes = Buffer.from(compact, 'base64');
  let xml: string;
  try {
    xml = utf8.decode(bytes);
  } catch {
    throw new SamlRefusal('not_utf8');
  }
  const declared = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/i.exec(xml)?.[1];
  if (declared && !/^utf-?8$/i.test(declared)) throw new SamlRefusal('wrong_encoding', `declared ${declared.slice(0, 40)}`);

  const { doc, root } = parseXml(xml);
  if (root.namespaceURI !== PROTOCOL_NS || root.localName !== 'Response') throw new SamlRefusal('not_a_response', 'the root is not samlp:Response');
  if (elements(doc, PROTOCOL_NS, 'Response').length !== 1) throw new SamlRefusal('multiple_responses');
  if (elements(doc, ASSERTION_NS, 'EncryptedAssertion').length > 0) throw new SamlRefusal('encrypted_assertion', 'encrypted assertions are not accepted');
  const assertions = elements(doc, ASSERTION_NS, 'Assertion');
  if (assertions.length !== 1) throw new SamlRefusal(assertions.length === 0 ? 'no_assertion' : 'multiple_assertions', `${assertions.length} assertions`);
  if (assertions[0]?.parentNode !== root) throw new SamlRefusal('assertion_misplaced', 'the assertion is not a child of the Response');

  const ids = new Set<string>();
  walk(root, (n) => {
    if (n.nodeType === PROCESSING_INSTRUCTION_NODE) throw new SamlRefusal('processing_instruction');
    if (n.nodeType !== ELEMENT_NODE) return;
    const el = n as XmlElement;
    const id = el.getAttribute('ID') ?? el.getAttribute('Id') ?? el.getAttribute('id');
    if (id) {
      if (ids.has(id)) throw new SamlRefusal('duplicate_id', 'two elements share an ID');
      ids.add(id);
    }
  });
  for (const method of elements(doc, DSIG_NS, 'SignatureMethod')) {
    if (!SIGNATURE_ALGORITHMS.has(method.getAttribute('Algorithm') ?? '')) throw new SamlRefusal('weak_signature_algorithm', method.getAttribute('Algorithm') ?? 'none');
  }
  for (const method of elements(doc, DSIG_NS, 'DigestMethod')) {
    if (!DIGEST_ALGORITHMS.has(method.getAttribute('Algorithm') ?? '')) throw new SamlRefusal('weak_digest_algorithm', method.getAttribute('Algorithm') ?? 'none');
  }
  if (elements(doc, DSIG_NS, 'Signature').length === 0) throw new SamlRefusal('unsigned', 'neither the response nor the assertion is signed');
  for (const nameId of elements(doc, ASSERTION_NS, 'NameID')) soleText(nameId, 'name_id_not_plain_text');
  for (const value of elements(doc, ASSERTION_NS, 'AttributeValue')) {
    walk(value, (n) => {
      if (n.nodeType === COMMENT_NODE) throw new SamlRefusal('comment_in_attribute', 'an attribute value holds a comment');
    });
  }
  const status = optional(root, PROTOCOL_NS, 'Status');
  const code = status ? optional(status, PROTOCOL_NS, 'StatusCode')?.getAttribute('Value') : null;
  if (code !== SUCCESS) throw new SamlRefusal('idp_status_not_success', code ?? 'no status');
  return { xml, base64: compact, envelope: { destination: root.getAttribute('Destination') || null, inResponseTo: root.getAttribute('InResponseTo') || null } };
}

/** The unsigned envelope's fields that must agree with what was signed. */
export interface Envelope {
  readonly destination: string | null;
  readonly inResponseTo: string | null;
}

export interface AssertionFacts {
  readonly id: string;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string | null;
  readonly recipient: string;
  readonly inResponseTo: string | null;
  readonly audiences: readonly string[];
  /** The earliest of the assertion's NotOnOrAfter times. */
  readonly notOnOrAfter: Date;
  /** Every value of each attribute, trimmed, empty ones too, across every Attribute element of that name. */
  readonly attributes: ReadonlyMap<string, readonly string[]>;
}

/** Reads the facts from the signed assertion's XML (as the library returned it). */
export function assertionFacts(signedAssertionXml: string): AssertionFacts {
  const assertion = parseXml(signedAssertionXml, 'malformed_signed_xml').root;
  if (assertion.namespaceURI !== ASSERTION_NS || assertion.localName !== 'Assertion') throw new SamlRefusal('not_an_assertion');
  const id = assertion.getAttribute('ID');
  if (!id || id.length > 256) throw new SamlRefusal('assertion_id_missing');
  const issuer = soleText(only(assertion, ASSERTION_NS, 'Issuer', 'issuer_missing'), 'issuer_missing');
  const subject = only(assertion, ASSERTION_NS, 'Subject', 'subject_missing');
  const nameIdEl = only(subject, ASSERTION_NS, 'NameID', 'name_id_missing', 'name_id_ambiguous');
  const nameId = soleText(nameIdEl, 'name_id_not_plain_text');
  if (nameId.length > 1024) throw new SamlRefusal('name_id_too_long');

  const bearer = children(subject, ASSERTION_NS, 'SubjectConfirmation').filter((c) => c.getAttribute('Method') === BEARER);
  if (bearer.length !== 1) throw new SamlRefusal('subject_confirmation_missing', `${bearer.length} bearer confirmations`);
  const data = only(bearer[0] as XmlElement, ASSERTION_NS, 'SubjectConfirmationData', 'subject_confirmation_missing');
  const recipient = data.getAttribute('Recipient');
  if (!recipient) throw new SamlRefusal('recipient_missing');
  const subjectNotOnOrAfter = data.getAttribute('NotOnOrAfter');
  if (!subjectNotOnOrAfter) throw new SamlRefusal('not_on_or_after_missing');

  const conditions = only(assertion, ASSERTION_NS, 'Conditions', 'conditions_missing');
  const audiences = children(conditions, ASSERTION_NS, 'AudienceRestriction').flatMap((r) => children(r, ASSERTION_NS, 'Audience').map((a) => soleText(a, 'audience_invalid')));
  const times = [subjectNotOnOrAfter, conditions.getAttribute('NotOnOrAfter')].filter((t): t is string => !!t).map((t) => Date.parse(t));
  if (times.some((t) => Number.isNaN(t))) throw new SamlRefusal('time_invalid');

  const attributes = new Map<string, string[]>();
  for (const statement of children(assertion, ASSERTION_NS, 'AttributeStatement')) {
    for (const attribute of children(statement, ASSERTION_NS, 'Attribute')) {
      const name = attribute.getAttribute('Name');
      if (!name) continue;
      const values = children(attribute, ASSERTION_NS, 'AttributeValue').map((v) => (v.textContent ?? '').trim());
      attributes.set(name, [...(attributes.get(name) ?? []), ...values]);
    }
  }
  return {
    id,
    issuer,
    nameId,
    nameIdFormat: nameIdEl.getAttribute('Format') || null,
    recipient,
    inResponseTo: data.getAttribute('InResponseTo') || null,
    audiences,
    notOnOrAfter: new Date(Math.min(...times)),
    attributes,
  };
}

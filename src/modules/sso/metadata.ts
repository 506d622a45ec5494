/**
 * An IdP's settings from its metadata (pasted XML or fetched from its URL), or entered by hand,
 * and the certificate checks they all pass through.
 */
import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { RampartError } from '../../platform/errors.js';
import type { XmlElement } from './dom.js';
import { parseXml, SamlRefusal } from './xml.js';

const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const METADATA_MAX_BYTES = 512 * 1024;
const FETCH_TIMEOUT_MS = 5000;

export interface IdpSettings {
  readonly entityId: string;
  readonly ssoUrl: string;
  /** Base64 DER, one per certificate. */
  readonly certificates: readonly string[];
}

function invalid(reason: string): RampartError {
  return new RampartError('saml_metadata_invalid', { details: { reason } });
}

/** A PEM or bare base64 certificate as base64 DER, after checking it parses and its key is strong enough. */
export function normalizeCertificate(input: string): string {
  const body = input.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length > 16_384) throw new RampartError('saml_certificate_invalid');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw new RampartError('saml_certificate_invalid');
  }
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails;
  const strong =
    (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048) ||
    (key.asymmetricKeyType === 'ec' && ['prime256v1', 'secp384r1', 'secp521r1'].includes(details?.namedCurve ?? ''));
  if (!strong) throw new RampartError('saml_certificate_invalid', { details: { reason: 'weak_key' } });
  return Buffer.from(cert.raw).toString('base64');
}

export function pem(base64Der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
}

export function certificateFacts(base64Der: string): { subject: string; notAfter: string; fingerprintSha256: string } {
  const cert = new X509Certificate(Buffer.from(base64Der, 'base64'));
  return { subject: cert.subject.replace(/\n/g, ', '), notAfter: new Date(cert.validTo).toISOString(), fingerprintSha256: cert.fingerprint256 };
}

function childrenNamed(parent: XmlElement, ns: string, local: string): XmlElement[] {
  return Array.from(parent.getElementsByTagNameNS(ns, local));
}

/** The one IdP entity in a metadata document. */
export function parseIdpMetadata(xml: string): IdpSettings {
  if (Buffer.byteLength(xml) > METADATA_MAX_BYTES) throw invalid('too_large');
  let root: XmlElement;
  try {
    root = parseXml(xml, 'malformed_xml').root;
  } catch (err) {
    throw invalid(err instanceof SamlRefusal ? err.reason : 'malformed_xml');
  }
  const entities = root.namespaceURI === MD_NS && root.localName === 'EntityDescriptor' ? [root] : childrenNamed(root, MD_NS, 'EntityDescriptor');
  const idps = entities.filter((e) => childrenNamed(e, MD_NS, 'IDPSSODescriptor').length > 0);
  if (idps.length !== 1) throw invalid(idps.length === 0 ? 'no_idp_entity' : 'several_idp_entities');
  const entity = idps[0] as XmlElement;
  const entityId = entity.getAttribute('entityID');
  if (!entityId || entityId.length > 1024) throw invalid('no_entity_id');
  const descriptor = childrenNamed(entity, MD_NS, 'IDPSSODescriptor')[0] as XmlElement;
  const services = childrenNamed(descriptor, MD_NS, 'SingleSignOnService');
  const redirect = services.find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  const ssoUrl = redirect?.getAttribute('Location');
  if (!ssoUrl || !/^https?:\/\//.test(ssoUrl) || ssoUrl.length > 2048) throw invalid('no_redirect_sso_endpoint');
  const certificates = childrenNamed(descriptor, MD_NS, 'KeyDescriptor')
    .filter((k) => (k.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((k) => childrenNamed(k, DSIG_NS, 'X509Certificate').map((c) => c.textContent ?? ''));
  const unique = [...new Set(certificates.map((c) => normalizeCertificate(c)))];
  if (unique.length === 0) throw invalid('no_signing_certificate');
  if (unique.length > 4) throw invalid('too_many_certificates');
  return { entityId, ssoUrl, certificates: unique };
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

function isPrivate(address: string): boolean {
  return PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Fetches metadata from its URL: https only (http too when private addresses are allowed, for
 * a local IdP), no redirects, 5 seconds, 512 KiB. The address connected to is the one checked:
 * private, loopback and link-local addresses are refused unless allowed.
 */
export async function fetchMetadata(url: string, options: { allowPrivate: boolean }): Promise<string> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw invalid('bad_url');
  }
  if (target.protocol !== 'https:' && !(options.allowPrivate && target.protocol === 'http:')) throw invalid('not_https');
  if (target.username || target.password) throw invalid('bad_url');
  // An address literal is connected to without a lookup: check it here.
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0 && !options.allowPrivate && isPrivate(literal)) throw invalid('private_address');
  const checkedLookup = (hostname: string, _opts: object, callback: (err: Error | null, address: string, family: number) => void) => {
    lookup(hostname, { verbatim: true }).then(
      ({ address, family }) => {
        if (!options.allowPrivate && isPrivate(address)) callback(Object.assign(new Error('private address'), { code: 'EPRIVATE' }), '', 0);
        else callback(null, address, family);
      },
      (err: Error) => callback(err, '', 0),
    );
  };
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<string>((resolve, reject) => {
    const req = client.get(target, { lookup: checkedLookup, timeout: FETCH_TIMEOUT_MS, headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(invalid(`http_${res.statusCode ?? 0}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > METADATA_MAX_BYTES) {
          req.destroy();
          reject(invalid('too_large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', () => reject(invalid('fetch_failed')));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => reject(invalid(err.code === 'EPRIVATE' ? 'private_address' : err.code === 'ETIMEDOUT' ? 'timeout' : 'fetch_failed')));
  });
}

/**
 * P9 — SAML response validations per second: Rampart's whole stateless check of a posted response
 * (`verifyResponse`: the screening, node-saml's signature verification, the facts of the signed
 * assertion against this SP) against node-saml's `validatePostResponseAsync` alone with the same
 * options (bare: the library without Rampart's checks), and against samlify's service provider
 * (`parseLoginResponse`, the named peer) on the same response. Then Rampart on both cores: one
 * worker thread per core, each validating for the same fixed time.
 *
 * The response is a real one: samlify acting as the IdP signs an assertion (RSA-SHA256, 2048-bit
 * key) for a NameID with three attributes, as test/saml.test.ts builds them. Every side runs in
 * this process in alternating rounds of a fixed length after a warmup, each side's figure its
 * median round; every call must succeed and name the same NameID, or the run is INVALID. The
 * database steps of a sign-in (InResponseTo, the replay cache, the session) are not in it.
 */
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifyResponse, type IdpTrust } from '../src/modules/sso/index.js';
import { pem } from '../src/modules/sso/metadata.js';
import { base64, samlify, TestIdp } from '../test/helpers/saml-idp.js';
import { measure, type Measure } from './report.js';
import { median, progress } from './util.js';

const ROUND_MS = 1000;
const WARMUP_MS = 1000;
const ROUNDS = 5;
const WORKER_MS = 3000;
const NAME_ID = 'jane.doe@corp.example';

export interface P9Result {
  readonly timing: { roundMs: number; warmupMs: number; rounds: number; workerMs: number; cores: number };
  readonly sides: ReadonlyArray<{ key: string; label: string; perSecond: number; rounds: number[] }>;
  readonly bothCores: { workers: number; perSecond: number };
  readonly responseBytes: number;
  readonly measures: Measure[];
}

export interface P9Fixture {
  readonly response: string;
  readonly idp: IdpTrust;
  readonly sp: { entityId: string; acsUrl: string; metadataUrl: string; loginUrl: string };
}

export function p9Fixture(): { fixture: P9Fixture; idpMetadata: string } {
  const sp = {
    entityId: 'https://rampart.bench/api/v1/sso/saml/w/metadata',
    acsUrl: 'https://rampart.bench/api/v1/sso/saml/w/acs',
    metadataUrl: 'https://rampart.bench/api/v1/sso/saml/w/metadata',
    loginUrl: 'https://rampart.bench/api/v1/sso/saml/w/login',
  };
  const idp = new TestIdp('https://idp.bench/metadata');
  const xml = idp.response(sp, {
    nameId: NAME_ID,
    inResponseTo: null,
    notOnOrAfter: new Date(Date.now() + 30 * 60_000),
    attributes: { email: [NAME_ID], name: ['Jane Doe'], groups: ['Engineering', 'Everyone'] },
  });
  const cert = idp.keys.cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return {
    fixture: { response: base64(xml), idp: { entityId: idp.entityId, ssoUrl: 'https://idp.bench/sso', certificates: [cert], clockSkewSeconds: 120 }, sp },
    idpMetadata: idp.metadata('https://idp.bench/sso'),
  };
}

type Validate = () => Promise<string>;

async function loop(validate: Validate, ms: number): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if ((await validate()) !== NAME_ID) throw new Error('a validation named another NameID');
    n += 1;
  }
  return n;
}

/** Each worker warms up, then all validate over the same window once every one is ready. */
async function onBothCores(fixture: P9Fixture, workers: number): Promise<number> {
  const threads = Array.from({ length: workers }, () => new Worker(new URL('./p9-saml-thread.js', import.meta.url), { workerData: { fixture, ms: WORKER_MS, warmupMs: WARMUP_MS } }));
  const next = (worker: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  try {
    await Promise.all(threads.map(next));
    const counts = threads.map(next);
    for (const worker of threads) worker.postMessage('go');
    const total = (await Promise.all(counts)).reduce<number>((a, b) => a + Number(b), 0);
    return total / (WORKER_MS / 1000);
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

export async function runP9(): Promise<P9Result> {
  const { fixture, idpMetadata } = p9Fixture();
  const { response, idp, sp } = fixture;
  const invalid: string[] = [];

  const rampart: Validate = async () => (await verifyResponse(response, idp, sp, 262_144)).nameId;
  const bareSaml = new SAML({
    idpCert: idp.certificates.map(pem),
    issuer: sp.entityId,
    callbackUrl: sp.acsUrl,
    audience: sp.entityId,
    wantAssertionsSigned: false,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: 120_000,
    validateInResponseTo: ValidateInResponseTo.never,
  });
  const bare: Validate = async () => String((await bareSaml.validatePostResponseAsync({ SAMLResponse: response })).profile?.nameID);
  const peerSp = samlify.ServiceProvider({
    entityID: sp.entityId,
    assertionConsumerService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: sp.acsUrl }],
    wantAssertionsSigned: true,
  });
  const peerIdp = samlify.IdentityProvider({ metadata: idpMetadata });
  const peer: Validate = async () => (await peerSp.parseLoginResponse(peerIdp, 'post', { body: { SAMLResponse: response } })).extract.nameID;

  const sides = [
    { key: 'rampart', label: 'Rampart verifyResponse', validate: rampart, rounds: [] as number[] },
    { key: 'bare', label: 'node-saml validatePostResponseAsync alone', validate: bare, rounds: [] as number[] },
    { key: 'samlify', label: 'samlify ServiceProvider.parseLoginResponse', validate: peer, rounds: [] as number[] },
  ];
  for (const side of sides) {
    try {
      await loop(side.validate, WARMUP_MS);
    } catch (err) {
      invalid.push(`${side.label}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (let round = 0; round < ROUNDS && invalid.length === 0; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      progress(`P9 round ${round + 1}/${ROUNDS}: ${side.label}`);
      side.rounds.push((await loop(side.validate, ROUND_MS)) / (ROUND_MS / 1000));
    }
  }
  const cores = os.availableParallelism();
  progress(`P9: Rampart on ${cores} worker threads`);
  const both = invalid.length === 0 ? await onBothCores(fixture, cores) : 0;

  const figure = (key: string) => median(sides.find((s) => s.key === key)?.rounds ?? [0]);
  const per = (key: string, label: string) => ({ label, value: figure(key), unit: 'validations/s' });
  const measures = [
    measure(
      {
        id: 'p9-saml-vs-bare',
        title: 'P9 SAML response validations/s: Rampart (screening + signature + signed facts) vs node-saml alone',
        figure: per('rampart', 'Rampart'),
        reference: per('bare', 'node-saml alone'),
        goal: { op: '>=', value: 0.5, unit: 'x', source: 'harness default: our own checks cost at most as much as the library' },
      },
      invalid,
    ),
    measure(
      {
        id: 'p9-saml-vs-samlify',
        title: 'P9 SAML response validations/s: Rampart vs samlify (peer)',
        figure: per('rampart', 'Rampart'),
        reference: per('samlify', 'samlify'),
        goal: { op: '>=', value: 0.5, unit: 'x', source: 'harness default' },
      },
      invalid,
    ),
  ];
  return {
    timing: { roundMs: ROUND_MS, warmupMs: WARMUP_MS, rounds: ROUNDS, workerMs: WORKER_MS, cores },
    sides: sides.map(({ key, label, rounds }) => ({ key, label, perSecond: median(rounds.length ? rounds : [0]), rounds })),
    bothCores: { workers: cores, perSecond: both },
    responseBytes: Buffer.from(response, 'base64').length,
    measures,
  };
}

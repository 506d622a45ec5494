/** One core's share of P9: validates the fixture's response for `ms` and posts the count. */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyResponse } from '../src/modules/sso/index.js';
import type { P9Fixture } from './p9-saml.js';

const { fixture, ms } = workerData as { fixture: P9Fixture; ms: number };
let count = 0;
const end = performance.now() + ms;
while (performance.now() < end) {
  await verifyResponse(fixture.response, fixture.idp, fixture.sp, 262_144);
  count += 1;
}
parentPort?.postMessage(count);

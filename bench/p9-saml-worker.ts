/**
 * One core's share of P9: warms up for `warmupMs`, says it is ready, and on the word validates the
 * fixture's response for `ms` and posts the count (every worker measures the same window).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyResponse } from '../src/modules/sso/index.js';
import type { P9Fixture } from './p9-saml.js';

const { fixture, ms, warmupMs } = workerData as { fixture: P9Fixture; ms: number; warmupMs: number };

async function validateFor(duration: number): Promise<number> {
  let count = 0;
  const end = performance.now() + duration;
  while (performance.now() < end) {
    await verifyResponse(fixture.response, fixture.idp, fixture.sp, 262_144);
    count += 1;
  }
  return count;
}

await validateFor(warmupMs);
parentPort?.once('message', () => {
  void validateFor(ms).then((count) => parentPort?.postMessage(count));
});
parentPort?.postMessage('ready');

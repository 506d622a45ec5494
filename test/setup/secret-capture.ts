/**
 * Runs with every test file (vitest.config.ts `setupFiles`): at the end of the file, no log line
 * or error response of a test app may hold a secret the tests handled. See
 * test/helpers/secret-capture.ts. With RAMPART_SECRET_CAPTURE_REPORT=1 each file prints what was
 * checked, so the suite's coverage can be quoted.
 */
import path from 'node:path';
import { afterAll } from 'vitest';
import { captureSummary, findLeaks, formatFindings, resetCapture } from '../helpers/secret-capture.js';

resetCapture();

// eslint-disable-next-line no-empty-pattern -- vitest parses the first parameter as fixtures; the file comes second
afterAll(({}, suite) => {
  const summary = captureSummary();
  const findings = findLeaks();
  if (process.env['RAMPART_SECRET_CAPTURE_REPORT'] === '1') {
    const file = 'filepath' in suite.file ? path.relative(process.cwd(), suite.file.filepath) : suite.name;
    process.stderr.write(
      `[secret-capture] ${file}: secrets=${summary.secrets} logLines=${summary.logLines} errorResponses=${summary.errorResponses} devMailLines=${summary.devMailLines} leaks=${findings.length}\n`,
    );
  }
  if (findings.length > 0) throw new Error(formatFindings(findings));
});

/**
 * Rampart as an operator runs it: the built CLI (`bin/rampart.js`, which loads dist/) in a child
 * process of its own. Tests of what a process does under faults — stays up, answers, shares a
 * database with another process — need a real process: an in-process `inject` cannot show a crash.
 * Run `npm run build:server` after changing src/ (the child runs dist/).
 *
 * Every line a child prints is checked for secrets like a test app's log line; the secrets a
 * test sends (passwords, tokens) are registered here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { captureLogLine, registerKeyFile, registerSecret } from './secret-capture.js';

const BIN = path.resolve('bin/rampart.js');

/** The environment a child gets: nothing of the test runner's own but PATH. */
function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LOG_LEVEL: 'warn', ...env };
}

/** The one line that shows a secret by design: the setup link `rampart start` prints for the operator. */
const SETUP_LINK = /(\S+\/setup#token=(\S+))/;

function collect(child: ChildProcess, lines: string[], onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (!SETUP_LINK.test(line)) captureLogLine(line);
      onLine(line);
    });
  }
}

export interface ServerProcess {
  readonly url: string;
  /** The one-time setup link, when the database had no account yet. */
  readonly setupLink: string | null;
  /** Everything the process printed so far. */
  readonly lines: readonly string[];
  readonly pid: number;
  /** True while the process runs. */
  alive(): boolean;
  /** How the process ended, once it has. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `rampart start` with `env` (the database URLs, a data directory…) on a free port and
 * resolves once it listens (and, on a database without accounts, has printed its setup link).
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: { readyTimeoutMs?: number; /** A database that already has accounts prints no setup link. */ setupLink?: boolean } = {},
): Promise<ServerProcess> {
  const rootSecret = env['RAMPART_ROOT_SECRET'] ?? randomBytes(32).toString('base64url');
  registerSecret(rootSecret, 'server process root secret');
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--host', '127.0.0.1'], {
    env: childEnv({ RAMPART_ROOT_SECRET: rootSecret, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let ended: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = { code, signal };
      resolve(ended);
    });
  });
  let url = '';
  let setupLink: string | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server process not ready in time:\n${lines.join('\n')}`)), options.readyTimeoutMs ?? 60_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    collect(child, lines, (line) => {
      const listening = /Rampart is listening on (\S+)/.exec(line);
      if (listening) url = listening[1] as string;
      const link = SETUP_LINK.exec(line);
      if (link) {
        registerSecret(link[2] as string, 'setup token');
        setupLink = link[1] as string;
      }
      // The setup link is printed last, after the listening line and the mail notice.
      if (url && (options.setupLink === false ? /mail is not sent/.test(line) : setupLink)) done();
    });
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server process exited (${code ?? signal}) before it was ready:\n${lines.join('\n')}`));
    });
  });
  try {
    await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  if (env['RAMPART_DATA_DIR']) registerKeyFile(path.join(env['RAMPART_DATA_DIR'], 'root-keys.json'));
  return {
    url,
    get setupLink() {
      return setupLink;
    },
    lines,
    pid: child.pid as number,
    alive: () => ended === null,
    exit,
    async stop() {
      if (ended === null) child.kill('SIGTERM');
      await exit;
    },
  };
}

/** Runs one `rampart …` command to its end; resolves with its exit code and output. */
export async function runCliProcess(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  const read = (stream: NodeJS.ReadableStream, into: string[]) =>
    createInterface({ input: stream }).on('line', (line) => {
      into.push(line);
      captureLogLine(line);
    });
  if (child.stdout) read(child.stdout, out);
  if (child.stderr) read(child.stderr, err);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The first account, through the setup link, and a bearer token for it. */
export async function signUpThroughSetupLink(server: Pick<ServerProcess, 'url' | 'setupLink'>): Promise<Record<string, string>> {
  const setupToken = server.setupLink?.split('#token=')[1];
  if (!setupToken) throw new Error('the server printed no setup link');
  const email = `owner-${randomBytes(4).toString('hex')}@example.test`;
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  registerSecret(password, 'owner password');
  const post = (url: string, body: unknown) =>
    fetch(`${server.url}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const signUp = await post('/api/v1/auth/sign-up', { email, password, name: 'Owner', setupToken });
  if (signUp.status !== 201) throw new Error(`sign-up answered ${signUp.status}: ${await signUp.text()}`);
  const tokenRes = await post('/api/v1/auth/tokens', { email, password });
  const { token } = (await tokenRes.json()) as { token: string };
  registerSecret(token, 'bearer token');
  return { authorization: `Bearer ${token}` };
}

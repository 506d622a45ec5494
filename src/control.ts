/**
 * The control channel (decision 0020): while `rampart start` holds the embedded database, the
 * `rampart` commands that need it (setup-link, keys, audit, staff, migrate) run inside the server,
 * through a Unix socket in the data directory, and print there what the server did.
 *
 * The socket is `<dataDir>/run/control.sock`: the directory is 0700 and the socket 0600, so only
 * the data directory's owner (or root) reaches it — the same people who can read the database
 * files themselves. It speaks HTTP (a small Fastify instance, never the public listener): a
 * command is `POST /v1/commands` with the argv and the caller's working directory, and the answer
 * is JSON Lines: `{"out": line}`, `{"err": line}`, then `{"exitCode": n}`.
 */
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from './config.js';
import { installErrorHandling } from './platform/http/errors.js';

/** Where a command prints: standard output and standard error, one line at a time. */
export interface CommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Runs one command line (argv as process.argv has it) in the server, resolving paths against `cwd`; resolves to its exit code. */
export type CommandRunner = (argv: readonly string[], cwd: string, io: CommandIo) => Promise<number>;

/** Unix sockets take a path of at most 104 bytes on macOS (108 on Linux), ending NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

export function controlSocketPath(config: Pick<Config, 'dataDir'>): string {
  return path.resolve(config.dataDir, 'run', 'control.sock');
}

/** Why this platform or path cannot have a control channel, or null when it can. */
export function controlUnavailable(socket: string): string | null {
  if (process.platform === 'win32') return 'Windows has no Unix sockets with file permissions';
  const bytes = Buffer.byteLength(socket);
  return bytes > MAX_SOCKET_PATH_BYTES ? `its path ${socket} is ${bytes} bytes, more than a Unix socket takes (${MAX_SOCKET_PATH_BYTES})` : null;
}

const CommandRequest = z.strictObject({
  argv: z.array(z.string().max(4096)).min(2).max(64),
  cwd: z.string().min(1).max(4096).refine((p) => path.isAbsolute(p), 'an absolute path'),
});

export interface ControlChannel {
  readonly socket: string;
  close(): Promise<void>;
}

/**
 * Listens on the data directory's control socket. The caller holds the embedded database's lock,
 * so a socket file already there was left by a server that died: it is replaced.
 */
export async function openControlChannel(config: Config, run: CommandRunner, log: FastifyBaseLogger): Promise<ControlChannel> {
  const socket = controlSocketPath(config);
  const dir = path.dirname(socket);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  rmSync(socket, { force: true });

  const app = Fastify({ logger: false, bodyLimit: 300 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  app.post('/v1/commands', { schema: { body: CommandRequest } }, (request, reply) => {
    const { argv, cwd } = request.body;
    // The command's words only: its options may name people (staff add), its output holds links.
    log.info({ command: argv.slice(2).filter((a) => /^[a-z][a-z-]*$/.test(a)).slice(0, 2).join(' ') }, 'command through the control channel');
    const lines = new PassThrough();
    const send = (message: object) => lines.write(`${JSON.stringify(message)}\n`);
    run(argv, cwd, { out: (line) => send({ out: line }), err: (line) => send({ err: line }) }).then(
      (exitCode) => lines.end(`${JSON.stringify({ exitCode })}\n`),
      (err: unknown) => {
        log.error({ err }, 'command through the control channel failed');
        lines.end(`${JSON.stringify({ err: 'rampart: the command failed in the server; its log says why', exitCode: 1 })}\n`);
      },
    );
    return reply.type('application/x-ndjson').send(lines);
  });
  await app.listen({ path: socket });
  chmodSync(socket, 0o600);
  return {
    socket,
    async close() {
      await app.close();
      rmSync(socket, { force: true });
    },
  };
}

const Answer = z.union([
  z.strictObject({ out: z.string() }),
  z.strictObject({ err: z.string() }),
  z.strictObject({ exitCode: z.number().int() }),
  z.strictObject({ err: z.string(), exitCode: z.number().int() }),
]);

/** Sends a command line to the server on `socket` and prints its output; resolves to the command's exit code. */
export function sendCommand(socket: string, argv: readonly string[], cwd: string, io: CommandIo): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: socket, method: 'POST', path: '/v1/commands', headers: { 'content-type': 'application/json' } }, (response) => {
      let exitCode: number | null = null;
      const lines = createInterface({ input: response, crlfDelay: Infinity });
      if (response.statusCode !== 200) {
        let body = '';
        lines.on('line', (l) => (body += l));
        lines.on('close', () => reject(new Error(`the running server refused the command (${response.statusCode ?? 0}): ${body.slice(0, 500)}`)));
        return;
      }
      lines.on('line', (line) => {
        const parsed = Answer.safeParse(safeJson(line));
        if (!parsed.success) return;
        const a = parsed.data;
        if ('out' in a) io.out(a.out);
        if ('err' in a) io.err(a.err);
        if ('exitCode' in a) exitCode = a.exitCode;
      });
      lines.on('close', () => (exitCode === null ? reject(new Error('the running server ended the command without an answer')) : resolve(exitCode)));
    });
    request.on('error', reject);
    request.end(JSON.stringify({ argv, cwd }));
  });
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return null;
  }
}

/** Whether a control socket exists for this data directory. */
export function controlSocketExists(config: Pick<Config, 'dataDir'>): boolean {
  return existsSync(controlSocketPath(config));
}

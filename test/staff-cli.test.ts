/**
 * `rampart staff`: the first staff-admin (and any staff member) is added from the command line
 * against a real embedded database; the printed setup link then works in a server started on that
 * data directory: setup, TOTP, and the member's role. Refusals exit non-zero with a message.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { captureLogLine, capturingLogger, instrumentApp, registerKeyFile, registerSecret } from './helpers/secret-capture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-cli-staff-'));
const ENV = { LOG_LEVEL: 'silent', RAMPART_DATA_DIR: dir };

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'rampart', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env: ENV });
  // Standard output is the setup link, printed for the operator on purpose; anything else is checked like a log line.
  for (const line of err) captureLogLine(line);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function tokenOf(link: string): string {
  const token = /\/staff\/setup#token=([A-Za-z0-9_-]+)$/.exec(link)?.[1];
  if (!token) throw new Error(`not a setup link: ${link}`);
  registerSecret(token, 'staff setup token (CLI)');
  return token;
}

describe('rampart staff', () => {
  it('lists its commands, each with --help', async () => {
    const { code, out } = await run(['staff', '--help']);
    expect(code).toBe(0);
    for (const c of ['add', 'list']) expect(out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const add = await run(['staff', 'add', '--help']);
    expect(add.out).toMatch(/--email <email>/);
    expect(add.out).toMatch(/--role <role>/);
    expect(add.out).toContain('support, engineer, security, staff-admin');
  });

  it('refuses a bad role, a bad email and a missing option', async () => {
    const role = await run(['staff', 'add', '--email', 'x@example.test', '--name', 'X', '--role', 'root']);
    expect(role.code).not.toBe(0);
    expect(role.err).toMatch(/a staff role: support, engineer, security, staff-admin/);
    expect((await run(['staff', 'add', '--email', 'not-an-email', '--name', 'X', '--role', 'support'])).err).toMatch(/an email address/);
    expect((await run(['staff', 'add', '--email', 'x@example.test', '--role', 'support'])).code).not.toBe(0);
  });

  it('adds a staff-admin whose printed link sets up a working staff account; the addition is in the staff chain', async () => {
    const added = await run(['staff', 'add', '--email', 'Ada@Ops.Example.Test', '--name', 'Ada Admin', '--role', 'staff-admin', '--json']);
    expect(added.code, added.err).toBe(0);
    const body = JSON.parse(added.out) as { member: { id: string; email: string; role: string; passwordSet: boolean }; setupLink: string };
    expect(body.member).toMatchObject({ email: 'ada@ops.example.test', role: 'staff-admin', passwordSet: false });
    expect(body.setupLink).toMatch(/^http:\/\/127\.0\.0\.1:3000\/staff\/setup#token=rsts_/);
    const adaToken = tokenOf(body.setupLink);

    const plain = await run(['staff', 'add', '--email', 'sec@ops.example.test', '--name', 'Sec Ops', '--role', 'security']);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.out).toMatch(/^added security Sec Ops <sec@ops\.example\.test> \(/m);
    const secToken = tokenOf(/(http\S+)$/m.exec(plain.out)?.[1] as string);
    const again = await run(['staff', 'add', '--email', 'ada@ops.example.test', '--name', 'Ada Again', '--role', 'support']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/A staff member with this email already exists/);

    const config = loadConfig({ env: { ...ENV, RAMPART_DEV: '1' }, flags: { port: 0 } });
    const s = await startServer(config, () => {}, { logger: capturingLogger(config), beforeListen: instrumentApp });
    registerKeyFile(path.join(dir, 'root-keys.json'));
    try {
      const onboard = async (token: string, email: string) => {
        const password = `${email} has a long passphrase`;
        const setup = await s.app.inject({ method: 'POST', url: '/api/v1/staff/setup', payload: { token, password } });
        expect(setup.statusCode, setup.body).toBe(201);
        const bearer = {
          authorization: `Bearer ${(await s.app.inject({ method: 'POST', url: '/api/v1/staff/auth/tokens', payload: { email, password } })).json<{ token: string }>().token}`,
        };
        const { secret } = (await s.app.inject({ method: 'POST', url: '/api/v1/staff/mfa/totp', headers: bearer })).json<{ secret: string }>();
        const verified = await s.app.inject({ method: 'POST', url: '/api/v1/staff/mfa/totp/verify', headers: bearer, payload: { code: await generate({ secret }) } });
        expect(verified.statusCode, verified.body).toBe(200);
        return bearer;
      };
      const ada = await onboard(adaToken, 'ada@ops.example.test');
      const members = await s.app.inject({ method: 'GET', url: '/api/v1/staff/members', headers: ada });
      expect(members.statusCode, members.body).toBe(200);
      expect(members.json<{ data: Array<{ email: string; role: string; totp: boolean }> }>().data).toEqual([
        expect.objectContaining({ email: 'ada@ops.example.test', role: 'staff-admin', totp: true }),
        expect.objectContaining({ email: 'sec@ops.example.test', role: 'security', totp: false }),
      ]);
      const sec = await onboard(secToken, 'sec@ops.example.test');
      const audit = await s.app.inject({ method: 'GET', url: '/api/v1/staff/audit?action=staff.member.created', headers: sec });
      expect(audit.statusCode, audit.body).toBe(200);
      const created = audit.json<{ data: Array<{ actor: { type: string }; target: { id: string }; details: { by: string } }> }>().data;
      expect(created).toHaveLength(2);
      for (const e of created) expect(e).toMatchObject({ actor: { type: 'system' }, details: { by: 'cli' } });
      expect(created.map((e) => e.target.id)).toContain(body.member.id);
    } finally {
      await s.close();
    }

    const listed = await run(['staff', 'list', '--json']);
    expect(listed.code, listed.err).toBe(0);
    expect((JSON.parse(listed.out) as { members: Array<{ email: string; totp: boolean }> }).members.map((m) => [m.email, m.totp])).toEqual([
      ['ada@ops.example.test', true],
      ['sec@ops.example.test', true],
    ]);
    expect((await run(['staff', 'list'])).out).toMatch(/staff-admin\s+Ada Admin <ada@ops\.example\.test>\s+active/);
  });

  it('prints the link to the server where start was told to listen: --port and --host as start takes them; RAMPART_PUBLIC_URL first', async () => {
    const linkFor = async (args: string[], env: Record<string, string> = {}) => {
      const out: string[] = [];
      const err: string[] = [];
      const email = `p${Math.random().toString(36).slice(2, 10)}@ops.example.test`;
      const code = await main(['node', 'rampart', 'staff', 'add', '--email', email, '--name', 'Port', '--role', 'support', '--json', ...args], {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
        env: { ...ENV, ...env },
      });
      for (const line of err) captureLogLine(line);
      expect(code, err.join('\n')).toBe(0);
      const link = (JSON.parse(out.join('\n')) as { setupLink: string }).setupLink;
      tokenOf(link);
      return link;
    };
    expect(await linkFor(['--host', '::1', '--port', '3001'])).toMatch(/^http:\/\/\[::1\]:3001\/staff\/setup#token=/);
    expect(await linkFor(['--port', '3001'], { RAMPART_PUBLIC_URL: 'https://rampart.example.test' })).toMatch(/^https:\/\/rampart\.example\.test\/staff\/setup#token=/);
  });
});

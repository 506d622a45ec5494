/**
 * `rampart staff …`: add the operator's staff members (the first staff-admin comes from here;
 * each member gets a one-time setup link), list them. Run beside the database, as the operator:
 * an addition is recorded in the staff audit chain with the system as its actor.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/types.js';
import { hostOption, LINK_HOST, LINK_PORT, portOption } from '../../cli-options.js';
import type { Runtime } from '../../runtime.js';
import type { StaffEvents } from '../events/index.js';
import { isStaffRole, STAFF_ROLES, type StaffRole } from './permissions.js';
import { addStaffMember, listStaffMembers, setupPath } from './service.js';

export interface StaffCliContext {
  readonly io: { out: (line: string) => void; err: (line: string) => void };
  readonly withCommon: (cmd: Command) => Command;
  /** Runs `work` on the database, opened by the command or lent by the running server (src/runtime.ts). */
  readonly open: <T>(flags: StaffFlags, extra: Partial<Record<keyof Config, unknown>>, work: (rt: Runtime) => Promise<T>) => Promise<T>;
}

interface StaffFlags {
  config?: string;
  dataDir?: string;
  json?: boolean;
  port?: number;
  host?: string;
}

function roleArg(value: string): StaffRole {
  if (!isStaffRole(value)) throw new InvalidArgumentError(`a staff role: ${STAFF_ROLES.join(', ')}`);
  return value;
}

function emailArg(value: string): string {
  const email = value.trim().toLowerCase();
  if (!/^[^\s@<>,;:"()[\]\\]{1,64}@[^\s@<>,;:"()[\]\\]{1,253}$/.test(email) || email.length > 254) throw new InvalidArgumentError('an email address');
  return email;
}

function nameArg(value: string): string {
  const name = value.trim();
  if (name.length === 0 || name.length > 200) throw new InvalidArgumentError('a name of 1–200 characters');
  return name;
}

/** The runtime's database and staff events; links point at the running server's URL when it lends the runtime. */
function withStaff<T>(ctx: StaffCliContext, flags: StaffFlags, work: (db: Database, events: StaffEvents, rt: Runtime) => Promise<T>): Promise<T> {
  return ctx.open(flags, { port: flags.port, host: flags.host }, async (rt) => work(rt.db, await rt.staffEvents(), rt));
}

export function staffCommands(program: Command, ctx: StaffCliContext): void {
  const staff = program.command('staff').description("the operator's staff realm: add members (each gets a one-time setup link), list them");
  const common = (cmd: Command) => ctx.withCommon(cmd).option('--json', 'print the result as JSON');

  common(staff.command('add'))
    .description('add a staff member and print their one-time setup link (valid 24 hours); they then choose a password and enrol an authenticator app')
    .requiredOption('--email <email>', 'their email address (their sign-in name)', emailArg)
    .requiredOption('--name <name>', 'their name, as workspaces will see it in their access logs', nameArg)
    .requiredOption('--role <role>', `one of ${STAFF_ROLES.join(', ')}`, roleArg)
    // Beside a running embedded server the link is the server's own; otherwise it is built like start builds its URL.
    .addOption(portOption(LINK_PORT))
    .addOption(hostOption(LINK_HOST))
    .action((flags: StaffFlags & { email: string; name: string; role: StaffRole }) =>
      withStaff(ctx, flags, async (db, events, rt) => {
        const { member, setupToken } = await addStaffMember(db, events, { email: flags.email, name: flags.name, role: flags.role }, null, null);
        const setupLink = `${rt.publicUrl}${setupPath(setupToken)}`;
        if (flags.json) return ctx.io.out(JSON.stringify({ member, setupLink }));
        ctx.io.out(`added ${member.role} ${member.name} <${member.email}> (${member.id})`);
        ctx.io.out(`one-time setup link (24 hours; hand it over privately): ${setupLink}`);
      }),
    );

  common(staff.command('list'))
    .description('list staff members: role, whether set up with an authenticator app, disabled')
    .action((flags: StaffFlags) =>
      withStaff(ctx, flags, async (db) => {
        const members = await listStaffMembers(db);
        if (flags.json) return ctx.io.out(JSON.stringify({ members }));
        if (members.length === 0) return ctx.io.out('no staff members yet; add one with `rampart staff add`');
        for (const m of members) {
          const state = m.disabled ? 'disabled' : !m.passwordSet ? 'setup link pending' : m.totp ? 'active' : 'no authenticator yet';
          ctx.io.out(`${m.id}  ${m.role.padEnd(11)} ${m.name} <${m.email}>  ${state}`);
        }
      }),
    );
}

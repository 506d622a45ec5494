/**
 * P7 — the permission decision's cost per request, against a bare `Set.has` and against casbin
 * deciding the same role model, and its share of the P2 request.
 *
 * The decision is the one the auth hook runs on every workspace request, from the grants the
 * authenticating statement read: `scopesFromGrants(grants).has(routeScope)`, or for an API key
 * `intersectScopes(scopesOf(keyScopes), scopesFromGrants(creatorGrants)).has(routeScope)`
 * (src/platform/http/scopes.ts). The mix is four callers, each asked for one scope it holds and
 * one it lacks, in turn with equal weight: a member with the built-in member role (the common
 * case), a member who also holds two custom roles of six scopes, an admin, and an API key made by
 * that member. The bare side does the same number of `Set.has` calls on each caller's effective
 * scopes built beforehand: the floor no decision can beat. The peer is casbin's RBAC with domains
 * (tenant = domain) built from a model string, with the same roles as policies in memory, asked
 * `enforceSync(user, tenant, scope)`; an API key is two calls (the key, then its creator).
 *
 * Every side runs in this process, in alternating rounds of a fixed length after a warmup; each
 * side's figure is its median round. Each decision's answer is counted, and every round's count
 * of allowed decisions must be the expected one, so the JIT cannot drop the work and a wrong
 * answer invalidates the run. The timing is fixed (BENCH_SECONDS and BENCH_ROUNDS do not apply).
 *
 * The share divides the decision's time by P2's mean latency (connections ÷ requests per second,
 * Little's law, Rampart's best P2 round): from this run when P2 ran; otherwise from the last
 * .bench/results.json on this machine; otherwise from a short P2 run made for it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { newEnforcer, newModelFromString, type Enforcer } from 'casbin';
import {
  BUILTIN_GRANT_PREFIX,
  BUILTIN_ROLE_SCOPES,
  BUILTIN_ROLES,
  intersectScopes,
  type BuiltinRole,
  scopesFromGrants,
  scopesOf,
  type Scope,
} from '../src/platform/http/scopes.js';
import { runP2, type P2Result } from './p2-http.js';
import { measure, type Measure } from './report.js';
import { median, progress, ROOT, run, type BenchSettings } from './util.js';

/** Length of each measured round, of the warmup per side, and the number of rounds per side. */
const ROUND_MS = 200;
const WARMUP_MS = 500;
const ROUNDS = 7;
/** Calibration: the iteration count doubles until one pass takes this long, then scales to a round. */
const CALIBRATE_MS = 20;
/** The short P2 run made when there is no P2 figure to take (env settings still apply). */
const SHORT_P2 = { seconds: 5, warmupSeconds: 2, rounds: 1 };
const TENANT = 'tenant-1';
/** casbin scans its policies in order, so a second peer side holds this many tenants' policies. */
const MANY_TENANTS = 100;

const CUSTOM_ROLES = {
  'custom:support': ['members:read', 'invitations:manage', 'records:read', 'records:write', 'audit:read', 'documents:read'],
  'custom:finance': ['workspace:read', 'staff-access:approve', 'keys:manage', 'audit:read', 'records:read', 'documents:read'],
} as const satisfies Record<string, readonly Scope[]>;
type CustomRole = keyof typeof CUSTOM_ROLES;

/** A grant of a built-in role as the authenticating statement reads it. */
const role = (name: BuiltinRole): string => `${BUILTIN_GRANT_PREFIX}${name}`;
/** The grants of a member holding the member role and custom roles: the custom roles' scopes, flat, as the SQL unnests them. */
const grantsWith = (roles: readonly CustomRole[]): string[] => [role('member'), ...roles.flatMap((r) => CUSTOM_ROLES[r])];

type CallerKey = 'member' | 'member_custom' | 'admin' | 'api_key';

interface SessionCaller {
  readonly kind: 'session';
  readonly key: CallerKey;
  readonly label: string;
  /** The casbin subject. */
  readonly subject: string;
  /** Built-in roles and custom roles, as casbin role links. */
  readonly roles: readonly string[];
  readonly grants: readonly string[];
}

interface KeyCaller {
  readonly kind: 'api_key';
  readonly key: CallerKey;
  readonly label: string;
  readonly subject: string;
  readonly keyScopes: readonly Scope[];
  readonly creator: SessionCaller;
}

type Caller = SessionCaller | KeyCaller;

interface Check {
  readonly caller: Caller;
  readonly scope: Scope;
  readonly expected: boolean;
  /** The caller's effective scopes, built beforehand: what the bare side asks. */
  readonly prebuilt: ReadonlySet<string>;
}

const member: SessionCaller = {
  kind: 'session',
  key: 'member',
  label: 'member (built-in member role)',
  subject: 'user:member',
  roles: [role('member')],
  grants: [role('member')],
};
const memberCustom: SessionCaller = {
  kind: 'session',
  key: 'member_custom',
  label: 'member + 2 custom roles (6 scopes each)',
  subject: 'user:member-custom',
  roles: [role('member'), 'custom:support', 'custom:finance'],
  grants: grantsWith(['custom:support', 'custom:finance']),
};
const admin: SessionCaller = {
  kind: 'session',
  key: 'admin',
  label: 'admin (built-in admin role)',
  subject: 'user:admin',
  roles: [role('admin')],
  grants: [role('admin')],
};
const apiKey: KeyCaller = {
  kind: 'api_key',
  key: 'api_key',
  label: "API key (4 scopes) ∩ its creator's (member + 2 custom)",
  subject: 'key:1',
  keyScopes: ['records:read', 'records:write', 'documents:read', 'integrations:manage'],
  creator: memberCustom,
};
const CALLERS: readonly Caller[] = [member, memberCustom, admin, apiKey];

/** Each caller's allowed and denied scope (the API key's denied one is held by the key, not by its creator). */
const ASKED: Record<CallerKey, { readonly allowed: Scope; readonly denied: Scope }> = {
  member: { allowed: 'records:read', denied: 'members:manage' },
  member_custom: { allowed: 'audit:read', denied: 'api-keys:manage' },
  admin: { allowed: 'members:manage', denied: 'workspace:delete' },
  api_key: { allowed: 'records:write', denied: 'integrations:manage' },
};

/** The caller's effective scopes, worked out independently of the code under test. */
function expectedScopes(caller: Caller): Set<string> {
  const ofRoles = (c: SessionCaller): Set<string> =>
    new Set(c.roles.flatMap((r) => (r.startsWith(BUILTIN_GRANT_PREFIX) ? [...BUILTIN_ROLE_SCOPES[r.slice(BUILTIN_GRANT_PREFIX.length) as BuiltinRole]] : CUSTOM_ROLES[r as CustomRole])));
  if (caller.kind === 'session') return ofRoles(caller);
  const creator = ofRoles(caller.creator);
  return new Set(caller.keyScopes.filter((s) => creator.has(s)));
}

function checksOf(callers: readonly Caller[]): Check[] {
  return callers.flatMap((caller) => {
    const prebuilt = expectedScopes(caller);
    return [
      { caller, scope: ASKED[caller.key].allowed, expected: true, prebuilt },
      { caller, scope: ASKED[caller.key].denied, expected: false, prebuilt },
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// The decisions

/** Rampart's decision, as the auth hook and the access service make it. */
function rampartDecide(check: Check): boolean {
  const c = check.caller;
  const scopes = c.kind === 'api_key' ? intersectScopes(scopesOf(c.keyScopes), scopesFromGrants(c.creator.grants)) : scopesFromGrants(c.grants);
  return scopes.has(check.scope);
}

function casbinDecide(e: Enforcer, check: Check): boolean {
  const c = check.caller;
  if (c.kind === 'api_key') return e.enforceSync(c.subject, TENANT, check.scope) && e.enforceSync(c.creator.subject, TENANT, check.scope);
  return e.enforceSync(c.subject, TENANT, check.scope);
}

// One loop per side, written out: a loop shared by all sides would make its call site
// polymorphic, and the sides would pay for each other. Each returns how many were allowed.

function loopRampart(checks: readonly Check[], n: number): number {
  let allowed = 0;
  for (let i = 0, j = 0; i < n; i++) {
    if (rampartDecide(checks[j]!)) allowed++;
    if (++j === checks.length) j = 0;
  }
  return allowed;
}

function loopBare(checks: readonly Check[], n: number): number {
  let allowed = 0;
  for (let i = 0, j = 0; i < n; i++) {
    const check = checks[j]!;
    if (check.prebuilt.has(check.scope)) allowed++;
    if (++j === checks.length) j = 0;
  }
  return allowed;
}

function loopCasbin(e: Enforcer, checks: readonly Check[], n: number): number {
  let allowed = 0;
  for (let i = 0, j = 0; i < n; i++) {
    if (casbinDecide(e, checks[j]!)) allowed++;
    if (++j === checks.length) j = 0;
  }
  return allowed;
}

const CASBIN_MODEL = `
[request_definition]
r = sub, dom, obj

[policy_definition]
p = sub, dom, obj

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj
`;

/** The policies and role links of one tenant: every role's scopes, the API key's own scopes, each user's roles. */
function casbinRules(tenant: string): { policies: string[][]; links: string[][] } {
  const policies: string[][] = [];
  for (const name of BUILTIN_ROLES) for (const s of BUILTIN_ROLE_SCOPES[name]) policies.push([role(name), tenant, s]);
  for (const [name, scopes] of Object.entries(CUSTOM_ROLES)) for (const s of scopes) policies.push([name, tenant, s]);
  for (const s of apiKey.keyScopes) policies.push([apiKey.subject, tenant, s]);
  const links: string[][] = [];
  for (const c of CALLERS) if (c.kind === 'session') for (const r of c.roles) links.push([c.subject, r, tenant]);
  return { policies, links };
}

/** An enforcer holding `tenants` tenants' rules; the measured tenant sits in the middle of its policy list. */
async function casbinEnforcer(tenants: number): Promise<{ enforcer: Enforcer; policies: number; links: number }> {
  const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL));
  let policies = 0;
  let links = 0;
  for (let t = 0; t < tenants; t++) {
    const rules = casbinRules(t === Math.floor(tenants / 2) ? TENANT : `tenant-other-${t}`);
    await enforcer.addPolicies(rules.policies);
    await enforcer.addGroupingPolicies(rules.links);
    policies += rules.policies.length;
    links += rules.links.length;
  }
  return { enforcer, policies, links };
}

function casbinVersion(): string {
  try {
    return (createRequire(import.meta.url)('casbin/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Timed {
  readonly key: string;
  readonly checks: readonly Check[];
  /** Runs n decisions over the checks in turn; returns how many were allowed. */
  readonly loop: (checks: readonly Check[], n: number) => number;
  /** Fixed iteration count per round (the bare side takes Rampart's); calibrated when undefined. */
  iterations?: number;
  readonly roundsNs: number[];
  /** Rounds whose count of allowed decisions was not the expected one. */
  wrongCounts: number;
}

/** Allowed decisions among n, taking the checks in turn from the first. */
function expectedAllowed(checks: readonly Check[], n: number): number {
  const perPass = checks.filter((c) => c.expected).length;
  const rest = checks.slice(0, n % checks.length).filter((c) => c.expected).length;
  return Math.floor(n / checks.length) * perPass + rest;
}

/** Nanoseconds for one pass of n decisions, and the count it returned. */
function pass(t: Timed, n: number): { ns: number; allowed: number } {
  const start = process.hrtime.bigint();
  const allowed = t.loop(t.checks, n);
  return { ns: Number(process.hrtime.bigint() - start), allowed };
}

/** Runs the side for about `ms` (the JIT's warmup) and picks its iteration count for a round. */
function warmAndCalibrate(t: Timed, ms: number): void {
  const until = performance.now() + ms;
  let n = t.checks.length;
  let last = pass(t, n);
  while (last.ns < CALIBRATE_MS * 1e6 || performance.now() < until) {
    if (last.ns < CALIBRATE_MS * 1e6) n *= 2;
    last = pass(t, n);
  }
  const perRound = Math.round((n * ROUND_MS * 1e6) / last.ns);
  t.iterations ??= Math.max(t.checks.length, perRound - (perRound % t.checks.length));
}

function measureRound(t: Timed): void {
  const n = t.iterations!;
  const r = pass(t, n);
  if (r.allowed !== expectedAllowed(t.checks, n)) t.wrongCounts++;
  t.roundsNs.push(r.ns / n);
}

// ---------------------------------------------------------------------------------------------
// P2's request

export interface P2Reference {
  /** Where the figure comes from. */
  readonly source: string;
  readonly connections: number;
  readonly rps: number;
  /** connections ÷ requests per second (Little's law), in microseconds. */
  readonly meanLatencyUs: number;
  readonly p50Ms: number;
  readonly serverCpuUsPerRequest: number;
}

function referenceOf(p2: P2Result, source: string): P2Reference {
  const rampart = p2.sides.find((s) => s.key === 'rampart');
  if (!rampart) throw new Error('the P2 result has no Rampart side');
  const connections = p2.timing.connections;
  return {
    source,
    connections,
    rps: rampart.best.rps,
    meanLatencyUs: (connections / rampart.best.rps) * 1e6,
    p50Ms: rampart.best.p50Ms,
    serverCpuUsPerRequest: rampart.best.serverCpuUsPerRequest,
  };
}

/** The P2 result of the last .bench/results.json, when it was written on a machine like this one. */
function lastP2(): { p2: P2Result; startedAt: string; git: string } | null {
  const file = path.join(ROOT, '.bench', 'results.json');
  if (!existsSync(file)) return null;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as {
      startedAt?: string;
      machine?: { cpus?: number; cpuModel?: string; git?: string };
      p2?: P2Result | null;
    };
    const sameMachine = json.machine?.cpus === os.availableParallelism() && json.machine.cpuModel === (os.cpus()[0]?.model.trim() ?? 'unknown');
    if (!json.p2?.sides.some((s) => s.key === 'rampart') || !sameMachine) return null;
    return { p2: json.p2, startedAt: json.startedAt ?? 'unknown', git: json.machine?.git ?? 'unknown' };
  } catch {
    return null;
  }
}

async function p2Reference(settings: BenchSettings, p2: P2Result | null): Promise<P2Reference> {
  if (p2) return referenceOf(p2, 'P2 in this run');
  const last = lastP2();
  if (last) return referenceOf(last.p2, `P2 of the last .bench/results.json (${last.startedAt}, git ${last.git}), not this run`);
  progress('P7: no P2 figure in this run or in .bench/results.json; running a short P2 for the share');
  progress('building the server (npm run build:server)');
  await run('npm', ['run', '--silent', 'build:server'], ROOT);
  const short = {
    ...settings,
    seconds: settings.seconds ?? SHORT_P2.seconds,
    warmupSeconds: settings.warmupSeconds ?? SHORT_P2.warmupSeconds,
    rounds: settings.rounds ?? SHORT_P2.rounds,
  };
  const result = await runP2(short);
  const t = result.timing;
  const failed = result.sides.reduce((n, s) => n + s.failures.non2xx + s.failures.errors + s.failures.timeouts + s.failures.mismatches, 0);
  if (failed > 0) throw new Error(`the short P2 run had ${failed} failed requests`);
  return referenceOf(result, `a short P2 run made for P7 (${t.rounds} round × ${t.seconds} s after ${t.warmupSeconds} s warmup), not a full P2`);
}

// ---------------------------------------------------------------------------------------------
// The part

export interface P7Side {
  readonly key: 'rampart' | 'bare' | 'casbin' | 'casbin-many';
  readonly label: string;
  readonly how: string;
  /** Median over the rounds. */
  readonly usPerDecision: number;
  readonly decisionsPerSecond: number;
  readonly roundsUs: readonly number[];
  readonly iterations: number;
}

export interface P7Caller {
  readonly key: CallerKey;
  readonly label: string;
  readonly allowed: Scope;
  readonly denied: Scope;
  readonly rampartUs: number;
  readonly casbinUs: number;
}

export interface P7Result {
  readonly timing: { readonly roundMs: number; readonly warmupMs: number; readonly rounds: number; readonly decisionsInMix: number };
  readonly casbin: { readonly version: string; readonly policies: number; readonly links: number; readonly manyTenants: number; readonly manyPolicies: number };
  readonly checks: readonly string[];
  /** The mix. */
  readonly sides: readonly P7Side[];
  /** Each caller alone (its allowed and its denied scope in turn). */
  readonly callers: readonly P7Caller[];
  /** null when no P2 figure could be had (p2Error says why). */
  readonly p2: P2Reference | null;
  readonly p2Error?: string;
  /** Rampart's decision (the mix) ÷ P2's mean latency, and ÷ P2's server CPU per request. */
  readonly shareOfRequest: number;
  readonly shareOfServerCpu: number;
  readonly measures: readonly Measure[];
}

export async function runP7(settings: BenchSettings, p2: P2Result | null): Promise<P7Result> {
  const mix = checksOf(CALLERS);
  const checks: string[] = [];
  const invalid: string[] = [];

  const one = await casbinEnforcer(1);
  const many = await casbinEnforcer(MANY_TENANTS);
  const version = casbinVersion();

  // Every side must answer every check as expected before anything is timed.
  for (const c of mix) {
    const answers = { Rampart: rampartDecide(c), bare: c.prebuilt.has(c.scope), casbin: casbinDecide(one.enforcer, c), [`casbin ${MANY_TENANTS} tenants`]: casbinDecide(many.enforcer, c) };
    for (const [side, answer] of Object.entries(answers)) {
      if (answer !== c.expected) invalid.push(`${side} answers ${answer ? 'allowed' : 'denied'} for ${c.caller.label} asking ${c.scope}`);
    }
  }
  checks.push(`every side answers the ${mix.length} decisions of the mix as expected (${mix.filter((c) => c.expected).length} allowed, ${mix.filter((c) => !c.expected).length} denied)`);
  checks.push("each side counts the decisions it allowed; every round's count must be the expected one (it also keeps the work from being optimised away)");

  const timed = (key: string, checksOfSide: readonly Check[], loop: Timed['loop']): Timed => ({ key, checks: checksOfSide, loop, roundsNs: [], wrongCounts: 0 });
  const sidesOfMix = {
    rampart: timed('rampart', mix, loopRampart),
    bare: timed('bare', mix, loopBare),
    casbin: timed('casbin', mix, (cs, n) => loopCasbin(one.enforcer, cs, n)),
    'casbin-many': timed('casbin-many', mix, (cs, n) => loopCasbin(many.enforcer, cs, n)),
  };
  const perCaller = CALLERS.map((caller) => {
    const own = checksOf([caller]);
    return {
      caller,
      rampart: timed(`rampart ${caller.key}`, own, loopRampart),
      casbin: timed(`casbin ${caller.key}`, own, (cs, n) => loopCasbin(one.enforcer, cs, n)),
    };
  });

  // The mix: Rampart first, so the bare side can take its iteration count.
  progress(`P7 warmup and calibration, ${WARMUP_MS} ms per side`);
  warmAndCalibrate(sidesOfMix.rampart, WARMUP_MS);
  sidesOfMix.bare.iterations = sidesOfMix.rampart.iterations!;
  for (const t of [sidesOfMix.bare, sidesOfMix.casbin, sidesOfMix['casbin-many']]) warmAndCalibrate(t, WARMUP_MS);
  const mixSides = Object.values(sidesOfMix);
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of mixSides) measureRound(t);
    progress(`P7 round ${r + 1}/${ROUNDS} (mix): ${mixSides.map((t) => `${t.key} ${(t.roundsNs.at(-1)! / 1000).toFixed(3)} µs`).join(', ')}`);
  }

  for (const c of perCaller) {
    warmAndCalibrate(c.rampart, WARMUP_MS);
    warmAndCalibrate(c.casbin, WARMUP_MS);
    for (let r = 0; r < ROUNDS; r++) {
      measureRound(c.rampart);
      measureRound(c.casbin);
    }
    progress(`P7 ${c.caller.label}: Rampart ${(median(c.rampart.roundsNs) / 1000).toFixed(3)} µs, casbin ${(median(c.casbin.roundsNs) / 1000).toFixed(3)} µs`);
  }

  for (const t of [...mixSides, ...perCaller.flatMap((c) => [c.rampart, c.casbin])]) {
    if (t.wrongCounts > 0) invalid.push(`${t.key}: ${t.wrongCounts} rounds counted a wrong number of allowed decisions`);
  }

  const how: Record<P7Side['key'], { label: string; how: string }> = {
    rampart: {
      label: 'Rampart',
      how: 'scopesFromGrants(grants).has(scope); API key: intersectScopes(scopesOf(keyScopes), scopesFromGrants(creatorGrants)).has(scope) (src/platform/http/scopes.ts)',
    },
    bare: { label: 'bare Set.has', how: "Set.has(scope) on the caller's effective scopes built beforehand, same iterations as Rampart: the floor" },
    casbin: {
      label: `casbin ${version}`,
      how: `enforceSync(user, tenant, scope), RBAC with domains from newModelFromString, ${one.policies} policies + ${one.links} role links in memory (one tenant); API key: key and creator, two calls`,
    },
    'casbin-many': {
      label: `casbin, ${MANY_TENANTS} tenants`,
      how: `the same with ${MANY_TENANTS} tenants' rules in the enforcer (${many.policies} policies), the measured tenant in the middle: casbin tries policies in order`,
    },
  };
  const sides: P7Side[] = (Object.keys(sidesOfMix) as Array<P7Side['key']>).map((key) => {
    const t = sidesOfMix[key];
    const ns = median(t.roundsNs);
    return {
      key,
      ...how[key],
      usPerDecision: ns / 1000,
      decisionsPerSecond: 1e9 / ns,
      roundsUs: t.roundsNs.map((x) => x / 1000),
      iterations: t.iterations!,
    };
  });
  const callers: P7Caller[] = perCaller.map((c) => ({
    key: c.caller.key,
    label: c.caller.label,
    ...ASKED[c.caller.key],
    rampartUs: median(c.rampart.roundsNs) / 1000,
    casbinUs: median(c.casbin.roundsNs) / 1000,
  }));

  let reference: P2Reference | null = null;
  let p2Error: string | undefined;
  try {
    reference = await p2Reference(settings, p2);
    progress(`P7 P2 reference: ${reference.source}: ${reference.rps.toFixed(0)} req/s, mean latency ${reference.meanLatencyUs.toFixed(0)} µs`);
  } catch (err) {
    p2Error = err instanceof Error ? err.message : String(err);
    progress(`P7: no P2 figure for the share: ${p2Error}`);
  }

  const side = (key: P7Side['key']) => sides.find((s) => s.key === key)!;
  const rampart = side('rampart');
  const casbin = side('casbin');
  const shareOfRequest = reference ? rampart.usPerDecision / reference.meanLatencyUs : Number.NaN;
  const shareOfServerCpu = reference ? rampart.usPerDecision / reference.serverCpuUsPerRequest : Number.NaN;
  const percent = (x: number) => `${(x * 100).toPrecision(2)}%`;
  const measures = [
    measure(
      {
        id: 'p7.share_of_p2_request',
        title: 'P7 permission decision (mix): share of the P2 request',
        figure: { label: 'decision', value: rampart.usPerDecision * 1000, unit: 'ns' },
        reference: { label: 'P2 mean latency', value: reference ? reference.meanLatencyUs * 1000 : Number.NaN, unit: 'ns' },
        goal: { op: '<=', value: 0.05, unit: 'x', source: 'project brief' },
      },
      [...invalid, ...(p2Error !== undefined ? [`no P2 figure: ${p2Error}`] : [])],
      reference ? `share ${percent(shareOfRequest)} of the request (${percent(shareOfServerCpu)} of its server CPU); P2 figure from ${reference.source}` : undefined,
    ),
    measure(
      {
        id: 'p7.rampart_vs_casbin',
        title: 'P7 permission decisions/s (mix): Rampart vs casbin',
        figure: { label: rampart.label, value: rampart.decisionsPerSecond, unit: '/s' },
        reference: { label: casbin.label, value: casbin.decisionsPerSecond, unit: '/s' },
        goal: { op: '>=', value: 1.0, unit: 'x', source: 'harness default: no slower than the peer' },
      },
      invalid,
    ),
  ];

  return {
    timing: { roundMs: ROUND_MS, warmupMs: WARMUP_MS, rounds: ROUNDS, decisionsInMix: mix.length },
    casbin: { version, policies: one.policies, links: one.links, manyTenants: MANY_TENANTS, manyPolicies: many.policies },
    checks,
    sides,
    callers,
    p2: reference,
    ...(p2Error !== undefined ? { p2Error } : {}),
    shareOfRequest,
    shareOfServerCpu,
    measures,
  };
}

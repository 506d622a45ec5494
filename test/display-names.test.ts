/**
 * Names other people are shown — workspaces, roles (and their descriptions), API keys, SCIM
 * tokens, an account's name, a staff member's name — refuse what lets one name pass for another
 * on screen: control characters, bidirectional overrides and isolates (U+202E turns
 * "report‮fdp.exe" into "reportexe.pdf"), invisible characters, and names that are empty once
 * trimmed. Each refusal is a 400 naming the field, and nothing is written. Names are kept in NFC.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanDisplayName, displayName } from '../src/platform/http/schemas.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, latestLinkToken, signUp, type Caller, type TestApp } from './helpers/app.js';
import { expectStatus, newScimToken, USER, verifyDomain } from './helpers/scim.js';
import { addViaCli, onboard, type StaffCaller } from './helpers/staff.js';

/** Each would show as something it is not, or as nothing. */
const SPOOFS: Array<[string, string]> = [
  ['right-to-left override', 'report\u202Efdp.exe'],
  ['left-to-right embedding', '\u202Aadmin'],
  ['bidi isolate', 'a\u2066b\u2069'],
  ['right-to-left mark', 'admin\u200F'],
  ['arabic letter mark', 'x\u061Cy'],
  ['zero-width space', 'ad\u200Bmin'],
  ['zero-width joiner between Latin letters', 'ad\u200Dmin'],
  ['word joiner', 'ad\u2060min'],
  ['byte order mark', '\uFEFFadmin'],
  ['C0 control (bell)', 'ding\u0007'],
  ['C0 control (newline)', 'two\nlines'],
  ['C1 control (next line)', 'a\u0085b'],
  ['delete', 'a\u007Fb'],
  ['line separator', 'a\u2028b'],
  ['only spaces', '   '],
];

/** Real names, in scripts whose words need a joiner, and emoji sequences. */
const FINE: Array<[string, string, string]> = [
  ['NFD is kept as NFC', 'Cafe\u0301 Ops', 'Café Ops'],
  ['Persian with a zero-width non-joiner', 'می\u200Cخواهم', 'می\u200Cخواهم'],
  ['an emoji family (zero-width joiners)', 'Team 👨\u200D👩\u200D👧', 'Team 👨\u200D👩\u200D👧'],
  ['Hebrew, right to left by itself', 'צוות', 'צוות'],
  ['surrounding spaces trimmed', '  Padded  ', 'Padded'],
];

/**
 * A name an identity provider asserts (SAML, OpenID Connect, SCIM) is cleaned, not refused: the
 * person signing in cannot fix their directory. What remains must pass the rule above.
 */
/** Half of a character a surrogate pair encodes. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

describe('names identity providers assert', () => {
  const rule = displayName(200);

  it('lose every character the rule refuses, and pass it (or are empty)', () => {
    for (const [what, value] of SPOOFS) {
      const cleaned = cleanDisplayName(value, 200);
      if (value.trim() === '') expect(cleaned, what).toBe('');
      else expect(rule.safeParse(cleaned), `${what}: ${JSON.stringify(cleaned)}`).toEqual({ success: true, data: cleaned });
    }
    expect(cleanDisplayName('report\u202Efdp.exe', 200)).toBe('report fdp.exe');
    expect(cleanDisplayName('ad\u200Dmin', 200)).toBe('admin');
    expect(cleanDisplayName('two\nlines', 200)).toBe('two lines');
  });

  it('keep real names in any script, in NFC', () => {
    for (const [what, value, expected] of FINE) expect(cleanDisplayName(value, 200), what).toBe(expected);
  });

  it('for any input: the rule accepts the result as it is, at most max characters, never half a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 1, max: 250 }), (raw, max) => {
        const cleaned = cleanDisplayName(raw, max);
        expect(Array.from(cleaned).length).toBeLessThanOrEqual(max);
        expect(cleaned).not.toMatch(LONE_SURROGATE);
        if (cleaned !== '') expect(displayName(max).safeParse(cleaned)).toEqual({ success: true, data: cleaned });
        expect(cleanDisplayName(cleaned, max)).toBe(cleaned);
      }),
      { numRuns: 500 },
    );
  });
});

describe.each(BACKENDS)('display names on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let ws: string;
  let staffAdmin: StaffCaller;

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'names');
    ws = (await createWorkspace(t, owner, 'Names')).id;
    staffAdmin = await onboard(t, await addViaCli(t, 'staff-admin', 'Ada Admin'), 'staff-admin');
  });
  afterAll(async () => t?.close());

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, headers: Record<string, string>, payload?: object) =>
    t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  interface Field {
    readonly name: string;
    /** The path the issue names. */
    readonly path: string;
    /** A longer text (a description): it may break lines; the rest is refused. */
    readonly text?: true;
    /** The name is optional: empty (or only spaces) is no name. */
    readonly emptyAllowed?: true;
    /** Sends the value; answers the response. */
    send(value: string): ReturnType<typeof call>;
    /** What is stored now (a count, or the named thing), to show nothing was written. */
    state(): Promise<unknown>;
    /** The stored name from a successful answer. */
    stored(body: Record<string, unknown>): Promise<string>;
  }

  const roleUrl = () => `/api/v1/workspaces/${ws}/roles`;
  let signUpEmail = '';
  /** The custom role the rename cases rename. */
  const renamed = async () => {
    roleId ||= (await call('POST', roleUrl(), owner.bearer, { name: 'Renamed role', scopes: ['records:read'] })).json().id;
    return roleId;
  };
  const listed = async (url: string, headers = owner.bearer) => (await call('GET', url, headers)).json().data as Array<Record<string, unknown>>;
  let roleId = '';

  const fields = (): Field[] => [
    {
      name: 'workspace name (create)',
      path: 'body.name',
      send: (name) => call('POST', '/api/v1/workspaces', owner.bearer, { name }),
      state: async () => (await listed('/api/v1/workspaces')).length,
      stored: async (body) => body['name'] as string,
    },
    {
      name: 'workspace name (rename)',
      path: 'body.name',
      send: (name) => call('PATCH', `/api/v1/workspaces/${ws}`, owner.bearer, { name }),
      state: async () => (await call('GET', `/api/v1/workspaces/${ws}`, owner.bearer)).json<{ name: string }>().name,
      stored: async (body) => body['name'] as string,
    },
    {
      name: 'role name (create)',
      path: 'body.name',
      send: (name) => call('POST', roleUrl(), owner.bearer, { name, scopes: ['records:read'] }),
      state: async () => (await listed(roleUrl())).length,
      // Removed again, so the rename below may take the same name.
      stored: async (body) => {
        expect((await t.app.inject({ method: 'DELETE', url: `${roleUrl()}/${String(body['id'])}`, headers: owner.bearer })).statusCode).toBe(204);
        return body['name'] as string;
      },
    },
    {
      name: 'role name (rename)',
      path: 'body.name',
      send: async (name) => call('PATCH', `${roleUrl()}/${await renamed()}`, owner.bearer, { name }),
      state: async () => {
        await renamed();
        return (await listed(roleUrl())).map((r) => r['name']);
      },
      stored: async (body) => body['name'] as string,
    },
    {
      name: 'role description',
      path: 'body.description',
      text: true,
      emptyAllowed: true,
      send: (description) => call('POST', roleUrl(), owner.bearer, { name: `Described ${Math.random()}`, description, scopes: ['records:read'] }),
      state: async () => (await listed(roleUrl())).length,
      stored: async (body) => body['description'] as string,
    },
    {
      name: 'API key name',
      path: 'body.name',
      send: (name) => call('POST', `/api/v1/workspaces/${ws}/api-keys`, owner.bearer, { name, scopes: ['records:read'] }),
      state: async () => (await listed(`/api/v1/workspaces/${ws}/api-keys`)).length,
      stored: async (body) => body['name'] as string,
    },
    {
      name: 'SCIM token name',
      path: 'body.name',
      send: (name) => call('POST', `/api/v1/workspaces/${ws}/scim/tokens`, owner.bearer, { name }),
      state: async () => (await listed(`/api/v1/workspaces/${ws}/scim/tokens`)).length,
      // Revoked again: a workspace has at most three live tokens.
      stored: async (body) => {
        expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${ws}/scim/tokens/${String(body['id'])}`, headers: owner.bearer })).statusCode).toBe(204);
        return body['name'] as string;
      },
    },
    {
      name: "an account's name (sign-up)",
      path: 'body.name',
      emptyAllowed: true,
      send: (name) => {
        signUpEmail = `n-${Math.random().toString(36).slice(2)}@example.test`;
        return call('POST', '/api/v1/auth/sign-up', {}, { email: signUpEmail, password: `pw-${Math.random()}-long-enough`, name });
      },
      state: async () => {
        await t.services.accounts.settle();
        return (await t.database.raw<{ n: string }>('SELECT count(*)::text AS n FROM accounts'))[0]?.n;
      },
      // Sign-up answers 202 before the account is written (decision 0010): read it back by email.
      stored: async () => {
        await t.services.accounts.settle();
        const [row] = await t.database.raw<{ name: string }>('SELECT name FROM accounts WHERE email = $1', [signUpEmail]);
        return row?.name as string;
      },
    },
    {
      name: "a staff member's name",
      path: 'body.name',
      send: (name) => call('POST', '/api/v1/staff/members', staffAdmin.bearer, { email: `s-${Math.random().toString(36).slice(2)}@staff.example.test`, name, role: 'support' }),
      state: async () => (await listed('/api/v1/staff/members', staffAdmin.bearer)).length,
      stored: async (body) => (body['member'] as { name: string }).name,
    },
  ];

  it('refuses control, bidirectional and invisible characters and empty names with a 400 naming the field, writing nothing', async () => {
    for (const field of fields()) {
      for (const [what, value] of SPOOFS) {
        if ((field.text && value.includes('\n')) || (field.emptyAllowed && value.trim() === '')) continue;
        const before = await field.state();
        const res = await field.send(value);
        const where = `${field.name}: ${what}`;
        expect(res.statusCode, `${where}: ${res.body}`).toBe(400);
        const error = res.json().error;
        expect(error.code, where).toBe('validation_failed');
        expect(error.details.issues.map((i: { path: string }) => i.path), where).toEqual([field.path]);
        const named = field.path.split('.').at(-1) as string;
        expect(error.message, where).toMatch(new RegExp(`^${named} must (not be empty|not contain)`));
        expect(await field.state(), where).toEqual(before);
      }
    }
  });

  it('accepts real names in any script, stored in NFC', async () => {
    for (const field of fields()) {
      for (const [what, value, expected] of FINE) {
        const res = await field.send(value);
        const where = `${field.name}: ${what}`;
        expect(res.statusCode, `${where}: ${res.body}`).toBeLessThan(300);
        expect(await field.stored(res.json()), where).toBe(expected);
      }
    }
  });

  it('a description may break lines', async () => {
    const res = await call('POST', roleUrl(), owner.bearer, { name: 'Multi-line', description: 'Reads records.\nNothing else.', scopes: ['records:read'] });
    expect(res.statusCode).toBe(201);
    expect(res.json().description).toBe('Reads records.\nNothing else.');
  });

  it('the rule is in the OpenAPI document', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    const body = spec.paths['/api/v1/workspaces'].post.requestBody.content['application/json'].schema;
    expect(body.properties.name.description).toMatch(/control|bidirectional|invisible/);
  });

  it('an account a directory provisions (SCIM, SAML just-in-time) is named by the cleaned name', async () => {
    const domain = `names-${Math.random().toString(36).slice(2)}.example.test`;
    await verifyDomain(t, ws, domain);
    const token = await newScimToken(t, ws, owner);
    const res = await t.app.inject({
      method: 'POST',
      url: `/scim/v2/${ws}/Users`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({ schemas: [USER], userName: `eve@${domain}`, displayName: 'report\u202Efdp.exe\u200F', emails: [{ value: `eve@${domain}`, primary: true }] }),
    });
    expectStatus(res, 201);
    const members = await listed(`/api/v1/workspaces/${ws}/members`);
    expect(members.find((m) => m['email'] === `eve@${domain}`)?.['name']).toBe('report fdp.exe');
  });

  it('an emailed link still works for an account named in another script', async () => {
    const email = `rtl-${Math.random().toString(36).slice(2)}@example.test`;
    const res = await call('POST', '/api/v1/auth/sign-up', {}, { email, password: 'a long enough password 1', name: 'צוות' });
    expect(res.statusCode).toBe(202);
    expect(await latestLinkToken(t, email)).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

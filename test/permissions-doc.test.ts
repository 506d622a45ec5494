/** docs/permissions.md lists exactly the scopes in code, with the built-in roles that hold each. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILTIN_ROLE_SCOPES, SCOPE_CATALOGUE, SCOPES } from '../src/platform/http/scopes.js';

describe('permissions documentation', () => {
  it('has one row per scope, in catalogue order, with its description and the built-in roles holding it', () => {
    const text = readFileSync(new URL('../docs/permissions.md', import.meta.url), 'utf8');
    const rows = [...text.matchAll(/^\| `([a-z:-]+)` \| (.+?) \| (✓?) \| (✓?) \| (✓?) \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual(SCOPES);
    for (const [, scope, description, owner, admin, member] of rows) {
      const s = scope as (typeof SCOPES)[number];
      expect(description, s).toBe(SCOPE_CATALOGUE[s]);
      expect([owner, admin, member].map((m) => m === '✓'), s).toEqual([
        BUILTIN_ROLE_SCOPES.owner.has(s),
        BUILTIN_ROLE_SCOPES.admin.has(s),
        BUILTIN_ROLE_SCOPES.member.has(s),
      ]);
    }
  });
});

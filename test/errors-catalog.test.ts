/**
 * The list of error codes exists three times — in code, in docs/errors.md and in the OpenAPI
 * document — and this keeps them identical.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES } from '../src/platform/errors.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

function documented(): Map<string, number> {
  const text = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...text.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| .+ \|$/gm)];
  return new Map(rows.map((m) => [m[1] as string, Number(m[2])]));
}

describe('error catalog', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(BACKENDS[0]!);
  });
  afterAll(async () => t?.close());

  it('docs/errors.md lists exactly the codes in code, with the same statuses, in the same order', () => {
    const docs = documented();
    expect([...docs.keys()]).toEqual(ERROR_CODES);
    for (const code of ERROR_CODES) expect(docs.get(code), code).toBe(ERROR_CATALOG[code].status);
  });

  it('codes are snake_case and statuses are HTTP error statuses', () => {
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(ERROR_CATALOG[code].status).toBeGreaterThanOrEqual(400);
      expect(ERROR_CATALOG[code].status).toBeLessThan(600);
    }
  });

  it('the OpenAPI Error schema enumerates the same codes, and every operation refers to it', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    expect(spec.components.schemas.Error.properties.error.properties.code.enum).toEqual(ERROR_CODES);
    for (const [path, item] of Object.entries<Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.responses['4XX']?.content?.['application/json']?.schema.$ref, `${method} ${path}`).toBe('#/components/schemas/Error');
      }
    }
  });
});

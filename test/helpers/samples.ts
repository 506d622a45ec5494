/**
 * Request bodies made from the OpenAPI document, so suites that walk the route table get a valid
 * body for any JSON route — including routes added after the suite was written.
 */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  $ref?: string;
};

export interface OpenApi {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const CANDIDATES = ['probe', 'probe-1', 'a', 'x1', '1', 'probe@example.test', '018f0000-0000-7000-8000-000000000000', '0'.repeat(16), '0'.repeat(64), 'records:read'];

function resolve(schema: JsonSchema, spec: OpenApi): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  const target = spec.components?.schemas?.[name];
  if (!target) throw new Error(`unresolved ${schema.$ref}`);
  return resolve(target, spec);
}

/** A value that satisfies the schema (for the constraints Rampart's schemas use). */
export function sample(input: JsonSchema, spec: OpenApi, field = 'value'): unknown {
  const schema = resolve(input, spec);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema.allOf?.[0];
  if (branch) return sample(branch, spec, field);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(schema.properties ?? {})) out[key] = sample(sub, spec, key);
      if (!schema.properties && schema.additionalProperties !== false) {
        const value = typeof schema.additionalProperties === 'object' ? sample(schema.additionalProperties, spec, 'value') : 'probe';
        out['probe'] = value;
      }
      return out;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string': {
      if (schema.format === 'email') return 'probe@example.test';
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      const fits = (s: string) =>
        (!schema.pattern || new RegExp(schema.pattern, 'u').test(s)) &&
        s.length >= (schema.minLength ?? 0) &&
        s.length <= (schema.maxLength ?? Infinity);
      const found = [`${field}-probe`.toLowerCase().replace(/[^a-z0-9-]/g, ''), ...CANDIDATES].find(fits);
      if (found === undefined) throw new Error(`no sample string fits ${JSON.stringify(schema)}`);
      return found;
    }
    default:
      // No type: any JSON value is accepted.
      return 'probe';
  }
}

/** The JSON body schema of an operation, if it takes one. */
/** A Fastify route URL as the OpenAPI document spells it: `:id` → `{id}`, a trailing `*` → `{*}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{*}');
}

export function bodySchema(spec: OpenApi, method: string, url: string): JsonSchema | null {
  const op = spec.paths[openApiPath(url)]?.[method.toLowerCase()];
  return op?.requestBody?.content?.['application/json']?.schema ?? null;
}

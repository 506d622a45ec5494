/**
 * What the OpenAPI document says about each operation beyond its schemas (decision 0019):
 *
 * - an `operationId`, camelCase verb + noun, from the one table in operation-ids.ts (a route may
 *   name its own as `schema.operationId`);
 * - the error codes it can answer, by status, each with an example body: the common ones derived
 *   from what the route declares (its access kind, scope, path parameters, body and query), and
 *   the route's own declared next to it (`config.errors`);
 * - bracketed query parameters (`filter[field]`) as `style: deepObject`.
 */
import type { RouteOptions } from 'fastify';
import { ERROR_CATALOG, type ErrorCode } from '../errors.js';

/** Codes every route of a kind can answer, by what it declares. */
export function commonErrors(route: Pick<RouteOptions, 'method' | 'url' | 'config' | 'schema'>): ErrorCode[] {
  const method = String(route.method);
  const unsafe = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
  const access = route.config?.access;
  const codes: ErrorCode[] = [];
  if (route.url.includes('/:') || route.url.endsWith('*')) codes.push('invalid_id');
  if (route.schema?.body !== undefined || unsafe) codes.push('invalid_json', 'validation_failed', 'unsupported_media_type', 'payload_too_large');
  if (route.schema?.querystring !== undefined || route.schema?.headers !== undefined) codes.push('validation_failed');
  if (unsafe) codes.push('csrf_failed');
  if (access === 'account' || access === 'workspace' || access === 'api_key' || access === 'staff') codes.push('unauthenticated');
  if (access === 'workspace') codes.push('workspace_not_found', 'forbidden', 'mfa_enrolment_required');
  if (access === 'staff') codes.push('staff_mfa_required', 'forbidden');
  return codes;
}

/** Every 4xx code the route declares, common and its own, once each in catalog order. */
export function declaredErrors(route: Pick<RouteOptions, 'method' | 'url' | 'config' | 'schema'>): ErrorCode[] {
  const declared = new Set<ErrorCode>([...commonErrors(route), ...(route.config?.errors ?? [])]);
  return (Object.keys(ERROR_CATALOG) as ErrorCode[]).filter((code) => declared.has(code));
}

const errorRef = { $ref: '#/components/schemas/Error' };

/** The OpenAPI responses for a route's declared errors: one per status, an example per code. */
export function errorResponses(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CATALOG[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus.entries()].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: list.map((c) => `\`${c}\``).join(', '),
      content: {
        'application/json': {
          schema: errorRef,
          examples: Object.fromEntries(
            list.map((code) => [code, { value: { error: { code, message: ERROR_CATALOG[code].message, details: null, requestId: '01a2520c-16a6-75d9-9970-8873d102150c' } } }]),
          ),
        },
      },
    };
  }
  responses['4XX'] = { description: 'Another client error (docs/errors.md)', content: { 'application/json': { schema: errorRef } } };
  responses['5XX'] = { description: 'Server error', content: { 'application/json': { schema: errorRef } } };
  return responses;
}

type Parameter = { in?: unknown; schema?: { type?: unknown }; style?: string; explode?: boolean };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Query parameters that are objects (`filter[field]=value`) are written as deepObject. */
export function declareDeepObjects<T>(document: T): T {
  const paths = isRecord(document) ? document['paths'] : undefined;
  for (const item of isRecord(paths) ? Object.values(paths) : []) {
    for (const operation of isRecord(item) ? Object.values(item) : []) {
      const parameters = isRecord(operation) && Array.isArray(operation['parameters']) ? (operation['parameters'] as Parameter[]) : [];
      for (const parameter of parameters) {
        if (parameter.in === 'query' && parameter.schema?.type === 'object') {
          parameter.style = 'deepObject';
          parameter.explode = true;
        }
      }
    }
  }
  return document;
}

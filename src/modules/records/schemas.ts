import { z } from 'zod';
import { filterParam, Id, page, PageQuery, WorkspaceParams } from '../../platform/http/schemas.js';

export const COLLECTION_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
/**
 * COLLECTION_NAME in words: the message a refused name gets, the OpenAPI description, and what the
 * console shows beside its field (it reads both from the collection list, `nameRule`).
 */
export const COLLECTION_NAME_RULE = 'a collection name is 1–63 lowercase letters, digits, "_" or "-", starting with a letter';
/** Top-level fields a record may have; each scalar one is filterable. */
export const MAX_FIELDS = 256;
export const MAX_FILTERS = 8;

type JsonValueT = string | number | boolean | null | JsonValueT[] | { [key: string]: JsonValueT };

/** Any JSON value; named so the OpenAPI document can refer to its recursive definition. */
const Json: z.ZodType<JsonValueT> = z
  .lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(Json), z.record(z.string(), Json)]))
  .meta({ id: 'JsonValue' });

export const CollectionName = z.string().regex(COLLECTION_NAME, COLLECTION_NAME_RULE).describe(`${COLLECTION_NAME_RULE}.`);

export const CollectionParams = WorkspaceParams.extend({ collection: CollectionName });
export const RecordParams = CollectionParams.extend({ recordId: Id });

export const RecordData = z
  .record(z.string().min(1).max(256), Json)
  .refine((o) => Object.keys(o).length <= MAX_FIELDS, `at most ${MAX_FIELDS} top-level fields`)
  .describe('The record: a JSON object. Its top-level scalar fields can be filtered on.');

export const RecordBody = z.strictObject({ data: RecordData }).meta({ examples: [{ data: { title: 'Renewal call', status: 'open', priority: 2, tags: ['q3'] } }] });

export const CreateCollectionBody = z.strictObject({ name: CollectionName });

export const Collection = z
  .object({ id: Id, name: z.string(), createdAt: z.iso.datetime() })
  .meta({ id: 'Collection' });

/** The rule collection names follow, for a client to show and check before it sends one. */
export const CollectionNameRule = z
  .object({
    pattern: z.string().describe('A regular expression (ECMAScript syntax) a name must match whole.'),
    description: z.string().describe('The rule in words.'),
  })
  .meta({ id: 'CollectionNameRule' });

export const CollectionList = z.object({
  data: z.array(Collection),
  nameRule: CollectionNameRule,
});

export const COLLECTION_NAME_RULE_VIEW: z.infer<typeof CollectionNameRule> = {
  pattern: COLLECTION_NAME.source,
  description: COLLECTION_NAME_RULE,
};

export const RecordView = z
  .object({
    id: Id,
    collection: z.string(),
    data: z.record(z.string(), Json),
    version: z.number().int().describe('Increases by one on every change; send as If-Match to update safely.'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Record' });

/**
 * `filter[field]=value` matches records whose top-level `field` equals `value`. The value is read
 * as JSON when it is a JSON number, boolean, null or quoted string, and as a plain string otherwise.
 */
export const ListRecordsQuery = z.looseObject({
  ...PageQuery,
  filter: filterParam(MAX_FILTERS),
});

export const IfMatchHeaders = z.looseObject({
  'if-match': z
    .string()
    .regex(/^(W\/)?"?\d{1,9}"?$/, 'If-Match must be a record version such as "3"')
    .optional(),
});

export const RecordPage = page(RecordView);
export type RecordViewT = z.infer<typeof RecordView>;
export type CollectionViewT = z.infer<typeof Collection>;

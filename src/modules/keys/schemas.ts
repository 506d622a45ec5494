import { z } from 'zod';
import { PROVIDER_KINDS } from '../../platform/crypto/providers/types.js';

const Provider = z.enum(PROVIDER_KINDS as ['local', 'pkcs11', 'aws-kms']);
const RowCounts = z.object({ records: z.number().int(), documents: z.number().int(), secrets: z.number().int() });

export const KeyVersionView = z.object({
  version: z.number().int(),
  provider: Provider,
  keyRef: z.string().describe('The root key (or the workspace’s own key) that wraps this version.'),
  state: z.enum(['active', 'retired', 'destroyed']),
  createdAt: z.iso.datetime(),
  rows: RowCounts.describe('Rows whose content is encrypted under this version.'),
});

export const KeyStatus = z.object({
  provider: Provider.describe('Who holds the key that wraps the current version.'),
  ownKey: z.object({ provider: Provider, keyRef: z.string() }).nullable().describe('The workspace’s own key, if it brought one.'),
  currentVersion: z.number().int().describe('The version new content is encrypted under (0: no content encrypted yet).'),
  minDecryptVersion: z.number().int().describe('Versions below this no longer decrypt.'),
  versions: z.array(KeyVersionView),
  plainRows: RowCounts.describe('Rows stored before encryption, waiting for a rewrap.'),
  pendingRewrap: z.number().int().describe('Rows under versions older than the current one.'),
  rotatedAt: z.iso.datetime().nullable(),
  nextRotationAt: z.iso.datetime().nullable(),
  rotationDays: z.number().int().describe('Automatic rotation period; 0 when off.'),
});
export type KeyStatusT = z.infer<typeof KeyStatus>;

export const OwnKeyBody = z.strictObject({
  provider: Provider,
  keyRef: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .describe('The key: an AWS KMS key ARN, or a PKCS#11 key reference `pkcs11:<label>`.'),
});

export const RetireBody = z.strictObject({
  minVersion: z.number().int().min(1).max(1_000_000).describe('The oldest version that may still decrypt.'),
});

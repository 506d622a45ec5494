import { z } from 'zod';
import { Id } from '../../platform/http/schemas.js';

const Segment = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const IntegrationName = z.string().regex(Segment, 'lowercase letters, digits, `_`, `.` and `-`, at most 63, starting with a letter or digit');
export const SecretName = z
  .string()
  .max(255)
  .refine((v) => {
    const parts = v.split('/');
    return parts.length <= 4 && parts.every((p) => Segment.test(p));
  }, 'one to four `/`-separated segments of lowercase letters, digits, `_`, `.` and `-`');

/** Values are text (tokens, keys, JSON credentials); at most 16 KiB. */
const SecretValue = z.string().min(1).max(16_384).describe('The secret. Write-only: no API returns it.');

export const SecretView = z.object({
  id: Id,
  path: z.string().describe('tenants/<workspace>/integrations/<integration>/<name>'),
  integration: z.string(),
  name: z.string(),
  version: z.number().int().describe('Increases with each rotation.'),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable().describe('When server-side code last read the value.'),
});
export type SecretViewT = z.infer<typeof SecretView>;

export const CreateSecretBody = z.strictObject({ integration: IntegrationName, name: SecretName, value: SecretValue });
export const RotateSecretBody = z.strictObject({ value: SecretValue });
export const SecretParams = z.strictObject({ workspaceId: Id, integration: IntegrationName, '*': SecretName });

import { z } from 'zod';
import { Id, WorkspaceParams } from '../../platform/http/schemas.js';

export const Domain = z.object({
  id: z.string(),
  domain: z.string(),
  status: z.enum(['pending', 'verified']),
  verification: z.object({
    type: z.literal('TXT'),
    names: z.array(z.string()).describe('Publish the record at either name.'),
    value: z.string(),
  }),
  verifiedAt: z.string().nullable(),
  lastCheckedAt: z.string().nullable(),
  ssoEnforced: z.boolean(),
  createdAt: z.string(),
});
export type DomainView = z.infer<typeof Domain>;

export const AddDomainBody = z.strictObject({ domain: z.string().min(1).max(253) });
export const DomainParams = WorkspaceParams.extend({ domainId: Id });
export const DomainPatchBody = z.strictObject({ ssoEnforced: z.boolean() });

export { DnsTxtLookup, type TxtLookup } from './dns.js';
export { emailDomain, normalizeDomain } from './names.js';
export { domainsRoutes } from './routes.js';
export { DomainsService, type DomainsDeps, type SsoPolicy } from './service.js';

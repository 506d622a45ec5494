/**
 * Assembles the Rampart HTTP server from the platform and the modules. It opens nothing itself:
 * the database and object store are given, so tests build the same app over PGlite or
 * PostgreSQL and drive it with `inject`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { publicUrl, tlsEnabled, type Config } from './config.js';
import { AccessService } from './modules/access/index.js';
import { AccountsService, accountsRoutes } from './modules/accounts/index.js';
import { ApiKeysService, apiKeysRoutes } from './modules/api-keys/index.js';
import { AuthEvents, StaffEvents, WorkspaceEvents, workspaceEventsRoutes } from './modules/events/index.js';
import { AuditLog } from './platform/audit/log.js';
import { AuditService, auditRoutes } from './modules/audit/index.js';
import { CheckpointSigner } from './platform/audit/signer.js';
import { AuditSinks, HttpSink, syslogSink, type SinkTransport } from './platform/audit/sinks.js';
import { InvitationsService, invitationsRoutes } from './modules/invitations/index.js';
import { MembersService, membersRoutes } from './modules/members/index.js';
import { mailRoutes } from './modules/mail/index.js';
import { MfaService, mfaRoutes } from './modules/mfa/index.js';
import { OidcService, oidcRoutes } from './modules/oidc/index.js';
import { OverviewService, overviewRoutes } from './modules/overview/index.js';
import { DirectoryService, directoryRoutes } from './modules/directory/index.js';
import { DocumentsService, documentsRoutes } from './modules/documents/index.js';
import { DnsTxtLookup, DomainsService, domainsRoutes } from './modules/domains/index.js';
import { hasSamlConnectionIn, samlSummaryIn, SetupLinks, SsoService, ssoRoutes } from './modules/sso/index.js';
import { RecordsService, recordsRoutes } from './modules/records/index.js';
import { ScimService, scimRoutes, scimTokensRoutes, SCIM_PREFIX } from './modules/scim/index.js';
import { systemRoutes } from './modules/system/index.js';
import { KeysService, keysRoutes } from './modules/keys/index.js';
import { VaultService, vaultRoutes } from './modules/vault/index.js';
import { StaffAccessService, StaffService, staffRoutes } from './modules/staff/index.js';
import { WorkspacesService, workspacesRoutes } from './modules/workspaces/index.js';
import { ContentCodec } from './platform/content/codec.js';
import { openKeyring, type Keyring } from './platform/crypto/index.js';
import type { Database } from './platform/db/types.js';
import { BackgroundWork } from './platform/background.js';
import { requestMeta, type Access } from './platform/http/context.js';
import type { Scope } from './platform/http/scopes.js';
import { RampartError } from './platform/errors.js';
import { installAuth } from './platform/http/auth.js';
import { clientErrorHandler } from './platform/http/client-errors.js';
import { installErrorHandling, sendError, toRampartError } from './platform/http/errors.js';
import { installJsonBodyParser } from './platform/http/json-body.js';
import { methodNotAllowed } from './platform/http/methods.js';
import { declareDeepObjects, declaredErrors, errorResponses } from './platform/http/openapi.js';
import { OPERATION_IDS } from './platform/http/operation-ids.js';
import { securityHeaders } from './platform/http/security-headers.js';
import { validatorCompiler } from './platform/http/validation.js';
import { assertSafeJson } from './platform/http/json-guard.js';
import { Throttle } from './platform/http/throttle.js';
import { Mailer } from './platform/mail/index.js';
import { createLogger, requestLogController } from './platform/log.js';
import type { ObjectStore } from './platform/storage/object-store.js';

export const API_PREFIX = '/api/v1';
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
export const DOCS_PATH = `${API_PREFIX}/docs`;
/** The console's build output; one level above both src/ and dist/. */
export const DEFAULT_WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');

export interface AppDeps {
  readonly config: Config & { rootSecret: string };
  readonly db: Database;
  readonly objects: ObjectStore;
  /** The key hierarchy; opened from config when not given (and then closed with the app). */
  readonly keyring?: Keyring;
  /** A logger to use instead of building one from config (tests capture output this way). */
  readonly logger?: FastifyBaseLogger;
  /** Directory of the built console; null serves no console. */
  readonly webRoot?: string | null;
  /** Rate limits to use instead of building them from config (tests share or loosen them). */
  readonly throttle?: Throttle;
}

export interface Services {
  readonly audit: AuditLog;
  readonly auditSinks: AuditSinks;
  readonly staffEvents: StaffEvents;
  readonly accounts: AccountsService;
  readonly events: AuthEvents;
  readonly workspaceEvents: WorkspaceEvents;
  readonly mailer: Mailer;
  readonly throttle: Throttle;
  readonly workspaces: WorkspacesService;
  readonly members: MembersService;
  readonly invitations: InvitationsService;
  readonly apiKeys: ApiKeysService;
  readonly records: RecordsService;
  readonly documents: DocumentsService;
  readonly keys: KeysService;
  readonly vault: VaultService;
  readonly staff: StaffService;
  readonly staffAccess: StaffAccessService;
  readonly directory: DirectoryService;
  readonly scim: ScimService;
  readonly domains: DomainsService;
  readonly sso: SsoService;
}

/** A registered route, as the route table knows it (tests enumerate these). */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: Access | undefined;
  /** For workspace routes: the scope the caller must hold. */
  readonly scope: Scope | undefined;
  /** For staff routes: the staff permission (or level) the caller's role must hold. */
  readonly staffPermission: string | undefined;
  /** Whether the route validates a JSON body (not a form: the SAML ACS declares `consumes`). */
  readonly jsonBody: boolean;
  readonly hidden: boolean;
}

export interface RampartApp {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly routes: readonly RouteEntry[];
}

function tlsOptions(config: Config) {
  if (!tlsEnabled(config)) return null;
  return {
    key: readFileSync(config.tlsKeyFile as string),
    cert: readFileSync(config.tlsCertFile as string),
    minVersion: 'TLSv1.2' as const,
  };
}

/** A hop count trusts that many proxies nearest the server, as proxy-addr counts them. */
function trustProxyOption(trust: Config['trustProxy']): FastifyServerOptions['trustProxy'] {
  if (typeof trust === 'number') return (_address: string, hop: number) => hop < trust;
  return trust;
}

export async function buildApp(deps: AppDeps): Promise<RampartApp> {
  const { config, db, objects } = deps;
  const keyring = deps.keyring ?? (await openKeyring(config, db));
  const codec = new ContentCodec(keyring);
  const https = tlsOptions(config);
  const secureOrigin = https !== null || publicUrl(config).startsWith('https://');
  // The security headers, computed once: on every answer, including those written to the socket.
  const headers = securityHeaders({ secureOrigin });

  const options: FastifyServerOptions & { https?: typeof https } = {
    ...(https ? { https } : {}),
    loggerInstance: deps.logger ?? createLogger(config),
    // Request ids are ours; a client-sent x-request-id is not trusted into the logs.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    logController: requestLogController(config),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: trustProxyOption(config.trustProxy),
    // Errors raised before routing (an undecodable URL, an over-long path segment) get the same
    // body and headers; no hook runs for them.
    frameworkErrors: (error, request, reply) => {
      void sendError(request, reply.headers(headers), toRampartError(error));
    },
    // Requests Node cannot parse (oversized headers, not HTTP) never reach Fastify: same body.
    clientErrorHandler: clientErrorHandler(headers, () => app.log),
  };
  // With `https` set Fastify serves TLS; the instance's API is the same either way.
  const app = Fastify(options).withTypeProvider<ZodTypeProvider>();

  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      routes.push({
        method,
        url: route.url,
        access: route.config?.access,
        scope: route.config?.scope,
        staffPermission: route.config?.staffPermission,
        jsonBody: route.schema?.body !== undefined && (route.schema.consumes ?? ['application/json']).includes('application/json'),
        hidden: route.schema?.hide === true,
      });
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  // JSON only: a text/plain body (what a cross-site form can send without a preflight) is 415.
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app);

  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  await app.register(fastifyCookie);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Rampart API',
        version: '1',
        description:
          'The Rampart trust layer. Errors are `{ "error": { "code", "message", "details", "requestId" } }` with the stable codes of docs/errors.md.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: '__Host-rampart_session' },
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              "A session token from POST /api/v1/auth/tokens, or a workspace API key (rk_live_…). An API key opens its own workspace's routes only (and GET /api/v1/workspace, which names that workspace); on another workspace's routes: 401 unauthenticated, as an unknown or revoked key, whether or not that workspace exists.",
          },
          staffSession: { type: 'apiKey', in: 'cookie', name: '__Host-rampart_staff' },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      const route = input.route;
      const method = String(Array.isArray(route.method) ? route.method[0] : route.method);
      const config = route.config as { access?: string; scope?: string; staffPermission?: string } | undefined;
      const schema = out.schema as Record<string, unknown>;
      const responses = { ...((schema['response'] as Record<string, unknown> | undefined) ?? {}), ...errorResponses(declaredErrors(route)) };
      const security: { security?: Array<Record<string, string[]>> } =
        config?.access === 'public'
          ? { security: [] }
          : config?.access === 'staff'
            ? { security: [{ staffSession: [] }, { bearer: [] }] }
            : config?.access === 'api_key'
              ? { security: [{ bearer: [] }] }
              : {};
      const operationId = (schema['operationId'] as string | undefined) ?? OPERATION_IDS[`${method} ${route.url}`];
      return {
        ...out,
        schema: {
          ...schema,
          ...(operationId ? { operationId } : {}),
          response: responses,
          ...security,
          ...(config?.scope ? { 'x-required-scope': config.scope } : {}),
          ...(config?.staffPermission ? { 'x-staff-permission': config.staffPermission } : {}),
        },
      };
    },
    transformObject: (input) => declareDeepObjects(jsonSchemaTransformObject(input)),
  });

  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    // BaseLayout: the default top bar draws an SVG logo with an inline <style>, which the CSP refuses.
    uiConfig: { validatorUrl: null, deepLinking: false, layout: 'BaseLayout' },
    staticCSP: false,
  });

  const logger = app.log;
  // Links in email point at the public URL; with port 0 (tests) at the port actually bound.
  const baseUrl = () => {
    const address = app.server.address();
    return publicUrl(config, typeof address === 'object' && address ? address.port : undefined);
  };
  const audit = new AuditLog(db, { log: logger, signer: new CheckpointSigner(db, keyring.root) });
  audit.start();
  const sinkTransports: SinkTransport[] = [];
  if (config.auditSinkUrl) sinkTransports.push(new HttpSink(config.auditSinkUrl, config.auditSinkToken ?? null));
  if (config.auditSyslogUrl) sinkTransports.push(syslogSink(config.auditSyslogUrl));
  const auditSinks = new AuditSinks(db, audit, sinkTransports, { log: logger });
  const events = new AuthEvents(db, audit);
  const staffEvents = new StaffEvents(db, audit);
  const mailer = new Mailer(db, { smtpUrl: config.smtpUrl, from: config.mailFrom, dev: config.dev, logger });
  const throttle =
    deps.throttle ??
    Throttle.create({
      redisUrl: config.redisUrl,
      logger,
      limits: {
        ip: { points: config.rateLimitIpPerMinute, durationSeconds: 60 },
        account: { points: config.rateLimitEmailPer5Minutes, durationSeconds: 300 },
      },
    });
  const background = new BackgroundWork((err) => logger.error({ err }, 'background work failed'));
  const link = (p: string) => `${baseUrl()}${p}`;
  const accounts = new AccountsService(db, config, { mailer, events, throttle, link, background });
  const workspaceEvents = new WorkspaceEvents(db, audit);
  const members = new MembersService(db, workspaceEvents);
  const workspaces = new WorkspacesService(db, config.regions, members, workspaceEvents);
  const records = new RecordsService(db, codec, workspaceEvents);
  const documents = new DocumentsService(db, objects, codec, workspaceEvents);
  const staff = new StaffService({
    db,
    config: { rootSecret: config.rootSecret, sessionTtlSeconds: config.sessionTtlSeconds, sessionIdleSeconds: config.sessionIdleSeconds },
    events: staffEvents,
    passwords: accounts.passwords,
    throttle,
    link,
    defer: (work) => background.run(work),
  });
  const staffAccess = new StaffAccessService({ db, workspaces, members, records, documents, events: workspaceEvents, mailer, link });
  const domains = new DomainsService({ db, dns: new DnsTxtLookup(config.dnsServers), events: workspaceEvents, accounts, hasSsoConnectionIn: hasSamlConnectionIn });
  const directory = new DirectoryService({ db, members, accounts, domains, events: workspaceEvents });
  const scim = new ScimService({ db, directory, events: workspaceEvents, authEvents: events, throttle });
  const sso = new SsoService({
    db,
    accounts,
    domains,
    events: workspaceEvents,
    throttle,
    directory,
    members,
    baseUrl,
    maxResponseBytes: config.samlMaxResponseBytes,
    allowPrivateMetadata: config.samlMetadataAllowPrivate,
  });
  accounts.setSsoPolicy((tx, email) => domains.policyIn(tx, email));
  const services: Services = {
    audit,
    auditSinks,
    staffEvents,
    accounts,
    events,
    workspaceEvents,
    mailer,
    throttle,
    workspaces,
    members,
    invitations: new InvitationsService({ db, members, workspaces, accounts, events: workspaceEvents, mailer, throttle, link }),
    apiKeys: new ApiKeysService(db, workspaceEvents, members),
    records,
    documents,
    keys: new KeysService({ db, keyring, codec, objects, events: workspaceEvents, background, log: logger, rotationDays: config.keyRotationDays }),
    vault: new VaultService(db, codec, workspaceEvents),
    staff,
    staffAccess,
    directory,
    scim,
    domains,
    sso,
  };
  services.workspaces.onDeleted((w) => services.documents.purgeWorkspace(w));
  services.workspaces.onDeleted((w) => services.keys.workspaceDeleted(w.tenantId));
  services.workspaces.onDeleted((w) => staffAccess.workspaceDeleted(w.tenantId));

  const access = new AccessService(db, config.sessionIdleSeconds, (token) => accounts.csrfToken(token), background);
  installAuth(app, {
    resolve: (token, kind, workspaceId) => access.resolve(token, kind, workspaceId),
    resolveApiKey: (secret, workspaceId) => access.resolveApiKey(secret, workspaceId),
    resolveOwnApiKey: (secret) => access.resolveOwnApiKey(secret),
    touch: (principal) => accounts.touch(principal),
    touchApiKey: (membership, keyId) => access.touchApiKey(membership, keyId),
    staff: { resolve: (token, kind) => staff.resolve(token, kind), touch: (principal) => staff.touch(principal) },
  });
  // Every refusal (403) is one event: in the workspace's events when the workspace is known,
  // otherwise in the authentication events; none here when the refusing code recorded its own.
  // Recorded before the answer goes out.
  app.addHook('onError', async (request, _reply, error) => {
    const refused = toRampartError(error);
    // Staff routes record their refusals in the staff chain (src/modules/staff/routes.ts).
    if (refused.status !== 403 || refused.recorded || request.routeOptions.config.access === 'staff' || request.routeOptions.config.access === 'scim') return;
    const details = {
      code: refused.code,
      method: request.method,
      route: request.routeOptions.url ?? null,
      scope: request.routeOptions.config.scope ?? null,
    };
    try {
      if (request.membership) {
        await workspaceEvents.record(request.membership.tenant, request.actor, { action: 'access.denied', outcome: 'denied', details }, requestMeta(request));
      } else {
        await events.record({ action: 'access.denied', outcome: 'denied', accountId: request.principal?.accountId ?? null, details }, requestMeta(request));
      }
    } catch (err) {
      request.log.error({ err }, 'recording a refusal failed');
    }
  });
  app.addHook('onClose', async () => {
    await background.settle();
    await audit.stop();
    await auditSinks.stop();
    await mailer.stop();
    await throttle.close();
    if (!deps.keyring) await keyring.close();
  });

  app.addHook('preValidation', async (request) => {
    if (request.body !== undefined) assertSafeJson(request.body);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.get(OPENAPI_PATH, { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  await app.register(systemRoutes(db));
  await app.register(accountsRoutes(accounts, events));
  await app.register(mfaRoutes(new MfaService({ db, config, accounts, events, throttle, baseUrl }), accounts));
  const oidc = new OidcService({ db, config, accounts, events, throttle });
  await app.register(oidcRoutes(oidc, accounts));
  // The development mailbox: only in development mode, and only when mail is not really sent.
  if (config.dev && !config.smtpUrl) await app.register(mailRoutes(mailer));
  await app.register(workspacesRoutes(services.workspaces));
  await app.register(
    overviewRoutes(
      new OverviewService({
        db,
        workspaces,
        members,
        domains,
        samlSummaryIn,
        scim,
        staffAccess,
        keys: services.keys,
        audit,
        oidcEnabled: () => oidc.enabled(),
      }),
    ),
  );
  await app.register(membersRoutes(members, accounts));
  await app.register(invitationsRoutes(services.invitations, workspaces));
  await app.register(apiKeysRoutes(services.apiKeys, workspaces));
  await app.register(workspaceEventsRoutes(workspaceEvents));
  await app.register(auditRoutes(new AuditService(audit, workspaceEvents)));
  await app.register(recordsRoutes(services.records));
  await app.register(documentsRoutes(services.documents, config.documentMaxBytes));
  await app.register(keysRoutes(services.keys));
  await app.register(vaultRoutes(services.vault));
  await app.register(staffRoutes(staff, staffAccess, staffEvents));
  await app.register(directoryRoutes(directory));
  await app.register(scimTokensRoutes(scim, baseUrl));
  // The SCIM 2.0 server: not a JSON API route under /api — its own content type, errors and tokens.
  await app.register(scimRoutes(scim, { baseUrl, bodyLimit: config.bodyLimitBytes }), { prefix: SCIM_PREFIX });
  await app.register(domainsRoutes(domains));
  await app.register(ssoRoutes(sso, new SetupLinks({ db, sso, domains, workspaces, events: workspaceEvents, scim, baseUrl, link }), accounts, config.samlMaxResponseBytes));

  await serveConsole(app, deps.webRoot === undefined ? DEFAULT_WEB_ROOT : deps.webRoot);
  return { app, services, routes };
}

/** The console: static files, and its index.html for any other GET that is not the API. */
async function serveConsole(app: FastifyInstance, webRoot: string | null): Promise<void> {
  const hasConsole = webRoot !== null && existsSync(path.join(webRoot, 'index.html'));
  if (hasConsole) {
    await app.register(fastifyStatic, {
      root: webRoot,
      prefix: '/',
      wildcard: false,
      index: false,
      cacheControl: false,
      // Vite names assets by content hash: they never change under one name.
      setHeaders: (reply, file) => {
        reply.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }
  app.setNotFoundHandler((request, reply) => {
    const wantsPage = request.method === 'GET' && !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
    if (hasConsole && wantsPage) {
      return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html');
    }
    const wrongMethod = methodNotAllowed(app, request.method, request.url);
    if (wrongMethod) return sendError(request, reply.header('allow', wrongMethod.allow), wrongMethod.error);
    return sendError(request, reply, new RampartError('not_found'));
  });
}

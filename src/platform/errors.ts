/**
 * The one error family of Rampart.
 *
 * Every error a client can see has a stable snake_case `code`, an HTTP status and a safe public
 * message. An optional internal detail and cause are logged, never sent. `docs/errors.md`, this
 * table and the OpenAPI `Error` schema are kept in step by `test/errors-catalog.test.ts`.
 */

interface ErrorSpec {
  readonly status: number;
  /** Public message, written for the client; it never carries secrets or internals. */
  readonly message: string;
}

export const ERROR_CATALOG = {
  // 400
  validation_failed: { status: 400, message: 'The request did not match the expected shape.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  invalid_id: { status: 400, message: 'An identifier in the request is malformed.' },
  invalid_cursor: { status: 400, message: 'The pagination cursor is invalid.' },
  invalid_filter: { status: 400, message: 'The filter is invalid.' },
  invalid_document_name: { status: 400, message: 'The document name is not allowed.' },
  confirmation_required: { status: 400, message: 'This action needs an explicit confirmation.' },
  weak_password: { status: 400, message: 'The password does not meet the password policy.' },
  invalid_link: { status: 400, message: 'The link is invalid or has expired.' },
  link_other_browser: { status: 400, message: 'Open this link in the browser where you asked for it.' },
  challenge_expired: { status: 400, message: 'The sign-in attempt is invalid or has expired; start again.' },
  sign_in_failed: { status: 400, message: 'Sign-in with the identity provider failed.' },
  bad_request: { status: 400, message: 'The request could not be processed.' },
  key_not_usable: { status: 400, message: 'The key could not be used: it does not exist, is disabled, or Rampart is not allowed to use it.' },
  kms_provider_not_configured: { status: 400, message: 'This key management provider is not configured on this instance.' },
  audit_checkpoint_invalid: { status: 400, message: 'The checkpoint is not one this audit log signed.' },
  access_duration_too_long: { status: 400, message: 'The access asked for lasts longer than allowed.' },
  unknown_scope: { status: 400, message: 'No such permission scope.' },
  scope_not_requestable: { status: 400, message: 'Staff cannot ask for this scope.' },
  domain_invalid: { status: 400, message: 'This is not a domain name that can be verified.' },
  domain_verification_failed: { status: 400, message: "The domain's DNS does not hold the verification record yet." },
  domain_not_verified: { status: 400, message: 'Verify the domain first.' },
  saml_metadata_invalid: { status: 400, message: "The identity provider's metadata could not be used." },
  saml_certificate_invalid: { status: 400, message: 'The identity provider certificate could not be used.' },
  sso_connection_required: { status: 400, message: 'Set up and enable a SAML connection first.' },
  mfa_code_invalid: { status: 400, message: 'The code is not right: check the time on your device and enter the code it shows now.' },
  passkey_invalid: { status: 400, message: 'The passkey could not be verified; try again.' },
  // 401
  unauthenticated: { status: 401, message: 'Authentication is required.' },
  invalid_credentials: { status: 401, message: 'Invalid credentials.' },
  reauthentication_required: { status: 401, message: 'Confirm your password to do this.' },
  // 403
  forbidden: { status: 403, message: 'You are not allowed to do this.' },
  csrf_failed: { status: 403, message: 'The request failed cross-site request forgery checks.' },
  setup_token_invalid: { status: 403, message: 'The setup link is invalid or has expired.' },
  signup_closed: { status: 403, message: 'Sign-up is closed on this instance.' },
  email_not_verified: { status: 403, message: 'Verify your email address first.' },
  scope_escalation: { status: 403, message: 'You cannot grant or take away permissions you do not hold yourself.' },
  role_immutable: { status: 403, message: 'Built-in roles cannot be changed or deleted.' },
  owner_role_reserved: { status: 403, message: 'The owner role moves only by transferring ownership.' },
  invitation_email_mismatch: { status: 403, message: 'This invitation is for another email address.' },
  mfa_enrolment_required: { status: 403, message: 'This workspace requires multi-factor authentication; set it up first.' },
  staff_mfa_required: { status: 403, message: 'Staff sessions must prove an authenticator code first.' },
  staff_grant_expired: { status: 403, message: 'This access grant has expired.' },
  staff_grant_revoked: { status: 403, message: 'This access grant was revoked.' },
  approval_requires_session: { status: 403, message: 'Staff access is approved by a signed-in member, not an API key.' },
  sso_required: { status: 403, message: 'Accounts of this email domain sign in with single sign-on.' },
  email_managed: { status: 403, message: "This account's email address is in a domain a workspace manages; its identity provider changes it." },
  // 404
  not_found: { status: 404, message: 'The resource was not found.' },
  workspace_not_found: { status: 404, message: 'The workspace was not found.' },
  collection_not_found: { status: 404, message: 'The collection was not found.' },
  record_not_found: { status: 404, message: 'The record was not found.' },
  document_not_found: { status: 404, message: 'The document was not found.' },
  role_not_found: { status: 404, message: 'The role was not found.' },
  member_not_found: { status: 404, message: 'The member was not found.' },
  invitation_not_found: { status: 404, message: 'The invitation was not found.' },
  secret_not_found: { status: 404, message: 'The secret was not found.' },
  api_key_not_found: { status: 404, message: 'The API key was not found.' },
  session_not_found: { status: 404, message: 'The session was not found.' },
  factor_not_found: { status: 404, message: 'The authentication factor was not found.' },
  provider_not_configured: { status: 404, message: 'Sign-in with an identity provider is not configured.' },
  access_request_not_found: { status: 404, message: 'The access request was not found.' },
  staff_grant_not_found: { status: 404, message: 'The access grant was not found.' },
  domain_not_found: { status: 404, message: 'The domain was not found.' },
  sso_not_configured: { status: 404, message: 'Single sign-on is not set up for this workspace.' },
  staff_member_not_found: { status: 404, message: 'The staff member was not found.' },
  scim_token_not_found: { status: 404, message: 'No live SCIM token with this id in this workspace.' },
  group_role_mapping_not_found: { status: 404, message: 'No such directory group mapping in this workspace.' },
  // 405, 406, 408, 409, 412, 413, 415
  method_not_allowed: { status: 405, message: 'The method is not allowed on this resource.' },
  not_acceptable: { status: 406, message: 'The requested representation is not available.' },
  request_timeout: { status: 408, message: 'The request took too long to arrive.' },
  account_exists: { status: 409, message: 'An account with this email already exists.' },
  collection_exists: { status: 409, message: 'A collection with this name already exists.' },
  identity_in_use: { status: 409, message: 'This identity is already linked to another account.' },
  mfa_already_enabled: { status: 409, message: 'This authentication factor is already set up.' },
  last_owner: { status: 409, message: 'A workspace always keeps its owner; transfer ownership first.' },
  role_in_use: { status: 409, message: 'The role is still held by members or pending invitations.' },
  role_name_taken: { status: 409, message: 'A role with this name already exists.' },
  already_member: { status: 409, message: 'This person is already a member of the workspace.' },
  invitation_pending: { status: 409, message: 'An invitation to this email is already pending; resend or revoke it.' },
  secret_exists: { status: 409, message: 'A secret already exists at this path; rotate it instead.' },
  key_version_in_use: { status: 409, message: 'Content is still encrypted under an older key version; rewrap it first.' },
  staff_member_exists: { status: 409, message: 'A staff member with this email already exists.' },
  scim_token_limit: { status: 409, message: 'The workspace already has the most live SCIM tokens it may have; revoke one first.' },
  group_role_mapping_exists: { status: 409, message: 'This directory group already gives this role.' },
  access_request_not_pending: { status: 409, message: 'The access request is no longer waiting for a decision.' },
  staff_grant_not_active: { status: 409, message: 'The access grant is not active: it expired or was revoked.' },
  encryption_key_disabled: {
    status: 409,
    message: "The workspace's encryption key is disabled or revoked; its data cannot be read until the key is enabled again.",
  },
  domain_exists: { status: 409, message: 'This workspace has already added this domain.' },
  domain_claimed: { status: 409, message: 'Another workspace has verified this domain.' },
  conflict: { status: 409, message: 'The request conflicts with the current state.' },
  encryption_key_destroyed: { status: 410, message: "The workspace's encryption key was destroyed; its data cannot be read." },
  invitation_invalid: { status: 410, message: 'The invitation is no longer valid: it was used, revoked, or has expired.' },
  precondition_failed: { status: 412, message: 'The resource has changed since it was read.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  uri_too_long: { status: 414, message: 'The request URL is too long.' },
  unsupported_media_type: { status: 415, message: 'The content type is not supported.' },
  // 429, 431
  rate_limited: { status: 429, message: 'Too many requests; try again later.' },
  request_header_fields_too_large: { status: 431, message: 'The request headers are too large.' },
  // 5xx
  internal_error: { status: 500, message: 'An internal error occurred.' },
  decryption_failed: { status: 500, message: 'Decryption failed.' },
  not_ready: { status: 503, message: 'The service is not ready.' },
  service_unavailable: { status: 503, message: 'The service is temporarily unavailable; try again shortly.' },
  kms_unavailable: { status: 503, message: 'The key management service is unavailable; try again shortly.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

export interface RampartErrorOptions {
  /** A safer, more specific public message than the catalog's default. Never include secrets. */
  readonly message?: string;
  /** Structured, public details (for example which field failed validation). */
  readonly details?: unknown;
  /** Private detail for the log; never sent to the client. */
  readonly internal?: string;
  readonly cause?: unknown;
  /** For 429 and 503: seconds until a retry may succeed, sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;
  /** The refusal is already an audit event of its own (with its reason): see `recorded`. */
  readonly recorded?: boolean;
}

export class RampartError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly internal: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  /**
   * Set when the code that refused already recorded the refusal as an audit event, with its
   * reason: the generic 403 event (`access.denied`) is then not recorded too, so one refused
   * request stays one event.
   */
  recorded: boolean;

  constructor(code: ErrorCode, options: RampartErrorOptions = {}) {
    const spec: ErrorSpec = ERROR_CATALOG[code];
    super(options.message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RampartError';
    this.code = code;
    this.status = spec.status;
    this.details = options.details;
    this.internal = options.internal;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.recorded = options.recorded ?? false;
  }

  /** Only errors below 500 explain themselves to the client. */
  get expose(): boolean {
    return this.status < 500;
  }

  toBody(requestId: string): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.expose ? this.message : ERROR_CATALOG[this.code].message,
        details: this.expose ? (this.details ?? null) : null,
        requestId,
      },
    };
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: unknown; requestId: string };
}

/**
 * Pages that email links and redirects open, each with a token in the URL fragment: email
 * verification (`/verify`), sign-in links (`/magic`), password reset (`/reset`), the second
 * factor of a sign-in (`/mfa`), the offer to link an identity provider's account (`/link`), and
 * the confirmation of a new email address (`/email-change`).
 *
 * Each reads its token once (see flow.ts) and sends it only in a request body.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type Account, type OidcStatus, type Session, type SignInResult } from '../api';
import { ErrorMessage, NewPasswordField, shortPasswordError, Status, TotpCodeField } from '../components/ui';
import {
  clearEmailChangeToken,
  clearLinkOffer,
  emailChangeToken,
  linkOfferToken,
  saveEmailChangeToken,
  saveLinkOffer,
  takePendingMfa,
  useFragment,
  useFragmentToken,
  type PendingMfa,
} from '../flow';
import { useAction } from '../hooks';
import { Link, navigate } from '../router';
import { assertPasskey, browserSupportsWebAuthn, PasskeyError } from '../webauthn';
import { AuthLayout, ForgotPasswordPage, type AuthPageProps } from './auth';

/** What went wrong with an email link, and what to do about it. */
function LinkProblem({ error, again }: { error: unknown; again: { href: string; label: string } }) {
  const otherBrowser = error instanceof ApiError && error.code === 'link_other_browser';
  return (
    <>
      <ErrorMessage error={errorMessage(error)} testId="link-error" />
      {otherBrowser ? (
        <p>Links are tied to the browser that asked for them, so that a forwarded or intercepted email cannot be used elsewhere.</p>
      ) : (
        <p>Email links work once, for 15 minutes, and a newer link replaces an older one.</p>
      )}
      <p>
        <Link href={again.href}>{again.label}</Link>
      </p>
    </>
  );
}

function MissingToken({ title, what }: { title: string; what: string }) {
  return (
    <AuthLayout title={title}>
      <p data-testid="missing-token">This page opens from the link in {what}. Open the link from the email itself.</p>
      <p>
        <Link href="/sign-in">Go to sign in</Link>
      </p>
    </AuthLayout>
  );
}

type LinkState = { readonly status: 'working' } | { readonly status: 'verified' } | { readonly status: 'failed'; readonly error: unknown };

export function VerifyEmailPage({ onResult }: AuthPageProps) {
  const token = useFragmentToken();
  const [state, setState] = useState<LinkState>({ status: 'working' });

  useEffect(() => {
    if (!token) return;
    setState({ status: 'working' });
    api
      .verifyEmail(token)
      .then((result) => {
        if (result.status === 'verified') setState({ status: 'verified' });
        else onResult(result);
      })
      .catch((error: unknown) => setState({ status: 'failed', error }));
  }, [token]);

  if (!token) return <MissingToken title="Verify your email" what="the verification email" />;
  if (state.status === 'verified') {
    return (
      <AuthLayout title="Email verified — sign in">
        <p data-testid="email-verified">Your email address is verified. This browser did not create the account, so sign in to continue.</p>
        <p>
          <Link href="/sign-in" class="button">
            Sign in
          </Link>
        </p>
      </AuthLayout>
    );
  }
  if (state.status === 'failed') {
    return (
      <AuthLayout title="Verify your email">
        <LinkProblem error={state.error} again={{ href: '/sign-in', label: 'Sign in to get a new verification link' }} />
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Verify your email">
      <p role="status">Verifying your email address…</p>
    </AuthLayout>
  );
}

export function MagicLinkPage({ onResult }: AuthPageProps) {
  const token = useFragmentToken();
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (!token) return;
    setError(null);
    api
      .consumeMagicLink(token)
      .then(onResult)
      .catch((err: unknown) => setError(err));
  }, [token]);

  if (!token) return <MissingToken title="Sign in" what="the sign-in email" />;
  return (
    <AuthLayout title="Sign in with an email link">
      {error ? <LinkProblem error={error} again={{ href: '/sign-in', label: 'Ask for a new sign-in link' }} /> : <p role="status">Signing you in…</p>}
    </AuthLayout>
  );
}

export function ResetPasswordPage({ onResult }: AuthPageProps) {
  const token = useFragmentToken();
  const [password, setPassword] = useState('');
  const [linkError, setLinkError] = useState<unknown>(null);
  const { busy, error, setError, run } = useAction({ staysBusy: true });

  // Without a token (a plain `/reset` link, as in the "account locked" email): ask for one.
  if (!token) return <ForgotPasswordPage />;
  if (linkError) {
    return (
      <AuthLayout title="Choose a new password">
        <LinkProblem error={linkError} again={{ href: '/forgot-password', label: 'Ask for a new reset link' }} />
      </AuthLayout>
    );
  }

  const submit = async () => {
    const tooShort = shortPasswordError(password);
    if (tooShort) {
      setError(tooShort);
      return;
    }
    await run(async () => {
      try {
        onResult(await api.completePasswordReset(token, password));
      } catch (err) {
        if (err instanceof ApiError && (err.code === 'invalid_link' || err.code === 'link_other_browser')) setLinkError(err);
        else throw err;
      }
    });
  };

  return (
    <AuthLayout title="Choose a new password">
      <p>Signing in with the new password ends every other session of your account.</p>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <NewPasswordField id="new-password" value={password} onInput={setPassword} />
        <ErrorMessage error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Please wait…' : 'Set new password'}
        </button>
      </form>
    </AuthLayout>
  );
}

/** A refused second factor, said plainly. */
function describeMfaError(err: unknown): string {
  if (err instanceof PasskeyError) return err.message;
  if (err instanceof ApiError && err.code === 'invalid_credentials') return 'That did not work: the code or passkey was not accepted. Try again.';
  if (err instanceof ApiError && err.code === 'validation_failed') return 'That is not a valid code.';
  return errorMessage(err);
}

export function SecondFactorPage({ onResult }: AuthPageProps) {
  const fragment = useFragment();
  const [handed] = useState<PendingMfa | null>(takePendingMfa);
  const pending: PendingMfa | null = fragment.token ? { mfaToken: fragment.token, factors: fragment.factors } : handed;
  const factors = pending?.factors ?? null;
  const hasTotp = factors ? factors.includes('totp') : true;
  const hasPasskey = (factors ? factors.includes('webauthn') : true) && browserSupportsWebAuthn();
  const [factor, setFactor] = useState<'totp' | 'recovery_code'>(hasTotp ? 'totp' : 'recovery_code');
  const [code, setCode] = useState('');
  const [expired, setExpired] = useState(false);
  const { busy, error, setError, run } = useAction({ staysBusy: true, describeError: describeMfaError });

  if (!pending) {
    return (
      <AuthLayout title="Second step">
        <p data-testid="missing-token">No sign-in is waiting for a second factor in this tab (it lasts 5 minutes). Start again.</p>
        <p>
          <Link href="/sign-in">Go to sign in</Link>
        </p>
      </AuthLayout>
    );
  }

  const attempt = async (task: () => Promise<SignInResult>) => {
    const ok = await run(async () => {
      try {
        onResult(await task());
      } catch (err) {
        if (err instanceof ApiError && err.code === 'challenge_expired') setExpired(true);
        throw err;
      }
    });
    if (!ok) setCode('');
  };

  const submitCode = () => {
    const value = factor === 'totp' ? code.replace(/\s+/g, '') : code.trim();
    if (factor === 'totp' && !/^\d{6}$/.test(value)) {
      setError('Enter the 6-digit code from your authenticator app.');
      return;
    }
    if (factor === 'recovery_code' && !/^[0-9a-z]{10}$/i.test(value.replace(/[\s-]+/g, ''))) {
      setError('A recovery code has ten letters and digits, like abcde-12345.');
      return;
    }
    void attempt(() => api.verifySecondFactor({ mfaToken: pending.mfaToken, factor, code: value }));
  };

  const withPasskey = () =>
    void attempt(async () => {
      const options = await api.secondFactorPasskeyOptions(pending.mfaToken);
      return api.secondFactorPasskey(pending.mfaToken, await assertPasskey(options));
    });

  if (expired) {
    return (
      <AuthLayout title="Second step">
        <ErrorMessage error={error} testId="mfa-error" />
        <p>
          <Link href="/sign-in">Sign in again</Link>
        </p>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title="Second step">
      <p>Your account is protected by multi-factor authentication. Confirm it is you to finish signing in.</p>
      {hasPasskey && (
        <button type="button" disabled={busy} onClick={withPasskey}>
          {busy ? 'Please wait…' : 'Use your passkey'}
        </button>
      )}
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          submitCode();
        }}
      >
        {factor === 'totp' ? (
          <TotpCodeField label="Code from your authenticator app" name="code" value={code} onInput={setCode} />
        ) : (
          <label>
            Recovery code
            <input
              type="text"
              name="recovery-code"
              autocomplete="off"
              spellcheck={false}
              maxLength={64}
              required
              aria-describedby="recovery-hint"
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </label>
        )}
        {factor === 'recovery_code' && (
          <p class="hint" id="recovery-hint">
            Each recovery code works once.
          </p>
        )}
        <ErrorMessage error={error} testId="mfa-error" />
        <button type="submit" class={hasPasskey ? 'secondary' : undefined} disabled={busy}>
          Verify
        </button>
      </form>
      <p class="aside">
        {factor === 'totp' ? (
          <button
            type="button"
            class="link-button"
            onClick={() => {
              setFactor('recovery_code');
              setCode('');
              setError(null);
            }}
          >
            Use a recovery code instead
          </button>
        ) : (
          hasTotp && (
            <button
              type="button"
              class="link-button"
              onClick={() => {
                setFactor('totp');
                setCode('');
                setError(null);
              }}
            >
              Use your authenticator app instead
            </button>
          )
        )}
      </p>
      <p class="aside">
        <Link href="/sign-in">Cancel</Link>
      </p>
    </AuthLayout>
  );
}

/**
 * The identity provider vouched for an email that already has an account here. The account's
 * owner signs in to it by their own means, in this browser, then accepts the link.
 */
export function LinkIdentityPage({ session }: { session: Session | null }) {
  const fragment = useFragmentToken();
  const [oidc, setOidc] = useState<OidcStatus | null>(null);
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction();

  useEffect(() => {
    if (fragment) saveLinkOffer(fragment);
  }, [fragment]);
  useEffect(() => {
    api
      .oidcStatus()
      .then(setOidc)
      .catch(() => {});
  }, []);

  const provider = oidc?.displayName ?? 'your identity provider';
  const token = fragment ?? linkOfferToken();
  const title = `Link ${provider}`;

  if (done) {
    return (
      <AuthLayout title={title}>
        <Status message={`${provider} is linked to your account. From now on you can sign in with it.`} />
        <p>
          <Link href="/">Continue to the console</Link>
        </p>
      </AuthLayout>
    );
  }
  if (!token) {
    return (
      <AuthLayout title={title}>
        <p data-testid="missing-token">There is no offer to link an account in this tab. Sign in with {provider} again to start over.</p>
        <p>
          <Link href="/sign-in">Go to sign in</Link>
        </p>
      </AuthLayout>
    );
  }
  if (!session) {
    return (
      <AuthLayout title={title}>
        <p data-testid="link-sign-in-first">
          An account with this email address already exists here. To sign in to it with {provider} from now on, first sign in to it
          the way you usually do, in this browser; you will then be asked to confirm the link.
        </p>
        <p>
          <Link href={`/sign-in?next=${encodeURIComponent('/link')}`} class="button">
            Sign in to link
          </Link>
        </p>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title={title}>
      <p>
        Let the {provider} account with the address <strong>{session.account.email}</strong> sign in to your Rampart account?
      </p>
      <ErrorMessage error={error} />
      <div class="actions">
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              await api.acceptIdentityLink(token);
              clearLinkOffer();
              setDone(true);
            })
          }
        >
          Link {provider}
        </button>
        <button
          type="button"
          class="secondary"
          disabled={busy}
          onClick={() => {
            clearLinkOffer();
            navigate('/');
          }}
        >
          Do not link
        </button>
      </div>
    </AuthLayout>
  );
}

type EmailChangeState =
  | { readonly status: 'working' }
  | { readonly status: 'done'; readonly account: Account }
  | { readonly status: 'failed'; readonly error: unknown };

/** Why a new address was not confirmed, in words. */
function describeEmailChangeError(error: unknown, session: Session): string {
  if (error instanceof ApiError && error.code === 'invalid_link') {
    return `${error.message} The link works once, for the account that asked for the change, signed in (you are signed in as ${session.account.email}).`;
  }
  return errorMessage(error);
}

/**
 * A new email address, confirmed from the link sent to it (`/email-change#token=…`). The change
 * is made signed in to the account that asked for it: signed out, the token waits in this tab
 * while the person signs in, and the page comes back to it.
 */
export function EmailChangePage({ session, onSessionChanged }: { session: Session | null; onSessionChanged: (session: Session) => void }) {
  const fragment = useFragmentToken();
  const [state, setState] = useState<EmailChangeState>({ status: 'working' });
  useEffect(() => {
    if (fragment) saveEmailChangeToken(fragment);
  }, [fragment]);
  const token = fragment ?? emailChangeToken();
  const signedIn = session !== null;

  useEffect(() => {
    if (!token || !signedIn) return;
    let live = true;
    setState({ status: 'working' });
    api
      .confirmEmailChange(token)
      .then(async (account) => {
        clearEmailChangeToken();
        // The session now names the new address (and the other sessions have ended).
        const fresh = await api.session().catch(() => null);
        if (fresh) onSessionChanged(fresh);
        if (live) setState({ status: 'done', account });
      })
      .catch((error: unknown) => {
        // The link works once: whatever it answered, it will not answer better another time.
        if (!(error instanceof ApiError && (error.status === 401 || error.code === 'rate_limited'))) clearEmailChangeToken();
        if (live) setState({ status: 'failed', error });
      });
    return () => {
      live = false;
    };
  }, [token, signedIn]);

  if (!token && state.status !== 'done') return <MissingToken title="Confirm your new email address" what="the email sent to your new address" />;
  if (!session) {
    return (
      <AuthLayout title="Confirm your new email address">
        <p data-testid="email-change-sign-in-first">
          To change your account's email address, sign in to that account in this browser (with your current address); the change is then
          confirmed at once.
        </p>
        <p>
          <Link href={`/sign-in?next=${encodeURIComponent('/email-change')}`} class="button">
            Sign in to confirm
          </Link>
        </p>
      </AuthLayout>
    );
  }
  if (state.status === 'done') {
    return (
      <AuthLayout title="Email address changed">
        <p data-testid="email-changed">
          Your account's email address is now <strong>{state.account.email}</strong>. Sign in with it from now on; your other sessions were
          signed out.
        </p>
        <p>
          <Link href="/" class="button">
            Continue to the console
          </Link>
        </p>
      </AuthLayout>
    );
  }
  if (state.status === 'failed') {
    return (
      <AuthLayout title="Confirm your new email address">
        <ErrorMessage error={describeEmailChangeError(state.error, session)} testId="link-error" />
        <p>Ask for the change again from your account page: a new link replaces the old one.</p>
        <p>
          <Link href="/account">Go to your account</Link>
        </p>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Confirm your new email address">
      <p role="status">Confirming your new email address…</p>
    </AuthLayout>
  );
}

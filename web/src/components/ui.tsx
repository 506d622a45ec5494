/** Small shared pieces: error and status messages, a value to copy, a secret shown once, a two-step confirm button, formatting. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useAction } from '../hooks';

/** An error for the person using the console; announced by screen readers. */
export function ErrorMessage({ error, testId }: { error: string | null; testId?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid={testId ?? 'error'}>
      {error}
    </p>
  );
}

/** A polite status line (created, saved, uploaded…). */
export function Status({ message }: { message: string | null }) {
  return (
    <p class="status" role="status" aria-live="polite">
      {message ?? ''}
    </p>
  );
}

export function Panel({ title, titleId, children, testId }: { title: string; titleId: string; children: ComponentChildren; testId?: string }) {
  return (
    <section class="panel" aria-labelledby={titleId} data-testid={testId}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </section>
  );
}

/** A value to hand to someone else (an IdP admin, a DNS record), with a way to copy it. */
export function CopyValue({ label, value, testId }: { label: string; value: string; testId?: string }) {
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const copy = async () => {
    setError(null);
    try {
      await navigator.clipboard.writeText(value);
      setStatus(`${label} copied.`);
    } catch {
      setError('The browser did not allow copying: select the value and copy it yourself.');
    }
  };
  return (
    <div class="copy-value">
      <code class="secret small" data-testid={testId}>
        {value}
      </code>
      <button type="button" class="secondary" aria-label={`Copy ${label}`} onClick={() => void copy()}>
        Copy
      </button>
      <ErrorMessage error={error} />
      {status && (
        <span class="status" role="status">
          {status}
        </span>
      )}
    </div>
  );
}

/**
 * A secret shown once (a new token, a link), replacing the form that made it: it takes the
 * keyboard focus (and a screen reader's attention), and goes away with its one button.
 */
export function ShownOnce(props: { title: ComponentChildren; titleId: string; testId: string; doneLabel: string; onDone: () => void; children: ComponentChildren }) {
  const section = useRef<HTMLElement>(null);
  useEffect(() => section.current?.focus(), []);
  return (
    <section class="notice" aria-labelledby={props.titleId} data-testid={props.testId} ref={section} tabIndex={-1}>
      <h3 id={props.titleId}>{props.title}</h3>
      {props.children}
      <div class="actions">
        <button type="button" onClick={props.onDone}>
          {props.doneLabel}
        </button>
      </div>
    </section>
  );
}

/**
 * A destructive action in two steps: the first click asks, the second acts. Errors from the
 * action are shown next to it.
 */
export function ConfirmButton(props: {
  label: string;
  confirmLabel?: string;
  /** Names the thing acted on, for assistive technology ("Delete record 1a2b…"). */
  accessibleName?: string;
  onConfirm: () => Promise<void>;
  testId?: string;
  /** Turns the action's failure into the message shown; `errorMessage` unless given. */
  describeError?: (err: unknown) => string;
}) {
  const [asking, setAsking] = useState(false);
  // Success removes what the button stands in (a row, a collection), so it stays busy until then.
  const { busy, error, setError, run } = useAction({ staysBusy: true, ...(props.describeError ? { describeError: props.describeError } : {}) });

  const act = async () => {
    if (!(await run(() => props.onConfirm()))) setAsking(false);
  };

  return (
    <span class="confirm">
      {asking ? (
        <>
          <button type="button" class="danger" disabled={busy} data-testid={props.testId ? `${props.testId}-confirm` : undefined} onClick={() => void act()}>
            {props.confirmLabel ?? `Confirm ${props.label.toLowerCase()}`}
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => setAsking(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button
          type="button"
          class="secondary"
          aria-label={props.accessibleName}
          data-testid={props.testId}
          onClick={() => {
            setError(null);
            setAsking(true);
          }}
        >
          {props.label}
        </button>
      )}
      <ErrorMessage error={error} />
    </span>
  );
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? 'B'}`;
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The server's password policy, as far as the console can check it before sending. */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** The message for a chosen password shorter than the policy allows, or null. */
export function shortPasswordError(password: string): string | null {
  return password.length < PASSWORD_MIN ? `The password must be at least ${PASSWORD_MIN} characters.` : null;
}

/** The password field of a sign-in form. */
export function PasswordField({ value, onInput }: { value: string; onInput: (value: string) => void }) {
  return (
    <label>
      Password
      <input
        type="password"
        name="password"
        autocomplete="current-password"
        required
        maxLength={PASSWORD_MAX}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    </label>
  );
}

/** A field for the code an authenticator app shows. */
export function TotpCodeField(props: { label: string; name: string; value: string; onInput: (value: string) => void }) {
  return (
    <label>
      {props.label}
      <input
        type="text"
        name={props.name}
        inputMode="numeric"
        autocomplete="one-time-code"
        maxLength={8}
        required
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}

/** A field for choosing a password, with the policy as its hint (and an optional note after it). */
export function NewPasswordField(props: { id: string; label?: string; name?: string; value: string; onInput: (value: string) => void; note?: string }) {
  const { id, label = 'New password', name = 'new-password', value, onInput, note } = props;
  return (
    <>
      <label>
        {label}
        <input
          type="password"
          name={name}
          autocomplete="new-password"
          required
          minLength={PASSWORD_MIN}
          maxLength={PASSWORD_MAX}
          aria-describedby={`${id}-hint`}
          value={value}
          onInput={(e) => onInput(e.currentTarget.value)}
        />
      </label>
      <p class="hint" id={`${id}-hint`}>
        At least {PASSWORD_MIN} characters, and not a common password.{note ? ` ${note}` : ''}
      </p>
    </>
  );
}

/**
 * The console's design system: every page is built from these pieces and its siblings, so a
 * list, a form, a dialog or a time looks and behaves the same everywhere.
 *
 * - here: messages (ErrorMessage, Status), Panel, PageHeader, Badge, EmptyState, form fields
 *   (TextField, SelectField, CheckboxField), CopyValue, ShownOnce, ConfirmButton, formatting;
 * - table.tsx: Table (responsive: cards on a phone, scrolling inside itself, never widening the page);
 * - dialog.tsx: Dialog and Drawer (native modal `<dialog>`: focus kept inside, Esc, focus restored);
 * - tabs.tsx: Tabs (ARIA tabs, arrow keys);
 * - toast.tsx: toast() and the Toaster;
 * - time.tsx: Time, the one way a date is shown ("3 min ago", exact local time in the tooltip).
 *
 * Colours, spacing and type are the custom properties at the top of styles.css (dark mode from
 * prefers-color-scheme); nothing sets a style inline (the CSP forbids it).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useAction } from '../hooks';

export { Dialog, Drawer, type DialogProps } from './dialog';
export { Table, type Column, type RowAttributes } from './table';
export { Tabs, type TabItem } from './tabs';
export { toast, Toaster, type ToastTone } from './toast';
export { Time } from './time';

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

/** The title of a page (a section of the console), what it is for, and its main actions. */
export function PageHeader(props: { title: ComponentChildren; description?: ComponentChildren; actions?: ComponentChildren; eyebrow?: ComponentChildren }) {
  return (
    <header class="page-header">
      {props.eyebrow && <div class="eyebrow">{props.eyebrow}</div>}
      <div class="page-title">
        <h1>{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
      {props.description && <p class="muted">{props.description}</p>}
    </header>
  );
}

export type BadgeTone = 'neutral' | 'ok' | 'warn' | 'danger' | 'info';

/** A short state beside a name: `ok` (green), `warn` (amber), `danger` (red), `info` (blue), `neutral`. */
export function Badge({ tone = 'neutral', children, testId, title }: { tone?: BadgeTone; children: ComponentChildren; testId?: string; title?: string }) {
  return (
    <span class={tone === 'neutral' ? 'badge' : `badge ${tone}`} data-testid={testId} title={title}>
      {children}
    </span>
  );
}

/** What a list or a page shows while it has nothing: what would be here, and how to make the first. */
export function EmptyState({ title, children, action, testId }: { title: ComponentChildren; children?: ComponentChildren; action?: ComponentChildren; testId?: string }) {
  return (
    <div class="empty-state" data-testid={testId}>
      <p class="empty-state-title">{title}</p>
      {children && <p class="muted">{children}</p>}
      {action && <div class="actions">{action}</div>}
    </div>
  );
}

interface FieldFrame {
  readonly label: ComponentChildren;
  /** Said under the control, and read with it. */
  readonly hint?: ComponentChildren;
  /** A message about this field's value; marks the control invalid. */
  readonly error?: string | null;
}

/** The label, hint and error around one control, linked to it by id. */
function Field(props: FieldFrame & { id: string; children: ComponentChildren; class?: string }) {
  return (
    <div class={props.class ? `field ${props.class}` : 'field'}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="error field-error" id={`${props.id}-error`} role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}

function describedBy(id: string, frame: FieldFrame): string | undefined {
  const ids = [frame.hint ? `${id}-hint` : null, frame.error ? `${id}-error` : null].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

/** What a text field passes on to its input. */
interface InputAttributes {
  readonly type?: 'text' | 'email' | 'password' | 'url' | 'search' | 'tel' | 'number';
  readonly name?: string;
  readonly required?: boolean;
  readonly disabled?: boolean;
  readonly readOnly?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly placeholder?: string;
  readonly autocomplete?: string;
  readonly spellcheck?: boolean;
  readonly inputMode?: 'text' | 'email' | 'numeric' | 'decimal' | 'tel' | 'url' | 'search' | 'none';
}

/** A labelled text input (also email, password, url, search), with its hint and error. */
export function TextField(props: FieldFrame & InputAttributes & { value: string; onInput: (value: string) => void; testId?: string }) {
  const { label, hint, error, value, onInput, testId, type = 'text', ...rest } = props;
  const id = useId();
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      <input
        type={type}
        {...rest}
        id={id}
        value={value}
        data-testid={testId}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, { label, hint, error })}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

/** A labelled select of fixed options, with its hint and error. */
export function SelectField<V extends string>(props: FieldFrame & {
  value: V;
  options: readonly { readonly value: V; readonly label: string; readonly disabled?: boolean }[];
  onChange: (value: V) => void;
  name?: string;
  disabled?: boolean;
  testId?: string;
}) {
  const { label, hint, error } = props;
  const id = useId();
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      <select
        id={id}
        name={props.name}
        value={props.value}
        disabled={props.disabled}
        data-testid={props.testId}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, { label, hint, error })}
        onChange={(e) => {
          const chosen = props.options.find((o) => o.value === e.currentTarget.value);
          if (chosen) props.onChange(chosen.value);
        }}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** A checkbox with its label beside it and a hint under. */
export function CheckboxField(props: { label: ComponentChildren; hint?: ComponentChildren; checked: boolean; disabled?: boolean; onChange: (checked: boolean) => void; testId?: string }) {
  const id = useId();
  return (
    <div class="field checkbox-field">
      <label class="checkbox">
        <input
          type="checkbox"
          checked={props.checked}
          disabled={props.disabled}
          data-testid={props.testId}
          aria-describedby={props.hint ? `${id}-hint` : undefined}
          onChange={(e) => props.onChange(e.currentTarget.checked)}
        />
        {props.label}
      </label>
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

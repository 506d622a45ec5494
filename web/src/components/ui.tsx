/** Small shared pieces: error and status messages, a two-step confirm button, formatting. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
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
}) {
  const [asking, setAsking] = useState(false);
  // Success removes what the button stands in (a row, a collection), so it stays busy until then.
  const { busy, error, setError, run } = useAction({ staysBusy: true });

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

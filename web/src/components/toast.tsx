/**
 * Toasts: short confirmations of something done elsewhere on the page ("Workspace Acme created"),
 * announced politely by screen readers and gone after a while or when dismissed. One Toaster is
 * rendered by the console's layout; anything may call `toast`. A message that needs an answer or
 * explains a refusal belongs next to the control, not in a toast.
 */
import { useEffect, useState } from 'preact/hooks';

export type ToastTone = 'ok' | 'info' | 'error';

interface ToastItem {
  readonly id: number;
  readonly message: string;
  readonly tone: ToastTone;
}

const SHOWN_MS = 6000;
let items: readonly ToastItem[] = [];
let nextId = 1;
const listeners = new Set<(items: readonly ToastItem[]) => void>();

function publish(next: readonly ToastItem[]): void {
  items = next;
  for (const listener of listeners) listener(items);
}

function dismiss(id: number): void {
  publish(items.filter((t) => t.id !== id));
}

/** Shows a toast; returns a function that dismisses it early. */
export function toast(message: string, tone: ToastTone = 'ok'): () => void {
  const id = nextId++;
  // At most three at once: the oldest goes first.
  publish([...items.slice(-2), { id, message, tone }]);
  const timer = setTimeout(() => dismiss(id), SHOWN_MS);
  return () => {
    clearTimeout(timer);
    dismiss(id);
  };
}

/** Where toasts appear (bottom of the screen), announced as a polite live region. */
export function Toaster() {
  const [shown, setShown] = useState(items);
  useEffect(() => {
    listeners.add(setShown);
    setShown(items);
    return () => {
      listeners.delete(setShown);
    };
  }, []);
  return (
    <div class="toaster" role="status" aria-live="polite" data-testid="toaster">
      {shown.map((t) => (
        <div key={t.id} class={`toast ${t.tone}`} data-testid="toast">
          <span>{t.message}</span>
          <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            <span aria-hidden="true">×</span>
          </button>
        </div>
      ))}
    </div>
  );
}

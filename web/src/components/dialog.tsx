/**
 * Dialog and Drawer: a native modal `<dialog>` (showModal), so the page behind is inert and the
 * keyboard stays inside; Esc and the close button close it, and the focus goes back to what
 * opened it. A Drawer is the same dialog sliding in from the end edge (full width on a phone),
 * for details beside a list.
 *
 * The caller owns `open`; the content is rendered only while open, so a form inside starts
 * afresh each time.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export interface DialogProps {
  readonly open: boolean;
  readonly title: ComponentChildren;
  /** Called for Esc, the close button and a click on the backdrop. */
  readonly onClose: () => void;
  readonly children: ComponentChildren;
  /** Buttons at the foot of the dialog (the primary action last). */
  readonly footer?: ComponentChildren;
  readonly testId?: string;
  /** A line under the title, read as the dialog's description. */
  readonly description?: ComponentChildren;
}

const FOCUSABLE = 'input:not([type="hidden"]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [autofocus]';

function ModalFrame(props: DialogProps & { readonly variant: 'dialog' | 'drawer' }) {
  const { open, onClose } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const titleId = useId();
  const descriptionId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      dialog.showModal();
      // The first field, or else the dialog's own close button (never something behind it).
      const first = dialog.querySelector<HTMLElement>(`.dialog-body :is(${FOCUSABLE})`);
      (first ?? dialog.querySelector<HTMLElement>('.dialog-close'))?.focus();
    } else if (!open) {
      if (dialog.open) dialog.close();
      // Back to what opened it, at once (the close event comes a task later).
      const back = opener.current;
      opener.current = null;
      if (back && back.isConnected) back.focus();
    }
  }, [open]);

  // Closed by the platform (a close watcher) rather than through `open`: tell the caller.
  const closed = () => {
    if (open) onClose();
  };

  return (
    <dialog
      ref={ref}
      class={props.variant === 'drawer' ? 'modal drawer' : 'modal'}
      aria-labelledby={titleId}
      aria-describedby={props.description ? descriptionId : undefined}
      data-testid={props.testId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      onClose={closed}
      onClick={(event) => {
        // A click on the dialog element itself is a click on its backdrop (the frame fills it).
        if (event.target === ref.current) onClose();
      }}
    >
      {open && (
        <div class="dialog-frame">
          <header class="dialog-header">
            <h2 id={titleId}>{props.title}</h2>
            <button type="button" class="icon-button dialog-close" aria-label="Close" onClick={onClose}>
              <span aria-hidden="true">×</span>
            </button>
          </header>
          {props.description && (
            <p class="hint dialog-description" id={descriptionId}>
              {props.description}
            </p>
          )}
          <div class="dialog-body">{props.children}</div>
          {props.footer && <footer class="dialog-footer actions">{props.footer}</footer>}
        </div>
      )}
    </dialog>
  );
}

/** A centred modal dialog. */
export function Dialog(props: DialogProps) {
  return <ModalFrame {...props} variant="dialog" />;
}

/** A modal panel from the end edge of the screen, for the details of one row. */
export function Drawer(props: DialogProps) {
  return <ModalFrame {...props} variant="drawer" />;
}

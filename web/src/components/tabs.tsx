/**
 * Tabs, as the WAI-ARIA tabs pattern has them: a tablist whose selected tab alone is in the tab
 * order, arrow keys (and Home, End) moving between tabs and selecting them, and one tabpanel
 * labelled by its tab. The caller owns the selection (often kept in the URL, so a tab can be
 * linked to) and renders the selected panel's content as children.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export interface TabItem<Id extends string = string> {
  readonly id: Id;
  readonly label: ComponentChildren;
  /** Something short after the label: a count, a state. */
  readonly badge?: ComponentChildren;
}

export function Tabs<Id extends string>(props: {
  /** Names the tablist for assistive technology. */
  readonly label: string;
  readonly tabs: readonly TabItem<Id>[];
  readonly selected: Id;
  readonly onSelect: (id: Id) => void;
  readonly children: ComponentChildren;
  readonly testId?: string;
}) {
  const { tabs, selected, onSelect } = props;
  const base = useId();
  const list = useRef<HTMLDivElement>(null);
  // Set when the keyboard moved the selection, so the newly selected tab takes the focus.
  const moved = useRef(false);

  useEffect(() => {
    if (!moved.current) return;
    moved.current = false;
    list.current?.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]')?.focus();
  }, [selected]);

  const tabId = (id: string) => `${base}-tab-${id}`;
  const panelId = `${base}-panel`;

  const onKeyDown = (event: KeyboardEvent) => {
    const at = tabs.findIndex((t) => t.id === selected);
    let next: number;
    switch (event.key) {
      case 'ArrowRight':
        next = (at + 1) % tabs.length;
        break;
      case 'ArrowLeft':
        next = (at - 1 + tabs.length) % tabs.length;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = tabs.length - 1;
        break;
      default:
        return;
    }
    event.preventDefault();
    const tab = tabs[next];
    if (!tab) return;
    moved.current = true;
    if (tab.id === selected) moved.current = false;
    onSelect(tab.id);
  };

  return (
    <div class="tabs" data-testid={props.testId}>
      <div class="tablist" role="tablist" aria-label={props.label} ref={list} onKeyDown={onKeyDown}>
        {tabs.map((t) => {
          const active = t.id === selected;
          return (
            <button
              key={t.id}
              type="button"
              role="tab"
              id={tabId(t.id)}
              class="tab"
              aria-selected={active ? 'true' : 'false'}
              aria-controls={active ? panelId : undefined}
              tabIndex={active ? 0 : -1}
              data-tab={t.id}
              onClick={() => onSelect(t.id)}
            >
              {t.label}
              {t.badge !== undefined && t.badge !== null && <span class="tab-badge">{t.badge}</span>}
            </button>
          );
        })}
      </div>
      <div class="tabpanel" role="tabpanel" id={panelId} aria-labelledby={tabId(selected)} tabIndex={0}>
        {props.children}
      </div>
    </div>
  );
}

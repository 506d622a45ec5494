/**
 * The console's sidebar: the account menu (profile, security, sessions, sign out), the workspace
 * switcher (and the way to a new workspace), and the sections of the current workspace that the
 * caller's scopes open, grouped as Data, People and Security. On a phone it is hidden behind the
 * menu button of the top bar (see ConsolePage).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Account, Workspace } from '../api';
import { Link, navigate, usePath } from '../router';
import { ACCOUNT_PAGES, opens, SECTION_GROUPS, SECTIONS, sectionPath, type SectionId, type SectionInfo } from '../sections';

function initials(account: Account): string {
  const source = account.name.trim() || account.email;
  const words = source.split(/[\s@._-]+/).filter(Boolean);
  return ((words[0]?.[0] ?? '?') + (words[1]?.[0] ?? '')).toUpperCase();
}

/** The signed-in account, and a menu of its pages and signing out. */
export function AccountMenu(props: { account: Account; current: string | null; onSignOut: () => void }) {
  const { account } = props;
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const path = usePath();

  // Following one of its links closes the menu.
  useEffect(() => setOpen(false), [path]);

  useEffect(() => {
    if (!open) return;
    const outside = (event: Event) => {
      if (root.current && event.target instanceof Node && !root.current.contains(event.target)) setOpen(false);
    };
    const escape = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('click', outside);
    document.addEventListener('keydown', escape);
    return () => {
      document.removeEventListener('click', outside);
      document.removeEventListener('keydown', escape);
    };
  }, [open]);

  return (
    <div class="account-menu" ref={root}>
      <button
        type="button"
        class="account-button"
        ref={button}
        aria-expanded={open ? 'true' : 'false'}
        aria-controls="account-menu-list"
        data-testid="account-menu"
        onClick={() => setOpen((o) => !o)}
      >
        <span class="avatar" aria-hidden="true">
          {initials(account)}
        </span>
        <span class="account-who">
          {account.name && <span class="account-name">{account.name}</span>}
          <span class="account-email" data-testid="account-email">
            {account.email}
          </span>
        </span>
        <span class="visually-hidden">Account menu</span>
        <span class="chevron" aria-hidden="true" />
      </button>
      <ul id="account-menu-list" class="menu" hidden={!open} aria-label="Account">
        {ACCOUNT_PAGES.map((p) => (
          <li key={p.path}>
            <Link href={p.path} aria-current={props.current === p.path ? 'page' : undefined} data-testid={`account-${p.label.toLowerCase()}`}>
              {p.label}
            </Link>
          </li>
        ))}
        <li>
          <button
            type="button"
            class="menu-item"
            onClick={() => {
              setOpen(false);
              props.onSignOut();
            }}
          >
            Sign out
          </button>
        </li>
      </ul>
    </div>
  );
}

/**
 * Which workspace the console shows, and the way to a new one. Switching keeps the section (the
 * members of one workspace, then of the other) when the other workspace opens it to the caller.
 */
export function WorkspaceSwitcher(props: { workspaces: Workspace[] | null; currentId: string | null; section: SectionId | null; onNewWorkspace: () => void }) {
  const { workspaces, currentId, section } = props;
  const known = workspaces?.some((w) => w.id === currentId) ?? false;
  return (
    <div class="switcher">
      <label for="workspace-switcher">Workspace</label>
      <div class="switcher-row">
        <select
          id="workspace-switcher"
          data-testid="workspace-switcher"
          value={known && currentId ? currentId : ''}
          disabled={workspaces === null}
          onChange={(e) => {
            const target = workspaces?.find((w) => w.id === e.currentTarget.value);
            if (target) navigate(sectionPath(target.id, section && opens(target, section) ? section : 'overview'));
          }}
        >
          {!known && (
            <option value="" disabled>
              {workspaces && workspaces.length === 0 ? 'No workspaces yet' : 'Choose a workspace'}
            </option>
          )}
          {(workspaces ?? []).map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <button type="button" class="secondary new-workspace" aria-label="New workspace" title="New workspace" onClick={props.onNewWorkspace} data-testid="new-workspace">
          <span aria-hidden="true">+</span>
        </button>
      </div>
    </div>
  );
}

function SectionLink({ workspace, section, current }: { workspace: Workspace; section: SectionInfo; current: SectionId | null }) {
  return (
    <li>
      <Link href={sectionPath(workspace.id, section.id)} aria-current={current === section.id ? 'page' : undefined} data-testid={`nav-${section.id}`}>
        {section.label}
      </Link>
    </li>
  );
}

/** The sections of the workspace the caller's scopes open, grouped. */
export function WorkspaceNav({ workspace, current }: { workspace: Workspace; current: SectionId | null }) {
  const open = SECTIONS.filter((s) => opens(workspace, s));
  const ungrouped = (id: SectionId) => open.filter((s) => s.id === id).map((s) => <SectionLink key={s.id} workspace={workspace} section={s} current={current} />);
  return (
    <nav class="side-nav" aria-label={`${workspace.name} sections`} data-testid="workspace-nav">
      <ul>{ungrouped('overview')}</ul>
      {SECTION_GROUPS.map((group) => {
        const links = open.filter((s) => s.group === group);
        if (links.length === 0) return null;
        const id = `nav-group-${group.toLowerCase()}`;
        return (
          <div key={group} class="nav-group">
            <p class="nav-group-title" id={id}>
              {group}
            </p>
            <ul aria-labelledby={id}>
              {links.map((s) => (
                <SectionLink key={s.id} workspace={workspace} section={s} current={current} />
              ))}
            </ul>
          </div>
        );
      })}
      <ul>{ungrouped('settings')}</ul>
    </nav>
  );
}

/** The account's pages, when one of them is open. */
export function AccountNav({ current }: { current: string }) {
  return (
    <nav class="side-nav" aria-label="Your account" data-testid="account-nav">
      <p class="nav-group-title">Your account</p>
      <ul>
        {ACCOUNT_PAGES.map((p) => (
          <li key={p.path}>
            <Link href={p.path} aria-current={current === p.path ? 'page' : undefined}>
              {p.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

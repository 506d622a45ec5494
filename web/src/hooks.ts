/** Hooks shared by the console's forms, buttons and lists. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, can, errorMessage, type Member, type Page, type Workspace } from './api';

export interface ActionOptions {
  /** Turns what the task threw into the message shown; `errorMessage` unless given. */
  readonly describeError?: (err: unknown) => string;
  /**
   * Leaves `busy` set once the task succeeds, for actions whose success replaces the component
   * (signing in, deleting the row a button stands in), so it cannot be clicked again meanwhile.
   */
  readonly staysBusy?: boolean;
}

export interface Action {
  /** True while a task runs. */
  readonly busy: boolean;
  /** The message of the last failure, or one set by the caller (a validation message). */
  readonly error: string | null;
  readonly setError: (error: string | null) => void;
  /**
   * Runs a task: busy and no error while it runs, its failure shown as `error`. Resolves to
   * whether the task succeeded; never rejects.
   */
  readonly run: (task: () => Promise<void>) => Promise<boolean>;
}

/** Busy and error state around an asynchronous action (a form's submit, a button's click). */
export function useAction(options: ActionOptions = {}): Action {
  const { describeError = errorMessage, staysBusy = false } = options;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (task: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await task();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
      return false;
    }
    if (!staysBusy) setBusy(false);
    return true;
  };

  return { busy, error, setError, run };
}

export interface PagedList<T> {
  /** The items loaded so far; null until the first page arrives. */
  readonly items: T[] | null;
  readonly setItems: (update: (previous: T[] | null) => T[] | null) => void;
  /** The cursor of the next page; null once the last page is loaded. */
  readonly nextCursor: string | null;
  readonly loading: boolean;
  readonly error: string | null;
  /** Loads a page: the first (cursor null) replaces the items, a later one is appended. */
  readonly load: (cursor: string | null) => Promise<void>;
}

/**
 * A cursor-paged list, whose first page loads once, on mount: key the component by what the
 * list belongs to (workspace, collection) so that another one starts afresh.
 */
export function usePagedList<T>(fetchPage: (cursor: string | null) => Promise<Page<T>>): PagedList<T> {
  const [items, setItems] = useState<T[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const { busy: loading, error, run } = useAction();

  const load = async (cursor: string | null): Promise<void> => {
    await run(async () => {
      const page = await fetchPage(cursor);
      setItems((previous) => (cursor && previous ? [...previous, ...page.data] : page.data));
      setNextCursor(page.nextCursor);
    });
  };

  useEffect(() => {
    void load(null);
  }, []);

  return { items, setItems, nextCursor, loading, error, load };
}

/** Re-renders every `ms` while `on`, for countdowns and expiry; the time of the latest render. */
export function useNow(ms: number, on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms, on]);
  return now;
}

/**
 * The workspace's members, when the caller may see them (`members:read`); null until read, when
 * not allowed, or when reading failed. Pages that use them only as context (names, counts) show
 * without them; the members page reads and reports its own.
 */
export function useMembers(workspace: Workspace): readonly Member[] | null {
  const [members, setMembers] = useState<readonly Member[] | null>(null);
  const allowed = can(workspace, 'members:read');
  useEffect(() => {
    if (!allowed) return;
    let live = true;
    api
      .members(workspace.id)
      .then(({ data }) => {
        if (live) setMembers(data);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [workspace.id, allowed]);
  return members;
}

/**
 * Names for the account ids a page mentions, as `label` writes a member, when the caller may see
 * the members (`members:read`). Names are a convenience: without them (not allowed, or not read)
 * the map is empty and the page shows ids.
 */
export function useMemberNames(workspace: Workspace, label: (member: Member) => string): ReadonlyMap<string, string> {
  const members = useMembers(workspace);
  return useMemo(() => new Map((members ?? []).map((m) => [m.accountId, label(m)])), [members]);
}

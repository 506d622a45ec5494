/**
 * A small History API router: the current path as state, `navigate`, and a Link that navigates
 * without reloading. Routes are matched by the pages themselves with `matchRoute`.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

window.addEventListener('popstate', notify);

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const current = `${location.pathname}${location.search}${location.hash}`;
  if (path === current) return;
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  notify();
}

/** The current pathname and query; re-renders the caller when either changes. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const [where, setWhere] = useState(`${location.pathname}${location.search}`);
  useEffect(() => {
    const update = () => setWhere(`${location.pathname}${location.search}`);
    listeners.add(update);
    update();
    return () => {
      listeners.delete(update);
    };
  }, []);
  const at = where.indexOf('?');
  return { path: at < 0 ? where : where.slice(0, at), search: new URLSearchParams(at < 0 ? '' : where.slice(at)) };
}

/** The current pathname; re-renders the caller when the location changes. */
export function usePath(): string {
  return useLocation().path;
}

/**
 * Matches a path against a pattern such as `/w/:workspaceId/c/:collection`; returns the decoded
 * parameters, or null when it does not match.
 */
export function matchRoute(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] as string;
    const h = have[i] as string;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(h);
      } catch {
        return null;
      }
    } else if (w !== h) {
      return null;
    }
  }
  return params;
}

type AnchorProps = Omit<JSX.HTMLAttributes<HTMLAnchorElement>, 'href' | 'onClick'>;

export function Link(props: AnchorProps & { href: string; children: ComponentChildren }) {
  const { href, children, ...rest } = props;
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a {...rest} href={href} onClick={onClick}>
      {children}
    </a>
  );
}

/** Navigates (replacing the history entry) once rendered. */
export function Redirect({ to }: { to: string }) {
  useEffect(() => {
    navigate(to, { replace: true });
  }, [to]);
  return null;
}

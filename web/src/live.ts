/**
 * Live state: a view of something that other actions change (the encryption keys once records or
 * documents are stored, the overview after a member's role changed) loads again after the writes
 * that may change it, wherever on the page they were made. Every write the API client sends and
 * the server accepts is announced (`onApiWrite`); a view names the topics it depends on.
 */
import { useEffect, useRef } from 'preact/hooks';
import { onApiWrite } from './api';

/** What a write to a workspace touched, named by the API path it went to. */
export type Topic =
  | 'workspace'
  | 'collections'
  | 'records'
  | 'documents'
  | 'secrets'
  | 'keys'
  | 'members'
  | 'roles'
  | 'invitations'
  | 'api-keys'
  | 'sso'
  | 'domains'
  | 'scim'
  | 'directory'
  | 'access-requests'
  | 'audit'
  | 'other';

const TOPICS = new Set<string>([
  'collections',
  'documents',
  'secrets',
  'keys',
  'members',
  'roles',
  'invitations',
  'api-keys',
  'sso',
  'domains',
  'scim',
  'directory',
  'access-requests',
  'audit',
]);

/** The workspace and topic of an API path (`/workspaces/<id>/collections/t/records` → records); null outside a workspace. */
export function topicOf(path: string): { workspaceId: string; topic: Topic } | null {
  const [segments] = path.split('?');
  const parts = (segments ?? '').split('/').filter(Boolean);
  if (parts[0] !== 'workspaces' || !parts[1]) return null;
  let workspaceId: string;
  try {
    workspaceId = decodeURIComponent(parts[1]);
  } catch {
    return null;
  }
  const first = parts[2];
  if (first === undefined || first === 'transfer-ownership') return { workspaceId, topic: first === undefined ? 'workspace' : 'members' };
  if (first === 'collections' && parts[4] === 'records') return { workspaceId, topic: 'records' };
  return { workspaceId, topic: TOPICS.has(first) ? (first as Topic) : 'other' };
}

/** Waits this long after a write before loading again, so a burst of writes costs one load. */
const SETTLE_MS = 150;

/**
 * Calls `reload` after writes to the workspace on any of `topics` (once per burst). The latest
 * `reload` is used, so it need not be memoised.
 */
export function useRefreshAfter(workspaceId: string, topics: readonly Topic[], reload: () => void): void {
  const latest = useRef(reload);
  latest.current = reload;
  const key = topics.join(',');
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const wanted = new Set(topics);
    const stop = onApiWrite(({ path }) => {
      const touched = topicOf(path);
      if (!touched || touched.workspaceId !== workspaceId || !wanted.has(touched.topic)) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        latest.current();
      }, SETTLE_MS);
    });
    return () => {
      stop();
      if (timer !== null) clearTimeout(timer);
    };
  }, [workspaceId, key]);
}

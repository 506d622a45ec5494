/**
 * Pages loaded when first opened, so the first screen (sign-in) carries only what it shows: the
 * signed-in console and the staff console are chunks of their own. A chunk that fails to load
 * (the network, or a newer deployment that replaced it) is said plainly, with a way to reload.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): { Page: ComponentType<P>; preload: () => void } {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  const start = () => {
    pending ??= load().then(
      (component) => (loaded = component),
      (err: unknown) => {
        pending = null;
        throw err;
      },
    );
    return pending;
  };

  function Page(props: P) {
    const [component, setComponent] = useState<{ current: ComponentType<P> } | null>(loaded ? { current: loaded } : null);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (component) return;
      let live = true;
      start().then(
        (current) => live && setComponent({ current }),
        () => live && setFailed(true),
      );
      return () => {
        live = false;
      };
    }, [component]);
    if (component) {
      const Loaded = component.current;
      return <Loaded {...props} />;
    }
    if (failed) {
      return (
        <main class="auth" id="main">
          <div class="auth-card">
            <h1>The console could not load</h1>
            <p role="alert">Part of the console did not arrive. Check the connection, then reload the page.</p>
            <button type="button" onClick={() => location.reload()}>
              Reload
            </button>
          </div>
        </main>
      );
    }
    return <p class="loading" role="status">Loading…</p>;
  }

  return { Page, preload: () => void start().catch(() => {}) };
}

/**
 * The built console (web/dist) as the browser tests and the benchmark need it: rebuilt when any
 * of its sources is newer, always as `npm run build` makes it (in production mode — under
 * Vitest's NODE_ENV=test, Vite would build an unminified development bundle, which web/dist
 * would then keep for `npm start`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEB = path.join(REPO, 'web');
export const CONSOLE_INDEX = path.join(WEB, 'dist', 'index.html');

/** Newest modification time under the console's sources. */
function newestSource(): number {
  const walk = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
      const full = path.join(dir, entry.name);
      return Math.max(newest, entry.isDirectory() ? walk(full) : statSync(full).mtimeMs);
    }, 0);
  return Math.max(walk(path.join(WEB, 'src')), walk(path.join(WEB, 'public')), statSync(path.join(WEB, 'index.html')).mtimeMs);
}

/** Builds the console unless web/dist is present and newer than its sources; true when it built. */
export function ensureConsoleBuilt(): boolean {
  if (existsSync(CONSOLE_INDEX) && statSync(CONSOLE_INDEX).mtimeMs >= newestSource()) return false;
  execFileSync('npm', ['run', 'build:web'], { cwd: REPO, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
  return true;
}

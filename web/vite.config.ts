/**
 * Builds the console into web/dist, which the server serves at `/`.
 *
 * The server's Content-Security-Policy allows only same-origin scripts and styles, with no
 * inline code: nothing may be inlined into index.html (no data: assets, no modulepreload
 * polyfill), and JSX is compiled by Vite's own Oxc transform for Preact, no plugin needed.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    sourcemap: false,
    target: 'es2022',
  },
});

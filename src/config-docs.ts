/** Renders the README's configuration table from SETTINGS, so the two cannot drift apart. */
import { loadConfig, SETTINGS } from './config.js';

export const CONFIG_TABLE_START = '<!-- config-table:start -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

function show(value: unknown): string {
  if (value === undefined) return '—';
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

export function renderConfigTable(): string {
  const defaults = loadConfig({ env: {} }) as Record<string, unknown>;
  const rows = SETTINGS.map((s) => `| \`${s.env}\` | ${s.flag ? `\`--${s.flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}\`` : ''} | \`${s.key}\` | ${show(defaults[s.key])} | ${s.doc} |`);
  return ['| environment | flag | file key | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

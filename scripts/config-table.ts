// Rewrites the configuration table in README.md from src/config.ts: `npm run docs:config`.
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, renderConfigTable } from '../src/config-docs.js';

const readme = readFileSync('README.md', 'utf8');
const start = readme.indexOf(CONFIG_TABLE_START);
const end = readme.indexOf(CONFIG_TABLE_END);
if (start < 0 || end < start) throw new Error('README.md has no configuration table markers');
writeFileSync('README.md', `${readme.slice(0, start + CONFIG_TABLE_START.length)}\n${renderConfigTable()}\n${readme.slice(end)}`);

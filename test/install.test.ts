/**
 * What `npm install` on a clean clone must not print: an EBADENGINE warning (an installed package
 * whose `engines.node` refuses a Node.js the project says it runs on) or an install-scripts warning
 * (a package with install scripts that `allowScripts` does not name). Both are read from the
 * installed tree, as npm reads them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface Manifest {
  readonly name?: string;
  readonly version?: string;
  readonly engines?: { readonly node?: unknown };
  readonly scripts?: Readonly<Record<string, unknown>>;
  readonly allowScripts?: Readonly<Record<string, unknown>>;
}

interface Installed {
  readonly dir: string;
  readonly manifest: Manifest;
}

const root = path.resolve(import.meta.dirname, '..');
const project = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;

function read(dir: string): Manifest | null {
  const file = path.join(dir, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : null;
}

/** Every package under node_modules, nested ones and scoped ones (`@scope/name`) included. */
function installed(modules = path.join(root, 'node_modules')): Installed[] {
  if (!existsSync(modules)) return [];
  const found: Installed[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? readdirSync(path.join(modules, entry)).map((s) => path.join(modules, entry, s)) : [path.join(modules, entry)];
    for (const dir of dirs) {
      const manifest = read(dir);
      if (manifest) found.push({ dir, manifest });
      found.push(...installed(path.join(dir, 'node_modules')));
    }
  }
  return found;
}

const packages = installed();
const label = (p: Installed) => `${p.manifest.name ?? path.relative(root, p.dir)}@${p.manifest.version ?? '?'}`;

describe('npm install on the declared Node.js', () => {
  const engine = project.engines?.node;

  it('declares the Node.js it runs on, and this is one', () => {
    expect(typeof engine).toBe('string');
    expect(semver.validRange(engine as string)).not.toBeNull();
    expect(semver.satisfies(process.version, engine as string)).toBe(true);
    expect(packages.length).toBeGreaterThan(100);
  });

  it("every installed package's engines.node accepts the oldest Node.js the project declares, and the running one", () => {
    const oldest = semver.minVersion(engine as string)?.version as string;
    const refusing = packages.flatMap((p) => {
      const range = p.manifest.engines?.node;
      if (typeof range !== 'string' || semver.validRange(range) === null) return [];
      const refused = [oldest, process.version].filter((v) => !semver.satisfies(v, range));
      return refused.length > 0 ? [`${label(p)} needs node ${range} (refuses ${refused.join(', ')})`] : [];
    });
    expect(refusing).toEqual([]);
  });

  it('allowScripts names every installed package that has install scripts', () => {
    const allowed = project.allowScripts ?? {};
    const covered = (m: Manifest) => Object.keys(allowed).some((key) => key === m.name || key.startsWith(`${m.name ?? ''}@`));
    const uncovered = packages.filter((p) => {
      const scripts = p.manifest.scripts ?? {};
      const hasScripts = ['preinstall', 'install', 'postinstall'].some((s) => typeof scripts[s] === 'string') || existsSync(path.join(p.dir, 'binding.gyp'));
      return hasScripts && !covered(p.manifest);
    });
    expect(uncovered.map(label)).toEqual([]);
  });
});

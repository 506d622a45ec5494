/**
 * Object storage for document contents. Keys are built only from validated identifiers —
 * region, tenant id, object id — never from anything a client named, so a document name cannot
 * reach the storage path. Each tenant's objects sit under their own prefix.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isUuid, newId } from '../ids.js';

export interface ObjectKey {
  readonly region: string;
  readonly tenantId: string;
  readonly objectId: string;
}

/** A written object not yet visible under its key; commit or discard it exactly once. */
export interface PendingObject {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export interface ObjectStore {
  /**
   * Streams `source` through `transforms` to a staging place; nothing is visible under `key`
   * until commit(). On any stream error the staged bytes are removed and the error rethrown.
   */
  stage(key: ObjectKey, source: Readable, transforms?: readonly Transform[]): Promise<PendingObject>;
  /** Opens the object for reading; rejects with code ENOENT if it does not exist. */
  open(key: ObjectKey): Promise<Readable>;
  delete(key: ObjectKey): Promise<void>;
  /** Removes every object of one tenant in one region. */
  deleteTenant(region: string, tenantId: string): Promise<void>;
}

const REGION = /^[a-z][a-z0-9-]{0,31}$/;

function tenantPrefix(region: string, tenantId: string): string[] {
  if (!REGION.test(region) || !isUuid(tenantId)) throw new TypeError('invalid object key');
  return [region, tenantId];
}

function objectPath(key: ObjectKey): string[] {
  if (!isUuid(key.objectId)) throw new TypeError('invalid object key');
  return [...tenantPrefix(key.region, key.tenantId), key.objectId];
}

/** Counts and hashes the bytes flowing through it. */
export function meter(): { transform: Transform; result: () => { size: number; sha256: Buffer } } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { transform, result: () => ({ size, sha256: hash.digest() }) };
}

/** Local filesystem backend: <root>/<region>/<tenant_id>/<object_id>, files 0600, folders 0700. */
export class LocalObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async stage(key: ObjectKey, source: Readable, transforms: readonly Transform[] = []): Promise<PendingObject> {
    const final = path.join(this.root, ...objectPath(key));
    const dir = path.dirname(final);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const staging = path.join(dir, `.staging-${newId()}`);
    const file = createWriteStream(staging, { mode: 0o600, flags: 'wx' });
    try {
      await pipeline([source, ...transforms, file]);
    } catch (err) {
      // A stream destroyed while its file is still being opened creates the file afterwards:
      // remove it only once the stream has closed, or it would outlive the removal.
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
      await rm(staging, { force: true });
      throw err;
    }
    let settled = false;
    return {
      async commit() {
        if (settled) throw new Error('pending object already settled');
        settled = true;
        await rename(staging, final);
      },
      async discard() {
        if (settled) return;
        settled = true;
        await rm(staging, { force: true });
      },
    };
  }

  async open(key: ObjectKey): Promise<Readable> {
    const file = path.join(this.root, ...objectPath(key));
    await stat(file); // rejects with ENOENT before any header is sent
    return createReadStream(file);
  }

  async delete(key: ObjectKey): Promise<void> {
    await rm(path.join(this.root, ...objectPath(key)), { force: true });
  }

  async deleteTenant(region: string, tenantId: string): Promise<void> {
    await rm(path.join(this.root, ...tenantPrefix(region, tenantId)), { recursive: true, force: true });
  }
}

/**
 * The workspace-facing side of keys: status, rotation, retirement, a workspace's own key, and the
 * scheduler that rotates keys when due, moves content to the newest version, retires what no row
 * uses any more, and destroys the keys of deleted workspaces after their grace period.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { BackgroundWork } from '../../platform/background.js';
import { rowsBelow, type Keyring } from '../../platform/crypto/keyring.js';
import type { ProviderKind } from '../../platform/crypto/providers/types.js';
import { tenantContext } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { WorkspaceCaller } from '../../platform/http/context.js';
import type { WorkspaceEvents } from '../events/workspace.js';
import { rewrapTenant, type RewrapDeps, type RewrapResult } from './rewrap.js';
import type { KeyStatusT } from './schemas.js';

export interface KeysDeps extends RewrapDeps {
  readonly events: WorkspaceEvents;
  readonly background: BackgroundWork;
  readonly log: FastifyBaseLogger;
  readonly rotationDays: number;
}

const NO_ROWS = { records: 0, documents: 0, secrets: 0 };

export class KeysService {
  constructor(private readonly deps: KeysDeps) {}

  get keyring(): Keyring {
    return this.deps.keyring;
  }

  async status(caller: Pick<WorkspaceCaller, 'tenant'>): Promise<KeyStatusT> {
    const tenantId = caller.tenant.tenantId;
    const [status, rows] = await Promise.all([this.deps.keyring.status(tenantId), this.deps.keyring.rowsByVersion(tenantId)]);
    return {
      provider: status.provider,
      ownKey: status.ownKey,
      currentVersion: status.currentVersion,
      minDecryptVersion: status.minDecryptVersion,
      versions: status.versions.map((v) => ({ ...v, createdAt: v.createdAt.toISOString(), rows: rows.get(v.version) ?? NO_ROWS })),
      plainRows: rows.get(0) ?? NO_ROWS,
      pendingRewrap: rowsBelow(rows, status.currentVersion),
      rotatedAt: status.exists ? (status.rotatedAt?.toISOString() ?? null) : null,
      nextRotationAt: status.nextRotationAt?.toISOString() ?? null,
      rotationDays: this.deps.rotationDays,
    };
  }

  /** The keys at a glance, without counting the rows under each version (the overview's read). */
  async summary(caller: Pick<WorkspaceCaller, 'tenant'>): Promise<{ currentVersion: number; versions: number; rotatedAt: Date | null; nextRotationAt: Date | null; rotationDays: number }> {
    const status = await this.deps.keyring.status(caller.tenant.tenantId);
    return {
      currentVersion: status.currentVersion,
      versions: status.versions.length,
      rotatedAt: status.exists ? status.rotatedAt : null,
      nextRotationAt: status.nextRotationAt,
      rotationDays: this.deps.rotationDays,
    };
  }

  /** A new version now; content moves to it in the background, then older versions retire. */
  async rotate(caller: WorkspaceCaller): Promise<KeyStatusT> {
    const version = await this.deps.keyring.rotate(caller.tenant.tenantId);
    await this.deps.events.record(caller.tenant, caller.actor, { action: 'key.rotated', outcome: 'success', details: { version } }, caller.meta);
    this.settleInBackground(caller.tenant.tenantId);
    return this.status(caller);
  }

  async setOwnKey(caller: WorkspaceCaller, own: { provider: ProviderKind; keyRef: string } | null): Promise<KeyStatusT> {
    const version = await this.deps.keyring.setOwnKey(caller.tenant.tenantId, own);
    await this.deps.events.record(
      caller.tenant,
      caller.actor,
      {
        action: own ? 'key.own_key_set' : 'key.own_key_removed',
        outcome: 'success',
        details: { version, provider: own?.provider ?? null, keyRef: own?.keyRef ?? null },
      },
      caller.meta,
    );
    this.settleInBackground(caller.tenant.tenantId);
    return this.status(caller);
  }

  /** Rotation by an operator or the scheduler: the event names the system as actor. */
  async rotateAsSystem(tenantId: string, details: Record<string, string> = {}): Promise<number> {
    const version = await this.deps.keyring.rotate(tenantId);
    await this.recordSystem(tenantId, 'key.rotated', 'success', { version, ...details });
    return version;
  }

  async retire(caller: WorkspaceCaller, minVersion: number): Promise<KeyStatusT> {
    await this.deps.keyring.retire(caller.tenant.tenantId, minVersion);
    await this.deps.events.record(caller.tenant, caller.actor, { action: 'key.retired', outcome: 'success', details: { minVersion } }, caller.meta);
    return this.status(caller);
  }

  rewrap(tenantId: string, options: Parameters<typeof rewrapTenant>[2] = {}): Promise<RewrapResult> {
    return rewrapTenant(this.deps, tenantId, options);
  }

  private settleInBackground(tenantId: string): void {
    this.deps.background.run(async () => {
      await this.settle(tenantId);
    });
  }

  /**
   * Rewraps a tenant and, when nothing is left on older versions, retires them. Returns whether
   * the tenant is done (false: retry later — rows failed, or caches may still write old versions).
   */
  async settle(tenantId: string): Promise<boolean> {
    const result = await this.rewrap(tenantId);
    if (result.rewrapped > 0 || result.failed.length > 0) {
      await this.recordSystem(tenantId, 'key.rewrapped', result.failed.length === 0 ? 'success' : 'failure', {
        version: result.version,
        rows: result.rewrapped,
        failed: result.failed.length,
      });
    }
    if (result.remaining > 0 || result.failed.length > 0) {
      this.deps.log.warn({ tenantId, remaining: result.remaining, failed: result.failed.length }, 'rewrap left rows on older key versions');
      return false;
    }
    const status = await this.deps.keyring.status(tenantId);
    if (status.minDecryptVersion < status.currentVersion) {
      try {
        await this.deps.keyring.retire(tenantId, status.currentVersion);
      } catch (err) {
        if (err instanceof RampartError && err.code === 'key_version_in_use') return false;
        throw err;
      }
      await this.recordSystem(tenantId, 'key.retired', 'success', { minVersion: status.currentVersion });
    }
    await this.deps.keyring.markRewrapped(tenantId);
    return true;
  }

  private async recordSystem(tenantId: string, action: string, outcome: 'success' | 'failure', details: Record<string, number | string | null>) {
    await this.deps.events.record(tenantContext(tenantId, null), null, { action, outcome, details }, null);
  }

  /** One pass of the scheduler: destroy, rotate and settle what is due. Failures are logged per tenant. */
  async runDue(): Promise<{ destroyed: number; rotated: number; settled: number }> {
    const due = await this.deps.keyring.due();
    const out = { destroyed: 0, rotated: 0, settled: 0 };
    for (const tenantId of due.destroy) {
      await this.attempt(tenantId, 'destroy', async () => {
        await this.deps.keyring.destroy(tenantId);
        out.destroyed += 1;
      });
    }
    for (const tenantId of due.rotate) {
      await this.attempt(tenantId, 'rotate', async () => {
        if (!(await this.deps.keyring.claimRotation(tenantId))) return;
        await this.rotateAsSystem(tenantId, { scheduled: 'true' });
        out.rotated += 1;
      });
    }
    const pending = due.rotate.length > 0 ? (await this.deps.keyring.due()).rewrap : due.rewrap;
    for (const tenantId of pending) {
      await this.attempt(tenantId, 'settle', async () => {
        if (await this.settle(tenantId)) out.settled += 1;
      });
    }
    return out;
  }

  private async attempt(tenantId: string, what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.deps.log.error({ err, tenantId }, `scheduled key work failed: ${what}`);
    }
  }

  /** Runs `runDue` every `intervalMs` until `stop()`; one pass at a time. */
  startScheduler(intervalMs: number): { stop(): Promise<void> } {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => this.runDue()).catch((err: unknown) => this.deps.log.error({ err }, 'key scheduler pass failed'));
    }, intervalMs);
    timer.unref();
    return {
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }

  /** A deleted workspace's keys wait out the grace period, then are destroyed. */
  async workspaceDeleted(tenantId: string): Promise<void> {
    await this.deps.keyring.scheduleDestruction(tenantId);
  }
}

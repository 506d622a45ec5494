/**
 * Opens the key hierarchy from configuration: the root provider (`kmsProvider`), any other
 * configured provider a workspace may bring its own key from, and the destruction register.
 * The PKCS#11 and AWS providers are loaded only when configured.
 */
import path from 'node:path';
import { ConfigError, type Config } from '../../config.js';
import type { Database } from '../db/types.js';
import { Secret } from '../secret.js';
import { DestructionRegister, Keyring } from './keyring.js';
import { LocalKeyProvider } from './providers/local.js';
import { KeyProviderError, type KeyProvider, type ProviderKind } from './providers/types.js';

export { Keyring, DestructionRegister } from './keyring.js';

export function rootKeyFile(config: Pick<Config, 'dataDir' | 'localRootKeyFile'>): string {
  return path.resolve(config.localRootKeyFile ?? path.join(config.dataDir, 'root-keys.json'));
}

export function destructionRegisterFile(config: Pick<Config, 'dataDir'>): string {
  return path.resolve(config.dataDir, 'key-destructions.jsonl');
}

async function openProvider(kind: ProviderKind, config: Config): Promise<KeyProvider> {
  switch (kind) {
    case 'local':
      return config.localRootKeys
        ? LocalKeyProvider.open({ kind: 'env', value: config.localRootKeys })
        : LocalKeyProvider.open({ kind: 'file', file: rootKeyFile(config), dev: config.dev });
    case 'pkcs11': {
      // pkcs11js is an optional, native dependency: say so plainly when it did not install.
      const { Pkcs11KeyProvider } = await import('./providers/pkcs11.js').catch((err: unknown) => {
        throw new KeyProviderError('misconfigured', 'the pkcs11 provider needs the optional package pkcs11js, which did not install (npm install pkcs11js)', {
          cause: err,
        });
      });
      return Pkcs11KeyProvider.open({
        module: config.pkcs11Module as string,
        tokenLabel: config.pkcs11TokenLabel as string,
        pin: new Secret(config.pkcs11Pin as string),
        keyLabel: config.pkcs11KeyLabel,
      });
    }
    case 'aws-kms': {
      const { AwsKmsKeyProvider } = await import('./providers/aws-kms.js');
      return new AwsKmsKeyProvider({
        keyId: config.awsKmsKeyId as string,
        ...(config.awsRegion ? { region: config.awsRegion } : {}),
        ...(config.awsKmsEndpoint ? { endpoint: config.awsKmsEndpoint } : {}),
      });
    }
  }
}

/** Which providers are configured: the root one, plus any other with complete settings. */
function configuredKinds(config: Config): ProviderKind[] {
  const kinds = new Set<ProviderKind>([config.kmsProvider]);
  if (config.pkcs11Module && config.pkcs11TokenLabel && config.pkcs11Pin) kinds.add('pkcs11');
  if (config.awsKmsKeyId) kinds.add('aws-kms');
  return [...kinds];
}

export interface KeyringDeps {
  /** Providers to use instead of opening them from configuration (tests bring a customer's "own" key store). */
  readonly providers?: ReadonlyMap<ProviderKind, KeyProvider>;
}

/** Throws KeyProviderError('misconfigured') with an operator-facing message when a provider cannot open. */
export async function openKeyring(config: Config, db: Database, deps: KeyringDeps = {}): Promise<Keyring> {
  const providers = new Map<ProviderKind, KeyProvider>(deps.providers ?? []);
  try {
    for (const kind of configuredKinds(config)) if (!providers.has(kind)) providers.set(kind, await openProvider(kind, config));
  } catch (err) {
    for (const p of providers.values()) await p.close().catch(() => {});
    // A provider that cannot open is a configuration problem: say so the way every other one is said.
    if (err instanceof KeyProviderError && err.failure === 'misconfigured') throw new ConfigError([err.message]);
    throw err;
  }
  const root = providers.get(config.kmsProvider);
  if (!root) throw new KeyProviderError('misconfigured', `the ${config.kmsProvider} key provider is not available`);
  return new Keyring(db, root, providers, new DestructionRegister(destructionRegisterFile(config)), {
    cacheSeconds: config.keyCacheSeconds,
    dataKeyMaxUses: config.dataKeyMaxUses,
    rotationDays: config.keyRotationDays,
    destructionGraceDays: config.keyDestructionGraceDays,
  });
}

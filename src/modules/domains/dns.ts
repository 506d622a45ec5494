/**
 * DNS TXT lookups for domain verification, through node's resolver (c-ares). The servers are
 * configurable (`dnsServers`), so a deployment can point at its own resolver and tests at a DNS
 * server they run; otherwise the system's resolvers answer.
 */
import { Resolver } from 'node:dns/promises';

export interface TxtLookup {
  /** The TXT strings at `name` (each record's chunks joined); [] when there are none. */
  txt(name: string): Promise<string[]>;
}

/** Answers that mean "no such records" rather than "could not ask". */
const EMPTY_ANSWERS = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN', 'ENONAME']);

export class DnsTxtLookup implements TxtLookup {
  private readonly resolver: Resolver;

  constructor(servers: readonly string[] = []) {
    this.resolver = new Resolver({ timeout: 3000, tries: 2 });
    if (servers.length > 0) this.resolver.setServers([...servers]);
  }

  async txt(name: string): Promise<string[]> {
    try {
      const records = await this.resolver.resolveTxt(name);
      return records.map((chunks) => chunks.join(''));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && EMPTY_ANSWERS.has(code)) return [];
      throw err;
    }
  }
}

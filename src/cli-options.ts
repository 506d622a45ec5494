/** Options several `rampart` commands share: where the server listens (start, check-config, and the commands that print links to it). */
import { InvalidArgumentError, Option } from 'commander';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

export function portOption(description = 'TCP port (PORT)'): Option {
  return new Option('-p, --port <port>', description).argParser(port);
}

export function hostOption(description = 'interface to listen on (HOST)'): Option {
  return new Option('-H, --host <host>', description);
}

/** For commands that print a link to the server: the listen address start was given, when no RAMPART_PUBLIC_URL says it. */
export const LINK_PORT = 'the port the server listens on, for the link (PORT; RAMPART_PUBLIC_URL wins)';
export const LINK_HOST = 'the interface the server listens on, for the link (HOST)';

/**
 * A TCP proxy in front of the PostgreSQL server that a test can break on purpose: forward (the
 * database answers), refuse (the port is closed: connection refused), hang (connections are
 * accepted and nothing ever comes back, as from a stopped server or a lost link), or drop every
 * open connection. Only the connections through the proxy are affected, never the shared server
 * or other tests' databases.
 */
import net from 'node:net';

export type ProxyMode = 'forward' | 'hang';

export class FaultProxy {
  private mode: ProxyMode = 'forward';
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | null = null;
  /** The proxy's port: the same for its whole life, across refuse() and restore(). */
  port = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await proxy.listen();
    return proxy;
  }

  private async listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(client: net.Socket): void {
    this.track(client);
    // Hanging: accepted, and silent for good.
    if (this.mode === 'hang') return;
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    // Bytes flow only while forwarding: once hung, each side waits forever for the other.
    client.on('data', (chunk) => {
      if (this.mode === 'forward') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.mode === 'forward') client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Connections (open and new) stop getting answers. */
  hang(): void {
    this.mode = 'hang';
  }

  /** Every open connection is cut (as a database restart or a network reset does). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** The port closes: new connections are refused, open ones are cut. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    this.dropAll();
    await closed;
  }

  /** Answers again, on the same port: what was hung or cut stays cut, new connections work. */
  async restore(): Promise<void> {
    if (this.mode === 'forward' && this.server) return;
    this.dropAll();
    this.mode = 'forward';
    if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}

/**
 * HTTP/1.1 over a plain TCP socket, for requests no HTTP client will send (oversized headers, a
 * garbage request line, lying framing): the exact bytes go out, the answer is read until the
 * server closes the connection, and parsed just enough to check its status, headers and body.
 */
import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends `bytes` and resolves with the answer once the server closes the connection. */
export function rawRequest(port: number, bytes: string | Buffer, options: { endAfterMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    // No answer within 10 s is a failure, not a hung test.
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(statusLine ?? '')?.[1]);
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers, body: text.slice(split + 4) });
    });
    socket.write(bytes);
    // A request the server waits on forever would hang the test: stop sending after a while.
    if (options.endAfterMs !== undefined) setTimeout(() => socket.end(), options.endAfterMs).unref();
  });
}

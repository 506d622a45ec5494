/** A real DNS server (dns2, over UDP on loopback) answering TXT queries from a table the test edits. */
import dns2 from 'dns2';

export interface TestDns {
  /** `host:port`, for the `dnsServers` setting. */
  readonly server: string;
  /** The TXT records served for each name (lower-case, no trailing dot). */
  readonly txt: Map<string, string[]>;
  close(): Promise<void>;
}

export async function startTestDns(): Promise<TestDns> {
  const txt = new Map<string, string[]>();
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = dns2.Packet.createResponseFromRequest(request);
      // dns2's typings describe the packet's answers as encoders; the server takes plain records.
      const answers = response.answers as unknown as { name: string; type: number; class: number; ttl: number; data: string }[];
      const [question] = request.questions;
      const name = (question?.name ?? '').toLowerCase().replace(/\.$/, '');
      for (const data of txt.get(name) ?? []) {
        answers.push({ name: question?.name ?? name, type: dns2.Packet.TYPE.TXT, class: dns2.Packet.CLASS.IN, ttl: 1, data });
      }
      void send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = server.addresses().udp?.port;
  if (!port) throw new Error('the DNS server did not bind');
  return { server: `127.0.0.1:${port}`, txt, close: () => server.close() };
}

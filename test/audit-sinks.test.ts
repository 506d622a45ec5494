/**
 * Streaming the audit log to SIEMs: a real HTTP receiver and a real RELP syslog receiver that
 * fail at first. Every event and checkpoint arrives, in order, in a form that verifies; nothing
 * is lost while the receiver is down, and two instances never deliver one batch twice.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditSinks, HttpSink, RelpSink } from '../src/platform/audit/sinks.js';
import { splitExportLine } from '../src/platform/audit/record.js';
import { ChainVerifier, type Checkpoint, type PublicKeyInfo } from '../src/platform/audit/verify.js';
import { parsePublicKeys } from '../src/platform/audit/verify-file.js';
import { tenantContext } from '../src/platform/db/types.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';

interface Received {
  readonly lines: string[];
  readonly authorizations: Array<string | undefined>;
  failFirst: number;
  requests: number;
}

function startHttpReceiver(received: Received, delayMs = 0): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.requests += 1;
      received.authorizations.push(req.headers.authorization);
      setTimeout(() => {
        if (received.failFirst > 0) {
          received.failFirst -= 1;
          res.writeHead(503).end();
          return;
        }
        received.lines.push(...Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean));
        res.writeHead(204).end();
      }, delayMs);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * A RELP receiver (as rsyslog's imrelp speaks it): acknowledges `open` and each `syslog` frame.
 * Its first connection dies after one message without acknowledging it; on the next, it refuses
 * one message once. Only acknowledged messages count as received.
 */
function startRelpReceiver(messages: string[]): Promise<net.Server> {
  let connections = 0;
  let refused = false;
  const server = net.createServer((socket) => {
    connections += 1;
    const connection = connections;
    let buffer = '';
    let syslogs = 0;
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        const m = /^(\d+) (\S+) (\d+)[ \n]/.exec(buffer);
        if (!m) return;
        const length = Number(m[3]);
        const start = m[0].length;
        const end = length === 0 ? start - 1 : start + length;
        if (buffer.length < end + 1) return;
        const data = length === 0 ? '' : buffer.slice(start, end);
        buffer = buffer.slice(end + 1);
        const [txnr, command] = [m[1], m[2]];
        const reply = (text: string) => socket.write(`${txnr} rsp ${Buffer.byteLength(text)} ${text}\n`);
        if (command === 'open') reply('200 OK\nrelp_version=0\ncommands=syslog');
        else if (command === 'close') reply('200 OK');
        else if (command === 'syslog') {
          syslogs += 1;
          if (connection === 1) {
            socket.destroy();
            return;
          }
          if (!refused && syslogs === 3) {
            refused = true;
            reply('500 busy');
            continue;
          }
          messages.push(data);
          reply('200 OK');
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Groups received lines by chain and verifies each chain's events with its checkpoints. */
function verifyReceived(lines: readonly string[], keys: PublicKeyInfo[]) {
  const byChain = new Map<string, { events: Map<number, string>; checkpoints: Checkpoint[] }>();
  const entry = (chain: string) => {
    let e = byChain.get(chain);
    if (!e) byChain.set(chain, (e = { events: new Map(), checkpoints: [] }));
    return e;
  };
  for (const line of lines) {
    const parsed = JSON.parse(line) as { type?: string; chain: string; seq: number };
    if (parsed.type === 'rampart.audit.checkpoint') {
      const { type: _type, ...cp } = parsed as unknown as Checkpoint & { type: string };
      entry(cp.chain).checkpoints.push(cp);
    } else {
      entry(parsed.chain).events.set(parsed.seq, line);
    }
  }
  const reports = [];
  for (const [chain, { events, checkpoints }] of byChain) {
    const verifier = new ChainVerifier({ chain, checkpoints, publicKeys: keys });
    for (const seq of [...events.keys()].sort((a, b) => a - b)) {
      const parts = splitExportLine(events.get(seq) as string);
      verifier.push(parts?.record ?? '', parts?.claimed ?? '');
    }
    reports.push(verifier.finish());
  }
  return reports;
}

describe.each(BACKENDS)('audit sinks on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let ws: string;
  let keys: PublicKeyInfo[];
  let clock = Date.now();
  const servers: Array<http.Server | net.Server> = [];

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Streamed')).id;
    for (let i = 0; i < 30; i++) {
      await t.services.workspaceEvents.record(tenantContext(ws, null), null, { action: 'test.event', outcome: i % 7 === 0 ? 'denied' : 'success', details: { i } }, null);
    }
    await t.services.audit.checkpointAll();
    keys = parsePublicKeys((await t.app.inject({ method: 'GET', url: '/api/v1/audit/public-keys' })).body);
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await t?.close();
  });

  /** Delivers until nothing is outstanding, moving the clock past each backoff. */
  async function drain(sinks: AuditSinks): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await sinks.deliver();
      clock += 301_000;
      const status = await sinks.status();
      if (status.every((s) => s.lagging === 0)) return;
    }
    throw new Error('the sink never caught up');
  }

  it('HTTP: retried while the receiver answers 503, then every event and checkpoint arrives once, in order, and verifies', async () => {
    const received: Received = { lines: [], authorizations: [], failFirst: 3, requests: 0 };
    const server = await startHttpReceiver(received);
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
    const token = 'sink-token-0123456789abcdef';
    const sinks = new AuditSinks(t.database.db, t.services.audit, [new HttpSink(url, token)], { now: () => clock, batch: 7 });
    await sinks.deliver();
    expect((await sinks.status())[0]).toMatchObject({ failures: 1, lastError: 'the audit sink answered 503' });
    // While backing off, nothing is attempted.
    const before = received.requests;
    await sinks.deliver();
    expect(received.requests).toBe(before);
    await drain(sinks);
    expect(received.authorizations.every((a) => a === `Bearer ${token}`)).toBe(true);
    const events = received.lines.filter((l) => !l.includes('"type":"rampart.audit.checkpoint"'));
    const keysSeen = events.map((l) => { const p = JSON.parse(l) as { chain: string; seq: number }; return `${p.chain}:${p.seq}`; });
    expect(new Set(keysSeen).size).toBe(keysSeen.length);
    const head = await t.services.audit.head(ws);
    const mine = events.filter((l) => l.includes(`"chain":"${ws}"`)).map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(mine).toEqual(Array.from({ length: head.seq }, (_, i) => i + 1));
    const reports = verifyReceived(received.lines, keys);
    expect(reports.every((r) => r.ok)).toBe(true);
    expect(reports.find((r) => r.chain === ws)).toMatchObject({ ok: true, through: head.seq, checkpointsVerified: 1 });
    await sinks.stop();
  });

  it('HTTP: two instances delivering at once never send a batch twice', async () => {
    const received: Received = { lines: [], authorizations: [], failFirst: 0, requests: 0 };
    const server = await startHttpReceiver(received, 30);
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // A fresh sink name: its own cursors, starting from the beginning.
    class Named extends HttpSink {
      override readonly name = 'http';
    }
    await t.database.raw(`DELETE FROM rampart.audit_sink_cursors WHERE sink = 'http'`);
    const a = new AuditSinks(t.database.db, t.services.audit, [new Named(url, null)], { batch: 5 });
    const b = new AuditSinks(t.database.db, t.services.audit, [new Named(url, null)], { batch: 5 });
    await Promise.all([a.deliver(), b.deliver(), a.deliver(), b.deliver()]);
    await drain(a);
    const seen = received.lines.map((l) => { const p = JSON.parse(l) as { chain: string; seq: number; type?: string }; return `${p.type ?? 'e'}:${p.chain}:${p.seq}`; });
    expect(new Set(seen).size).toBe(seen.length);
    expect(verifyReceived(received.lines, keys).every((r) => r.ok)).toBe(true);
  });

  it('syslog over RELP: RFC 5424 messages, each acknowledged; a dropped connection and a refusal are retried and nothing is lost', async () => {
    const messages: string[] = [];
    const server = await startRelpReceiver(messages);
    servers.push(server);
    const sinks = new AuditSinks(t.database.db, t.services.audit, [new RelpSink('127.0.0.1', (server.address() as AddressInfo).port)], { now: () => clock });
    await sinks.deliver();
    expect((await sinks.status())[0]?.lastError).toBe('the RELP connection closed');
    await drain(sinks);
    for (const f of messages) expect(f).toMatch(/^<(108|110)>1 \d{4}-\d\d-\d\dT[\d:.]+Z \S+ rampart - (audit|checkpoint) - \{/);
    expect(messages.find((f) => f.includes('"outcome":"denied"'))?.startsWith('<108>')).toBe(true);
    const lines = messages.map((f) => f.slice(f.indexOf('{')));
    const head = await t.services.audit.head(ws);
    const mine = lines.filter((l) => l.startsWith('{"seq"') && l.includes(`"chain":"${ws}"`)).map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(new Set(mine)).toEqual(new Set(Array.from({ length: head.seq }, (_, i) => i + 1)));
    const reports = verifyReceived(lines, keys);
    expect(reports.find((r) => r.chain === ws)).toMatchObject({ ok: true, through: head.seq, checkpointsVerified: 1 });
    await sinks.stop();
  });
});

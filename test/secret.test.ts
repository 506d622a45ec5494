/** `Secret`: every way a value is commonly printed shows `[redacted]`; only `reveal()` gives it. */
/* eslint-disable @typescript-eslint/restrict-template-expressions, @typescript-eslint/restrict-plus-operands -- the careless uses lint refuses elsewhere are what is tested here */
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../src/platform/log.js';
import { REDACTED, Secret, secret } from '../src/platform/secret.js';
import { registerSecret } from './helpers/secret-capture.js';

const VALUE = 'sk_test_9f8e7d6c5b4a39281706f5e4d3c2b1a0';

function captureLogger(options: pino.LoggerOptions = { level: 'info' }) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino(options, sink), lines };
}

describe('Secret', () => {
  registerSecret(VALUE, 'Secret test value');
  const s = secret(VALUE);

  it('reveal() returns the value, of any type', () => {
    expect(s.reveal()).toBe(VALUE);
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(new Secret(key).reveal()).toBe(key);
    expect(secret({ pin: '12345678' }).reveal()).toEqual({ pin: '12345678' });
  });

  it('String(), concatenation and template literals give [redacted]', () => {
    expect(String(s)).toBe(REDACTED);
    expect(`${s}`).toBe(REDACTED);
    expect(`key=${s}!`).toBe(`key=${REDACTED}!`);
    expect('key=' + s).toBe(`key=${REDACTED}`);
    expect(s.toString()).toBe(REDACTED);
  });

  it('JSON.stringify gives [redacted], however deeply nested', () => {
    expect(JSON.stringify(s)).toBe(`"${REDACTED}"`);
    const nested = JSON.stringify({ a: { b: [{ c: s }] }, list: [s, s] });
    expect(nested).not.toContain(VALUE);
    expect(JSON.parse(nested)).toEqual({ a: { b: [{ c: REDACTED }] }, list: [REDACTED, REDACTED] });
  });

  it('util.inspect, util.format and console formatting never show the value', () => {
    expect(inspect(s)).toBe(`Secret(${REDACTED})`);
    expect(inspect({ deep: { deeper: { s } } }, { depth: 10 })).not.toContain(VALUE);
    expect(inspect(s, { showHidden: true, depth: 10 })).not.toContain(VALUE);
    expect(format('%s', s)).not.toContain(VALUE);
    expect(format('%o', { s })).not.toContain(VALUE);
    expect(format('%O', [s])).not.toContain(VALUE);
    expect(format('%j', { s })).not.toContain(VALUE);
    expect(format(s)).not.toContain(VALUE);
  });

  it('a pino log line of an object holding it shows [redacted], with or without redaction paths', () => {
    for (const options of [{ level: 'info' }, loggerOptions('info')]) {
      const { log, lines } = captureLogger(options);
      log.info({ provider: { name: 'local', unusualField: s }, list: [s] }, 'started');
      log.info({ err: Object.assign(new Error('failed'), { credential: s }) }, 'failed');
      log.info(`interpolated ${s}`);
      log.info('format %s %o', s, { s });
      expect(lines).toHaveLength(4);
      for (const line of lines) expect(line).not.toContain(VALUE);
      expect(JSON.parse(lines[0] as string)).toMatchObject({ provider: { unusualField: REDACTED }, list: [REDACTED] });
      expect(JSON.parse(lines[1] as string)).toMatchObject({ err: { credential: REDACTED } });
      expect(JSON.parse(lines[2] as string).msg).toBe(`interpolated ${REDACTED}`);
    }
  });

  it('an Error message built from it shows [redacted], and so does its stack', () => {
    const err = new Error(`could not open the token with PIN ${s}`);
    expect(err.message).toBe(`could not open the token with PIN ${REDACTED}`);
    expect(err.stack).not.toContain(VALUE);
    expect(inspect(err)).not.toContain(VALUE);
    const wrapped = new Error('outer', { cause: { pin: s } });
    expect(inspect(wrapped, { depth: 10 })).not.toContain(VALUE);
  });

  it('the value is not an enumerable or reachable property', () => {
    expect(Object.keys(s)).toEqual([]);
    expect(Object.getOwnPropertyNames(s)).toEqual([]);
    expect({ ...s }).toEqual({});
    expect(Object.values(s)).toEqual([]);
  });
});

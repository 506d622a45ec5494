/**
 * Reading a record's JSON as someone types it: whether it parses, and if not, where and why, in
 * the same words in every browser (JSON.parse's messages differ between engines, and some give no
 * position at all). JSON.parse decides what is valid; the scanner below runs only when it refuses,
 * to find the first offending character. It follows RFC 8259 exactly, as JSON.parse does, and keeps
 * its own stack, so nesting however deep cannot overflow it.
 */
import type { JsonObject, JsonValue } from '../api';

/** Where a text stops being JSON: a message, and the place (offset from 0; line and column from 1). */
export interface JsonProblem {
  readonly message: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export type JsonCheck = { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly problem: JsonProblem };

/** Line and column (from 1) of an offset in a text. */
export function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i += 1) {
    if (text.charCodeAt(i) === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** `Line 2, column 15: …` */
export function describeProblem(problem: JsonProblem): string {
  return `Line ${problem.line}, column ${problem.column}: ${problem.message}`;
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

/** What a character is called in a message: `"x"`, or a name for what cannot be seen. */
function shown(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code === 0x0a) return 'a line break';
  if (code === 0x09) return 'a tab';
  if (code < 0x20 || code === 0x7f) return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (ch === '"') return 'a double quote (")';
  return `"${ch}"`;
}

class Stop {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

/**
 * Finds the first place a text breaks JSON's grammar: a message and its offset, or null when the
 * text is JSON.
 */
export function findJsonProblem(text: string): { readonly message: string; readonly offset: number } | null {
  let i = 0;
  const n = text.length;
  const skip = () => {
    while (i < n && WHITESPACE.has(text.charCodeAt(i))) i += 1;
  };
  const end = (what: string) => new Stop(`The text ends where ${what} should be: something is missing at the end.`, n);
  const unexpected = (what: string) => new Stop(`Expected ${what}, found ${shown(text[i] as string)}.`, i);

  const string = (): Stop | null => {
    // At the opening quote.
    const opened = i;
    i += 1;
    while (i < n) {
      const ch = text[i] as string;
      const code = ch.charCodeAt(0);
      if (ch === '"') {
        i += 1;
        return null;
      }
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === undefined) return end('an escape such as \\n');
        if (next === 'u') {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return new Stop('A \\u escape needs four hexadecimal digits, such as \\u00e9.', i);
          i += 6;
        } else if (ESCAPES.has(next)) {
          i += 2;
        } else {
          return new Stop(`"\\${next}" is not an escape JSON knows: use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u followed by four hexadecimal digits.`, i);
        }
        continue;
      }
      if (code < 0x20) return new Stop(`A string cannot hold ${shown(ch)} as it is: write it as an escape (\\n, \\t, \\u0000…), or close the string with ".`, i);
      i += 1;
    }
    return new Stop('This string is never closed: add the closing " where it ends.', opened);
  };

  /** A value starting at i (whitespace skipped); containers push a frame instead of recursing. */
  type Frame = { kind: 'object' | 'array'; state: 'first' | 'after-value' };
  const stack: Frame[] = [];

  const scalar = (): Stop | null => {
    const ch = text[i] as string;
    if (ch === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (ch !== word[0]) continue;
      let k = 1;
      while (k < word.length && text[i + k] === word[k]) k += 1;
      if (k === word.length) {
        i += k;
        return null;
      }
      if (i + k >= n) return end(`the rest of ${word}`);
      return new Stop(`Expected ${word}, found ${shown(text[i + k] as string)}.`, i + k);
    }
    if (/^(?:true|false|null)$/i.test(/^[A-Za-z]+/.exec(text.slice(i, i + 6))?.[0] ?? '')) {
      return new Stop('JSON writes true, false and null in lowercase.', i);
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      // No match only for a "-" without a digit after it.
      if (!m) return i + 1 >= n ? end('a digit after "-"') : new Stop(`A number needs a digit after "-", found ${shown(text[i + 1] as string)}.`, i + 1);
      const after = i + m[0].length;
      const next = text[after];
      i = after;
      if (next === '.') return new Stop('A "." in a number must be followed by a digit.', after);
      if (next === 'e' || next === 'E') return new Stop('An exponent ("e") in a number must be followed by digits, such as 1e3.', after);
      if (next !== undefined && next >= '0' && next <= '9') return new Stop('A number cannot start with 0 followed by more digits.', after);
      return null;
    }
    if (ch === "'") return new Stop('Strings and property names take double quotes (") in JSON, not single quotes.', i);
    return unexpected('a value (an object, array, string, number, true, false or null)');
  };

  const value = (): Stop | null => {
    skip();
    if (i >= n) return end('a value');
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      stack.push({ kind: ch === '{' ? 'object' : 'array', state: 'first' });
      i += 1;
      return null;
    }
    return scalar();
  };

  const member = (): Stop | null => {
    // A property name, a colon, then a value.
    skip();
    if (i >= n) return end('a property name');
    if (text[i] !== '"') {
      if (text[i] === "'") return new Stop('Property names take double quotes (") in JSON, not single quotes.', i);
      return unexpected('a property name in double quotes');
    }
    const s = string();
    if (s) return s;
    skip();
    if (i >= n) return end('":" after a property name');
    if (text[i] !== ':') return unexpected('":" after the property name');
    i += 1;
    return value();
  };

  let problem = value();
  if (problem) return problem;
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    const close = top.kind === 'object' ? '}' : ']';
    skip();
    if (i >= n) return end(top.state === 'first' ? `a ${top.kind === 'object' ? 'property' : 'value'} or "${close}"` : `"," or "${close}"`);
    const ch = text[i];
    if (top.state === 'first' && ch === close) {
      stack.pop();
      i += 1;
    } else if (top.state === 'after-value') {
      if (ch === ',') {
        const comma = i;
        i += 1;
        skip();
        if (text[i] === close) return new Stop(`A "," must be followed by another ${top.kind === 'object' ? 'property' : 'item'}: JSON allows no trailing comma.`, comma);
        problem = top.kind === 'object' ? member() : value();
        top.state = 'after-value';
        if (problem) return problem;
      } else if (ch === close) {
        stack.pop();
        i += 1;
      } else {
        return unexpected(`"," or "${close}" after ${top.kind === 'object' ? 'a property value' : 'an item'}`);
      }
    } else {
      // The first member or item.
      top.state = 'after-value';
      problem = top.kind === 'object' ? member() : value();
      if (problem) return problem;
    }
  }
  skip();
  if (i < n) return new Stop(`The JSON value ends before this: remove ${shown(text[i] as string)} and what follows, or wrap everything in one object.`, i);
  return null;
}

/** Parses JSON text; when it is not JSON, says where and why. */
export function checkJson(text: string): JsonCheck {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch (err) {
    if (text.trim() === '') return { ok: false, problem: { message: 'Nothing to read yet: a record is a JSON object, such as {"title": "Hello"}.', offset: 0, line: 1, column: 1 } };
    const stop = findJsonProblem(text) ?? new Stop(err instanceof Error ? err.message : 'The text is not JSON.', 0);
    return { ok: false, problem: { message: stop.message, offset: stop.offset, ...position(text, stop.offset) } };
  }
}

export type RecordJson =
  | { readonly ok: true; readonly data: JsonObject }
  | { readonly ok: false; readonly error: string; readonly problem: JsonProblem | null };

export const NOT_AN_OBJECT = 'A record must be a JSON object, such as {"title": "Hello"}.';

/** Reads a record's JSON text: it must parse, and be an object. */
export function parseRecordJson(text: string): RecordJson {
  const checked = checkJson(text);
  if (!checked.ok) return { ok: false, error: `Invalid JSON. ${describeProblem(checked.problem)}`, problem: checked.problem };
  const value = checked.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: NOT_AN_OBJECT, problem: null };
  return { ok: true, data: value };
}

/** A record as the editor shows it. */
export const prettyJson = (data: JsonValue): string => JSON.stringify(data, null, 2);

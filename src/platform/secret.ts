/**
 * A value that must never be printed. `Secret` keeps its value in a private field; converting it
 * to a string, to JSON or through `util.inspect` (what loggers and `console.log` use) gives
 * `[redacted]`. Only code that calls `reveal()` sees the value, so a secret reaching a log line,
 * an error message or a response is a visible act in the code, not an accident.
 */
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

export class Secret<T = string> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The value itself. Call it only where the value is used (a KMS call, an outgoing request). */
  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}

export function secret<T>(value: T): Secret<T> {
  return new Secret(value);
}

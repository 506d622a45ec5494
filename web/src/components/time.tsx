/**
 * Times as a security console shows them: the audit log's microsecond timestamps in the
 * viewer's local time (to the microsecond), with the exact UTC value in a tooltip; and the
 * conversions between a `datetime-local` field (local time) and the API's ISO 8601 UTC.
 */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The Date of an ISO time, and its fraction of a second as six digits (microseconds). */
export function parseIsoMicros(iso: string): { date: Date; micros: string } | null {
  const fraction = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(iso)?.[1] ?? '';
  // Date keeps milliseconds only: parse with three digits, keep all six for display.
  const date = new Date(iso.replace(/(T\d{2}:\d{2}:\d{2})\.(\d+)/, (_m, hms: string, f: string) => `${hms}.${f.slice(0, 3).padEnd(3, '0')}`));
  if (Number.isNaN(date.getTime())) return null;
  return { date, micros: fraction.slice(0, 6).padEnd(6, '0') };
}

/** `2025-11-23 19:21:00.123456` in the viewer's time zone. */
export function formatLocalMicros(iso: string): string {
  const parsed = parseIsoMicros(iso);
  if (!parsed) return iso;
  const d = parsed.date;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${parsed.micros}`;
}

/** The viewer's offset from UTC, as `UTC+01:00`. */
export function localOffsetLabel(at: Date = new Date()): string {
  const minutes = -at.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The UTC value, as exact as the server gave it. */
export function utcLabel(iso: string): string {
  const parsed = parseIsoMicros(iso);
  if (!parsed) return iso;
  const d = parsed.date;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${parsed.micros} UTC`;
}

/** A microsecond time: local on the page, UTC in the tooltip. */
export function MicroTime({ iso, testId }: { iso: string; testId?: string }) {
  return (
    <time dateTime={iso} title={utcLabel(iso)} data-testid={testId}>
      {formatLocalMicros(iso)}
    </time>
  );
}

/** A time to the minute, local, with UTC in the tooltip (expiries, decisions). */
export function ShortTime({ iso, testId }: { iso: string; testId?: string }) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return <span data-testid={testId}>{iso}</span>;
  return (
    <time dateTime={iso} title={utcLabel(iso)} data-testid={testId}>
      {date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}

/** A `datetime-local` field's value (local time) as ISO 8601 UTC; null when empty or invalid. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** An ISO time as a `datetime-local` field's value (local time, to the second). */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** "in 3 h 5 min", "in 42 s", or "now" for a time that has passed. */
export function timeLeft(iso: string, now: number = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  if (!(ms > 0)) return 'now';
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `in ${seconds} s`;
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `in ${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}

/** A duration in minutes, as a person says it. */
export function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

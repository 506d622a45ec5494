/**
 * Times as the console shows them, in one format everywhere: how long ago (or how soon), with the
 * exact time in the viewer's time zone in the tooltip (`Time`); an audit row's time also gives
 * the exact UTC value, to the microsecond (`precise`). And the conversions between a
 * `datetime-local` field (local time) and the API's ISO 8601 UTC.
 */
import { useEffect, useState } from 'preact/hooks';

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

/** The viewer's time zone by name (`Europe/Berlin`), when the browser says. */
function zoneName(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

/** `2025-11-23 19:21:05 (Europe/Berlin, UTC+01:00)`: the exact local time, to the second or the microsecond. */
export function exactLocal(iso: string, precise = false): string {
  const parsed = parseIsoMicros(iso);
  if (!parsed) return iso;
  const local = formatLocalMicros(iso);
  const zone = zoneName();
  const offset = localOffsetLabel(parsed.date);
  return `${precise ? local : local.slice(0, 19)} (${zone ? `${zone}, ${offset}` : offset})`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "3 min ago", "2 h ago", "5 days ago", "4 months ago"; "in 3 min", "in 2 days" for what is to come. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const at = parseIsoMicros(iso)?.date.getTime();
  if (at === undefined) return iso;
  const ms = at - now;
  const abs = Math.abs(ms);
  if (abs < 45_000) return ms <= 0 ? 'just now' : 'in under a minute';
  let amount: string;
  if (abs < HOUR) amount = `${Math.max(1, Math.round(abs / MINUTE))} min`;
  else if (abs < DAY) amount = `${Math.round(abs / HOUR)} h`;
  else if (abs < 30 * DAY) {
    const days = Math.round(abs / DAY);
    amount = `${days} ${days === 1 ? 'day' : 'days'}`;
  } else if (abs < 365 * DAY) {
    const months = Math.max(1, Math.round(abs / (30.44 * DAY)));
    amount = `${months} ${months === 1 ? 'month' : 'months'}`;
  } else {
    const years = Math.round(abs / (365.25 * DAY));
    amount = `${years} ${years === 1 ? 'year' : 'years'}`;
  }
  return ms < 0 ? `${amount} ago` : `in ${amount}`;
}

// One clock for every Time on the page, so relative times move on without a timer each.
const TICK_MS = 30_000;
const ticking = new Set<(now: number) => void>();
let clock: ReturnType<typeof setInterval> | null = null;

function useClock(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    ticking.add(setNow);
    clock ??= setInterval(() => {
      const at = Date.now();
      for (const tick of ticking) tick(at);
    }, TICK_MS);
    return () => {
      ticking.delete(setNow);
      if (ticking.size === 0 && clock !== null) {
        clearInterval(clock);
        clock = null;
      }
    };
  }, []);
  return now;
}

/**
 * A point in time, the one way the console shows it: relative on the page ("3 min ago"), the
 * exact local time in the tooltip; `precise` (audit rows) gives it to the microsecond, and the
 * UTC value too.
 */
export function Time({ iso, testId, precise = false }: { iso: string; testId?: string; precise?: boolean }) {
  const now = useClock();
  if (!parseIsoMicros(iso)) return <span data-testid={testId}>{iso}</span>;
  const title = precise ? `${exactLocal(iso, true)}\n${utcLabel(iso)}` : exactLocal(iso);
  return (
    <time class="time" dateTime={iso} title={title} data-testid={testId}>
      {relativeTime(iso, now)}
    </time>
  );
}

/**
 * A time still to come, counted down to the second (a grant's end, a request's lapse): `Time`'s
 * form ("in 29 min", the exact local time in the tooltip), moved on by the caller's `now`.
 */
export function Countdown({ iso, now, testId }: { iso: string; now: number; testId?: string }) {
  if (!parseIsoMicros(iso)) return <span data-testid={testId}>{iso}</span>;
  return (
    <time class="time" dateTime={iso} title={exactLocal(iso)} data-testid={testId}>
      {timeLeft(iso, now)}
    </time>
  );
}

/** A time to the microsecond (audit rows): `Time`, precise. */
export function MicroTime({ iso, testId }: { iso: string; testId?: string }) {
  return <Time iso={iso} precise {...(testId ? { testId } : {})} />;
}

/** A time (expiries, decisions): `Time`. */
export function ShortTime({ iso, testId }: { iso: string; testId?: string }) {
  return <Time iso={iso} {...(testId ? { testId } : {})} />;
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

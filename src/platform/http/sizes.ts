/** Sizes as people read them, in binary units: 1 MiB, 25 MiB, 16 KiB (never a raw byte count). */
import prettyBytes from 'pretty-bytes';

export function humanBytes(bytes: number): string {
  return prettyBytes(bytes, { binary: true });
}

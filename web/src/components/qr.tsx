/**
 * A QR code drawn as SVG elements (no markup string, no data: URL, no inline style, so the strict
 * CSP has nothing to allow). The `qrcode` library computes the modules; this draws them as one
 * path, dark on a light square with the four-module quiet zone scanners need, whatever the
 * console's colour scheme.
 */
import { create } from 'qrcode';
import { useMemo } from 'preact/hooks';
import '../flows.css';

/** Modules of light margin around the symbol, as the QR code standard asks. */
const QUIET_ZONE = 4;

/** The dark modules of `value`'s QR code as an SVG path, and the side of the whole square in modules. */
export function qrPath(value: string): { d: string; side: number } {
  const { modules } = create(value, { errorCorrectionLevel: 'M' });
  const size = modules.size;
  const parts: string[] = [];
  for (let row = 0; row < size; row += 1) {
    let col = 0;
    while (col < size) {
      if (!modules.get(row, col)) {
        col += 1;
        continue;
      }
      // A run of dark modules on this row becomes one rectangle.
      const start = col;
      while (col < size && modules.get(row, col)) col += 1;
      parts.push(`M${start + QUIET_ZONE} ${row + QUIET_ZONE}h${col - start}v1h${start - col}z`);
    }
  }
  return { d: parts.join(''), side: size + 2 * QUIET_ZONE };
}

/** `value` as a QR code; `label` says what it holds, for assistive technology. */
export function QrCode({ value, label, testId }: { value: string; label: string; testId?: string }) {
  const { d, side } = useMemo(() => qrPath(value), [value]);
  return (
    <svg class="qr" viewBox={`0 0 ${side} ${side}`} role="img" aria-label={label} shape-rendering="crispEdges" data-testid={testId}>
      <rect class="qr-light" width={side} height={side} />
      <path class="qr-dark" d={d} />
    </svg>
  );
}

/**
 * What a benchmark part reports, and how it is printed: every figure next to its reference, the
 * ratio, the goal and a verdict.
 */

export type Verdict = 'PASS' | 'MISS' | 'INVALID';

export interface Goal {
  readonly op: '>=' | '<=';
  readonly value: number;
  /** `x` for a ratio, `MB` for memory. */
  readonly unit: 'x' | 'MB';
  /** Where the goal comes from (the project brief, or a harness default). */
  readonly source: string;
}

export interface Figure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}

export interface Measure {
  readonly id: string;
  readonly title: string;
  readonly figure: Figure;
  /** The bare or peer figure the ratio is taken against; null for absolute goals. */
  readonly reference: Figure | null;
  /** figure / reference, when there is a reference. */
  readonly ratio: number | null;
  readonly goal: Goal;
  readonly verdict: Verdict;
  /** Why a measure is INVALID, or anything else the reader must know. */
  readonly note?: string;
}

/**
 * A measure with its verdict: the ratio (or the absolute figure, for goals in MB) against the goal.
 * `invalid` holds the reasons the run cannot be trusted (errors, wrong answers); any makes it INVALID.
 */
export function measure(
  m: Omit<Measure, 'ratio' | 'verdict' | 'note'>,
  invalid: readonly string[] = [],
  note?: string,
): Measure {
  const ratio = m.reference ? m.figure.value / m.reference.value : null;
  const compared = m.goal.unit === 'x' ? ratio : m.figure.value;
  let verdict: Verdict;
  if (invalid.length > 0 || compared === null || !Number.isFinite(compared)) verdict = 'INVALID';
  else verdict = (m.goal.op === '>=' ? compared >= m.goal.value : compared <= m.goal.value) ? 'PASS' : 'MISS';
  const notes = [...invalid, ...(note ? [note] : [])];
  return { ...m, ratio, verdict, ...(notes.length > 0 ? { note: notes.join('; ') } : {}) };
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatFigure(f: Figure): string {
  const digits = f.unit === 'ms' ? 2 : f.unit === 'MB' ? 1 : 0;
  return `${formatNumber(f.value, digits)} ${f.unit}`;
}

export function formatGoal(g: Goal): string {
  const op = g.op === '>=' ? '≥' : '≤';
  return g.unit === 'x' ? `${op} ${g.value.toFixed(2)}×` : `${op} ${g.value} MB`;
}

/** Three decimals, or two significant digits below 0.001 (a share of a request can be that small). */
export function formatRatio(ratio: number): string {
  return ratio !== 0 && Math.abs(ratio) < 0.001 ? `${ratio.toPrecision(2)}×` : `${ratio.toFixed(3)}×`;
}

/** A plain-text table; columns whose cells all look numeric are right-aligned. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,]+( ?[a-zA-Z×%/]+)?$|^n\/a$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function summaryTable(measures: readonly Measure[]): string {
  return table(
    ['measure', 'figure', 'reference', 'ratio', 'goal', 'result'],
    measures.map((m) => [
      m.title,
      `${m.figure.label}: ${formatFigure(m.figure)}`,
      m.reference ? `${m.reference.label}: ${formatFigure(m.reference)}` : '—',
      m.ratio === null ? '—' : formatRatio(m.ratio),
      formatGoal(m.goal),
      m.verdict,
    ]),
  );
}

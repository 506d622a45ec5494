/**
 * Table: a list of rows with named columns that never widens the page. On a wide screen it is a
 * table, scrolling inside its own (focusable, labelled) region when its columns need more room;
 * on a phone a `stack` table (the default) shows each row as a card, every cell labelled by its
 * column. Long tokens (ids, hashes, addresses) wrap in their own cell (`wrap`), never squeezing
 * their neighbours into breaking words.
 */
import type { ComponentChildren } from 'preact';

export interface Column<T> {
  readonly id: string;
  /** The header; it also labels the cell when the table stacks on a phone. */
  readonly header: string;
  readonly cell: (row: T) => ComponentChildren;
  /** The header is for assistive technology only (a column of buttons). */
  readonly hideHeader?: boolean;
  /**
   * Classes on the column's cells: `nowrap` (times, addresses), `wrap` (long tokens break
   * anywhere), `num` (numbers, aligned right), `actions` (buttons, aligned to the end).
   */
  readonly class?: string;
}

/** What a row may carry: a class and data attributes (test ids, states). */
export type RowAttributes = { readonly class?: string | undefined } & { readonly [key: `data-${string}`]: string | number | undefined };

export function Table<T>(props: {
  /** Names the table (and its scrolling region) for assistive technology. */
  readonly label: string;
  /** A visible caption; `label` names the table when there is none. */
  readonly caption?: ComponentChildren;
  readonly columns: readonly Column<T>[];
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string;
  readonly rowAttributes?: (row: T) => RowAttributes;
  /** `stack` (default): cards on a phone; `scroll`: always a table, scrolling inside itself. */
  readonly layout?: 'stack' | 'scroll';
  /** Shown instead of the table when there are no rows. */
  readonly empty?: ComponentChildren;
  readonly testId?: string;
  /** A class on the table element (`compact`, …). */
  readonly class?: string;
}) {
  const { columns, rows } = props;
  if (rows.length === 0 && props.empty !== undefined) return <>{props.empty}</>;
  const layout = props.layout ?? 'stack';
  return (
    <div class={`table-wrap table-${layout}`} role="region" aria-label={props.label} tabIndex={0}>
      <table class={['table', `table-${layout}`, props.class].filter(Boolean).join(' ')} data-testid={props.testId} aria-label={props.caption ? undefined : props.label}>
        {props.caption && <caption>{props.caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.id} scope="col" class={c.class}>
                {c.hideHeader ? <span class="visually-hidden">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={props.rowKey(row)} {...(props.rowAttributes?.(row) ?? {})}>
              {columns.map((c) => (
                <td key={c.id} class={c.class} data-label={c.hideHeader ? undefined : c.header}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The records grid's filters: the active ones (each removable), and a form that offers exactly
 * what the API can filter — a top-level field of the records seen, equal to a text, a number,
 * true/false or null — and says what cannot be filtered, and why.
 */
import { useId, useState } from 'preact/hooks';
import { type FilterValue } from '../api';
import { ErrorMessage, SelectField } from './ui';
import {
  describeFilter,
  filterableKinds,
  filterValue,
  likelyKind,
  MAX_FILTERS,
  withFilter,
  type Fields,
  type RecordFilter,
  type ScalarKind,
  type ValueKind,
} from './records-data';

const KIND_LABELS: Record<ScalarKind, string> = { string: 'Text', number: 'Number', boolean: 'true / false', null: 'null' };
const KIND_WORDS: Record<ValueKind, string> = { string: 'text', number: 'number', boolean: 'true/false', null: 'null', object: 'object', array: 'list' };
const KINDS: readonly ScalarKind[] = ['string', 'number', 'boolean', 'null'];

/** The active filters, each with a button that removes it. */
export function ActiveFilters(props: { filters: readonly RecordFilter[]; onChange: (filters: RecordFilter[]) => void }) {
  const { filters } = props;
  if (filters.length === 0) return null;
  return (
    <div class="active-filters" data-testid="active-filters">
      <span class="muted">Showing records where</span>
      <ul class="filter-chips" aria-label="Active filters">
        {filters.map((f) => (
          <li key={f.field} class="filter-chip" data-testid="active-filter">
            <code>{describeFilter(f)}</code>
            <button
              type="button"
              class="icon-button"
              aria-label={`Remove the filter ${describeFilter(f)}`}
              onClick={() => props.onChange(filters.filter((other) => other.field !== f.field))}
            >
              <span aria-hidden="true">×</span>
            </button>
          </li>
        ))}
      </ul>
      <button type="button" class="link-button" onClick={() => props.onChange([])}>
        Clear filters
      </button>
    </div>
  );
}

/** The form that adds a filter, and what cannot be filtered. */
export function FilterForm(props: { fields: Fields; filters: readonly RecordFilter[]; onChange: (filters: RecordFilter[]) => void }) {
  const { fields, filters } = props;
  const filterable = [...fields.values()].filter((f) => filterableKinds(f).length > 0);
  const notFilterable = [...fields.values()].filter((f) => filterableKinds(f).length === 0);
  const [field, setField] = useState('');
  const [kind, setKind] = useState<ScalarKind>('string');
  const [raw, setRaw] = useState('');
  const [bool, setBool] = useState<'true' | 'false'>('true');
  const [error, setError] = useState<string | null>(null);
  const formId = useId();

  const chosen = filterable.some((f) => f.name === field) ? field : '';
  const full = filters.length >= MAX_FILTERS && !filters.some((f) => f.field === chosen);

  const choose = (name: string) => {
    setField(name);
    setKind(likelyKind(fields.get(name)));
    setError(null);
  };

  const add = () => {
    if (!chosen) {
      setError('Choose a field to filter on.');
      return;
    }
    const typed = filterValue(kind, kind === 'boolean' ? bool : raw);
    if (!typed.ok) {
      setError(typed.error);
      return;
    }
    setError(null);
    setRaw('');
    props.onChange(withFilter(filters, { field: chosen, value: typed.value satisfies FilterValue }));
  };

  return (
    <div class="filter-form-wrap">
      {filterable.length === 0 ? (
        <p class="hint" data-testid="no-filterable-fields">
          Nothing to filter on yet: filters match the top-level text, number, true/false and null values of the records loaded here.
        </p>
      ) : (
        <form
          class="filter-form"
          aria-label="Add a filter"
          onSubmit={(event) => {
            event.preventDefault();
            add();
          }}
        >
          <SelectField
            label="Field"
            name="filter-field"
            value={chosen}
            options={[{ value: '', label: 'Choose a field', disabled: true }, ...filterable.map((f) => ({ value: f.name, label: f.name }))]}
            onChange={choose}
            testId="filter-field"
          />
          <SelectField
            label="equals a"
            name="filter-kind"
            value={kind}
            options={KINDS.map((k) => ({ value: k, label: KIND_LABELS[k] }))}
            onChange={(k) => {
              setKind(k);
              setError(null);
            }}
            testId="filter-kind"
          />
          {(kind === 'string' || kind === 'number') && (
            <div class="field">
              <label for={`${formId}-value`}>Value</label>
              <input
                id={`${formId}-value`}
                type="text"
                name="filter-value"
                inputMode={kind === 'number' ? 'decimal' : undefined}
                autocomplete="off"
                spellcheck={false}
                value={raw}
                data-testid="filter-value"
                onInput={(e) => setRaw(e.currentTarget.value)}
              />
            </div>
          )}
          {kind === 'boolean' && (
            <SelectField
              label="Value"
              name="filter-bool"
              value={bool}
              options={[
                { value: 'true', label: 'true' },
                { value: 'false', label: 'false' },
              ]}
              onChange={setBool}
            />
          )}
          <button type="submit" disabled={full}>
            Add filter
          </button>
        </form>
      )}
      <ErrorMessage error={full ? `At most ${MAX_FILTERS} filters at once: remove one first.` : error} testId="filter-error" />
      <p class="hint" data-testid="filter-explained">
        A filter keeps the records whose top-level field equals the value exactly; several filters must all hold. Record contents are
        encrypted, and the server matches keyed fingerprints of those values rather than reading them, so there is no search in text,
        no ranges, and no filters on nested values, lists, objects, the id or the times.
        {notFilterable.length > 0 && (
          <>
            {' '}
            Not filterable here: {notFilterable.map((f) => `${f.name} (${[...f.kinds.keys()].map((k) => KIND_WORDS[k]).join(', ')})`).join('; ')}.
          </>
        )}
      </p>
    </div>
  );
}

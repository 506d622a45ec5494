/**
 * The collections of a workspace (the console's collections page shows this panel beside the
 * records), and for those who may, a form to create one that shows the server's naming rule
 * beside the field before anything is typed and checks a name against that same rule before
 * sending it (the rule comes with the list: `nameRule`).
 */
import { useEffect, useId, useState } from 'preact/hooks';
import { api, errorMessage, type Collection, type CollectionNameRule } from '../api';
import { useAction } from '../hooks';
import { Link, navigate } from '../router';
import { ErrorMessage, Panel } from './ui';

import './records-grid.css';

export function collectionPath(workspaceId: string, name: string): string {
  return `/w/${encodeURIComponent(workspaceId)}/c/${encodeURIComponent(name)}`;
}

/** The rule as a sentence: "A collection name is …, starting with a letter." */
export function ruleSentence(rule: CollectionNameRule): string {
  const words = rule.description.trim().replace(/\.$/, '');
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}.`;
}

/** A check of names by the server's rule, its pattern read as the server reads it; null if this browser cannot. */
export function nameChecker(rule: CollectionNameRule): ((name: string) => boolean) | null {
  try {
    const pattern = new RegExp(rule.pattern);
    return (name) => pattern.test(name);
  } catch {
    return null;
  }
}

/** Why a name cannot be used, in the rule's words; null when it may. */
export function nameProblem(rule: CollectionNameRule, name: string): string | null {
  const check = nameChecker(rule);
  if (!check || check(name)) return null;
  return name === '' ? `Give the collection a name. ${ruleSentence(rule)}` : `“${name}” cannot be used. ${ruleSentence(rule)}`;
}

/** The form that creates a collection, with the naming rule as the field's hint. */
export function NewCollectionForm(props: { workspaceId: string; rule: CollectionNameRule | null; ruleError?: string | null; onCreated: (collection: Collection) => void }) {
  const { rule } = props;
  const [name, setName] = useState('');
  // The name is checked as it is typed once the field was left or the form sent, not at the first key.
  const [touched, setTouched] = useState(false);
  const { busy, error, setError, run } = useAction();
  const id = useId();
  const problem = rule && touched ? nameProblem(rule, name) : null;

  const create = async () => {
    setTouched(true);
    const wanted = name;
    const refused = rule ? nameProblem(rule, wanted) : null;
    if (refused) {
      setError(null);
      return;
    }
    await run(async () => {
      const created = await api.createCollection(props.workspaceId, wanted);
      setName('');
      setTouched(false);
      props.onCreated(created);
    });
  };

  return (
    <form
      class="collection-form"
      aria-label="New collection"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void create();
      }}
    >
      <div class="field">
        <label for={id}>New collection name</label>
        <input
          id={id}
          type="text"
          name="collection"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          placeholder="tickets"
          value={name}
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={`${id}-rule${problem ? ` ${id}-problem` : ''}`}
          data-testid="collection-name"
          onInput={(e) => setName(e.currentTarget.value)}
          onBlur={() => name !== '' && setTouched(true)}
        />
        <p class="hint" id={`${id}-rule`} data-testid="collection-name-rule">
          {rule ? ruleSentence(rule) : props.ruleError ? 'The naming rule could not be loaded; the server will still check the name.' : 'Loading the naming rule…'}
        </p>
        {problem && (
          <p class="error field-error" id={`${id}-problem`} role="alert" data-testid="collection-name-error">
            {problem}
          </p>
        )}
      </div>
      <button type="submit" disabled={busy}>
        Create collection
      </button>
      <ErrorMessage error={error} testId="create-collection-error" />
    </form>
  );
}

/** The naming rule, which comes with the list of collections. */
function useNameRule(workspaceId: string, enabled: boolean) {
  const [rule, setRule] = useState<CollectionNameRule | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    api
      .collections(workspaceId)
      .then((answer) => {
        if (!live) return;
        setRule(answer.nameRule);
        setError(null);
      })
      .catch((err: unknown) => {
        if (live) setError(errorMessage(err));
      });
    return () => {
      live = false;
    };
  }, [workspaceId, enabled]);
  return { rule, error };
}

/** The collections as a panel (a list of links) beside the records of the one selected. */
export function CollectionsPanel(props: {
  workspaceId: string;
  collections: Collection[] | null;
  loadError: string | null;
  selected: string | null;
  /** Whether the caller may create collections (`records:write`). */
  canCreate: boolean;
  onCreated: (collection: Collection) => void;
}) {
  const { workspaceId, collections, selected } = props;
  // The list comes from the caller; the naming rule comes with the list from the server.
  const { rule, error } = useNameRule(workspaceId, props.canCreate);

  return (
    <Panel title="Collections" titleId="collections-title" testId="collections-panel">
      <ErrorMessage error={props.loadError} />
      {collections === null && !props.loadError && <p role="status">Loading…</p>}
      {collections !== null && collections.length === 0 && (
        <p class="empty" data-testid="collections-empty">
          No collections yet.
        </p>
      )}
      {collections !== null && collections.length > 0 && (
        <ul class="nav-list" data-testid="collections">
          {collections.map((c) => (
            <li key={c.id}>
              <Link
                href={collectionPath(workspaceId, c.name)}
                data-testid="collection-link"
                aria-current={c.name === selected ? 'page' : undefined}
                class={c.name === selected ? 'current' : undefined}
              >
                {c.name}
              </Link>
            </li>
          ))}
        </ul>
      )}
      {props.canCreate && (
        <NewCollectionForm
          workspaceId={workspaceId}
          rule={rule}
          ruleError={error}
          onCreated={(created) => {
            props.onCreated(created);
            navigate(collectionPath(workspaceId, created.name));
          }}
        />
      )}
    </Panel>
  );
}

import { useEffect, useRef, useState } from 'react';
import { Api, ApiError, explain, newIdempotencyKey } from '../api';
import { hrefFor } from '../router';
import type { EngineInfo, EngineName, Store } from '../types';
import { Link } from './Link';

export interface CreateStoreProps {
  api: Api;
  onCreated: (s: Store) => void;
}

/**
 * The create form. The API validates the name: its message is shown next to
 * the field; limits and rate limits (429) are explained above the form.
 */
export function CreateStore({ api, onCreated }: CreateStoreProps) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [engines, setEngines] = useState<EngineInfo[]>([]);
  const [engine, setEngine] = useState<EngineName>('woocommerce');
  // One key per intended store: a resubmission after a network failure does
  // not create a second store.
  const key = useRef<{ name: string; key: string } | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const formErrorRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    document.title = 'New store · Store Weaver';
  }, []);
  useEffect(() => {
    let live = true;
    // Without the list the form still creates the default engine's store.
    api.engines().then(
      (list) => {
        if (live) setEngines(list);
      },
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api]);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setFieldError(null);
    setFormError(null);
    const trimmed = name.trim();
    const intent = `${engine}/${trimmed}`;
    if (!key.current || key.current.name !== intent) key.current = { name: intent, key: newIdempotencyKey() };
    setBusy(true);
    try {
      const store = await api.createStore(trimmed, key.current.key, engine);
      key.current = null;
      onCreated(store);
    } catch (err) {
      const definitive = err instanceof ApiError && err.status >= 400 && err.status < 500;
      if (definitive) key.current = null;
      if (err instanceof ApiError && err.field === 'name') {
        setFieldError(err.message);
        input.current?.focus();
      } else {
        setFormError(explain(err));
        setTimeout(() => formErrorRef.current?.focus(), 0);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1} id="page-title">
          New store
        </h1>
      </div>
      <form className="card create" onSubmit={submit} noValidate aria-labelledby="page-title">
        {formError ? (
          <div className="error" role="alert" tabIndex={-1} ref={formErrorRef}>
            {formError}
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="store-name">Store name</label>
          <input
            ref={input}
            id="store-name"
            name="name"
            type="text"
            autoComplete="off"
            maxLength={200}
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={fieldError ? 'store-name-error store-name-hint' : 'store-name-hint'}
            autoFocus
          />
          {fieldError ? (
            <p id="store-name-error" className="field-error" role="alert">
              {fieldError}
            </p>
          ) : null}
          <p id="store-name-hint" className="hint">
            Up to 60 characters, with some letters or digits: the store&apos;s address is made from them (for example
            “Acme Shoes” becomes <code>acme-shoes</code>).
          </p>
        </div>
        {engines.length > 1 ? (
          <fieldset className="field engines">
            <legend>Engine</legend>
            {engines.map((e) => (
              <label key={e.name} className="choice">
                <input
                  type="radio"
                  name="engine"
                  value={e.name}
                  checked={engine === e.name}
                  onChange={() => setEngine(e.name)}
                />{' '}
                <strong>{e.title}</strong> <span className="hint">{e.summary}</span>
              </label>
            ))}
          </fieldset>
        ) : (
          <p className="hint">
            Engine: <strong>{engines[0]?.title ?? 'WooCommerce'}</strong>
            {engines[0] ? ` (${engines[0].summary})` : ''}.
          </p>
        )}
        <div className="actions">
          <Link href={hrefFor({ name: 'list' })} className="button">
            Cancel
          </Link>
          <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
            {busy ? 'Creating…' : 'Create store'}
          </button>
        </div>
      </form>
    </>
  );
}

import { useId, useRef, useState } from 'react';
import { Api, ApiError, explain } from '../api';
import { formatTime } from '../format';
import { hrefFor } from '../router';
import type { Backup, Store } from '../types';
import { Link } from './Link';

export interface CloneStoreProps {
  api: Api;
  store: Store;
  /** The store's complete backups, newest first (a clone is made from one). */
  backups: readonly Backup[];
  /** The clone as the server answered (Provisioning). */
  onCloned?: (clone: Store) => void;
}

/**
 * "Clone…": a new store of the caller's made from one of this store's
 * complete backups (`POST /api/stores/{id}/clone`). The API's refusals go
 * next to the field they are about: an invalid or taken name next to the
 * name, a backup that cannot make a clone next to the backup; anything else
 * (limits, rates) above the form.
 */
export function CloneStore({ api, store, backups, onCloned }: CloneStoreProps) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [backup, setBackup] = useState('');
  const [busy, setBusy] = useState(false);
  const [nameError, setNameError] = useState<string | null>(null);
  const [backupError, setBackupError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [made, setMade] = useState<Store | null>(null);
  const nameInput = useRef<HTMLInputElement>(null);
  const ids = useId();
  const nameId = `${ids}-clone-name`;
  const backupId = `${ids}-clone-backup`;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setNameError(null);
    setBackupError(null);
    setFormError(null);
    const trimmed = name.trim();
    if (!trimmed) {
      setNameError('Give the clone a name: its address is made from it.');
      nameInput.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const clone = await api.cloneStore(store.id, trimmed, backup || undefined);
      setMade(clone);
      setOpen(false);
      setName('');
      setBackup('');
      onCloned?.(clone);
    } catch (err) {
      if (err instanceof ApiError && (err.field === 'name' || err.code === 'name_taken')) {
        setNameError(err.message);
        nameInput.current?.focus();
      } else if (err instanceof ApiError && err.field === 'backup') {
        setBackupError(err.message);
      } else {
        setFormError(`Cannot clone “${store.name}”: ${explain(err)}`);
      }
    } finally {
      setBusy(false);
    }
  };

  const describedBy = (id: string, error: string | null) => (error ? `${id}-error ${id}-hint` : `${id}-hint`);
  return (
    <div className="clone">
      {!open ? (
        <div className="toolbar">
          <button
            type="button"
            onClick={() => {
              setMade(null);
              setOpen(true);
            }}
          >
            Clone…
          </button>
        </div>
      ) : (
        <form className="clone-form" onSubmit={submit} noValidate aria-label={`Clone “${store.name}”`}>
          {formError ? (
            <p className="error" role="alert">
              {formError}
            </p>
          ) : null}
          <div className="field">
            <label htmlFor={nameId}>Name of the clone</label>
            <input
              ref={nameInput}
              id={nameId}
              type="text"
              autoComplete="off"
              maxLength={200}
              value={name}
              onChange={(e) => setName(e.target.value)}
              aria-invalid={nameError ? true : undefined}
              aria-describedby={describedBy(nameId, nameError)}
              autoFocus
            />
            {nameError ? (
              <p id={`${nameId}-error`} className="field-error" role="alert">
                {nameError}
              </p>
            ) : null}
            <p id={`${nameId}-hint`} className="hint">
              A new store of yours with its own address and credentials, holding this store&apos;s data (e.g. a staging
              copy to try an upgrade on). This store is only read.
            </p>
          </div>
          <div className="field">
            <label htmlFor={backupId}>From backup</label>
            <select
              id={backupId}
              value={backup}
              onChange={(e) => setBackup(e.target.value)}
              aria-invalid={backupError ? true : undefined}
              aria-describedby={describedBy(backupId, backupError)}
            >
              <option value="">the newest complete backup</option>
              {backups.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.id.slice(0, 8)} of {formatTime(b.finished_at ?? b.started_at)}
                </option>
              ))}
            </select>
            {backupError ? (
              <p id={`${backupId}-error`} className="field-error" role="alert">
                {backupError}
              </p>
            ) : null}
            <p id={`${backupId}-hint`} className="hint">
              Its database and files are written into the clone; its addresses are rewritten to the clone&apos;s.
            </p>
          </div>
          <div className="actions">
            <button type="button" onClick={() => setOpen(false)} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
              {busy ? 'Cloning…' : 'Create clone'}
            </button>
          </div>
        </form>
      )}
      {made ? (
        <p className="notice" role="status">
          Clone <Link href={hrefFor({ name: 'store', id: made.id })}>{made.name}</Link> created from “{store.name}”: it is
          being provisioned and its data written in.
        </p>
      ) : null}
    </div>
  );
}

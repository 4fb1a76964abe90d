// Changing a store's backup interval (issue 30): the fleet's default, none,
// or N hours. The server checks the value; its 422 is shown next to the
// field and nothing else changes.

import { useState } from 'react';
import { Api, ApiError, explain } from '../api';
import type { BackupSchedule, Store } from '../types';

/** The intervals offered without typing, in hours. */
export const SCHEDULE_PRESETS = [6, 12, 24] as const;

/** What the select holds: a preset's hours, or one of these. */
type Choice = 'default' | 'none' | 'custom' | `${number}`;

function choiceOf(own: number | null): Choice {
  if (own === null) return 'default';
  if (own === 0) return 'none';
  return (SCHEDULE_PRESETS as readonly number[]).includes(own) ? `${own}` : 'custom';
}

/** The body's `every_hours` for a choice, or a message when the hours typed are no number. */
export function everyHoursOf(choice: Choice, hours: string): { every: number | null } | { problem: string } {
  if (choice === 'default') return { every: null };
  if (choice === 'none') return { every: 0 };
  if (choice !== 'custom') return { every: Number(choice) };
  const n = Number(hours.trim());
  // A number input holds '' for what is not a number; the server checks the range.
  if (hours.trim() === '' || !Number.isFinite(n)) {
    return { problem: 'Give the hours between backups: a whole number from 1 to 8760.' };
  }
  return { every: n };
}

export interface ScheduleEditorProps {
  api: Api;
  store: Store;
  /** The schedule as the server last said it (its `own_hours` is the form's start). */
  schedule: BackupSchedule;
  /** Saved: the schedule as the server answered it. */
  onSaved: (s: BackupSchedule) => void;
}

/** A select (the fleet's default, none, presets, other) and, for other, a number of hours. */
export function ScheduleEditor({ api, store, schedule, onSaved }: ScheduleEditorProps) {
  const [choice, setChoice] = useState<Choice>(() => choiceOf(schedule.own_hours));
  const [hours, setHours] = useState(() => (choiceOf(schedule.own_hours) === 'custom' ? String(schedule.own_hours) : ''));
  const [busy, setBusy] = useState(false);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setFieldError(null);
    setError(null);
    const out = everyHoursOf(choice, hours);
    if ('problem' in out) {
      setFieldError(out.problem);
      return;
    }
    setBusy(true);
    try {
      onSaved(await api.setBackupSchedule(store.id, out.every));
    } catch (err) {
      // The server's refusal of the value belongs to the field; anything else to the form.
      if (err instanceof ApiError && err.status === 422) setFieldError(err.message);
      else setError(`Cannot change the backup schedule of “${store.name}”: ${explain(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const custom = choice === 'custom';
  // The error goes with the control that holds the value sent.
  const selectBad = fieldError !== null && !custom;
  const hoursBad = fieldError !== null && custom;
  return (
    <form className="schedule-form" aria-label="Change the backup schedule" onSubmit={(e) => void submit(e)} noValidate>
      <div className="field">
        <label htmlFor="schedule-choice">Backup interval</label>
        <select
          id="schedule-choice"
          value={choice}
          onChange={(e) => setChoice(e.target.value as Choice)}
          aria-invalid={selectBad || undefined}
          aria-describedby={selectBad ? 'schedule-error schedule-hint' : 'schedule-hint'}
        >
          <option value="default">the fleet’s default</option>
          <option value="none">none (no scheduled backups)</option>
          {SCHEDULE_PRESETS.map((h) => (
            <option key={h} value={String(h)}>
              every {h} h
            </option>
          ))}
          <option value="custom">other: hours…</option>
        </select>
        {selectBad ? (
          <p className="field-error" id="schedule-error" role="alert">
            {fieldError}
          </p>
        ) : null}
      </div>
      {custom ? (
        <div className="field">
          <label htmlFor="schedule-hours">Hours between backups</label>
          <input
            id="schedule-hours"
            type="number"
            inputMode="numeric"
            min={1}
            max={8760}
            step={1}
            value={hours}
            onChange={(e) => setHours(e.target.value)}
            aria-invalid={hoursBad || undefined}
            aria-describedby={hoursBad ? 'schedule-hours-error' : undefined}
            autoComplete="off"
          />
          {hoursBad ? (
            <p className="field-error" id="schedule-hours-error" role="alert">
              {fieldError}
            </p>
          ) : null}
        </div>
      ) : null}
      <div className="actions">
        <button type="submit" disabled={busy} aria-busy={busy}>
          {busy ? 'Saving…' : 'Save schedule'}
        </button>
      </div>
      <p className="hint" id="schedule-hint">
        Each store has a fixed slot in its interval, so its scheduled backups do not all start at once. Back up now is not
        affected.
      </p>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

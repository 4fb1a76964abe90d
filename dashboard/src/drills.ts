// Restore drills for people (issue 30): the last good restore as an age,
// which drill counts for the store's standing, how long one took. Pure: the
// component and the tests give the time.

import { formatDuration, parseTime } from './format';
import type { Drill } from './types';

/**
 * "2 days ago", "1 hour ago", "just now", or "never": the same words as the
 * command line's `store drills` (src/text.rs `age_in_words`).
 */
export function lastGoodWords(at: string | null | undefined, now: number): string {
  const d = parseTime(at);
  if (!d) return 'never';
  const secs = Math.max(0, Math.floor((now - d.getTime()) / 1000));
  if (secs < 60) return 'just now';
  const [n, unit] =
    secs < 3600 ? [Math.floor(secs / 60), 'minute'] : secs < 172_800 ? [Math.floor(secs / 3600), 'hour'] : [Math.floor(secs / 86_400), 'day'];
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

/** A drill not yet done (queued, restoring, or removing its throwaway store). */
export function isOpen(d: Drill): boolean {
  // Compared as a string: the generated type names the store's phases, not the drill's.
  return (d.phase as string) !== 'done';
}

/** The drill whose result stands for the store: the newest with one (as `doctor` reads it). */
export function newestFinished(drills: readonly Drill[]): Drill | undefined {
  const when = (d: Drill) => parseTime(d.checked_at ?? d.finished_at ?? d.created_at)?.getTime() ?? 0;
  return drills.filter((d) => d.outcome !== null).reduce<Drill | undefined>((a, d) => (!a || when(d) > when(a) ? d : a), undefined);
}

/** How long the restore took: start to checked (or to now, "so far", while it runs). */
export function drillTook(d: Drill, now: number): string {
  const start = parseTime(d.started_at);
  if (!start) return '—';
  const end = parseTime(d.checked_at);
  if (end) return formatDuration(end.getTime() - start.getTime());
  return isOpen(d) ? `${formatDuration(now - start.getTime())} so far` : '—';
}

const PHASES: Record<string, string> = {
  queued: 'waiting for a drill slot',
  restoring: 'restoring into a throwaway store',
  removing: 'removing the throwaway store',
};

/** The result column: passed / failed, or the step it is at. */
export function drillResult(d: Drill): string {
  if (d.outcome === 'passed') return (d.phase as string) === 'done' ? 'passed' : 'passed (removing the throwaway store)';
  if (d.outcome === 'failed') return (d.phase as string) === 'done' ? 'failed' : 'failed (removing the throwaway store)';
  return PHASES[d.phase as string] ?? d.phase;
}

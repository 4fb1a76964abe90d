// Times and durations for people.

import type { Store, StoreSettings, StoreStatus } from './types';

export function parseTime(t: string | null | undefined): Date | null {
  if (!t) return null;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "2025-11-25 19:05" in the viewer's time zone. */
export function formatTime(t: string | null | undefined): string {
  const d = parseTime(t);
  if (!d) return '—';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return 'under 1 s';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** "just now", "5 min ago", "2 h ago", else the date. */
export function formatAgo(t: string | null | undefined, now: number = Date.now()): string {
  const d = parseTime(t);
  if (!d) return '—';
  const diff = now - d.getTime();
  if (diff < 45_000) return 'just now';
  if (diff < 3_600_000) return `${Math.round(diff / 60_000)} min ago`;
  if (diff < 86_400_000) return `${Math.round(diff / 3_600_000)} h ago`;
  return formatTime(t);
}

/** How long provisioning took (Ready), or has been going on (Provisioning). */
export function provisionTime(s: Store, now: number = Date.now()): { text: string; running: boolean } | null {
  const start = parseTime(s.provision_started_at);
  if (!start) return null;
  const end = parseTime(s.ready_at);
  if (end && s.status !== 'Provisioning') {
    return { text: formatDuration(end.getTime() - start.getTime()), running: false };
  }
  if (s.status === 'Provisioning') {
    return { text: formatDuration(now - start.getTime()), running: true };
  }
  return null;
}

export function isBusy(status: StoreStatus): boolean {
  return status === 'Provisioning' || status === 'Deleting';
}

const PHASES: Record<string, string> = {
  queued: 'queued',
  namespace: 'creating namespace',
  secrets: 'creating secrets',
  installing: 'installing',
  'waiting-for-ready': 'waiting for pods',
  'cleaning-up': 'cleaning up',
  uninstalling: 'uninstalling',
  'removing-namespace': 'removing namespace',
  upgrading: 'upgrading',
  'rolling-back': 'rolling back',
  'backing-up': 'backing up',
  restoring: 'restoring',
  done: 'done',
};

/** A change (or a backup) under way on a store that stays Ready (and keeps serving) meanwhile. */
export function isChanging(phase: string): boolean {
  return phase === 'upgrading' || phase === 'rolling-back' || phase === 'backing-up';
}

export function phaseLabel(phase: string): string {
  return PHASES[phase] ?? phase;
}

/** "store.create" -> "create", "store.credentials.reveal" -> "credentials reveal". */
export function actionLabel(action: string): string {
  return action.replace(/^store\./, '').replace(/[._]/g, ' ');
}

/** "replicas=0 wordpress.image=6.8" (in name order, as the server keeps
 * them), or "chart defaults" when nothing is set. */
export function settingsText(s: StoreSettings | null | undefined): string {
  if (!s) return 'chart defaults';
  const parts = Object.keys(s)
    .sort()
    .map((k) => `${k}=${s[k]}`);
  return parts.length ? parts.join(' ') : 'chart defaults';
}

/** The setting a 422 message is about ("wordpress.cpu: ..."), if it is one of `keys`. */
export function settingOfMessage(message: string, keys: readonly string[]): string | null {
  const m = /^([a-z]+\.[a-z]+|replicas): /.exec(message);
  return m && keys.includes(m[1]) ? m[1] : null;
}

/** "812 B", "4.1 KB", "23.5 MB", "1.2 GB" (powers of 1000, as disks are sold). */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '—';
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A store is marked when it is Ready and has no good backup newer than this. */
export const BACKUP_FRESH_MS = 24 * 3_600_000;

/** Whether a Ready store lacks a good backup in the last 24 h (`newest`: when its newest good backup finished). */
export function needsBackup(s: Store, newest: string | undefined, now: number = Date.now()): boolean {
  if (s.status !== 'Ready') return false;
  const at = parseTime(newest);
  return !at || now - at.getTime() > BACKUP_FRESH_MS;
}

// Backups in the dashboard (issue 30): a store's backups with "Back up now"
// and "Restore", the delete confirmation that says what is kept, Recently
// deleted with "Undelete", and the list's "no good backup in 24 h" mark,
// against a scripted API.

import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { App } from './App';
import { DeleteConfirm } from './components/DeleteConfirm';
import { RecentlyDeleted } from './components/RecentlyDeleted';
import { StoreBackups } from './components/StoreBackups';
import { StoreList, type StoreActions } from './components/StoreList';
import { formatBytes, needsBackup } from './format';
import { FakeEventSource, scriptedFetch, store } from './test-utils';
import type { Backup, BackupSchedule, BackupSummary, DeletedStore, Me } from './types';

const ann: Me = { user: 'ann@example.com', role: 'user', auth_mode: 'password', method: 'cookie' };
const noActions = (): StoreActions => ({ retry: vi.fn(), askDelete: vi.fn(), pending: new Set() });

afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

const s = store();

function backup(over: Partial<Backup> = {}): Backup {
  return {
    id: 'b1a2c3d4-0000-4000-8000-000000000001',
    reason: 'manual',
    state: 'complete',
    bytes: 4_216_000,
    requested_by: 'ann@example.com',
    started_at: '2026-11-25T11:00:00Z',
    finished_at: '2026-11-25T11:00:42Z',
    expires_at: null,
    error: null,
    parts: [{ name: 'database', bytes: 4_200_000, plain_bytes: 9_000_000 }],
    counts: { orders: 3 },
    ...over,
  };
}

const failed = backup({
  id: 'f0f0f0f0-0000-4000-8000-000000000002',
  state: 'failed',
  bytes: 0,
  started_at: '2026-11-25T12:00:00Z',
  finished_at: '2026-11-25T12:00:05Z',
  error: 'the bucket went away mid-way',
  parts: [],
  counts: {},
});

const summary = (over: Partial<BackupSummary> = {}): BackupSummary => ({
  configured: true,
  keep_deleted_days: 7,
  newest_good: [],
  ...over,
});

describe('format', () => {
  it('writes sizes for people', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(4_216)).toBe('4.2 KB');
    expect(formatBytes(23_500_000)).toBe('24 MB');
    expect(formatBytes(1_200_000_000)).toBe('1.2 GB');
    expect(formatBytes(null)).toBe('—');
  });

  it('marks a Ready store without a good backup in 24 h, and only a Ready one', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(needsBackup(s, undefined, now)).toBe(true);
    expect(needsBackup(s, '2026-11-25T11:00:00Z', now)).toBe(true);
    expect(needsBackup(s, '2026-11-25T13:00:00Z', now)).toBe(false);
    expect(needsBackup(store({ status: 'Provisioning' }), undefined, now)).toBe(false);
  });
});

describe('a store’s backups', () => {
  function renderBackups(fetch: typeof globalThis.fetch, over: { configured?: boolean | null; onChanged?: () => void } = {}) {
    render(
      <StoreBackups
        api={new Api({ fetch, storage: null })}
        store={s}
        configured={over.configured ?? true}
        onChanged={over.onChanged ?? vi.fn()}
      />,
    );
  }

  it('lists each backup: time, reason, state, size, duration, expiry or error', async () => {
    const { fetch } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: {
        body: { backups: [failed, backup({ reason: 'final', expires_at: '2026-12-02T11:00:42Z' }), backup({ id: 'c0ffee00-0000-4000-8000-000000000003' })] },
      },
    });
    renderBackups(fetch);
    const region = await screen.findByRole('region', { name: 'Backups' });
    const rows = await within(region).findAllByRole('row');
    expect(rows).toHaveLength(4);
    const bad = rows[1];
    expect(within(bad).getByText('failed')).toBeTruthy();
    expect(within(bad).getByText('the bucket went away mid-way')).toBeTruthy();
    expect(within(bad).queryByRole('button')).toBeNull();
    const kept = rows[2];
    expect(within(kept).getByText('final')).toBeTruthy();
    expect(within(kept).getByText('4.2 MB')).toBeTruthy();
    expect(within(kept).getByText('42 s')).toBeTruthy();
    expect(within(kept).getByText(/^kept until 2026-12-0\d/)).toBeTruthy();
    expect(within(kept).getByText('b1a2c3d4')).toBeTruthy();
    expect(within(rows[3]).getByRole('button', { name: /Restore backup c0ffee00/ })).toBeTruthy();
  });

  it('shows the schedule: the interval that applies, the next scheduled backup, the newest good one', async () => {
    const { fetch } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [backup()] } },
      [`GET /api/stores/${s.id}/backup-schedule`]: {
        body: { own_hours: null, every_hours: 24, described: 'every 24 h (the fleet’s default)', next_at: '2026-11-26T03:12:00Z', newest_good_at: '2026-11-25T11:00:42Z' },
      },
    });
    renderBackups(fetch);
    const facts = await screen.findByTestId('backup-schedule');
    expect(facts.textContent).toMatch(/every 24 h \(the fleet’s default\)/);
    expect(facts.textContent).toMatch(/Next scheduled\d{4}-\d\d-\d\d \d\d:\d\d/);
    cleanup();
    // Without an answer (an older server), the list still stands.
    const { fetch: f2 } = scriptedFetch({ [`GET /api/stores/${s.id}/backups`]: { body: { backups: [backup()] } } });
    renderBackups(f2);
    await screen.findAllByRole('row');
    expect(screen.queryByTestId('backup-schedule')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  describe('changing the schedule', () => {
    /** What the server answers for a store whose own interval is `own` (the fleet's: 24 h). */
    const view = (own: number | null): BackupSchedule => ({
      own_hours: own,
      every_hours: own === null ? 24 : own === 0 ? null : own,
      described: own === null ? 'every 24 h (the fleet’s default)' : own === 0 ? 'none (set for this store)' : `every ${own} h (set for this store)`,
      next_at: own === 0 ? null : '2026-11-26T03:12:00Z',
      newest_good_at: null,
    });
    const scheduleFetch = (own: number | null, put: Parameters<typeof scriptedFetch>[0][string]) =>
      scriptedFetch({
        [`GET /api/stores/${s.id}/backups`]: { body: { backups: [] } },
        [`GET /api/stores/${s.id}/backup-schedule`]: { body: view(own) },
        [`PUT /api/stores/${s.id}/backup-schedule`]: put,
      });
    const choice = () => screen.getByLabelText('Backup interval') as HTMLSelectElement;
    const save = () => fireEvent.click(screen.getByRole('button', { name: 'Save schedule' }));

    it('sends the interval chosen, and then shows what the server answered', async () => {
      const { fetch, calls } = scheduleFetch(null, (c) => ({ body: view((c.body as { every_hours: number | null }).every_hours) }));
      renderBackups(fetch);
      await screen.findByTestId('backup-schedule');
      expect(choice().value).toBe('default');
      const puts = () => calls.filter((c) => c.method === 'PUT');
      // Each choice in turn; after each save the form starts again from the answer.
      const steps: [string, string | null, number | null, RegExp][] = [
        ['6', null, 6, /every 6 h \(set for this store\)/],
        ['12', null, 12, /every 12 h/],
        ['24', null, 24, /every 24 h \(set for this store\)/],
        ['none', null, 0, /none \(set for this store\)/],
        ['custom', '36', 36, /every 36 h/],
        ['default', null, null, /every 24 h \(the fleet’s default\)/],
      ];
      for (const [value, typed, sent, shown] of steps) {
        const before = puts().length;
        fireEvent.change(choice(), { target: { value } });
        if (typed !== null) fireEvent.change(screen.getByLabelText('Hours between backups'), { target: { value: typed } });
        save();
        await waitFor(() => expect(puts()).toHaveLength(before + 1));
        expect(puts()[before].path).toBe(`/api/stores/${s.id}/backup-schedule`);
        expect(puts()[before].body).toEqual({ every_hours: sent });
        await waitFor(() => expect(screen.getByTestId('backup-schedule').textContent).toMatch(shown));
        expect(screen.getByRole('status').textContent).toMatch(/Backup schedule of “Acme Shoes” saved/);
        expect(choice().value).toBe(value);
      }
    });

    it('starts from the store’s own interval: other hours are shown in the number field', async () => {
      const { fetch } = scheduleFetch(36, { body: view(36) });
      renderBackups(fetch);
      await screen.findByTestId('backup-schedule');
      expect(choice().value).toBe('custom');
      expect((screen.getByLabelText('Hours between backups') as HTMLInputElement).value).toBe('36');
      cleanup();
      const { fetch: f2 } = scheduleFetch(0, { body: view(0) });
      renderBackups(f2);
      await screen.findByTestId('backup-schedule');
      expect(choice().value).toBe('none');
      expect(screen.queryByLabelText('Hours between backups')).toBeNull();
    });

    it('shows a 422’s message next to the field, and nothing else changes', async () => {
      const message = "9000 is not an interval: give 1 to 8760 hours, 0 for none, or null for the fleet's";
      const { fetch, calls } = scheduleFetch(null, { status: 422, body: { error: message, code: 'invalid', field: 'every_hours' } });
      renderBackups(fetch);
      const facts = await screen.findByTestId('backup-schedule');
      const factsBefore = facts.textContent;
      fireEvent.change(choice(), { target: { value: 'custom' } });
      const hours = screen.getByLabelText('Hours between backups') as HTMLInputElement;
      fireEvent.change(hours, { target: { value: '9000' } });
      save();
      const err = await screen.findByText(message);
      expect(calls.filter((c) => c.method === 'PUT').map((c) => c.body)).toEqual([{ every_hours: 9000 }]);
      // Tied to the hours field, announced, and nothing else moved.
      expect(err.getAttribute('role')).toBe('alert');
      expect(hours.getAttribute('aria-invalid')).toBe('true');
      expect(hours.getAttribute('aria-describedby')).toBe(err.id);
      expect(hours.value).toBe('9000');
      expect(choice().value).toBe('custom');
      expect(screen.getByTestId('backup-schedule').textContent).toBe(factsBefore);
      expect(screen.queryByRole('status')).toBeNull();
      expect(screen.getAllByRole('alert')).toHaveLength(1);
    });

    it('a 422 on a preset goes next to the select; other refusals say what failed', async () => {
      const { fetch } = scheduleFetch(null, [
        { status: 422, body: { error: 'every_hours: out of range', code: 'invalid', field: 'every_hours' } },
        { status: 404, body: { error: 'no store 00000000-0000-4000-8000-000000000001', code: 'not_found' } },
      ]);
      renderBackups(fetch);
      await screen.findByTestId('backup-schedule');
      fireEvent.change(choice(), { target: { value: '6' } });
      save();
      const err = await screen.findByText('every_hours: out of range');
      expect(choice().getAttribute('aria-invalid')).toBe('true');
      expect(choice().getAttribute('aria-describedby')).toContain(err.id);
      save();
      expect((await screen.findByText(/Cannot change the backup schedule of “Acme Shoes”: no store/)).getAttribute('role')).toBe('alert');
      expect(screen.queryByText('every_hours: out of range')).toBeNull();
      expect(choice().getAttribute('aria-invalid')).toBeNull();
    });

    it('asks for hours before sending when the number field is empty', async () => {
      const { fetch, calls } = scheduleFetch(null, { body: view(6) });
      renderBackups(fetch);
      await screen.findByTestId('backup-schedule');
      fireEvent.change(choice(), { target: { value: 'custom' } });
      save();
      expect((await screen.findByRole('alert')).textContent).toMatch(/whole number from 1 to 8760/);
      expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    });
  });

  it('backs the store up now', async () => {
    const onChanged = vi.fn();
    const { fetch, calls } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [] } },
      [`POST /api/stores/${s.id}/backups`]: { status: 202, body: store({ phase: 'queued' }) },
    });
    renderBackups(fetch, { onChanged });
    expect(await screen.findByText('No backups yet.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Back up now' }));
    expect(await screen.findByText(/Backup of “Acme Shoes” queued/)).toBeTruthy();
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([`/api/stores/${s.id}/backups`]);
    expect(onChanged).toHaveBeenCalledTimes(1);
  });

  it('shows the server’s refusal of a backup', async () => {
    const { fetch } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [] } },
      [`POST /api/stores/${s.id}/backups`]: { status: 409, body: { error: 'another operation runs on store "Acme Shoes"', code: 'busy' } },
    });
    renderBackups(fetch);
    fireEvent.click(await screen.findByRole('button', { name: 'Back up now' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Cannot back up “Acme Shoes”: another operation runs/);
  });

  it('restores a complete backup after a confirmation that names it and says the shop is paused', async () => {
    const onChanged = vi.fn();
    const b = backup();
    const { fetch, calls } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [b] } },
      [`POST /api/stores/${s.id}/restore`]: { status: 202, body: store({ status: 'Restoring', phase: 'queued' }) },
    });
    renderBackups(fetch, { onChanged });
    fireEvent.click(await screen.findByRole('button', { name: /Restore backup b1a2c3d4/ }));
    const dialog = screen.getByRole('alertdialog');
    expect(within(dialog).getByRole('heading').textContent).toBe('Restore “Acme Shoes” from backup b1a2c3d4?');
    expect(dialog.textContent).toMatch(/shop is paused during the restore/);
    expect(dialog.textContent).toMatch(/4\.2 MB/);
    // Cancel sends nothing.
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: /Restore backup b1a2c3d4/ }));
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Restore backup' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.path).toBe(`/api/stores/${s.id}/restore`);
    expect(post.body).toEqual({ backup: b.id });
    expect(onChanged).toHaveBeenCalledWith(expect.objectContaining({ status: 'Restoring' }));
    expect(screen.getByRole('status').textContent).toMatch(/Restoring “Acme Shoes” from backup b1a2c3d4/);
  });

  it('offers Undelete in a deleted store’s detail while its final backup is kept', async () => {
    const onChanged = vi.fn();
    const deleted = store({ status: 'Deleted', phase: 'done', can_delete: false, deleted_at: '2026-11-25T14:00:00Z' });
    const final = backup({ reason: 'final', expires_at: '2999-01-01T00:00:00Z' });
    const { fetch, calls } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [final] } },
      [`POST /api/stores/${s.id}/undelete`]: { status: 202, body: store({ status: 'Provisioning', phase: 'queued' }) },
    });
    render(<StoreBackups api={new Api({ fetch, storage: null })} store={deleted} configured={true} onChanged={onChanged} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Undelete…' }));
    expect(screen.queryByRole('button', { name: 'Back up now' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Restore/ })).toBeNull();
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Undelete store' }));
    await waitFor(() => expect(onChanged).toHaveBeenCalledWith(expect.objectContaining({ status: 'Provisioning' })));
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([`/api/stores/${s.id}/undelete`]);
    cleanup();
    // Expired: nothing to come back from.
    const { fetch: f2 } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [backup({ reason: 'final', expires_at: '2020-01-01T00:00:00Z' })] } },
    });
    render(<StoreBackups api={new Api({ fetch: f2, storage: null })} store={deleted} configured={true} onChanged={vi.fn()} />);
    await screen.findAllByRole('row');
    expect(screen.queryByRole('button', { name: 'Undelete…' })).toBeNull();
  });

  it('says when backups are not configured, and offers no backup or restore', async () => {
    const { fetch } = scriptedFetch({
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [backup()] } },
    });
    renderBackups(fetch, { configured: false });
    expect(await screen.findByText(/Backups are not configured on this server/)).toBeTruthy();
    await screen.findAllByRole('row');
    expect(screen.queryByRole('button', { name: 'Back up now' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Restore/ })).toBeNull();
  });
});

describe('the delete confirmation', () => {
  it('with backups: says a final backup is kept N days, and the opt-out deletes without one', () => {
    const onConfirm = vi.fn();
    render(<DeleteConfirm store={s} summary={summary()} onCancel={vi.fn()} onConfirm={onConfirm} />);
    const text = screen.getByTestId('delete-consequence').textContent!;
    expect(text).toMatch(/A final backup \(database, files, credentials\) is taken first and kept 7 days, until \d{4}-\d\d-\d\d/);
    expect(text).toMatch(/Undelete/);
    expect(text).not.toMatch(/cannot be undone/);
    const optOut = screen.getByLabelText(/Delete without a backup/);
    fireEvent.click(optOut);
    expect(screen.getByTestId('delete-consequence').textContent).toMatch(/No final backup is taken: .* It cannot be undone\./);
    fireEvent.click(screen.getByRole('button', { name: 'Delete without a backup' }));
    expect(onConfirm).toHaveBeenCalledWith(true);
  });

  it('with backups and no opt-out: the delete keeps its backup', () => {
    const onConfirm = vi.fn();
    render(<DeleteConfirm store={s} summary={summary({ keep_deleted_days: 1 })} onCancel={vi.fn()} onConfirm={onConfirm} />);
    expect(screen.getByTestId('delete-consequence').textContent).toMatch(/kept 1 day,/);
    fireEvent.click(screen.getByRole('button', { name: 'Delete store' }));
    expect(onConfirm).toHaveBeenCalledWith(false);
  });

  it('without backups: it cannot be undone, and there is nothing to opt out of', () => {
    const onConfirm = vi.fn();
    render(<DeleteConfirm store={s} summary={summary({ configured: false, keep_deleted_days: null })} onCancel={vi.fn()} onConfirm={onConfirm} />);
    expect(screen.getByTestId('delete-consequence').textContent).toMatch(/store-acme-shoes.*It cannot be undone\.$/);
    expect(screen.queryByLabelText(/Delete without a backup/)).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Delete store' }));
    expect(onConfirm).toHaveBeenCalledWith(false);
  });

  it('a store that never became Ready has no final backup to keep', () => {
    render(<DeleteConfirm store={store({ status: 'Failed', ready_at: null })} summary={summary()} onCancel={vi.fn()} onConfirm={vi.fn()} />);
    expect(screen.getByTestId('delete-consequence').textContent).toMatch(/cannot be undone\. The store never became Ready/);
  });

  it('unknown configuration: promises nothing', () => {
    render(<DeleteConfirm store={s} summary={null} onCancel={vi.fn()} onConfirm={vi.fn()} />);
    expect(screen.getByTestId('delete-consequence').textContent).toMatch(/cannot be undone\. \(Whether backups are configured could not be checked\.\)/);
  });
});

describe('recently deleted', () => {
  const gone: DeletedStore = {
    id: 'd0000000-0000-4000-8000-000000000009',
    name: 'Old Shop',
    owner: 'ann@example.com',
    engine: 'medusa',
    url: 'http://old-shop.localhost',
    deleted_at: '2026-11-25T14:00:00Z',
    backup: backup({ reason: 'final', finished_at: '2026-11-25T13:59:00Z', expires_at: '2026-12-02T13:59:00Z' }),
  };

  it('lists deleted stores with their final backup and undeletes one after confirming', async () => {
    const onUndeleted = vi.fn();
    const { fetch, calls } = scriptedFetch({
      'GET /api/stores/deleted': { body: { stores: [gone] } },
      [`POST /api/stores/${gone.id}/undelete`]: { status: 202, body: store({ id: gone.id, name: 'Old Shop', status: 'Provisioning', phase: 'queued' }) },
    });
    render(<RecentlyDeleted api={new Api({ fetch, storage: null })} me={ann} configured={true} onUndeleted={onUndeleted} />);
    const row = (await screen.findByRole('link', { name: 'Old Shop' })).closest('tr')!;
    expect(within(row).getByText(/^2026-12-02/)).toBeTruthy();
    fireEvent.click(within(row).getByRole('button', { name: 'Undelete Old Shop' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toMatch(/provisioned again at http:\/\/old-shop\.localhost/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Undelete store' }));
    await waitFor(() => expect(onUndeleted).toHaveBeenCalledWith(expect.objectContaining({ status: 'Provisioning' })));
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([`/api/stores/${gone.id}/undelete`]);
  });

  it('shows the refusal in the dialog (the name is taken again)', async () => {
    const { fetch } = scriptedFetch({
      'GET /api/stores/deleted': { body: { stores: [gone] } },
      [`POST /api/stores/${gone.id}/undelete`]: { status: 409, body: { error: 'you already have a store named "Old Shop"', code: 'name_taken' } },
    });
    render(<RecentlyDeleted api={new Api({ fetch, storage: null })} me={ann} configured={true} onUndeleted={vi.fn()} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Undelete Old Shop' }));
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Undelete store' }));
    expect((await within(screen.getByRole('alertdialog')).findByRole('alert')).textContent).toMatch(/already have a store named/);
  });

  it('says when nothing can come back', async () => {
    const { fetch } = scriptedFetch({ 'GET /api/stores/deleted': { body: { stores: [] } } });
    render(<RecentlyDeleted api={new Api({ fetch, storage: null })} me={ann} configured={false} onUndeleted={vi.fn()} />);
    expect(await screen.findByText('No deleted store can be brought back.')).toBeTruthy();
    expect(screen.getByText(/new deletes cannot be undone/)).toBeTruthy();
  });
});

describe('the fleet highlight', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  const fresh = store({ id: 'a', name: 'Fresh' });
  const stale = store({ id: 'b', name: 'Stale' });
  const never = store({ id: 'c', name: 'Never' });
  const busy = store({ id: 'd', name: 'Busy', status: 'Provisioning', ready_at: null });
  const newest = new Map([
    ['a', '2026-11-26T06:00:00Z'],
    ['b', '2026-11-24T06:00:00Z'],
  ]);

  it('marks Ready stores with no good backup in 24 h', () => {
    render(<StoreList me={ann} stores={[fresh, stale, never, busy]} mode="stream" error={null} actions={noActions()} now={now} newestGood={newest} />);
    const row = (name: string) => screen.getByRole('link', { name }).closest('tr')!;
    expect(row('Fresh').getAttribute('data-no-backup')).toBeNull();
    expect(within(row('Stale')).getByText('no backup in 24 h')).toBeTruthy();
    expect(within(row('Never')).getByText('never backed up')).toBeTruthy();
    expect(row('Busy').getAttribute('data-no-backup')).toBeNull();
  });

  it('marks nothing when backups are not configured', () => {
    render(<StoreList me={ann} stores={[stale, never]} mode="stream" error={null} actions={noActions()} now={now} newestGood={null} />);
    expect(screen.queryByText('never backed up')).toBeNull();
    expect(screen.queryByText('no backup in 24 h')).toBeNull();
  });
});

describe('the app', () => {
  beforeEach(() => FakeEventSource.reset());

  it('marks the list from the summary and deletes without a backup when asked', async () => {
    const { fetch, calls } = scriptedFetch({
      'GET /api/me': { body: ann },
      'GET /api/stores': { body: { stores: [s], next_cursor: null, total: 1 } },
      'GET /api/backups/summary': { body: summary() },
      [`DELETE /api/stores/${s.id}`]: { status: 202, body: store({ status: 'Deleting', phase: 'uninstalling', updated_at: '2026-11-25T13:00:00Z', can_delete: false }) },
    });
    render(<App api={new Api({ fetch, storage: null })} live={{ EventSource: FakeEventSource as unknown as typeof EventSource }} />);
    const row = (await screen.findByRole('link', { name: 'Acme Shoes' })).closest('tr')!;
    expect(await within(row).findByText('never backed up')).toBeTruthy();
    fireEvent.click(within(row).getByRole('button', { name: 'Delete Acme Shoes' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toMatch(/kept 7 days/);
    fireEvent.click(within(dialog).getByLabelText(/Delete without a backup/));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete without a backup' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual([`/api/stores/${s.id}?no_backup=true`]);
  });

  it('asks the summary again when a store’s backup ends, and the mark goes', async () => {
    const { fetch, calls } = scriptedFetch({
      'GET /api/me': { body: ann },
      'GET /api/stores': { body: { stores: [s], next_cursor: null, total: 1 } },
      'GET /api/backups/summary': [
        { body: summary() },
        { body: summary({ newest_good: [{ store_id: s.id, finished_at: new Date().toISOString() }] }) },
      ],
    });
    render(<App api={new Api({ fetch, storage: null })} live={{ EventSource: FakeEventSource as unknown as typeof EventSource }} />);
    const row = (await screen.findByRole('link', { name: 'Acme Shoes' })).closest('tr')!;
    expect(await within(row).findByText('never backed up')).toBeTruthy();
    const es = FakeEventSource.last();
    act(() => {
      es.emit('open');
      es.emit('store', store({ phase: 'backing-up', updated_at: '2026-11-25T12:00:00Z' }));
    });
    expect(calls.filter((c) => c.path === '/api/backups/summary')).toHaveLength(1);
    act(() => es.emit('store', store({ phase: 'done', updated_at: '2026-11-25T12:01:00Z' })));
    await waitFor(() => expect(within(row).queryByText('never backed up')).toBeNull());
    expect(calls.filter((c) => c.path === '/api/backups/summary')).toHaveLength(2);
  });

  it('has a Recently deleted page in its navigation', async () => {
    const { fetch } = scriptedFetch({
      'GET /api/me': { body: ann },
      'GET /api/stores': { body: { stores: [], next_cursor: null, total: 0 } },
      'GET /api/backups/summary': { body: summary() },
      'GET /api/stores/deleted': { body: { stores: [] } },
    });
    render(<App api={new Api({ fetch, storage: null })} live={{ EventSource: FakeEventSource as unknown as typeof EventSource }} />);
    fireEvent.click(await screen.findByRole('link', { name: 'Recently deleted' }));
    expect(await screen.findByRole('heading', { name: 'Recently deleted', level: 1 })).toBeTruthy();
    expect(window.location.pathname).toBe('/deleted');
  });
});

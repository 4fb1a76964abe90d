// Restore drills and clones in the dashboard (issue 30): a store's last good
// restore (flagged when its newest drill failed), its next scheduled drill
// and recent drills; "Run a drill" with its confirmation, the API's refusals
// in words, and the list followed while a drill is under way (with a
// deadline); "Clone…" with the API's validation errors next to the fields.

import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { CloneStore } from './components/CloneStore';
import { ConfirmDialog } from './components/ConfirmDialog';
import { StoreDetail } from './components/StoreDetail';
import { StoreDrills } from './components/StoreDrills';
import { drillResult, drillTook, lastGoodWords, newestFinished } from './drills';
import { scriptedFetch, store } from './test-utils';
import type { Backup, Drill, DrillsView, Me } from './types';

afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

const s = store();
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const DAY = 86_400_000;

function drill(over: Partial<Drill> = {}): Drill {
  return {
    id: 'd1d1d1d1-0000-4000-8000-000000000001',
    store_id: s.id,
    reason: 'scheduled',
    phase: 'done',
    outcome: 'passed',
    backup_id: 'b1a2c3d4-0000-4000-8000-000000000001',
    clone_id: null,
    detail: 'backup b1a2c3d4 of 2026-12-04 23:40 UTC restored in 96s; the store became ready, and holds what the backup holds (1 orders)',
    requested_by: 'schedule',
    created_at: ago(2 * DAY + 200_000),
    started_at: ago(2 * DAY + 190_000),
    checked_at: ago(2 * DAY + 94_000),
    finished_at: ago(2 * DAY + 60_000),
    ...over,
  };
}

const view = (drills: Drill[], over: Partial<DrillsView> = {}): DrillsView => ({
  drills,
  last_good_at: drills.find((d) => d.outcome === 'passed')?.checked_at ?? null,
  every_days: 7,
  next_at: '2026-12-10T04:00:00Z',
  ...over,
});

const queued = drill({
  id: 'd2d2d2d2-0000-4000-8000-000000000002',
  reason: 'manual',
  phase: 'queued',
  outcome: null,
  backup_id: null,
  detail: null,
  requested_by: 'ann@example.com',
  created_at: ago(1_000),
  started_at: null,
  checked_at: null,
  finished_at: null,
});

describe('drill words', () => {
  it('says the last good restore as the command line does', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(lastGoodWords(null, now)).toBe('never');
    expect(lastGoodWords('2026-12-06T11:59:30Z', now)).toBe('just now');
    expect(lastGoodWords('2026-12-06T11:55:00Z', now)).toBe('5 minutes ago');
    expect(lastGoodWords('2026-12-06T10:59:00Z', now)).toBe('1 hour ago');
    expect(lastGoodWords('2026-12-05T00:00:00Z', now)).toBe('36 hours ago');
    expect(lastGoodWords('2026-12-04T11:00:00Z', now)).toBe('2 days ago');
  });

  it('takes the newest finished drill for the store’s standing, and says how long each took', () => {
    const failed = drill({ id: 'f', outcome: 'failed', checked_at: ago(DAY) });
    expect(newestFinished([queued, failed, drill()])?.id).toBe('f');
    expect(newestFinished([queued])).toBeUndefined();
    const d = drill({ started_at: '2026-12-06T10:00:00Z', checked_at: '2026-12-06T10:01:36Z' });
    expect(drillTook(d, Date.now())).toBe('1 min 36 s');
    expect(drillTook(queued, Date.now())).toBe('—');
    const running = drill({ phase: 'restoring' as Drill['phase'], outcome: null, started_at: '2026-12-06T10:00:00Z', checked_at: null });
    expect(drillTook(running, Date.parse('2026-12-06T10:00:45Z'))).toBe('45 s so far');
    expect(drillResult(queued)).toBe('waiting for a drill slot');
    expect(drillResult(running)).toBe('restoring into a throwaway store');
    expect(drillResult(drill({ outcome: 'failed' }))).toBe('failed');
  });
});

describe('a store’s restore drills', () => {
  function renderDrills(fetch: typeof globalThis.fetch, over: { pollMs?: number; watchMs?: number; status?: 'Ready' | 'Deleted' } = {}) {
    render(
      <StoreDrills
        api={new Api({ fetch, storage: null })}
        store={store({ status: over.status ?? 'Ready' })}
        pollMs={over.pollMs ?? 10}
        watchMs={over.watchMs}
      />,
    );
    return screen.findByRole('region', { name: 'Restore drills' });
  }
  const drillsPath = `GET /api/stores/${s.id}/drills`;
  const runPath = `POST /api/stores/${s.id}/drills`;

  it('shows the last good restore, the next scheduled drill and each drill', async () => {
    const { fetch } = scriptedFetch({ [drillsPath]: { body: view([drill()]) } });
    const region = await renderDrills(fetch);
    const last = await within(region).findByTestId('last-good-restore');
    expect(last.textContent).toBe('2 days ago');
    expect(last.getAttribute('data-flagged')).toBeNull();
    expect(within(region).getByTestId('drill-facts').textContent).toMatch(/Next scheduled drill2026-12-1\d \d\d:\d\d \(every 7 days\)/);
    const rows = within(region).getAllByRole('row');
    expect(rows).toHaveLength(2);
    const row = rows[1];
    expect(within(row).getByText('scheduled')).toBeTruthy();
    expect(within(row).getByText('passed')).toBeTruthy();
    expect(within(row).getByText('1 min 36 s')).toBeTruthy();
    expect(within(row).getByText(/restored in 96s; the store became ready/)).toBeTruthy();
    expect(within(region).queryByTestId('drill-failed')).toBeNull();
  });

  it('says never, and flags a store whose newest drill failed with the reason', async () => {
    const reason = 'part database of backup b1a2c3d4 does not match its checksum; the backup is damaged';
    const failed = drill({ id: 'f0f0f0f0-0000-4000-8000-000000000003', reason: 'manual', outcome: 'failed', detail: reason, checked_at: ago(3_600_000) });
    const { fetch } = scriptedFetch({ [drillsPath]: { body: view([failed], { every_days: null, next_at: null }) } });
    const region = await renderDrills(fetch);
    const last = await within(region).findByTestId('last-good-restore');
    expect(last.textContent).toBe('never · the newest drill failed');
    expect(last.getAttribute('data-flagged')).toBe('true');
    expect(within(region).getByTestId('drill-failed').textContent).toContain(reason);
    expect(within(region).getByTestId('drill-facts').textContent).toMatch(/Next scheduled drillnone scheduled/);
    cleanup();
    // A newer passed drill clears the flag; the last good restore is its.
    const { fetch: f2 } = scriptedFetch({ [drillsPath]: { body: view([drill({ checked_at: ago(120_000) }), failed]) } });
    const r2 = await renderDrills(f2);
    expect((await within(r2).findByTestId('last-good-restore')).textContent).toBe('2 minutes ago');
    expect(within(r2).queryByTestId('drill-failed')).toBeNull();
  });

  it('runs a drill after a confirmation of what it does, and follows it until it ends', async () => {
    const running = { ...queued, phase: 'restoring' as Drill['phase'], started_at: ago(500) };
    const passed = drill({ ...queued, phase: 'done', outcome: 'passed', checked_at: ago(100), finished_at: ago(50), detail: 'restored; holds what the backup holds' });
    const { fetch, calls } = scriptedFetch({
      [drillsPath]: [{ body: view([drill()]) }, { body: view([queued, drill()]) }, { body: view([running, drill()]) }, { body: view([passed, drill()]) }],
      [runPath]: { status: 202, body: queued },
    });
    const region = await renderDrills(fetch);
    await within(region).findByTestId('last-good-restore');
    fireEvent.click(within(region).getByRole('button', { name: 'Run a drill…' }));
    let dialog = screen.getByRole('alertdialog');
    expect(within(dialog).getByRole('heading').textContent).toBe('Run a restore drill of “Acme Shoes”?');
    expect(dialog.textContent).toMatch(/restored into a throwaway store, checked .* then deleted\. This store is not touched\./);
    // Cancel sends nothing.
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    fireEvent.click(within(region).getByRole('button', { name: 'Run a drill…' }));
    dialog = screen.getByRole('alertdialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Run drill' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([`/api/stores/${s.id}/drills`]);
    expect(within(region).getByRole('status').textContent).toMatch(/Restore drill of “Acme Shoes” queued/);
    // Followed while under way, to its result; then no more requests.
    const row = () => region.querySelector(`tr[data-drill-id="${queued.id}"]`);
    await waitFor(() => expect(row()?.getAttribute('data-outcome')).toBe('passed'));
    expect(row()?.textContent).toMatch(/holds what the backup holds/);
    const gets = () => calls.filter((c) => c.method === 'GET').length;
    expect(gets()).toBe(4);
    await new Promise((r) => setTimeout(r, 60));
    expect(gets()).toBe(4);
  });

  it('shows the API’s refusal in words', async () => {
    const { fetch } = scriptedFetch({
      [drillsPath]: { body: view([]) },
      [runPath]: [
        {
          status: 422,
          body: { error: 'store "Acme Shoes" has no complete backup to drill; take one first (`store backup Acme Shoes`)', code: 'invalid', field: 'backup' },
        },
        { status: 409, body: { error: 'store "Acme Shoes" is busy: a restore drill of it is already under way; see `store drills`', code: 'busy' } },
      ],
    });
    const region = await renderDrills(fetch);
    expect(await within(region).findByText('No drills yet.')).toBeTruthy();
    expect(within(region).getByTestId('last-good-restore').textContent).toBe('never');
    fireEvent.click(within(region).getByRole('button', { name: 'Run a drill…' }));
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Run drill' }));
    const refusal = await within(screen.getByRole('alertdialog')).findByRole('alert');
    expect(refusal.textContent).toBe(
      'Cannot run a restore drill of “Acme Shoes”: store "Acme Shoes" has no complete backup to drill; take one first (`store backup Acme Shoes`)',
    );
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Run drill' }));
    await within(screen.getByRole('alertdialog')).findByText(/a restore drill of it is already under way/);
    expect(within(region).queryByRole('status')).toBeNull();
  });

  it('stops asking at the deadline while a drill stays under way, and offers no drill of a deleted store', async () => {
    const { fetch, calls } = scriptedFetch({ [drillsPath]: { body: view([queued]) } });
    const region = await renderDrills(fetch, { pollMs: 10, watchMs: 40 });
    expect(await within(region).findByTestId('drill-watch-ended')).toBeTruthy();
    const gets = calls.length;
    expect(gets).toBeGreaterThan(1);
    expect(gets).toBeLessThan(10);
    await new Promise((r) => setTimeout(r, 60));
    expect(calls.length).toBe(gets);
    expect(within(region).getByText('a drill is under way')).toBeTruthy();
    cleanup();
    const { fetch: f2 } = scriptedFetch({ [drillsPath]: { body: view([drill()], { every_days: null, next_at: null }) } });
    const r2 = await renderDrills(f2, { status: 'Deleted' });
    await within(r2).findByTestId('last-good-restore');
    expect(within(r2).queryByRole('button', { name: 'Run a drill…' })).toBeNull();
  });
});

describe('cloning a store', () => {
  const complete: Backup = {
    id: 'b1a2c3d4-0000-4000-8000-000000000001',
    reason: 'manual',
    state: 'complete',
    bytes: 4_216_000,
    requested_by: 'ann@example.com',
    started_at: '2026-11-25T11:00:00Z',
    finished_at: '2026-11-25T11:00:42Z',
    expires_at: null,
    error: null,
    parts: [],
    counts: { orders: 3 },
  };
  const clonePath = `POST /api/stores/${s.id}/clone`;
  function renderClone(fetch: typeof globalThis.fetch, onCloned = vi.fn()) {
    render(<CloneStore api={new Api({ fetch, storage: null })} store={s} backups={[complete]} onCloned={onCloned} />);
    fireEvent.click(screen.getByRole('button', { name: 'Clone…' }));
    return { name: screen.getByLabelText('Name of the clone') as HTMLInputElement, backup: screen.getByLabelText('From backup') as HTMLSelectElement };
  }
  const submit = () => fireEvent.click(screen.getByRole('button', { name: 'Create clone' }));

  it('sends the name (and a chosen backup), then links the new store', async () => {
    const onCloned = vi.fn();
    const clone = store({ id: '00000000-0000-4000-8000-0000000000c1', name: 'Acme Staging', status: 'Provisioning', phase: 'queued' });
    const { fetch, calls } = scriptedFetch({ [clonePath]: { status: 201, body: clone } });
    const f = renderClone(fetch, onCloned);
    fireEvent.change(f.name, { target: { value: '  Acme Staging ' } });
    submit();
    const done = await screen.findByRole('status');
    expect(done.textContent).toMatch(/Clone Acme Staging created from “Acme Shoes”/);
    expect(within(done).getByRole('link', { name: 'Acme Staging' }).getAttribute('href')).toBe(`/stores/${clone.id}`);
    expect(calls.map((c) => c.body)).toEqual([{ name: 'Acme Staging' }]);
    expect(onCloned).toHaveBeenCalledWith(expect.objectContaining({ name: 'Acme Staging' }));
    // Again, from a named backup.
    const f2 = (fireEvent.click(screen.getByRole('button', { name: 'Clone…' })), screen.getByLabelText('Name of the clone'));
    fireEvent.change(f2, { target: { value: 'Acme Staging 2' } });
    fireEvent.change(screen.getByLabelText('From backup'), { target: { value: complete.id } });
    submit();
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[1].body).toEqual({ name: 'Acme Staging 2', backup: complete.id });
  });

  it('shows an invalid or taken name next to the name field, a refused backup next to the backup', async () => {
    const { fetch, calls } = scriptedFetch({
      [clonePath]: [
        { status: 422, body: { error: 'name "!!!" must have at least one letter or digit', code: 'invalid', field: 'name' } },
        { status: 409, body: { error: 'you already have a store named "Acme Shoes"', code: 'name_taken' } },
        { status: 400, body: { error: 'backup b1a2c3d4 was sealed with backup key k1; the configured key is k2', code: 'invalid', field: 'backup' } },
        { status: 429, body: { error: 'rate limit: at most 5 creates per minute for user ann@example.com; try again in 30s', code: 'rate_limited', limit: 'create_rate_per_user' } },
      ],
    });
    const f = renderClone(fetch);
    // Nothing sent without a name.
    submit();
    expect((await screen.findByRole('alert')).textContent).toMatch(/Give the clone a name/);
    expect(calls).toHaveLength(0);
    fireEvent.change(f.name, { target: { value: '!!!' } });
    submit();
    const bad = await screen.findByText('name "!!!" must have at least one letter or digit');
    expect(bad.getAttribute('role')).toBe('alert');
    expect(f.name.getAttribute('aria-invalid')).toBe('true');
    expect(f.name.getAttribute('aria-describedby')).toContain(bad.id);
    fireEvent.change(f.name, { target: { value: 'Acme Shoes' } });
    submit();
    const taken = await screen.findByText('you already have a store named "Acme Shoes"');
    expect(f.name.getAttribute('aria-describedby')).toContain(taken.id);
    expect(screen.queryByText(/must have at least one letter/)).toBeNull();
    fireEvent.change(f.name, { target: { value: 'Acme Staging' } });
    submit();
    const sealed = await screen.findByText(/was sealed with backup key k1/);
    expect(f.backup.getAttribute('aria-invalid')).toBe('true');
    expect(f.backup.getAttribute('aria-describedby')).toContain(sealed.id);
    expect(f.name.getAttribute('aria-invalid')).toBeNull();
    submit();
    expect((await screen.findByText(/Cannot clone “Acme Shoes”: Slow down: rate limit/)).getAttribute('role')).toBe('alert');
    expect(screen.queryByRole('status')).toBeNull();
    expect(calls).toHaveLength(4);
  });
});

describe('the store’s detail', () => {
  const ann: Me = { user: 'ann@example.com', role: 'user', auth_mode: 'password', method: 'cookie' };
  const routes = () =>
    scriptedFetch({
      [`GET /api/stores/${s.id}/detail`]: { body: { store: s, health: null, resources: [], events: [] } },
      [`GET /api/stores/${s.id}/timeline`]: { body: { entries: [] } },
      [`GET /api/stores/${s.id}/backups`]: { body: { backups: [] } },
      [`GET /api/stores/${s.id}/drills`]: { body: view([drill()]) },
    });
  const detail = (fetch: typeof globalThis.fetch, configured: boolean) =>
    render(
      <StoreDetail
        api={new Api({ fetch, storage: null })}
        me={ann}
        id={s.id}
        actions={{ retry: vi.fn(), askDelete: vi.fn(), pending: new Set() }}
        backupsConfigured={configured}
      />,
    );

  it('shows the restore drills beside the backups when backups are configured, and not otherwise', async () => {
    const { fetch } = routes();
    detail(fetch, true);
    const region = await screen.findByRole('region', { name: 'Restore drills' });
    expect((await within(region).findByTestId('last-good-restore')).textContent).toBe('2 days ago');
    expect(screen.getByRole('button', { name: 'Clone…' })).toBeTruthy();
    cleanup();
    const { fetch: f2, calls } = routes();
    detail(f2, false);
    await screen.findByRole('heading', { name: 'Acme Shoes', level: 1 });
    await waitFor(() => expect(calls.some((c) => c.path.endsWith('/timeline'))).toBe(true));
    expect(screen.queryByRole('region', { name: 'Restore drills' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Clone…' })).toBeNull();
    expect(calls.some((c) => c.path.endsWith('/drills'))).toBe(false);
  });
});

describe('a confirmation after a refusal', () => {
  it('takes the focus back to Cancel when the answer is in, so Escape still closes it', () => {
    const onCancel = vi.fn();
    const dialog = (busy: boolean, error: string | null) => (
      <>
        <button type="button">outside</button>
        <ConfirmDialog title="Run?" confirmLabel="Run" busy={busy} error={error} onCancel={onCancel} onConfirm={vi.fn()}>
          <p>what it does</p>
        </ConfirmDialog>
      </>
    );
    const { rerender } = render(dialog(false, null));
    rerender(dialog(true, null));
    // A browser moves the focus out of the dialog when the focused button turns disabled.
    const outside = screen.getByRole('button', { name: 'outside', hidden: true });
    outside.focus();
    expect(document.activeElement).toBe(outside);
    rerender(dialog(false, 'refused'));
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel' }));
    fireEvent.keyDown(document.activeElement!, { key: 'Escape' });
    expect(onCancel).toHaveBeenCalledTimes(1);
  });
});

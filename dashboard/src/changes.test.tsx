// Changing running stores in the dashboard (issue 15): version and settings in
// the detail, the release history with drift, and the admins' upgrade form
// and roll-back buttons, against a scripted API.

import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { StatusBadge } from './components/StatusBadge';
import { StoreDetail } from './components/StoreDetail';
import type { StoreActions } from './components/StoreList';
import { settingOfMessage, settingsText } from './format';
import { ENGINES, scriptedFetch, store } from './test-utils';
import type { History, Me, Store } from './types';

const ann: Me = { user: 'ann@example.com', role: 'user', auth_mode: 'password', method: 'cookie' };
const admin: Me = { user: 'ops@example.com', role: 'admin', auth_mode: 'password', method: 'cookie' };
const noActions = (): StoreActions => ({ retry: vi.fn(), askDelete: vi.fn(), pending: new Set() });

afterEach(() => cleanup());

const s = store({ chart_version: '0.2.0', helm_revision: 3, settings: { 'wordpress.image': '6.8.3-php8.3-apache', replicas: '0' } });

function history(over: Partial<History> = {}): History {
  return {
    chart_version: '0.2.0',
    helm_revision: 3,
    settings: s.settings,
    shipped_chart: '0.3.0',
    drift: null,
    revisions: [
      { revision: 3, status: 'deployed', chart_version: '0.2.0', description: 'Upgrade complete', updated: '2026-11-25T11:00:00Z', settings: s.settings, current: true },
      { revision: 2, status: 'superseded', chart_version: '0.2.0', description: 'Upgrade complete', updated: '2026-11-25T10:30:00Z', settings: null, current: false },
      { revision: 1, status: 'superseded', chart_version: '0.1.0', description: 'Install complete', updated: '2026-11-25T10:02:00Z', settings: {}, current: false },
    ],
    ...over,
  };
}

function routes(st: Store, extra: Parameters<typeof scriptedFetch>[0] = {}) {
  return scriptedFetch({
    [`GET /api/stores/${st.id}/detail`]: { body: { store: st, health: null, resources: [], events: [] } },
    [`GET /api/stores/${st.id}/timeline`]: { body: { entries: [], next_cursor: null, total: 0 } },
    [`GET /api/stores/${st.id}/history`]: { body: history() },
    'GET /api/engines': { body: ENGINES },
    ...extra,
  });
}

function renderDetail(me: Me, fetch: typeof globalThis.fetch, st: Store = s) {
  render(<StoreDetail api={new Api({ fetch, storage: null })} me={me} id={st.id} actions={noActions()} />);
}

describe('store version and settings', () => {
  it('shows the chart version, the Helm revision and the settings, or "chart defaults"', async () => {
    renderDetail(ann, routes(s).fetch);
    expect((await screen.findByTestId('chart-version')).textContent).toBe('0.2.0');
    expect(screen.getByTestId('helm-revision').textContent).toBe('3');
    expect(screen.getByTestId('settings').textContent).toBe('replicas=0 wordpress.image=6.8.3-php8.3-apache');
    expect(settingsText({})).toBe('chart defaults');
    expect(settingsText(null)).toBe('chart defaults');
  });

  it('says "upgrading" / "rolling back" next to a store that stays Ready', () => {
    render(<StatusBadge status="Ready" phase="upgrading" />);
    expect(screen.getByText('Ready')).toBeTruthy();
    expect(screen.getByText('upgrading')).toBeTruthy();
    cleanup();
    render(<StatusBadge status="Ready" phase="rolling-back" />);
    expect(screen.getByText('rolling back')).toBeTruthy();
  });

  it('finds the setting a 422 message is about', () => {
    const keys = ['wordpress.cpu', 'replicas'];
    expect(settingOfMessage('wordpress.cpu: "lots" is not a CPU amount', keys)).toBe('wordpress.cpu');
    expect(settingOfMessage('replicas: must be 0 (paused) or 1 (running)', keys)).toBe('replicas');
    expect(settingOfMessage('nothing to change: the store already runs chart 0.2.0', keys)).toBeNull();
    expect(settingOfMessage('bogus.key: unknown setting', keys)).toBeNull();
  });
});

describe('History', () => {
  it('lists the revisions, marks the current one and those not made by Store Weaver, and warns of drift', async () => {
    const drift = 'the release is at revision 4, the record says 3: someone ran helm by hand';
    renderDetail(ann, routes(s, { [`GET /api/stores/${s.id}/history`]: { body: history({ drift }) } }).fetch);
    const region = await screen.findByRole('region', { name: 'History' });
    const warning = await within(region).findByRole('alert');
    expect(warning.textContent).toContain('The release has drifted');
    expect(warning.textContent).toContain(drift);
    const rows = within(within(region).getByRole('table')).getAllByRole('row');
    expect(rows).toHaveLength(4);
    expect(within(rows[1]).getByText('current')).toBeTruthy();
    expect(within(rows[1]).getByText('replicas=0 wordpress.image=6.8.3-php8.3-apache')).toBeTruthy();
    expect(within(rows[2]).getByText('not made by Store Weaver')).toBeTruthy();
    expect(within(rows[2]).queryByText('current')).toBeNull();
    expect(within(rows[3]).getByText('chart defaults')).toBeTruthy();
  });

  it('shows no drift warning when the release is what the record says', async () => {
    renderDetail(ann, routes(s).fetch);
    const region = await screen.findByRole('region', { name: 'History' });
    await within(region).findByRole('table');
    expect(within(region).queryByRole('alert')).toBeNull();
  });
});

describe('Upgrade and roll back', () => {
  it('a user sees the history but no upgrade form and no roll-back buttons', async () => {
    renderDetail(ann, routes(s).fetch);
    const region = await screen.findByRole('region', { name: 'History' });
    await within(region).findByRole('table');
    expect(screen.queryByRole('region', { name: 'Upgrade / change settings' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Roll back|Upgrade/ })).toBeNull();
  });

  it('an admin upgrades with the settings typed, and only those', async () => {
    const upgrading = { ...s, phase: 'upgrading' as const, updated_at: '2026-11-25T11:05:00Z' };
    const { fetch, calls } = routes(s, { [`POST /api/stores/${s.id}/upgrade`]: { status: 202, body: upgrading } });
    renderDetail(admin, fetch);
    await within(await screen.findByRole('region', { name: 'History' })).findByRole('table');
    const form = screen.getByRole('region', { name: 'Upgrade / change settings' });
    expect(form.textContent).toContain('ships (0.3.0)');
    fireEvent.change(within(form).getByLabelText('wordpress.image'), { target: { value: ' 6.9.0-php8.3-apache ' } });
    fireEvent.change(within(form).getByLabelText('database.memory'), { target: { value: '2Gi' } });
    fireEvent.change(within(form).getByLabelText('replicas'), { target: { value: '1' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Upgrade' }));
    await within(form).findByText(/Upgrading “Acme Shoes”/);
    const post = calls.filter((c) => c.method === 'POST');
    expect(post).toHaveLength(1);
    expect(post[0].path).toBe(`/api/stores/${s.id}/upgrade`);
    expect(post[0].body).toEqual({ set: { 'wordpress.image': '6.9.0-php8.3-apache', 'database.memory': '2Gi', replicas: '1' } });
    // The answer (phase "upgrading") is shown at once; the form waits for it to end.
    expect(await screen.findByText('upgrading', { selector: '.phase-changing' })).toBeTruthy();
    expect(within(form).getByRole('button', { name: 'Upgrade' })).toHaveProperty('disabled', true);
  });

  it('an admin rolls back to the previous revision, or to one chosen in the history', async () => {
    const { fetch, calls } = routes(s, { [`POST /api/stores/${s.id}/rollback`]: { status: 202, body: s } });
    renderDetail(admin, fetch);
    const region = await screen.findByRole('region', { name: 'History' });
    await within(region).findByRole('table');
    expect(within(region).queryByRole('button', { name: 'Roll back to revision 3' })).toBeNull(); // the current one
    fireEvent.click(within(region).getByRole('button', { name: 'Roll back' }));
    await within(region).findByText(/back to the previous revision/);
    fireEvent.click(within(region).getByRole('button', { name: 'Roll back to revision 1' }));
    await within(region).findByText(/back to revision 1/);
    const post = calls.filter((c) => c.method === 'POST');
    expect(post.map((c) => [c.path, c.body])).toEqual([
      [`/api/stores/${s.id}/rollback`, {}],
      [`/api/stores/${s.id}/rollback`, { revision: 1 }],
    ]);
  });

  it("shows the server's 422 message next to the setting it is about", async () => {
    const msg = 'wordpress.cpu: "lots" is not a CPU amount (e.g. 250m, 1, 1.5)';
    const { fetch } = routes(s, {
      [`POST /api/stores/${s.id}/upgrade`]: [
        { status: 422, body: { error: msg, code: 'invalid', field: 'settings' } },
        { status: 422, body: { error: 'nothing to change: the store already runs chart 0.3.0 with chart defaults; give settings with --set key=value', code: 'invalid', field: 'settings' } },
      ],
    });
    renderDetail(admin, fetch);
    const form = await screen.findByRole('region', { name: 'Upgrade / change settings' });
    const cpu = await within(form).findByLabelText('wordpress.cpu');
    fireEvent.change(cpu, { target: { value: 'lots' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Upgrade' }));
    const err = await within(form).findByText(msg);
    expect(err.id).toBe('setting-wordpress-cpu-error');
    expect(cpu.getAttribute('aria-invalid')).toBe('true');
    expect(cpu.getAttribute('aria-describedby')).toContain('setting-wordpress-cpu-error');
    // A refusal about no one setting is shown for the whole form.
    fireEvent.click(within(form).getByRole('button', { name: 'Upgrade' }));
    const alert = await within(form).findByText(/nothing to change/);
    expect(alert.getAttribute('role')).toBe('alert');
    await waitFor(() => expect(within(form).queryByText(msg)).toBeNull());
    expect(cpu.getAttribute('aria-invalid')).toBeNull();
  });

  it('a store that is not Ready cannot be changed', async () => {
    const failed = store({ ...s, status: 'Failed', can_retry: true });
    renderDetail(admin, routes(failed).fetch, failed);
    const form = await screen.findByRole('region', { name: 'Upgrade / change settings' });
    expect(within(form).getByRole('button', { name: 'Upgrade' })).toHaveProperty('disabled', true);
    expect(screen.getByRole('button', { name: 'Roll back' })).toHaveProperty('disabled', true);
  });
});

import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { App } from './App';
import { ConfirmDialog } from './components/ConfirmDialog';
import { CreateStore } from './components/CreateStore';
import { SignIn } from './components/SignIn';
import { StatusBadge } from './components/StatusBadge';
import { StoreDetail } from './components/StoreDetail';
import { SEARCH_DELAY_MS, StoreList, type StoreActions } from './components/StoreList';
import { ENGINES, FakeEventSource, scriptedFetch, store } from './test-utils';
import type { Me } from './types';

const ann: Me = { user: 'ann@example.com', role: 'user', auth_mode: 'password', method: 'cookie' };
const admin: Me = { user: 'ops@example.com', role: 'admin', auth_mode: 'password', method: 'cookie' };
const noActions = (): StoreActions => ({ retry: vi.fn(), askDelete: vi.fn(), pending: new Set() });

afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

describe('StatusBadge', () => {
  it('always shows the status as text, with the step while busy', () => {
    render(<StatusBadge status="Provisioning" phase="waiting-for-ready" />);
    expect(screen.getByText('Provisioning')).toHaveProperty('className', 'badge badge-provisioning');
    expect(screen.getByText('waiting for pods')).toBeTruthy();
    cleanup();
    render(<StatusBadge status="Ready" phase="done" />);
    expect(screen.getByText('Ready')).toBeTruthy();
    expect(screen.queryByText('done')).toBeNull();
  });
});

describe('StoreList', () => {
  it('shows name, status, address link, age, provisioning time and the failure reason', () => {
    const now = Date.parse('2026-11-25T10:10:00Z');
    const failed = store({ id: 'f', name: 'Broken', status: 'Failed', error_message: 'helm install timed out after 600s', can_retry: true, ready_at: null });
    render(<StoreList me={ann} stores={[store(), failed]} mode="stream" error={null} actions={noActions()} now={now} />);
    const table = screen.getByRole('table');
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    const ready = rows[1];
    expect(within(ready).getByRole('link', { name: 'Acme Shoes' }).getAttribute('href')).toBe(`/stores/${store().id}`);
    expect(within(ready).getByRole('link', { name: /acme-shoes\.localhost/ }).getAttribute('href')).toBe('http://acme-shoes.localhost');
    expect(within(ready).getByText('took 2 min 4 s')).toBeTruthy();
    expect(within(ready).getByText('10 min ago')).toBeTruthy();
    expect(within(rows[2]).getByText('helm install timed out after 600s')).toBeTruthy();
    expect(within(rows[2]).getByRole('button', { name: 'Retry Broken' })).toBeTruthy();
    expect(within(ready).queryByRole('button', { name: /Retry/ })).toBeNull();
    expect(screen.queryByRole('columnheader', { name: 'Owner' })).toBeNull();
    expect(screen.getByText('Live')).toBeTruthy();
  });

  it('offers "Retry delete" for a failed delete, never a plain retry', () => {
    const failedDelete = store({
      id: 'd',
      name: 'Stuck',
      status: 'DeleteFailed',
      error_message: 'delete failed: namespace store-stuck is not this store\'s',
      can_retry: true,
      retry_label: 'retry delete',
    });
    const retry = vi.fn();
    render(<StoreList me={ann} stores={[failedDelete]} mode="stream" error={null} actions={{ ...noActions(), retry }} />);
    const row = within(screen.getByRole('table')).getAllByRole('row')[1];
    expect(within(row).getByText(/is not this store's/)).toBeTruthy();
    expect(within(row).queryByRole('button', { name: 'Retry Stuck' })).toBeNull();
    fireEvent.click(within(row).getByRole('button', { name: 'Retry delete of Stuck' }));
    expect(retry).toHaveBeenCalledWith(failedDelete);
  });

  it('shows every owner to an admin, with filters that go to the URL', () => {
    vi.useFakeTimers();
    const other = store({ id: 'o', name: 'Bobs Bikes', owner: 'bob@example.com' });
    const onFilter = vi.fn();
    render(
      <StoreList
        me={admin}
        stores={[store(), other]}
        total={120}
        more
        onMore={() => undefined}
        filter={{}}
        onFilter={onFilter}
        mode="polling"
        error={null}
        actions={noActions()}
      />,
    );
    expect(screen.getByRole('heading', { name: 'All stores' })).toBeTruthy();
    expect(screen.getByRole('columnheader', { name: 'Owner' })).toBeTruthy();
    expect(within(screen.getByRole('table')).getByText('bob@example.com')).toBeTruthy();
    expect(screen.getByText('Showing 2 of 120')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Show more stores' })).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'Failed' } });
    expect(onFilter).toHaveBeenLastCalledWith({ status: 'Failed' });
    fireEvent.change(screen.getByLabelText('Owner'), { target: { value: 'bob@example.com' } });
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: ' bikes ' } });
    act(() => vi.advanceTimersByTime(SEARCH_DELAY_MS));
    expect(onFilter).toHaveBeenLastCalledWith({ q: 'bikes', owner: 'bob@example.com' });
    expect(screen.getByText(/refreshing every 5 s/)).toBeTruthy();
    vi.useRealTimers();
  });

  it('says when nothing matches the filter', () => {
    render(<StoreList me={ann} stores={[]} total={0} filter={{ q: 'zzz' }} mode="stream" error={null} actions={noActions()} />);
    expect(screen.getByText('No stores match the filter.')).toBeTruthy();
  });

  it('asks before deleting', () => {
    const actions = noActions();
    render(<StoreList me={ann} stores={[store()]} mode="stream" error={null} actions={actions} />);
    fireEvent.click(screen.getByRole('button', { name: 'Delete Acme Shoes' }));
    expect(actions.askDelete).toHaveBeenCalledWith(store());
  });

  it('says when there are no stores', () => {
    render(<StoreList me={ann} stores={[]} mode="stream" error={null} actions={noActions()} />);
    expect(screen.getByText('No stores yet.')).toBeTruthy();
  });
});

describe('CreateStore', () => {
  it('offers the engines the server has and sends the one chosen', async () => {
    const { fetch, calls } = scriptedFetch({
      'GET /api/engines': { body: ENGINES },
      'POST /api/stores': { status: 201, body: store({ engine: 'medusa' }) },
    });
    const onCreated = vi.fn();
    render(<CreateStore api={new Api({ fetch, storage: null })} onCreated={onCreated} />);
    const medusa = await screen.findByRole('radio', { name: /Medusa/ });
    expect((screen.getByRole('radio', { name: /WooCommerce/ }) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(medusa);
    fireEvent.change(screen.getByLabelText('Store name'), { target: { value: 'Medusa Shop' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create store' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.body).toEqual({ name: 'Medusa Shop', engine: 'medusa' });
  });

  it('shows the API validation message next to the field', async () => {
    const { fetch } = scriptedFetch({
      'POST /api/stores': {
        status: 422,
        body: { error: 'the store name has no letters or digits (a-z, 0-9) to build its address from; include some', code: 'invalid', field: 'name' },
      },
    });
    render(<CreateStore api={new Api({ fetch, storage: null })} onCreated={vi.fn()} />);
    const input = screen.getByLabelText('Store name');
    fireEvent.change(input, { target: { value: '!!!' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create store' }));
    const msg = await screen.findByText(/has no letters or digits/);
    expect(msg.id).toBe('store-name-error');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toContain('store-name-error');
  });

  it('explains a store limit refusal', async () => {
    const { fetch } = scriptedFetch({
      'POST /api/stores': { status: 429, body: { error: 'ann@example.com already has 3 stores (MAX_STORES_PER_USER is 3)', code: 'limit', limit: 'MAX_STORES_PER_USER' } },
    });
    render(<CreateStore api={new Api({ fetch, storage: null })} onCreated={vi.fn()} />);
    fireEvent.change(screen.getByLabelText('Store name'), { target: { value: 'Fourth' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create store' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/You have reached your store limit/);
  });

  it('reuses the idempotency key when the same name is sent again after a network failure', async () => {
    let first = true;
    const { fetch, calls } = scriptedFetch({
      'POST /api/stores': () => {
        if (first) {
          first = false;
          return { status: 503, body: { error: 'the database is unavailable', code: 'unavailable' } };
        }
        return { status: 201, body: store() };
      },
    });
    const onCreated = vi.fn();
    render(<CreateStore api={new Api({ fetch, storage: null })} onCreated={onCreated} />);
    fireEvent.change(screen.getByLabelText('Store name'), { target: { value: 'Acme Shoes' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create store' }));
    await screen.findByRole('alert');
    fireEvent.click(screen.getByRole('button', { name: 'Create store' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalledWith(store()));
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts[0].headers['Idempotency-Key']).toBeTruthy();
    expect(posts[1].headers['Idempotency-Key']).toBe(posts[0].headers['Idempotency-Key']);
  });
});

describe('SignIn', () => {
  it('signs in with email and password', async () => {
    const { fetch, calls } = scriptedFetch({
      'POST /api/session': { status: 201, body: { user: ann.user, role: 'user', token: 't', expires_at: 'x' } },
      'GET /api/me': { body: ann },
    });
    const onSignedIn = vi.fn();
    render(<SignIn api={new Api({ fetch, storage: null })} mode="password" onSignedIn={onSignedIn} />);
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ann@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(ann));
    expect(calls[0].body).toEqual({ email: 'ann@example.com', password: 'correct horse' });
  });

  it('shows a wrong password and missing fields', async () => {
    const { fetch } = scriptedFetch({ 'POST /api/session': { status: 401, body: { error: 'wrong email or password', code: 'unauthenticated' } } });
    render(<SignIn api={new Api({ fetch, storage: null })} mode="password" onSignedIn={vi.fn()} />);
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Enter the email address you sign in with.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ann@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('wrong email or password');
  });

  it('labels demo mode and asks for no password', () => {
    render(<SignIn api={new Api({ fetch: vi.fn(), storage: null })} mode="demo" onSignedIn={vi.fn()} />);
    expect(screen.getByText(/Demo mode:/)).toBeTruthy();
    expect(screen.queryByLabelText('Password')).toBeNull();
  });
});

describe('ConfirmDialog', () => {
  it('focuses Cancel, cancels on Escape and confirms on click', () => {
    const onCancel = vi.fn();
    const onConfirm = vi.fn();
    render(
      <ConfirmDialog title="Delete “A”?" confirmLabel="Delete store" onCancel={onCancel} onConfirm={onConfirm}>
        <p>It cannot be undone.</p>
      </ConfirmDialog>,
    );
    const dialog = screen.getByRole('alertdialog', { name: 'Delete “A”?' });
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(onCancel).toHaveBeenCalled();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete store' }));
    expect(onConfirm).toHaveBeenCalled();
  });
});

describe('StoreDetail', () => {
  const s = store();
  const detailBody = {
    store: s,
    health: { state: 'ready', summary: '', ready_workloads: 2, workloads: 2 },
    resources: [
      { kind: 'Deployment', name: 'wordpress', ready: '1/1', ok: true, status: 'Available', created: null },
      { kind: 'PersistentVolumeClaim', name: 'data-mariadb-0', ready: 'Bound', ok: true, status: 'Bound', created: null },
      { kind: 'Pod', name: 'wordpress-abc', ready: '0/1', ok: false, status: 'Running', created: null },
    ],
    events: [
      { at: '2026-11-25T10:02:00Z', warning: true, reason: 'Unhealthy', object: 'pod/wordpress-abc', message: 'Readiness probe failed', count: 3 },
      { at: '2026-11-25T10:01:00Z', warning: false, reason: 'Scheduled', object: 'pod/wordpress-abc', message: 'Successfully assigned', count: 1 },
    ],
  };
  const timelineBody = {
    entries: [
      { id: 1, at: '2026-11-25T10:00:00Z', actor: 'ann@example.com', via: 'api', action: 'store.create', store_id: s.id, store_name: s.name, outcome: 'accepted', detail: null },
      { id: 2, at: '2026-11-25T10:02:05Z', actor: 'worker', via: 'worker', action: 'store.ready', store_id: s.id, store_name: s.name, outcome: 'ok', detail: 'ready in 124s' },
    ],
  };

  it('shows resources with readiness, events newest first with warnings marked, and the timeline', async () => {
    const { fetch } = scriptedFetch({
      [`GET /api/stores/${s.id}/detail`]: { body: detailBody },
      [`GET /api/stores/${s.id}/timeline`]: { body: timelineBody },
    });
    render(<StoreDetail api={new Api({ fetch, storage: null })} me={ann} id={s.id} actions={noActions()} />);
    expect(await screen.findByRole('heading', { name: 'Acme Shoes' })).toBeTruthy();
    const resources = await screen.findByRole('table');
    expect(within(resources).getAllByRole('row')).toHaveLength(4);
    expect(within(resources).getByText('not ready')).toBeTruthy();
    const events = screen.getByRole('region', { name: 'Events' });
    const items = within(events).getAllByRole('listitem');
    expect(items[0].className).toContain('warning');
    expect(within(items[0]).getByText('Warning')).toBeTruthy();
    expect(within(items[1]).getByText('Normal')).toBeTruthy();
    const timeline = screen.getByRole('region', { name: 'Timeline' });
    expect(within(timeline).getByText('create')).toBeTruthy();
    expect(within(timeline).getByText('ready in 124s')).toBeTruthy();
  });

  it('reveals the admin credentials on request', async () => {
    const { fetch, calls } = scriptedFetch({
      [`GET /api/stores/${s.id}/detail`]: { body: detailBody },
      [`GET /api/stores/${s.id}/timeline`]: { body: timelineBody },
      [`POST /api/stores/${s.id}/credentials`]: { body: { username: 'admin', password: 's3cret-pw', login_url: 'http://acme-shoes.localhost/wp-admin/', what: 'WordPress admin' } },
    });
    render(<StoreDetail api={new Api({ fetch, storage: null })} me={ann} id={s.id} actions={noActions()} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Show admin credentials' }));
    expect(await screen.findByText('s3cret-pw')).toBeTruthy();
    // The heading says what the login is for, as the server names it.
    expect(screen.getByRole('heading', { name: 'WordPress admin' })).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/credentials'))).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Hide' }));
    expect(screen.queryByText('s3cret-pw')).toBeNull();
  });

  it('still shows the record when the cluster does not answer', async () => {
    const { fetch } = scriptedFetch({
      [`GET /api/stores/${s.id}/detail`]: { status: 503, body: { error: 'the Kubernetes API did not answer: timeout', code: 'cluster_unavailable' } },
      [`GET /api/stores/${s.id}/timeline`]: { body: { entries: [] } },
      [`GET /api/stores/${s.id}`]: { body: s },
    });
    render(<StoreDetail api={new Api({ fetch, storage: null })} me={ann} id={s.id} actions={noActions()} />);
    expect(await screen.findByRole('heading', { name: 'Acme Shoes' })).toBeTruthy();
    expect(screen.getByText(/Kubernetes API did not answer/)).toBeTruthy();
  });

  it('says when the store does not exist or is not yours', async () => {
    const { fetch } = scriptedFetch({});
    render(<StoreDetail api={new Api({ fetch, storage: null })} me={ann} id="nope" actions={noActions()} />);
    expect(await screen.findByRole('heading', { name: 'Store not found' })).toBeTruthy();
  });
});

describe('App', () => {
  beforeEach(() => FakeEventSource.reset());

  it('signs in, lists stores live, creates one, and deletes one after confirming', async () => {
    let signedIn = false;
    const created = store({ id: 'n', name: 'New Shop', status: 'Provisioning', phase: 'queued', created_at: '2026-11-25T12:00:00Z', ready_at: null });
    const { fetch, calls } = scriptedFetch({
      'GET /api/me': () => (signedIn ? { body: ann } : { status: 401, body: { error: 'not signed in', code: 'unauthenticated' } }),
      'POST /api/session': () => {
        signedIn = true;
        return { status: 201, body: { user: ann.user, role: 'user', token: 't', expires_at: 'x' } };
      },
      'GET /api/stores': { body: { stores: [store()] } },
      'POST /api/stores': { status: 201, body: created },
      [`DELETE /api/stores/${store().id}`]: { status: 202, body: store({ status: 'Deleting', phase: 'uninstalling', updated_at: '2026-11-25T13:00:00Z', can_delete: false }) },
      'DELETE /api/session': { status: 204 },
    });
    const api = new Api({ fetch, storage: null });
    render(<App api={api} live={{ EventSource: FakeEventSource as unknown as typeof EventSource }} />);

    fireEvent.change(await screen.findByLabelText('Email'), { target: { value: 'ann@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Your stores' })).toBeTruthy();
    expect(await screen.findByText('Acme Shoes')).toBeTruthy();

    // A change over the stream shows up without any request.
    const es = FakeEventSource.last();
    act(() => {
      es.emit('open');
      es.emit('store', store({ status: 'Failed', error_message: 'the chart failed', updated_at: '2026-11-25T12:30:00Z', can_retry: true }));
    });
    expect(await screen.findByText('the chart failed')).toBeTruthy();

    fireEvent.click(screen.getAllByRole('link', { name: 'New store' })[0]);
    fireEvent.change(await screen.findByLabelText('Store name'), { target: { value: 'New Shop' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create store' }));
    expect(await screen.findByText(/Store “New Shop” created/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'New Shop' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Delete Acme Shoes' }));
    const dialog = screen.getByRole('alertdialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete store' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(calls.some((c) => c.method === 'DELETE' && c.path === `/api/stores/${store().id}`)).toBe(true);
    const row = screen.getByRole('link', { name: 'Acme Shoes' }).closest('tr')!;
    expect(within(row).getByText('Deleting')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByText('You have signed out.')).toBeTruthy();
  });

  it('offers the demo sign-in when the server runs in demo mode', async () => {
    const { fetch } = scriptedFetch({
      'GET /api/me': { status: 401, body: { error: 'not signed in: the x-user-id header is missing', code: 'unauthenticated' }, headers: { 'x-store-weaver-auth': 'demo-insecure' } },
    });
    render(<App api={new Api({ fetch, storage: null })} live={{ EventSource: null }} />);
    expect(await screen.findByText(/Demo mode:/)).toBeTruthy();
  });
});

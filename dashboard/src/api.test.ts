import { describe, expect, it, vi } from 'vitest';
import { Api, ApiError, explain } from './api';
import { scriptedFetch, store } from './test-utils';

const memory = () => {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
};

describe('Api', () => {
  it('lists stores from GET /api/stores', async () => {
    const { fetch, calls } = scriptedFetch({
      'GET /api/stores': { body: { stores: [store()], next_cursor: 'c1', total: 51 } },
    });
    const api = new Api({ fetch, storage: null });
    const page = await api.listStores();
    expect(page.stores).toHaveLength(1);
    expect(page.stores[0].name).toBe('Acme Shoes');
    expect(page.next_cursor).toBe('c1');
    expect(page.total).toBe(51);
    expect(calls[0]).toMatchObject({ method: 'GET', path: '/api/stores?limit=50' });
    expect(calls[0].headers.Accept).toBe('application/json');
    await api.listStores({ q: 'acme shoes', status: 'Failed', owner: 'bob@example.com' }, 'c1');
    expect(calls[1].path).toBe('/api/stores?limit=50&q=acme+shoes&status=Failed&owner=bob%40example.com&cursor=c1');
  });

  it('creates with a JSON body and an Idempotency-Key header', async () => {
    const { fetch, calls } = scriptedFetch({ 'POST /api/stores': { status: 201, body: store() } });
    const api = new Api({ fetch, storage: null });
    await api.createStore('Acme Shoes', 'key-1');
    expect(calls[0].body).toEqual({ name: 'Acme Shoes' });
    expect(calls[0].headers['Idempotency-Key']).toBe('key-1');
    expect(calls[0].headers['Content-Type']).toBe('application/json');
  });

  it('uses the real paths for every store action', async () => {
    const id = store().id;
    const { fetch, calls } = scriptedFetch({
      [`GET /api/stores/${id}`]: { body: store() },
      [`GET /api/stores/${id}/detail`]: { body: { store: store(), resources: [], events: [] } },
      [`GET /api/stores/${id}/timeline`]: { body: { entries: [], next_cursor: null, total: 0 } },
      [`POST /api/stores/${id}/retry`]: { status: 202, body: store() },
      [`DELETE /api/stores/${id}`]: { status: 202, body: store({ status: 'Deleting' }) },
      [`POST /api/stores/${id}/credentials`]: { body: { username: 'admin', password: 'p', login_url: 'u' } },
    });
    const api = new Api({ fetch, storage: null });
    await api.getStore(id);
    await api.detail(id);
    await api.timeline(id);
    await api.retry(id);
    expect((await api.deleteStore(id)).status).toBe('Deleting');
    expect((await api.credentials(id)).username).toBe('admin');
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `GET /api/stores/${id}`,
      `GET /api/stores/${id}/detail`,
      `GET /api/stores/${id}/timeline`,
      `POST /api/stores/${id}/retry`,
      `DELETE /api/stores/${id}`,
      `POST /api/stores/${id}/credentials`,
    ]);
  });

  it('turns the error shape into an ApiError with field, code and limit', async () => {
    const { fetch } = scriptedFetch({
      'POST /api/stores': [
        { status: 422, body: { error: 'the store name is empty', code: 'invalid', field: 'name' } },
        {
          status: 429,
          body: { error: 'rate limit: at most 5 creates per minute for user ann; try again in 30s', code: 'rate_limited', limit: 'create_rate_per_user' },
          headers: { 'Retry-After': '30' },
        },
      ],
    });
    const api = new Api({ fetch, storage: null });
    const e1 = await api.createStore('').catch((e) => e);
    expect(e1).toBeInstanceOf(ApiError);
    expect(e1).toMatchObject({ status: 422, code: 'invalid', field: 'name', message: 'the store name is empty' });
    const e2 = await api.createStore('x').catch((e) => e);
    expect(e2).toMatchObject({ status: 429, code: 'rate_limited', limit: 'create_rate_per_user', retryAfter: 30 });
  });

  it('says when the server cannot be reached, and when an answer is not JSON', async () => {
    const api = new Api({ fetch: vi.fn().mockRejectedValue(new TypeError('Failed to fetch')), storage: null });
    const e = await api.me().catch((x) => x);
    expect(e).toMatchObject({ status: 0, code: 'network' });
    expect(e.message).toMatch(/Cannot reach the Store Weaver server/);

    const html = vi.fn().mockResolvedValue(new Response('<html>', { status: 502, statusText: 'Bad Gateway' }));
    const e2 = await new Api({ fetch: html, storage: null }).me().catch((x) => x);
    expect(e2).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('calls onUnauthorized on a 401', async () => {
    const { fetch } = scriptedFetch({ 'GET /api/stores': { status: 401, body: { error: 'not signed in', code: 'unauthenticated' } } });
    const api = new Api({ fetch, storage: null });
    const seen = vi.fn();
    api.onUnauthorized = seen;
    await expect(api.listStores()).rejects.toMatchObject({ status: 401 });
    expect(seen).toHaveBeenCalledOnce();
  });

  it('signs in with POST /api/session and does not keep the token', async () => {
    const { fetch, calls } = scriptedFetch({
      'POST /api/session': { status: 201, body: { user: 'ann@example.com', role: 'user', token: 'secret', expires_at: 'x' } },
      'DELETE /api/session': { status: 204 },
    });
    const api = new Api({ fetch, storage: null });
    const out = await api.signIn('ann@example.com', 'pw');
    expect(out.token).toBe('');
    expect(calls[0].body).toEqual({ email: 'ann@example.com', password: 'pw' });
    await api.signOut();
    expect(calls[1]).toMatchObject({ method: 'DELETE', path: '/api/session' });
  });

  it('in demo mode sends X-User-Id, remembers it, and notices the demo header', async () => {
    const storage = memory();
    const { fetch, calls } = scriptedFetch({
      'GET /api/me': { body: { user: 'bob@example.com', role: 'user', auth_mode: 'demo', method: 'demo' }, headers: { 'x-store-weaver-auth': 'demo-insecure' } },
    });
    const api = new Api({ fetch, storage });
    api.useDemoUser('bob@example.com');
    await api.me();
    expect(calls[0].headers['X-User-Id']).toBe('bob@example.com');
    expect(api.demoMode).toBe(true);
    expect(api.canStream()).toBe(false);
    expect(new Api({ fetch, storage }).demoUser).toBe('bob@example.com');
    await api.signOut();
    expect(new Api({ fetch, storage }).demoUser).toBeNull();
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
  });
});

describe('explain', () => {
  const err = (status: number, body: object, retry?: number) =>
    new ApiError(status, { error: 'x', code: 'c', ...body } as never, retry);

  it('explains the store limits and the rate limits', () => {
    expect(explain(err(429, { error: 'user ann has 3 stores; the limit is 3', limit: 'MAX_STORES_PER_USER' }))).toMatch(
      /^You have reached your store limit, so no store was created \(user ann has 3 stores; the limit is 3\)\. Delete a store/,
    );
    expect(explain(err(429, { error: 'the platform has 100 stores', limit: 'MAX_STORES' }))).toMatch(/The platform is full/);
    expect(explain(err(429, { error: 'rate limit: at most 5 creates per minute for address 1.2.3.4', limit: 'create_rate_per_address' }, 12))).toBe(
      'Slow down: rate limit: at most 5 creates per minute for address 1.2.3.4. Try again in 12 s.',
    );
    expect(explain(err(429, { limit: 'sign_in_rate' }, 40))).toBe('Too many failed sign-ins. Try again in 40 s.');
    expect(explain(err(429, { limit: 'sign_in_failures_account' }, 10))).toBe('Too many failed sign-ins. Try again in 10 s.');
  });

  it('passes other messages through', () => {
    expect(explain(err(409, { error: 'a store named Acme already exists' }))).toBe('a store named Acme already exists');
    expect(explain(err(503, { error: 'the database is unavailable' }))).toMatch(/^The server could not do it/);
    expect(explain(new Error('boom'))).toBe('boom');
  });
});

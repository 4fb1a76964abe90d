import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { anyBusy, applyChange, matches, useLiveStores } from './live';
import { FakeEventSource, scriptedFetch, store } from './test-utils';

const a = store({ id: 'a', name: 'A', created_at: '2026-11-25T10:00:00Z' });
const b = store({ id: 'b', name: 'B', created_at: '2026-11-25T11:00:00Z', status: 'Provisioning', phase: 'installing' });

describe('applyChange', () => {
  it('adds newest first, replaces, and drops deleted stores', () => {
    let list = applyChange([], a);
    list = applyChange(list, b);
    expect(list.map((s) => s.id)).toEqual(['b', 'a']);
    list = applyChange(list, { ...b, status: 'Ready', updated_at: '2026-11-25T11:05:00Z' });
    expect(list[0].status).toBe('Ready');
    list = applyChange(list, { ...a, status: 'Deleted', updated_at: '2026-11-25T12:00:00Z' });
    expect(list.map((s) => s.id)).toEqual(['b']);
  });

  it('ignores a change older than what it has', () => {
    const list = [{ ...a, status: 'Ready' as const, updated_at: '2026-11-25T12:00:00Z' }];
    expect(applyChange(list, { ...a, status: 'Provisioning', updated_at: '2026-11-25T10:00:00Z' })).toBe(list);
  });

  it('knows when something is under way', () => {
    expect(anyBusy([a])).toBe(false);
    expect(anyBusy([a, b])).toBe(true);
  });
});

describe('a filtered list', () => {
  it('matches like the server: status, owner, any-case substring of name, namespace or address', () => {
    expect(matches(a, {})).toBe(true);
    expect(matches(a, { status: 'Ready' })).toBe(true);
    expect(matches(a, { status: 'Failed' })).toBe(false);
    expect(matches(a, { owner: 'ANN@example.com' })).toBe(true);
    expect(matches(a, { owner: 'bob@example.com' })).toBe(false);
    expect(matches(a, { q: 'acme-SHOES' })).toBe(true);
    expect(matches(a, { q: 'nothing' })).toBe(false);
    expect(matches({ ...a, status: 'Deleted' }, {})).toBe(false);
  });

  it('a store that leaves the filter leaves the page, one that enters it joins', () => {
    const failed = { ...b, status: 'Failed' as const, updated_at: '2026-11-25T11:10:00Z' };
    let list = applyChange([], failed, { status: 'Failed' });
    expect(list.map((s) => s.id)).toEqual(['b']);
    list = applyChange(list, { ...failed, status: 'Provisioning', updated_at: '2026-11-25T11:11:00Z' }, { status: 'Failed' });
    expect(list).toEqual([]);
    // A change to a store that is not shown and does not match: nothing.
    expect(applyChange(list, a, { status: 'Failed' })).toBe(list);
  });

  it('compares update times as instants, whatever the fraction digits', () => {
    const list = [{ ...a, updated_at: '2026-11-25T12:00:00.5Z' }];
    expect(applyChange(list, { ...a, phase: 'secrets', updated_at: '2026-11-25T12:00:00.123456Z' })).toBe(list);
    expect(applyChange(list, { ...a, phase: 'secrets', updated_at: '2026-11-25T12:00:00.500001Z' })[0].phase).toBe('secrets');
  });
});

describe('useLiveStores', () => {
  it('keeps a filtered page right as stores change, and pages on', async () => {
    const ready = store({ id: 'r', name: 'R', status: 'Ready', created_at: '2026-11-25T09:00:00Z' });
    const { fetch, calls } = scriptedFetch({
      'GET /api/stores': (c) =>
        c.path.includes('cursor=next')
          ? { body: { stores: [ready], next_cursor: null, total: 2 } }
          : { body: { stores: [a], next_cursor: 'next', total: 2 } },
    });
    const api = new Api({ fetch, storage: null });
    const { result } = renderHook(() =>
      useLiveStores(api, { status: 'Ready' }, { EventSource: FakeEventSource as unknown as typeof EventSource }),
    );
    await waitFor(() => expect(result.current.stores).toHaveLength(1));
    expect(calls[0].path).toBe('/api/stores?limit=50&status=Ready');
    expect(result.current.more).toBe(true);
    await act(async () => {
      await result.current.loadMore();
    });
    expect(result.current.stores!.map((s) => s.id)).toEqual(['a', 'r']);
    expect(result.current.more).toBe(false);
    const es = FakeEventSource.last();
    // A fails: it leaves the Ready page; the total follows.
    act(() => es.emit('store', { ...a, status: 'Failed', updated_at: '2026-11-25T12:00:00Z' }));
    expect(result.current.stores!.map((s) => s.id)).toEqual(['r']);
    expect(result.current.total).toBe(1);
    // B becomes Ready: it joins.
    act(() => es.emit('store', { ...b, status: 'Ready', updated_at: '2026-11-25T12:01:00Z' }));
    expect(result.current.stores!.map((s) => s.id)).toEqual(['b', 'r']);
    expect(result.current.total).toBe(2);
  });


  beforeEach(() => FakeEventSource.reset());
  afterEach(() => vi.useRealTimers());

  it('loads the first page, then takes each store event from the stream, and reloads on resync', async () => {
    let n = 0;
    const { fetch, calls } = scriptedFetch({
      'GET /api/stores': () => ({ body: { stores: n++ === 0 ? [a] : [b, a], next_cursor: null, total: n } }),
    });
    const api = new Api({ fetch, storage: null });
    const { result } = renderHook(() =>
      useLiveStores(api, {}, { EventSource: FakeEventSource as unknown as typeof EventSource }),
    );
    await waitFor(() => expect(result.current.stores).toHaveLength(1));
    const es = FakeEventSource.last();
    expect(es.url).toBe('/api/stream?snapshot=false');
    act(() => {
      es.emit('open');
      es.emit('resync', {});
    });
    await waitFor(() => expect(result.current.stores).toHaveLength(2));
    expect(calls).toHaveLength(2);
    expect(result.current.mode).toBe('stream');
    expect(result.current.stores!.map((s) => s.id)).toEqual(['b', 'a']);
    act(() => es.emit('store', { ...b, status: 'Ready', phase: 'done', updated_at: '2026-11-25T11:03:00Z' }));
    expect(result.current.stores![0].status).toBe('Ready');
    act(() => es.emit('error', { error: 'the database is unavailable', code: 'unavailable' }));
    expect(result.current.error).toBe('the database is unavailable');
    expect(result.current.mode).toBe('stream');
  });

  it('polls every 5 s while a store is busy and the stream is down, and stops when it is back', async () => {
    vi.useFakeTimers();
    let n = 0;
    const { fetch, calls } = scriptedFetch({
      'GET /api/stores': () => ({ body: { stores: [n++ < 2 ? b : { ...b, status: 'Ready', updated_at: '2026-11-25T11:09:00Z' }], next_cursor: null, total: 1 } }),
    });
    const api = new Api({ fetch, storage: null });
    const { result } = renderHook(() =>
      useLiveStores(api, {}, { EventSource: FakeEventSource as unknown as typeof EventSource }),
    );
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(calls).toHaveLength(1);
    act(() => FakeEventSource.last().fail());
    expect(result.current.mode).toBe('polling');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(5000);
    });
    expect(calls).toHaveLength(2);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(5000);
    });
    expect(calls).toHaveLength(3);
    expect(result.current.stores![0].status).toBe('Ready');
    // Nothing busy any more: no more polling.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(20_000);
    });
    expect(calls).toHaveLength(3);
    // The stream comes back.
    act(() => FakeEventSource.last().emit('open'));
    expect(result.current.mode).toBe('stream');
  });

  it('reopens the stream after the browser gives up on it', async () => {
    vi.useFakeTimers();
    const { fetch, calls } = scriptedFetch({
      'GET /api/stores': { body: { stores: [a], next_cursor: null, total: 1 } },
      'GET /api/me': { body: { user: 'ann@example.com', role: 'user', auth_mode: 'password', method: 'cookie' } },
    });
    const api = new Api({ fetch, storage: null });
    renderHook(() => useLiveStores(api, {}, { EventSource: FakeEventSource as unknown as typeof EventSource, retryMs: 1000 }));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    act(() => FakeEventSource.last().fail(true));
    expect(FakeEventSource.last().closed).toBe(true);
    expect(calls.some((c) => c.path === '/api/me')).toBe(true);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000);
    });
    expect(FakeEventSource.instances).toHaveLength(2);
  });

  it('polls from the start in demo mode, where EventSource cannot send the user header', async () => {
    const { fetch } = scriptedFetch({ 'GET /api/stores': { body: { stores: [], next_cursor: null, total: 0 } } });
    const api = new Api({ fetch, storage: null });
    api.demoUser = 'bob@example.com';
    const { result } = renderHook(() => useLiveStores(api, {}, { EventSource: FakeEventSource as unknown as typeof EventSource }));
    await waitFor(() => expect(result.current.stores).toEqual([]));
    expect(result.current.mode).toBe('polling');
    expect(FakeEventSource.instances).toHaveLength(0);
  });
});

import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { anyBusy, applyChange, useLiveStores } from './live';
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

describe('useLiveStores', () => {
  beforeEach(() => FakeEventSource.reset());
  afterEach(() => vi.useRealTimers());

  it('takes the snapshot and each store event from the stream', async () => {
    const { fetch } = scriptedFetch({ 'GET /api/stores': { body: { stores: [a] } } });
    const api = new Api({ fetch, storage: null });
    const { result } = renderHook(() =>
      useLiveStores(api, { EventSource: FakeEventSource as unknown as typeof EventSource }),
    );
    await waitFor(() => expect(result.current.stores).toHaveLength(1));
    const es = FakeEventSource.last();
    expect(es.url).toBe('/api/stream');
    act(() => {
      es.emit('open');
      es.emit('snapshot', { stores: [a, b] });
    });
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
      'GET /api/stores': () => ({ body: { stores: [n++ < 2 ? b : { ...b, status: 'Ready', updated_at: '2026-11-25T11:09:00Z' }] } }),
    });
    const api = new Api({ fetch, storage: null });
    const { result } = renderHook(() =>
      useLiveStores(api, { EventSource: FakeEventSource as unknown as typeof EventSource }),
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
      'GET /api/stores': { body: { stores: [a] } },
      'GET /api/me': { body: { user: 'ann@example.com', role: 'user', auth_mode: 'password', method: 'cookie' } },
    });
    const api = new Api({ fetch, storage: null });
    renderHook(() => useLiveStores(api, { EventSource: FakeEventSource as unknown as typeof EventSource, retryMs: 1000 }));
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
    const { fetch } = scriptedFetch({ 'GET /api/stores': { body: { stores: [] } } });
    const api = new Api({ fetch, storage: null });
    api.demoUser = 'bob@example.com';
    const { result } = renderHook(() => useLiveStores(api, { EventSource: FakeEventSource as unknown as typeof EventSource }));
    await waitFor(() => expect(result.current.stores).toEqual([]));
    expect(result.current.mode).toBe('polling');
    expect(FakeEventSource.instances).toHaveLength(0);
  });
});

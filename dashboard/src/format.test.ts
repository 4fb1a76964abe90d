import { describe, expect, it } from 'vitest';
import { actionLabel, formatAgo, formatDuration, phaseLabel, provisionTime } from './format';
import { parseRoute, hrefFor } from './router';
import { store } from './test-utils';

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('under 1 s');
    expect(formatDuration(1400)).toBe('1 s');
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(124_000)).toBe('2 min 4 s');
    expect(formatDuration(3_600_000 * 2 + 60_000 * 5)).toBe('2 h 5 min');
    expect(formatDuration(86_400_000 * 3)).toBe('3 d');
    expect(formatDuration(-1)).toBe('—');
  });

  it('says how long ago', () => {
    const now = Date.parse('2026-11-25T10:30:00Z');
    expect(formatAgo('2026-11-25T10:29:50Z', now)).toBe('just now');
    expect(formatAgo('2026-11-25T10:25:00Z', now)).toBe('5 min ago');
    expect(formatAgo('2026-11-25T07:30:00Z', now)).toBe('3 h ago');
    expect(formatAgo(null, now)).toBe('—');
  });

  it('gives the provisioning time of a ready store, and the running time of a provisioning one', () => {
    expect(provisionTime(store())).toEqual({ text: '2 min 4 s', running: false });
    const now = Date.parse('2026-11-25T10:00:31Z');
    expect(provisionTime(store({ status: 'Provisioning', ready_at: null }), now)).toEqual({ text: '30 s', running: true });
    expect(provisionTime(store({ provision_started_at: null }))).toBeNull();
    expect(provisionTime(store({ status: 'Failed', ready_at: null }))).toBeNull();
  });

  it('labels phases and audit actions', () => {
    expect(phaseLabel('waiting-for-ready')).toBe('waiting for pods');
    expect(phaseLabel('something-new')).toBe('something-new');
    expect(actionLabel('store.credentials.reveal')).toBe('credentials reveal');
    expect(actionLabel('store.create')).toBe('create');
  });
});

describe('router', () => {
  it('parses and builds the app paths', () => {
    expect(parseRoute('/')).toEqual({ name: 'list', filter: {} });
    expect(parseRoute('/stores/')).toEqual({ name: 'list', filter: {} });
    expect(parseRoute('/', '?q=acme&status=Failed&owner=bob%40example.com&junk=1')).toEqual({
      name: 'list',
      filter: { q: 'acme', status: 'Failed', owner: 'bob@example.com' },
    });
    expect(parseRoute('/', '?status=Happy').name === 'list' && parseRoute('/', '?status=Happy')).toEqual({ name: 'list', filter: {} });
    expect(hrefFor({ name: 'list', filter: { q: 'a b', status: 'Ready' } })).toBe('/?q=a+b&status=Ready');
    expect(hrefFor({ name: 'list' })).toBe('/');
    expect(parseRoute('/stores/new')).toEqual({ name: 'new' });
    expect(parseRoute('/stores/abc-123')).toEqual({ name: 'store', id: 'abc-123' });
    expect(parseRoute('/nope/x')).toEqual({ name: 'notFound', path: '/nope/x' });
    expect(hrefFor({ name: 'store', id: 'a b' })).toBe('/stores/a%20b');
  });
});

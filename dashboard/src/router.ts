// A tiny router over the History API; the server answers every path that is
// not a file with index.html.

import { useEffect, useState } from 'react';
import type { ListFilter } from './api';
import type { StoreStatus } from './types';

export type Route =
  | { name: 'list'; filter?: ListFilter }
  | { name: 'new' }
  | { name: 'store'; id: string }
  | { name: 'deleted' }
  | { name: 'notFound'; path: string };

const STATUSES: readonly string[] = ['Provisioning', 'Ready', 'Failed', 'Deleting'];

/** The list's filter from a query string (`?q=…&status=…&owner=…`). */
export function parseFilter(search: string): ListFilter {
  const p = new URLSearchParams(search);
  const f: ListFilter = {};
  const q = p.get('q')?.trim();
  if (q) f.q = q;
  const status = p.get('status') ?? '';
  if (STATUSES.includes(status)) f.status = status as StoreStatus;
  const owner = p.get('owner')?.trim();
  if (owner) f.owner = owner;
  return f;
}

export function filterQuery(f: ListFilter = {}): string {
  const p = new URLSearchParams();
  if (f.q) p.set('q', f.q);
  if (f.status) p.set('status', f.status);
  if (f.owner) p.set('owner', f.owner);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function parseRoute(path: string, search = ''): Route {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/stores') return { name: 'list', filter: parseFilter(search) };
  if (p === '/stores/new') return { name: 'new' };
  if (p === '/deleted') return { name: 'deleted' };
  const m = /^\/stores\/([^/]+)$/.exec(p);
  if (m) return { name: 'store', id: decodeURIComponent(m[1]) };
  return { name: 'notFound', path };
}

export function hrefFor(r: Route): string {
  switch (r.name) {
    case 'list':
      return `/${filterQuery(r.filter)}`;
    case 'new':
      return '/stores/new';
    case 'store':
      return `/stores/${encodeURIComponent(r.id)}`;
    case 'deleted':
      return '/deleted';
    case 'notFound':
      return r.path;
  }
}

const NAV_EVENT = 'store-weaver:navigate';

export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAV_EVENT));
}

export function useRoute(): Route {
  const here = () => window.location.pathname + window.location.search;
  const [path, setPath] = useState(here);
  useEffect(() => {
    const on = () => setPath(here());
    window.addEventListener('popstate', on);
    window.addEventListener(NAV_EVENT, on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener(NAV_EVENT, on);
    };
  }, []);
  const [pathname, search] = path.split(/(?=\?)/);
  return parseRoute(pathname, search ?? '');
}

/** A plain left click on an in-app link: handle it without reloading. */
export function onLinkClick(e: React.MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = e.currentTarget.getAttribute('href');
  if (!href || !href.startsWith('/')) return;
  e.preventDefault();
  navigate(href);
}

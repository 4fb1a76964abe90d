// A tiny router over the History API; the server answers every path that is
// not a file with index.html.

import { useEffect, useState } from 'react';

export type Route =
  | { name: 'list' }
  | { name: 'new' }
  | { name: 'store'; id: string }
  | { name: 'notFound'; path: string };

export function parseRoute(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/stores') return { name: 'list' };
  if (p === '/stores/new') return { name: 'new' };
  const m = /^\/stores\/([^/]+)$/.exec(p);
  if (m) return { name: 'store', id: decodeURIComponent(m[1]) };
  return { name: 'notFound', path };
}

export function hrefFor(r: Route): string {
  switch (r.name) {
    case 'list':
      return '/';
    case 'new':
      return '/stores/new';
    case 'store':
      return `/stores/${encodeURIComponent(r.id)}`;
    case 'notFound':
      return r.path;
  }
}

const NAV_EVENT = 'store-weaver:navigate';

export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAV_EVENT));
}

export function useRoute(): Route {
  const [path, setPath] = useState(() => window.location.pathname);
  useEffect(() => {
    const on = () => setPath(window.location.pathname);
    window.addEventListener('popstate', on);
    window.addEventListener(NAV_EVENT, on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener(NAV_EVENT, on);
    };
  }, []);
  return parseRoute(path);
}

/** A plain left click on an in-app link: handle it without reloading. */
export function onLinkClick(e: React.MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = e.currentTarget.getAttribute('href');
  if (!href || !href.startsWith('/')) return;
  e.preventDefault();
  navigate(href);
}

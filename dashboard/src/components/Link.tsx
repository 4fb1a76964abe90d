import type { AnchorHTMLAttributes } from 'react';
import { onLinkClick } from '../router';

/** An in-app link: a real `<a href>` (opens in a new tab, keyboard-usable) that navigates without reloading. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { onClick, ...rest } = props;
  return (
    <a
      {...rest}
      onClick={(e) => {
        onClick?.(e);
        onLinkClick(e);
      }}
    />
  );
}

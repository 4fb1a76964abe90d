import { useEffect, useRef, useState } from 'react';
import { Api, ApiError, explain } from '../api';
import type { Me } from '../types';

export interface SignInProps {
  api: Api;
  /** `demo`: the server trusts an email with no password (labelled as insecure). */
  mode: 'password' | 'demo';
  /** Why the user is here again, e.g. an expired session. */
  notice?: string | null;
  onSignedIn: (me: Me) => void;
}

export function SignIn({ api, mode, notice, onSignedIn }: SignInProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const heading = useRef<HTMLHeadingElement>(null);
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · Store Weaver';
    emailRef.current?.focus();
  }, []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!email.trim()) errs.email = 'Enter the email address you sign in with.';
    if (mode === 'password' && !password) errs.password = 'Enter your password.';
    setFieldErrors(errs);
    setError(null);
    if (Object.keys(errs).length) {
      (errs.email ? emailRef : passwordRef).current?.focus();
      return;
    }
    setBusy(true);
    try {
      if (mode === 'demo') {
        api.useDemoUser(email.trim());
      } else {
        await api.signIn(email.trim(), password);
      }
      const me = await api.me();
      onSignedIn(me);
    } catch (err) {
      if (mode === 'demo') api.useDemoUser(null);
      if (err instanceof ApiError && err.field && (err.field === 'email' || err.field === 'password')) {
        setFieldErrors({ [err.field]: err.message });
        (err.field === 'email' ? emailRef : passwordRef).current?.focus();
      } else {
        setError(explain(err));
      }
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin">
      <form className="card" onSubmit={submit} noValidate aria-labelledby="signin-title">
        <h1 id="signin-title" ref={heading} tabIndex={-1}>
          Sign in to Store Weaver
        </h1>
        {mode === 'demo' ? (
          <p className="warning" role="note">
            <strong>Demo mode:</strong> this server trusts any email without a password. Anyone who can reach it can act as
            anyone. Do not use it for real stores.
          </p>
        ) : null}
        {notice ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="field">
          <label htmlFor="signin-email">Email</label>
          <input
            ref={emailRef}
            id="signin-email"
            name="email"
            type="email"
            autoComplete="username"
            inputMode="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            aria-invalid={fieldErrors.email ? true : undefined}
            aria-describedby={fieldErrors.email ? 'signin-email-error' : undefined}
          />
          {fieldErrors.email ? (
            <p id="signin-email-error" className="field-error">
              {fieldErrors.email}
            </p>
          ) : null}
        </div>
        {mode === 'password' ? (
          <div className="field">
            <label htmlFor="signin-password">Password</label>
            <input
              ref={passwordRef}
              id="signin-password"
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={fieldErrors.password ? true : undefined}
              aria-describedby={fieldErrors.password ? 'signin-password-error' : undefined}
            />
            {fieldErrors.password ? (
              <p id="signin-password-error" className="field-error">
                {fieldErrors.password}
              </p>
            ) : null}
          </div>
        ) : null}
        <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {mode === 'password' ? (
          <p className="hint">Accounts are created by an operator (<code>store-weaver user add</code>).</p>
        ) : null}
      </form>
    </main>
  );
}

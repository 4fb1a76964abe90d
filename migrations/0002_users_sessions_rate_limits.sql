-- Users of the HTTP API (created by an operator with `store-weaver user add`),
-- their sessions, and the events behind the create and sign-in rate limits.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    -- Lower-case; it is also the owner of the user's stores.
    email         text        NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    -- Argon2id in PHC string form.
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'user')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    last_login_at timestamptz
);
CREATE UNIQUE INDEX users_email ON users (email);

-- A session is a random 256-bit token given to the client once; only its
-- SHA-256 is kept, so a copy of this table signs nobody in.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    user_agent   text,
    client_addr  text
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- One row per counted request (a create, a sign-in attempt). Limits count the
-- rows of a bucket in a sliding window, in a transaction that holds an
-- advisory lock on the bucket, so they are exact across every replica.
CREATE TABLE rate_limit_events (
    id     bigserial PRIMARY KEY,
    bucket text        NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rate_limit_events_bucket_at ON rate_limit_events (bucket, at);
CREATE INDEX rate_limit_events_at ON rate_limit_events (at);

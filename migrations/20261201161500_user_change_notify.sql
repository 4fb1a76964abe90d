-- Live streams end when their user is disabled, deleted, changes role or
-- password, or loses sessions: every such change is announced on the
-- `store_weaver_users` channel with the user's email, from whichever process
-- (an API replica, the `user` command, psql) made it.

CREATE FUNCTION store_weaver_notify_user_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('store_weaver_users', OLD.email);
    ELSE
        PERFORM pg_notify('store_weaver_users', NEW.email);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_notify_change
    AFTER UPDATE OF disabled_at, password_hash, role ON users
    FOR EACH ROW
    WHEN (OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
          OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
          OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION store_weaver_notify_user_change();

CREATE TRIGGER users_notify_delete
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION store_weaver_notify_user_change();

-- Sessions ended (sign-out, expiry, a password change): one notification per
-- user per statement, however many sessions went.
CREATE FUNCTION store_weaver_notify_sessions_gone() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('store_weaver_users', u.email)
    FROM (SELECT DISTINCT user_id FROM gone) g JOIN users u ON u.id = g.user_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_notify_delete
    AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION store_weaver_notify_sessions_gone();

-- An account added is announced on `store_weaver_users` too: an API replica
-- remembers that a proxy or demo identity without an account is a user, and
-- an account made for it later (perhaps as admin) must reach that memory.

CREATE TRIGGER users_notify_insert
    AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION store_weaver_notify_user_change();

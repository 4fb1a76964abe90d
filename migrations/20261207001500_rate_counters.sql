-- Create-rate limits as counters (issue 29): one row per bucket holding the
-- events of each second of the window, instead of a row per event counted
-- under an advisory lock held through ten round trips and a commit. A take
-- is one call of rate_take(): it locks its buckets' rows (in name order, so
-- two takes never wait on each other in a cycle), sums each window, and
-- counts one event in every bucket only if all have room. The row lock
-- makes the check-and-count atomic across every process and replica, so
-- the limit stays exact; it is held for that one statement only.
--
-- Windows are whole seconds: an event counts for the second it happened in
-- and the next (window - 1) seconds, so at most `limit` events fall in any
-- `window` consecutive seconds.
CREATE TABLE rate_counters (
    bucket text PRIMARY KEY,
    newest bigint    NOT NULL, -- the second (Unix time) counts were last moved to
    counts integer[] NOT NULL  -- counts[1 + second % window]: events in that second
);

-- `counts` as of second `s`: the seconds after `newest` up to `s` start at
-- zero (a whole new window when `newest` is a window or more ago, or the
-- window's length changed).
CREATE FUNCTION rate_window(counts integer[], newest bigint, s bigint, n integer)
RETURNS integer[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    moved integer[] := counts;
    t bigint;
BEGIN
    IF s - newest >= n OR array_length(counts, 1) IS DISTINCT FROM n THEN
        RETURN array_fill(0, ARRAY[n]);
    END IF;
    FOR t IN newest + 1 .. s LOOP
        moved[1 + (t % n)::integer] := 0;
    END LOOP;
    RETURN moved;
END $$;

-- Counts one event in each of `buckets` if each has fewer than its limit in
-- the last `window_secs` seconds; otherwise counts nothing and returns the
-- first full bucket's index (0-based, in the order given) and the seconds
-- until an event leaves its window. No row: counted.
CREATE FUNCTION rate_take(buckets text[], limits integer[], window_secs integer)
RETURNS TABLE (full_index integer, retry_secs double precision)
LANGUAGE plpgsql AS $$
DECLARE
    n integer := greatest(window_secs, 1);
    b text;
    i integer;
    now_ts double precision;
    s bigint;
    c integer[];
    nw bigint;
    total bigint;
    t bigint;
BEGIN
    -- This transaction's commit does not wait for its WAL flush, so the row
    -- locks are not held through it. Still exact: a store made after this
    -- count commits later, and its (synchronous) commit flushes the WAL up
    -- to it, so no durable store lacks its durable count. A crash loses at
    -- most counts whose creates were lost with them.
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR b IN SELECT DISTINCT x FROM unnest(buckets) AS x ORDER BY x LOOP
        LOOP
            PERFORM 1 FROM rate_counters WHERE bucket = b FOR UPDATE;
            EXIT WHEN FOUND;
            INSERT INTO rate_counters (bucket, newest, counts)
            VALUES (b, 0, array_fill(0, ARRAY[n]))
            ON CONFLICT (bucket) DO NOTHING;
        END LOOP;
    END LOOP;
    -- Read the clock once every row is locked: a take that waited counts
    -- in the second it went on in.
    now_ts := extract(epoch FROM clock_timestamp());
    FOR i IN 1 .. coalesce(array_length(buckets, 1), 0) LOOP
        SELECT r.newest, r.counts INTO nw, c FROM rate_counters r WHERE r.bucket = buckets[i];
        s := greatest(floor(now_ts)::bigint, nw);
        c := rate_window(c, nw, s, n);
        SELECT coalesce(sum(x), 0) INTO total FROM unnest(c) AS x;
        IF total >= limits[i] THEN
            full_index := i - 1;
            retry_secs := n;
            FOR t IN s - n + 1 .. s LOOP
                IF c[1 + (t % n)::integer] > 0 THEN
                    retry_secs := least(greatest(ceil(t + n - now_ts), 1), n);
                    EXIT;
                END IF;
            END LOOP;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(buckets, 1), 0) LOOP
        SELECT r.newest, r.counts INTO nw, c FROM rate_counters r WHERE r.bucket = buckets[i];
        s := greatest(floor(now_ts)::bigint, nw);
        c := rate_window(c, nw, s, n);
        c[1 + (s % n)::integer] := c[1 + (s % n)::integer] + 1;
        UPDATE rate_counters SET newest = s, counts = c WHERE bucket = buckets[i];
    END LOOP;
END $$;

-- Restore drills (issue 30): a store's newest complete backup restored into
-- a throwaway store (a clone owned by the drills), checked healthy and
-- holding what the backup's manifest counts, then removed. This table keeps
-- each drill's course and result; the throwaway store is an ordinary store
-- row while it exists.
CREATE TABLE drills (
    id           uuid        PRIMARY KEY,
    store_id     uuid        NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    reason       text        NOT NULL CHECK (reason IN ('manual', 'scheduled')),
    -- queued: waiting for a drill slot; restoring: its throwaway store is
    -- being provisioned from the backup; removing: its result is known and
    -- the throwaway store is being deleted; done.
    phase        text        NOT NULL DEFAULT 'queued'
        CHECK (phase IN ('queued', 'restoring', 'removing', 'done')),
    outcome      text        CHECK (outcome IN ('passed', 'failed')),
    backup_id    uuid        REFERENCES backups (id),
    clone_id     uuid        REFERENCES stores (id) ON DELETE SET NULL,
    detail       text,
    requested_by text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    checked_at   timestamptz,
    finished_at  timestamptz,
    CHECK ((phase IN ('removing', 'done')) = (outcome IS NOT NULL))
);
CREATE INDEX drills_by_store ON drills (store_id, created_at DESC);
-- One drill of a store at a time.
CREATE UNIQUE INDEX drills_one_open_per_store ON drills (store_id) WHERE phase <> 'done';
CREATE INDEX drills_open ON drills (created_at) WHERE phase <> 'done';
CREATE UNIQUE INDEX drills_by_clone ON drills (clone_id) WHERE clone_id IS NOT NULL;

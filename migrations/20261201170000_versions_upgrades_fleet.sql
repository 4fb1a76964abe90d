-- What each store runs, changing running stores, and fleet runs.

-- The chart version, the values the platform set (image tags, sizes, replicas:
-- never secrets) and the Helm revision the platform last wrote.
ALTER TABLE stores ADD COLUMN chart_version text;
ALTER TABLE stores ADD COLUMN helm_revision integer;
ALTER TABLE stores ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;

-- An upgrade's target (settings, chart) or a rollback's revision, and where
-- the store was before, so a resumed operation knows what it is doing.
ALTER TABLE operations ADD COLUMN params jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE operations ADD COLUMN from_revision integer;

-- A fleet upgrade: stores in waves, each wave after the previous one is
-- healthy, stopping at the failure budget. Any process advances it, one
-- transaction per step under the run's row lock, so it survives restarts.
CREATE TABLE fleet_runs (
    id           bigserial PRIMARY KEY,
    created_by   text        NOT NULL,
    via          text        NOT NULL,
    params       jsonb       NOT NULL,
    wave_size    integer     NOT NULL CHECK (wave_size >= 1),
    max_failures integer     NOT NULL CHECK (max_failures >= 0),
    state        text        NOT NULL DEFAULT 'running'
        CHECK (state IN ('running', 'stopped', 'cancelled', 'done')),
    current_wave integer     NOT NULL DEFAULT 0,
    -- Failures counted against the budget since the run was last (re)started.
    failures     integer     NOT NULL DEFAULT 0,
    stop_reason  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX fleet_runs_running ON fleet_runs (id) WHERE state = 'running';

CREATE TABLE fleet_items (
    run_id    bigint  NOT NULL REFERENCES fleet_runs (id),
    store_id  uuid    NOT NULL REFERENCES stores (id),
    wave      integer NOT NULL,
    state     text    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'queued', 'upgraded', 'failed', 'skipped')),
    op_id     bigint  REFERENCES operations (id),
    detail    text,
    PRIMARY KEY (run_id, store_id)
);
CREATE INDEX fleet_items_by_wave ON fleet_items (run_id, wave);

-- Backups (issue 30): a store's database and files, sealed, in an S3 bucket.
-- A backup is an operation like any other (leased, fenced, audited); this
-- table says what each attempt wrote. Only 'complete' backups, whose
-- manifest was written last and every part checked, are restored from.

ALTER TABLE stores DROP CONSTRAINT stores_status_check;
ALTER TABLE stores ADD CONSTRAINT stores_status_check
    CHECK (status IN ('Provisioning', 'Ready', 'Failed', 'Deleting', 'DeleteFailed',
                      'Deleted', 'Restoring'));

ALTER TABLE operations DROP CONSTRAINT operations_kind_check;
ALTER TABLE operations ADD CONSTRAINT operations_kind_check
    CHECK (kind IN ('provision', 'delete', 'upgrade', 'rollback', 'backup', 'restore'));

CREATE TABLE backups (
    id           uuid        PRIMARY KEY,
    store_id     uuid        NOT NULL REFERENCES stores (id),
    operation_id bigint      NOT NULL REFERENCES operations (id),
    reason       text        NOT NULL CHECK (reason IN ('manual', 'scheduled', 'final')),
    state        text        NOT NULL DEFAULT 'running'
        CHECK (state IN ('running', 'complete', 'failed', 'purged')),
    engine       text        NOT NULL,
    bytes        bigint      NOT NULL DEFAULT 0,
    manifest     jsonb,
    error        text,
    requested_by text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- A final backup is kept until then for an undelete; then purged.
    expires_at   timestamptz
);
CREATE INDEX backups_by_store ON backups (store_id, started_at DESC);
CREATE INDEX backups_expiring ON backups (expires_at) WHERE state = 'complete';

-- What each Helm revision the platform made of a store runs: a rollback to a
-- revision puts these settings back in the record. A revision missing here
-- was made by someone else (drift).
CREATE TABLE store_revisions (
    store_id      uuid        NOT NULL REFERENCES stores (id),
    revision      integer     NOT NULL CHECK (revision >= 1),
    chart_version text        NOT NULL,
    settings      jsonb       NOT NULL,
    op_id         bigint      REFERENCES operations (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, revision)
);


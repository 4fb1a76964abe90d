-- Ownership and the ledger.
--
-- The uid of the namespace the engine created for a store: a namespace of the
-- same name with another uid (deleted and re-created by someone else, or a
-- database restored beside another installation) is not the store's.
ALTER TABLE stores ADD COLUMN namespace_uid text;

-- A failed delete is not a failed provision: retrying it retries the delete.
ALTER TABLE stores DROP CONSTRAINT stores_status_check;
ALTER TABLE stores ADD CONSTRAINT stores_status_check
    CHECK (status IN ('Provisioning', 'Ready', 'Failed', 'Deleting', 'DeleteFailed', 'Deleted'));

-- Changing running stores (upgrades and rollbacks) are operations too.
ALTER TABLE operations DROP CONSTRAINT operations_kind_check;
ALTER TABLE operations ADD CONSTRAINT operations_kind_check
    CHECK (kind IN ('provision', 'delete', 'upgrade', 'rollback'));

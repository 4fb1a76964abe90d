-- Scheduled backups (issue 30): a store may override the fleet's backup
-- interval (NULL: the fleet's default from the settings; 0: never).
ALTER TABLE stores ADD COLUMN backup_every_hours integer
    CHECK (backup_every_hours IS NULL OR backup_every_hours BETWEEN 0 AND 8760);

-- The newest good backup of each store (faces, metrics, the scheduler).
CREATE INDEX backups_good_by_store ON backups (store_id, finished_at DESC)
    WHERE state = 'complete';

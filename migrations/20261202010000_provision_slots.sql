-- `max_concurrent_provisions` counts the part of an operation that runs
-- helm. A claim takes a slot (deletes take none) and a provision gives it
-- back once its chart is installed and it only waits for Kubernetes to make
-- the store Ready: that wait costs the platform nothing, and holding the
-- slot through it kept the next store's helm waiting (100 stores at 10 at
-- once took 3.3 times helm's own time). A provision taken over by another
-- worker starts again from helm, so its claim takes a slot again.
-- The default is true so that a claim by a process that predates this
-- column (a rolling upgrade) still counts; every claim sets it.
ALTER TABLE operations ADD COLUMN holds_slot boolean NOT NULL DEFAULT true;
UPDATE operations SET holds_slot = (kind <> 'delete') WHERE state = 'running';

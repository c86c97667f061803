-- Incremental Web Connector runs. A run asks QuickBooks only for what changed since the list's
-- watermark (FromModifiedDate, ListDeletedQueryRq), and a full run (every record, deletions by
-- reconciliation) comes on a schedule per connection or on request.

-- The newest TimeModified / TimeDeleted QuickBooks wrote (its local time, exactly as written) among
-- the records of the connection's last complete list of each kind. Moved only by the transaction
-- that completes the list.
ALTER TABLE connection ADD COLUMN customers_watermark TEXT;
ALTER TABLE connection ADD COLUMN employees_watermark TEXT;
-- A full run every this many days; the last full run that read every list completely; a full run
-- asked for (cleared by the first full run that started after it).
ALTER TABLE connection ADD COLUMN full_refresh_every_days BIGINT NOT NULL DEFAULT 7;
ALTER TABLE connection ADD COLUMN last_full_run_at TIMESTAMPTZ;
ALTER TABLE connection ADD COLUMN full_refresh_requested_at TIMESTAMPTZ;
-- A QuickBooks that refused ListDeletedQueryRq: who it was (product, version, qbXML version) and
-- why. Runs against the same QuickBooks are full runs; an upgraded one is tried again.
ALTER TABLE connection ADD COLUMN incremental_refused_by TEXT;
ALTER TABLE connection ADD COLUMN incremental_refused_reason TEXT;

-- run.step now also takes customers_deleted and employees_deleted: an incremental list first asks
-- for what QuickBooks deleted since its watermark.
-- full | incremental. A list runs incrementally from its *_since (FromModifiedDate, the watermark
-- less the overlap margin, in QuickBooks' local time); without one it is read in full.
ALTER TABLE run ADD COLUMN mode TEXT NOT NULL DEFAULT 'full';
ALTER TABLE run ADD COLUMN customers_since TEXT;
ALTER TABLE run ADD COLUMN employees_since TEXT;
-- The newest TimeModified / TimeDeleted this run has read of each list; the list's watermark
-- once the list is complete.
ALTER TABLE run ADD COLUMN customers_high_water TEXT;
ALTER TABLE run ADD COLUMN employees_high_water TEXT;

-- What a run changed in staging, one row per record: new, changed (edited, renamed, moved, or a
-- job whose parent was), deactivated, reactivated, deleted. Written in the transaction that
-- stages the change.
CREATE TABLE run_change (
    run_id  UUID NOT NULL REFERENCES run (run_id),
    list    TEXT NOT NULL CHECK (list IN ('customers', 'employees')),
    change  TEXT NOT NULL CHECK (change IN ('new', 'changed', 'deactivated', 'reactivated', 'deleted')),
    list_id TEXT NOT NULL,
    name    TEXT NOT NULL
);
CREATE INDEX run_change_by_run ON run_change (run_id, list, change);

-- Jobs under a parent, for bringing their full names up to date when the parent is renamed or moved.
CREATE INDEX qb_customer_by_parent ON qb_customer (connection_id, parent_list_id);

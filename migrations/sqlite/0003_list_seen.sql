-- Which ListIDs a run has seen of a list, one row per staged batch, until the list is complete
-- and its deletion sweep has run. Staging records a whole batch in one row instead of marking
-- each staged record, so a sync in which QuickBooks changed nothing writes almost nothing.
CREATE TABLE list_seen (
    run_id        BLOB NOT NULL REFERENCES run (run_id),
    connection_id BLOB NOT NULL REFERENCES connection (connection_id),
    list          TEXT NOT NULL CHECK (list IN ('customers', 'employees')),
    list_ids      TEXT NOT NULL -- a JSON array of ListIDs
);
CREATE INDEX list_seen_by_run ON list_seen (run_id, list);
CREATE INDEX list_seen_by_connection ON list_seen (connection_id);

-- When the connection's last complete list of each kind was staged: every record that is not
-- deleted was in it, so a record was last seen then or when it was last written, whichever is
-- later.
ALTER TABLE connection ADD COLUMN customers_listed_at TEXT;
ALTER TABLE connection ADD COLUMN employees_listed_at TEXT;

ALTER TABLE qb_customer DROP COLUMN seen_run_id;
ALTER TABLE qb_employee DROP COLUMN seen_run_id;

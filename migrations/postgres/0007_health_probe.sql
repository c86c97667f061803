-- One row that /healthz rewrites to prove the database can still be written (a full disk or a
-- read-only file fail here, not in a tenant's sync).
CREATE TABLE health_probe (
    health_probe_id INTEGER PRIMARY KEY,
    checked_at      TIMESTAMPTZ NOT NULL
);

-- Failed sign-ins, counted per account and per client address, so that every server process
-- sharing the database throttles the same guesser. kind: admin | qbwc (subject: the email or the
-- Web Connector user name as typed) or admin-address | qbwc-address (subject: the client IP).
-- failures counts the failures since window_start; locked_until, while in the future, refuses
-- every attempt. A successful sign-in deletes its account's row.
CREATE TABLE sign_in_failure (
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    locked_until TEXT,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX sign_in_failure_by_window ON sign_in_failure (window_start);

-- Setup links expire; a link is valid only while expires_at is in the future, so links made
-- before this migration (no expiry) are retired. link_token keeps the live link's token so that
-- a restart before setup prints the same link again; it is cleared when the link is used.
ALTER TABLE setup_token ADD COLUMN expires_at TEXT;
ALTER TABLE setup_token ADD COLUMN link_token TEXT;

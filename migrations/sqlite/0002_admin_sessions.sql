-- Browser sessions of admins. Only the SHA-256 of the session cookie is kept; the CSRF token is
-- random per session and must come back in the X-CSRF-Token header of every write.
CREATE TABLE admin_session (
    admin_session_id BLOB PRIMARY KEY,
    session_hash     TEXT NOT NULL UNIQUE,
    admin_id         BLOB NOT NULL REFERENCES admin (admin_id),
    organization_id  BLOB NOT NULL REFERENCES organization (organization_id),
    csrf_token       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);
CREATE INDEX admin_session_by_admin ON admin_session (admin_id);

-- One-time links that create the first organization and admin of an empty installation.
CREATE TABLE setup_token (
    setup_token_id BLOB PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    created_at     TEXT NOT NULL,
    used_at        TEXT
);

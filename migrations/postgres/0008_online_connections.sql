-- QuickBooks Online connections (kind 'online'), their encrypted tokens, the OAuth states in
-- flight and the pulls queued by Intuit's webhooks. Keep in step with the SQLite flavour.

-- 'desktop' (a company file reached through the Web Connector) or 'online'.
ALTER TABLE connection ADD COLUMN kind TEXT NOT NULL DEFAULT 'desktop';
-- Online only: the company (realm) id, and pending | connected | needs_reconnect.
ALTER TABLE connection ADD COLUMN realm_id TEXT;
ALTER TABLE connection ADD COLUMN online_status TEXT;
-- Online only: Intuit's clock when each list was last read whole or caught up by Change Data
-- Capture (the next pull's changedSince), exactly as Intuit wrote it.
ALTER TABLE connection ADD COLUMN customers_changed_since TEXT;
ALTER TABLE connection ADD COLUMN employees_changed_since TEXT;
CREATE INDEX connection_by_realm ON connection (realm_id) WHERE realm_id IS NOT NULL;

-- What started a run: web_connector | button | webhook (null for runs before this migration).
ALTER TABLE run ADD COLUMN trigger TEXT;

-- An online connection's tokens, sealed with the server's key (see src/vault.rs). `version`
-- grows with every refresh. A refresh holds the lease (lock_owner until lock_until), so two
-- processes never refresh one connection's token at once.
CREATE TABLE qbo_token (
    connection_id       UUID PRIMARY KEY REFERENCES connection (connection_id),
    access_token        BYTEA NOT NULL,
    access_expires_at   TIMESTAMPTZ NOT NULL,
    refresh_token       BYTEA NOT NULL,
    refresh_expires_at  TIMESTAMPTZ,
    version             BIGINT NOT NULL DEFAULT 0,
    lock_owner          TEXT,
    lock_until          TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- OAuth `state` values handed out and not yet used: only their SHA-256 is kept. Single use,
-- bound to the organization, the connection and who asked; when an admin asked from the page,
-- also to that browser (browser_hash: the SHA-256 of a cookie only that browser holds).
CREATE TABLE qbo_auth_state (
    state_hash      TEXT PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organization (organization_id),
    connection_id   UUID NOT NULL REFERENCES connection (connection_id),
    requested_by    TEXT NOT NULL,
    browser_hash    TEXT,
    expires_at      TIMESTAMPTZ NOT NULL,
    used_at         TIMESTAMPTZ
);
CREATE INDEX qbo_auth_state_by_connection ON qbo_auth_state (connection_id);

-- Pulls asked for and not started yet (by a webhook, or while the connection was busy). One row
-- per connection; later asks add their lists to it.
CREATE TABLE qbo_pull_request (
    connection_id  UUID PRIMARY KEY REFERENCES connection (connection_id),
    customers      BOOLEAN NOT NULL,
    employees      BOOLEAN NOT NULL,
    trigger        TEXT NOT NULL,
    requested_at   TIMESTAMPTZ NOT NULL
);

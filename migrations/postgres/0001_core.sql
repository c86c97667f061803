-- The whole qbsync schema, PostgreSQL flavour. Keep it in step with migrations/sqlite/0001_core.sql:
-- the same tables, columns and constraints, only the column types differ.
-- Primary keys are UUIDs, named <table>_id; timestamps are TIMESTAMPTZ.

-- One tenant: a cleaning company.
CREATE TABLE organization (
    organization_id UUID PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL
);

-- People who sign in to the admin page. Passwords are argon2 PHC strings.
CREATE TABLE admin (
    admin_id        UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organization (organization_id),
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Bearer tokens for the JSON API. Only the SHA-256 of the token is kept.
CREATE TABLE api_token (
    api_token_id    UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organization (organization_id),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ
);

-- One QuickBooks company file, polled by one Web Connector entry (.qwc).
-- owner_id and file_id are generated once and reused by every .qwc download.
-- The qb_* columns describe the QuickBooks install, as reported by its last run.
CREATE TABLE connection (
    connection_id     UUID PRIMARY KEY,
    organization_id   UUID NOT NULL REFERENCES organization (organization_id),
    name              TEXT NOT NULL,
    username          TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    owner_id          TEXT NOT NULL,
    file_id           TEXT NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    company_file      TEXT NOT NULL DEFAULT '',
    run_every_minutes BIGINT NOT NULL DEFAULT 60,
    qb_product        TEXT,
    qb_version        TEXT,
    qb_country        TEXT,
    qb_company_name   TEXT,
    qb_file_path      TEXT,
    qbxml_version     TEXT,
    qb_seen_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (organization_id, name)
);

-- One Web Connector session, from authenticate to closeConnection. Everything a call needs to
-- continue the run lives here (no in-process state), so any server process can serve any call.
-- seq is bumped on every change: writers compare-and-set on it, so two calls never both apply.
CREATE TABLE run (
    run_id              UUID PRIMARY KEY,
    connection_id       UUID NOT NULL REFERENCES connection (connection_id),
    ticket_hash         TEXT NOT NULL UNIQUE,
    state               TEXT NOT NULL,             -- live | ended
    outcome             TEXT,                      -- null while live; success | warnings | errors | failed | expired | connection_error
    step                TEXT NOT NULL,             -- start | customers | employees | done
    awaiting            TEXT,                      -- requestID of the qbXML request QuickBooks is answering, if any
    iterator_id         TEXT,
    iterator_remaining  BIGINT,
    iterator_restarts   BIGINT NOT NULL DEFAULT 0,
    qbxml_version       TEXT,
    request_count       BIGINT NOT NULL DEFAULT 0,
    customers_staged    BIGINT NOT NULL DEFAULT 0,
    employees_staged    BIGINT NOT NULL DEFAULT 0,
    customers_deleted   BIGINT NOT NULL DEFAULT 0,
    employees_deleted   BIGINT NOT NULL DEFAULT 0,
    customers_complete  BOOLEAN NOT NULL DEFAULT TRUE,    -- false once a page of the list failed or warned
    employees_complete  BOOLEAN NOT NULL DEFAULT TRUE,
    warning_count       BIGINT NOT NULL DEFAULT 0,
    error_count         BIGINT NOT NULL DEFAULT 0,
    percent             BIGINT NOT NULL DEFAULT 0,
    last_error          TEXT,
    summary             TEXT,
    seq                 BIGINT NOT NULL DEFAULT 0,
    started_at          TIMESTAMPTZ NOT NULL,
    last_call_at        TIMESTAMPTZ NOT NULL,
    ended_at            TIMESTAMPTZ
);
CREATE INDEX run_by_connection ON run (connection_id, started_at);
-- At most one live run per connection: a second authenticate gets "busy".
CREATE UNIQUE INDEX run_one_live_per_connection ON run (connection_id) WHERE state = 'live';

-- Warnings and errors met during a run, with an explanation for the admin where one is known.
CREATE TABLE run_event (
    run_event_id UUID PRIMARY KEY,
    run_id       UUID NOT NULL REFERENCES run (run_id),
    at           TIMESTAMPTZ NOT NULL,
    level        TEXT NOT NULL,   -- warning | error
    code         TEXT,            -- qbXML statusCode or HRESULT
    message      TEXT NOT NULL,
    explanation  TEXT
);
CREATE INDEX run_event_by_run ON run_event (run_id, at);

-- Staged copies of QuickBooks CustomerRet records, keyed by (connection, ListID).
-- A customer that a complete list no longer contains gets deleted_at; the row itself is never deleted.
CREATE TABLE qb_customer (
    qb_customer_id    UUID PRIMARY KEY,
    connection_id     UUID NOT NULL REFERENCES connection (connection_id),
    organization_id   UUID NOT NULL REFERENCES organization (organization_id),
    list_id           TEXT NOT NULL,
    time_created      TEXT,
    time_modified     TEXT,
    edit_sequence     TEXT,
    name              TEXT NOT NULL,
    full_name         TEXT NOT NULL,
    is_active         BOOLEAN NOT NULL,
    parent_list_id    TEXT,
    parent_full_name  TEXT,
    sublevel          BIGINT NOT NULL,
    company_name      TEXT,
    salutation        TEXT,
    first_name        TEXT,
    middle_name       TEXT,
    last_name         TEXT,
    job_title         TEXT,
    bill_addr1 TEXT, bill_addr2 TEXT, bill_addr3 TEXT, bill_addr4 TEXT, bill_addr5 TEXT,
    bill_city TEXT, bill_state TEXT, bill_postal_code TEXT, bill_country TEXT, bill_note TEXT,
    ship_addr1 TEXT, ship_addr2 TEXT, ship_addr3 TEXT, ship_addr4 TEXT, ship_addr5 TEXT,
    ship_city TEXT, ship_state TEXT, ship_postal_code TEXT, ship_country TEXT, ship_note TEXT,
    phone             TEXT,
    alt_phone         TEXT,
    fax               TEXT,
    email             TEXT,
    contact           TEXT,
    notes             TEXT,
    job_status        TEXT,
    seen_at           TIMESTAMPTZ NOT NULL,
    seen_run_id       UUID,
    deleted_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (connection_id, list_id)
);
CREATE INDEX qb_customer_by_org ON qb_customer (organization_id, full_name);

-- Staged copies of QuickBooks EmployeeRet records. SSN and birth date are never requested nor kept.
CREATE TABLE qb_employee (
    qb_employee_id    UUID PRIMARY KEY,
    connection_id     UUID NOT NULL REFERENCES connection (connection_id),
    organization_id   UUID NOT NULL REFERENCES organization (organization_id),
    list_id           TEXT NOT NULL,
    time_created      TEXT,
    time_modified     TEXT,
    edit_sequence     TEXT,
    name              TEXT NOT NULL,
    is_active         BOOLEAN NOT NULL,
    salutation        TEXT,
    first_name        TEXT,
    middle_name       TEXT,
    last_name         TEXT,
    job_title         TEXT,
    addr1 TEXT, addr2 TEXT, addr3 TEXT, addr4 TEXT, addr5 TEXT,
    city TEXT, state TEXT, postal_code TEXT, country TEXT, address_note TEXT,
    phone             TEXT,
    mobile            TEXT,
    alt_phone         TEXT,
    fax               TEXT,
    email             TEXT,
    employee_type     TEXT,
    hired_date        TEXT,
    released_date     TEXT,
    notes             TEXT,
    seen_at           TIMESTAMPTZ NOT NULL,
    seen_run_id       UUID,
    deleted_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (connection_id, list_id)
);
CREATE INDEX qb_employee_by_org ON qb_employee (organization_id, name);

-- Job sites of the field-service application. qb_customer_id is the link: the UNIQUE constraint
-- makes it at most one link per location and per QuickBooks customer.
CREATE TABLE location (
    location_id     UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organization (organization_id),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    line1 TEXT, line2 TEXT, line3 TEXT, line4 TEXT, line5 TEXT,
    city TEXT, state TEXT, postal_code TEXT, country TEXT,
    phone           TEXT,
    email           TEXT,
    qb_customer_id  UUID UNIQUE REFERENCES qb_customer (qb_customer_id),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX location_by_org ON location (organization_id, name);

-- People who work for the organization. qb_employee_id is the link, unique like location's.
CREATE TABLE staff (
    staff_id        UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organization (organization_id),
    name            TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    qb_employee_id  UUID UNIQUE REFERENCES qb_employee (qb_employee_id),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_by_org ON staff (organization_id, name);

-- The audit log of the matching screens: every link, unlink, location or staff member created
-- from QuickBooks, accepted suggestion and undo, with who made it (an admin, or an API token),
-- when, and the link (or record) before and after. Keep in step with the SQLite flavour.
--
-- subject_id is the location or staff member the change was made to. It has no foreign key on
-- purpose: the history of a record outlives the record (an undone "+" deletes the location it
-- made). Names are copied at the time of the change for the same reason.
CREATE TABLE audit_event (
    audit_event_id  UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organization (organization_id),
    at              TIMESTAMPTZ NOT NULL,
    actor_kind      TEXT NOT NULL,      -- admin | token
    actor_id        UUID,               -- admin_id or api_token_id
    actor_name      TEXT NOT NULL,      -- the admin's e-mail address, or "API token"
    action          TEXT NOT NULL,      -- link | unlink | create | accept | undo
    subject_kind    TEXT NOT NULL,      -- location | staff
    subject_id      UUID NOT NULL,
    subject_name    TEXT NOT NULL,
    qb_id           UUID,               -- the QuickBooks customer or employee concerned
    qb_name         TEXT,
    before          TEXT,               -- JSON
    after           TEXT,               -- JSON
    undoes          UUID,               -- for an undo: the event it reverses
    undone_by       UUID                -- the undo event that reversed this one, if any
);
-- The organization's log, newest first, paged by (at, id); one subject's history.
CREATE INDEX audit_event_by_org ON audit_event (organization_id, at, audit_event_id);
CREATE INDEX audit_event_by_subject ON audit_event (organization_id, subject_id, at);

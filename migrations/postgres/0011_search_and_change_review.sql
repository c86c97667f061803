-- Search over every panel, and the review of changes QuickBooks made to linked records.
-- Keep in step with the SQLite flavour.
--
-- `search` (staged records since 0004, now locations and staff too) holds the text ?q= matches,
-- folded as the application folds it (src/matching/search.rs: lower case, accents removed,
-- street types under both spellings, phone digits). SQL cannot fold accents the same way on both
-- databases, so the application computes it: for the rows written before this migration (and
-- whenever the form of the text changes), at start, when `derived_text.version` is behind the
-- application's (store::derived).
ALTER TABLE location ADD COLUMN search TEXT NOT NULL DEFAULT '';
ALTER TABLE staff ADD COLUMN search TEXT NOT NULL DEFAULT '';

-- `watch`: the fields of a staged record whose change an admin reviews (name, address, phones,
-- e-mail, active), as a JSON document computed by the application (review::Watched). Deletion is
-- the row's deleted_at.
ALTER TABLE qb_customer ADD COLUMN watch TEXT NOT NULL DEFAULT '';
ALTER TABLE qb_employee ADD COLUMN watch TEXT NOT NULL DEFAULT '';

-- What the linked record's `watch` and deletion were when it was linked or its changes were last
-- reviewed (applied or dismissed). The link is "changed in QuickBooks" while they differ from the
-- record's. NULL on an unlinked record; for links made before this migration it is set at start
-- to the record as it is then.
ALTER TABLE location ADD COLUMN qb_reviewed TEXT;
ALTER TABLE location ADD COLUMN qb_reviewed_deleted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE staff ADD COLUMN qb_reviewed TEXT;
ALTER TABLE staff ADD COLUMN qb_reviewed_deleted BOOLEAN NOT NULL DEFAULT FALSE;

-- Which form of the derived text (search, watch) the rows hold: one row.
CREATE TABLE derived_text (
    derived_text_id INTEGER PRIMARY KEY CHECK (derived_text_id = 1),
    version         INTEGER NOT NULL
);
INSERT INTO derived_text (derived_text_id, version) VALUES (1, 0);

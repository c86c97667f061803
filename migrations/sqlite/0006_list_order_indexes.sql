-- Lists are paged by (sort key, id) after a cursor: with the id in the index, a page is a walk
-- of the index from the cursor, however many rows the organization has, instead of a scan and
-- a sort of all of them.
DROP INDEX qb_customer_by_org;
CREATE INDEX qb_customer_by_org ON qb_customer (organization_id, full_name, qb_customer_id);
DROP INDEX qb_employee_by_org;
CREATE INDEX qb_employee_by_org ON qb_employee (organization_id, name, qb_employee_id);
DROP INDEX location_by_org;
CREATE INDEX location_by_org ON location (organization_id, name, location_id);
DROP INDEX staff_by_org;
CREATE INDEX staff_by_org ON staff (organization_id, name, staff_id);

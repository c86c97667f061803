-- Staged records become one definition (src/record.rs): a column for each field that reads
-- filter, sort or join on (list_id, edit_sequence, time_modified, name, full_name, parent_list_id,
-- is_active), `search`, the lower-cased text that ?q= matches (names, company, contact, phones,
-- email, addresses; computed by the application as Customer::search_text / Employee::search_text,
-- and here the same way for the rows staged before), and `details`, the rest of the record as a
-- JSON document whose keys are the API's field names. Addresses are nested objects with the keys
-- line1..line5, city, state, postal_code, country, note. Existing rows are carried over.

ALTER TABLE qb_customer ADD COLUMN search TEXT NOT NULL DEFAULT '', ADD COLUMN details TEXT NOT NULL DEFAULT '{}';

UPDATE qb_customer SET
    search = LOWER(concat_ws(E'\n', name, full_name, company_name, contact, phone, alt_phone, email,
        bill_addr1, bill_addr2, bill_addr3, bill_addr4, bill_addr5, bill_city, bill_state, bill_postal_code, bill_country, bill_note,
        ship_addr1, ship_addr2, ship_addr3, ship_addr4, ship_addr5, ship_city, ship_state, ship_postal_code, ship_country, ship_note)),
    details = CAST(json_build_object(
        'time_created', time_created,
        'parent_full_name', parent_full_name,
        'sublevel', sublevel,
        'company_name', company_name,
        'salutation', salutation,
        'first_name', first_name,
        'middle_name', middle_name,
        'last_name', last_name,
        'job_title', job_title,
        'bill_address', json_build_object('line1', bill_addr1, 'line2', bill_addr2, 'line3', bill_addr3, 'line4', bill_addr4, 'line5', bill_addr5, 'city', bill_city, 'state', bill_state, 'postal_code', bill_postal_code, 'country', bill_country, 'note', bill_note),
        'ship_address', json_build_object('line1', ship_addr1, 'line2', ship_addr2, 'line3', ship_addr3, 'line4', ship_addr4, 'line5', ship_addr5, 'city', ship_city, 'state', ship_state, 'postal_code', ship_postal_code, 'country', ship_country, 'note', ship_note),
        'phone', phone,
        'alt_phone', alt_phone,
        'fax', fax,
        'email', email,
        'contact', contact,
        'notes', notes,
        'job_status', job_status) AS TEXT);

ALTER TABLE qb_customer
    DROP COLUMN time_created,
    DROP COLUMN parent_full_name,
    DROP COLUMN sublevel,
    DROP COLUMN company_name,
    DROP COLUMN salutation,
    DROP COLUMN first_name,
    DROP COLUMN middle_name,
    DROP COLUMN last_name,
    DROP COLUMN job_title,
    DROP COLUMN bill_addr1,
    DROP COLUMN bill_addr2,
    DROP COLUMN bill_addr3,
    DROP COLUMN bill_addr4,
    DROP COLUMN bill_addr5,
    DROP COLUMN bill_city,
    DROP COLUMN bill_state,
    DROP COLUMN bill_postal_code,
    DROP COLUMN bill_country,
    DROP COLUMN bill_note,
    DROP COLUMN ship_addr1,
    DROP COLUMN ship_addr2,
    DROP COLUMN ship_addr3,
    DROP COLUMN ship_addr4,
    DROP COLUMN ship_addr5,
    DROP COLUMN ship_city,
    DROP COLUMN ship_state,
    DROP COLUMN ship_postal_code,
    DROP COLUMN ship_country,
    DROP COLUMN ship_note,
    DROP COLUMN alt_phone,
    DROP COLUMN fax,
    DROP COLUMN email,
    DROP COLUMN contact,
    DROP COLUMN notes,
    DROP COLUMN job_status,
    DROP COLUMN phone;


ALTER TABLE qb_employee ADD COLUMN search TEXT NOT NULL DEFAULT '', ADD COLUMN details TEXT NOT NULL DEFAULT '{}';

UPDATE qb_employee SET
    search = LOWER(concat_ws(E'\n', name, job_title, phone, mobile, email,
        addr1, addr2, addr3, addr4, addr5, city, state, postal_code, country, address_note)),
    details = CAST(json_build_object(
        'time_created', time_created,
        'salutation', salutation,
        'first_name', first_name,
        'middle_name', middle_name,
        'last_name', last_name,
        'job_title', job_title,
        'address', json_build_object('line1', addr1, 'line2', addr2, 'line3', addr3, 'line4', addr4, 'line5', addr5, 'city', city, 'state', state, 'postal_code', postal_code, 'country', country, 'note', address_note),
        'phone', phone,
        'mobile', mobile,
        'alt_phone', alt_phone,
        'fax', fax,
        'email', email,
        'employee_type', employee_type,
        'hired_date', hired_date,
        'released_date', released_date,
        'notes', notes) AS TEXT);

ALTER TABLE qb_employee
    DROP COLUMN time_created,
    DROP COLUMN salutation,
    DROP COLUMN first_name,
    DROP COLUMN middle_name,
    DROP COLUMN last_name,
    DROP COLUMN job_title,
    DROP COLUMN addr1,
    DROP COLUMN addr2,
    DROP COLUMN addr3,
    DROP COLUMN addr4,
    DROP COLUMN addr5,
    DROP COLUMN city,
    DROP COLUMN state,
    DROP COLUMN postal_code,
    DROP COLUMN country,
    DROP COLUMN address_note,
    DROP COLUMN phone,
    DROP COLUMN mobile,
    DROP COLUMN alt_phone,
    DROP COLUMN fax,
    DROP COLUMN email,
    DROP COLUMN employee_type,
    DROP COLUMN hired_date,
    DROP COLUMN released_date,
    DROP COLUMN notes;


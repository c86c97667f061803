-- Staged records become one definition (src/record.rs): a column for each field that reads
-- filter, sort or join on (list_id, edit_sequence, time_modified, name, full_name, parent_list_id,
-- is_active), `search`, the lower-cased text that ?q= matches (names, company, contact, phones,
-- email, addresses; computed by the application as Customer::search_text / Employee::search_text,
-- and here the same way for the rows staged before), and `details`, the rest of the record as a
-- JSON document whose keys are the API's field names. Addresses are nested objects with the keys
-- line1..line5, city, state, postal_code, country, note. Existing rows are carried over.

ALTER TABLE qb_customer ADD COLUMN search TEXT NOT NULL DEFAULT '';
ALTER TABLE qb_customer ADD COLUMN details TEXT NOT NULL DEFAULT '{}';

UPDATE qb_customer SET
    search = LOWER(concat_ws(char(10), name, full_name, company_name, contact, phone, alt_phone, email,
        bill_addr1, bill_addr2, bill_addr3, bill_addr4, bill_addr5, bill_city, bill_state, bill_postal_code, bill_country, bill_note,
        ship_addr1, ship_addr2, ship_addr3, ship_addr4, ship_addr5, ship_city, ship_state, ship_postal_code, ship_country, ship_note)),
    details = json_object(
        'time_created', time_created,
        'parent_full_name', parent_full_name,
        'sublevel', sublevel,
        'company_name', company_name,
        'salutation', salutation,
        'first_name', first_name,
        'middle_name', middle_name,
        'last_name', last_name,
        'job_title', job_title,
        'bill_address', json_object('line1', bill_addr1, 'line2', bill_addr2, 'line3', bill_addr3, 'line4', bill_addr4, 'line5', bill_addr5, 'city', bill_city, 'state', bill_state, 'postal_code', bill_postal_code, 'country', bill_country, 'note', bill_note),
        'ship_address', json_object('line1', ship_addr1, 'line2', ship_addr2, 'line3', ship_addr3, 'line4', ship_addr4, 'line5', ship_addr5, 'city', ship_city, 'state', ship_state, 'postal_code', ship_postal_code, 'country', ship_country, 'note', ship_note),
        'phone', phone,
        'alt_phone', alt_phone,
        'fax', fax,
        'email', email,
        'contact', contact,
        'notes', notes,
        'job_status', job_status);

ALTER TABLE qb_customer DROP COLUMN time_created;
ALTER TABLE qb_customer DROP COLUMN parent_full_name;
ALTER TABLE qb_customer DROP COLUMN sublevel;
ALTER TABLE qb_customer DROP COLUMN company_name;
ALTER TABLE qb_customer DROP COLUMN salutation;
ALTER TABLE qb_customer DROP COLUMN first_name;
ALTER TABLE qb_customer DROP COLUMN middle_name;
ALTER TABLE qb_customer DROP COLUMN last_name;
ALTER TABLE qb_customer DROP COLUMN job_title;
ALTER TABLE qb_customer DROP COLUMN bill_addr1;
ALTER TABLE qb_customer DROP COLUMN bill_addr2;
ALTER TABLE qb_customer DROP COLUMN bill_addr3;
ALTER TABLE qb_customer DROP COLUMN bill_addr4;
ALTER TABLE qb_customer DROP COLUMN bill_addr5;
ALTER TABLE qb_customer DROP COLUMN bill_city;
ALTER TABLE qb_customer DROP COLUMN bill_state;
ALTER TABLE qb_customer DROP COLUMN bill_postal_code;
ALTER TABLE qb_customer DROP COLUMN bill_country;
ALTER TABLE qb_customer DROP COLUMN bill_note;
ALTER TABLE qb_customer DROP COLUMN ship_addr1;
ALTER TABLE qb_customer DROP COLUMN ship_addr2;
ALTER TABLE qb_customer DROP COLUMN ship_addr3;
ALTER TABLE qb_customer DROP COLUMN ship_addr4;
ALTER TABLE qb_customer DROP COLUMN ship_addr5;
ALTER TABLE qb_customer DROP COLUMN ship_city;
ALTER TABLE qb_customer DROP COLUMN ship_state;
ALTER TABLE qb_customer DROP COLUMN ship_postal_code;
ALTER TABLE qb_customer DROP COLUMN ship_country;
ALTER TABLE qb_customer DROP COLUMN ship_note;
ALTER TABLE qb_customer DROP COLUMN alt_phone;
ALTER TABLE qb_customer DROP COLUMN fax;
ALTER TABLE qb_customer DROP COLUMN email;
ALTER TABLE qb_customer DROP COLUMN contact;
ALTER TABLE qb_customer DROP COLUMN notes;
ALTER TABLE qb_customer DROP COLUMN job_status;
ALTER TABLE qb_customer DROP COLUMN phone;


ALTER TABLE qb_employee ADD COLUMN search TEXT NOT NULL DEFAULT '';
ALTER TABLE qb_employee ADD COLUMN details TEXT NOT NULL DEFAULT '{}';

UPDATE qb_employee SET
    search = LOWER(concat_ws(char(10), name, job_title, phone, mobile, email,
        addr1, addr2, addr3, addr4, addr5, city, state, postal_code, country, address_note)),
    details = json_object(
        'time_created', time_created,
        'salutation', salutation,
        'first_name', first_name,
        'middle_name', middle_name,
        'last_name', last_name,
        'job_title', job_title,
        'address', json_object('line1', addr1, 'line2', addr2, 'line3', addr3, 'line4', addr4, 'line5', addr5, 'city', city, 'state', state, 'postal_code', postal_code, 'country', country, 'note', address_note),
        'phone', phone,
        'mobile', mobile,
        'alt_phone', alt_phone,
        'fax', fax,
        'email', email,
        'employee_type', employee_type,
        'hired_date', hired_date,
        'released_date', released_date,
        'notes', notes);

ALTER TABLE qb_employee DROP COLUMN time_created;
ALTER TABLE qb_employee DROP COLUMN salutation;
ALTER TABLE qb_employee DROP COLUMN first_name;
ALTER TABLE qb_employee DROP COLUMN middle_name;
ALTER TABLE qb_employee DROP COLUMN last_name;
ALTER TABLE qb_employee DROP COLUMN job_title;
ALTER TABLE qb_employee DROP COLUMN addr1;
ALTER TABLE qb_employee DROP COLUMN addr2;
ALTER TABLE qb_employee DROP COLUMN addr3;
ALTER TABLE qb_employee DROP COLUMN addr4;
ALTER TABLE qb_employee DROP COLUMN addr5;
ALTER TABLE qb_employee DROP COLUMN city;
ALTER TABLE qb_employee DROP COLUMN state;
ALTER TABLE qb_employee DROP COLUMN postal_code;
ALTER TABLE qb_employee DROP COLUMN country;
ALTER TABLE qb_employee DROP COLUMN address_note;
ALTER TABLE qb_employee DROP COLUMN phone;
ALTER TABLE qb_employee DROP COLUMN mobile;
ALTER TABLE qb_employee DROP COLUMN alt_phone;
ALTER TABLE qb_employee DROP COLUMN fax;
ALTER TABLE qb_employee DROP COLUMN email;
ALTER TABLE qb_employee DROP COLUMN employee_type;
ALTER TABLE qb_employee DROP COLUMN hired_date;
ALTER TABLE qb_employee DROP COLUMN released_date;
ALTER TABLE qb_employee DROP COLUMN notes;


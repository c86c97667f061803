//! The customer and employee records qbsync keeps, and how they are read from `CustomerRet` and
//! `EmployeeRet`.
//!
//! Only a whitelist of elements is read: the direct children of the Ret element listed in its
//! `RecordSpec`, and the direct children of the few aggregates named there (`ParentRef`,
//! `BillAddress`, `ShipAddress`, `EmployeeAddress`). Everything else, including `SSN`,
//! `BirthDate`, `CreditCardInfo`, payroll and bank aggregates, custom fields and elements the
//! schema does not know, is skipped without its text ever being copied. Nested aggregates that
//! reuse names such as `ListID`, `Name` or `Addr1` (`*Ref`, `ContactsRet`, `ShipToAddress`,
//! `AdditionalNotesRet`, `DataExtRet`) can therefore never be mistaken for the record's own.
//!
//! A record whose data cannot be trusted (missing `ListID` or `Name`, a malformed timestamp,
//! date, boolean or number, a value over 8 KiB, a repeated element) is reported as skipped with a
//! reason instead of failing the whole response.

use std::io::BufRead;

use super::error::ParseError;
use smol_str::SmolStr;

use super::input::{MAX_TEXT_BYTES, Node, XmlInput};
use super::response::Deleted;
use crate::record::{Address, Customer, CustomerDetails, Employee, EmployeeDetails};

/// One element a record keeps: a direct child of the Ret element (`parent` empty), or a direct
/// child of one of its aggregates (`BillAddress/City`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    parent: &'static str,
    name: &'static str,
}

impl Slot {
    const fn leaf(name: &'static str) -> Slot {
        Slot { parent: "", name }
    }

    const fn nested(parent: &'static str, name: &'static str) -> Slot {
        Slot { parent, name }
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.parent.is_empty() { f.write_str(self.name) } else { write!(f, "{}/{}", self.parent, self.name) }
    }
}

/// Which elements of a Ret element are read, in schema order.
pub(crate) struct RecordSpec {
    slots: &'static [Slot],
}

pub(crate) const CUSTOMER_SPEC: RecordSpec = RecordSpec {
    slots: &[
        Slot::leaf("ListID"),
        Slot::leaf("TimeCreated"),
        Slot::leaf("TimeModified"),
        Slot::leaf("EditSequence"),
        Slot::leaf("Name"),
        Slot::leaf("FullName"),
        Slot::leaf("IsActive"),
        Slot::nested("ParentRef", "ListID"),
        Slot::nested("ParentRef", "FullName"),
        Slot::leaf("Sublevel"),
        Slot::leaf("CompanyName"),
        Slot::leaf("Salutation"),
        Slot::leaf("FirstName"),
        Slot::leaf("MiddleName"),
        Slot::leaf("LastName"),
        Slot::leaf("JobTitle"),
        Slot::nested("BillAddress", "Addr1"),
        Slot::nested("BillAddress", "Addr2"),
        Slot::nested("BillAddress", "Addr3"),
        Slot::nested("BillAddress", "Addr4"),
        Slot::nested("BillAddress", "Addr5"),
        Slot::nested("BillAddress", "City"),
        Slot::nested("BillAddress", "State"),
        Slot::nested("BillAddress", "PostalCode"),
        Slot::nested("BillAddress", "Country"),
        Slot::nested("BillAddress", "Note"),
        Slot::nested("ShipAddress", "Addr1"),
        Slot::nested("ShipAddress", "Addr2"),
        Slot::nested("ShipAddress", "Addr3"),
        Slot::nested("ShipAddress", "Addr4"),
        Slot::nested("ShipAddress", "Addr5"),
        Slot::nested("ShipAddress", "City"),
        Slot::nested("ShipAddress", "State"),
        Slot::nested("ShipAddress", "PostalCode"),
        Slot::nested("ShipAddress", "Country"),
        Slot::nested("ShipAddress", "Note"),
        Slot::leaf("Phone"),
        Slot::leaf("AltPhone"),
        Slot::leaf("Fax"),
        Slot::leaf("Email"),
        Slot::leaf("Contact"),
        Slot::leaf("JobStatus"),
        Slot::leaf("Notes"),
    ],
};

pub(crate) const EMPLOYEE_SPEC: RecordSpec = RecordSpec {
    slots: &[
        Slot::leaf("ListID"),
        Slot::leaf("TimeCreated"),
        Slot::leaf("TimeModified"),
        Slot::leaf("EditSequence"),
        Slot::leaf("Name"),
        Slot::leaf("IsActive"),
        Slot::leaf("Salutation"),
        Slot::leaf("FirstName"),
        Slot::leaf("MiddleName"),
        Slot::leaf("LastName"),
        Slot::leaf("JobTitle"),
        Slot::nested("EmployeeAddress", "Addr1"),
        Slot::nested("EmployeeAddress", "Addr2"),
        Slot::nested("EmployeeAddress", "Addr3"),
        Slot::nested("EmployeeAddress", "Addr4"),
        Slot::nested("EmployeeAddress", "Addr5"),
        Slot::nested("EmployeeAddress", "City"),
        Slot::nested("EmployeeAddress", "State"),
        Slot::nested("EmployeeAddress", "PostalCode"),
        Slot::nested("EmployeeAddress", "Country"),
        Slot::nested("EmployeeAddress", "Note"),
        Slot::leaf("Phone"),
        Slot::leaf("Mobile"),
        Slot::leaf("AltPhone"),
        Slot::leaf("Fax"),
        Slot::leaf("Email"),
        Slot::leaf("EmployeeType"),
        Slot::leaf("HiredDate"),
        Slot::leaf("ReleasedDate"),
        Slot::leaf("Notes"),
    ],
};

pub(crate) const DELETED_SPEC: RecordSpec = RecordSpec {
    slots: &[
        Slot::leaf("ListDelType"),
        Slot::leaf("ListID"),
        Slot::leaf("TimeCreated"),
        Slot::leaf("TimeDeleted"),
        Slot::leaf("FullName"),
    ],
};

/// What a direct child of the Ret element is to the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Child {
    /// A value kept in this slot.
    Leaf(usize),
    /// An aggregate some of whose children are kept.
    Aggregate,
}

impl RecordSpec {
    /// Finds the slot for `name` under `parent` (empty: the Ret element itself), or, at the top
    /// level, an aggregate named `name`. QuickBooks writes elements in schema order, which is the
    /// spec's order, so the search starts at `from` (just after the last slot found) and nearly
    /// always stops at once; it wraps around, so any order is still read correctly.
    fn find(&self, parent: &str, name: &str, from: usize) -> Option<Child> {
        let count = self.slots.len();
        (0..count).map(|offset| (from + offset) % count).find_map(|index| {
            let slot = &self.slots[index];
            if slot.parent == parent && slot.name == name {
                Some(Child::Leaf(index))
            } else if parent.is_empty() && slot.parent == name {
                Some(Child::Aggregate)
            } else {
                None
            }
        })
    }
}

/// The whitelisted values of one Ret element, before validation.
pub(crate) struct RawRecord {
    spec: &'static RecordSpec,
    values: Vec<Option<String>>,
    /// The first reason found to distrust the record.
    problem: Option<String>,
    /// Where [`RawRecord::take`] starts looking.
    next_slot: usize,
}

impl RawRecord {
    /// Takes the value of a direct child of the Ret element.
    fn take(&mut self, name: &str) -> Option<String> {
        self.take_in("", name)
    }

    /// Takes the value of `name` inside the aggregate `parent` (empty: the Ret element).
    fn take_in(&mut self, parent: &str, name: &str) -> Option<String> {
        // Builders take fields in the spec's order, so the search usually stops at once.
        let Some(Child::Leaf(index)) = self.spec.find(parent, name, self.next_slot) else {
            panic!("slot {parent}/{name} is not in the record spec");
        };
        self.next_slot = index + 1;
        self.values[index].take()
    }

    fn note_problem(&mut self, problem: String) {
        self.problem.get_or_insert(problem);
    }
}

/// Reads the rest of a Ret element whose `Start` was just returned by `input`.
pub(crate) fn read_record<R: BufRead>(
    input: &mut XmlInput<R>,
    spec: &'static RecordSpec,
) -> Result<RawRecord, ParseError> {
    let base = input.depth();
    let mut record = RawRecord { spec, values: vec![None; spec.slots.len()], problem: None, next_slot: 0 };
    let mut seen = vec![false; spec.slots.len()];
    let mut aggregate: Option<SmolStr> = None;
    let mut aggregates_seen: Vec<SmolStr> = Vec::new();
    // The slot whose text is being captured, if any.
    let mut field: Option<usize> = None;
    // Where the next lookup starts: just after the last slot found.
    let mut cursor = 0;
    loop {
        let node = input.next()?;
        let depth = input.depth();
        match node {
            Node::Start(name) if depth == base + 1 => match spec.find("", &name, cursor) {
                Some(Child::Leaf(slot)) => {
                    if seen[slot] {
                        record.note_problem(format!("{name} appears more than once"));
                    }
                    seen[slot] = true;
                    field = Some(slot);
                    cursor = slot + 1;
                    input.capture_text();
                }
                Some(Child::Aggregate) => {
                    if aggregates_seen.contains(&name) {
                        record.note_problem(format!("{name} appears more than once"));
                    }
                    aggregates_seen.push(name.clone());
                    aggregate = Some(name);
                }
                None => input.skip_element()?,
            },
            Node::Start(name) if depth == base + 2 => {
                if let Some(slot) = field {
                    record.note_problem(format!("{} contains an unexpected <{name}>", spec.slots[slot]));
                    input.skip_element()?;
                    continue;
                }
                let found = aggregate.as_deref().and_then(|parent| spec.find(parent, &name, cursor));
                match found {
                    Some(Child::Leaf(slot)) => {
                        if seen[slot] {
                            record.note_problem(format!("{} appears more than once", spec.slots[slot]));
                        }
                        seen[slot] = true;
                        field = Some(slot);
                        cursor = slot + 1;
                        input.capture_text();
                    }
                    _ => input.skip_element()?,
                }
            }
            Node::Start(_) => input.skip_element()?,
            Node::End(_) if depth + 1 == base => return Ok(record),
            Node::End(_) => {
                if let Some(slot) = field.take() {
                    match input.take_text().into_value() {
                        Ok(value) => record.values[slot] = Some(value),
                        Err(_) => {
                            record.note_problem(format!("{} is longer than {MAX_TEXT_BYTES} bytes", spec.slots[slot]))
                        }
                    }
                }
                if depth == base {
                    aggregate = None;
                }
            }
            Node::Eof => {
                return Err(ParseError::Structure("document ended inside a record".into()));
            }
        }
    }
}

/// Why a record was not usable: its `ListID` when known, and a human-readable reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SkipReason {
    pub(crate) list_id: Option<String>,
    pub(crate) reason: String,
}

/// Turns the raw values of a `CustomerRet` into a [`Customer`], or explains why it is unusable.
pub(crate) fn build_customer(mut raw: RawRecord) -> Result<Customer, SkipReason> {
    let list_id = raw.take("ListID");
    let skip = |reason: String| SkipReason { list_id: list_id.clone(), reason };
    if let Some(problem) = raw.problem.take() {
        return Err(skip(problem));
    }
    let Some(id) = list_id.clone() else {
        return Err(skip("CustomerRet has no ListID".into()));
    };
    // Values are taken in the spec's order (each lookup then stops at once), and checked in
    // the order that decides which reason a record with several problems is skipped for.
    let time_created = raw.take("TimeCreated");
    let time_modified = raw.take("TimeModified");
    let edit_sequence = raw.take("EditSequence");
    let name = raw.take("Name");
    let full_name = raw.take("FullName");
    let is_active = raw.take("IsActive");
    let parent_list_id = raw.take_in("ParentRef", "ListID");
    let parent_full_name = raw.take_in("ParentRef", "FullName");
    let sublevel = raw.take("Sublevel");
    let name = name.ok_or_else(|| skip("CustomerRet has no Name".into()))?;
    let full_name = full_name.ok_or_else(|| skip("CustomerRet has no FullName".into()))?;
    let time_created = checked(time_created, "TimeCreated", Format::DateTime).map_err(&skip)?;
    let time_modified = checked(time_modified, "TimeModified", Format::DateTime).map_err(&skip)?;
    let is_active = parse_flag(is_active, "IsActive").map_err(&skip)?;
    let sublevel = match sublevel {
        None => 0,
        Some(text) => match text.parse::<i32>() {
            Ok(level) if level >= 0 => level,
            _ => {
                return Err(skip(format!("Sublevel {} is not a non-negative integer", quoted(&text))));
            }
        },
    };
    Ok(Customer {
        list_id: id,
        edit_sequence,
        time_modified,
        name,
        full_name,
        parent_list_id,
        is_active,
        details: CustomerDetails {
            time_created,
            parent_full_name,
            sublevel,
            company_name: raw.take("CompanyName"),
            salutation: raw.take("Salutation"),
            first_name: raw.take("FirstName"),
            middle_name: raw.take("MiddleName"),
            last_name: raw.take("LastName"),
            job_title: raw.take("JobTitle"),
            bill_address: take_address(&mut raw, "BillAddress"),
            ship_address: take_address(&mut raw, "ShipAddress"),
            phone: raw.take("Phone"),
            mobile: None,
            alt_phone: raw.take("AltPhone"),
            fax: raw.take("Fax"),
            email: raw.take("Email"),
            contact: raw.take("Contact"),
            job_status: raw.take("JobStatus"),
            notes: raw.take("Notes"),
        },
    })
}

/// Turns the raw values of an `EmployeeRet` into an [`Employee`], or explains why it is unusable.
pub(crate) fn build_employee(mut raw: RawRecord) -> Result<Employee, SkipReason> {
    let list_id = raw.take("ListID");
    let skip = |reason: String| SkipReason { list_id: list_id.clone(), reason };
    if let Some(problem) = raw.problem.take() {
        return Err(skip(problem));
    }
    let Some(id) = list_id.clone() else {
        return Err(skip("EmployeeRet has no ListID".into()));
    };
    // As for customers: taken in the spec's order, checked in the order of skip reasons.
    let time_created = raw.take("TimeCreated");
    let time_modified = raw.take("TimeModified");
    let edit_sequence = raw.take("EditSequence");
    let name = raw.take("Name");
    let is_active = raw.take("IsActive");
    let salutation = raw.take("Salutation");
    let first_name = raw.take("FirstName");
    let middle_name = raw.take("MiddleName");
    let last_name = raw.take("LastName");
    let job_title = raw.take("JobTitle");
    let address = take_address(&mut raw, "EmployeeAddress");
    let phone = raw.take("Phone");
    let mobile = raw.take("Mobile");
    let alt_phone = raw.take("AltPhone");
    let fax = raw.take("Fax");
    let email = raw.take("Email");
    let employee_type = raw.take("EmployeeType");
    let hired_date = raw.take("HiredDate");
    let released_date = raw.take("ReleasedDate");
    let notes = raw.take("Notes");
    let name = name.ok_or_else(|| skip("EmployeeRet has no Name".into()))?;
    let time_created = checked(time_created, "TimeCreated", Format::DateTime).map_err(&skip)?;
    let time_modified = checked(time_modified, "TimeModified", Format::DateTime).map_err(&skip)?;
    let is_active = parse_flag(is_active, "IsActive").map_err(&skip)?;
    let hired_date = checked(hired_date, "HiredDate", Format::Date).map_err(&skip)?;
    let released_date = checked(released_date, "ReleasedDate", Format::Date).map_err(&skip)?;
    Ok(Employee {
        list_id: id,
        edit_sequence,
        time_modified,
        name,
        is_active,
        details: EmployeeDetails {
            time_created,
            salutation,
            first_name,
            middle_name,
            last_name,
            job_title,
            address,
            phone,
            mobile,
            alt_phone,
            fax,
            email,
            employee_type,
            hired_date,
            released_date,
            notes,
        },
    })
}

/// Turns the raw values of a `ListDeletedRet` into a [`Deleted`], or explains why it is unusable
/// (no `ListID` or `ListDelType`, a malformed `TimeDeleted`).
pub(crate) fn build_deleted(mut raw: RawRecord) -> Result<Deleted, SkipReason> {
    let list_del_type = raw.take("ListDelType");
    let list_id = raw.take("ListID");
    let skip = |reason: String| SkipReason { list_id: list_id.clone(), reason };
    if let Some(problem) = raw.problem.take() {
        return Err(skip(problem));
    }
    let _time_created = raw.take("TimeCreated");
    let time_deleted = raw.take("TimeDeleted");
    let full_name = raw.take("FullName");
    let Some(id) = list_id.clone() else {
        return Err(skip("ListDeletedRet has no ListID".into()));
    };
    let list_del_type = list_del_type.ok_or_else(|| skip("ListDeletedRet has no ListDelType".into()))?;
    let time_deleted = checked(time_deleted, "TimeDeleted", Format::DateTime).map_err(&skip)?;
    Ok(Deleted { list_del_type, list_id: id, time_deleted, full_name })
}

fn take_address(raw: &mut RawRecord, aggregate: &str) -> Address {
    let mut part = |name: &str| raw.take_in(aggregate, name);
    Address {
        line1: part("Addr1"),
        line2: part("Addr2"),
        line3: part("Addr3"),
        line4: part("Addr4"),
        line5: part("Addr5"),
        city: part("City"),
        state: part("State"),
        postal_code: part("PostalCode"),
        country: part("Country"),
        note: part("Note"),
    }
}

/// Keeps `value` when `valid` accepts it; otherwise the reason for skipping the record.
fn checked(value: Option<String>, element: &str, format: Format) -> Result<Option<String>, String> {
    let (valid, description): (fn(&str) -> bool, &str) = match format {
        Format::Date => (is_date, "date (YYYY-MM-DD)"),
        Format::DateTime => (is_datetime, "timestamp (YYYY-MM-DDThh:mm:ss)"),
    };
    match value {
        Some(text) if !valid(&text) => Err(format!("{element} {} is not a valid {description}", quoted(&text))),
        other => Ok(other),
    }
}

/// The text formats validated by [`checked`].
#[derive(Clone, Copy)]
enum Format {
    Date,
    DateTime,
}

/// A qbXML boolean; absent means true (the QuickBooks default for `IsActive`).
fn parse_flag(value: Option<String>, element: &str) -> Result<bool, String> {
    match value.as_deref() {
        None => Ok(true),
        Some(text) => parse_bool(text).ok_or_else(|| format!("{element} {} is not true or false", quoted(text))),
    }
}

/// `true`/`false` (any case) or `1`/`0`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        t if t.eq_ignore_ascii_case("true") || t == "1" => Some(true),
        t if t.eq_ignore_ascii_case("false") || t == "0" => Some(false),
        _ => None,
    }
}

/// A value quoted for a skip reason, shortened so a reason never carries a whole field.
fn quoted(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() { format!("{short:?}...") } else { format!("{short:?}") }
}

/// `YYYY-MM-DD` naming a real calendar day.
pub(crate) fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10])) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days_in_month).contains(&day)
}

/// DATETIMETYPE as QuickBooks writes it: `YYYY-MM-DDThh:mm:ss`, then optionally `Z` or an
/// offset `+hh:mm` / `-hh:mm`.
pub(crate) fn is_datetime(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 19 || !text.is_ascii() || !is_date(&text[..10]) || b[10] != b'T' {
        return false;
    }
    if !is_clock(&b[11..19], 23, 59) {
        return false;
    }
    match &b[19..] {
        [] | [b'Z'] => true,
        [b'+' | b'-', rest @ ..] => rest.len() == 5 && is_clock(rest, 14, 59),
        _ => false,
    }
}

/// `hh:mm` (5 bytes) or `hh:mm:ss` (8 bytes) with hours up to `max_hour`.
fn is_clock(b: &[u8], max_hour: u32, max_minute: u32) -> bool {
    let hour_minute = b.len() >= 5
        && b[2] == b':'
        && digits(&b[0..2]).is_some_and(|h| h <= max_hour)
        && digits(&b[3..5]).is_some_and(|m| m <= max_minute);
    match b.len() {
        5 => hour_minute,
        8 => hour_minute && b[5] == b':' && digits(&b[6..8]).is_some_and(|s| s <= 59),
        _ => false,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(ret_body: &str) -> Result<Customer, SkipReason> {
        let xml = format!("<CustomerRet>{ret_body}</CustomerRet>");
        let mut input = XmlInput::new(xml.as_bytes(), None);
        assert_eq!(input.next().unwrap(), Node::Start("CustomerRet".into()));
        let raw = read_record(&mut input, &CUSTOMER_SPEC).unwrap();
        assert_eq!(input.next().unwrap(), Node::Eof);
        build_customer(raw)
    }

    const MINIMAL: &str = "<ListID>1-1</ListID><Name>N</Name><FullName>N</FullName>";

    #[test]
    fn timestamps_are_validated() {
        for good in
            ["2014-07-19T07:21:56-05:00", "2014-07-19T07:21:56", "2024-02-29T23:59:59Z", "2000-01-01T00:00:00+14:00"]
        {
            assert!(is_datetime(good), "{good}");
        }
        for bad in [
            "",
            "2014-07-19",
            "2014-07-19 07:21:56",
            "2014-13-19T07:21:56",
            "2023-02-29T07:21:56",
            "2014-07-19T24:00:00",
            "2014-07-19T07:60:00",
            "2014-07-19T07:21:56-5:00",
            "2014-07-19T07:21:56+05",
            "2014-07-19T07:21:56.123",
            "2014-07-19T07:21:56z",
            "2014-7-19T07:21:56",
            "２０14-07-19T07:21:56",
        ] {
            assert!(!is_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn dates_are_validated() {
        assert!(is_date("2024-02-29") && is_date("2000-02-29") && is_date("1999-12-31"));
        for bad in [
            "1900-02-29",
            "2023-02-29",
            "2024-04-31",
            "2024-00-10",
            "0000-01-01",
            "2024-1-01",
            "20240101",
            "2024-01-01T00:00:00",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn booleans_accept_words_and_digits() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("1"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn defaults_apply_when_optional_elements_are_absent() {
        let c = customer(MINIMAL).unwrap();
        assert!(c.is_active);
        assert_eq!(c.details.sublevel, 0);
        assert!(c.details.bill_address.is_empty() && c.details.ship_address.is_empty());
    }

    #[test]
    fn only_direct_children_count() {
        let body = "<ParentRef><ListID>P-1</ListID><FullName>Parent</FullName></ParentRef>\
            <ContactsRet><ListID>C-1</ListID><Name>Contact</Name></ContactsRet>\
            <ListID>1-1</ListID><Name>Job</Name><FullName>Parent:Job</FullName><Sublevel>1</Sublevel>\
            <ShipToAddress><Name>Ship To 1</Name><Addr1>Elsewhere</Addr1></ShipToAddress>\
            <ShipAddress><Addr1>Here</Addr1><Extra><Addr2>nested</Addr2></Extra></ShipAddress>\
            <CustomerTypeRef><ListID>T-1</ListID><FullName>Residential</FullName></CustomerTypeRef>\
            <DataExtRet><DataExtName>Name</DataExtName><DataExtValue>x</DataExtValue></DataExtRet>";
        let c = customer(body).unwrap();
        assert_eq!(c.list_id, "1-1");
        assert_eq!(c.name, "Job");
        assert_eq!(c.full_name, "Parent:Job");
        assert_eq!(c.parent_list_id.as_deref(), Some("P-1"));
        assert_eq!(c.details.parent_full_name.as_deref(), Some("Parent"));
        assert_eq!(c.details.sublevel, 1);
        assert_eq!(c.details.ship_address, Address { line1: Some("Here".into()), ..Address::default() });
    }

    #[test]
    fn a_parent_list_id_is_not_the_record_list_id() {
        let reason =
            customer("<ParentRef><ListID>P-1</ListID></ParentRef><Name>N</Name><FullName>N</FullName>").unwrap_err();
        assert_eq!(reason, SkipReason { list_id: None, reason: "CustomerRet has no ListID".into() });
    }

    #[test]
    fn bad_values_skip_the_record_with_a_reason() {
        let cases = [
            ("<TimeModified>yesterday</TimeModified>", "TimeModified \"yesterday\" is not a valid timestamp"),
            ("<IsActive>maybe</IsActive>", "IsActive \"maybe\" is not true or false"),
            ("<Sublevel>-1</Sublevel>", "Sublevel \"-1\" is not a non-negative integer"),
            ("<Phone>1</Phone><Phone>2</Phone>", "Phone appears more than once"),
            ("<Email>a<b/>c</Email>", "Email contains an unexpected <b>"),
        ];
        for (extra, reason) in cases {
            let skip = customer(&format!("{MINIMAL}{extra}")).unwrap_err();
            assert_eq!(skip.list_id.as_deref(), Some("1-1"));
            assert!(skip.reason.starts_with(reason), "{} / {reason}", skip.reason);
        }
        let long = format!("{MINIMAL}<Notes>{}</Notes>", "n".repeat(MAX_TEXT_BYTES + 1));
        assert_eq!(customer(&long).unwrap_err().reason, "Notes is longer than 8192 bytes");
        let at_limit = format!("{MINIMAL}<Notes>\n{}\n</Notes>", "n".repeat(MAX_TEXT_BYTES - 2));
        assert_eq!(customer(&at_limit).unwrap().details.notes.map(|n| n.len()), Some(MAX_TEXT_BYTES));
    }

    #[test]
    fn reasons_never_carry_a_whole_value() {
        let long_bad = format!("{MINIMAL}<TimeCreated>{}</TimeCreated>", "z".repeat(500));
        let reason = customer(&long_bad).unwrap_err().reason;
        assert!(reason.len() < 120, "{reason}");
    }

    #[test]
    fn text_values_are_kept_exactly_as_sent() {
        let body = "<ListID>1-1</ListID><Name>Trailing Space </Name><FullName>\tParent :Trailing Space </FullName>\
            <CompanyName>\n   </CompanyName><Contact>\n  Mr  Smith \n</Contact>\
            <Notes>  first line\r\n    indented &amp; more&#x9;\r\n\r\n</Notes>";
        let c = customer(body).unwrap();
        assert_eq!(c.name, "Trailing Space ");
        assert_eq!(c.full_name, "\tParent :Trailing Space ");
        assert_eq!(c.details.company_name.as_deref(), Some("\n   "));
        assert_eq!(c.details.contact.as_deref(), Some("\n  Mr  Smith \n"));
        assert_eq!(c.details.notes.as_deref(), Some("  first line\n    indented & more\t\n\n"));
        // An element that is there but empty is an empty value, not an absent one.
        let c = customer(&format!("{MINIMAL}<Phone/><Fax></Fax>")).unwrap();
        assert_eq!((c.details.phone.as_deref(), c.details.fax.as_deref(), c.details.email), (Some(""), Some(""), None));
    }

    #[test]
    fn every_spec_slot_is_taken_by_the_builders() {
        // A record carrying every slot must come out with every field filled.
        let mut body = String::new();
        for slot in CUSTOMER_SPEC.slots {
            let value = match slot.name {
                "TimeCreated" | "TimeModified" => "2014-07-19T07:21:56-05:00",
                "IsActive" => "false",
                "Sublevel" => "2",
                _ => "v",
            };
            let (parent, child) = (slot.parent, slot.name);
            if parent.is_empty() {
                body.push_str(&format!("<{child}>{value}</{child}>"));
            } else {
                body.push_str(&format!("<{parent}><{child}>{value}</{child}></{parent}>"));
            }
        }
        // Merge the repeated aggregate elements produced above into one element each.
        for aggregate in ["ParentRef", "BillAddress", "ShipAddress"] {
            body = body.replace(&format!("</{aggregate}><{aggregate}>"), "");
        }
        let c = customer(&body).unwrap();
        // A customer's mobile number exists in QuickBooks Online only (CustomerRet has none).
        let debug = format!("{c:?}").replace("mobile: None, ", "");
        assert!(!debug.contains("None"), "{debug}");
        assert!(!c.is_active);
        assert_eq!(c.details.sublevel, 2);
    }
}

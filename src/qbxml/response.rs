//! Streaming reader for qbXML response documents (`QBXML > QBXMLMsgsRs > ...Rs`).
//!
//! [`ResponseReader`] hands out one [`Item`] at a time: the status of each `...Rs` element, every
//! `CustomerRet` / `EmployeeRet` inside it (or a [`Item::Skipped`] note for a record that cannot
//! be used), and the end of each `...Rs`. Only the record being read is held in memory, so a page
//! of any size costs the same. The document is checked to the very end: a response that is
//! truncated or malformed after its last record is still an error.

use std::io::BufRead;

use super::error::ParseError;
use super::input::{Node, XmlInput};
use super::records::{
    CUSTOMER_SPEC, DELETED_SPEC, EMPLOYEE_SPEC, build_customer, build_deleted, build_employee, read_record,
};
use crate::record::{Customer, Employee};

/// Which query a `...Rs` element answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RsKind {
    /// `CustomerQueryRs`.
    CustomerQuery,
    /// `EmployeeQueryRs`.
    EmployeeQuery,
    /// `ListDeletedQueryRs`.
    ListDeletedQuery,
    /// Any other response element, by name (e.g. `HostQueryRs`).
    Other(String),
}

impl RsKind {
    fn from_element(name: &str) -> RsKind {
        match name {
            "CustomerQueryRs" => RsKind::CustomerQuery,
            "EmployeeQueryRs" => RsKind::EmployeeQuery,
            "ListDeletedQueryRs" => RsKind::ListDeletedQuery,
            other => RsKind::Other(other.to_owned()),
        }
    }
}

/// The attributes of one `...Rs` element.
#[derive(Clone, Debug, PartialEq)]
pub struct RsStatus {
    /// The response element.
    pub kind: RsKind,
    /// `requestID`, echoed from the request.
    pub request_id: Option<String>,
    /// `statusCode` (required): 0 OK, 1 nothing matched, 500-999 warnings, 1000+ errors.
    pub status_code: i32,
    /// `statusSeverity`: `Info`, `Warn` or `Error` (empty when missing).
    pub status_severity: String,
    /// `statusMessage` (empty when missing).
    pub status_message: String,
    /// `iteratorID`, present on iterator pages.
    pub iterator_id: Option<String>,
    /// `iteratorRemainingCount`: records left after this page.
    pub iterator_remaining_count: Option<u32>,
    /// `retCount`.
    pub ret_count: Option<u32>,
}

/// A `ListDeletedRet`: a list record QuickBooks deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// `ListDelType`, e.g. `Customer`, as written.
    pub list_del_type: String,
    /// `ListID` of the deleted record.
    pub list_id: String,
    /// `TimeDeleted`, exactly as QuickBooks wrote it (its local time, with its standard offset).
    pub time_deleted: Option<String>,
    /// `FullName` the record had.
    pub full_name: Option<String>,
}

/// One step through a response document.
// Records are handed over by value one at a time; boxing them would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A `...Rs` element began; a self-closing one is followed at once by [`Item::RsEnd`].
    Rs(RsStatus),
    /// A usable `CustomerRet` inside the current `...Rs` (of any kind).
    Customer(Customer),
    /// A usable `EmployeeRet` inside the current `...Rs`.
    Employee(Employee),
    /// A usable `ListDeletedRet` inside the current `...Rs`.
    Deleted(Deleted),
    /// A `CustomerRet`, `EmployeeRet` or `ListDeletedRet` that could not be used; the reason is meant for logs and
    /// for the run report.
    Skipped {
        /// The record's own `ListID`, when it had one.
        list_id: Option<String>,
        /// What was wrong with it (never includes more than a short excerpt of a value).
        reason: String,
    },
    /// The current `...Rs` element ended.
    RsEnd,
}

/// Where the reader is in the `QBXML > QBXMLMsgsRs > ...Rs > ...Ret` hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    BeforeRoot,
    InRoot { messages_seen: bool },
    InMessages,
    InRs,
    Finished,
}

/// Depth (root = 1) of the `...Rs` elements whose attributes are read.
const RS_DEPTH: usize = 3;

/// Reads a qbXML response incrementally from any `BufRead`. See the module documentation.
pub struct ResponseReader<R: BufRead> {
    input: XmlInput<R>,
    position: Position,
}

impl<R: BufRead> ResponseReader<R> {
    /// Wraps a reader positioned at the start of a qbXML response document.
    pub fn new(reader: R) -> Self {
        ResponseReader { input: XmlInput::new(reader, Some(RS_DEPTH)), position: Position::BeforeRoot }
    }

    /// The next item, or `Ok(None)` once the whole document has been read and found complete.
    /// After an error every later call returns the same error.
    pub fn next_item(&mut self) -> Result<Option<Item>, ParseError> {
        loop {
            if self.position == Position::Finished {
                return Ok(None);
            }
            let node = self.input.next()?;
            match (self.position, node) {
                (_, Node::Eof) => {
                    // XmlInput only reports Eof for a complete document, which means the root
                    // ended first and the position is no longer inside it.
                    return Err(ParseError::Structure("document ended unexpectedly".into()));
                }
                (Position::BeforeRoot, Node::Start(name)) => {
                    if name != "QBXML" {
                        return Err(ParseError::Structure(format!("root element is <{name}>, expected <QBXML>")));
                    }
                    self.position = Position::InRoot { messages_seen: false };
                }
                (Position::InRoot { messages_seen }, Node::Start(name)) => {
                    if name != "QBXMLMsgsRs" || messages_seen {
                        return Err(ParseError::Structure(format!(
                            "unexpected <{name}> inside <QBXML>, expected one <QBXMLMsgsRs>"
                        )));
                    }
                    self.position = Position::InMessages;
                }
                (Position::InRoot { messages_seen }, Node::End(_)) => {
                    if !messages_seen {
                        return Err(ParseError::Structure("<QBXML> has no <QBXMLMsgsRs>".into()));
                    }
                    // The root has ended: read to the end of the input to prove nothing follows.
                    match self.input.next()? {
                        Node::Eof => {
                            self.position = Position::Finished;
                            return Ok(None);
                        }
                        other => {
                            return Err(ParseError::Structure(format!("content after the root element: {other:?}")));
                        }
                    }
                }
                (Position::InMessages, Node::Start(name)) => {
                    if !name.ends_with("Rs") {
                        return Err(ParseError::Structure(format!(
                            "unexpected <{name}> inside <QBXMLMsgsRs>, expected a response element"
                        )));
                    }
                    let status = rs_status(&name, self.input.attrs())?;
                    self.position = Position::InRs;
                    return Ok(Some(Item::Rs(status)));
                }
                (Position::InMessages, Node::End(_)) => {
                    self.position = Position::InRoot { messages_seen: true };
                }
                (Position::InRs, Node::Start(name)) => match name.as_str() {
                    "CustomerRet" => {
                        let raw = read_record(&mut self.input, &CUSTOMER_SPEC)?;
                        return Ok(Some(match build_customer(raw) {
                            Ok(customer) => Item::Customer(customer),
                            Err(skip) => Item::Skipped { list_id: skip.list_id, reason: skip.reason },
                        }));
                    }
                    "EmployeeRet" => {
                        let raw = read_record(&mut self.input, &EMPLOYEE_SPEC)?;
                        return Ok(Some(match build_employee(raw) {
                            Ok(employee) => Item::Employee(employee),
                            Err(skip) => Item::Skipped { list_id: skip.list_id, reason: skip.reason },
                        }));
                    }
                    "ListDeletedRet" => {
                        let raw = read_record(&mut self.input, &DELETED_SPEC)?;
                        return Ok(Some(match build_deleted(raw) {
                            Ok(deleted) => Item::Deleted(deleted),
                            Err(skip) => Item::Skipped { list_id: skip.list_id, reason: skip.reason },
                        }));
                    }
                    _ => self.input.skip_element()?,
                },
                (Position::InRs, Node::End(_)) => {
                    self.position = Position::InMessages;
                    return Ok(Some(Item::RsEnd));
                }
                (Position::BeforeRoot | Position::Finished, Node::End(_)) => {
                    return Err(ParseError::Structure("unexpected end tag".into()));
                }
                (Position::Finished, Node::Start(_)) => {
                    return Err(ParseError::Structure("content after the root element".into()));
                }
            }
        }
    }
}

/// Reads the attributes of a `...Rs` element.
fn rs_status(element: &str, attributes: &[(String, String)]) -> Result<RsStatus, ParseError> {
    let get = |key: &str| attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let status_code = match get("statusCode") {
        None => {
            return Err(ParseError::StatusCode { element: element.to_owned(), value: None });
        }
        Some(text) => text.trim().parse::<i32>().map_err(|_| ParseError::StatusCode {
            element: element.to_owned(),
            value: Some(text.chars().take(40).collect()),
        })?,
    };
    let count = |key: &str| -> Result<Option<u32>, ParseError> {
        match get(key) {
            None => Ok(None),
            Some(text) => text.trim().parse::<u32>().map(Some).map_err(|_| {
                ParseError::Structure(format!(
                    "<{element}> {key} {:?} is not a count",
                    text.chars().take(40).collect::<String>()
                ))
            }),
        }
    };
    Ok(RsStatus {
        kind: RsKind::from_element(element),
        request_id: get("requestID").map(str::to_owned),
        status_code,
        status_severity: get("statusSeverity").unwrap_or_default().to_owned(),
        status_message: get("statusMessage").unwrap_or_default().to_owned(),
        iterator_id: get("iteratorID").map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned),
        iterator_remaining_count: count("iteratorRemainingCount")?,
        ret_count: count("retCount")?,
    })
}

/// Reads a whole response held in memory; for tests and small documents.
pub fn parse_response_str(xml: &str) -> Result<Vec<Item>, ParseError> {
    let mut reader = ResponseReader::new(xml.as_bytes());
    let mut items = Vec::new();
    while let Some(item) = reader.next_item()? {
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use std::io::{self, BufRead, Read};

    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../qbxml-fixtures/qbxml/", $name))
        };
    }

    fn customers(items: &[Item]) -> Vec<&Customer> {
        items.iter().filter_map(|i| if let Item::Customer(c) = i { Some(c) } else { None }).collect()
    }

    fn status(items: &[Item]) -> &RsStatus {
        match &items[0] {
            Item::Rs(status) => status,
            other => panic!("expected Rs first, got {other:?}"),
        }
    }

    #[test]
    fn sample_company_has_146_customers_and_82_jobs() {
        let items = parse_response_str(fixture!("customer-query-rs.status0.multi.sample-company.xml")).unwrap();
        let rs = status(&items);
        assert_eq!(rs.kind, RsKind::CustomerQuery);
        assert_eq!(rs.request_id.as_deref(), Some("1"));
        assert_eq!((rs.status_code, rs.status_severity.as_str(), rs.status_message.as_str()), (0, "Info", "Status OK"));
        assert_eq!(items.last(), Some(&Item::RsEnd));
        assert!(!items.iter().any(|i| matches!(i, Item::Skipped { .. })), "no record may be skipped");
        let all = customers(&items);
        assert_eq!(all.len(), 146);
        assert_eq!(items.len(), 148);
        let jobs: Vec<_> = all.iter().filter(|c| c.parent_list_id.is_some()).collect();
        assert_eq!(jobs.len(), 82);
        assert!(jobs.iter().all(|c| c.details.sublevel == 1 && c.details.parent_full_name.is_some()));
        assert!(all.iter().filter(|c| c.parent_list_id.is_none()).all(|c| c.details.sublevel == 0));

        let kristy = all[0];
        assert_eq!(kristy.list_id, "150000-933272658");
        assert_eq!(kristy.name, "Abercrombie, Kristy");
        assert_eq!(kristy.details.time_created.as_deref(), Some("1999-07-29T14:24:18-05:00"));
        assert_eq!(kristy.time_modified.as_deref(), Some("2023-12-16T00:06:42-05:00"));
        assert_eq!(kristy.edit_sequence.as_deref(), Some("1702703202"));
        assert_eq!(kristy.details.salutation.as_deref(), Some("Mrs."));
        assert_eq!(kristy.details.bill_address.line2.as_deref(), Some("5647 Cypress Hill Rd"));
        assert_eq!(kristy.details.bill_address.city.as_deref(), Some("Bayshore"));
        assert_eq!(kristy.details.bill_address.line3, None, "the address block must not leak in");
        assert_eq!(kristy.details.ship_address.postal_code.as_deref(), Some("94326"));
        assert_eq!(kristy.details.email.as_deref(), Some("kristy@samplename.com"));
        assert_eq!(kristy.details.contact.as_deref(), Some("Kristy Abercrombie"));
        assert_eq!(kristy.details.job_status.as_deref(), Some("None"));
        let notes = kristy.details.notes.as_deref().unwrap();
        assert!(notes.starts_with("9/15/2003:  Send Kristy estimate for den remodel.\n\n9/20/2003:"), "{notes:?}");
        assert!(notes.ends_with("sign the contract now."), "{notes:?}");

        let family_room = all[1];
        assert_eq!(family_room.full_name, "Abercrombie, Kristy:Family Room");
        assert_eq!(family_room.name, "Family Room");
        assert_eq!(family_room.list_id, "160000-933272658");
        assert_eq!(family_room.parent_list_id.as_deref(), Some("150000-933272658"));
        assert_eq!(family_room.details.parent_full_name.as_deref(), Some("Abercrombie, Kristy"));

        let babcock = all.iter().find(|c| c.full_name == "Babcock's Music Shop").expect("apostrophe decoded");
        assert_eq!(babcock.name, "Babcock's Music Shop");
        assert_eq!(babcock.details.company_name.as_deref(), Some("Babcock's Music Shop"));
        assert_eq!(babcock.details.bill_address.line1.as_deref(), Some("Babcock's Music Shop"));
        assert!(all.iter().all(|c| !c.full_name.contains("&apos;")));
        // ListIDs are unique: no nested ContactsRet or Ref ListID was taken for a record's own.
        let mut ids: Vec<&str> = all.iter().map(|c| c.list_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 146);
        assert!(all.iter().all(|c| c.is_active));
    }

    #[test]
    fn single_customer_without_request_id() {
        let items = parse_response_str(fixture!("customer-query-rs.status0.single.xml")).unwrap();
        assert_eq!(status(&items).request_id, None);
        let c = customers(&items)[0];
        assert_eq!(c.list_id, "8000001B-1405777862");
        assert_eq!(c.details.salutation.as_deref(), Some("Mr"));
        assert_eq!(c.details.email.as_deref(), Some("myUserName@gmail.com"));
    }

    #[test]
    fn character_references_are_decoded() {
        let items = parse_response_str(fixture!("customer-query-rs.char-refs.xml")).unwrap();
        let c = customers(&items)[0];
        assert_eq!(c.name, "Jean-Sébastien Goupil");
        assert_eq!(c.full_name, "Jean-Sébastien Goupil");
        assert_eq!(c.details.time_created.as_deref(), Some("2015-01-30T18:24:42-08:00"));
    }

    #[test]
    fn iterator_attributes_are_read() {
        let items = parse_response_str(fixture!("customer-query-rs.iterator-remaining18.xml")).unwrap();
        let rs = status(&items);
        assert_eq!(rs.iterator_remaining_count, Some(18));
        assert_eq!(rs.iterator_id.as_deref(), Some("{eb05f701-e727-472f-8ade-6753c4f67a46}"));
        assert_eq!(rs.ret_count, None);
        assert_eq!(customers(&items).len(), 1);
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn warning_status_500_with_quotes_in_the_message() {
        let items = parse_response_str(fixture!("customer-query-rs.status500.xml")).unwrap();
        assert_eq!(items.len(), 2);
        let rs = status(&items);
        assert_eq!((rs.status_code, rs.status_severity.as_str()), (500, "Warn"));
        assert!(rs.status_message.contains("element (\"bleech\") that"), "{}", rs.status_message);
        assert_eq!(items[1], Item::RsEnd);
    }

    #[test]
    fn error_status_3120_keeps_double_spaces() {
        let items = parse_response_str(fixture!("customer-query-rs.status3120.xml")).unwrap();
        let rs = status(&items);
        assert_eq!((rs.status_code, rs.status_severity.as_str()), (3120, "Error"));
        assert!(
            rs.status_message
                .starts_with("Object \"8000001B-1405768916\" specified in the request cannot be found.  QuickBooks")
        );
    }

    #[test]
    fn status_1_self_closing_customer_query() {
        let items = parse_response_str(fixture!("customer-query-rs.status1.handwritten.xml")).unwrap();
        assert_eq!(items.len(), 2);
        let rs = status(&items);
        assert_eq!(rs.status_code, 1);
        assert_eq!(rs.request_id.as_deref(), Some("c1"));
        assert_eq!(rs.ret_count, Some(0));
        assert_eq!(items[1], Item::RsEnd);
    }

    #[test]
    fn status_3391_expired_iterator() {
        let items = parse_response_str(fixture!("customer-query-rs.status3391.handwritten.xml")).unwrap();
        let rs = status(&items);
        assert_eq!((rs.status_code, rs.status_severity.as_str()), (3391, "Error"));
        assert_eq!(rs.iterator_id, None);
    }

    #[test]
    fn employee_payroll_and_bank_data_is_never_kept() {
        let items = parse_response_str(fixture!("employee-query-rs.payroll-elements.xml")).unwrap();
        assert_eq!(items.len(), 3);
        let Item::Employee(e) = &items[1] else { panic!("{:?}", items[1]) };
        assert_eq!(status(&items).kind, RsKind::EmployeeQuery);
        assert_eq!(e.list_id, "1111111-111111111");
        assert_eq!(e.name, "Daric Teske");
        assert_eq!(e.details.first_name.as_deref(), Some("Daric"));
        assert_eq!(e.details.last_name.as_deref(), Some("Teske"));
        assert_eq!(e.details.phone.as_deref(), Some("5555555555"));
        assert_eq!(e.details.email.as_deref(), Some("tesked@outlook.com"));
        assert!(e.is_active);
        let debug = format!("{items:?}");
        for secret in ["Fake Bank", "111111111111", "Checking", "Weekly", "15.00", "Federal", "StateLived", "PT0H"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
    }

    #[test]
    fn employee_fields_and_sensitive_elements() {
        let items = parse_response_str(fixture!("employee-query-rs.sensitive.handwritten.xml")).unwrap();
        let employees: Vec<&Employee> =
            items.iter().filter_map(|i| if let Item::Employee(e) = i { Some(e) } else { None }).collect();
        assert_eq!(employees.len(), 1);
        let e = employees[0];
        assert_eq!(e.list_id, "80000005-1404145671");
        assert_eq!(e.time_modified.as_deref(), Some("2014-07-01T10:27:51-05:00"));
        assert_eq!(e.edit_sequence.as_deref(), Some("1404145671"));
        assert_eq!(e.name, "Renée O'Hara");
        assert!(!e.is_active);
        assert_eq!(e.details.salutation.as_deref(), Some("Ms."));
        assert_eq!(e.details.middle_name.as_deref(), Some("J"));
        assert_eq!(e.details.job_title.as_deref(), Some("Crew Lead"));
        assert_eq!(e.details.address.line1.as_deref(), Some("12 Elm & Oak St"));
        assert_eq!(e.details.address.city.as_deref(), Some("Middlefield"));
        assert_eq!(e.details.address.state.as_deref(), Some("CA"));
        assert_eq!(e.details.address.postal_code.as_deref(), Some("94482"));
        assert_eq!(e.details.mobile.as_deref(), Some("415-555-0199"));
        assert_eq!(e.details.alt_phone.as_deref(), Some("415-555-0100"));
        assert_eq!(e.details.fax.as_deref(), Some("415-555-0101"));
        assert_eq!(e.details.employee_type.as_deref(), Some("Regular"));
        assert_eq!(e.details.hired_date.as_deref(), Some("2012-03-05"));
        assert_eq!(e.details.released_date.as_deref(), Some("2014-06-30"));
        assert_eq!(e.details.notes.as_deref(), Some("Line one\nLine two"));
        let debug = format!("{items:?}");
        for secret in
            ["123-45-6789", "1980-02-14", "Supervisor Sam", "Spouse", "Jordan", "555-0142", "Female", "Secret custom"]
        {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        match &items[2] {
            Item::Skipped { list_id, reason } => {
                assert_eq!(list_id.as_deref(), Some("80000006-1404145672"));
                assert!(reason.contains("HiredDate"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_deleted_records_are_read_and_bad_ones_skipped() {
        let items = parse_response_str(fixture!("list-deleted-query-rs.status0.handwritten.xml")).unwrap();
        assert_eq!(status(&items).kind, RsKind::ListDeletedQuery);
        assert_eq!(status(&items).request_id.as_deref(), Some("del-1"));
        let deleted: Vec<&Deleted> =
            items.iter().filter_map(|i| if let Item::Deleted(d) = i { Some(d) } else { None }).collect();
        assert_eq!(deleted.len(), 2);
        assert_eq!(
            deleted[0],
            &Deleted {
                list_del_type: "Customer".into(),
                list_id: "80000030-1203622308".into(),
                time_deleted: Some("2024-07-02T09:15:00-05:00".into()),
                full_name: Some("Schmoe, Joe:Kitchen & Bath".into()),
            }
        );
        assert_eq!(deleted[1].full_name.as_deref(), Some("Café Lumière"));
        let skipped: Vec<(Option<&str>, &str)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Skipped { list_id, reason } => Some((list_id.as_deref(), reason.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(skipped.len(), 2);
        assert_eq!(skipped[0], (None, "ListDeletedRet has no ListID"));
        assert_eq!(skipped[1].0, Some("80000032-1203622310"));
        assert!(skipped[1].1.contains("TimeDeleted"), "{}", skipped[1].1);
        assert_eq!(items.last(), Some(&Item::RsEnd));

        let refused = parse_response_str(fixture!("list-deleted-query-rs.status1030.handwritten.xml")).unwrap();
        assert_eq!(status(&refused).status_code, 1030);
        assert_eq!(refused.len(), 2);
    }

    #[test]
    fn multi_rs_document_with_a_self_closing_status_1() {
        let items =
            parse_response_str(fixture!("multi-rs.item-inventory-query-status1.sales-order-add-status0-and-3140.xml"))
                .unwrap();
        let other = |name: &str| RsKind::Other(name.to_owned());
        let shape: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Rs(rs) => format!("Rs {:?} {}", rs.kind, rs.status_code),
                Item::RsEnd => "RsEnd".to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            shape,
            [
                format!("Rs {:?} 1", other("ItemInventoryQueryRs")),
                "RsEnd".to_owned(),
                format!("Rs {:?} 1", other("ItemInventoryQueryRs")),
                "RsEnd".to_owned(),
                format!("Rs {:?} 0", other("SalesOrderAddRs")),
                "RsEnd".to_owned(),
                format!("Rs {:?} 3140", other("SalesOrderAddRs")),
                "RsEnd".to_owned(),
            ]
        );
        let Item::Rs(first) = &items[0] else { unreachable!() };
        assert_eq!(first.status_message, "A query request did not find a matching object in QuickBooks");
        assert_eq!(first.status_severity, "Info");
    }

    #[test]
    fn a_fragment_without_the_qbxml_root_is_refused() {
        let error = parse_response_str(fixture!("list-deleted-query-rs.customer.fragment.xml")).unwrap_err();
        assert_eq!(error, ParseError::Structure("root element is <ListDeletedQueryRs>, expected <QBXML>".into()));
    }

    #[test]
    fn doctype_is_refused() {
        let error = parse_response_str(fixture!("doctype-entity.handwritten.xml")).unwrap_err();
        assert_eq!(error, ParseError::Doctype);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let error = parse_response_str(fixture!("depth-bomb.handwritten.xml")).unwrap_err();
        assert_eq!(error, ParseError::TooDeep { limit: 64 });
    }

    #[test]
    fn unknown_entities_are_refused() {
        let error = parse_response_str(fixture!("unknown-entity.handwritten.xml")).unwrap_err();
        assert_eq!(error, ParseError::UnknownEntity("nbsp".into()));
    }

    #[test]
    fn truncated_documents_are_refused_even_after_complete_records() {
        let mut reader = ResponseReader::new(fixture!("truncated.handwritten.xml").as_bytes());
        assert!(matches!(reader.next_item(), Ok(Some(Item::Rs(_)))));
        assert!(matches!(reader.next_item(), Ok(Some(Item::Customer(_)))));
        let error = reader.next_item().unwrap_err();
        assert!(matches!(error, ParseError::Truncated { .. } | ParseError::Xml { .. }), "{error:?}");
        assert_eq!(reader.next_item().unwrap_err(), error, "errors repeat");

        let whole = fixture!("customer-query-rs.char-refs.xml");
        for cut in [whole.len() - 1, whole.len() - 9, whole.len() / 2, 30] {
            assert!(parse_response_str(&whole[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let bytes: &[u8] = include_bytes!("../../qbxml-fixtures/qbxml/invalid-utf8.handwritten.xml");
        assert!(bytes.windows(2).any(|w| w == [0xE9, b' ']), "the fixture must hold a Latin-1 byte");
        let mut reader = ResponseReader::new(bytes);
        let result = loop {
            match reader.next_item() {
                Ok(Some(_)) => continue,
                other => break other,
            }
        };
        assert!(matches!(result, Err(ParseError::InvalidUtf8 { .. })), "{result:?}");
    }

    #[test]
    fn invalid_records_are_skipped_and_reading_continues() {
        let items = parse_response_str(fixture!("customer-query-rs.invalid-records.handwritten.xml")).unwrap();
        let summary: Vec<(Option<&str>, String)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Customer(c) => Some((Some(c.list_id.as_str()), "ok".to_owned())),
                Item::Skipped { list_id, reason } => Some((list_id.as_deref(), reason.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Some("10000-1"), "ok".to_owned()),
                (None, "CustomerRet has no ListID".to_owned()),
                (Some("30000-3"), "CustomerRet has no Name".to_owned()),
                (
                    Some("40000-4"),
                    "TimeModified \"2014-07-19 07:21:56\" is not a valid timestamp (YYYY-MM-DDThh:mm:ss)".to_owned()
                ),
                (Some("50000-5"), "IsActive \"yes\" is not true or false".to_owned()),
                (Some("60000-6"), "ok".to_owned()),
            ]
        );
        assert_eq!(items.last(), Some(&Item::RsEnd));
    }

    #[test]
    fn nested_lookalike_elements_are_not_taken_for_the_record() {
        let items = parse_response_str(fixture!("customer-query-rs.confusable-nesting.handwritten.xml")).unwrap();
        let c = customers(&items)[0];
        assert_eq!(c.list_id, "80000010-1500000000");
        assert_eq!(c.name, "Real Name");
        assert_eq!(c.full_name, "Parent Co:Real Name");
        assert_eq!(c.parent_list_id.as_deref(), Some("80000009-1400000000"));
        assert_eq!(c.details.parent_full_name.as_deref(), Some("Parent Co"));
        assert_eq!(c.details.bill_address.line1.as_deref(), Some("1 Bill St"));
        assert_eq!(c.details.ship_address.line1.as_deref(), Some("2 Ship St"));
        assert_eq!(c.details.ship_address.note.as_deref(), Some("Side door"));
        assert_eq!(c.details.notes.as_deref(), Some("Real notes"));
        assert_eq!(c.details.job_title.as_deref(), Some("Owner"));
        let debug = format!("{c:?}");
        for decoy in ["DECOY", "4111", "Secret"] {
            assert!(!debug.contains(decoy), "{decoy} leaked: {debug}");
        }
    }

    #[test]
    fn missing_or_bad_status_codes_are_errors() {
        let missing = "<QBXML><QBXMLMsgsRs><CustomerQueryRs statusSeverity=\"Info\"/></QBXMLMsgsRs></QBXML>";
        assert_eq!(
            parse_response_str(missing).unwrap_err(),
            ParseError::StatusCode { element: "CustomerQueryRs".into(), value: None }
        );
        let bad = "<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode=\"OK\"/></QBXMLMsgsRs></QBXML>";
        assert_eq!(
            parse_response_str(bad).unwrap_err(),
            ParseError::StatusCode { element: "CustomerQueryRs".into(), value: Some("OK".into()) }
        );
        let bad_count = "<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode=\"0\" iteratorRemainingCount=\"-1\"/></QBXMLMsgsRs></QBXML>";
        assert!(matches!(parse_response_str(bad_count), Err(ParseError::Structure(_))));
    }

    #[test]
    fn envelope_variants() {
        let bom_no_declaration = "\u{FEFF}\n  <QBXML><QBXMLMsgsRs><EmployeeQueryRs statusCode=\"1\" statusSeverity=\"Info\" statusMessage=\"none\"/></QBXMLMsgsRs></QBXML>\n";
        let items = parse_response_str(bom_no_declaration).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(status(&items).kind, RsKind::EmployeeQuery);

        let refused = [
            "<QBXML/>",
            "<QBXML><Other/></QBXML>",
            "<QBXML><QBXMLMsgsRs/><QBXMLMsgsRs/></QBXML>",
            "<QBXML><QBXMLMsgsRs><Junk/></QBXMLMsgsRs></QBXML>",
            "<QBXML><QBXMLMsgsRs/></QBXML><QBXML/>",
            "<QBXML><QBXMLMsgsRs/></QBXML>trailing",
            "<qbxml><QBXMLMsgsRs/></qbxml>",
        ];
        for xml in refused {
            assert!(parse_response_str(xml).is_err(), "{xml}");
        }
        assert_eq!(parse_response_str("<QBXML><QBXMLMsgsRs/></QBXML>").unwrap(), []);
    }

    #[test]
    fn other_ret_elements_inside_an_rs_are_skipped() {
        let xml = "<QBXML><QBXMLMsgsRs><CustomerAddRs statusCode=\"0\"><CustomerRet><ListID>1</ListID><Name>A</Name><FullName>A</FullName></CustomerRet></CustomerAddRs>\
                   <VendorQueryRs statusCode=\"0\"><VendorRet><ListID>9</ListID><Name>V</Name></VendorRet></VendorQueryRs></QBXMLMsgsRs></QBXML>";
        let items = parse_response_str(xml).unwrap();
        assert_eq!(items.len(), 5);
        assert!(matches!(&items[1], Item::Customer(c) if c.list_id == "1"));
        assert_eq!((&items[2], &items[4]), (&Item::RsEnd, &Item::RsEnd));
        assert!(matches!(&items[3], Item::Rs(rs) if rs.kind == RsKind::Other("VendorQueryRs".into())));
    }

    /// Produces a large CustomerQueryRs on the fly, a record at a time.
    struct GeneratedResponse {
        total: usize,
        next_record: usize,
        chunk: Vec<u8>,
        offset: usize,
        footer_done: bool,
    }

    impl GeneratedResponse {
        fn new(total: usize) -> Self {
            let header = b"<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\" iteratorRemainingCount=\"0\" iteratorID=\"{0}\">\n";
            GeneratedResponse { total, next_record: 0, chunk: header.to_vec(), offset: 0, footer_done: false }
        }

        fn refill(&mut self) {
            self.chunk.clear();
            self.offset = 0;
            if self.next_record < self.total {
                let n = self.next_record;
                self.next_record += 1;
                let record = format!(
                    "<CustomerRet>\n<ListID>{n:X}-1405768916</ListID>\n<TimeModified>2014-07-19T07:21:56-05:00</TimeModified>\n<EditSequence>{n}</EditSequence>\n<Name>Customer &amp; Sons {n}</Name>\n<FullName>Customer &amp; Sons {n}</FullName>\n<IsActive>true</IsActive>\n<Sublevel>0</Sublevel>\n<BillAddress><Addr1>{n} Main St</Addr1><City>Springfield</City></BillAddress>\n<Balance>0.00</Balance>\n</CustomerRet>\n"
                );
                self.chunk.extend_from_slice(record.as_bytes());
            } else if !self.footer_done {
                self.footer_done = true;
                self.chunk.extend_from_slice(b"</CustomerQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n");
            }
        }
    }

    impl Read for GeneratedResponse {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for GeneratedResponse {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if self.offset >= self.chunk.len() {
                self.refill();
            }
            Ok(&self.chunk[self.offset..])
        }

        fn consume(&mut self, amount: usize) {
            self.offset += amount;
        }
    }

    #[test]
    fn a_hundred_thousand_customers_stream_through_without_collecting() {
        const TOTAL: usize = 100_000;
        let mut reader = ResponseReader::new(GeneratedResponse::new(TOTAL));
        let mut customers = 0usize;
        let mut last_name = String::new();
        let mut ends = 0;
        while let Some(item) = reader.next_item().unwrap() {
            match item {
                Item::Customer(c) => {
                    customers += 1;
                    last_name = c.name;
                }
                Item::Rs(rs) => assert_eq!(rs.iterator_remaining_count, Some(0)),
                Item::RsEnd => ends += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(customers, TOTAL);
        assert_eq!(ends, 1);
        assert_eq!(last_name, format!("Customer & Sons {}", TOTAL - 1));
    }
}

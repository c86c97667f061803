//! Outbound qbXML: the `CustomerQueryRq`, `EmployeeQueryRq` and `ListDeletedQueryRq` documents
//! qbsync sends.
//!
//! QuickBooks refuses a request whose children are not in the exact schema order (HRESULT
//! 0x80040400), so each query is written by hand in the order of the qbXML 13.0 XSD groups
//! `CustomerListQuery` / `ListQueryWithOwnerID`: `MaxReturned`, `ActiveStatus`,
//! `FromModifiedDate`, then `IncludeRetElement`s (and `ListDeletedQuery`: `ListDelType`s, then
//! `DeletedDateRangeFilter`). Attributes come in the order `requestID`,
//! `iterator`, `iteratorID`. Every value is escaped by the private `escape` module, so the document is
//! pure ASCII.

use super::escape::{Context, escaped};
use super::version::QbxmlVersion;

/// Which records a query returns by active state. QuickBooks defaults to `ActiveOnly`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveStatus {
    /// Only active records (QuickBooks' default when `ActiveStatus` is left out).
    ActiveOnly,
    /// Only inactive records.
    InactiveOnly,
    /// Active and inactive records.
    All,
}

impl ActiveStatus {
    /// The qbXML element value.
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveStatus::ActiveOnly => "ActiveOnly",
            ActiveStatus::InactiveOnly => "InactiveOnly",
            ActiveStatus::All => "All",
        }
    }
}

/// Paging through a customer query with a QuickBooks iterator (qbXML 5.0 and later).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IteratorMode {
    /// `iterator="Start"`: the first page; QuickBooks answers with an `iteratorID`.
    Start,
    /// `iterator="Continue"` with the `iteratorID` from the previous page.
    Continue {
        /// The `iteratorID` attribute of the previous `CustomerQueryRs`.
        iterator_id: String,
    },
}

/// A `CustomerQueryRq` (customers and jobs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Echoed back on the response as `requestID` (QuickBooks allows at most 50 characters).
    pub request_id: String,
    /// Iterator paging, or `None` for a single unpaged answer.
    pub iterator: Option<IteratorMode>,
    /// `MaxReturned`: page size (values below 1 are sent as 1, the schema minimum).
    pub max_returned: Option<u32>,
    /// `ActiveStatus`; leave it `None` only if QuickBooks' `ActiveOnly` default is wanted.
    pub active_status: Option<ActiveStatus>,
    /// `FromModifiedDate` as DATETIMETYPE text, e.g. `2024-05-01T00:00:00` (blank: left out).
    pub from_modified_date: Option<String>,
    /// Ask only for [`CUSTOMER_RET_ELEMENTS`] with `IncludeRetElement`.
    pub include_ret_elements: bool,
}

/// An `EmployeeQueryRq`. Employee queries have no iterator in qbXML.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmployeeQuery {
    /// Echoed back on the response as `requestID` (QuickBooks allows at most 50 characters).
    pub request_id: String,
    /// `MaxReturned` (values below 1 are sent as 1).
    pub max_returned: Option<u32>,
    /// `ActiveStatus`; `None` means QuickBooks' `ActiveOnly` default.
    pub active_status: Option<ActiveStatus>,
    /// `FromModifiedDate` as DATETIMETYPE text (blank: left out).
    pub from_modified_date: Option<String>,
    /// Ask only for [`EMPLOYEE_RET_ELEMENTS`] with `IncludeRetElement`.
    pub include_ret_elements: bool,
}

/// A `ListDelType` qbsync asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListDelType {
    Customer,
    Employee,
}

impl ListDelType {
    /// The qbXML element value.
    pub fn as_str(self) -> &'static str {
        match self {
            ListDelType::Customer => "Customer",
            ListDelType::Employee => "Employee",
        }
    }
}

/// A `ListDeletedQueryRq` (qbXML 2.0 and later): the list records QuickBooks deleted, with their
/// `TimeDeleted`. It has no iterator; QuickBooks keeps about the last 90 days of deletions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListDeletedQuery {
    /// Echoed back on the response as `requestID`.
    pub request_id: String,
    /// `ListDelType`, one or more.
    pub list_del_types: Vec<ListDelType>,
    /// `DeletedDateRangeFilter/FromDeletedDate` as DATETIMETYPE text (blank: no filter).
    pub from_deleted_date: Option<String>,
}

/// One query; each request document carries exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A `CustomerQueryRq`.
    Customer(CustomerQuery),
    /// An `EmployeeQueryRq`.
    Employee(EmployeeQuery),
    /// A `ListDeletedQueryRq`.
    ListDeleted(ListDeletedQuery),
}

/// The `CustomerRet` children qbsync keeps, in schema order. Nothing sensitive (no
/// `CreditCardInfo`, no custom fields).
pub const CUSTOMER_RET_ELEMENTS: &[&str] = &[
    "ListID",
    "TimeCreated",
    "TimeModified",
    "EditSequence",
    "Name",
    "FullName",
    "IsActive",
    "ParentRef",
    "Sublevel",
    "CompanyName",
    "Salutation",
    "FirstName",
    "MiddleName",
    "LastName",
    "JobTitle",
    "BillAddress",
    "ShipAddress",
    "Phone",
    "AltPhone",
    "Fax",
    "Email",
    "Contact",
    "JobStatus",
    "Notes",
];

/// The `EmployeeRet` children qbsync keeps, in schema order. Never `SSN`, `BirthDate`,
/// `EmployeePayrollInfo` (pay, tax and bank data) or custom fields.
pub const EMPLOYEE_RET_ELEMENTS: &[&str] = &[
    "ListID",
    "TimeCreated",
    "TimeModified",
    "EditSequence",
    "Name",
    "IsActive",
    "Salutation",
    "FirstName",
    "MiddleName",
    "LastName",
    "JobTitle",
    "EmployeeAddress",
    "Phone",
    "Mobile",
    "AltPhone",
    "Fax",
    "Email",
    "EmployeeType",
    "HiredDate",
    "ReleasedDate",
    "Notes",
];

/// Whether a Ret element exists in `version`; QuickBooks may refuse names it does not know.
fn ret_element_exists(name: &str, version: QbxmlVersion) -> bool {
    match name {
        // JobTitle was added to CustomerRet and EmployeeRet in qbXML 12.0.
        "JobTitle" => version >= QbxmlVersion::new(12, 0),
        _ => true,
    }
}

/// A whole qbXML request document: `<?xml version="1.0" encoding="utf-8"?>`,
/// `<?qbxml version="X.Y"?>`, `QBXML`/`QBXMLMsgsRq onError="stopOnError"` and the one query,
/// children strictly in XSD order. Text and attribute values are XML-escaped, non-ASCII is
/// written as numeric character references and control characters are dropped.
///
/// Versions below [`QbxmlVersion::MIN_SUPPORTED`] are written as asked (iterators need 5.0):
/// callers pick the version with [`super::choose_version`]. `IncludeRetElement` names that do not
/// exist in `version` are left out.
pub fn render_request(version: QbxmlVersion, request: &Request) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!("<?qbxml version=\"{version}\"?>\n"));
    out.push_str("<QBXML>\n  <QBXMLMsgsRq onError=\"stopOnError\">\n");
    match request {
        Request::Customer(query) => {
            let mut attributes = vec![("requestID", query.request_id.as_str())];
            match &query.iterator {
                None => {}
                Some(IteratorMode::Start) => attributes.push(("iterator", "Start")),
                Some(IteratorMode::Continue { iterator_id }) => {
                    attributes.push(("iterator", "Continue"));
                    attributes.push(("iteratorID", iterator_id.as_str()));
                }
            }
            let filter = Filter {
                max_returned: query.max_returned,
                active_status: query.active_status,
                from_modified_date: query.from_modified_date.as_deref(),
            };
            let ret_elements = if query.include_ret_elements { CUSTOMER_RET_ELEMENTS } else { &[] };
            push_query(&mut out, "CustomerQueryRq", &attributes, &filter, ret_elements, version);
        }
        Request::Employee(query) => {
            let attributes = [("requestID", query.request_id.as_str())];
            let filter = Filter {
                max_returned: query.max_returned,
                active_status: query.active_status,
                from_modified_date: query.from_modified_date.as_deref(),
            };
            let ret_elements = if query.include_ret_elements { EMPLOYEE_RET_ELEMENTS } else { &[] };
            push_query(&mut out, "EmployeeQueryRq", &attributes, &filter, ret_elements, version);
        }
        Request::ListDeleted(query) => push_list_deleted(&mut out, query),
    }
    out.push_str("  </QBXMLMsgsRq>\n</QBXML>\n");
    out
}

/// The `ListFilter` group members qbsync uses.
struct Filter<'a> {
    max_returned: Option<u32>,
    active_status: Option<ActiveStatus>,
    from_modified_date: Option<&'a str>,
}

fn push_query(
    out: &mut String,
    element: &str,
    attributes: &[(&str, &str)],
    filter: &Filter<'_>,
    ret_elements: &[&str],
    version: QbxmlVersion,
) {
    out.push_str("    <");
    out.push_str(element);
    for (name, value) in attributes {
        out.push_str(&format!(" {name}=\"{}\"", escaped(value, Context::Attribute)));
    }
    out.push_str(">\n");
    if let Some(max) = filter.max_returned {
        push_leaf(out, "MaxReturned", &max.max(1).to_string());
    }
    if let Some(status) = filter.active_status {
        push_leaf(out, "ActiveStatus", status.as_str());
    }
    if let Some(date) = filter.from_modified_date.map(str::trim).filter(|d| !d.is_empty()) {
        push_leaf(out, "FromModifiedDate", date);
    }
    for name in ret_elements.iter().filter(|name| ret_element_exists(name, version)) {
        push_leaf(out, "IncludeRetElement", name);
    }
    out.push_str("    </");
    out.push_str(element);
    out.push_str(">\n");
}

/// `ListDeletedQueryRq`: `ListDelType`s, then `DeletedDateRangeFilter` (XSD group
/// `ListDeletedQuery`). An empty type list is sent as it is (the schema wants one or more).
fn push_list_deleted(out: &mut String, query: &ListDeletedQuery) {
    out.push_str(&format!(
        "    <ListDeletedQueryRq requestID=\"{}\">\n",
        escaped(&query.request_id, Context::Attribute)
    ));
    for list_type in &query.list_del_types {
        push_leaf(out, "ListDelType", list_type.as_str());
    }
    if let Some(date) = query.from_deleted_date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        out.push_str("      <DeletedDateRangeFilter>\n  ");
        push_leaf(out, "FromDeletedDate", date);
        out.push_str("      </DeletedDateRangeFilter>\n");
    }
    out.push_str("    </ListDeletedQueryRq>\n");
}

fn push_leaf(out: &mut String, element: &str, value: &str) {
    out.push_str(&format!("      <{element}>{}</{element}>\n", escaped(value, Context::Text)));
}

/// Every request shape qbsync can emit, named, for validation against Intuit's XSD
/// (`xmllint --schema qbxmlops130.xsd`). Not part of the stable API.
#[doc(hidden)]
pub fn request_shapes_for_validation() -> Vec<(String, String)> {
    let since = Some("2024-05-01T00:00:00".to_owned());
    let customer_page = |iterator: Option<IteratorMode>| CustomerQuery {
        request_id: "c1".into(),
        iterator,
        max_returned: Some(100),
        active_status: Some(ActiveStatus::All),
        from_modified_date: since.clone(),
        include_ret_elements: true,
    };
    let shapes: Vec<(&str, Request)> = vec![
        ("customer-start", Request::Customer(customer_page(Some(IteratorMode::Start)))),
        (
            "customer-continue",
            Request::Customer(customer_page(Some(IteratorMode::Continue {
                iterator_id: "{eb05f701-e727-472f-8ade-6753c4f67a46}".into(),
            }))),
        ),
        ("customer-no-iterator", Request::Customer(customer_page(None))),
        (
            "customer-start-full-sync",
            Request::Customer(CustomerQuery { from_modified_date: None, ..customer_page(Some(IteratorMode::Start)) }),
        ),
        ("customer-minimal", Request::Customer(CustomerQuery { request_id: "c0".into(), ..CustomerQuery::default() })),
        (
            "customer-special-characters",
            Request::Customer(CustomerQuery {
                request_id: "a&b<c>\"d'é".into(),
                iterator: Some(IteratorMode::Continue { iterator_id: "{x&<\"y\">}".into() }),
                from_modified_date: Some("2024-05-01T00:00:00-05:00".into()),
                ..customer_page(None)
            }),
        ),
        (
            "employee-all",
            Request::Employee(EmployeeQuery {
                request_id: "e1".into(),
                max_returned: None,
                active_status: Some(ActiveStatus::All),
                from_modified_date: since.clone(),
                include_ret_elements: true,
            }),
        ),
        (
            "employee-full-sync",
            Request::Employee(EmployeeQuery {
                request_id: "e1".into(),
                active_status: Some(ActiveStatus::All),
                include_ret_elements: true,
                ..EmployeeQuery::default()
            }),
        ),
        (
            "employee-every-filter",
            Request::Employee(EmployeeQuery {
                request_id: "e2".into(),
                max_returned: Some(500),
                active_status: Some(ActiveStatus::InactiveOnly),
                from_modified_date: since.clone(),
                include_ret_elements: false,
            }),
        ),
        ("employee-minimal", Request::Employee(EmployeeQuery { request_id: "e0".into(), ..EmployeeQuery::default() })),
        (
            "deleted-customers-since",
            Request::ListDeleted(ListDeletedQuery {
                request_id: "del-1".into(),
                list_del_types: vec![ListDelType::Customer],
                from_deleted_date: since.clone(),
            }),
        ),
        (
            "deleted-employees-since",
            Request::ListDeleted(ListDeletedQuery {
                request_id: "del-3".into(),
                list_del_types: vec![ListDelType::Employee],
                from_deleted_date: since.clone(),
            }),
        ),
        (
            "deleted-both-unfiltered",
            Request::ListDeleted(ListDeletedQuery {
                request_id: "del-0".into(),
                list_del_types: vec![ListDelType::Customer, ListDelType::Employee],
                from_deleted_date: None,
            }),
        ),
    ];
    let versions = [QbxmlVersion::MAX_SUPPORTED, QbxmlVersion::new(12, 0), QbxmlVersion::MIN_SUPPORTED];
    let mut out = Vec::new();
    for version in versions {
        for (name, request) in &shapes {
            out.push((format!("{name}-{version}"), render_request(version, request)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;

    fn start_page() -> Request {
        Request::Customer(CustomerQuery {
            request_id: "c1".into(),
            iterator: Some(IteratorMode::Start),
            max_returned: Some(100),
            active_status: Some(ActiveStatus::All),
            from_modified_date: None,
            include_ret_elements: true,
        })
    }

    /// Element names of the query element's children, in document order, plus its attributes.
    fn query_outline(document: &str) -> (String, Vec<(String, String)>, Vec<String>) {
        let mut reader = quick_xml::Reader::from_str(document);
        let mut depth = 0;
        let mut query = String::new();
        let mut attributes = Vec::new();
        let mut children = Vec::new();
        loop {
            match reader.read_event().expect("well-formed") {
                Event::Start(start) => {
                    depth += 1;
                    let name = start.name().as_ref().to_owned();
                    if depth == 3 {
                        query = name;
                        for attribute in start.attributes() {
                            let attribute = attribute.unwrap();
                            let value = attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap();
                            attributes.push((attribute.key.as_ref().to_owned(), value.into_owned()));
                        }
                    } else if depth == 4 {
                        children.push(name);
                    }
                }
                Event::End(_) => depth -= 1,
                Event::Empty(start) => {
                    assert_eq!(depth, 2, "only an empty query element is expected");
                    query = start.name().as_ref().to_owned();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
        (query, attributes, children)
    }

    /// Checks that `children` follows the XSD order of the ListFilter-based query groups.
    fn assert_xsd_order(children: &[String]) {
        const ORDER: &[&str] = &["MaxReturned", "ActiveStatus", "FromModifiedDate", "IncludeRetElement"];
        let ranks: Vec<usize> = children
            .iter()
            .map(|c| ORDER.iter().position(|o| o == c).unwrap_or_else(|| panic!("unexpected child {c}")))
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "children out of order: {children:?}");
        for single in &ORDER[..3] {
            assert!(children.iter().filter(|c| c == single).count() <= 1, "{single} repeated");
        }
    }

    #[test]
    fn customer_start_page_renders_exactly() {
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<?qbxml version=\"13.0\"?>
<QBXML>
  <QBXMLMsgsRq onError=\"stopOnError\">
    <CustomerQueryRq requestID=\"c1\" iterator=\"Start\">
      <MaxReturned>100</MaxReturned>
      <ActiveStatus>All</ActiveStatus>
      <IncludeRetElement>ListID</IncludeRetElement>
      <IncludeRetElement>TimeCreated</IncludeRetElement>
      <IncludeRetElement>TimeModified</IncludeRetElement>
      <IncludeRetElement>EditSequence</IncludeRetElement>
      <IncludeRetElement>Name</IncludeRetElement>
      <IncludeRetElement>FullName</IncludeRetElement>
      <IncludeRetElement>IsActive</IncludeRetElement>
      <IncludeRetElement>ParentRef</IncludeRetElement>
      <IncludeRetElement>Sublevel</IncludeRetElement>
      <IncludeRetElement>CompanyName</IncludeRetElement>
      <IncludeRetElement>Salutation</IncludeRetElement>
      <IncludeRetElement>FirstName</IncludeRetElement>
      <IncludeRetElement>MiddleName</IncludeRetElement>
      <IncludeRetElement>LastName</IncludeRetElement>
      <IncludeRetElement>JobTitle</IncludeRetElement>
      <IncludeRetElement>BillAddress</IncludeRetElement>
      <IncludeRetElement>ShipAddress</IncludeRetElement>
      <IncludeRetElement>Phone</IncludeRetElement>
      <IncludeRetElement>AltPhone</IncludeRetElement>
      <IncludeRetElement>Fax</IncludeRetElement>
      <IncludeRetElement>Email</IncludeRetElement>
      <IncludeRetElement>Contact</IncludeRetElement>
      <IncludeRetElement>JobStatus</IncludeRetElement>
      <IncludeRetElement>Notes</IncludeRetElement>
    </CustomerQueryRq>
  </QBXMLMsgsRq>
</QBXML>
";
        assert_eq!(render_request(QbxmlVersion::MAX_SUPPORTED, &start_page()), expected);
    }

    #[test]
    fn customer_continue_page_renders_exactly() {
        let request = Request::Customer(CustomerQuery {
            request_id: "c2".into(),
            iterator: Some(IteratorMode::Continue { iterator_id: "{eb05f701-e727-472f-8ade-6753c4f67a46}".into() }),
            max_returned: Some(100),
            active_status: Some(ActiveStatus::All),
            from_modified_date: Some("2024-05-01T00:00:00".into()),
            include_ret_elements: false,
        });
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<?qbxml version=\"13.0\"?>
<QBXML>
  <QBXMLMsgsRq onError=\"stopOnError\">
    <CustomerQueryRq requestID=\"c2\" iterator=\"Continue\" iteratorID=\"{eb05f701-e727-472f-8ade-6753c4f67a46}\">
      <MaxReturned>100</MaxReturned>
      <ActiveStatus>All</ActiveStatus>
      <FromModifiedDate>2024-05-01T00:00:00</FromModifiedDate>
    </CustomerQueryRq>
  </QBXMLMsgsRq>
</QBXML>
";
        assert_eq!(render_request(QbxmlVersion::MAX_SUPPORTED, &request), expected);
    }

    #[test]
    fn employee_query_renders_exactly() {
        let request = Request::Employee(EmployeeQuery {
            request_id: "e1".into(),
            max_returned: None,
            active_status: Some(ActiveStatus::All),
            from_modified_date: None,
            include_ret_elements: false,
        });
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<?qbxml version=\"5.0\"?>
<QBXML>
  <QBXMLMsgsRq onError=\"stopOnError\">
    <EmployeeQueryRq requestID=\"e1\">
      <ActiveStatus>All</ActiveStatus>
    </EmployeeQueryRq>
  </QBXMLMsgsRq>
</QBXML>
";
        assert_eq!(render_request(QbxmlVersion::MIN_SUPPORTED, &request), expected);
    }

    #[test]
    fn every_shape_is_well_formed_ascii_and_in_xsd_order() {
        let shapes = request_shapes_for_validation();
        assert!(shapes.len() >= 20);
        for (name, document) in &shapes {
            assert!(document.is_ascii(), "{name}");
            assert!(document.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?qbxml version=\""), "{name}");
            let (query, attributes, children) = query_outline(document);
            let keys: Vec<&str> = attributes.iter().map(|(k, _)| k.as_str()).collect();
            if query == "ListDeletedQueryRq" {
                assert_eq!(keys, ["requestID"], "{name}");
                let types = children.iter().take_while(|c| *c == "ListDelType").count();
                assert!(types >= 1, "{name}: {children:?}");
                assert!(children[types..].iter().all(|c| c == "DeletedDateRangeFilter"), "{name}: {children:?}");
                assert!(children.len() - types <= 1, "{name}");
                continue;
            }
            assert!(query == "CustomerQueryRq" || query == "EmployeeQueryRq", "{name}: {query}");
            assert!(
                [&["requestID"][..], &["requestID", "iterator"], &["requestID", "iterator", "iteratorID"]]
                    .contains(&&keys[..]),
                "{name}: {keys:?}"
            );
            if query == "EmployeeQueryRq" {
                assert_eq!(keys, ["requestID"], "{name}");
            }
            assert_xsd_order(&children);
        }
        let names: Vec<&str> = shapes.iter().map(|(n, _)| n.as_str()).collect();
        for expected in ["customer-start-13.0", "customer-continue-5.0", "employee-all-13.0", "employee-all-5.0"] {
            assert!(names.contains(&expected), "{expected}");
        }
    }

    #[test]
    fn special_characters_survive_a_round_trip() {
        let request = Request::Customer(CustomerQuery {
            request_id: "a&b<c>\"d'é".into(),
            iterator: Some(IteratorMode::Continue { iterator_id: "{x&<\"y\">}\u{1}".into() }),
            from_modified_date: Some("<&>".into()),
            ..CustomerQuery::default()
        });
        let document = render_request(QbxmlVersion::MAX_SUPPORTED, &request);
        assert!(document.contains("requestID=\"a&amp;b&lt;c&gt;&quot;d&apos;&#233;\""), "{document}");
        assert!(document.contains("iteratorID=\"{x&amp;&lt;&quot;y&quot;&gt;}\""), "{document}");
        assert!(document.contains("<FromModifiedDate>&lt;&amp;&gt;</FromModifiedDate>"), "{document}");
        let (_, attributes, children) = query_outline(&document);
        assert_eq!(attributes[0], ("requestID".to_owned(), "a&b<c>\"d'é".to_owned()));
        assert_eq!(attributes[2], ("iteratorID".to_owned(), "{x&<\"y\">}".to_owned()));
        assert_eq!(children, ["FromModifiedDate"]);
    }

    #[test]
    fn list_deleted_query_renders_exactly() {
        let request = Request::ListDeleted(ListDeletedQuery {
            request_id: "del-1".into(),
            list_del_types: vec![ListDelType::Customer],
            from_deleted_date: Some("2024-11-03T00:30:00".into()),
        });
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<?qbxml version=\"13.0\"?>
<QBXML>
  <QBXMLMsgsRq onError=\"stopOnError\">
    <ListDeletedQueryRq requestID=\"del-1\">
      <ListDelType>Customer</ListDelType>
      <DeletedDateRangeFilter>
        <FromDeletedDate>2024-11-03T00:30:00</FromDeletedDate>
      </DeletedDateRangeFilter>
    </ListDeletedQueryRq>
  </QBXMLMsgsRq>
</QBXML>
";
        assert_eq!(render_request(QbxmlVersion::MAX_SUPPORTED, &request), expected);
        let unfiltered = Request::ListDeleted(ListDeletedQuery {
            request_id: "del-2".into(),
            list_del_types: vec![ListDelType::Employee],
            from_deleted_date: Some("  ".into()),
        });
        assert!(!render_request(QbxmlVersion::MAX_SUPPORTED, &unfiltered).contains("DeletedDateRangeFilter"));
    }

    #[test]
    fn job_title_is_only_requested_from_qbxml_12() {
        for (version, present) in [(QbxmlVersion::new(11, 0), false), (QbxmlVersion::new(12, 0), true)] {
            let customer = render_request(version, &start_page());
            let employee = render_request(
                version,
                &Request::Employee(EmployeeQuery { include_ret_elements: true, ..EmployeeQuery::default() }),
            );
            assert_eq!(customer.contains(">JobTitle<"), present, "{version}");
            assert_eq!(employee.contains(">JobTitle<"), present, "{version}");
        }
    }

    #[test]
    fn max_returned_zero_is_sent_as_the_schema_minimum() {
        let request = Request::Employee(EmployeeQuery { max_returned: Some(0), ..EmployeeQuery::default() });
        assert!(render_request(QbxmlVersion::MAX_SUPPORTED, &request).contains("<MaxReturned>1</MaxReturned>"));
    }

    #[test]
    fn ret_element_lists_never_name_sensitive_elements() {
        let sensitive = [
            "SSN",
            "BirthDate",
            "CreditCardInfo",
            "EmployeePayrollInfo",
            "DataExtRet",
            "EmployeeDirectDepositAccount",
            "AccountNumber",
            "ResaleNumber",
        ];
        for name in CUSTOMER_RET_ELEMENTS.iter().chain(EMPLOYEE_RET_ELEMENTS) {
            assert!(!sensitive.contains(name), "{name}");
            assert!(name.len() <= 50);
        }
    }
}

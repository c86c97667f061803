//! A fake QuickBooks Desktop request processor: answers one qbXML request document the way
//! QuickBooks would (pure: string in, string out), with injectable faults.
//!
//! It validates requests like QuickBooks' own parser (the `<?qbxml version?>` instruction,
//! supported version, known request elements, XSD element order, iterator attributes only
//! where the schema has them) and answers CustomerQueryRq (with iterators), EmployeeQueryRq,
//! ListDeletedQueryRq and the Host/Company/Preferences queries from a [`Dataset`].

use std::collections::{HashMap, HashSet};

use super::data::{Dataset, Rng, SimAddress, SimCustomer, SimEmployee, parse_qb_time};
use super::xml::{self, Element};

/// HRESULT QuickBooks returns when it cannot parse or validate a request.
pub const HRESULT_PARSE_ERROR: &str = "0x80040400";
/// The message QuickBooks pairs with [`HRESULT_PARSE_ERROR`].
pub const PARSE_ERROR_MESSAGE: &str = "QuickBooks found an error when parsing the provided XML text stream.";
/// The qbXML version a default fake QuickBooks supports.
pub const DEFAULT_MAX_QBXML_VERSION: (u16, u16) = (13, 0);
/// The product name reported in HostRet by default.
pub const DEFAULT_PRODUCT_NAME: &str = "QuickBooks Enterprise Solutions 23.0";

const ALL_VERSIONS: &[(u16, u16)] = &[
    (1, 0),
    (1, 1),
    (2, 0),
    (2, 1),
    (3, 0),
    (4, 0),
    (4, 1),
    (5, 0),
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
    (10, 0),
    (11, 0),
    (12, 0),
    (13, 0),
    (14, 0),
    (15, 0),
    (16, 0),
];

/// Faults to inject, for the error-path tests.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Answer 3391 (iterator expired) on this page of an iterator, once. Pages count from 1
    /// (the `Start` page), so the first `Continue` is page 2 (0 and 1 also mean page 2).
    pub expire_iterator_on_page: Option<u32>,
    /// Answer this page (same numbering) with statusCode 530 / statusSeverity Warn, data included, once.
    pub warning_on_page: Option<u32>,
    /// Answer every EmployeeQueryRq with this Error status (e.g. 3261 or 1000) and no data.
    pub error_status_for_employees: Option<i32>,
    /// On the Nth request (1-based) the request processor fails: no response, this hresult and message.
    pub hresult_on_request: Option<(u32, String, String)>,
    /// On the Nth request (1-based) return a truncated, garbled qbXML response.
    pub malformed_response_on_request: Option<u32>,
    /// QuickBooks cannot be opened: the Web Connector calls connectionError(hresult, message)
    /// instead of sendRequestXML.
    pub connection_error: Option<(String, String)>,
    /// Highest qbXML version QuickBooks supports (default 13.0); e.g. (4, 1) for a too-old QuickBooks.
    pub max_qbxml_version: Option<(u16, u16)>,
    /// Answer every ListDeletedQueryRq with this Error status and no data, as a QuickBooks without
    /// the request does (1030: request type not supported).
    pub list_deleted_status: Option<i32>,
}

/// A request-processor failure (what QBWC passes as `hresult`/`message` to receiveResponseXML).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{hresult}: {message}")]
pub struct RequestProcessorError {
    /// HRESULT as hex text, e.g. `0x80040400`.
    pub hresult: String,
    /// The request processor's message.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Customer,
    Employee,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Active {
    Only,
    Inactive,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meta {
    None,
    Only,
    AndData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IterMode {
    Start,
    Continue,
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnError {
    Stop,
    Continue,
}

#[derive(Clone, Debug)]
struct ListFilter {
    list_ids: Vec<String>,
    full_names: Vec<String>,
    max_returned: Option<usize>,
    active: Active,
    from_modified: Option<i64>,
    to_modified: Option<i64>,
    name_filter: Option<(String, String)>,
    name_range: (Option<String>, Option<String>),
    balance: Option<(String, f64)>,
}

#[derive(Clone, Debug)]
struct ListQuery {
    kind: Kind,
    meta: Meta,
    iterator: Option<IterMode>,
    iterator_id: Option<String>,
    filter: ListFilter,
    include: Option<HashSet<String>>,
    signature: String,
}

#[derive(Clone, Debug)]
enum Body {
    List(Box<ListQuery>),
    Deleted { types: Vec<String>, from: Option<i64>, to: Option<i64> },
    Host,
    Company,
    Preferences,
}

#[derive(Clone, Debug)]
struct Request {
    rs_name: String,
    request_id: Option<String>,
    body: Body,
}

struct IterState {
    kind: Kind,
    items: Vec<usize>,
    pos: usize,
    signature: String,
    page: u32,
}

#[derive(Default)]
struct Tally {
    customers: u64,
    employees: u64,
    deleted: u64,
}

struct Status {
    code: i32,
    severity: &'static str,
    message: String,
}

impl Status {
    fn ok() -> Self {
        Status { code: 0, severity: "Info", message: "Status OK".into() }
    }
    fn no_match() -> Self {
        Status {
            code: 1,
            severity: "Info",
            message: "A query request did not find a matching object in QuickBooks".into(),
        }
    }
    fn error(code: i32, message: impl Into<String>) -> Self {
        Status { code, severity: "Error", message: message.into() }
    }
    fn bad_iterator(id: &str) -> Self {
        Status::error(3391, format!("The iteratorID \"{id}\" is not valid or the iterator has expired."))
    }
}

/// Answers one qbXML request document the way QuickBooks Desktop would.
///
/// Holds the company [`Dataset`], the live iterators of the current QuickBooks session,
/// counters of what was handed over, and the fault plan.
pub struct FakeQuickBooks {
    data: Dataset,
    faults: Faults,
    product_name: String,
    owner_id: String,
    file_id: String,
    iterators: HashMap<String, IterState>,
    rng: Rng,
    requests: u32,
    customers_sent: u64,
    employees_sent: u64,
    deleted_sent: u64,
    ssn_requests: u32,
    expire_fired: bool,
    warning_fired: bool,
    char_ref_toggle: bool,
    /// Length of the largest response written so far (the next one is sized for it).
    largest_response: usize,
    violations: Vec<String>,
    last_request: Option<String>,
}

impl FakeQuickBooks {
    /// A QuickBooks with this company file open and this fault plan.
    pub fn new(data: Dataset, faults: Faults) -> Self {
        let mut rng = Rng::new(0x0B5F_11E5 ^ data.customers.len() as u64);
        let owner_id = guid(&mut rng);
        let file_id = guid(&mut rng);
        FakeQuickBooks {
            data,
            faults,
            product_name: DEFAULT_PRODUCT_NAME.to_string(),
            owner_id,
            file_id,
            iterators: HashMap::new(),
            rng,
            requests: 0,
            customers_sent: 0,
            employees_sent: 0,
            deleted_sent: 0,
            ssn_requests: 0,
            expire_fired: false,
            warning_fired: false,
            char_ref_toggle: false,
            largest_response: 1024,
            violations: Vec::new(),
            last_request: None,
        }
    }

    /// Sets the HostRet ProductName.
    pub fn with_product_name(mut self, name: &str) -> Self {
        self.product_name = name.to_string();
        self
    }

    /// Sets the OwnerID/FileID pair QBWC stored in the company file (DataExtRet in CompanyRet),
    /// normally the ones from the connection's `.qwc`.
    pub fn with_file_id(mut self, owner_id: &str, file_id: &str) -> Self {
        self.owner_id = owner_id.to_string();
        self.file_id = file_id.to_string();
        self
    }

    /// The company file.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    /// The company file, for changes between sessions. Live iterators are dropped.
    pub fn dataset_mut(&mut self) -> &mut Dataset {
        self.iterators.clear();
        &mut self.data
    }

    /// The fault plan.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The fault plan, to change between sessions.
    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    /// Highest qbXML version this QuickBooks supports.
    pub fn max_qbxml_version(&self) -> (u16, u16) {
        self.faults.max_qbxml_version.unwrap_or(DEFAULT_MAX_QBXML_VERSION)
    }

    /// Requests processed so far (every call to [`process`](Self::process)).
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// CustomerRet elements handed over in intact responses.
    pub fn customers_sent(&self) -> u64 {
        self.customers_sent
    }

    /// EmployeeRet elements handed over in intact responses.
    pub fn employees_sent(&self) -> u64 {
        self.employees_sent
    }

    /// ListDeletedRet records written so far.
    pub fn deleted_sent(&self) -> u64 {
        self.deleted_sent
    }

    /// Every record QuickBooks was asked to produce so far: customers, employees and deletions.
    pub fn records_sent(&self) -> u64 {
        self.customers_sent + self.employees_sent + self.deleted_sent
    }

    /// True once an EmployeeQueryRq asked for SSN (explicitly, or by sending no IncludeRetElement).
    pub fn requested_ssn(&self) -> bool {
        self.ssn_requests > 0
    }

    /// How many EmployeeQueryRq asked for SSN so far.
    pub fn ssn_requests(&self) -> u32 {
        self.ssn_requests
    }

    /// Protocol misuse noticed so far (parse errors with their detail, SSN requests, Continue
    /// requests whose filters differ from the Start request...). Empty for a well-behaved peer.
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// The last request document received.
    pub fn last_request(&self) -> Option<&str> {
        self.last_request.as_deref()
    }

    /// Ends the QuickBooks session: iterators die with it (a later Continue gets 3391).
    pub fn end_session(&mut self) {
        self.iterators.clear();
    }

    /// Returns Ok(qbXML response document) or Err(RequestProcessorError{hresult: "0x80040400", ..})
    /// when the request does not parse or is not valid qbXML as QuickBooks would see it (no
    /// `<?qbxml version?>`, a version above the supported one, an unknown request element, an
    /// element out of XSD order, iterator attributes on EmployeeQueryRq...). Faults apply here.
    pub fn process(&mut self, request_xml: &str) -> Result<String, RequestProcessorError> {
        self.requests += 1;
        let n = self.requests;
        self.last_request = Some(request_xml.to_string());
        if let Some((k, hresult, message)) = &self.faults.hresult_on_request
            && *k == n
        {
            return Err(RequestProcessorError { hresult: hresult.clone(), message: message.clone() });
        }
        let (requests, on_error, version) = match parse_request(request_xml, self.max_qbxml_version()) {
            Ok(parsed) => parsed,
            Err(detail) => {
                self.violations.push(format!("request {n} rejected (0x80040400): {detail}"));
                return Err(RequestProcessorError {
                    hresult: HRESULT_PARSE_ERROR.into(),
                    message: PARSE_ERROR_MESSAGE.into(),
                });
            }
        };
        // Sized like the largest response so far: a page of records is written without regrowing.
        let mut out = String::with_capacity(self.largest_response);
        out.push_str("<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n");
        let mut tally = Tally::default();
        let mut stopped = false;
        for req in &requests {
            if stopped {
                write_rs_open(
                    &mut out,
                    &req.rs_name,
                    req.request_id.as_deref(),
                    &Status::error(3231, "The request has not been processed."),
                    &[],
                    true,
                );
                continue;
            }
            let severity = self.execute(req, version, &mut out, &mut tally);
            if severity == "Error" && on_error == OnError::Stop {
                stopped = true;
            }
        }
        out.push_str("</QBXMLMsgsRs>\n</QBXML>\n");
        if self.faults.malformed_response_on_request == Some(n) {
            let mut cut = out.len() * 55 / 100;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("&#x1A;<Cust");
            return Ok(out);
        }
        self.customers_sent += tally.customers;
        self.employees_sent += tally.employees;
        self.deleted_sent += tally.deleted;
        self.largest_response = self.largest_response.max(out.len());
        Ok(out)
    }

    /// A realistic strHCPResponse: HostQueryRs (product, supported qbXML versions up to the
    /// configured maximum), CompanyQueryRs (company name, QBWC's AppLock/FileID DataExtRet) and
    /// PreferencesQueryRs (CurrentAppAccessRights with IsPersonalDataAccessAllowed false).
    pub fn hcp_response(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n");
        self.write_host(&mut out, Some("0"));
        self.write_company(&mut out, Some("1"));
        write_preferences(&mut out, Some("2"));
        out.push_str("</QBXMLMsgsRs>\n</QBXML>\n");
        out
    }

    fn write_host(&self, out: &mut String, request_id: Option<&str>) {
        let max = self.max_qbxml_version();
        write_rs_open(out, "HostQueryRs", request_id, &Status::ok(), &[], false);
        out.push_str("<HostRet>\n");
        leaf(out, "ProductName", &self.product_name, false);
        let major = if max >= (13, 0) { "33" } else { "15" };
        leaf(out, "MajorVersion", major, false);
        leaf(out, "MinorVersion", "0", false);
        leaf(out, "Country", "US", false);
        for v in ALL_VERSIONS.iter().filter(|v| **v <= max) {
            leaf(out, "SupportedQBXMLVersion", &format!("{}.{}", v.0, v.1), false);
        }
        leaf(out, "IsAutomaticLogin", "false", false);
        leaf(out, "QBFileMode", "SingleUser", false);
        out.push_str("</HostRet>\n</HostQueryRs>\n");
    }

    fn write_company(&self, out: &mut String, request_id: Option<&str>) {
        write_rs_open(out, "CompanyQueryRs", request_id, &Status::ok(), &[], false);
        out.push_str("<CompanyRet>\n");
        leaf(out, "IsSampleCompany", "false", false);
        leaf(out, "CompanyName", &self.data.company_name, false);
        leaf(out, "LegalCompanyName", &format!("{} LLC", self.data.company_name.trim_end_matches(" LLC")), false);
        out.push_str("<Address>\n");
        leaf(out, "Addr1", "1200 Industrial Pkwy", false);
        leaf(out, "City", "Austin", false);
        leaf(out, "State", "TX", false);
        leaf(out, "PostalCode", "78758", false);
        leaf(out, "Country", "US", false);
        out.push_str("</Address>\n");
        leaf(out, "Phone", "512-555-0100", false);
        leaf(out, "FirstMonthFiscalYear", "January", false);
        leaf(out, "FirstMonthIncomeTaxYear", "January", false);
        leaf(out, "CompanyType", "GeneralServiceBased", false);
        leaf(out, "TaxForm", "Form1120S", false);
        for (name, value) in
            [("AppLock", "LOCKED:QBSERVER:638412345678901234".to_string()), ("FileID", self.file_id.clone())]
        {
            out.push_str("<DataExtRet>\n");
            leaf(out, "OwnerID", &self.owner_id, false);
            leaf(out, "DataExtName", name, false);
            leaf(out, "DataExtType", "STR255TYPE", false);
            leaf(out, "DataExtValue", &value, false);
            out.push_str("</DataExtRet>\n");
        }
        out.push_str("</CompanyRet>\n</CompanyQueryRs>\n");
    }

    fn new_iterator_id(&mut self) -> String {
        guid(&mut self.rng)
    }

    /// Runs one validated request and writes its Rs. Returns the status severity.
    fn execute(&mut self, req: &Request, version: (u16, u16), out: &mut String, tally: &mut Tally) -> &'static str {
        let rid = req.request_id.as_deref();
        if rid.is_some_and(|r| r.chars().count() > 50) {
            let st = Status::error(1060, "The requestID is longer than 50 characters.");
            write_rs_open(out, &req.rs_name, rid, &st, &[], true);
            return st.severity;
        }
        match &req.body {
            Body::Host => {
                self.write_host(out, rid);
                "Info"
            }
            Body::Company => {
                self.write_company(out, rid);
                "Info"
            }
            Body::Preferences => {
                write_preferences(out, rid);
                "Info"
            }
            Body::Deleted { .. } if self.faults.list_deleted_status.is_some() => {
                let code = self.faults.list_deleted_status.unwrap_or(1030);
                let st = Status::error(code, "The request type is not supported by this version of QuickBooks.");
                write_rs_open(out, &req.rs_name, rid, &st, &[], true);
                st.severity
            }
            Body::Deleted { types, from, to } => {
                let rows: Vec<_> = self
                    .data
                    .deleted
                    .iter()
                    .filter(|d| types.contains(&d.list_del_type))
                    .filter(|d| {
                        let t = parse_qb_time(&d.time_deleted).unwrap_or(0);
                        from.is_none_or(|f| t >= f) && to.is_none_or(|x| t <= x)
                    })
                    .collect();
                if rows.is_empty() {
                    write_rs_open(out, &req.rs_name, rid, &Status::no_match(), &[], true);
                    return "Info";
                }
                write_rs_open(out, &req.rs_name, rid, &Status::ok(), &[], false);
                tally.deleted += rows.len() as u64;
                for d in rows {
                    out.push_str("<ListDeletedRet>\n");
                    leaf(out, "ListDelType", &d.list_del_type, false);
                    leaf(out, "ListID", &d.list_id, false);
                    leaf(out, "TimeCreated", &d.time_created, false);
                    leaf(out, "TimeDeleted", &d.time_deleted, false);
                    leaf(out, "FullName", &d.full_name, false);
                    out.push_str("</ListDeletedRet>\n");
                }
                out.push_str("</ListDeletedQueryRs>\n");
                "Info"
            }
            Body::List(q) => self.execute_list(&req.rs_name, rid, q, version, out, tally),
        }
    }

    fn execute_list(
        &mut self,
        rs_name: &str,
        rid: Option<&str>,
        q: &ListQuery,
        version: (u16, u16),
        out: &mut String,
        tally: &mut Tally,
    ) -> &'static str {
        if q.kind == Kind::Employee {
            let wants_ssn = q.include.as_ref().is_none_or(|s| s.contains("SSN"));
            if wants_ssn {
                self.ssn_requests += 1;
                self.violations.push(match &q.include {
                    None => "EmployeeQueryRq without IncludeRetElement: QuickBooks sends SSN".to_string(),
                    Some(_) => "EmployeeQueryRq asks for SSN".to_string(),
                });
            }
            if let Some(code) = self.faults.error_status_for_employees {
                let message = match code {
                    3261 => "The application does not have permission to access personal data in this company file."
                        .to_string(),
                    1000 => "There has been an internal error when processing the request.".to_string(),
                    c => format!("QuickBooks could not process the request (error {c})."),
                };
                let st = Status {
                    code,
                    severity: if code >= 1000 {
                        "Error"
                    } else if code >= 500 {
                        "Warn"
                    } else {
                        "Info"
                    },
                    message,
                };
                write_rs_open(out, rs_name, rid, &st, &[], true);
                return st.severity;
            }
        }

        let mut extra: Vec<(&str, String)> = Vec::new();
        let mut status = Status::ok();
        let page: Vec<usize>;
        let mut page_no = 0u32;
        match q.iterator {
            None => {
                let (mut items, missing) = self.select(q.kind, &q.filter);
                if q.meta == Meta::Only {
                    let st = if items.is_empty() { Status::no_match() } else { Status::ok() };
                    write_rs_open(out, rs_name, rid, &st, &[("retCount", items.len().to_string())], true);
                    return st.severity;
                }
                if let Some(m) = q.filter.max_returned {
                    items.truncate(m);
                }
                if !missing.is_empty() {
                    status = if items.is_empty() {
                        Status::error(
                            3120,
                            format!(
                                "Object \"{}\" specified in the request cannot be found.  QuickBooks error message: Invalid argument.  The specified record does not exist in the list.",
                                missing[0]
                            ),
                        )
                    } else {
                        Status {
                            code: 500,
                            severity: "Warn",
                            message: format!(
                                "The query request has not been fully completed. There was a required element (\"{}\") that could not be found in QuickBooks.",
                                missing[0]
                            ),
                        }
                    };
                } else if items.is_empty() {
                    status = Status::no_match();
                }
                page = items;
            }
            Some(IterMode::Start) => {
                let (items, _) = self.select(q.kind, &q.filter);
                let id = self.new_iterator_id();
                let take = q.filter.max_returned.unwrap_or(items.len()).min(items.len());
                page = items[..take].to_vec();
                let remaining = items.len() - take;
                page_no = 1;
                if remaining > 0 {
                    self.iterators.insert(
                        id.clone(),
                        IterState { kind: q.kind, items, pos: take, signature: q.signature.clone(), page: 1 },
                    );
                }
                extra.push(("iteratorRemainingCount", remaining.to_string()));
                extra.push(("iteratorID", id));
                if page.is_empty() {
                    status = Status::no_match();
                }
            }
            Some(IterMode::Continue) | Some(IterMode::Stop) => {
                let id = q.iterator_id.clone().unwrap_or_default();
                let Some(state) = self.iterators.get_mut(&id) else {
                    let st = Status::bad_iterator(&id);
                    write_rs_open(out, rs_name, rid, &st, &[], true);
                    return st.severity;
                };
                if q.iterator == Some(IterMode::Stop) {
                    self.iterators.remove(&id);
                    let st = Status::ok();
                    write_rs_open(
                        out,
                        rs_name,
                        rid,
                        &st,
                        &[("iteratorRemainingCount", "0".into()), ("iteratorID", id)],
                        true,
                    );
                    return st.severity;
                }
                if state.kind != q.kind || state.signature != q.signature {
                    self.violations.push(format!(
                        "Continue on iterator {id} does not repeat the Start request's filters (start: [{}], continue: [{}])",
                        state.signature, q.signature
                    ));
                    self.iterators.remove(&id);
                    let st = Status::bad_iterator(&id);
                    write_rs_open(out, rs_name, rid, &st, &[], true);
                    return st.severity;
                }
                state.page += 1;
                page_no = state.page;
                if self.faults.expire_iterator_on_page.map(|p| p.max(2)) == Some(page_no) && !self.expire_fired {
                    self.expire_fired = true;
                    self.iterators.remove(&id);
                    let st = Status::bad_iterator(&id);
                    write_rs_open(out, rs_name, rid, &st, &[], true);
                    return st.severity;
                }
                let left = state.items.len() - state.pos;
                let take = q.filter.max_returned.unwrap_or(left).min(left);
                page = state.items[state.pos..state.pos + take].to_vec();
                state.pos += take;
                let remaining = state.items.len() - state.pos;
                if remaining == 0 {
                    self.iterators.remove(&id);
                }
                extra.push(("iteratorRemainingCount", remaining.to_string()));
                extra.push(("iteratorID", id));
                if page.is_empty() {
                    status = Status::no_match();
                }
            }
        }
        if page_no > 0 && self.faults.warning_on_page == Some(page_no) && !self.warning_fired && status.code == 0 {
            self.warning_fired = true;
            status = Status {
                code: 530,
                severity: "Warn",
                message: "The field \"PrintAs\" is not supported by this implementation.".into(),
            };
        }
        if q.meta == Meta::AndData {
            extra.insert(0, ("retCount", page.len().to_string()));
        }
        let empty = page.is_empty();
        write_rs_open(out, rs_name, rid, &status, &extra, empty);
        if empty {
            return status.severity;
        }
        let inc = q.include.as_ref();
        let customer_parts = CustomerParts::asked(inc);
        for i in page {
            match q.kind {
                Kind::Customer => {
                    let refs = customer_non_ascii(&self.data.customers[i]) && {
                        self.char_ref_toggle = !self.char_ref_toggle;
                        self.char_ref_toggle
                    };
                    write_customer(out, &self.data.customers[i], &customer_parts, refs, version);
                    tally.customers += 1;
                }
                Kind::Employee => {
                    let refs = employee_non_ascii(&self.data.employees[i]) && {
                        self.char_ref_toggle = !self.char_ref_toggle;
                        self.char_ref_toggle
                    };
                    write_employee(out, &self.data.employees[i], inc, refs);
                    tally.employees += 1;
                }
            }
        }
        out.push_str("</");
        out.push_str(rs_name);
        out.push_str(">\n");
        status.severity
    }

    /// Indices of matching records in list order, plus the ListIDs/FullNames asked for but not found.
    fn select(&self, kind: Kind, f: &ListFilter) -> (Vec<usize>, Vec<String>) {
        let keys: Vec<(&str, &str, bool, &str)> = match kind {
            Kind::Customer => self
                .data
                .customers
                .iter()
                .map(|c| (c.list_id.as_str(), c.full_name.as_str(), c.is_active, c.time_modified.as_str()))
                .collect(),
            Kind::Employee => self
                .data
                .employees
                .iter()
                .map(|e| (e.list_id.as_str(), e.name.as_str(), e.is_active, e.time_modified.as_str()))
                .collect(),
        };
        let mut missing = Vec::new();
        if !f.list_ids.is_empty() || !f.full_names.is_empty() {
            let by_id = !f.list_ids.is_empty();
            let wanted = if by_id { &f.list_ids } else { &f.full_names };
            let index: HashMap<String, usize> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (if by_id { k.0.to_string() } else { k.1.to_lowercase() }, i))
                .collect();
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for w in wanted {
                let found = index.get(&if by_id { w.clone() } else { w.to_lowercase() }).copied();
                match found {
                    Some(i) => {
                        if seen.insert(i) {
                            out.push(i);
                        }
                    }
                    None => missing.push(w.clone()),
                }
            }
            return (out, missing);
        }
        let out = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| match f.active {
                Active::Only => k.2,
                Active::Inactive => !k.2,
                Active::All => true,
            })
            .filter(|(_, k)| {
                if f.from_modified.is_none() && f.to_modified.is_none() {
                    return true;
                }
                let t = parse_qb_time(k.3).unwrap_or(0);
                f.from_modified.is_none_or(|x| t >= x) && f.to_modified.is_none_or(|x| t <= x)
            })
            .filter(|(_, k)| match &f.name_filter {
                None => true,
                Some((crit, name)) => {
                    let hay = k.1.to_lowercase();
                    match crit.as_str() {
                        "StartsWith" => hay.starts_with(name.as_str()),
                        "EndsWith" => hay.ends_with(name.as_str()),
                        _ => hay.contains(name.as_str()),
                    }
                }
            })
            .filter(|(_, k)| {
                if f.name_range == (None, None) {
                    return true;
                }
                let hay = k.1.to_lowercase();
                f.name_range.0.as_ref().is_none_or(|from| hay >= *from)
                    && f.name_range.1.as_ref().is_none_or(|to| hay <= *to || hay.starts_with(to.as_str()))
            })
            .filter(|_| match &f.balance {
                None => true,
                Some((op, amount)) => {
                    let b = 0.0f64;
                    match op.as_str() {
                        "LessThan" => b < *amount,
                        "LessThanEqual" => b <= *amount,
                        "Equal" => b == *amount,
                        "GreaterThan" => b > *amount,
                        _ => b >= *amount,
                    }
                }
            })
            .map(|(i, _)| i)
            .collect();
        (out, missing)
    }
}

fn guid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

fn write_preferences(out: &mut String, request_id: Option<&str>) {
    write_rs_open(out, "PreferencesQueryRs", request_id, &Status::ok(), &[], false);
    out.push_str("<PreferencesRet>\n<AccountingPreferences>\n");
    leaf(out, "IsUsingAccountNumbers", "false", false);
    leaf(out, "IsRequiringAccounts", "true", false);
    leaf(out, "IsUsingClassTracking", "false", false);
    leaf(out, "IsUsingAuditTrail", "true", false);
    leaf(out, "IsAssigningJournalEntryNumbers", "true", false);
    out.push_str("</AccountingPreferences>\n<JobsAndEstimatesPreferences>\n");
    leaf(out, "IsUsingEstimates", "true", false);
    leaf(out, "IsUsingProgressInvoicing", "false", false);
    leaf(out, "IsPrintingItemsWithZeroAmounts", "false", false);
    out.push_str("</JobsAndEstimatesPreferences>\n<MultiCurrencyPreferences>\n");
    leaf(out, "IsMultiCurrencyOn", "false", false);
    out.push_str("</MultiCurrencyPreferences>\n<TimeTrackingPreferences>\n");
    leaf(out, "FirstDayOfWeek", "Monday", false);
    out.push_str("</TimeTrackingPreferences>\n<CurrentAppAccessRights>\n");
    leaf(out, "IsAutomaticLoginAllowed", "true", false);
    leaf(out, "AutomaticLoginUserName", "Admin", false);
    leaf(out, "IsPersonalDataAccessAllowed", "false", false);
    out.push_str("</CurrentAppAccessRights>\n</PreferencesRet>\n</PreferencesQueryRs>\n");
}

fn write_rs_open(
    out: &mut String,
    name: &str,
    request_id: Option<&str>,
    st: &Status,
    extra: &[(&str, String)],
    empty: bool,
) {
    out.push('<');
    out.push_str(name);
    if let Some(r) = request_id {
        attr(out, "requestID", r);
    }
    attr(out, "statusCode", &st.code.to_string());
    attr(out, "statusSeverity", st.severity);
    attr(out, "statusMessage", &st.message);
    for (k, v) in extra {
        attr(out, k, v);
    }
    out.push_str(if empty { " />\n" } else { ">\n" });
}

fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    xml::escape_qbxml_into(out, value, false);
    out.push('"');
}

fn leaf(out: &mut String, name: &str, value: &str, refs: bool) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    xml::escape_qbxml_into(out, value, refs);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn opt_leaf(out: &mut String, name: &str, value: Option<&str>, refs: bool) {
    if let Some(v) = value {
        leaf(out, name, v, refs);
    }
}

fn address_non_ascii(a: Option<&SimAddress>) -> bool {
    a.is_some_and(|a| {
        [&a.addr1, &a.addr2, &a.city, &a.state, &a.postal_code, &a.country]
            .iter()
            .any(|v| v.as_deref().is_some_and(|s| !s.is_ascii()))
    })
}

fn customer_non_ascii(c: &SimCustomer) -> bool {
    !c.full_name.is_ascii()
        || [&c.company_name, &c.first_name, &c.last_name, &c.notes]
            .iter()
            .any(|v| v.as_deref().is_some_and(|s| !s.is_ascii()))
        || address_non_ascii(c.bill.as_ref())
        || address_non_ascii(c.ship.as_ref())
}

fn employee_non_ascii(e: &SimEmployee) -> bool {
    !e.name.is_ascii()
        || [&e.first_name, &e.last_name].iter().any(|v| v.as_deref().is_some_and(|s| !s.is_ascii()))
        || address_non_ascii(e.address.as_ref())
}

fn write_address(out: &mut String, name: &str, a: &SimAddress, refs: bool, with_country: bool) {
    out.push('<');
    out.push_str(name);
    out.push_str(">\n");
    opt_leaf(out, "Addr1", a.addr1.as_deref(), refs);
    opt_leaf(out, "Addr2", a.addr2.as_deref(), refs);
    opt_leaf(out, "City", a.city.as_deref(), refs);
    opt_leaf(out, "State", a.state.as_deref(), refs);
    opt_leaf(out, "PostalCode", a.postal_code.as_deref(), refs);
    if with_country {
        opt_leaf(out, "Country", a.country.as_deref(), refs);
    }
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn write_address_block(out: &mut String, name: &str, a: &SimAddress, refs: bool) {
    let mut lines: Vec<String> = Vec::new();
    lines.extend(a.addr1.clone());
    lines.extend(a.addr2.clone());
    let city_line = format!(
        "{}{}{} {}",
        a.city.as_deref().unwrap_or(""),
        if a.city.is_some() { ", " } else { "" },
        a.state.as_deref().unwrap_or(""),
        a.postal_code.as_deref().unwrap_or("")
    );
    if !city_line.trim().is_empty() {
        lines.push(city_line.trim().to_string());
    }
    lines.extend(a.country.clone());
    out.push('<');
    out.push_str(name);
    out.push_str(">\n");
    for (i, l) in lines.iter().take(5).enumerate() {
        leaf(out, &format!("Addr{}", i + 1), l, refs);
    }
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// Which elements of a CustomerRet a request asks for (all, without IncludeRetElement), looked
/// up once per response rather than once per customer.
struct CustomerParts {
    list_id: bool,
    time_created: bool,
    time_modified: bool,
    edit_sequence: bool,
    name: bool,
    full_name: bool,
    is_active: bool,
    parent_ref: bool,
    sublevel: bool,
    company_name: bool,
    first_name: bool,
    last_name: bool,
    bill_address: bool,
    bill_address_block: bool,
    ship_address: bool,
    ship_address_block: bool,
    phone: bool,
    email: bool,
    contact: bool,
    additional_contact_ref: bool,
    balance: bool,
    total_balance: bool,
    sales_tax_code_ref: bool,
    job_status: bool,
    notes: bool,
}

impl CustomerParts {
    fn asked(inc: Option<&HashSet<String>>) -> CustomerParts {
        let wants = |n: &str| inc.is_none_or(|s| s.contains(n));
        CustomerParts {
            list_id: wants("ListID"),
            time_created: wants("TimeCreated"),
            time_modified: wants("TimeModified"),
            edit_sequence: wants("EditSequence"),
            name: wants("Name"),
            full_name: wants("FullName"),
            is_active: wants("IsActive"),
            parent_ref: wants("ParentRef"),
            sublevel: wants("Sublevel"),
            company_name: wants("CompanyName"),
            first_name: wants("FirstName"),
            last_name: wants("LastName"),
            bill_address: wants("BillAddress"),
            bill_address_block: wants("BillAddressBlock"),
            ship_address: wants("ShipAddress"),
            ship_address_block: wants("ShipAddressBlock"),
            phone: wants("Phone"),
            email: wants("Email"),
            contact: wants("Contact"),
            additional_contact_ref: wants("AdditionalContactRef"),
            balance: wants("Balance"),
            total_balance: wants("TotalBalance"),
            sales_tax_code_ref: wants("SalesTaxCodeRef"),
            job_status: wants("JobStatus"),
            notes: wants("Notes"),
        }
    }
}

/// Writes a CustomerRet with its children in qbXML 13.0 XSD order.
fn write_customer(out: &mut String, c: &SimCustomer, parts: &CustomerParts, refs: bool, version: (u16, u16)) {
    out.push_str("<CustomerRet>\n");
    if parts.list_id {
        leaf(out, "ListID", &c.list_id, false);
    }
    if parts.time_created {
        leaf(out, "TimeCreated", &c.time_created, false);
    }
    if parts.time_modified {
        leaf(out, "TimeModified", &c.time_modified, false);
    }
    if parts.edit_sequence {
        leaf(out, "EditSequence", &c.edit_sequence.to_string(), false);
    }
    if parts.name {
        leaf(out, "Name", &c.name, refs);
    }
    if parts.full_name {
        leaf(out, "FullName", &c.full_name, refs);
    }
    if parts.is_active {
        leaf(out, "IsActive", if c.is_active { "true" } else { "false" }, false);
    }
    if let Some((pid, pfull)) = &c.parent
        && parts.parent_ref
    {
        out.push_str("<ParentRef>\n");
        leaf(out, "ListID", pid, false);
        leaf(out, "FullName", pfull, refs);
        out.push_str("</ParentRef>\n");
    }
    if parts.sublevel {
        leaf(out, "Sublevel", &c.sublevel.to_string(), false);
    }
    if parts.company_name {
        opt_leaf(out, "CompanyName", c.company_name.as_deref(), refs);
    }
    if parts.first_name {
        opt_leaf(out, "FirstName", c.first_name.as_deref(), refs);
    }
    if parts.last_name {
        opt_leaf(out, "LastName", c.last_name.as_deref(), refs);
    }
    if let Some(b) = &c.bill {
        if parts.bill_address {
            write_address(out, "BillAddress", b, refs, true);
        }
        if parts.bill_address_block && version >= (6, 0) {
            write_address_block(out, "BillAddressBlock", b, refs);
        }
    }
    if let Some(s) = &c.ship {
        if parts.ship_address {
            write_address(out, "ShipAddress", s, refs, true);
        }
        if parts.ship_address_block && version >= (6, 0) {
            write_address_block(out, "ShipAddressBlock", s, refs);
        }
    }
    if parts.phone {
        opt_leaf(out, "Phone", c.phone.as_deref(), false);
    }
    if parts.email {
        opt_leaf(out, "Email", c.email.as_deref(), false);
    }
    if let (true, Some(_), Some(f), Some(l)) = (parts.contact, &c.company_name, &c.first_name, &c.last_name) {
        leaf(out, "Contact", &format!("{f} {l}"), refs);
    }
    if parts.additional_contact_ref && version >= (12, 0) {
        for (label, value) in [("Main Phone", &c.phone), ("Main Email", &c.email)] {
            if let Some(v) = value {
                out.push_str("<AdditionalContactRef>\n");
                leaf(out, "ContactName", label, false);
                leaf(out, "ContactValue", v, false);
                out.push_str("</AdditionalContactRef>\n");
            }
        }
    }
    if parts.balance {
        leaf(out, "Balance", "0.00", false);
    }
    if parts.total_balance {
        leaf(out, "TotalBalance", "0.00", false);
    }
    if parts.sales_tax_code_ref {
        out.push_str("<SalesTaxCodeRef>\n");
        leaf(out, "ListID", "10000-1405768916", false);
        leaf(out, "FullName", "Tax", false);
        out.push_str("</SalesTaxCodeRef>\n");
    }
    if parts.job_status {
        opt_leaf(out, "JobStatus", c.job_status.as_deref(), false);
    }
    if parts.notes {
        opt_leaf(out, "Notes", c.notes.as_deref(), refs);
    }
    out.push_str("</CustomerRet>\n");
}

/// Writes an EmployeeRet with its children in qbXML 13.0 XSD order. SSN and payroll data
/// are included unless IncludeRetElement leaves them out, like QuickBooks.
fn write_employee(out: &mut String, e: &SimEmployee, inc: Option<&HashSet<String>>, refs: bool) {
    let wants = |n: &str| inc.is_none_or(|s| s.contains(n));
    out.push_str("<EmployeeRet>\n");
    if wants("ListID") {
        leaf(out, "ListID", &e.list_id, false);
    }
    if wants("TimeCreated") {
        leaf(out, "TimeCreated", &e.time_created, false);
    }
    if wants("TimeModified") {
        leaf(out, "TimeModified", &e.time_modified, false);
    }
    if wants("EditSequence") {
        leaf(out, "EditSequence", &e.edit_sequence.to_string(), false);
    }
    if wants("Name") {
        leaf(out, "Name", &e.name, refs);
    }
    if wants("IsActive") {
        leaf(out, "IsActive", if e.is_active { "true" } else { "false" }, false);
    }
    if wants("FirstName") {
        opt_leaf(out, "FirstName", e.first_name.as_deref(), refs);
    }
    if wants("LastName") {
        opt_leaf(out, "LastName", e.last_name.as_deref(), refs);
    }
    if let Some(a) = &e.address
        && wants("EmployeeAddress")
    {
        write_address(out, "EmployeeAddress", a, refs, false);
    }
    if wants("PrintAs") {
        leaf(out, "PrintAs", &e.name, refs);
    }
    if wants("Phone") {
        opt_leaf(out, "Phone", e.phone.as_deref(), false);
    }
    if wants("Mobile") {
        opt_leaf(out, "Mobile", e.mobile.as_deref(), false);
    }
    if wants("SSN") {
        leaf(out, "SSN", &e.ssn, false);
    }
    if wants("Email") {
        opt_leaf(out, "Email", e.email.as_deref(), false);
    }
    if wants("EmployeeType") {
        opt_leaf(out, "EmployeeType", e.employee_type.as_deref(), false);
    }
    if wants("HiredDate") {
        opt_leaf(out, "HiredDate", e.hired_date.as_deref(), false);
    }
    if wants("ReleasedDate") {
        opt_leaf(out, "ReleasedDate", e.released_date.as_deref(), false);
    }
    if wants("EmployeePayrollInfo") {
        let cents = 1500 + (e.edit_sequence % 1200);
        out.push_str("<EmployeePayrollInfo>\n");
        leaf(out, "PayPeriod", "Biweekly", false);
        out.push_str("<Earnings>\n<PayrollItemWageRef>\n");
        leaf(out, "ListID", "80000001-1405768916", false);
        leaf(out, "FullName", "Hourly Rate", false);
        out.push_str("</PayrollItemWageRef>\n");
        leaf(out, "Rate", &format!("{}.{:02}", cents / 100, cents % 100), false);
        out.push_str("</Earnings>\n</EmployeePayrollInfo>\n");
    }
    out.push_str("</EmployeeRet>\n");
}

// ---------------------------------------------------------------------------------------
// Request validation (what QuickBooks' parser would reject with 0x80040400)

fn parse_version(v: &str) -> Option<(u16, u16)> {
    let v = v.trim().trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn no_text(el: &Element) -> Result<(), String> {
    if el.text.trim().is_empty() { Ok(()) } else { Err(format!("<{}> must not contain text", el.name)) }
}

fn leaf_text(el: &Element) -> Result<&str, String> {
    if let Some(c) = el.children.first() {
        return Err(format!("<{}> must not contain <{}>", el.name, c.name));
    }
    Ok(el.text.as_str())
}

fn check_attrs(el: &Element, allowed: &[&str]) -> Result<(), String> {
    for (k, _) in &el.attrs {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("attribute {k} is not allowed on <{}>", el.name));
        }
    }
    Ok(())
}

/// Children must follow `order` (names at the same index are alternatives); `repeat[i]`
/// says whether position i may repeat. Returns the position of each child.
fn check_sequence(el: &Element, order: &[&[&str]], repeat: &[bool]) -> Result<Vec<usize>, String> {
    let mut last: Option<usize> = None;
    let mut positions = Vec::new();
    for c in &el.children {
        let pos = order
            .iter()
            .position(|alts| alts.contains(&c.name.as_str()))
            .ok_or_else(|| format!("unexpected element <{}> in <{}>", c.name, el.name))?;
        if let Some(l) = last {
            if pos < l {
                return Err(format!("<{}> is out of order in <{}>", c.name, el.name));
            }
            if pos == l && !repeat[pos] {
                return Err(format!("<{}> repeated in <{}>", c.name, el.name));
            }
        }
        last = Some(pos);
        positions.push(pos);
    }
    Ok(positions)
}

fn signature(el: &Element, skip: &[&str]) -> String {
    let mut s = String::new();
    for c in &el.children {
        if skip.contains(&c.name.as_str()) {
            continue;
        }
        s.push_str(&c.name);
        if c.children.is_empty() {
            s.push('=');
            s.push_str(c.text.trim());
        } else {
            s.push('(');
            s.push_str(&signature(c, &[]));
            s.push(')');
        }
        s.push(';');
    }
    s
}

/// A validated request set: the requests, the onError mode and the `<?qbxml version?>`.
type Parsed = (Vec<Request>, OnError, (u16, u16));

fn parse_request(xml_text: &str, max: (u16, u16)) -> Result<Parsed, String> {
    let doc = xml::parse(xml_text).map_err(|e| format!("not well-formed XML: {e}"))?;
    let pi = doc.pi("qbxml").ok_or("missing <?qbxml version=\"...\"?> processing instruction")?;
    let vtext = xml::pi_attr(pi, "version").ok_or("<?qbxml?> without a version")?;
    let version = parse_version(&vtext).ok_or_else(|| format!("bad qbXML version {vtext:?}"))?;
    if version > max {
        return Err(format!(
            "qbXML version {}.{} is above the {}.{} this QuickBooks supports",
            version.0, version.1, max.0, max.1
        ));
    }
    let root = &doc.root;
    if root.name != "QBXML" || root.ns.is_some() {
        return Err(format!("root element is <{}>, expected <QBXML>", root.name));
    }
    no_text(root)?;
    check_attrs(root, &[])?;
    if root.children.len() != 1 || root.children[0].name != "QBXMLMsgsRq" {
        return Err("<QBXML> must hold exactly one <QBXMLMsgsRq>".into());
    }
    let msgs = &root.children[0];
    no_text(msgs)?;
    check_attrs(msgs, &["onError", "responseData", "newMessageSetID", "oldMessageSetID"])?;
    let on_error = match msgs.attr("onError") {
        Some("stopOnError") | Some("rollbackOnError") => OnError::Stop,
        Some("continueOnError") => OnError::Continue,
        Some(o) => return Err(format!("bad onError value {o:?}")),
        None => return Err("<QBXMLMsgsRq> without the required onError attribute".into()),
    };
    let mut requests = Vec::new();
    for el in &msgs.children {
        no_text(el)?;
        let request_id = el.attr("requestID").map(str::to_string);
        let body = match el.name.as_str() {
            "CustomerQueryRq" => Body::List(Box::new(parse_list_query(el, Kind::Customer, version)?)),
            "EmployeeQueryRq" => Body::List(Box::new(parse_list_query(el, Kind::Employee, version)?)),
            "ListDeletedQueryRq" => parse_deleted_query(el)?,
            "HostQueryRq" | "PreferencesQueryRq" => {
                check_attrs(el, &["requestID", "metaData"])?;
                check_sequence(el, &[&["IncludeRetElement"]], &[true])?;
                if el.name == "HostQueryRq" { Body::Host } else { Body::Preferences }
            }
            "CompanyQueryRq" => {
                check_attrs(el, &["requestID", "metaData"])?;
                check_sequence(el, &[&["IncludeRetElement"], &["OwnerID"]], &[true, true])?;
                Body::Company
            }
            other => return Err(format!("unknown or unsupported request element <{other}>")),
        };
        let rs_name = format!("{}Rs", el.name.trim_end_matches("Rq"));
        requests.push(Request { rs_name, request_id, body });
    }
    Ok((requests, on_error, version))
}

const META_VALUES: &[&str] = &["NoMetaData", "MetaDataOnly", "MetaDataAndResponseData"];

fn parse_meta(el: &Element) -> Result<Meta, String> {
    match el.attr("metaData") {
        None | Some("NoMetaData") => Ok(Meta::None),
        Some("MetaDataOnly") => Ok(Meta::Only),
        Some("MetaDataAndResponseData") => Ok(Meta::AndData),
        Some(o) => Err(format!("bad metaData {o:?}, expected one of {META_VALUES:?}")),
    }
}

fn parse_list_query(el: &Element, kind: Kind, version: (u16, u16)) -> Result<ListQuery, String> {
    match kind {
        Kind::Customer => check_attrs(el, &["requestID", "metaData", "iterator", "iteratorID"])?,
        Kind::Employee => {
            if el.attr("iterator").is_some() || el.attr("iteratorID").is_some() {
                return Err("EmployeeQueryRq has no iterator/iteratorID attributes".into());
            }
            check_attrs(el, &["requestID", "metaData"])?
        }
    }
    let meta = parse_meta(el)?;
    let iterator = match el.attr("iterator") {
        None => None,
        Some("Start") => Some(IterMode::Start),
        Some("Continue") => Some(IterMode::Continue),
        Some("Stop") => Some(IterMode::Stop),
        Some(o) => return Err(format!("bad iterator value {o:?}")),
    };
    let iterator_id = el.attr("iteratorID").map(str::to_string);
    if iterator_id.is_some() && !matches!(iterator, Some(IterMode::Continue) | Some(IterMode::Stop)) {
        return Err("iteratorID without iterator=\"Continue\" or \"Stop\"".into());
    }
    let customer_only: &[&str] = &["TotalBalanceFilter", "CurrencyFilter", "ClassFilter"];
    let order: &[&[&str]] = &[
        &["ListID"],
        &["FullName"],
        &["MaxReturned"],
        &["ActiveStatus"],
        &["FromModifiedDate"],
        &["ToModifiedDate"],
        &["NameFilter", "NameRangeFilter"],
        &["TotalBalanceFilter"],
        &["CurrencyFilter"],
        &["ClassFilter"],
        &["IncludeRetElement"],
        &["OwnerID"],
    ];
    let repeat = [true, true, false, false, false, false, false, false, false, false, true, true];
    if kind == Kind::Employee
        && let Some(c) = el.children.iter().find(|c| customer_only.contains(&c.name.as_str()))
    {
        return Err(format!("unexpected element <{}> in <EmployeeQueryRq>", c.name));
    }
    let positions = check_sequence(el, order, &repeat)?;
    let has_ids = positions.contains(&0);
    let has_names = positions.contains(&1);
    let has_filters = positions.iter().any(|p| (2..=9).contains(p));
    if has_ids && has_names {
        return Err("ListID and FullName cannot be combined".into());
    }
    if (has_ids || has_names) && has_filters {
        return Err("ListID/FullName cannot be combined with filter elements".into());
    }
    let mut f = ListFilter {
        list_ids: Vec::new(),
        full_names: Vec::new(),
        max_returned: None,
        active: Active::Only,
        from_modified: None,
        to_modified: None,
        name_filter: None,
        name_range: (None, None),
        balance: None,
    };
    let mut include: Option<HashSet<String>> = None;
    for c in &el.children {
        match c.name.as_str() {
            "ListID" => {
                let v = leaf_text(c)?.trim();
                if v.is_empty() || v.len() > 36 {
                    return Err(format!("bad ListID {v:?}"));
                }
                f.list_ids.push(v.to_string());
            }
            "FullName" => {
                let v = leaf_text(c)?;
                if v.is_empty() || v.chars().count() > 209 {
                    return Err(format!("bad FullName {v:?}"));
                }
                f.full_names.push(v.to_string());
            }
            "MaxReturned" => {
                let v = leaf_text(c)?.trim();
                let n: usize = v.parse().map_err(|_| format!("bad MaxReturned {v:?}"))?;
                if n == 0 {
                    return Err("MaxReturned must be at least 1".into());
                }
                f.max_returned = Some(n);
            }
            "ActiveStatus" => {
                f.active = match leaf_text(c)?.trim() {
                    "ActiveOnly" => Active::Only,
                    "InactiveOnly" => Active::Inactive,
                    "All" => Active::All,
                    o => return Err(format!("bad ActiveStatus {o:?}")),
                }
            }
            "FromModifiedDate" | "ToModifiedDate" => {
                let v = leaf_text(c)?;
                let t = parse_qb_time(v).ok_or_else(|| format!("bad {} {v:?}", c.name))?;
                if c.name == "FromModifiedDate" {
                    f.from_modified = Some(t);
                } else {
                    f.to_modified = Some(t);
                }
            }
            "NameFilter" => {
                no_text(c)?;
                let pos = check_sequence(c, &[&["MatchCriterion"], &["Name"]], &[false, false])?;
                if pos != [0, 1] {
                    return Err("NameFilter needs MatchCriterion then Name".into());
                }
                let crit = leaf_text(&c.children[0])?.trim().to_string();
                if !["StartsWith", "Contains", "EndsWith"].contains(&crit.as_str()) {
                    return Err(format!("bad MatchCriterion {crit:?}"));
                }
                f.name_filter = Some((crit, leaf_text(&c.children[1])?.to_lowercase()));
            }
            "NameRangeFilter" => {
                no_text(c)?;
                check_sequence(c, &[&["FromName"], &["ToName"]], &[false, false])?;
                if c.children.is_empty() {
                    return Err("empty NameRangeFilter".into());
                }
                for n in &c.children {
                    let v = Some(leaf_text(n)?.to_lowercase());
                    if n.name == "FromName" {
                        f.name_range.0 = v;
                    } else {
                        f.name_range.1 = v;
                    }
                }
            }
            "TotalBalanceFilter" => {
                no_text(c)?;
                let pos = check_sequence(c, &[&["Operator"], &["Amount"]], &[false, false])?;
                if pos != [0, 1] {
                    return Err("TotalBalanceFilter needs Operator then Amount".into());
                }
                let op = leaf_text(&c.children[0])?.trim().to_string();
                if !["LessThan", "LessThanEqual", "Equal", "GreaterThan", "GreaterThanEqual"].contains(&op.as_str()) {
                    return Err(format!("bad Operator {op:?}"));
                }
                let amount: f64 = leaf_text(&c.children[1])?.trim().parse().map_err(|_| "bad Amount".to_string())?;
                f.balance = Some((op, amount));
            }
            "CurrencyFilter" | "ClassFilter" => {
                let min = if c.name == "CurrencyFilter" { (8, 0) } else { (12, 0) };
                if version < min {
                    return Err(format!("<{}> needs qbXML {}.{}", c.name, min.0, min.1));
                }
            }
            "IncludeRetElement" => {
                if version < (4, 0) {
                    return Err("IncludeRetElement needs qbXML 4.0".into());
                }
                let v = leaf_text(c)?.trim();
                if v.is_empty() || v.len() > 50 {
                    return Err(format!("bad IncludeRetElement {v:?}"));
                }
                include.get_or_insert_with(HashSet::new).insert(v.to_string());
            }
            "OwnerID" => {
                if version < (2, 0) {
                    return Err("OwnerID needs qbXML 2.0".into());
                }
                let v = leaf_text(c)?.trim();
                let guid_like = v.starts_with('{') && v.ends_with('}') && v.len() == 38;
                if v != "0" && !guid_like {
                    return Err(format!("bad OwnerID {v:?}"));
                }
            }
            _ => unreachable!("checked by check_sequence"),
        }
    }
    Ok(ListQuery { kind, meta, iterator, iterator_id, filter: f, include, signature: signature(el, &["MaxReturned"]) })
}

const LIST_DEL_TYPES: &[&str] = &[
    "Account",
    "BillingRate",
    "Class",
    "Currency",
    "Customer",
    "CustomerMsg",
    "CustomerType",
    "DateDrivenTerms",
    "Employee",
    "InventorySite",
    "ItemDiscount",
    "ItemFixedAsset",
    "ItemGroup",
    "ItemInventory",
    "ItemInventoryAssembly",
    "ItemNonInventory",
    "ItemOtherCharge",
    "ItemPayment",
    "ItemSalesTax",
    "ItemSalesTaxGroup",
    "ItemService",
    "ItemSubtotal",
    "JobType",
    "OtherName",
    "PaymentMethod",
    "PayrollItemNonWage",
    "PayrollItemWage",
    "PriceLevel",
    "SalesRep",
    "SalesTaxCode",
    "ShipMethod",
    "StandardTerms",
    "ToDo",
    "UnitOfMeasureSet",
    "Vehicle",
    "Vendor",
    "VendorType",
    "WorkersCompCode",
];

fn parse_deleted_query(el: &Element) -> Result<Body, String> {
    check_attrs(el, &["requestID", "metaData"])?;
    parse_meta(el)?;
    let pos = check_sequence(
        el,
        &[&["ListDelType"], &["DeletedDateRangeFilter"], &["IncludeRetElement"]],
        &[true, false, true],
    )?;
    if !pos.contains(&0) {
        return Err("ListDeletedQueryRq needs at least one ListDelType".into());
    }
    let (mut types, mut from, mut to) = (Vec::new(), None, None);
    for c in &el.children {
        match c.name.as_str() {
            "ListDelType" => {
                let v = leaf_text(c)?.trim();
                if !LIST_DEL_TYPES.contains(&v) {
                    return Err(format!("bad ListDelType {v:?}"));
                }
                types.push(v.to_string());
            }
            "DeletedDateRangeFilter" => {
                no_text(c)?;
                check_sequence(c, &[&["FromDeletedDate"], &["ToDeletedDate"]], &[false, false])?;
                for d in &c.children {
                    let v = leaf_text(d)?;
                    let t = parse_qb_time(v).ok_or_else(|| format!("bad {} {v:?}", d.name))?;
                    if d.name == "FromDeletedDate" {
                        from = Some(t);
                    } else {
                        to = Some(t);
                    }
                }
            }
            _ => {
                leaf_text(c)?;
            }
        }
    }
    Ok(Body::Deleted { types, from, to })
}

#[cfg(test)]
mod tests {
    use super::super::data::Dataset;
    use super::*;

    fn rq(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?qbxml version=\"13.0\"?>\n<QBXML><QBXMLMsgsRq onError=\"stopOnError\">{body}</QBXMLMsgsRq></QBXML>"
        )
    }

    /// The Rs elements of a response.
    fn rs(resp: &str) -> Vec<Element> {
        let doc = xml::parse(resp).expect("response re-parses");
        assert_eq!(doc.root.name, "QBXML");
        doc.root.child("QBXMLMsgsRs").expect("QBXMLMsgsRs").children.clone()
    }

    fn one_rs(resp: &str) -> Element {
        let mut v = rs(resp);
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    fn ids(rs: &Element, ret: &str) -> Vec<String> {
        rs.children_named(ret).map(|r| r.child_text("ListID").unwrap().to_string()).collect()
    }

    fn qb(customers: usize, employees: usize) -> FakeQuickBooks {
        FakeQuickBooks::new(Dataset::generate(17, customers, employees), Faults::default())
    }

    #[test]
    fn pages_2500_customers_with_an_iterator() {
        let mut q = qb(2500, 5);
        let body = "<MaxReturned>500</MaxReturned><ActiveStatus>All</ActiveStatus><IncludeRetElement>ListID</IncludeRetElement>";
        let first = one_rs(
            &q.process(&rq(&format!("<CustomerQueryRq requestID=\"c1\" iterator=\"Start\">{body}</CustomerQueryRq>")))
                .unwrap(),
        );
        assert_eq!(first.attr("requestID"), Some("c1"));
        assert_eq!(first.attr("statusCode"), Some("0"));
        assert_eq!(first.attr("iteratorRemainingCount"), Some("2000"));
        let iid = first.attr("iteratorID").unwrap().to_string();
        assert!(iid.starts_with('{') && iid.ends_with('}'));
        let mut seen = ids(&first, "CustomerRet");
        assert_eq!(seen.len(), 500);
        for (n, expect) in [1500, 1000, 500, 0].into_iter().enumerate() {
            let page = one_rs(
                &q.process(&rq(&format!("<CustomerQueryRq requestID=\"c{}\" iterator=\"Continue\" iteratorID=\"{iid}\">{body}</CustomerQueryRq>", n + 2)))
                    .unwrap(),
            );
            assert_eq!(page.attr("statusCode"), Some("0"));
            assert_eq!(page.attr("iteratorRemainingCount"), Some(expect.to_string().as_str()));
            assert_eq!(page.attr("iteratorID"), Some(iid.as_str()));
            seen.extend(ids(&page, "CustomerRet"));
        }
        assert_eq!(seen.len(), 2500);
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 2500, "every record exactly once");
        let all: Vec<String> = q.dataset().customers.iter().map(|c| c.list_id.clone()).collect();
        assert_eq!(seen, all, "in QuickBooks list order");
        assert_eq!(q.customers_sent(), 2500);
        // The iterator is used up.
        let after = one_rs(
            &q.process(&rq(&format!(
                "<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{iid}\">{body}</CustomerQueryRq>"
            )))
            .unwrap(),
        );
        assert_eq!(after.attr("statusCode"), Some("3391"));
        assert_eq!(after.attr("statusSeverity"), Some("Error"));
        assert!(q.violations().is_empty(), "{:?}", q.violations());
    }

    #[test]
    fn active_status_defaults_to_active_only() {
        let mut q = qb(400, 40);
        let active = q.dataset().customers.iter().filter(|c| c.is_active).count();
        let inactive = 400 - active;
        assert!(inactive > 0);
        let count =
            |q: &mut FakeQuickBooks, body: &str| ids(&one_rs(&q.process(&rq(body)).unwrap()), "CustomerRet").len();
        assert_eq!(count(&mut q, "<CustomerQueryRq />"), active);
        assert_eq!(count(&mut q, "<CustomerQueryRq><ActiveStatus>ActiveOnly</ActiveStatus></CustomerQueryRq>"), active);
        assert_eq!(
            count(&mut q, "<CustomerQueryRq><ActiveStatus>InactiveOnly</ActiveStatus></CustomerQueryRq>"),
            inactive
        );
        assert_eq!(count(&mut q, "<CustomerQueryRq><ActiveStatus>All</ActiveStatus></CustomerQueryRq>"), 400);
        assert_eq!(count(&mut q, "<CustomerQueryRq><MaxReturned>7</MaxReturned></CustomerQueryRq>"), 7);
        let emp_active = q.dataset().employees.iter().filter(|e| e.is_active).count();
        let e = one_rs(
            &q.process(&rq("<EmployeeQueryRq><IncludeRetElement>ListID</IncludeRetElement></EmployeeQueryRq>"))
                .unwrap(),
        );
        assert_eq!(ids(&e, "EmployeeRet").len(), emp_active);
        let e = one_rs(&q.process(&rq("<EmployeeQueryRq><ActiveStatus>All</ActiveStatus><IncludeRetElement>ListID</IncludeRetElement></EmployeeQueryRq>")).unwrap());
        assert_eq!(ids(&e, "EmployeeRet").len(), 40);
        assert_eq!(q.employees_sent(), (emp_active + 40) as u64);
    }

    #[test]
    fn from_modified_date_and_no_match() {
        let mut q = qb(300, 5);
        let cutoff = "2022-01-01T00:00:00";
        let expect = q
            .dataset()
            .customers
            .iter()
            .filter(|c| parse_qb_time(&c.time_modified).unwrap() >= parse_qb_time(cutoff).unwrap())
            .count();
        let r = one_rs(&q.process(&rq(&format!("<CustomerQueryRq><ActiveStatus>All</ActiveStatus><FromModifiedDate>{cutoff}</FromModifiedDate></CustomerQueryRq>"))).unwrap());
        assert_eq!(ids(&r, "CustomerRet").len(), expect);
        let raw = q.process(&rq("<CustomerQueryRq requestID=\"9\" iterator=\"Start\"><MaxReturned>100</MaxReturned><ActiveStatus>All</ActiveStatus><FromModifiedDate>2037-01-01T00:00:00-05:00</FromModifiedDate></CustomerQueryRq>")).unwrap();
        assert!(raw.contains("statusCode=\"1\" statusSeverity=\"Info\" statusMessage=\"A query request did not find a matching object in QuickBooks\""));
        let r = one_rs(&raw);
        assert!(r.children.is_empty());
        assert_eq!(r.attr("requestID"), Some("9"));
        assert_eq!(r.attr("iteratorRemainingCount"), Some("0"));
        let raw = q.process(&rq("<EmployeeQueryRq><FromModifiedDate>2037-01-01</FromModifiedDate><IncludeRetElement>ListID</IncludeRetElement></EmployeeQueryRq>")).unwrap();
        assert!(raw.contains("<EmployeeQueryRs statusCode=\"1\""), "{raw}");
        assert!(raw.contains(" />"));
    }

    #[test]
    fn iterator_faults_and_unknown_ids() {
        let mut q = FakeQuickBooks::new(
            Dataset::generate(3, 100, 2),
            Faults { expire_iterator_on_page: Some(3), warning_on_page: Some(2), ..Default::default() },
        );
        let body = "<MaxReturned>30</MaxReturned><ActiveStatus>All</ActiveStatus>";
        let start = |q: &mut FakeQuickBooks| {
            one_rs(&q.process(&rq(&format!("<CustomerQueryRq iterator=\"Start\">{body}</CustomerQueryRq>"))).unwrap())
        };
        let cont = |q: &mut FakeQuickBooks, id: &str| {
            one_rs(
                &q.process(&rq(&format!(
                    "<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{id}\">{body}</CustomerQueryRq>"
                )))
                .unwrap(),
            )
        };
        let s = start(&mut q);
        let id = s.attr("iteratorID").unwrap().to_string();
        let p2 = cont(&mut q, &id);
        assert_eq!((p2.attr("statusCode"), p2.attr("statusSeverity")), (Some("530"), Some("Warn")));
        assert_eq!(ids(&p2, "CustomerRet").len(), 30, "warning pages carry data");
        let p3 = cont(&mut q, &id);
        assert_eq!(p3.attr("statusCode"), Some("3391"));
        assert!(p3.children.is_empty());
        // Expired for good; a new iterator runs to the end (the faults fire once).
        assert_eq!(cont(&mut q, &id).attr("statusCode"), Some("3391"));
        let s = start(&mut q);
        let id = s.attr("iteratorID").unwrap().to_string();
        let mut total = ids(&s, "CustomerRet").len();
        loop {
            let p = cont(&mut q, &id);
            assert_eq!(p.attr("statusCode"), Some("0"));
            total += ids(&p, "CustomerRet").len();
            if p.attr("iteratorRemainingCount") == Some("0") {
                break;
            }
        }
        assert_eq!(total, 100);
        // Unknown iterator.
        let r = cont(&mut q, "{00000000-0000-0000-0000-000000000000}");
        assert_eq!((r.attr("statusCode"), r.attr("statusSeverity")), (Some("3391"), Some("Error")));
        // Continue that does not repeat the Start filters.
        let s = start(&mut q);
        let id = s.attr("iteratorID").unwrap();
        let r = one_rs(&q.process(&rq(&format!("<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>30</MaxReturned></CustomerQueryRq>"))).unwrap());
        assert_eq!(r.attr("statusCode"), Some("3391"));
        assert!(q.violations().iter().any(|v| v.contains("does not repeat")));
        // End of session kills iterators.
        let s = start(&mut q);
        let id = s.attr("iteratorID").unwrap().to_string();
        q.end_session();
        assert_eq!(cont(&mut q, &id).attr("statusCode"), Some("3391"));
        // Stop.
        let s = start(&mut q);
        let id = s.attr("iteratorID").unwrap().to_string();
        let r = one_rs(
            &q.process(&rq(&format!(
                "<CustomerQueryRq iterator=\"Stop\" iteratorID=\"{id}\">{body}</CustomerQueryRq>"
            )))
            .unwrap(),
        );
        assert_eq!(r.attr("statusCode"), Some("0"));
        assert_eq!(cont(&mut q, &id).attr("statusCode"), Some("3391"));
    }

    #[test]
    fn rejects_what_quickbooks_would_not_parse() {
        let mut q = qb(20, 3);
        let bad = [
            // no qbxml PI
            "<?xml version=\"1.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq/></QBXMLMsgsRq></QBXML>".to_string(),
            // version above 13.0
            rq("<CustomerQueryRq/>").replace("13.0", "14.0"),
            // not well-formed
            rq("<CustomerQueryRq>"),
            // unknown request
            rq("<CustomerFooRq/>"),
            // elements out of XSD order
            rq("<CustomerQueryRq><ActiveStatus>All</ActiveStatus><MaxReturned>5</MaxReturned></CustomerQueryRq>"),
            rq("<CustomerQueryRq><IncludeRetElement>ListID</IncludeRetElement><ActiveStatus>All</ActiveStatus></CustomerQueryRq>"),
            rq("<CustomerQueryRq><MaxReturned>5</MaxReturned><MaxReturned>5</MaxReturned></CustomerQueryRq>"),
            // ListID with filters, wrapped modified-date range, bad enum, bad date
            rq("<CustomerQueryRq><ListID>80000001-1</ListID><ActiveStatus>All</ActiveStatus></CustomerQueryRq>"),
            rq("<CustomerQueryRq><ModifiedDateRangeFilter><FromModifiedDate>2024-01-01</FromModifiedDate></ModifiedDateRangeFilter></CustomerQueryRq>"),
            rq("<CustomerQueryRq><ActiveStatus>Everything</ActiveStatus></CustomerQueryRq>"),
            rq("<CustomerQueryRq><FromModifiedDate>01/02/2024</FromModifiedDate></CustomerQueryRq>"),
            // iterators on EmployeeQueryRq
            rq("<EmployeeQueryRq iterator=\"Start\"><MaxReturned>5</MaxReturned></EmployeeQueryRq>"),
            rq("<EmployeeQueryRq><TotalBalanceFilter><Operator>Equal</Operator><Amount>0</Amount></TotalBalanceFilter></EmployeeQueryRq>"),
            // missing onError
            rq("<CustomerQueryRq/>").replace(" onError=\"stopOnError\"", ""),
        ];
        for (i, b) in bad.iter().enumerate() {
            let err = q.process(b).expect_err(&format!("case {i} should fail: {b}"));
            assert_eq!(err.hresult, "0x80040400");
            assert_eq!(err.message, PARSE_ERROR_MESSAGE);
        }
        assert_eq!(q.violations().len(), bad.len());
        // Older but supported versions are fine; a too-old QuickBooks rejects 13.0.
        assert!(q.process(&rq("<CustomerQueryRq/>").replace("13.0", "8.0")).is_ok());
        let mut old = FakeQuickBooks::new(
            Dataset::generate(1, 5, 1),
            Faults { max_qbxml_version: Some((4, 1)), ..Default::default() },
        );
        assert!(old.process(&rq("<CustomerQueryRq/>")).is_err());
        assert!(old.process(&rq("<CustomerQueryRq/>").replace("13.0", "4.1")).is_ok());
        assert!(
            old.process(
                &rq("<CustomerQueryRq><IncludeRetElement>ListID</IncludeRetElement></CustomerQueryRq>")
                    .replace("13.0", "3.0")
            )
            .is_err()
        );
    }

    #[test]
    fn include_ret_element_and_ssn() {
        let mut q = qb(60, 25);
        let r = one_rs(&q.process(&rq("<CustomerQueryRq><ActiveStatus>All</ActiveStatus><IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>FullName</IncludeRetElement><IncludeRetElement>BillAddress</IncludeRetElement></CustomerQueryRq>")).unwrap());
        for c in r.children_named("CustomerRet") {
            let names: Vec<&str> = c.children.iter().map(|e| e.name.as_str()).collect();
            assert!(names.starts_with(&["ListID", "FullName"]), "{names:?}");
            assert!(names.len() == 2 || (names.len() == 3 && names[2] == "BillAddress"), "{names:?}");
        }
        // Asked without SSN: none sent, nothing recorded.
        let r = one_rs(&q.process(&rq("<EmployeeQueryRq><ActiveStatus>All</ActiveStatus><IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>Name</IncludeRetElement><IncludeRetElement>Email</IncludeRetElement></EmployeeQueryRq>")).unwrap());
        assert_eq!(r.children_named("EmployeeRet").count(), 25);
        assert!(
            r.children_named("EmployeeRet")
                .all(|e| e.child("SSN").is_none() && e.child("EmployeePayrollInfo").is_none())
        );
        assert!(!q.requested_ssn());
        assert!(q.violations().is_empty());
        // No IncludeRetElement at all: QuickBooks sends SSN and payroll data.
        let r = one_rs(&q.process(&rq("<EmployeeQueryRq><ActiveStatus>All</ActiveStatus></EmployeeQueryRq>")).unwrap());
        assert!(
            r.children_named("EmployeeRet")
                .all(|e| e.child("SSN").is_some() && e.child("EmployeePayrollInfo").is_some())
        );
        assert!(q.requested_ssn());
        // Explicitly asked.
        let mut q = qb(5, 5);
        let r = one_rs(&q.process(&rq("<EmployeeQueryRq><ActiveStatus>All</ActiveStatus><IncludeRetElement>SSN</IncludeRetElement></EmployeeQueryRq>")).unwrap());
        assert!(r.children_named("EmployeeRet").all(|e| e.children.len() == 1 && e.child("SSN").is_some()));
        assert!(q.requested_ssn());
    }

    const CUSTOMER_ORDER: &[&str] = &[
        "ListID",
        "TimeCreated",
        "TimeModified",
        "EditSequence",
        "Name",
        "FullName",
        "IsActive",
        "ClassRef",
        "ParentRef",
        "Sublevel",
        "CompanyName",
        "Salutation",
        "FirstName",
        "MiddleName",
        "LastName",
        "JobTitle",
        "BillAddress",
        "BillAddressBlock",
        "ShipAddress",
        "ShipAddressBlock",
        "ShipToAddress",
        "Phone",
        "AltPhone",
        "Fax",
        "Email",
        "Cc",
        "Contact",
        "AltContact",
        "AdditionalContactRef",
        "ContactsRet",
        "CustomerTypeRef",
        "TermsRef",
        "SalesRepRef",
        "Balance",
        "TotalBalance",
        "SalesTaxCodeRef",
        "ItemSalesTaxRef",
        "ResaleNumber",
        "AccountNumber",
        "CreditLimit",
        "PreferredPaymentMethodRef",
        "CreditCardInfo",
        "JobStatus",
        "JobStartDate",
        "JobProjectedEndDate",
        "JobEndDate",
        "JobDesc",
        "JobTypeRef",
        "Notes",
    ];
    const EMPLOYEE_ORDER: &[&str] = &[
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
        "PrintAs",
        "Phone",
        "Mobile",
        "Pager",
        "PagerPIN",
        "AltPhone",
        "Fax",
        "SSN",
        "Email",
        "EmployeeType",
        "Gender",
        "HiredDate",
        "ReleasedDate",
        "BirthDate",
        "AccountNumber",
        "Notes",
        "EmployeePayrollInfo",
    ];

    fn assert_order(ret: &Element, order: &[&str]) {
        let pos: Vec<usize> = ret
            .children
            .iter()
            .map(|c| order.iter().position(|n| *n == c.name).unwrap_or_else(|| panic!("unexpected {}", c.name)))
            .collect();
        assert!(
            pos.windows(2).all(|w| w[0] <= w[1]),
            "XSD order: {:?}",
            ret.children.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
    }

    #[test]
    fn emitted_xml_reparses_and_decodes_exactly() {
        let mut q = qb(1500, 200);
        let raw = q.process(&rq("<CustomerQueryRq requestID=\"a\"><ActiveStatus>All</ActiveStatus></CustomerQueryRq><EmployeeQueryRq requestID=\"b\"><ActiveStatus>All</ActiveStatus></EmployeeQueryRq>")).unwrap();
        assert!(raw.starts_with("<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n"));
        assert!(raw.contains("&#"), "some non-ASCII written as character references");
        assert!(!raw.is_ascii(), "some non-ASCII written literally");
        assert!(raw.contains("&amp;") && raw.contains("&lt;") && raw.contains("&apos;") && raw.contains("&quot;"));
        let all = rs(&raw);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].attr("requestID"), Some("a"));
        assert_eq!(all[1].attr("requestID"), Some("b"));
        let rets: Vec<&Element> = all[0].children_named("CustomerRet").collect();
        assert_eq!(rets.len(), 1500);
        for (ret, c) in rets.iter().zip(&q.dataset().customers) {
            assert_order(ret, CUSTOMER_ORDER);
            assert_eq!(ret.child_text("ListID"), Some(c.list_id.as_str()));
            assert_eq!(ret.child_text("Name"), Some(c.name.as_str()));
            assert_eq!(ret.child_text("FullName"), Some(c.full_name.as_str()));
            assert_eq!(ret.child_text("CompanyName"), c.company_name.as_deref());
            assert_eq!(ret.child_text("Notes"), c.notes.as_deref());
            assert_eq!(ret.child_text("IsActive"), Some(if c.is_active { "true" } else { "false" }));
            assert_eq!(ret.child_text("EditSequence"), Some(c.edit_sequence.to_string().as_str()));
            assert_eq!(
                ret.child("BillAddress").and_then(|b| b.child_text("City")),
                c.bill.as_ref().and_then(|b| b.city.as_deref())
            );
            assert_eq!(
                ret.child("BillAddress").and_then(|b| b.child_text("Addr1")),
                c.bill.as_ref().and_then(|b| b.addr1.as_deref())
            );
            match &c.parent {
                Some((pid, pfull)) => {
                    let p = ret.child("ParentRef").unwrap();
                    assert_eq!(
                        (p.child_text("ListID"), p.child_text("FullName")),
                        (Some(pid.as_str()), Some(pfull.as_str()))
                    );
                    assert_eq!(ret.child_text("Sublevel"), Some("1"));
                }
                None => assert!(ret.child("ParentRef").is_none()),
            }
        }
        let erets: Vec<&Element> = all[1].children_named("EmployeeRet").collect();
        assert_eq!(erets.len(), 200);
        for (ret, e) in erets.iter().zip(&q.dataset().employees) {
            assert_order(ret, EMPLOYEE_ORDER);
            assert_eq!(ret.child_text("Name"), Some(e.name.as_str()));
            assert_eq!(ret.child_text("FirstName"), e.first_name.as_deref());
            assert_eq!(ret.child_text("ReleasedDate"), e.released_date.as_deref());
        }
    }

    #[test]
    fn list_id_and_full_name_lookups() {
        let mut q = qb(50, 4);
        let (a, b) = (q.dataset().customers[3].clone(), q.dataset().customers[10].clone());
        let r = one_rs(
            &q.process(&rq(&format!(
                "<CustomerQueryRq><ListID>{}</ListID><ListID>{}</ListID></CustomerQueryRq>",
                b.list_id, a.list_id
            )))
            .unwrap(),
        );
        assert_eq!(ids(&r, "CustomerRet"), vec![b.list_id.clone(), a.list_id.clone()]);
        let r = one_rs(
            &q.process(&rq(&format!(
                "<CustomerQueryRq><ListID>{}</ListID><ListID>80000FFF-1</ListID></CustomerQueryRq>",
                a.list_id
            )))
            .unwrap(),
        );
        assert_eq!((r.attr("statusCode"), r.attr("statusSeverity")), (Some("500"), Some("Warn")));
        assert_eq!(ids(&r, "CustomerRet"), vec![a.list_id.clone()]);
        let r = one_rs(&q.process(&rq("<CustomerQueryRq><ListID>80000FFF-1</ListID></CustomerQueryRq>")).unwrap());
        assert_eq!(r.attr("statusCode"), Some("3120"));
        let fname = xml::escape_qbxml(&b.full_name.to_uppercase(), false);
        let r = one_rs(
            &q.process(&rq(&format!("<CustomerQueryRq><FullName>{fname}</FullName></CustomerQueryRq>"))).unwrap(),
        );
        assert_eq!(ids(&r, "CustomerRet"), vec![b.list_id.clone()]);
    }

    #[test]
    fn request_level_faults_and_stop_on_error() {
        let mut q = FakeQuickBooks::new(
            Dataset::generate(8, 30, 6),
            Faults {
                error_status_for_employees: Some(3261),
                hresult_on_request: Some((2, "0x80040422".into(), "The application requires single-user mode.".into())),
                malformed_response_on_request: Some(3),
                ..Default::default()
            },
        );
        let raw = q.process(&rq("<EmployeeQueryRq requestID=\"e\"><IncludeRetElement>ListID</IncludeRetElement></EmployeeQueryRq><CustomerQueryRq requestID=\"c\"/>")).unwrap();
        let v = rs(&raw);
        assert_eq!((v[0].attr("statusCode"), v[0].attr("statusSeverity")), (Some("3261"), Some("Error")));
        assert!(v[0].children.is_empty());
        assert_eq!(
            (v[1].name.as_str(), v[1].attr("requestID"), v[1].attr("statusCode")),
            ("CustomerQueryRs", Some("c"), Some("3231"))
        );
        let err = q.process(&rq("<CustomerQueryRq/>")).unwrap_err();
        assert_eq!(err.hresult, "0x80040422");
        let sent = q.customers_sent();
        let garbled = q.process(&rq("<CustomerQueryRq/>")).unwrap();
        assert!(xml::parse(&garbled).is_err());
        assert_eq!(q.customers_sent(), sent, "garbled responses do not count");
        assert!(q.process(&rq("<CustomerQueryRq/>")).is_ok());
        assert_eq!(q.requests(), 4);
        // continueOnError carries on.
        let raw = q.process(&rq("<EmployeeQueryRq><IncludeRetElement>ListID</IncludeRetElement></EmployeeQueryRq><CustomerQueryRq/>").replace("stopOnError", "continueOnError")).unwrap();
        assert_eq!(rs(&raw)[1].attr("statusCode"), Some("0"));
    }

    #[test]
    fn hcp_response_and_side_queries() {
        let q = FakeQuickBooks::new(Dataset::generate(1, 3, 1), Faults::default())
            .with_file_id("{11111111-2222-3333-4444-555555555555}", "{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}");
        let doc = xml::parse(&q.hcp_response()).unwrap();
        let msgs = doc.root.child("QBXMLMsgsRs").unwrap();
        let host = msgs.child("HostQueryRs").unwrap().child("HostRet").unwrap();
        assert_eq!(host.child_text("ProductName"), Some(DEFAULT_PRODUCT_NAME));
        let versions: Vec<&str> = host.children_named("SupportedQBXMLVersion").map(|v| v.text.as_str()).collect();
        assert_eq!(versions.last(), Some(&"13.0"));
        let company = msgs.child("CompanyQueryRs").unwrap().child("CompanyRet").unwrap();
        assert_eq!(company.child_text("CompanyName"), Some(q.dataset().company_name.as_str()));
        let file_id =
            company.children_named("DataExtRet").find(|d| d.child_text("DataExtName") == Some("FileID")).unwrap();
        assert_eq!(file_id.child_text("DataExtValue"), Some("{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}"));
        let rights = msgs
            .child("PreferencesQueryRs")
            .unwrap()
            .child("PreferencesRet")
            .unwrap()
            .child("CurrentAppAccessRights")
            .unwrap();
        assert_eq!(rights.child_text("IsPersonalDataAccessAllowed"), Some("false"));
        let old = FakeQuickBooks::new(
            Dataset::generate(1, 3, 1),
            Faults { max_qbxml_version: Some((4, 1)), ..Default::default() },
        );
        let doc = xml::parse(&old.hcp_response()).unwrap();
        let host = doc.root.child("QBXMLMsgsRs").unwrap().child("HostQueryRs").unwrap().child("HostRet").unwrap();
        assert_eq!(host.children_named("SupportedQBXMLVersion").last().map(|v| v.text.as_str()), Some("4.1"));
        let mut q = q;
        let v = rs(&q.process(&rq("<HostQueryRq requestID=\"h\"/><CompanyQueryRq/><PreferencesQueryRq/>")).unwrap());
        assert_eq!(
            v.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["HostQueryRs", "CompanyQueryRs", "PreferencesQueryRs"]
        );
    }

    #[test]
    fn list_deleted_after_evolve() {
        let mut data = Dataset::generate(4, 80, 10);
        let evo = data.evolve(2, 3, 2, 4);
        let mut q = FakeQuickBooks::new(data, Faults::default());
        let r = one_rs(&q.process(&rq("<ListDeletedQueryRq requestID=\"d\"><ListDelType>Customer</ListDelType><ListDelType>Employee</ListDelType><DeletedDateRangeFilter><FromDeletedDate>2020-01-01T00:00:00</FromDeletedDate></DeletedDateRangeFilter></ListDeletedQueryRq>")).unwrap());
        let got: HashSet<String> = ids(&r, "ListDeletedRet").into_iter().collect();
        let want: HashSet<String> = evo.removed.iter().chain(&evo.employees_removed).cloned().collect();
        assert_eq!(got, want);
        let r = one_rs(
            &q.process(&rq("<ListDeletedQueryRq><ListDelType>Vendor</ListDelType></ListDeletedQueryRq>")).unwrap(),
        );
        assert_eq!(r.attr("statusCode"), Some("1"));
        // Changed records show up in an incremental query from the previous "now".
        let r = one_rs(&q.process(&rq("<CustomerQueryRq><ActiveStatus>All</ActiveStatus><FromModifiedDate>2024-06-02T00:00:00</FromModifiedDate><IncludeRetElement>ListID</IncludeRetElement></CustomerQueryRq>")).unwrap());
        let got: HashSet<String> = ids(&r, "CustomerRet").into_iter().collect();
        let want: HashSet<String> = evo.changed.iter().chain(&evo.deactivated).cloned().collect();
        assert_eq!(got, want);
    }
}

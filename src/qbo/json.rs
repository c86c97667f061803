//! QuickBooks Online's JSON, read leniently into qbsync's records: every field optional, unknown
//! fields ignored, absent values absent (Intuit omits them rather than sending null). Pure.
//!
//! What is never read: an employee's `SSN` (masked anyway) and `BirthDate`, money values, and
//! everything else qbsync does not show. Deserializing into these structs drops them.

use serde::Deserialize;

use crate::record::{Address, Customer, CustomerDetails, Employee, EmployeeDetails};

/// The two lists qbsync reads, as Intuit names the entities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    Customer,
    Employee,
}

impl Entity {
    pub fn name(self) -> &'static str {
        match self {
            Entity::Customer => "Customer",
            Entity::Employee => "Employee",
        }
    }

    pub fn from_name(name: &str) -> Option<Entity> {
        match name.to_ascii_lowercase().as_str() {
            "customer" => Some(Entity::Customer),
            "employee" => Some(Entity::Employee),
            _ => None,
        }
    }
}

/// The statement of one page of a full pull: every record, active or not, in a stable order.
pub fn page_query(entity: Entity, start_position: u64, max_results: u64) -> String {
    format!(
        "SELECT * FROM {} WHERE Active IN (true,false) ORDERBY Id STARTPOSITION {start_position} MAXRESULTS {max_results}",
        entity.name()
    )
}

/// The statement that counts a list (for a truthful percent while pulling it).
pub fn count_query(entity: Entity) -> String {
    format!("SELECT count(*) FROM {} WHERE Active IN (true,false)", entity.name())
}

#[derive(Debug, thiserror::Error)]
#[error("QuickBooks Online answered JSON qbsync cannot read: {0}")]
pub struct ShapeError(#[from] serde_json::Error);

#[derive(Deserialize, Default)]
#[serde(default)]
struct Ref {
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Phone {
    #[serde(rename = "FreeFormNumber")]
    number: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Email {
    #[serde(rename = "Address")]
    address: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct MetaData {
    create_time: Option<String>,
    last_updated_time: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Addr {
    line1: Option<String>,
    line2: Option<String>,
    line3: Option<String>,
    line4: Option<String>,
    line5: Option<String>,
    city: Option<String>,
    country_sub_division_code: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

impl From<Addr> for Address {
    fn from(a: Addr) -> Address {
        Address {
            line1: a.line1,
            line2: a.line2,
            line3: a.line3,
            line4: a.line4,
            line5: a.line5,
            city: a.city,
            state: a.country_sub_division_code,
            postal_code: a.postal_code,
            country: a.country,
            note: None,
        }
    }
}

/// A `Customer` object; also a CDC deletion stub (`status: "Deleted"`, little else).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct QboCustomer {
    id: String,
    sync_token: Option<String>,
    display_name: Option<String>,
    fully_qualified_name: Option<String>,
    company_name: Option<String>,
    title: Option<String>,
    given_name: Option<String>,
    middle_name: Option<String>,
    family_name: Option<String>,
    active: Option<bool>,
    parent_ref: Option<Ref>,
    level: Option<i64>,
    bill_addr: Option<Addr>,
    ship_addr: Option<Addr>,
    primary_phone: Option<Phone>,
    mobile: Option<Phone>,
    alternate_phone: Option<Phone>,
    fax: Option<Phone>,
    primary_email_addr: Option<Email>,
    notes: Option<String>,
    meta_data: Option<MetaData>,
    #[serde(rename = "status")]
    status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct QboEmployee {
    id: String,
    sync_token: Option<String>,
    display_name: Option<String>,
    title: Option<String>,
    given_name: Option<String>,
    middle_name: Option<String>,
    family_name: Option<String>,
    active: Option<bool>,
    primary_addr: Option<Addr>,
    primary_phone: Option<Phone>,
    mobile: Option<Phone>,
    primary_email_addr: Option<Email>,
    hired_date: Option<String>,
    released_date: Option<String>,
    meta_data: Option<MetaData>,
    #[serde(rename = "status")]
    status: Option<String>,
}

fn phone(p: Option<Phone>) -> Option<String> {
    p.and_then(|p| p.number)
}

fn joined_name(parts: [&Option<String>; 3]) -> Option<String> {
    let words: Vec<&str> = parts.iter().filter_map(|p| p.as_deref()).filter(|w| !w.is_empty()).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl QboCustomer {
    fn deleted(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("deleted"))
    }

    fn into_record(self) -> Customer {
        let meta = self.meta_data.unwrap_or_default();
        let name = self
            .display_name
            .clone()
            .or_else(|| joined_name([&self.given_name, &self.middle_name, &self.family_name]))
            .or_else(|| self.company_name.clone())
            .unwrap_or_else(|| format!("Customer {}", self.id));
        let full_name = self.fully_qualified_name.unwrap_or_else(|| name.clone());
        let parent_list_id = self.parent_ref.and_then(|r| r.value);
        // `Parent:Job` (Intuit joins the levels with colons): the parent's full name is all but
        // the last level.
        let parent_full_name = match &parent_list_id {
            Some(_) => full_name.rsplit_once(':').map(|(parent, _)| parent.to_string()),
            None => None,
        };
        Customer {
            list_id: self.id,
            edit_sequence: self.sync_token,
            time_modified: meta.last_updated_time,
            name,
            full_name,
            parent_list_id,
            is_active: self.active.unwrap_or(true),
            details: CustomerDetails {
                time_created: meta.create_time,
                parent_full_name,
                sublevel: self.level.and_then(|l| i32::try_from(l).ok()).unwrap_or(0),
                company_name: self.company_name,
                salutation: self.title,
                first_name: self.given_name,
                middle_name: self.middle_name,
                last_name: self.family_name,
                job_title: None,
                bill_address: self.bill_addr.map(Address::from).unwrap_or_default(),
                ship_address: self.ship_addr.map(Address::from).unwrap_or_default(),
                phone: phone(self.primary_phone),
                mobile: phone(self.mobile),
                alt_phone: phone(self.alternate_phone),
                fax: phone(self.fax),
                email: self.primary_email_addr.and_then(|e| e.address),
                contact: None,
                notes: self.notes,
                job_status: None,
            },
        }
    }
}

impl QboEmployee {
    fn deleted(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("deleted"))
    }

    fn into_record(self) -> Employee {
        let meta = self.meta_data.unwrap_or_default();
        let name = self
            .display_name
            .clone()
            .or_else(|| joined_name([&self.given_name, &self.middle_name, &self.family_name]))
            .unwrap_or_else(|| format!("Employee {}", self.id));
        Employee {
            list_id: self.id,
            edit_sequence: self.sync_token,
            time_modified: meta.last_updated_time,
            name,
            is_active: self.active.unwrap_or(true),
            details: EmployeeDetails {
                time_created: meta.create_time,
                salutation: self.title,
                first_name: self.given_name,
                middle_name: self.middle_name,
                last_name: self.family_name,
                job_title: None,
                address: self.primary_addr.map(Address::from).unwrap_or_default(),
                phone: phone(self.primary_phone),
                mobile: phone(self.mobile),
                alt_phone: None,
                fax: None,
                email: self.primary_email_addr.and_then(|e| e.address),
                employee_type: None,
                hired_date: self.hired_date,
                released_date: self.released_date,
                notes: None,
            },
        }
    }
}

/// One page of a query: the records, and how many rows it held.
#[derive(Debug, Default)]
pub struct Page<T> {
    pub records: Vec<T>,
    /// Intuit's clock when it answered (`time`).
    pub time: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QueryBody<T> {
    #[serde(rename = "QueryResponse")]
    query_response: QueryResponse<T>,
    time: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(default)]
struct QueryResponse<T> {
    #[serde(rename = "Customer", alias = "Employee")]
    rows: Vec<T>,
    #[serde(rename = "totalCount")]
    total_count: Option<u64>,
}

impl<T> Default for QueryResponse<T> {
    fn default() -> Self {
        QueryResponse { rows: Vec::new(), total_count: None }
    }
}

fn time_text(value: Option<serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    }
}

/// A page of `SELECT * FROM Customer ...`. Past the end Intuit answers `{"QueryResponse":{}}`:
/// an empty page.
pub fn customer_page(body: &[u8]) -> Result<Page<Customer>, ShapeError> {
    let body: QueryBody<QboCustomer> = serde_json::from_slice(body)?;
    let records = body.query_response.rows.into_iter().map(QboCustomer::into_record).collect();
    Ok(Page { records, time: time_text(body.time) })
}

/// A page of `SELECT * FROM Employee ...`.
pub fn employee_page(body: &[u8]) -> Result<Page<Employee>, ShapeError> {
    let body: QueryBody<QboEmployee> = serde_json::from_slice(body)?;
    let records = body.query_response.rows.into_iter().map(QboEmployee::into_record).collect();
    Ok(Page { records, time: time_text(body.time) })
}

/// The answer of a `count(*)` query.
pub fn count(body: &[u8]) -> Result<u64, ShapeError> {
    let body: QueryBody<serde::de::IgnoredAny> = serde_json::from_slice(body)?;
    Ok(body.query_response.total_count.unwrap_or(0))
}

/// The company's name from `companyinfo/{realmId}`.
pub fn company_name(body: &[u8]) -> Result<Option<String>, ShapeError> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        #[serde(rename = "CompanyInfo")]
        info: Info,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct Info {
        company_name: Option<String>,
        legal_name: Option<String>,
    }
    let body: Body = serde_json::from_slice(body)?;
    Ok(body.info.company_name.or(body.info.legal_name))
}

/// What Change Data Capture says happened to a list since a time.
#[derive(Debug, Default)]
pub struct Changes<T> {
    pub changed: Vec<T>,
    /// Ids of deleted (or merged-away) records, with Intuit's time of the deletion.
    pub deleted: Vec<(String, Option<String>)>,
}

/// A CDC answer for customers and employees.
#[derive(Debug, Default)]
pub struct Cdc {
    pub customers: Changes<Customer>,
    pub employees: Changes<Employee>,
    /// Intuit's clock when it answered: the next `changedSince`.
    pub time: Option<String>,
}

impl Cdc {
    /// How many objects the answer held in all (Intuit stops at 1,000).
    pub fn objects(&self) -> usize {
        self.customers.changed.len()
            + self.customers.deleted.len()
            + self.employees.changed.len()
            + self.employees.deleted.len()
    }
}

/// Reads `{"CDCResponse":[{"QueryResponse":[{"Customer":[...]}, {"Employee":[...]}]}], "time"}`.
/// Entities are matched by key, never by position; an entity without changes may be `{}` or absent.
pub fn cdc(body: &[u8]) -> Result<Cdc, ShapeError> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        #[serde(rename = "CDCResponse")]
        responses: Vec<CdcResponse>,
        time: Option<serde_json::Value>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct CdcResponse {
        #[serde(rename = "QueryResponse")]
        queries: Vec<CdcQuery>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct CdcQuery {
        #[serde(rename = "Customer")]
        customers: Vec<QboCustomer>,
        #[serde(rename = "Employee")]
        employees: Vec<QboEmployee>,
    }
    let body: Body = serde_json::from_slice(body)?;
    let mut out = Cdc { time: time_text(body.time), ..Cdc::default() };
    for query in body.responses.into_iter().flat_map(|r| r.queries) {
        for customer in query.customers {
            if customer.deleted() {
                let at = customer.meta_data.and_then(|m| m.last_updated_time);
                out.customers.deleted.push((customer.id, at));
            } else {
                out.customers.changed.push(customer.into_record());
            }
        }
        for employee in query.employees {
            if employee.deleted() {
                let at = employee.meta_data.and_then(|m| m.last_updated_time);
                out.employees.deleted.push((employee.id, at));
            } else {
                out.employees.changed.push(employee.into_record());
            }
        }
    }
    Ok(out)
}

/// A single read, `customer/{id}`: the record, unless Intuit says it is gone.
pub fn single_customer(body: &[u8]) -> Result<Option<Customer>, ShapeError> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        #[serde(rename = "Customer")]
        customer: Option<QboCustomer>,
    }
    let body: Body = serde_json::from_slice(body)?;
    Ok(body.customer.filter(|c| !c.deleted()).map(QboCustomer::into_record))
}

/// A single read, `employee/{id}`.
pub fn single_employee(body: &[u8]) -> Result<Option<Employee>, ShapeError> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        #[serde(rename = "Employee")]
        employee: Option<QboEmployee>,
    }
    let body: Body = serde_json::from_slice(body)?;
    Ok(body.employee.filter(|e| !e.deleted()).map(QboEmployee::into_record))
}

/// An error Intuit reported, from whichever of its three error shapes it used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fault {
    pub code: Option<String>,
    pub message: Option<String>,
    pub detail: Option<String>,
    pub kind: Option<String>,
}

/// Reads an error body: `{"Fault":{"Error":[...],"type"}}`, the gateway's lower-camel
/// `{"fault":{"error":[...]}}`, or XML (`<Fault type=..><Error code=..><Message>`), as well as
/// it can. None when the body holds none of them.
pub fn fault(body: &[u8]) -> Option<Fault> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        #[serde(rename = "Fault", alias = "fault")]
        fault: Option<FaultBody>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct FaultBody {
        #[serde(rename = "Error", alias = "error")]
        errors: Vec<ErrorBody>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ErrorBody {
        #[serde(rename = "Message", alias = "message")]
        message: Option<String>,
        #[serde(rename = "Detail", alias = "detail")]
        detail: Option<String>,
        code: Option<serde_json::Value>,
    }
    if let Ok(Body { fault: Some(fault) }) = serde_json::from_slice::<Body>(body) {
        let first = fault.errors.into_iter().next().unwrap_or_default();
        let code = first.code.map(|c| match c {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        return Some(Fault { code, message: first.message, detail: first.detail, kind: fault.kind });
    }
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("<Fault") {
        return None;
    }
    let attribute = |name: &str| {
        let start = text.find(&format!("{name}=\""))? + name.len() + 2;
        text[start..].split('"').next().map(str::to_string)
    };
    let element = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        text[start..].split('<').next().map(str::to_string)
    };
    Some(Fault {
        code: attribute("code"),
        message: element("Message"),
        detail: element("Detail"),
        kind: attribute("type"),
    })
}

/// What an Intuit error code means for the admin, where it is one qbsync meets.
pub fn explain(status: u16, code: Option<&str>) -> Option<&'static str> {
    let code = code.map(|c| c.trim_start_matches('0'));
    Some(match (status, code) {
        (_, Some("3200")) | (401, None) => {
            "QuickBooks Online did not accept the connection's access (it expired or was revoked). qbsync refreshes it \
             once; if that fails, reconnect the connection."
        }
        (_, Some("3100")) | (403, _) => {
            "QuickBooks Online refused access to this company: the app may be set up for the wrong environment \
             (sandbox or production), or the user who connected it lost access."
        }
        (_, Some("120")) => "The QuickBooks Online user who connected this company no longer has access. Reconnect.",
        (_, Some("610")) => "QuickBooks Online says the record does not exist (deleted or merged).",
        (_, Some("4000")) => "QuickBooks Online could not read qbsync's query. This is a qbsync bug; please report it.",
        (_, Some("6190")) => {
            "The QuickBooks Online company's subscription is not active. Its administrator must renew it."
        }
        (429, _) => {
            "QuickBooks Online limits how many requests an app may make for a company (500 a minute, 10 at once); \
             qbsync waited and tried again."
        }
        (500..=599, _) => "QuickBooks Online had a server error; qbsync tried again with growing waits.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOMER_PAGE: &str = include_str!("../../qbxml-fixtures/qbo/customer-page.json");
    const EMPLOYEE_PAGE: &str = include_str!("../../qbxml-fixtures/qbo/employee-page.json");
    const CDC: &str = include_str!("../../qbxml-fixtures/qbo/cdc.json");

    #[test]
    fn a_customer_page_reads_every_field_qbsync_keeps() {
        let page = customer_page(CUSTOMER_PAGE.as_bytes()).unwrap();
        assert_eq!(page.time.as_deref(), Some("2026-11-30T09:12:44.120-08:00"));
        assert_eq!(page.records.len(), 3);
        let parent = &page.records[0];
        assert_eq!(parent.list_id, "58");
        assert_eq!(parent.edit_sequence.as_deref(), Some("4"));
        assert_eq!(parent.name, "Harbor Dental Group");
        assert_eq!(parent.full_name, "Harbor Dental Group");
        assert_eq!(parent.parent_list_id, None);
        assert!(parent.is_active);
        assert_eq!(parent.time_modified.as_deref(), Some("2026-11-02T15:40:01-08:00"));
        let d = &parent.details;
        assert_eq!(d.time_created.as_deref(), Some("2025-03-14T10:00:00-07:00"));
        assert_eq!(d.company_name.as_deref(), Some("Harbor Dental Group LLC"));
        assert_eq!((d.first_name.as_deref(), d.last_name.as_deref()), (Some("Noor"), Some("Haddad")));
        assert_eq!(d.salutation.as_deref(), Some("Dr."));
        assert_eq!(d.bill_address.line1.as_deref(), Some("Harbor Dental Group"));
        assert_eq!(d.bill_address.line2.as_deref(), Some("Attn: Accounts"));
        assert_eq!(d.bill_address.line3.as_deref(), Some("1200 Shoreline Blvd"));
        assert_eq!(d.bill_address.city.as_deref(), Some("Seattle"));
        assert_eq!(d.bill_address.state.as_deref(), Some("WA"));
        assert_eq!(d.bill_address.postal_code.as_deref(), Some("98109"));
        assert_eq!(d.bill_address.country.as_deref(), Some("USA"));
        assert!(d.ship_address.is_empty());
        assert_eq!(d.phone.as_deref(), Some("(206) 555-0143"));
        assert_eq!(d.mobile.as_deref(), Some("(206) 555-0199"));
        assert_eq!(d.alt_phone.as_deref(), Some("(206) 555-0100"));
        assert_eq!(d.fax.as_deref(), Some("(206) 555-0144"));
        assert_eq!(d.email.as_deref(), Some("office@harbordental.example"));
        assert_eq!(d.notes.as_deref(), Some("Gate code 4411.\n  Alarm panel by the back door."));
        assert_eq!(d.sublevel, 0);

        let job = &page.records[1];
        assert_eq!(job.name, "Clinic Wing");
        assert_eq!(job.full_name, "Harbor Dental Group:Clinic Wing");
        assert_eq!(job.parent_list_id.as_deref(), Some("58"));
        assert_eq!(job.details.parent_full_name.as_deref(), Some("Harbor Dental Group"));
        assert_eq!(job.details.sublevel, 1);
        // Free-form address lines without a city, as Intuit allows.
        assert_eq!(job.details.ship_address.line4.as_deref(), Some("Seattle, WA  98109"));
        assert_eq!(job.details.ship_address.city, None);

        let inactive = &page.records[2];
        assert!(!inactive.is_active);
        assert_eq!(inactive.name, "Café Ömer");
        assert_eq!(inactive.details.company_name, None);
    }

    #[test]
    fn an_employee_page_keeps_no_ssn_and_no_birth_date() {
        let page = employee_page(EMPLOYEE_PAGE.as_bytes()).unwrap();
        assert_eq!(page.records.len(), 2);
        let e = &page.records[0];
        assert_eq!(e.list_id, "71");
        assert_eq!(e.name, "Rosa Martínez");
        assert_eq!(e.details.first_name.as_deref(), Some("Rosa"));
        assert_eq!(e.details.address.city.as_deref(), Some("Tacoma"));
        assert_eq!(e.details.phone.as_deref(), Some("253-555-0110"));
        assert_eq!(e.details.mobile.as_deref(), Some("253-555-0111"));
        assert_eq!(e.details.email.as_deref(), Some("rosa@example.com"));
        assert_eq!(e.details.hired_date.as_deref(), Some("2021-06-01"));
        let stored = serde_json::to_string(&page.records).unwrap();
        assert!(!stored.contains("XXX-XX-XXXX") && !stored.contains("1988-02-29"), "{stored}");
        // A sparse record: only a given name.
        assert_eq!(page.records[1].name, "Lee");
        assert!(!page.records[1].is_active);
    }

    #[test]
    fn past_the_end_is_an_empty_page_and_counts_read() {
        let page = customer_page(br#"{"QueryResponse":{},"time":"2026-11-30T09:12:44.120-08:00"}"#).unwrap();
        assert!(page.records.is_empty());
        assert_eq!(count(br#"{"QueryResponse":{"totalCount":2500},"time":"x"}"#).unwrap(), 2500);
        assert!(customer_page(b"<html>").is_err());
    }

    #[test]
    fn cdc_sorts_changes_from_deletions_by_entity_key() {
        let cdc = cdc(CDC.as_bytes()).unwrap();
        assert_eq!(cdc.time.as_deref(), Some("2026-12-01T08:00:00.000-08:00"));
        assert_eq!(cdc.customers.changed.iter().map(|c| c.list_id.as_str()).collect::<Vec<_>>(), ["58"]);
        assert_eq!(cdc.customers.deleted, [("61".to_string(), Some("2026-11-30T12:00:00-08:00".to_string()))]);
        assert_eq!(cdc.employees.changed.len(), 1);
        assert!(cdc.employees.deleted.is_empty());
        assert_eq!(cdc.objects(), 3);
    }

    #[test]
    fn faults_are_read_from_all_three_shapes() {
        let pascal = br#"{"Fault":{"Error":[{"Message":"Error parsing query","Detail":"QueryParserError: x","code":"4000"}],"type":"ValidationFault"},"time":"t"}"#;
        assert_eq!(
            fault(pascal),
            Some(Fault {
                code: Some("4000".into()),
                message: Some("Error parsing query".into()),
                detail: Some("QueryParserError: x".into()),
                kind: Some("ValidationFault".into()),
            })
        );
        let gateway = br#"{"warnings":null,"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token expired","code":"3200","element":null}],"type":"AUTHENTICATION"},"time":1633520295688}"#;
        let f = fault(gateway).unwrap();
        assert_eq!((f.code.as_deref(), f.kind.as_deref()), (Some("3200"), Some("AUTHENTICATION")));
        let xml = br#"<IntuitResponse><Fault type="AuthenticationFault"><Error code="100"><Message>General Authentication Error</Message><Detail>SRV-110</Detail></Error></Fault></IntuitResponse>"#;
        let f = fault(xml).unwrap();
        assert_eq!((f.code.as_deref(), f.message.as_deref()), (Some("100"), Some("General Authentication Error")));
        assert_eq!(fault(b"{}"), None);
        assert_eq!(fault(b"not json"), None);
        assert!(explain(401, Some("3200")).is_some());
        assert!(explain(429, None).is_some());
        assert!(explain(400, Some("9999")).is_none());
    }

    #[test]
    fn queries_ask_for_inactive_records_in_id_order() {
        assert_eq!(
            page_query(Entity::Customer, 1001, 1000),
            "SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000"
        );
        assert_eq!(count_query(Entity::Employee), "SELECT count(*) FROM Employee WHERE Active IN (true,false)");
        assert_eq!(Entity::from_name("customer"), Some(Entity::Customer));
        assert_eq!(Entity::from_name("Class"), None);
    }
}

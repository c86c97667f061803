//! The QuickBooks Online company the fake serves: customers (jobs nested under customers and
//! under other jobs) and employees made from a [`Dataset`], their changes, and their JSON exactly
//! as Intuit writes it (guide §3: every field that holds a value, absent fields omitted, never
//! `null`; `Id`/`SyncToken` strings; integer `Level`; `Lat`/`Long` strings; whole amounts as
//! integers). Pure: times come in as epoch milliseconds.
//!
//! From the Dataset: a customer keeps its name (made unique across names, as `DisplayName` must
//! be: a job whose leaf name is taken gets ` (2)`, ` (3)`...), company, contact, addresses,
//! phone, e-mail, notes and active flag; Ids are small integers given in order of creation, one
//! sequence for customers and employees. Where a customer has three jobs or more, its newest
//! job becomes a job of the one before it (Level 2), so nested jobs exist. The rest (Mobile,
//! Fax, balances, free-form addresses with Line1..Line5, coordinates, employee numbers, birth
//! dates) is derived from each record's ListID by a hash, so the same Dataset always gives the
//! same company.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Serialize, Serializer};

use super::clock;
use super::query::{Condition, Entity, OrderField, Query, Selection};
use crate::simulate::{Dataset, SimAddress};

/// Deepest a customer may be nested (a top-level customer is level 0).
pub const MAX_LEVEL: u32 = 5;

/// Why a change to the company was refused, with Intuit's fault code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompanyError {
    /// Code 610.
    #[error("Object Not Found: {0} {1} does not exist or was deleted")]
    NotFound(&'static str, String),
    /// Code 6240.
    #[error("Duplicate Name Exists Error: another customer, vendor or employee is already using the name {0:?}")]
    DuplicateName(String),
    /// Code 2010 (a request's value is not valid).
    #[error("Invalid value: {0}")]
    Invalid(String),
}

impl CompanyError {
    /// Intuit's error code for the fault body.
    pub fn code(&self) -> &'static str {
        match self {
            CompanyError::NotFound(..) => "610",
            CompanyError::DuplicateName(_) => "6240",
            CompanyError::Invalid(_) => "2010",
        }
    }
}

/// An amount in cents, written as Intuit writes it: `0`, `-15`, `314.28`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Money(pub i64);

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            serializer.serialize_i64(self.0 / 100)
        } else {
            serializer.serialize_f64(self.0 as f64 / 100.0)
        }
    }
}

/// A physical address (`BillAddr`, `ShipAddr`, `PrimaryAddr`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Addr {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_sub_division_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long: Option<String>,
}

/// A stored customer. Names derived from the hierarchy (`FullyQualifiedName`, `Level`) and
/// `BalanceWithJobs` are computed when rendered, so a rename or a new job shows everywhere.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerRec {
    pub id: u64,
    pub sync_token: u64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub display_name: String,
    pub parent: Option<u64>,
    pub title: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub company_name: Option<String>,
    pub print_on_check_name: Option<String>,
    pub active: bool,
    pub bill_with_parent: bool,
    pub taxable: Option<bool>,
    pub preferred_delivery_method: Option<&'static str>,
    pub bill_addr: Option<Addr>,
    pub ship_addr: Option<Addr>,
    pub primary_phone: Option<String>,
    pub mobile: Option<String>,
    pub alternate_phone: Option<String>,
    pub fax: Option<String>,
    pub email: Option<String>,
    pub web_addr: Option<String>,
    pub notes: Option<String>,
    pub balance: Money,
    pub pseudonym: String,
}

/// A stored employee.
#[derive(Clone, Debug, PartialEq)]
pub struct EmployeeRec {
    pub id: u64,
    pub sync_token: u64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub display_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub print_on_check_name: Option<String>,
    pub active: bool,
    pub primary_addr: Option<Addr>,
    pub primary_phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// Whether an SSN is on file; it is only ever shown masked.
    pub ssn_on_file: bool,
    pub employee_number: Option<String>,
    pub gender: Option<&'static str>,
    pub billable_time: bool,
    pub bill_rate: Option<Money>,
    pub birth_date: Option<String>,
    pub hired_date: Option<String>,
    pub released_date: Option<String>,
}

/// A deleted record, as CDC reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub entity: Entity,
    pub id: u64,
    pub deleted_ms: i64,
}

/// The company.
#[derive(Clone, Debug)]
pub struct Company {
    pub name: String,
    pub created_ms: i64,
    customers: BTreeMap<u64, CustomerRec>,
    employees: BTreeMap<u64, EmployeeRec>,
    tombstones: Vec<Tombstone>,
    next_id: u64,
    next_addr_id: u64,
}

// ---------------------------------------------------------------------------------------
// JSON shapes

#[derive(Serialize)]
struct Ref {
    value: String,
}

#[derive(Serialize)]
struct CurrencyRef {
    value: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Phone<'a> {
    free_form_number: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Email<'a> {
    address: &'a str,
}

#[derive(Serialize)]
struct Web<'a> {
    #[serde(rename = "URI")]
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetaData {
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time: Option<String>,
    last_updated_time: String,
}

fn phone(number: &Option<String>) -> Option<Phone<'_>> {
    number.as_deref().map(|n| Phone { free_form_number: n })
}

/// A customer exactly as Intuit writes one (field order as in the 2026 sandbox recording).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    taxable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_addr: Option<&'a Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ship_addr: Option<&'a Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    job: bool,
    bill_with_parent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_ref: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<u32>,
    balance: Money,
    balance_with_jobs: Money,
    currency_ref: CurrencyRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_delivery_method: Option<&'static str>,
    is_project: bool,
    client_entity_id: &'static str,
    #[serde(rename = "domain")]
    domain: &'static str,
    #[serde(rename = "sparse")]
    sparse: bool,
    id: String,
    sync_token: String,
    meta_data: MetaData,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    fully_qualified_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<&'a str>,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    print_on_check_name: Option<&'a str>,
    active: bool,
    #[serde(rename = "V4IDPseudonym")]
    v4id_pseudonym: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_phone: Option<Phone<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mobile: Option<Phone<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alternate_phone: Option<Phone<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fax: Option<Phone<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_email_addr: Option<Email<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_addr: Option<Web<'a>>,
}

/// An employee exactly as Intuit writes one.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmployeeJson<'a> {
    #[serde(rename = "SSN", skip_serializing_if = "Option::is_none")]
    ssn: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_addr: Option<&'a Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee_number: Option<&'a str>,
    billable_time: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_rate: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birth_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hired_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    released_date: Option<&'a str>,
    #[serde(rename = "domain")]
    domain: &'static str,
    #[serde(rename = "sparse")]
    sparse: bool,
    id: String,
    sync_token: String,
    meta_data: MetaData,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    print_on_check_name: Option<&'a str>,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_phone: Option<Phone<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mobile: Option<Phone<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_email_addr: Option<Email<'a>>,
}

/// A record CDC reports as deleted: `Id`, `status`, `domain`, `MetaData.LastUpdatedTime` only.
#[derive(Serialize)]
pub struct DeletedJson {
    #[serde(rename = "Id")]
    id: String,
    status: &'static str,
    domain: &'static str,
    #[serde(rename = "MetaData")]
    meta_data: MetaData,
}

/// One row of a CDC answer.
#[derive(Serialize)]
#[serde(untagged)]
pub enum CdcRow<'a> {
    Customer(CustomerJson<'a>),
    Employee(EmployeeJson<'a>),
    Deleted(DeletedJson),
}

/// The record page of a query answer.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Rows<'a> {
    Customers(Vec<CustomerJson<'a>>),
    Employees(Vec<EmployeeJson<'a>>),
}

/// What a query found: a page, or a count.
pub enum QueryAnswer<'a> {
    /// The page's rows (empty past the end) and the 1-based position asked for.
    Page { rows: Rows<'a>, start_position: usize },
    /// `SELECT count(*)`.
    Count(usize),
}

/// `BalanceWithJobs` of every customer, computed once per answer.
pub struct RenderCtx {
    with_jobs: HashMap<u64, i64>,
}

// ---------------------------------------------------------------------------------------
// Building from a Dataset

/// A stable 64-bit hash of a text and a salt (FNV-1a, then SplitMix64's finalizer).
fn mix(text: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// Approximate centres of the Dataset's cities, for `Lat`/`Long`.
const CITY_COORDINATES: &[(&str, f64, f64)] = &[
    ("Austin", 30.2672, -97.7431),
    ("Dallas", 32.7767, -96.7970),
    ("Houston", 29.7604, -95.3698),
    ("San Antonio", 29.4241, -98.4936),
    ("Denver", 39.7392, -104.9903),
    ("Boulder", 40.0150, -105.2705),
    ("Phoenix", 33.4484, -112.0740),
    ("Tempe", 33.4255, -111.9400),
    ("Portland", 45.5152, -122.6784),
    ("Seattle", 47.6062, -122.3321),
    ("Tacoma", 47.2529, -122.4443),
    ("Sacramento", 38.5816, -121.4944),
    ("San Jose", 37.3382, -121.8863),
    ("Fresno", 36.7378, -119.7871),
    ("Columbus", 39.9612, -82.9988),
    ("Cleveland", 41.4993, -81.6944),
    ("Atlanta", 33.7490, -84.3880),
    ("Savannah", 32.0809, -81.0912),
    ("Raleigh", 35.7796, -78.6382),
    ("Charlotte", 35.2271, -80.8431),
    ("Nashville", 36.1627, -86.7816),
    ("Memphis", 35.1495, -90.0490),
    ("Chicago", 41.8781, -87.6298),
    ("Naperville", 41.7508, -88.1535),
    ("Minneapolis", 44.9778, -93.2650),
    ("Madison", 43.0731, -89.4012),
    ("Kansas City", 39.0997, -94.5786),
    ("Omaha", 41.2565, -95.9345),
    ("Boise", 43.6150, -116.2023),
    ("Salt Lake City", 40.7608, -111.8910),
    ("Albuquerque", 35.0844, -106.6504),
    ("Tampa", 27.9506, -82.4572),
    ("Orlando", 28.5383, -81.3792),
    ("Miami", 25.7617, -80.1918),
    ("Richmond", 37.5407, -77.4360),
    ("Pittsburgh", 40.4406, -79.9959),
    ("Buffalo", 42.8864, -78.8784),
    ("Hartford", 41.7658, -72.6734),
    ("Providence", 41.8240, -71.4128),
    ("Burlington", 44.4759, -73.2121),
];

fn qb_ms(time: &str) -> i64 {
    crate::simulate::data::parse_qb_time(time).unwrap_or(0) * 1000
}

/// A phone number in the same area as `like`, or a 555 number.
fn phone_like(like: Option<&str>, h: u64) -> String {
    let area: String = like.map(|p| p.chars().filter(char::is_ascii_digit).take(3).collect()).unwrap_or_default();
    let area = if area.len() == 3 { area } else { "555".to_string() };
    format!("({area}) {:03}-{:04}", 200 + h % 800, (h >> 16) % 10_000)
}

impl Company {
    /// The Online company holding the Dataset's records (see the module notes).
    pub fn from_dataset(data: &Dataset, name: &str) -> Company {
        let created_ms = data
            .customers
            .iter()
            .map(|c| qb_ms(&c.time_created))
            .chain(data.employees.iter().map(|e| qb_ms(&e.time_created)))
            .min()
            .unwrap_or(0)
            - 86_400_000;
        let mut company = Company {
            name: name.to_string(),
            created_ms,
            customers: BTreeMap::new(),
            employees: BTreeMap::new(),
            tombstones: Vec::new(),
            next_id: 1,
            next_addr_id: 1,
        };

        // Ids in order of creation, one sequence for both lists.
        let mut order: Vec<(i64, bool, usize)> = data
            .customers
            .iter()
            .enumerate()
            .map(|(i, c)| (qb_ms(&c.time_created), true, i))
            .chain(data.employees.iter().enumerate().map(|(i, e)| (qb_ms(&e.time_created), false, i)))
            .collect();
        order.sort();

        // A customer's third and later jobs (by creation) go under its second one.
        let mut jobs_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for &(_, is_customer, i) in &order {
            if is_customer && let Some((parent, _)) = &data.customers[i].parent {
                jobs_of.entry(parent.as_str()).or_default().push(data.customers[i].list_id.as_str());
            }
        }
        let mut new_parent: HashMap<&str, &str> = HashMap::new();
        for jobs in jobs_of.values() {
            if jobs.len() >= 3 {
                for job in &jobs[2..] {
                    new_parent.insert(job, jobs[1]);
                }
            }
        }

        let mut taken: HashSet<String> = HashSet::new();
        let mut id_of: HashMap<&str, u64> = HashMap::new();
        for &(_, is_customer, i) in &order {
            let id = company.next_id;
            company.next_id += 1;
            if is_customer {
                let c = &data.customers[i];
                id_of.insert(c.list_id.as_str(), id);
                let parent_list_id =
                    new_parent.get(c.list_id.as_str()).copied().or(c.parent.as_ref().map(|(p, _)| p.as_str()));
                let parent = parent_list_id.and_then(|p| id_of.get(p).copied());
                let mut display_name = c.name.clone();
                let mut n = 2;
                while !taken.insert(display_name.to_lowercase()) {
                    display_name = format!("{} ({n})", c.name);
                    n += 1;
                }
                let parent_active = parent.and_then(|p| company.customers.get(&p)).is_none_or(|p| p.active);
                let rec = company.customer_from_sim(c, id, display_name, parent, parent_active);
                company.customers.insert(id, rec);
            } else {
                let e = &data.employees[i];
                taken.insert(e.name.to_lowercase());
                let rec = company.employee_from_sim(e, id);
                company.employees.insert(id, rec);
            }
        }
        company
    }

    fn addr_id(&mut self) -> String {
        let id = self.next_addr_id;
        self.next_addr_id += 1;
        id.to_string()
    }

    fn addr_from_sim(&mut self, a: &SimAddress, key: &str, care_of: Option<&str>) -> Addr {
        let h = mix(key, 7);
        let id = self.addr_id();
        let street_lines: Vec<String> = [&a.addr1, &a.addr2].into_iter().flatten().cloned().collect();
        let (lat, long) = match CITY_COORDINATES.iter().find(|(c, ..)| Some(*c) == a.city.as_deref()) {
            _ if h.is_multiple_of(10) => (Some("INVALID".to_string()), Some("INVALID".to_string())),
            Some((_, lat, long)) => {
                let jitter = |x: u64| ((x % 10_000) as f64 - 5000.0) / 100_000.0;
                (Some(format!("{:.7}", lat + jitter(h >> 8))), Some(format!("{:.7}", long + jitter(h >> 24))))
            }
            None => (None, None),
        };
        // About one billing address in eight is free-form: lines only, the city in a line.
        if let Some(name) = care_of.filter(|_| h % 8 == 3) {
            let city_line = format!(
                "{}, {}  {}",
                a.city.as_deref().unwrap_or_default(),
                a.state.as_deref().unwrap_or_default(),
                a.postal_code.as_deref().unwrap_or_default()
            );
            let mut lines = vec![name.to_string(), "Attn: Accounts Payable".to_string()];
            lines.extend(street_lines.into_iter().filter(|l| l != name));
            lines.push(city_line);
            let mut lines = lines.into_iter().take(5);
            return Addr {
                id,
                line1: lines.next(),
                line2: lines.next(),
                line3: lines.next(),
                line4: lines.next(),
                line5: lines.next(),
                ..Addr::default()
            };
        }
        let mut lines = street_lines.into_iter();
        Addr {
            id,
            line1: lines.next(),
            line2: lines.next(),
            city: a.city.clone(),
            country: a.country.clone(),
            country_sub_division_code: a.state.clone(),
            postal_code: a.postal_code.clone(),
            lat,
            long,
            ..Addr::default()
        }
    }

    fn customer_from_sim(
        &mut self,
        c: &crate::simulate::SimCustomer,
        id: u64,
        display_name: String,
        parent: Option<u64>,
        parent_active: bool,
    ) -> CustomerRec {
        let h = mix(&c.list_id, 1);
        let created_ms = qb_ms(&c.time_created);
        let updated_ms = qb_ms(&c.time_modified).max(created_ms);
        let bill_addr = c.bill.as_ref().map(|a| self.addr_from_sim(a, &c.list_id, Some(&c.name)));
        // The same address twice shares its Id, as in Intuit's answers.
        let ship_addr = match (&c.ship, &bill_addr) {
            (Some(ship), Some(bill)) if Some(ship) == c.bill.as_ref() => Some(bill.clone()),
            (Some(ship), _) => Some(self.addr_from_sim(ship, &format!("{}/ship", c.list_id), None)),
            (None, _) => None,
        };
        let is_business = c.company_name.is_some();
        let balance = match h % 10 {
            0..=5 => 0,
            6 => -(((h >> 12) % 20_000) as i64),
            7 => ((h >> 12) % 2000) as i64 * 100,
            _ => ((h >> 12) % 250_000) as i64,
        };
        CustomerRec {
            id,
            sync_token: if updated_ms > created_ms { 1 + (h >> 40) % 4 } else { 0 },
            created_ms,
            updated_ms,
            display_name,
            parent,
            title: None,
            given_name: c.first_name.clone(),
            family_name: c.last_name.clone(),
            company_name: c.company_name.clone(),
            print_on_check_name: Some(c.company_name.clone().unwrap_or_else(|| c.name.clone())),
            active: c.is_active && parent_active,
            bill_with_parent: parent.is_some() && (h >> 4).is_multiple_of(3),
            taxable: Some((h >> 6).is_multiple_of(4)),
            preferred_delivery_method: Some(if c.email.is_some() && (h >> 7).is_multiple_of(2) {
                "Email"
            } else {
                "Print"
            }),
            bill_addr,
            ship_addr,
            primary_phone: c.phone.clone(),
            mobile: ((h >> 9).is_multiple_of(3)).then(|| phone_like(c.phone.as_deref(), h >> 20)),
            alternate_phone: ((h >> 11).is_multiple_of(17)).then(|| phone_like(c.phone.as_deref(), h >> 28)),
            fax: (is_business && (h >> 13).is_multiple_of(6)).then(|| phone_like(c.phone.as_deref(), h >> 36)),
            email: c.email.clone(),
            web_addr: None,
            notes: c.notes.clone(),
            balance: Money(balance),
            pseudonym: format!("002098{:016x}{:016x}", mix(&c.list_id, 2), mix(&c.list_id, 3)),
        }
    }

    fn employee_from_sim(&mut self, e: &crate::simulate::SimEmployee, id: u64) -> EmployeeRec {
        let h = mix(&e.list_id, 4);
        let created_ms = qb_ms(&e.time_created);
        let updated_ms = qb_ms(&e.time_modified).max(created_ms);
        let primary_addr = e.address.as_ref().map(|a| self.addr_from_sim(a, &e.list_id, None));
        let birth_year = 1958 + (h % 45);
        EmployeeRec {
            id,
            sync_token: if updated_ms > created_ms { 1 + (h >> 40) % 3 } else { 0 },
            created_ms,
            updated_ms,
            display_name: e.name.clone(),
            given_name: e.first_name.clone(),
            family_name: e.last_name.clone(),
            print_on_check_name: Some(e.name.clone()),
            active: e.is_active,
            primary_addr,
            primary_phone: e.phone.clone(),
            mobile: e.mobile.clone(),
            email: e.email.clone(),
            ssn_on_file: (h >> 8) % 10 < 7,
            employee_number: ((h >> 12).is_multiple_of(2)).then(|| format!("E{:04}", 100 + id)),
            gender: match (h >> 14) % 5 {
                0 => Some("Male"),
                1 => Some("Female"),
                _ => None,
            },
            billable_time: (h >> 17).is_multiple_of(4),
            bill_rate: ((h >> 17).is_multiple_of(4)).then_some(Money(2500 + ((h >> 20) % 40) as i64 * 125)),
            birth_date: (!(h >> 24).is_multiple_of(3))
                .then(|| format!("{birth_year:04}-{:02}-{:02}", 1 + (h >> 30) % 12, 1 + (h >> 36) % 28)),
            hired_date: e.hired_date.clone(),
            released_date: e.released_date.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading

impl Company {
    /// Number of customers (deleted ones excluded).
    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    /// Number of employees (deleted ones excluded).
    pub fn employee_count(&self) -> usize {
        self.employees.len()
    }

    /// A customer's stored record.
    pub fn customer(&self, id: u64) -> Option<&CustomerRec> {
        self.customers.get(&id)
    }

    /// An employee's stored record.
    pub fn employee(&self, id: u64) -> Option<&EmployeeRec> {
        self.employees.get(&id)
    }

    /// Ids of the customers, in Id order.
    pub fn customer_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.customers.keys().copied()
    }

    /// Everything rendering needs beyond the record itself, computed once.
    pub fn render_ctx(&self) -> RenderCtx {
        let mut with_jobs: HashMap<u64, i64> = HashMap::with_capacity(self.customers.len());
        for c in self.customers.values() {
            *with_jobs.entry(c.id).or_default() += c.balance.0;
            let mut up = c.parent;
            let mut guard = 0;
            while let Some(p) = up
                && guard <= MAX_LEVEL
            {
                *with_jobs.entry(p).or_default() += c.balance.0;
                up = self.customers.get(&p).and_then(|p| p.parent);
                guard += 1;
            }
        }
        RenderCtx { with_jobs }
    }

    /// `Parent:Job:Sub-job` and the level (0 for a top-level customer).
    fn lineage(&self, c: &CustomerRec) -> (String, u32) {
        let mut names = vec![c.display_name.as_str()];
        let mut up = c.parent;
        while let Some(p) = up.and_then(|p| self.customers.get(&p))
            && names.len() <= MAX_LEVEL as usize
        {
            names.push(&p.display_name);
            up = p.parent;
        }
        let level = names.len() as u32 - 1;
        names.reverse();
        (names.join(":"), level)
    }

    /// The full name a customer is listed under.
    pub fn fully_qualified_name(&self, id: u64) -> Option<String> {
        self.customers.get(&id).map(|c| self.lineage(c).0)
    }

    /// A customer as Intuit writes it.
    pub fn customer_json<'a>(&'a self, c: &'a CustomerRec, ctx: &RenderCtx) -> CustomerJson<'a> {
        let (fully_qualified_name, level) = self.lineage(c);
        CustomerJson {
            taxable: c.taxable,
            bill_addr: c.bill_addr.as_ref(),
            ship_addr: c.ship_addr.as_ref(),
            notes: c.notes.as_deref(),
            job: c.parent.is_some(),
            bill_with_parent: c.bill_with_parent,
            parent_ref: c.parent.map(|p| Ref { value: p.to_string() }),
            level: (level > 0).then_some(level),
            balance: c.balance,
            balance_with_jobs: Money(ctx.with_jobs.get(&c.id).copied().unwrap_or(c.balance.0)),
            currency_ref: CurrencyRef { value: "USD", name: "United States Dollar" },
            preferred_delivery_method: c.preferred_delivery_method,
            is_project: false,
            client_entity_id: "0",
            domain: "QBO",
            sparse: false,
            id: c.id.to_string(),
            sync_token: c.sync_token.to_string(),
            meta_data: MetaData {
                create_time: Some(clock::format_time(c.created_ms)),
                last_updated_time: clock::format_time(c.updated_ms),
            },
            title: c.title.as_deref(),
            given_name: c.given_name.as_deref(),
            family_name: c.family_name.as_deref(),
            fully_qualified_name,
            company_name: c.company_name.as_deref(),
            display_name: &c.display_name,
            print_on_check_name: c.print_on_check_name.as_deref(),
            active: c.active,
            v4id_pseudonym: &c.pseudonym,
            primary_phone: phone(&c.primary_phone),
            mobile: phone(&c.mobile),
            alternate_phone: phone(&c.alternate_phone),
            fax: phone(&c.fax),
            primary_email_addr: c.email.as_deref().map(|a| Email { address: a }),
            web_addr: c.web_addr.as_deref().map(|u| Web { uri: u }),
        }
    }

    /// An employee as Intuit writes it.
    pub fn employee_json<'a>(&'a self, e: &'a EmployeeRec) -> EmployeeJson<'a> {
        EmployeeJson {
            ssn: e.ssn_on_file.then_some("XXX-XX-XXXX"),
            primary_addr: e.primary_addr.as_ref(),
            employee_number: e.employee_number.as_deref(),
            billable_time: e.billable_time,
            bill_rate: e.bill_rate,
            birth_date: e.birth_date.as_deref(),
            gender: e.gender,
            hired_date: e.hired_date.as_deref(),
            released_date: e.released_date.as_deref(),
            domain: "QBO",
            sparse: false,
            id: e.id.to_string(),
            sync_token: e.sync_token.to_string(),
            meta_data: MetaData {
                create_time: Some(clock::format_time(e.created_ms)),
                last_updated_time: clock::format_time(e.updated_ms),
            },
            given_name: e.given_name.as_deref(),
            family_name: e.family_name.as_deref(),
            display_name: &e.display_name,
            print_on_check_name: e.print_on_check_name.as_deref(),
            active: e.active,
            primary_phone: phone(&e.primary_phone),
            mobile: phone(&e.mobile),
            primary_email_addr: e.email.as_deref().map(|a| Email { address: a }),
        }
    }

    /// Answers a parsed query.
    pub fn query<'a>(&'a self, q: &Query, ctx: &RenderCtx) -> QueryAnswer<'a> {
        let active = q.active_filter();
        let mut ids: Option<HashSet<u64>> = None;
        let mut times = Vec::new();
        for condition in &q.conditions {
            match condition {
                Condition::Id(list) => {
                    let wanted: HashSet<u64> = list.iter().filter_map(|s| s.parse().ok()).collect();
                    ids = Some(match ids {
                        Some(prev) => prev.intersection(&wanted).copied().collect(),
                        None => wanted,
                    });
                }
                Condition::LastUpdated(cmp, at) => times.push((*cmp, *at)),
                Condition::Active(_) => {}
            }
        }
        let keep = |id: u64, is_active: bool, updated_ms: i64| {
            active.is_none_or(|a| a == is_active)
                && ids.as_ref().is_none_or(|ids| ids.contains(&id))
                && times.iter().all(|(cmp, at)| cmp.holds(updated_ms, *at))
        };
        let window = |n: usize| (q.start_position - 1).min(n)..(q.start_position - 1 + q.max_results).min(n);
        match q.entity {
            Entity::Customer => {
                let mut found: Vec<&CustomerRec> =
                    self.customers.values().filter(|c| keep(c.id, c.active, c.updated_ms)).collect();
                if q.selection == Selection::Count {
                    return QueryAnswer::Count(found.len());
                }
                match q.order {
                    Some((OrderField::Id, _)) => {}
                    Some((OrderField::LastUpdatedTime, _)) => found.sort_by_key(|c| (c.updated_ms, c.id)),
                    Some((OrderField::DisplayName, _)) => {
                        found.sort_by_cached_key(|c| (c.display_name.to_lowercase(), c.id))
                    }
                    Some((OrderField::FullyQualifiedName, _)) | None => {
                        found.sort_by_cached_key(|c| (self.lineage(c).0.to_lowercase(), c.id))
                    }
                }
                if matches!(q.order, Some((_, true))) {
                    found.reverse();
                }
                let range = window(found.len());
                let rows = found[range].iter().map(|c| self.customer_json(c, ctx)).collect();
                QueryAnswer::Page { rows: Rows::Customers(rows), start_position: q.start_position }
            }
            Entity::Employee => {
                let mut found: Vec<&EmployeeRec> =
                    self.employees.values().filter(|e| keep(e.id, e.active, e.updated_ms)).collect();
                if q.selection == Selection::Count {
                    return QueryAnswer::Count(found.len());
                }
                match q.order {
                    Some((OrderField::Id, _)) => {}
                    Some((OrderField::LastUpdatedTime, _)) => found.sort_by_key(|e| (e.updated_ms, e.id)),
                    Some(_) | None => found.sort_by_cached_key(|e| (e.display_name.to_lowercase(), e.id)),
                }
                if matches!(q.order, Some((_, true))) {
                    found.reverse();
                }
                let range = window(found.len());
                let rows = found[range].iter().map(|e| self.employee_json(e)).collect();
                QueryAnswer::Page { rows: Rows::Employees(rows), start_position: q.start_position }
            }
        }
    }

    /// What changed at or after `since_ms` in the given entities, oldest change first, at most
    /// `cap` rows in all: per entity, its rows (full records, or deleted stubs).
    pub fn changes<'a>(&'a self, entities: &[Entity], since_ms: i64, cap: usize, ctx: &RenderCtx) -> Changes<'a> {
        let mut found: Vec<(i64, Entity, u64, bool)> = Vec::new();
        for &entity in entities {
            match entity {
                Entity::Customer => found.extend(
                    self.customers
                        .values()
                        .filter(|c| c.updated_ms >= since_ms)
                        .map(|c| (c.updated_ms, entity, c.id, false)),
                ),
                Entity::Employee => found.extend(
                    self.employees
                        .values()
                        .filter(|e| e.updated_ms >= since_ms)
                        .map(|e| (e.updated_ms, entity, e.id, false)),
                ),
            }
            found.extend(
                self.tombstones
                    .iter()
                    .filter(|t| t.entity == entity && t.deleted_ms >= since_ms)
                    .map(|t| (t.deleted_ms, entity, t.id, true)),
            );
        }
        found.sort();
        let capped = found.len() > cap;
        found.truncate(cap);
        let mut by_entity: BTreeMap<Entity, Vec<CdcRow<'a>>> = entities.iter().map(|e| (*e, Vec::new())).collect();
        for (at, entity, id, deleted) in found {
            let row = if deleted {
                CdcRow::Deleted(DeletedJson {
                    id: id.to_string(),
                    status: "Deleted",
                    domain: "QBO",
                    meta_data: MetaData { create_time: None, last_updated_time: clock::format_time(at) },
                })
            } else {
                match entity {
                    Entity::Customer => CdcRow::Customer(self.customer_json(&self.customers[&id], ctx)),
                    Entity::Employee => CdcRow::Employee(self.employee_json(&self.employees[&id])),
                }
            };
            by_entity.entry(entity).or_default().push(row);
        }
        Changes { by_entity, capped }
    }
}

/// A CDC answer before it is wrapped.
pub struct Changes<'a> {
    /// Rows per requested entity (possibly none).
    pub by_entity: BTreeMap<Entity, Vec<CdcRow<'a>>>,
    /// Whether more changed than were returned.
    pub capped: bool,
}

// ---------------------------------------------------------------------------------------
// Changes: each bumps the record's SyncToken and LastUpdatedTime, so CDC and
// `MetaData.LastUpdatedTime` queries see it.

/// Checks a display name the way Intuit does: not empty, at most 500 characters, and none of
/// `:`, tab or newline (the colon separates levels of a full name).
fn check_name(name: &str) -> Result<String, CompanyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CompanyError::Invalid("DisplayName is required".into()));
    }
    if name.chars().count() > 500 {
        return Err(CompanyError::Invalid("DisplayName is longer than 500 characters".into()));
    }
    if name.contains([':', '\t', '\n', '\r']) {
        return Err(CompanyError::Invalid("DisplayName cannot contain a colon, tab or line break".into()));
    }
    Ok(name.to_string())
}

fn touch(sync_token: &mut u64, updated_ms: &mut i64, now_ms: i64) {
    *sync_token += 1;
    *updated_ms = now_ms.max(*updated_ms);
}

impl Company {
    fn name_taken(&self, name: &str, except: Option<u64>) -> bool {
        let lower = name.to_lowercase();
        self.customers.values().any(|c| Some(c.id) != except && c.display_name.to_lowercase() == lower)
            || self.employees.values().any(|e| Some(e.id) != except && e.display_name.to_lowercase() == lower)
    }

    fn customer_exists(&self, id: u64) -> Result<&CustomerRec, CompanyError> {
        self.customers.get(&id).ok_or_else(|| CompanyError::NotFound("Customer", id.to_string()))
    }

    /// The customer's jobs, their jobs, and so on (not the customer itself).
    fn descendants(&self, id: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut frontier = vec![id];
        while let Some(p) = frontier.pop() {
            for c in self.customers.values().filter(|c| c.parent == Some(p)) {
                out.push(c.id);
                frontier.push(c.id);
            }
        }
        out.sort_unstable();
        out
    }

    /// A new customer, or a job of `parent` that takes over its parent's company, contact,
    /// billing address, phone and e-mail, as QuickBooks fills a new sub-customer. Returns its Id.
    pub fn add_customer(&mut self, display_name: &str, parent: Option<u64>, now_ms: i64) -> Result<u64, CompanyError> {
        let display_name = check_name(display_name)?;
        if self.name_taken(&display_name, None) {
            return Err(CompanyError::DuplicateName(display_name));
        }
        let template = match parent {
            Some(p) => {
                let parent = self.customer_exists(p)?;
                if !parent.active {
                    return Err(CompanyError::Invalid(format!("the parent customer {p} is inactive")));
                }
                if self.lineage(parent).1 + 1 > MAX_LEVEL {
                    return Err(CompanyError::Invalid(format!("sub-customers nest at most {MAX_LEVEL} levels")));
                }
                Some(parent.clone())
            }
            None => None,
        };
        let id = self.next_id;
        self.next_id += 1;
        let bill_addr = match template.as_ref().and_then(|t| t.bill_addr.clone()) {
            Some(mut addr) => {
                addr.id = self.addr_id();
                Some(addr)
            }
            None => None,
        };
        let t = template.as_ref();
        let rec = CustomerRec {
            id,
            sync_token: 0,
            created_ms: now_ms,
            updated_ms: now_ms,
            print_on_check_name: Some(t.and_then(|t| t.print_on_check_name.clone()).unwrap_or(display_name.clone())),
            display_name,
            parent,
            title: None,
            given_name: t.and_then(|t| t.given_name.clone()),
            family_name: t.and_then(|t| t.family_name.clone()),
            company_name: t.and_then(|t| t.company_name.clone()),
            active: true,
            bill_with_parent: false,
            taxable: Some(false),
            preferred_delivery_method: Some("Print"),
            bill_addr,
            ship_addr: None,
            primary_phone: t.and_then(|t| t.primary_phone.clone()),
            mobile: None,
            alternate_phone: None,
            fax: None,
            email: t.and_then(|t| t.email.clone()),
            web_addr: None,
            notes: None,
            balance: Money(0),
            pseudonym: format!("002098{:016x}{:016x}", mix(&id.to_string(), now_ms as u64), mix("new", id)),
        };
        self.customers.insert(id, rec);
        Ok(id)
    }

    /// Renames a customer. Its jobs' full names change with it, so they are updated too (as
    /// Intuit does). Returns the Ids changed: the customer, then its descendants.
    pub fn rename_customer(&mut self, id: u64, display_name: &str, now_ms: i64) -> Result<Vec<u64>, CompanyError> {
        let display_name = check_name(display_name)?;
        self.customer_exists(id)?;
        if self.name_taken(&display_name, Some(id)) {
            return Err(CompanyError::DuplicateName(display_name));
        }
        let mut changed = vec![id];
        changed.extend(self.descendants(id));
        for &cid in &changed {
            let c = self.customers.get_mut(&cid).expect("listed above");
            if cid == id {
                c.display_name = display_name.clone();
            }
            touch(&mut c.sync_token, &mut c.updated_ms, now_ms);
        }
        Ok(changed)
    }

    /// Makes a customer active or inactive. Making one inactive makes its active jobs inactive
    /// too; making one active touches it alone. Returns the Ids changed (none if nothing did).
    pub fn set_customer_active(&mut self, id: u64, active: bool, now_ms: i64) -> Result<Vec<u64>, CompanyError> {
        self.customer_exists(id)?;
        let mut candidates = vec![id];
        if !active {
            candidates.extend(self.descendants(id));
        }
        let mut changed = Vec::new();
        for cid in candidates {
            let c = self.customers.get_mut(&cid).expect("listed above");
            if c.active != active {
                c.active = active;
                touch(&mut c.sync_token, &mut c.updated_ms, now_ms);
                changed.push(cid);
            }
        }
        Ok(changed)
    }

    /// Deletes a customer and its jobs (as a merge into another customer does: they leave
    /// every query, and CDC reports them `Deleted`). Returns the Ids deleted.
    pub fn delete_customer(&mut self, id: u64, now_ms: i64) -> Result<Vec<u64>, CompanyError> {
        self.customer_exists(id)?;
        let mut gone = vec![id];
        gone.extend(self.descendants(id));
        for &cid in &gone {
            self.customers.remove(&cid);
            self.tombstones.push(Tombstone { entity: Entity::Customer, id: cid, deleted_ms: now_ms });
        }
        Ok(gone)
    }

    /// A new employee; the name is split into GivenName and FamilyName at its last space.
    pub fn add_employee(&mut self, display_name: &str, now_ms: i64) -> Result<u64, CompanyError> {
        let display_name = check_name(display_name)?;
        if self.name_taken(&display_name, None) {
            return Err(CompanyError::DuplicateName(display_name));
        }
        let (given, family) = match display_name.rsplit_once(' ') {
            Some((g, f)) => (Some(g.trim().to_string()), Some(f.to_string())),
            None => (Some(display_name.clone()), None),
        };
        let id = self.next_id;
        self.next_id += 1;
        self.employees.insert(
            id,
            EmployeeRec {
                id,
                sync_token: 0,
                created_ms: now_ms,
                updated_ms: now_ms,
                print_on_check_name: Some(display_name.clone()),
                display_name,
                given_name: given,
                family_name: family,
                active: true,
                primary_addr: None,
                primary_phone: None,
                mobile: None,
                email: None,
                ssn_on_file: false,
                employee_number: None,
                gender: None,
                billable_time: false,
                bill_rate: None,
                birth_date: None,
                hired_date: Some(clock::format_time(now_ms)[..10].to_string()),
                released_date: None,
            },
        );
        Ok(id)
    }

    /// Makes an employee active or inactive (how QuickBooks "deletes" employees). Returns
    /// whether anything changed.
    pub fn set_employee_active(&mut self, id: u64, active: bool, now_ms: i64) -> Result<bool, CompanyError> {
        let e = self.employees.get_mut(&id).ok_or_else(|| CompanyError::NotFound("Employee", id.to_string()))?;
        if e.active == active {
            return Ok(false);
        }
        e.active = active;
        touch(&mut e.sync_token, &mut e.updated_ms, now_ms);
        Ok(true)
    }

    /// Deletes an employee: gone from queries, `Deleted` in CDC.
    pub fn delete_employee(&mut self, id: u64, now_ms: i64) -> Result<(), CompanyError> {
        self.employees.remove(&id).ok_or_else(|| CompanyError::NotFound("Employee", id.to_string()))?;
        self.tombstones.push(Tombstone { entity: Entity::Employee, id, deleted_ms: now_ms });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::online::query::parse;
    use crate::simulate::{SimCustomer, SimEmployee};

    fn address(addr1: &str, addr2: Option<&str>, city: &str, state: &str, zip: &str) -> SimAddress {
        SimAddress {
            addr1: Some(addr1.into()),
            addr2: addr2.map(Into::into),
            city: Some(city.into()),
            state: Some(state.into()),
            postal_code: Some(zip.into()),
            country: None,
        }
    }

    fn customer(list_id: &str, name: &str, parent: Option<&SimCustomer>, created: &str) -> SimCustomer {
        SimCustomer {
            list_id: list_id.into(),
            edit_sequence: 1,
            time_created: created.into(),
            time_modified: created.into(),
            name: name.into(),
            full_name: parent.map(|p| format!("{}:{name}", p.full_name)).unwrap_or(name.into()),
            parent: parent.map(|p| (p.list_id.clone(), p.full_name.clone())),
            sublevel: u32::from(parent.is_some()),
            is_active: true,
            company_name: None,
            first_name: None,
            last_name: None,
            bill: None,
            ship: None,
            phone: None,
            email: None,
            notes: None,
            job_status: None,
        }
    }

    /// A business with three jobs (the third nests under the second), a person, an employee.
    fn small_dataset() -> Dataset {
        let mut freeman = customer("80000001-1", "Freeman Sporting Goods", None, "2024-01-10T09:00:00-05:00");
        freeman.company_name = Some("Freeman Sporting Goods".into());
        freeman.first_name = Some("Kirby".into());
        freeman.last_name = Some("Freeman".into());
        freeman.bill = Some(address("370 Easy St.", None, "Austin", "TX", "78701"));
        freeman.ship = freeman.bill.clone();
        freeman.phone = Some("(512) 555-0987".into());
        freeman.email = Some("office@freeman.example".into());
        freeman.time_modified = "2024-07-02T10:30:00-05:00".into();
        let mut ocean = customer("80000002-2", "0969 Ocean View Road", Some(&freeman), "2024-01-11T09:00:00-05:00");
        ocean.company_name = freeman.company_name.clone();
        ocean.ship = Some(address("0969 Ocean View Road", Some("Suite 200"), "Tempe", "AZ", "85281"));
        let mut twin = customer("80000003-3", "Lobby & Restrooms", Some(&freeman), "2024-01-12T09:00:00-05:00");
        twin.notes = Some("Gate code #4471".into());
        let wing = customer("80000004-4", "Clinic Wing", Some(&freeman), "2024-01-13T09:00:00-05:00");
        let mut jose = customer("80000005-11", "Núñez, José", None, "2024-02-01T09:00:00-05:00");
        jose.first_name = Some("José".into());
        jose.last_name = Some("Núñez".into());
        jose.is_active = false;
        jose.bill = Some(address("Núñez, José", Some("12 Rue Café"), "Portland", "OR", "97201"));
        let zoe = SimEmployee {
            list_id: "80000006-6".into(),
            edit_sequence: 1,
            time_created: "2024-03-01T09:00:00-05:00".into(),
            time_modified: "2024-03-01T09:00:00-05:00".into(),
            name: "Zoë Müller".into(),
            first_name: Some("Zoë".into()),
            last_name: Some("Müller".into()),
            is_active: true,
            address: Some(address("45 N. Elm Street", None, "Seattle", "WA", "98101")),
            phone: Some("206-555-1234".into()),
            mobile: None,
            email: Some("zoe.muller@example.com".into()),
            employee_type: Some("Regular".into()),
            hired_date: Some("2024-02-20".into()),
            released_date: None,
            ssn: "123-45-6789".into(),
        };
        Dataset {
            customers: vec![freeman, ocean, twin, wing, jose],
            employees: vec![zoe],
            company_name: "Sparkle Commercial Cleaning".into(),
            deleted: Vec::new(),
        }
    }

    fn page_json(company: &Company, statement: &str) -> serde_json::Value {
        let ctx = company.render_ctx();
        match company.query(&parse(statement).unwrap(), &ctx) {
            QueryAnswer::Page { rows, .. } => serde_json::to_value(rows).unwrap(),
            QueryAnswer::Count(n) => serde_json::json!(n),
        }
    }

    /// Walks a JSON value and fails on any `null`: Intuit omits absent fields.
    fn assert_no_nulls(value: &serde_json::Value, path: &str) {
        match value {
            serde_json::Value::Null => panic!("null at {path}"),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, v)| assert_no_nulls(v, &format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| assert_no_nulls(v, &format!("{path}.{k}"))),
            _ => {}
        }
    }

    #[test]
    fn records_render_as_the_fixture_modelled_on_intuits_samples() {
        let company = Company::from_dataset(&small_dataset(), "Sparkle Commercial Cleaning");
        let customers = page_json(&company, "SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id");
        let employees = page_json(&company, "SELECT * FROM Employee WHERE Active IN (true,false) ORDERBY Id");
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../../qbxml-fixtures/qbo/handwritten.small-company.json")).unwrap();
        assert_eq!(customers, fixture["Customer"], "{}", serde_json::to_string_pretty(&customers).unwrap());
        assert_eq!(employees, fixture["Employee"], "{}", serde_json::to_string_pretty(&employees).unwrap());
    }

    #[test]
    fn hierarchy_names_levels_and_balances_follow_the_parent_chain() {
        let company = Company::from_dataset(&small_dataset(), "x");
        let customers = page_json(&company, "SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id");
        let by_id = |id: &str| customers.as_array().unwrap().iter().find(|c| c["Id"] == id).unwrap().clone();
        assert_eq!(by_id("1").get("Level"), None, "a top-level customer has no Level");
        assert_eq!(by_id("1")["Job"], false);
        assert_eq!(by_id("2")["Level"], 1);
        assert_eq!(by_id("2")["ParentRef"], serde_json::json!({"value": "1"}));
        assert_eq!(by_id("4")["Level"], 2, "the third job nests under the second");
        assert_eq!(by_id("4")["ParentRef"]["value"], "3");
        assert_eq!(by_id("4")["FullyQualifiedName"], "Freeman Sporting Goods:Lobby & Restrooms:Clinic Wing");
        assert_eq!(by_id("4")["DisplayName"], "Clinic Wing");
        let cents = |v: &serde_json::Value| (v.as_f64().unwrap() * 100.0).round() as i64;
        let sum: i64 = ["1", "2", "3", "4"].iter().map(|id| cents(&by_id(id)["Balance"])).sum();
        assert_eq!(cents(&by_id("1")["BalanceWithJobs"]), sum);
        assert_eq!(
            cents(&by_id("3")["BalanceWithJobs"]),
            cents(&by_id("3")["Balance"]) + cents(&by_id("4")["Balance"])
        );
    }

    #[test]
    fn a_generated_company_has_what_the_product_must_handle() {
        let data = Dataset::generate(11, 2500, 40);
        let company = Company::from_dataset(&data, &data.company_name);
        assert_eq!((company.customer_count(), company.employee_count()), (2500, 40));
        let customers =
            page_json(&company, "SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id MAXRESULTS 1000");
        let all: Vec<serde_json::Value> = (0..3)
            .flat_map(|page| {
                let statement = format!(
                    "SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id STARTPOSITION {} MAXRESULTS 1000",
                    page * 1000 + 1
                );
                page_json(&company, &statement).as_array().unwrap().clone()
            })
            .collect();
        assert_eq!(customers.as_array().unwrap()[..], all[..1000]);
        assert_eq!(all.len(), 2500);
        assert_no_nulls(&serde_json::Value::Array(all.clone()), "customers");
        let count = |f: &dyn Fn(&serde_json::Value) -> bool| all.iter().filter(|c| f(c)).count();
        assert!(count(&|c| c["Level"] == 2) > 0, "nested jobs");
        assert!(count(&|c| c["Level"] == 1) > 100, "jobs");
        assert!(count(&|c| c["Active"] == false) > 50, "inactive customers");
        assert!(count(&|c| !c["DisplayName"].as_str().unwrap().is_ascii()) > 20, "non-ASCII names");
        assert!(count(&|c| c["BillAddr"].get("Line5").is_some()) > 0, "free-form addresses use Line5");
        assert!(count(&|c| c["BillAddr"]["Lat"] == "INVALID") > 0);
        assert!(count(&|c| c.get("Mobile").is_some()) > 0 && count(&|c| c.get("Fax").is_some()) > 0);
        // Ids ascend, DisplayName is unique across names, and every full name is its parent's
        // full name plus its own DisplayName.
        let ids: Vec<u64> = all.iter().map(|c| c["Id"].as_str().unwrap().parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let mut names: HashSet<String> = HashSet::new();
        for c in &all {
            assert!(names.insert(c["DisplayName"].as_str().unwrap().to_lowercase()), "duplicate {}", c["DisplayName"]);
            assert!(c["Level"].is_u64() || c.get("Level").is_none());
            if let Some(parent) = c.get("ParentRef") {
                let p = all.iter().find(|p| p["Id"] == parent["value"]).expect("the parent exists");
                let fqn =
                    format!("{}:{}", p["FullyQualifiedName"].as_str().unwrap(), c["DisplayName"].as_str().unwrap());
                assert_eq!(c["FullyQualifiedName"], fqn.as_str());
                assert_eq!(c["Level"].as_u64().unwrap(), p.get("Level").and_then(|l| l.as_u64()).unwrap_or(0) + 1);
                assert!(p["Active"] == true || c["Active"] == false, "an inactive customer's jobs are inactive");
            }
        }
        let employees = page_json(&company, "SELECT * FROM Employee WHERE Active IN (true,false) ORDERBY Id");
        let employees = employees.as_array().unwrap();
        assert_no_nulls(&serde_json::Value::Array(employees.clone()), "employees");
        assert!(employees.iter().all(|e| e.get("SSN").is_none_or(|s| s == "XXX-XX-XXXX")));
        assert!(
            employees.iter().any(|e| e.get("SSN").is_some()) && employees.iter().any(|e| e.get("BirthDate").is_some())
        );
        for e in employees {
            assert!(
                !names.contains(&e["DisplayName"].as_str().unwrap().to_lowercase()),
                "names are unique across lists"
            );
        }
    }

    #[test]
    fn a_plain_query_is_active_only_in_name_order_and_counts_work() {
        let data = Dataset::generate(3, 300, 10);
        let company = Company::from_dataset(&data, "x");
        let page = page_json(&company, "SELECT * FROM Customer");
        let rows = page.as_array().unwrap();
        assert_eq!(rows.len(), 100, "MAXRESULTS defaults to 100");
        assert!(rows.iter().all(|c| c["Active"] == true));
        let names: Vec<String> =
            rows.iter().map(|c| c["FullyQualifiedName"].as_str().unwrap().to_lowercase()).collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "Intuit's own order is by name");
        let active = data.customers.iter().filter(|c| c.is_active).count();
        assert!(active < 300);
        // An inactive parent makes its jobs inactive, so count the company's own view.
        let all = page_json(&company, "SELECT count(*) FROM Customer WHERE Active IN (true,false)");
        assert_eq!(all, 300);
        let inactive = page_json(&company, "SELECT count(*) FROM Customer WHERE Active = false");
        let active = page_json(&company, "SELECT count(*) FROM Customer");
        assert_eq!(inactive.as_u64().unwrap() + active.as_u64().unwrap(), 300);
        let one = page_json(&company, "SELECT * FROM Customer WHERE Id = '5'");
        assert_eq!(one.as_array().unwrap().len(), 1);
        assert_eq!(one[0]["Id"], "5");
    }

    #[test]
    fn changes_bump_sync_tokens_and_show_in_change_data_capture() {
        let mut company = Company::from_dataset(&small_dataset(), "x");
        let t0 = 1_784_116_800_000;
        let ctx = company.render_ctx();
        assert!(
            company
                .changes(&[Entity::Customer, Entity::Employee], t0, 1000, &ctx)
                .by_entity
                .values()
                .all(Vec::is_empty)
        );
        assert_eq!(company.rename_customer(1, "Freeman Sports", t0 + 1), Ok(vec![1, 2, 3, 4]));
        assert_eq!(company.fully_qualified_name(4).unwrap(), "Freeman Sports:Lobby & Restrooms:Clinic Wing");
        assert_eq!(company.customer(4).unwrap().sync_token, 1);
        assert_eq!(
            company.rename_customer(2, "Zoë Müller", t0 + 2),
            Err(CompanyError::DuplicateName("Zoë Müller".into())),
            "DisplayName is unique across customers and employees"
        );
        assert_eq!(company.set_customer_active(3, false, t0 + 3), Ok(vec![3, 4]), "its job goes inactive too");
        assert_eq!(company.set_customer_active(3, false, t0 + 3), Ok(vec![]));
        let new = company.add_customer("Suite 300", Some(2), t0 + 4).unwrap();
        assert_eq!(new, 7, "Ids continue the one sequence");
        assert_eq!(company.customer(new).unwrap().company_name.as_deref(), Some("Freeman Sporting Goods"));
        assert!(matches!(company.add_customer("Nope", Some(3), t0), Err(CompanyError::Invalid(_))), "inactive parent");
        assert!(matches!(company.add_customer("Bad: name", None, t0), Err(CompanyError::Invalid(_))));
        assert_eq!(company.delete_customer(2, t0 + 5), Ok(vec![2, 7]));
        assert!(company.customer(7).is_none());
        assert_eq!(company.delete_employee(6, t0 + 6), Ok(()));
        assert_eq!(company.delete_employee(6, t0 + 6), Err(CompanyError::NotFound("Employee", "6".into())));

        let ctx = company.render_ctx();
        let changes = company.changes(&[Entity::Customer, Entity::Employee], t0, 1000, &ctx);
        let customers = serde_json::to_value(&changes.by_entity[&Entity::Customer]).unwrap();
        let ids: Vec<&str> = customers.as_array().unwrap().iter().map(|c| c["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["1", "3", "4", "2", "7"], "oldest change first");
        assert_eq!(
            customers[3],
            serde_json::json!({"Id": "2", "status": "Deleted", "domain": "QBO",
            "MetaData": {"LastUpdatedTime": clock::format_time(t0 + 5)}})
        );
        assert_eq!(customers[1]["Active"], false);
        assert_eq!(customers[1]["MetaData"]["LastUpdatedTime"], clock::format_time(t0 + 3));
        let employees = serde_json::to_value(&changes.by_entity[&Entity::Employee]).unwrap();
        assert_eq!(employees[0]["status"], "Deleted");
        assert!(!changes.capped);
        let capped = company.changes(&[Entity::Customer, Entity::Employee], t0, 2, &ctx);
        assert!(capped.capped);
        assert_eq!(capped.by_entity.values().map(Vec::len).sum::<usize>(), 2);
        let later = company.changes(&[Entity::Customer], t0 + 5, 1000, &ctx);
        assert_eq!(later.by_entity[&Entity::Customer].len(), 2, "only what changed at or after the time");
    }
}

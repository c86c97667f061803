//! The records qbsync stages: one definition per kind of QuickBooks record.
//!
//! A [`Customer`] or an [`Employee`] is what qbsync keeps of a QuickBooks list entry, whichever
//! QuickBooks it came from: the qbXML reader builds them from `CustomerRet` / `EmployeeRet`, and a
//! QuickBooks Online client would build them from its JSON. The field names are the API's, the
//! staging tables hold them (see `store::staging`), and the OpenAPI schemas are derived from these
//! types, so the three cannot drift apart.
//!
//! Each record is split in two on purpose. The top-level fields are what reads filter, sort and
//! join on, and what staging compares (the source's id and version marker): the staging table has
//! a column for each. Everything else is in `details`, stored as one JSON document: it is only
//! ever read whole, and a new field needs no migration.
//!
//! Text values are exactly what QuickBooks sent, after the XML rules only (CR LF read as LF,
//! character references resolved): never trimmed, since a `FullName` is the key QuickBooks itself
//! uses in references and must go back byte for byte.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A postal address: `BillAddress`, `ShipAddress` or `EmployeeAddress` (Online: `BillAddr`,
/// `ShipAddr`, `PrimaryAddr`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(as = QbAddress)]
pub struct Address {
    /// `Addr1` (Online: `Line1`).
    pub line1: Option<String>,
    /// `Addr2`.
    pub line2: Option<String>,
    /// `Addr3`.
    pub line3: Option<String>,
    /// `Addr4`.
    pub line4: Option<String>,
    /// `Addr5`.
    pub line5: Option<String>,
    /// `City`.
    pub city: Option<String>,
    /// `State` (Online: `CountrySubDivisionCode`).
    pub state: Option<String>,
    /// `PostalCode`.
    pub postal_code: Option<String>,
    /// `Country`.
    pub country: Option<String>,
    /// `Note`.
    pub note: Option<String>,
}

impl Address {
    /// True when no part of the address is set.
    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(|part| part.is_none())
    }

    /// Every part, in the order above.
    pub fn parts(&self) -> [&Option<String>; 10] {
        [
            &self.line1,
            &self.line2,
            &self.line3,
            &self.line4,
            &self.line5,
            &self.city,
            &self.state,
            &self.postal_code,
            &self.country,
            &self.note,
        ]
    }
}

/// A QuickBooks customer or job. Jobs have a parent and `sublevel` ≥ 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CustomerRecord)]
pub struct Customer {
    /// The source's permanent key: `ListID` (Online: `Id`).
    pub list_id: String,
    /// The version marker, changed on every edit: `EditSequence` (Online: `SyncToken`).
    pub edit_sequence: Option<String>,
    /// When QuickBooks last modified the record, exactly as it wrote it (`TimeModified`).
    pub time_modified: Option<String>,
    /// The leaf name (`Name`; Online: `DisplayName`).
    pub name: String,
    /// The full name, e.g. `Parent:Job` (`FullName`; Online: `FullyQualifiedName`).
    pub full_name: String,
    /// The parent's key, for jobs (`ParentRef/ListID`).
    pub parent_list_id: Option<String>,
    /// `IsActive`; true when QuickBooks leaves it out.
    pub is_active: bool,
    /// Everything else.
    #[serde(flatten)]
    pub details: CustomerDetails,
}

/// The fields of a customer that are stored as one JSON document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CustomerDetails {
    /// When QuickBooks created the record, exactly as it wrote it (`TimeCreated`).
    pub time_created: Option<String>,
    /// The parent's full name, for jobs (`ParentRef/FullName`).
    pub parent_full_name: Option<String>,
    /// `Sublevel`: 0 for a top-level customer.
    pub sublevel: i32,
    /// `CompanyName`.
    pub company_name: Option<String>,
    /// `Salutation` (Online: `Title`).
    pub salutation: Option<String>,
    /// `FirstName` (Online: `GivenName`).
    pub first_name: Option<String>,
    /// `MiddleName`.
    pub middle_name: Option<String>,
    /// `LastName` (Online: `FamilyName`).
    pub last_name: Option<String>,
    /// `JobTitle`.
    pub job_title: Option<String>,
    /// `BillAddress`.
    pub bill_address: Address,
    /// `ShipAddress`.
    pub ship_address: Address,
    /// `Phone` (Online: `PrimaryPhone`).
    pub phone: Option<String>,
    /// `Mobile` (Online only: qbXML's customer has no mobile number).
    pub mobile: Option<String>,
    /// `AltPhone` (Online: `AlternatePhone`).
    pub alt_phone: Option<String>,
    /// `Fax`.
    pub fax: Option<String>,
    /// `Email` (Online: `PrimaryEmailAddr`).
    pub email: Option<String>,
    /// `Contact`.
    pub contact: Option<String>,
    /// `Notes`, lines and indentation as written.
    pub notes: Option<String>,
    /// `JobStatus`, e.g. `None` or `InProgress`, kept as text.
    pub job_status: Option<String>,
}

/// A QuickBooks employee, without any personal or payroll data (no SSN, no birth date).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = EmployeeRecord)]
pub struct Employee {
    /// The source's permanent key: `ListID` (Online: `Id`).
    pub list_id: String,
    /// The version marker: `EditSequence` (Online: `SyncToken`).
    pub edit_sequence: Option<String>,
    /// When QuickBooks last modified the record, exactly as it wrote it (`TimeModified`).
    pub time_modified: Option<String>,
    /// The display name (`Name`; Online: `DisplayName`).
    pub name: String,
    /// `IsActive`; true when QuickBooks leaves it out.
    pub is_active: bool,
    /// Everything else.
    #[serde(flatten)]
    pub details: EmployeeDetails,
}

/// The fields of an employee that are stored as one JSON document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct EmployeeDetails {
    /// When QuickBooks created the record, exactly as it wrote it (`TimeCreated`).
    pub time_created: Option<String>,
    /// `Salutation`.
    pub salutation: Option<String>,
    /// `FirstName`.
    pub first_name: Option<String>,
    /// `MiddleName`.
    pub middle_name: Option<String>,
    /// `LastName`.
    pub last_name: Option<String>,
    /// `JobTitle`.
    pub job_title: Option<String>,
    /// `EmployeeAddress`.
    pub address: Address,
    /// `Phone`.
    pub phone: Option<String>,
    /// `Mobile`.
    pub mobile: Option<String>,
    /// `AltPhone`.
    pub alt_phone: Option<String>,
    /// `Fax`.
    pub fax: Option<String>,
    /// `Email`.
    pub email: Option<String>,
    /// `EmployeeType`, e.g. `Regular`, kept as text.
    pub employee_type: Option<String>,
    /// `HiredDate` (`YYYY-MM-DD`).
    pub hired_date: Option<String>,
    /// `ReleasedDate` (`YYYY-MM-DD`).
    pub released_date: Option<String>,
    /// `Notes`, lines and indentation as written.
    pub notes: Option<String>,
}

/// The words of a record the list search matches (see `matching::search`).
fn search_text<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> String {
    crate::matching::search::search_text(parts)
}

impl Customer {
    /// What `?q=` searches: names, company, contact, phones, email and both addresses. Rows
    /// staged before the text's form last changed get it anew at start (`store::derived`).
    pub fn search_text(&self) -> String {
        let d = &self.details;
        let own = [&d.company_name, &d.contact, &d.phone, &d.mobile, &d.alt_phone, &d.email].map(Option::as_deref);
        let addresses = d.bill_address.parts().into_iter().chain(d.ship_address.parts()).map(Option::as_deref);
        search_text([Some(self.name.as_str()), Some(self.full_name.as_str())].into_iter().chain(own).chain(addresses))
    }
}

impl Employee {
    /// What `?q=` searches: name, job title, phones, email and address.
    pub fn search_text(&self) -> String {
        let d = &self.details;
        let own = [&d.job_title, &d.phone, &d.mobile, &d.email].map(Option::as_deref);
        let address = d.address.parts().into_iter().map(Option::as_deref);
        search_text(std::iter::once(Some(self.name.as_str())).chain(own).chain(address))
    }
}

/// Where a staged record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Active in QuickBooks.
    Active,
    /// Made inactive in QuickBooks.
    Inactive,
    /// No longer in QuickBooks.
    Deleted,
}

impl RecordStatus {
    /// Its name in the API (`active`, `inactive`, `deleted`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Active => "active",
            RecordStatus::Inactive => "inactive",
            RecordStatus::Deleted => "deleted",
        }
    }

    /// The status of a name, as [`RecordStatus::as_str`] writes it.
    pub fn parse(text: &str) -> Option<RecordStatus> {
        [RecordStatus::Active, RecordStatus::Inactive, RecordStatus::Deleted].into_iter().find(|s| s.as_str() == text)
    }

    pub fn of(is_active: bool, deleted: bool) -> RecordStatus {
        match (deleted, is_active) {
            (true, _) => RecordStatus::Deleted,
            (false, true) => RecordStatus::Active,
            (false, false) => RecordStatus::Inactive,
        }
    }
}

/// The location or staff member a staged record is linked to.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LinkedTo {
    /// The location's or staff member's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
}

/// A staged QuickBooks customer, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = Customer)]
pub struct StagedCustomer {
    /// qbsync's id of the staged record.
    pub id: Uuid,
    /// The connection (QuickBooks company) it came from.
    pub connection_id: Uuid,
    #[serde(flatten)]
    pub record: Customer,
    pub status: RecordStatus,
    /// When qbsync found the record gone from QuickBooks.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When QuickBooks last listed the record.
    pub seen_at: DateTime<Utc>,
    /// The linked location, if any.
    pub link: Option<LinkedTo>,
}

/// A staged QuickBooks employee, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = Employee)]
pub struct StagedEmployee {
    /// qbsync's id of the staged record.
    pub id: Uuid,
    /// The connection (QuickBooks company) it came from.
    pub connection_id: Uuid,
    #[serde(flatten)]
    pub record: Employee,
    pub status: RecordStatus,
    /// When qbsync found the record gone from QuickBooks.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When QuickBooks last listed the record.
    pub seen_at: DateTime<Utc>,
    /// The linked staff member, if any.
    pub link: Option<LinkedTo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_serializes_flat_with_every_key_and_reads_back_equal() {
        let customer = Customer {
            list_id: "80000001-1".into(),
            name: " Trailing Space ".into(),
            full_name: "Parent: Trailing Space ".into(),
            is_active: true,
            details: CustomerDetails {
                notes: Some("  indented\n\n".into()),
                bill_address: Address { city: Some("Bayshore".into()), ..Address::default() },
                ..CustomerDetails::default()
            },
            ..Customer::default()
        };
        let json = serde_json::to_value(&customer).unwrap();
        assert_eq!(json["name"], " Trailing Space ");
        assert_eq!(json["notes"], "  indented\n\n");
        assert_eq!(json["bill_address"]["city"], "Bayshore");
        assert!(json["bill_address"]["line1"].is_null() && json.get("job_status").is_some());
        let back: Customer = serde_json::from_value(json).unwrap();
        assert_eq!(back, customer);
    }

    #[test]
    fn details_missing_from_a_stored_document_read_as_absent() {
        let details: CustomerDetails = serde_json::from_str(r#"{"phone":"555"}"#).unwrap();
        assert_eq!(details.phone.as_deref(), Some("555"));
        assert_eq!(details, CustomerDetails { phone: Some("555".into()), ..CustomerDetails::default() });
    }

    #[test]
    fn search_text_holds_folded_names_and_address_parts() {
        let customer = Customer {
            name: "Château Élan".into(),
            full_name: "Château Élan".into(),
            details: CustomerDetails {
                ship_address: Address { line1: Some("12 Airport Rd".into()), ..Address::default() },
                ..CustomerDetails::default()
            },
            ..Customer::default()
        };
        assert_eq!(customer.search_text(), "chateau elan\nchateau elan\n12 airport rd\nroad");
    }

    #[test]
    fn status_prefers_deleted_over_inactive() {
        assert_eq!(RecordStatus::of(false, true), RecordStatus::Deleted);
        assert_eq!(RecordStatus::of(false, false), RecordStatus::Inactive);
        assert_eq!(RecordStatus::of(true, false), RecordStatus::Active);
    }
}

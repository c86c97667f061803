//! Change review: which fields of a linked QuickBooks record matter to the location or staff
//! member it is linked to (name, address, phones, e-mail, active; deletion is the staged row's
//! own flag), and what changed in them between two readings. Pure: `store::staging` keeps a
//! record's [`Watched`] fields beside it (`watch`), a link keeps them as they were when it was
//! made or last reviewed, and `store::changes` compares the two.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::record::{Address, Customer, Employee};

/// The fields of a staged record whose change an admin reviews, stored as JSON (`watch`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Watched {
    /// A customer's full name (`Parent:Job`), an employee's name.
    pub name: String,
    /// The address a location (staff member) takes: a customer's ship-to address when it has any
    /// part, else its billing address; an employee's address. Without its note.
    pub address: Address,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub alt_phone: Option<String>,
    pub email: Option<String>,
    pub active: bool,
}

impl Watched {
    pub fn of_customer(c: &Customer) -> Watched {
        let d = &c.details;
        let ship_has_parts = d.ship_address.parts()[..9].iter().any(|part| has_text(part));
        let address = if ship_has_parts { &d.ship_address } else { &d.bill_address };
        Watched {
            name: c.full_name.clone(),
            address: Address { note: None, ..address.clone() },
            phone: d.phone.clone(),
            mobile: d.mobile.clone(),
            alt_phone: d.alt_phone.clone(),
            email: d.email.clone(),
            active: c.is_active,
        }
    }

    pub fn of_employee(e: &Employee) -> Watched {
        let d = &e.details;
        Watched {
            name: e.name.clone(),
            address: Address { note: None, ..d.address.clone() },
            phone: d.phone.clone(),
            mobile: d.mobile.clone(),
            alt_phone: None,
            email: d.email.clone(),
            active: e.is_active,
        }
    }

    /// The stored form: one JSON object, its keys always in the same order.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The stored form read back; None for text that is not one (e.g. empty).
    pub fn parse(text: &str) -> Option<Watched> {
        serde_json::from_str(text).ok()
    }
}

fn has_text(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// One field that changed in QuickBooks: its name and its values before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    /// `name`, `address`, `phone`, `mobile`, `alt_phone`, `email`, `active` or `deleted`.
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

/// What changed between two readings of a record (with whether it was deleted at each).
pub fn changes(before: &Watched, before_deleted: bool, after: &Watched, after_deleted: bool) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, a: Value, b: Value| {
        if a != b {
            out.push(FieldChange { field, before: a, after: b });
        }
    };
    push("name", json!(before.name), json!(after.name));
    push("address", json!(before.address), json!(after.address));
    push("phone", json!(before.phone), json!(after.phone));
    push("mobile", json!(before.mobile), json!(after.mobile));
    push("alt_phone", json!(before.alt_phone), json!(after.alt_phone));
    push("email", json!(before.email), json!(after.email));
    push("active", json!(before.active), json!(after.active));
    push("deleted", json!(before_deleted), json!(after_deleted));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::CustomerDetails;

    fn customer() -> Customer {
        Customer {
            name: "Clinic Wing".into(),
            full_name: "Bluebird:Clinic Wing".into(),
            is_active: true,
            details: CustomerDetails {
                bill_address: Address { line1: Some("1 Bill St".into()), ..Address::default() },
                ship_address: Address { note: Some("back door".into()), ..Address::default() },
                phone: Some("555-0100".into()),
                notes: Some("not watched".into()),
                ..CustomerDetails::default()
            },
            ..Customer::default()
        }
    }

    #[test]
    fn a_customer_watches_the_address_a_location_takes_without_its_note() {
        let watched = Watched::of_customer(&customer());
        assert_eq!(watched.address.line1.as_deref(), Some("1 Bill St"), "a ship-to with only a note is no address");
        let mut shipped = customer();
        shipped.details.ship_address.city = Some("Bayshore".into());
        let watched = Watched::of_customer(&shipped);
        assert_eq!((watched.address.city.as_deref(), watched.address.note), (Some("Bayshore"), None));
    }

    #[test]
    fn the_stored_form_reads_back_and_ignores_unwatched_fields() {
        let watched = Watched::of_customer(&customer());
        assert_eq!(Watched::parse(&watched.to_text()), Some(watched.clone()));
        let mut other = customer();
        other.details.notes = Some("changed".into());
        other.edit_sequence = Some("2".into());
        assert_eq!(Watched::of_customer(&other).to_text(), watched.to_text());
        assert_eq!(Watched::parse(""), None);
    }

    #[test]
    fn changes_name_each_field_with_before_and_after() {
        let before = Watched::of_customer(&customer());
        let mut edited = customer();
        edited.is_active = false;
        edited.details.phone = Some("555-0199".into());
        let after = Watched::of_customer(&edited);
        let found = changes(&before, false, &after, true);
        let fields: Vec<&str> = found.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["phone", "active", "deleted"]);
        assert_eq!((found[0].before.clone(), found[0].after.clone()), (json!("555-0100"), json!("555-0199")));
        assert!(changes(&before, false, &before, false).is_empty());
    }
}

//! What the suggestions compare: the organization's unlinked locations (staff) and its unlinked
//! QuickBooks customers (employees) that are active and not deleted, read whole and turned into
//! `matching::Profile`s. The comparing itself is `matching`'s.

use uuid::Uuid;

use super::{Db, Result, StoreError, on_db};
use crate::matching::{self, Fields, Profile};
use crate::record::{Customer, CustomerDetails, Employee, EmployeeDetails};

/// One side of the comparison: the records' ids, names (as the admin sees them), connections
/// (QuickBooks side) and profiles, in the same order.
#[derive(Default)]
pub struct Side {
    pub ids: Vec<Uuid>,
    pub names: Vec<String>,
    pub connection_ids: Vec<Option<Uuid>>,
    pub profiles: Vec<Profile>,
}

impl Side {
    fn push(&mut self, id: Uuid, name: String, connection_id: Option<Uuid>, profile: Profile) {
        self.ids.push(id);
        self.names.push(name);
        self.connection_ids.push(connection_id);
        self.profiles.push(profile);
    }

    /// The position of a record, if it is on this side.
    pub fn position(&self, id: Uuid) -> Option<usize> {
        self.ids.iter().position(|known| *known == id)
    }
}

type LocationColumns = (Uuid, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

/// The organization's unlinked locations.
pub async fn unlinked_locations(db: &Db, organization_id: Uuid) -> Result<Side> {
    let rows: Vec<LocationColumns> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT location_id, name, line1, line2, line3, phone, email FROM location \
             WHERE organization_id = $1 AND qb_customer_id IS NULL",
        )
        .bind(organization_id)
        .fetch_all(pool)
        .await?
    });
    let mut side = Side::default();
    for (id, name, line1, line2, line3, phone, email) in rows {
        let profile = Profile::new(&Fields {
            names: vec![&name],
            address_lines: [&line1, &line2, &line3].into_iter().filter_map(|l| l.as_deref()).collect(),
            phones: phone.as_deref().into_iter().collect(),
            emails: email.as_deref().into_iter().collect(),
        });
        side.push(id, name, None, profile);
    }
    Ok(side)
}

/// The organization's unlinked staff members.
pub async fn unlinked_staff(db: &Db, organization_id: Uuid) -> Result<Side> {
    let rows: Vec<(Uuid, String, Option<String>, Option<String>)> = on_db!(db, pool => {
        sqlx::query_as("SELECT staff_id, name, phone, email FROM staff WHERE organization_id = $1 AND qb_employee_id IS NULL")
            .bind(organization_id)
            .fetch_all(pool)
            .await?
    });
    let mut side = Side::default();
    for (id, name, phone, email) in rows {
        let profile = Profile::new(&Fields {
            names: vec![&name],
            address_lines: Vec::new(),
            phones: phone.as_deref().into_iter().collect(),
            emails: email.as_deref().into_iter().collect(),
        });
        side.push(id, name, None, profile);
    }
    Ok(side)
}

fn details<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|err| StoreError::Database(sqlx::Error::Decode(Box::new(err))))
}

type CustomerColumns = (Uuid, Uuid, String, String, Option<String>, String);

/// The organization's unlinked QuickBooks customers that are active and not deleted.
pub async fn unlinked_customers(db: &Db, organization_id: Uuid) -> Result<Side> {
    let rows: Vec<CustomerColumns> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT c.qb_customer_id, c.connection_id, c.name, c.full_name, c.parent_list_id, c.details FROM qb_customer c \
             WHERE c.organization_id = $1 AND c.is_active AND c.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM location l WHERE l.qb_customer_id = c.qb_customer_id)",
        )
        .bind(organization_id)
        .fetch_all(pool)
        .await?
    });
    let mut side = Side::default();
    for (id, connection_id, name, full_name, parent_list_id, json) in rows {
        let customer = Customer {
            name,
            full_name,
            parent_list_id,
            details: details::<CustomerDetails>(&json)?,
            ..Customer::default()
        };
        let profile = matching::customer_profile(&customer);
        side.push(id, customer.full_name, Some(connection_id), profile);
    }
    Ok(side)
}

/// The organization's unlinked QuickBooks employees that are active and not deleted.
pub async fn unlinked_employees(db: &Db, organization_id: Uuid) -> Result<Side> {
    let rows: Vec<(Uuid, Uuid, String, String)> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT e.qb_employee_id, e.connection_id, e.name, e.details FROM qb_employee e \
             WHERE e.organization_id = $1 AND e.is_active AND e.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM staff s WHERE s.qb_employee_id = e.qb_employee_id)",
        )
        .bind(organization_id)
        .fetch_all(pool)
        .await?
    });
    let mut side = Side::default();
    for (id, connection_id, name, json) in rows {
        let employee = Employee { name, details: details::<EmployeeDetails>(&json)?, ..Employee::default() };
        let profile = matching::employee_profile(&employee);
        side.push(id, employee.name, Some(connection_id), profile);
    }
    Ok(side)
}

//! Locations (job sites) of the field-service application and their links to QuickBooks
//! customers. A link is `location.qb_customer_id`; its UNIQUE constraint keeps it one-to-one.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::{self, Action, Actor, NewEvent};
use super::staging;
use super::{
    Db, Param, Result, StoreError, Tx, links, now, on_db, on_tx, page_and_count, search_clause, search_params,
};
use crate::record::Customer;

/// The editable fields of a location.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocationFields {
    pub name: String,
    pub description: String,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub line3: Option<String>,
    pub line4: Option<String>,
    pub line5: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A location with its link, as the API shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LocationRow {
    pub location_id: Uuid,
    pub name: String,
    pub description: String,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub line3: Option<String>,
    pub line4: Option<String>,
    pub line5: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub qb_customer_id: Option<Uuid>,
    pub link_connection_id: Option<Uuid>,
    pub link_list_id: Option<String>,
    pub link_full_name: Option<String>,
    /// The linked customer's watched fields (`review::Watched`), status and whether they changed
    /// since the link was made or last reviewed.
    pub link_watch: Option<String>,
    pub link_is_active: Option<bool>,
    pub link_deleted: Option<bool>,
    pub link_changed: Option<bool>,
}

impl LocationFields {
    /// What `?q=` searches: name, description, address, phone and e-mail (see `matching::search`).
    pub fn search_text(&self) -> String {
        crate::matching::search::search_text([
            Some(self.name.as_str()),
            Some(self.description.as_str()),
            self.line1.as_deref(),
            self.line2.as_deref(),
            self.line3.as_deref(),
            self.line4.as_deref(),
            self.line5.as_deref(),
            self.city.as_deref(),
            self.state.as_deref(),
            self.postal_code.as_deref(),
            self.country.as_deref(),
            self.phone.as_deref(),
            self.email.as_deref(),
        ])
    }
}

impl LocationRow {
    pub fn fields(&self) -> LocationFields {
        LocationFields {
            name: self.name.clone(),
            description: self.description.clone(),
            line1: self.line1.clone(),
            line2: self.line2.clone(),
            line3: self.line3.clone(),
            line4: self.line4.clone(),
            line5: self.line5.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
        }
    }
}

/// Search, link filter and keyset paging (by name, then id).
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub q: Option<String>,
    pub linked: Option<bool>,
    pub after: Option<(String, Uuid)>,
    pub limit: i64,
}

const SELECT: &str = "SELECT l.location_id, l.name, l.description, l.line1, l.line2, l.line3, l.line4, l.line5, \
    l.city, l.state, l.postal_code, l.country, l.phone, l.email, l.created_at, l.updated_at, l.qb_customer_id, \
    c.connection_id AS link_connection_id, c.list_id AS link_list_id, c.full_name AS link_full_name, \
    c.watch AS link_watch, c.is_active AS link_is_active, (c.deleted_at IS NOT NULL) AS link_deleted, \
    (l.qb_reviewed <> c.watch OR l.qb_reviewed_deleted <> (c.deleted_at IS NOT NULL)) AS link_changed \
    FROM location l LEFT JOIN qb_customer c ON c.qb_customer_id = l.qb_customer_id";

/// Shared WHERE clause of the list and its count (over `location l` joined to its customer `c`):
/// $1 organization, $2 linked, then the query's words ($3..$8, see [`search_clause`]); the
/// cursor's parameters follow ([`CURSOR`]).
fn filter_sql() -> String {
    format!(
        " WHERE l.organization_id = $1 \
         AND (CAST($2 AS BOOLEAN) IS NULL OR CAST($2 AS BOOLEAN) = (l.qb_customer_id IS NOT NULL)){}",
        // A linked location is found by its customer's words too (the Linked panel's search).
        search_clause("(l.search || ' ' || COALESCE(c.search, ''))", 3)
    )
}

/// The first parameter after the list's filter.
const CURSOR: usize = 3 + crate::matching::search::MAX_QUERY_WORDS;

/// One page of an organization's locations, and on the first page how many match in all.
pub async fn list_locations(
    db: &Db,
    organization_id: Uuid,
    filter: &ListFilter,
) -> Result<(Vec<LocationRow>, Option<i64>)> {
    let filter_sql = filter_sql();
    let (key, id, limit) = (CURSOR, CURSOR + 1, CURSOR + 2);
    let page_sql = format!(
        "{SELECT}{filter_sql} AND (l.name, l.location_id) > (CAST(${key} AS TEXT), ${id}) \
         ORDER BY l.name, l.location_id LIMIT ${limit}"
    );
    let count_sql = format!(
        "SELECT COUNT(*) FROM location l LEFT JOIN qb_customer c ON c.qb_customer_id = l.qb_customer_id{filter_sql}"
    );
    let mut params = vec![Param::Id(Some(organization_id)), Param::Flag(filter.linked)];
    params.extend(search_params(filter.q.as_deref()));
    page_and_count(db, page_sql, count_sql, &params, &filter.after, filter.limit).await
}

pub async fn get_location(db: &Db, organization_id: Uuid, location_id: Uuid) -> Result<LocationRow> {
    let sql = format!("{SELECT} WHERE l.organization_id = $1 AND l.location_id = $2");
    on_db!(db, pool => {
        sqlx::query_as::<_, LocationRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(organization_id)
            .bind(location_id)
            .fetch_optional(pool)
            .await?
    })
    .ok_or(StoreError::NotFound)
}

/// A location of the organization, read inside `tx`.
pub(crate) async fn location_in(tx: &mut Tx, organization_id: Uuid, location_id: Uuid) -> Result<LocationRow> {
    let sql = format!("{SELECT} WHERE l.organization_id = $1 AND l.location_id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, LocationRow>(sqlx::AssertSqlSafe(sql))
            .bind(organization_id)
            .bind(location_id)
            .fetch_optional(&mut *conn)
            .await?
    })
    .ok_or(StoreError::NotFound)
}

async fn insert(
    tx: &mut Tx,
    organization_id: Uuid,
    fields: &LocationFields,
    qb_customer_id: Option<Uuid>,
) -> Result<Uuid> {
    let id = Uuid::new_v4();
    let at = now();
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO location (location_id, organization_id, name, description, line1, line2, line3, line4, line5, \
             city, state, postal_code, country, phone, email, qb_customer_id, created_at, updated_at, search) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18)",
        )
        .bind(id)
        .bind(organization_id)
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.line1)
        .bind(&fields.line2)
        .bind(&fields.line3)
        .bind(&fields.line4)
        .bind(&fields.line5)
        .bind(&fields.city)
        .bind(&fields.state)
        .bind(&fields.postal_code)
        .bind(&fields.country)
        .bind(&fields.phone)
        .bind(&fields.email)
        .bind(qb_customer_id)
        .bind(at)
        .bind(fields.search_text())
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

/// Creates a location of an organization, unlinked.
pub async fn create_location(db: &Db, organization_id: Uuid, fields: &LocationFields) -> Result<Uuid> {
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, organization_id, fields, None).await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces a location's fields.
pub async fn update_location(db: &Db, organization_id: Uuid, location_id: Uuid, fields: &LocationFields) -> Result<()> {
    let mut tx = db.begin().await?;
    let outcome = update_in(&mut tx, organization_id, location_id, fields).await;
    tx.finish(outcome).await
}

/// [`update_location`] inside a transaction.
pub(crate) async fn update_in(
    tx: &mut Tx,
    organization_id: Uuid,
    location_id: Uuid,
    fields: &LocationFields,
) -> Result<()> {
    let done = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE location SET name = $3, description = $4, line1 = $5, line2 = $6, line3 = $7, line4 = $8, line5 = $9, \
             city = $10, state = $11, postal_code = $12, country = $13, phone = $14, email = $15, updated_at = $16, \
             search = $17 WHERE organization_id = $1 AND location_id = $2",
        )
        .bind(organization_id)
        .bind(location_id)
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.line1)
        .bind(&fields.line2)
        .bind(&fields.line3)
        .bind(&fields.line4)
        .bind(&fields.line5)
        .bind(&fields.city)
        .bind(&fields.state)
        .bind(&fields.postal_code)
        .bind(&fields.country)
        .bind(&fields.phone)
        .bind(&fields.email)
        .bind(now())
        .bind(fields.search_text())
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub async fn delete_location(db: &Db, organization_id: Uuid, location_id: Uuid) -> Result<()> {
    let done = on_db!(db, pool => {
        sqlx::query("DELETE FROM location WHERE organization_id = $1 AND location_id = $2")
            .bind(organization_id)
            .bind(location_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Links a location to a QuickBooks customer; see [`links::link`] for the rules. Returns the
/// audit event's id.
pub async fn link_location(
    db: &Db,
    organization_id: Uuid,
    actor: &Actor,
    location_id: Uuid,
    qb_customer_id: Uuid,
) -> Result<Uuid> {
    links::link(db, &links::LOCATION, organization_id, actor, location_id, qb_customer_id).await
}

/// Disconnects a location from its customer; see [`links::unlink`].
pub async fn unlink_location(db: &Db, organization_id: Uuid, actor: &Actor, location_id: Uuid) -> Result<Option<Uuid>> {
    links::unlink(db, &links::LOCATION, organization_id, actor, location_id).await
}

/// The fields of a location as the audit log shows them.
pub(crate) fn fields_json(f: &LocationFields) -> Value {
    json!({
        "name": f.name, "description": f.description,
        "address": { "line1": f.line1, "line2": f.line2, "line3": f.line3, "line4": f.line4, "line5": f.line5,
            "city": f.city, "state": f.state, "postal_code": f.postal_code, "country": f.country },
        "phone": f.phone, "email": f.email,
    })
}

/// A staged value made tidy for the application's own records: staged values are exactly what
/// QuickBooks holds, but a location or staff member made from one has no use for surrounding
/// whitespace or blank parts.
pub(crate) fn tidy(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

pub(crate) fn location_from_customer(c: &Customer) -> LocationFields {
    let d = &c.details;
    // The ship-to address wins whole when it has any part; parts are never mixed.
    let ship = &d.ship_address;
    let use_ship = ship.parts()[..9].iter().any(|part| tidy(part).is_some());
    let address = if use_ship { ship } else { &d.bill_address };
    // A job is named after its parent too ("Bluebird Chiropractic, Clinic Wing"): many parents
    // have a "Clinic Wing". The description keeps the full QuickBooks name and the company.
    let full_name = c.full_name.trim();
    let name = match full_name.rsplit(':').nth(1).map(str::trim).filter(|p| !p.is_empty()) {
        Some(parent) => format!("{parent}, {}", c.name.trim()),
        None => c.name.trim().to_owned(),
    };
    let mut description = full_name.replace(':', " › ");
    if let Some(company) = tidy(&d.company_name).filter(|co| !full_name.contains(co.as_str())) {
        description.push_str(&format!(" ({company})"));
    }
    LocationFields {
        name,
        description,
        line1: tidy(&address.line1),
        line2: tidy(&address.line2),
        line3: tidy(&address.line3),
        line4: tidy(&address.line4),
        line5: tidy(&address.line5),
        city: tidy(&address.city),
        state: tidy(&address.state),
        postal_code: tidy(&address.postal_code),
        country: tidy(&address.country),
        phone: tidy(&d.phone),
        email: tidy(&d.email),
    }
}

/// What a "+" did: the record it stands for, and whether it was made now (false: the QuickBooks
/// record was already linked, to this record) with the audit event of that.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Created {
    pub id: Uuid,
    pub event: Option<Uuid>,
}

/// The location a customer is linked to, if any.
async fn location_of_customer(db: &Db, organization_id: Uuid, qb_customer_id: Uuid) -> Result<Option<Uuid>> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar("SELECT location_id FROM location WHERE organization_id = $1 AND qb_customer_id = $2")
            .bind(organization_id)
            .bind(qb_customer_id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Creates a location filled from a staged customer and links it, in one transaction with its
/// audit event. Keyed by the customer, so idempotent: when the customer is already linked (a
/// double click, a retried request), nothing is made and the linked location is the answer.
pub async fn create_from_customer(
    db: &Db,
    organization_id: Uuid,
    actor: &Actor,
    qb_customer_id: Uuid,
) -> Result<Created> {
    if let Some(id) = location_of_customer(db, organization_id, qb_customer_id).await? {
        return Ok(Created { id, event: None });
    }
    let mut tx = db.begin().await?;
    let outcome: Result<Created> = async {
        let source = staging::customer_in(&mut tx, organization_id, qb_customer_id).await?;
        let fields = location_from_customer(&source);
        let id = insert(&mut tx, organization_id, &fields, Some(qb_customer_id)).await?;
        links::mark_reviewed(&mut tx, &links::LOCATION, organization_id, id).await?;
        let event = NewEvent {
            action: Action::Create,
            subject_kind: links::LOCATION.subject_kind,
            subject_id: id,
            subject_name: &fields.name,
            qb_id: Some(qb_customer_id),
            qb_name: Some(&source.full_name),
            before: json!({ "link": null }),
            after: json!({ "link": { "id": qb_customer_id, "name": source.full_name }, "record": fields_json(&fields) }),
            undoes: None,
        };
        let event = audit::record(&mut tx, organization_id, actor, event).await?;
        Ok(Created { id, event: Some(event) })
    }
    .await;
    match tx.finish(outcome).await {
        // Another request made it meanwhile (the UNIQUE link column said no to this one).
        Err(StoreError::Conflict(_)) => match location_of_customer(db, organization_id, qb_customer_id).await? {
            Some(id) => Ok(Created { id, event: None }),
            None => Err(StoreError::Conflict("the QuickBooks customer is already linked to a location".into())),
        },
        other => other,
    }
}

/// Recomputes every location's search text (see `store::derived`); how many were read.
pub(crate) async fn rederive(db: &Db) -> Result<u64> {
    let sql = format!("{SELECT} WHERE l.location_id > $1 ORDER BY l.location_id LIMIT $2");
    let read = async |after: Uuid| -> Result<Vec<LocationRow>> {
        Ok(on_db!(db, pool => {
            sqlx::query_as::<_, LocationRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(super::derived::BATCH)
                .fetch_all(pool)
                .await?
        }))
    };
    let write = async |rows: Vec<LocationRow>| -> Result<()> {
        let mut tx = db.begin().await?;
        let outcome: Result<()> = async {
            for row in &rows {
                on_tx!(&mut tx, conn => {
                    sqlx::query("UPDATE location SET search = $2 WHERE location_id = $1 AND search <> $2")
                        .bind(row.location_id)
                        .bind(row.fields().search_text())
                        .execute(&mut *conn)
                        .await?;
                });
            }
            Ok(())
        }
        .await;
        tx.finish(outcome).await
    };
    super::derived::in_batches(read, |row: &LocationRow| row.location_id, write).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Address, CustomerDetails};

    fn source() -> Customer {
        Customer {
            name: "Family Room ".into(),
            full_name: "Abercrombie, Kristy:Family Room ".into(),
            details: CustomerDetails {
                company_name: Some("Kristy's Kitchens".into()),
                bill_address: Address {
                    line1: Some("5647 Cypress Hill Rd".into()),
                    city: Some("Bayshore".into()),
                    state: Some("CA".into()),
                    postal_code: Some("94326".into()),
                    ..Address::default()
                },
                ship_address: Address { note: Some("not an address part".into()), ..Address::default() },
                phone: Some(" 415-555-6579".into()),
                email: Some("kristy@samplename.com".into()),
                ..CustomerDetails::default()
            },
            ..Customer::default()
        }
    }

    #[test]
    fn a_location_takes_the_bill_address_when_there_is_no_ship_to() {
        let fields = location_from_customer(&source());
        assert_eq!(fields.name, "Abercrombie, Kristy, Family Room", "a job is named after its parent too");
        assert_eq!(fields.description, "Abercrombie, Kristy › Family Room (Kristy's Kitchens)");
        assert_eq!(fields.line1.as_deref(), Some("5647 Cypress Hill Rd"));
        assert_eq!(fields.city.as_deref(), Some("Bayshore"));
        assert_eq!(fields.phone.as_deref(), Some("415-555-6579"));
    }

    #[test]
    fn the_ship_to_address_wins_whole() {
        let mut c = source();
        c.details.ship_address.line1 = Some("1 Harbor Way".into());
        c.details.ship_address.city = Some("Middlefield".into());
        let fields = location_from_customer(&c);
        assert_eq!(fields.line1.as_deref(), Some("1 Harbor Way"));
        assert_eq!(fields.city.as_deref(), Some("Middlefield"));
        assert_eq!(fields.state, None, "parts are never mixed between the two addresses");
    }
}

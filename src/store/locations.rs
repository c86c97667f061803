//! Locations (job sites) of the field-service application and their links to QuickBooks
//! customers. A link is `location.qb_customer_id`; its UNIQUE constraint keeps it one-to-one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::staging::like_pattern;
use super::{Db, Param, Result, StoreError, Tx, links, now, on_db, on_tx, page_and_count};

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
    c.connection_id AS link_connection_id, c.list_id AS link_list_id, c.full_name AS link_full_name \
    FROM location l LEFT JOIN qb_customer c ON c.qb_customer_id = l.qb_customer_id";

/// Shared WHERE clause of the list and its count: $1 organization, $2 linked, $3 pattern.
const FILTER: &str = " WHERE l.organization_id = $1 \
    AND (CAST($2 AS BOOLEAN) IS NULL OR CAST($2 AS BOOLEAN) = (l.qb_customer_id IS NOT NULL)) \
    AND (CAST($3 AS TEXT) IS NULL OR LOWER(l.name) LIKE CAST($3 AS TEXT) ESCAPE '\\' \
         OR LOWER(l.description) LIKE CAST($3 AS TEXT) ESCAPE '\\' \
         OR LOWER(COALESCE(l.city, '')) LIKE CAST($3 AS TEXT) ESCAPE '\\' \
         OR LOWER(COALESCE(l.line1, '')) LIKE CAST($3 AS TEXT) ESCAPE '\\')";

/// One page of an organization's locations, and how many match in all.
pub async fn list_locations(db: &Db, organization_id: Uuid, filter: &ListFilter) -> Result<(Vec<LocationRow>, i64)> {
    let page_sql = format!(
        "{SELECT}{FILTER} AND (CAST($4 AS TEXT) IS NULL OR l.name > CAST($4 AS TEXT) \
         OR (l.name = CAST($4 AS TEXT) AND l.location_id > $5)) ORDER BY l.name, l.location_id LIMIT $6"
    );
    let count_sql = format!("SELECT COUNT(*) FROM location l{FILTER}");
    let params = [
        Param::Id(Some(organization_id)),
        Param::Flag(filter.linked),
        Param::Text(filter.q.as_deref().map(like_pattern)),
    ];
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
             city, state, postal_code, country, phone, email, qb_customer_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
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
    let done = on_db!(db, pool => {
        sqlx::query(
            "UPDATE location SET name = $3, description = $4, line1 = $5, line2 = $6, line3 = $7, line4 = $8, line5 = $9, \
             city = $10, state = $11, postal_code = $12, country = $13, phone = $14, email = $15, updated_at = $16 \
             WHERE organization_id = $1 AND location_id = $2",
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
        .execute(pool)
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

/// Links a location to a QuickBooks customer; see [`links::link`] for the rules.
pub async fn link_location(db: &Db, organization_id: Uuid, location_id: Uuid, qb_customer_id: Uuid) -> Result<()> {
    links::link(db, &links::LOCATION, organization_id, location_id, qb_customer_id).await
}

/// Disconnects a location from its customer; see [`links::unlink`].
pub async fn unlink_location(db: &Db, organization_id: Uuid, location_id: Uuid) -> Result<()> {
    links::unlink(db, &links::LOCATION, organization_id, location_id).await
}

/// The parts of a staged customer a new location is made from.
#[derive(Clone, Debug, sqlx::FromRow)]
struct CustomerSource {
    name: String,
    full_name: String,
    company_name: Option<String>,
    bill_addr1: Option<String>,
    bill_addr2: Option<String>,
    bill_addr3: Option<String>,
    bill_addr4: Option<String>,
    bill_addr5: Option<String>,
    bill_city: Option<String>,
    bill_state: Option<String>,
    bill_postal_code: Option<String>,
    bill_country: Option<String>,
    ship_addr1: Option<String>,
    ship_addr2: Option<String>,
    ship_addr3: Option<String>,
    ship_addr4: Option<String>,
    ship_addr5: Option<String>,
    ship_city: Option<String>,
    ship_state: Option<String>,
    ship_postal_code: Option<String>,
    ship_country: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

fn location_from_customer(c: &CustomerSource) -> LocationFields {
    let ship = [
        &c.ship_addr1,
        &c.ship_addr2,
        &c.ship_addr3,
        &c.ship_addr4,
        &c.ship_addr5,
        &c.ship_city,
        &c.ship_state,
        &c.ship_postal_code,
        &c.ship_country,
    ];
    let use_ship = ship.iter().any(|part| part.is_some());
    let pick = |ship: &Option<String>, bill: &Option<String>| if use_ship { ship.clone() } else { bill.clone() };
    // The name is the customer's own (the leaf of a job path); the description keeps the full
    // QuickBooks name and the company, so a job stays recognisable.
    let mut description = c.full_name.replace(':', " › ");
    if let Some(company) = c.company_name.as_deref().filter(|co| !co.is_empty() && !c.full_name.contains(*co)) {
        description.push_str(&format!(" ({company})"));
    }
    LocationFields {
        name: c.name.clone(),
        description,
        line1: pick(&c.ship_addr1, &c.bill_addr1),
        line2: pick(&c.ship_addr2, &c.bill_addr2),
        line3: pick(&c.ship_addr3, &c.bill_addr3),
        line4: pick(&c.ship_addr4, &c.bill_addr4),
        line5: pick(&c.ship_addr5, &c.bill_addr5),
        city: pick(&c.ship_city, &c.bill_city),
        state: pick(&c.ship_state, &c.bill_state),
        postal_code: pick(&c.ship_postal_code, &c.bill_postal_code),
        country: pick(&c.ship_country, &c.bill_country),
        phone: c.phone.clone(),
        email: c.email.clone(),
    }
}

/// Creates a location filled from a staged customer and links it, in one transaction.
/// [`StoreError::Conflict`] when the customer is already linked.
pub async fn create_from_customer(db: &Db, organization_id: Uuid, qb_customer_id: Uuid) -> Result<Uuid> {
    let mut tx = db.begin().await?;
    let source = on_tx!(&mut tx, conn => {
        sqlx::query_as::<_, CustomerSource>(
            "SELECT name, full_name, company_name, bill_addr1, bill_addr2, bill_addr3, bill_addr4, \
             bill_addr5, bill_city, bill_state, bill_postal_code, bill_country, ship_addr1, ship_addr2, ship_addr3, \
             ship_addr4, ship_addr5, ship_city, ship_state, ship_postal_code, ship_country, phone, email \
             FROM qb_customer WHERE qb_customer_id = $1 AND organization_id = $2",
        )
        .bind(qb_customer_id)
        .bind(organization_id)
        .fetch_optional(&mut *conn)
        .await?
    });
    let Some(source) = source else {
        tx.rollback().await?;
        return Err(StoreError::NotFound);
    };
    let result = insert(&mut tx, organization_id, &location_from_customer(&source), Some(qb_customer_id))
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => {
                StoreError::Conflict("the QuickBooks customer is already linked to a location".into())
            }
            other => other,
        });
    tx.finish(result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> CustomerSource {
        CustomerSource {
            name: "Family Room".into(),
            full_name: "Abercrombie, Kristy:Family Room".into(),
            company_name: Some("Kristy's Kitchens".into()),
            bill_addr1: Some("5647 Cypress Hill Rd".into()),
            bill_addr2: None,
            bill_addr3: None,
            bill_addr4: None,
            bill_addr5: None,
            bill_city: Some("Bayshore".into()),
            bill_state: Some("CA".into()),
            bill_postal_code: Some("94326".into()),
            bill_country: None,
            ship_addr1: None,
            ship_addr2: None,
            ship_addr3: None,
            ship_addr4: None,
            ship_addr5: None,
            ship_city: None,
            ship_state: None,
            ship_postal_code: None,
            ship_country: None,
            phone: Some("415-555-6579".into()),
            email: Some("kristy@samplename.com".into()),
        }
    }

    #[test]
    fn a_location_takes_the_bill_address_when_there_is_no_ship_to() {
        let fields = location_from_customer(&source());
        assert_eq!(fields.name, "Family Room");
        assert_eq!(fields.description, "Abercrombie, Kristy › Family Room (Kristy's Kitchens)");
        assert_eq!(fields.line1.as_deref(), Some("5647 Cypress Hill Rd"));
        assert_eq!(fields.city.as_deref(), Some("Bayshore"));
        assert_eq!(fields.phone.as_deref(), Some("415-555-6579"));
    }

    #[test]
    fn the_ship_to_address_wins_whole() {
        let mut c = source();
        c.ship_addr1 = Some("1 Harbor Way".into());
        c.ship_city = Some("Middlefield".into());
        let fields = location_from_customer(&c);
        assert_eq!(fields.line1.as_deref(), Some("1 Harbor Way"));
        assert_eq!(fields.city.as_deref(), Some("Middlefield"));
        assert_eq!(fields.state, None, "parts are never mixed between the two addresses");
    }
}

//! Locations (job sites) of the field-service application and their links to QuickBooks
//! customers. A link is `location.qb_customer_id`; its UNIQUE constraint keeps it one-to-one.

use uuid::Uuid;

use super::{Db, Result, StoreError, now, on_db};

/// The editable fields of a location.
#[derive(Clone, Debug, Default)]
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

/// Creates a location of an organization, unlinked.
pub async fn create_location(db: &Db, organization_id: Uuid, fields: &LocationFields) -> Result<Uuid> {
    let id = Uuid::new_v4();
    let at = now();
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO location (location_id, organization_id, name, description, line1, line2, line3, line4, line5, \
             city, state, postal_code, country, phone, email, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
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
        .bind(at)
        .execute(pool)
        .await?;
    });
    Ok(id)
}

/// Links an unlinked location to an unlinked customer of the same organization. Answers
/// [`StoreError::NotFound`] when either is not the organization's, [`StoreError::Conflict`]
/// when either is already linked; nothing changes then.
pub async fn link_location(db: &Db, organization_id: Uuid, location_id: Uuid, qb_customer_id: Uuid) -> Result<()> {
    let customer_ok = on_db!(db, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM qb_customer WHERE qb_customer_id = $1 AND organization_id = $2")
            .bind(qb_customer_id)
            .bind(organization_id)
            .fetch_one(pool)
            .await?
    });
    if customer_ok == 0 {
        return Err(StoreError::NotFound);
    }
    let updated = on_db!(db, pool => {
        sqlx::query(
            "UPDATE location SET qb_customer_id = $3, updated_at = $4 \
             WHERE location_id = $1 AND organization_id = $2 AND qb_customer_id IS NULL",
        )
        .bind(location_id)
        .bind(organization_id)
        .bind(qb_customer_id)
        .bind(now())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    });
    match updated {
        Ok(1) => Ok(()),
        Ok(_) => {
            let exists = on_db!(db, pool => {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM location WHERE location_id = $1 AND organization_id = $2")
                    .bind(location_id)
                    .bind(organization_id)
                    .fetch_one(pool)
                    .await?
            });
            if exists == 0 { Err(StoreError::NotFound) } else { Err(StoreError::Conflict("the location is already linked".into())) }
        }
        Err(err) => match StoreError::from(err) {
            StoreError::Conflict(_) => Err(StoreError::Conflict("the QuickBooks customer is already linked".into())),
            other => Err(other),
        },
    }
}

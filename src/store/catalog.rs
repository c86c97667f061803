//! Organizations, admins, API tokens and QuickBooks connections.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, Result, StoreError, now, on_db};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Organization {
    pub organization_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Admin {
    pub admin_id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// A QuickBooks company file linked to an organization.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Connection {
    pub connection_id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub username: String,
    pub password_hash: String,
    pub owner_id: String,
    pub file_id: String,
    pub enabled: bool,
    pub company_file: String,
    pub run_every_minutes: i64,
    pub qb_product: Option<String>,
    pub qb_version: Option<String>,
    pub qb_country: Option<String>,
    pub qb_company_name: Option<String>,
    pub qb_file_path: Option<String>,
    pub qbxml_version: Option<String>,
    pub qb_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What a new connection needs; ids and GUIDs are made by [`create_connection`].
pub struct NewConnection<'a> {
    pub organization_id: Uuid,
    pub name: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub company_file: &'a str,
    pub run_every_minutes: i64,
}

/// What QuickBooks told us about itself at the start of a run.
#[derive(Clone, Debug, Default)]
pub struct QuickBooksInfo {
    pub product: Option<String>,
    pub version: Option<String>,
    pub country: Option<String>,
    pub company_name: Option<String>,
    pub file_path: Option<String>,
    pub qbxml_version: Option<String>,
}

pub async fn create_organization(db: &Db, name: &str) -> Result<Organization> {
    let org = Organization { organization_id: Uuid::new_v4(), name: name.to_string(), created_at: now() };
    on_db!(db, pool => {
        sqlx::query("INSERT INTO organization (organization_id, name, created_at) VALUES ($1, $2, $3)")
            .bind(org.organization_id)
            .bind(&org.name)
            .bind(org.created_at)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("an organization named {name:?} already exists")),
        other => other,
    })?;
    Ok(org)
}

/// Finds an organization by id or, failing that, by exact name.
pub async fn find_organization(db: &Db, id_or_name: &str) -> Result<Organization> {
    if let Ok(id) = Uuid::parse_str(id_or_name) {
        if let Some(org) = on_db!(db, pool => {
            sqlx::query_as::<_, Organization>("SELECT * FROM organization WHERE organization_id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }) {
            return Ok(org);
        }
    }
    on_db!(db, pool => {
        sqlx::query_as::<_, Organization>("SELECT * FROM organization WHERE name = $1")
            .bind(id_or_name)
            .fetch_optional(pool)
            .await?
    })
    .ok_or(StoreError::NotFound)
}

pub async fn count_admins(db: &Db) -> Result<i64> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM admin").fetch_one(pool).await?
    }))
}

pub async fn create_admin(db: &Db, organization_id: Uuid, email: &str, password_hash: &str) -> Result<Admin> {
    let admin = Admin {
        admin_id: Uuid::new_v4(),
        organization_id,
        email: email.to_string(),
        password_hash: password_hash.to_string(),
        created_at: now(),
    };
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO admin (admin_id, organization_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(admin.admin_id)
        .bind(admin.organization_id)
        .bind(&admin.email)
        .bind(&admin.password_hash)
        .bind(admin.created_at)
        .execute(pool)
        .await
        .map(|_| ())
    })
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("an admin with email {email:?} already exists")),
        other => other,
    })?;
    Ok(admin)
}

pub async fn create_api_token(db: &Db, organization_id: Uuid, token_hash: &str) -> Result<Uuid> {
    let id = Uuid::new_v4();
    on_db!(db, pool => {
        sqlx::query("INSERT INTO api_token (api_token_id, organization_id, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(organization_id)
            .bind(token_hash)
            .bind(now())
            .execute(pool)
            .await?;
    });
    Ok(id)
}

/// The organization an API token belongs to, if the token (given by its hash) exists.
pub async fn organization_for_token(db: &Db, token_hash: &str) -> Result<Option<Uuid>> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar::<_, Uuid>(
            "UPDATE api_token SET last_used_at = $2 WHERE token_hash = $1 RETURNING organization_id",
        )
        .bind(token_hash)
        .bind(now())
        .fetch_optional(pool)
        .await?
    }))
}

/// A braced, upper-case GUID as the Web Connector wants for OwnerID and FileID.
pub fn braced_guid() -> String {
    format!("{{{}}}", Uuid::new_v4().to_string().to_uppercase())
}

pub async fn create_connection(db: &Db, new: NewConnection<'_>) -> Result<Connection> {
    let conn = Connection {
        connection_id: Uuid::new_v4(),
        organization_id: new.organization_id,
        name: new.name.to_string(),
        username: new.username.to_string(),
        password_hash: new.password_hash.to_string(),
        owner_id: braced_guid(),
        file_id: braced_guid(),
        enabled: true,
        company_file: new.company_file.to_string(),
        run_every_minutes: new.run_every_minutes,
        qb_product: None,
        qb_version: None,
        qb_country: None,
        qb_company_name: None,
        qb_file_path: None,
        qbxml_version: None,
        qb_seen_at: None,
        created_at: now(),
    };
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO connection (connection_id, organization_id, name, username, password_hash, owner_id, file_id, \
             enabled, company_file, run_every_minutes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(conn.connection_id)
        .bind(conn.organization_id)
        .bind(&conn.name)
        .bind(&conn.username)
        .bind(&conn.password_hash)
        .bind(&conn.owner_id)
        .bind(&conn.file_id)
        .bind(conn.enabled)
        .bind(&conn.company_file)
        .bind(conn.run_every_minutes)
        .bind(conn.created_at)
        .execute(pool)
        .await
        .map(|_| ())
    })
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "a connection named {:?} or with username {:?} already exists",
            new.name, new.username
        )),
        other => other,
    })?;
    Ok(conn)
}

/// A connection by id, within an organization when one is given.
pub async fn get_connection(db: &Db, organization_id: Option<Uuid>, connection_id: Uuid) -> Result<Connection> {
    on_db!(db, pool => {
        sqlx::query_as::<_, Connection>(
            "SELECT * FROM connection WHERE connection_id = $1 AND ($2 IS NULL OR organization_id = $2)",
        )
        .bind(connection_id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await?
    })
    .ok_or(StoreError::NotFound)
}

pub async fn connection_by_username(db: &Db, username: &str) -> Result<Option<Connection>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Connection>("SELECT * FROM connection WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await?
    }))
}

pub async fn list_connections(db: &Db, organization_id: Uuid) -> Result<Vec<Connection>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Connection>("SELECT * FROM connection WHERE organization_id = $1 ORDER BY name, connection_id")
            .bind(organization_id)
            .fetch_all(pool)
            .await?
    }))
}

/// Records what the start of a run learnt about the QuickBooks install.
pub async fn record_quickbooks_info(db: &Db, connection_id: Uuid, info: &QuickBooksInfo) -> Result<()> {
    on_db!(db, pool => {
        sqlx::query(
            "UPDATE connection SET qb_product = COALESCE($2, qb_product), qb_version = COALESCE($3, qb_version), \
             qb_country = COALESCE($4, qb_country), qb_company_name = COALESCE($5, qb_company_name), \
             qb_file_path = COALESCE($6, qb_file_path), qbxml_version = COALESCE($7, qbxml_version), qb_seen_at = $8 \
             WHERE connection_id = $1",
        )
        .bind(connection_id)
        .bind(&info.product)
        .bind(&info.version)
        .bind(&info.country)
        .bind(&info.company_name)
        .bind(&info.file_path)
        .bind(&info.qbxml_version)
        .bind(now())
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Turns a connection on or off; a disabled connection's Web Connector is told there is no work.
pub async fn set_connection_enabled(db: &Db, connection_id: Uuid, enabled: bool) -> Result<()> {
    let done = on_db!(db, pool => {
        sqlx::query("UPDATE connection SET enabled = $2 WHERE connection_id = $1")
            .bind(connection_id)
            .bind(enabled)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Sets the company file the Web Connector is asked to open ("" = the file open in QuickBooks).
pub async fn set_company_file(db: &Db, connection_id: Uuid, company_file: &str) -> Result<()> {
    let done = on_db!(db, pool => {
        sqlx::query("UPDATE connection SET company_file = $2 WHERE connection_id = $1")
            .bind(connection_id)
            .bind(company_file)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

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
    /// `desktop` or `online`.
    pub kind: ConnectionKind,
    /// Online: the company's realm id, once connected.
    pub realm_id: Option<String>,
    /// Online: `pending`, `connected` or `needs_reconnect`.
    pub online_status: Option<OnlineStatus>,
    /// Online: Intuit's time of the last complete read of each list (the next `changedSince`).
    pub customers_changed_since: Option<String>,
    pub employees_changed_since: Option<String>,
    /// When each list was last read whole (the last complete list of a run or a pull).
    pub customers_listed_at: Option<DateTime<Utc>>,
    pub employees_listed_at: Option<DateTime<Utc>>,
}

crate::store::runs::text_enum! {
    /// How qbsync reaches a connection's QuickBooks (`connection.kind`).
    ConnectionKind("connection kind") {
        /// QuickBooks Desktop, through the Web Connector.
        Desktop = "desktop",
        /// QuickBooks Online, with OAuth 2.0.
        Online = "online",
    }
}

crate::store::runs::text_enum! {
    /// Where an online connection's authorization stands (`connection.online_status`).
    OnlineStatus("online status") {
        /// Waiting for an admin to grant access at Intuit.
        Pending = "pending",
        /// Tokens held; pulls work.
        Connected = "connected",
        /// Intuit refused the refresh token (`invalid_grant`): an admin must connect again.
        NeedsReconnect = "needs_reconnect",
    }
}

/// What a new connection needs; ids and GUIDs are made by [`create_connection`].
pub struct NewConnection<'a> {
    pub organization_id: Uuid,
    pub name: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub company_file: &'a str,
    pub run_every_minutes: i64,
    pub kind: ConnectionKind,
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
    if let Ok(id) = Uuid::parse_str(id_or_name)
        && let Some(org) = on_db!(db, pool => {
            sqlx::query_as::<_, Organization>("SELECT * FROM organization WHERE organization_id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
    {
        return Ok(org);
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

/// How often a token's `last_used_at` is written: reads with a bearer token must not each be a
/// write (on SQLite every write takes the one write lock).
pub const TOKEN_USE_RECORDED_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The organization an API token belongs to and the token's id, if the token (given by its
/// hash) exists. Its `last_used_at` is brought up to date when it is older than
/// [`TOKEN_USE_RECORDED_EVERY`].
pub async fn organization_for_token(db: &Db, token_hash: &str) -> Result<Option<(Uuid, Uuid)>> {
    let at = now();
    let stale = at - TOKEN_USE_RECORDED_EVERY;
    Ok(on_db!(db, pool => {
        let found = sqlx::query_as::<_, (Uuid, Uuid, Option<DateTime<Utc>>)>(
            "SELECT organization_id, api_token_id, last_used_at FROM api_token WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
        if let Some((_, _, last_used)) = &found
            && last_used.is_none_or(|last| last < stale)
        {
            sqlx::query(
                "UPDATE api_token SET last_used_at = $2 WHERE token_hash = $1 \
                 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(token_hash)
            .bind(at)
            .bind(stale)
            .execute(pool)
            .await?;
        }
        found.map(|(organization_id, token_id, _)| (organization_id, token_id))
    }))
}

/// Longest readable part of a Web Connector user name (the random suffix comes on top).
pub const USERNAME_BASE_CHARS: usize = 60;

/// `acme-cleaning-main-office`: lower-case words of the organization and connection names, at
/// most [`USERNAME_BASE_CHARS`] long.
pub fn default_username(org: &str, connection: &str) -> String {
    let mut out = String::new();
    for word in format!("{org} {connection}").split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if out.len() + word.len() + 1 > USERNAME_BASE_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    if out.is_empty() { "qbsync".into() } else { out }
}

/// A Web Connector user name as the API makes it: a readable base and a random suffix
/// (`acme-cleaning-main-office-k3m9xq2a`). User names are unique across all organizations; the
/// suffix makes a collision so unlikely that a create never has to say a name is taken, which
/// would tell one organization what another one's user names are.
pub fn unique_username(base: &str) -> String {
    format!("{base}-{}", crate::secrets::new_username_suffix())
}

/// A user name base a client asked for: 1 to [`USERNAME_BASE_CHARS`] ASCII letters, digits,
/// `.`, `_` or `-`, kept in lower case. `None` when it breaks these rules.
pub fn requested_username(text: &str) -> Option<String> {
    let text = text.trim();
    let fits = !text.is_empty()
        && text.len() <= USERNAME_BASE_CHARS
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    fits.then(|| text.to_ascii_lowercase())
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
        kind: new.kind,
        realm_id: None,
        online_status: (new.kind == ConnectionKind::Online).then_some(OnlineStatus::Pending),
        customers_changed_since: None,
        employees_changed_since: None,
        customers_listed_at: None,
        employees_listed_at: None,
    };
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO connection (connection_id, organization_id, name, username, password_hash, owner_id, file_id, \
             enabled, company_file, run_every_minutes, created_at, kind, online_status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(conn.kind)
        .bind(conn.online_status)
        .execute(pool)
        .await
        .map(|_| ())
    })
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("a connection named {:?} already exists, or its user name is taken", new.name))
        }
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
        sqlx::query_as::<_, Connection>("SELECT * FROM connection WHERE username = $1 AND kind = 'desktop'")
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

/// The changeable settings of a connection; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct ConnectionChanges {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub company_file: Option<String>,
    pub run_every_minutes: Option<i64>,
}

pub async fn update_connection(
    db: &Db,
    organization_id: Uuid,
    connection_id: Uuid,
    changes: &ConnectionChanges,
) -> Result<()> {
    let done = on_db!(db, pool => {
        sqlx::query(
            "UPDATE connection SET name = COALESCE($3, name), enabled = COALESCE($4, enabled), \
             company_file = COALESCE($5, company_file), run_every_minutes = COALESCE($6, run_every_minutes) \
             WHERE organization_id = $1 AND connection_id = $2",
        )
        .bind(organization_id)
        .bind(connection_id)
        .bind(&changes.name)
        .bind(changes.enabled)
        .bind(&changes.company_file)
        .bind(changes.run_every_minutes)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("another connection already has that name".into()),
        other => other,
    })?;
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Replaces a connection's Web Connector password hash.
pub async fn set_connection_password(
    db: &Db,
    organization_id: Uuid,
    connection_id: Uuid,
    password_hash: &str,
) -> Result<()> {
    let done = on_db!(db, pool => {
        sqlx::query("UPDATE connection SET password_hash = $3 WHERE organization_id = $1 AND connection_id = $2")
            .bind(organization_id)
            .bind(connection_id)
            .bind(password_hash)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Deletes a connection with its runs and staged records, in one transaction. Locations and
/// staff linked to its records stay, unlinked.
pub async fn delete_connection(db: &Db, organization_id: Uuid, connection_id: Uuid) -> Result<()> {
    let mut tx = db.begin().await?;
    let result: Result<u64> = async {
        Ok(super::on_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE location SET qb_customer_id = NULL WHERE qb_customer_id IN \
                 (SELECT qb_customer_id FROM qb_customer WHERE connection_id = $1 AND organization_id = $2)",
            )
            .bind(connection_id)
            .bind(organization_id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE staff SET qb_employee_id = NULL WHERE qb_employee_id IN \
                 (SELECT qb_employee_id FROM qb_employee WHERE connection_id = $1 AND organization_id = $2)",
            )
            .bind(connection_id)
            .bind(organization_id)
            .execute(&mut *conn)
            .await?;
            for sql in [
                "DELETE FROM qb_customer WHERE connection_id = $1 AND organization_id = $2",
                "DELETE FROM qb_employee WHERE connection_id = $1 AND organization_id = $2",
                "DELETE FROM list_seen WHERE connection_id = $1 \
                 AND EXISTS (SELECT 1 FROM connection WHERE connection_id = $1 AND organization_id = $2)",
                "DELETE FROM run_event WHERE run_id IN (SELECT run_id FROM run WHERE connection_id = $1 \
                 AND EXISTS (SELECT 1 FROM connection WHERE connection_id = $1 AND organization_id = $2))",
                "DELETE FROM run WHERE connection_id = $1 \
                 AND EXISTS (SELECT 1 FROM connection WHERE connection_id = $1 AND organization_id = $2)",
                "DELETE FROM qbo_token WHERE connection_id = $1 \
                 AND EXISTS (SELECT 1 FROM connection WHERE connection_id = $1 AND organization_id = $2)",
                "DELETE FROM qbo_auth_state WHERE connection_id = $1 AND organization_id = $2",
                "DELETE FROM qbo_pull_request WHERE connection_id = $1 \
                 AND EXISTS (SELECT 1 FROM connection WHERE connection_id = $1 AND organization_id = $2)",
            ] {
                sqlx::query(sql).bind(connection_id).bind(organization_id).execute(&mut *conn).await?;
            }
            sqlx::query("DELETE FROM connection WHERE connection_id = $1 AND organization_id = $2")
                .bind(connection_id)
                .bind(organization_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        }))
    }
    .await;
    let result = result.and_then(|deleted| if deleted == 1 { Ok(()) } else { Err(StoreError::NotFound) });
    tx.finish(result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_derived_from_names() {
        assert_eq!(default_username("Acme Cleaning", "Main office"), "acme-cleaning-main-office");
        assert_eq!(default_username("Café", "€"), "caf");
        assert_eq!(default_username("", ""), "qbsync");
        assert!(default_username(&"word ".repeat(100), "x").len() <= USERNAME_BASE_CHARS);
    }

    #[test]
    fn unique_usernames_keep_their_base_and_differ() {
        let a = unique_username("acme-main");
        assert!(a.starts_with("acme-main-") && a.len() == "acme-main-".len() + 8, "{a}");
        assert_ne!(a, unique_username("acme-main"));
    }

    #[test]
    fn requested_usernames_are_checked_and_lower_cased() {
        assert_eq!(requested_username(" Office.PC_1 ").as_deref(), Some("office.pc_1"));
        for bad in ["", "a b", "naïve", "x/y", &"a".repeat(USERNAME_BASE_CHARS + 1)] {
            assert_eq!(requested_username(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn guids_are_braced_and_upper_case() {
        let guid = braced_guid();
        assert_eq!(guid.len(), 38);
        assert!(guid.starts_with('{') && guid.ends_with('}'));
        assert_eq!(guid, guid.to_uppercase());
    }
}

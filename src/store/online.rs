//! QuickBooks Online connections in the database: their sealed tokens and the refresh lease,
//! OAuth states, queued pulls, the realm and status of a connection, and deletions that Change
//! Data Capture reports. Tokens arrive and leave sealed: this module never sees them in clear.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::catalog::{Connection, OnlineStatus};
use super::staging::List;
use super::{Db, Result, StoreError, Tx, now, on_db, on_tx};

/// A connection's tokens as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub connection_id: Uuid,
    pub access_token: Vec<u8>,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: Vec<u8>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub lock_owner: Option<String>,
    pub lock_until: Option<DateTime<Utc>>,
}

/// Sealed tokens to store.
pub struct SealedTokens {
    pub access_token: Vec<u8>,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: Vec<u8>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

pub async fn token_row(db: &Db, connection_id: Uuid) -> Result<Option<TokenRow>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, TokenRow>(
            "SELECT connection_id, access_token, access_expires_at, refresh_token, refresh_expires_at, version, \
             lock_owner, lock_until FROM qbo_token WHERE connection_id = $1",
        )
        .bind(connection_id)
        .fetch_optional(pool)
        .await?
    }))
}

/// Takes the refresh lease of a connection's tokens until `until`, unless another holder's
/// lease is still running. One statement: of two processes asking at once, one gets it.
pub async fn take_refresh_lease(db: &Db, connection_id: Uuid, owner: &str, until: DateTime<Utc>) -> Result<bool> {
    let at = now();
    let taken = on_db!(db, pool => {
        sqlx::query(
            "UPDATE qbo_token SET lock_owner = $2, lock_until = $3 \
             WHERE connection_id = $1 AND (lock_until IS NULL OR lock_until < $4 OR lock_owner = $2)",
        )
        .bind(connection_id)
        .bind(owner)
        .bind(until)
        .bind(at)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(taken == 1)
}

/// Gives the lease back without changing the tokens.
pub async fn release_refresh_lease(db: &Db, connection_id: Uuid, owner: &str) -> Result<()> {
    on_db!(db, pool => {
        sqlx::query("UPDATE qbo_token SET lock_owner = NULL, lock_until = NULL WHERE connection_id = $1 AND lock_owner = $2")
            .bind(connection_id)
            .bind(owner)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Stores refreshed tokens and gives the lease back, in one statement, so the new refresh
/// token is saved before the new access token is used. A compare-and-set on `version` (the
/// tokens the refresh started from): false, writing nothing, if they changed meanwhile.
pub async fn store_refreshed(db: &Db, connection_id: Uuid, version: i64, tokens: &SealedTokens) -> Result<bool> {
    let stored = on_db!(db, pool => {
        sqlx::query(
            "UPDATE qbo_token SET access_token = $3, access_expires_at = $4, refresh_token = $5, \
             refresh_expires_at = COALESCE($6, refresh_expires_at), version = version + 1, lock_owner = NULL, \
             lock_until = NULL, updated_at = $7 WHERE connection_id = $1 AND version = $2",
        )
        .bind(connection_id)
        .bind(version)
        .bind(&tokens.access_token)
        .bind(tokens.access_expires_at)
        .bind(&tokens.refresh_token)
        .bind(tokens.refresh_expires_at)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(stored == 1)
}

/// Ends the authorization of an online connection: the company, its name and first tokens, all
/// in one transaction. A connection already bound to another company is refused (its staged
/// records are that company's).
pub async fn connect(
    db: &Db,
    connection_id: Uuid,
    realm_id: &str,
    company_name: Option<&str>,
    tokens: &SealedTokens,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let result: Result<()> = async {
        on_tx!(&mut tx, conn => {
            let current: Option<Option<String>> =
                sqlx::query_scalar("SELECT realm_id FROM connection WHERE connection_id = $1 AND kind = 'online'")
                    .bind(connection_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            match current {
                None => return Err(StoreError::NotFound),
                Some(Some(existing)) if existing != realm_id => {
                    return Err(StoreError::Conflict(format!(
                        "this connection belongs to QuickBooks Online company {existing}; \
                         add another connection for company {realm_id}"
                    )));
                }
                Some(_) => {}
            }
            sqlx::query(
                "UPDATE connection SET realm_id = $2, online_status = $3, qb_company_name = COALESCE($4, qb_company_name), \
                 qb_seen_at = $5 WHERE connection_id = $1",
            )
            .bind(connection_id)
            .bind(realm_id)
            .bind(OnlineStatus::Connected)
            .bind(company_name)
            .bind(now())
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM qbo_token WHERE connection_id = $1").bind(connection_id).execute(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO qbo_token (connection_id, access_token, access_expires_at, refresh_token, refresh_expires_at, \
                 version, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
            )
            .bind(connection_id)
            .bind(&tokens.access_token)
            .bind(tokens.access_expires_at)
            .bind(&tokens.refresh_token)
            .bind(tokens.refresh_expires_at)
            .bind(now())
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
    .await;
    tx.finish(result).await
}

/// Forgets a connection's tokens and sets its status (`pending` after a disconnect,
/// `needs_reconnect` after Intuit refused the refresh token).
pub async fn drop_tokens(db: &Db, connection_id: Uuid, status: OnlineStatus) -> Result<()> {
    let mut tx = db.begin().await?;
    let result: Result<()> = async {
        on_tx!(&mut tx, conn => {
            sqlx::query("DELETE FROM qbo_token WHERE connection_id = $1").bind(connection_id).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM qbo_pull_request WHERE connection_id = $1")
                .bind(connection_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE connection SET online_status = $2 WHERE connection_id = $1 AND kind = 'online'")
                .bind(connection_id)
                .bind(status)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }
    .await;
    tx.finish(result).await
}

/// An OAuth state handed out.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuthState {
    pub organization_id: Uuid,
    pub connection_id: Uuid,
    pub requested_by: String,
    /// SHA-256 of the cookie binding the state to the browser that asked, if one did.
    pub browser_hash: Option<String>,
}

pub async fn add_auth_state(db: &Db, state_hash: &str, state: &AuthState, expires_at: DateTime<Utc>) -> Result<()> {
    on_db!(db, pool => {
        // States that ran out are of no use to anyone: clear them as new ones are made.
        sqlx::query("DELETE FROM qbo_auth_state WHERE expires_at < $1").bind(now()).execute(pool).await?;
        sqlx::query(
            "INSERT INTO qbo_auth_state (state_hash, organization_id, connection_id, requested_by, browser_hash, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(state_hash)
        .bind(state.organization_id)
        .bind(state.connection_id)
        .bind(&state.requested_by)
        .bind(&state.browser_hash)
        .bind(expires_at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Uses a state: answers it once, if it exists and has not run out; every later use, from any
/// process, gets None.
pub async fn use_auth_state(db: &Db, state_hash: &str) -> Result<Option<AuthState>> {
    let at = now();
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, AuthState>(
            "UPDATE qbo_auth_state SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING organization_id, connection_id, requested_by, browser_hash",
        )
        .bind(state_hash)
        .bind(at)
        .fetch_optional(pool)
        .await?
    }))
}

/// The online connections of a company, in every organization that connected it.
pub async fn connections_for_realm(db: &Db, realm_id: &str) -> Result<Vec<Connection>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Connection>(
            "SELECT * FROM connection WHERE realm_id = $1 AND kind = 'online' ORDER BY created_at",
        )
        .bind(realm_id)
        .fetch_all(pool)
        .await?
    }))
}

/// A pull waiting to start.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PullRequest {
    pub connection_id: Uuid,
    pub customers: bool,
    pub employees: bool,
    pub trigger: super::runs::Trigger,
    pub requested_at: DateTime<Utc>,
}

/// Queues a pull of some lists of a connection, adding them to one already queued.
pub async fn queue_pull(
    db: &Db,
    connection_id: Uuid,
    customers: bool,
    employees: bool,
    trigger: super::runs::Trigger,
) -> Result<()> {
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO qbo_pull_request (connection_id, customers, employees, trigger, requested_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (connection_id) DO UPDATE SET \
             customers = qbo_pull_request.customers OR excluded.customers, \
             employees = qbo_pull_request.employees OR excluded.employees",
        )
        .bind(connection_id)
        .bind(customers)
        .bind(employees)
        .bind(trigger)
        .bind(now())
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The queued pulls, oldest first.
pub async fn queued_pulls(db: &Db, limit: i64) -> Result<Vec<PullRequest>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, PullRequest>("SELECT * FROM qbo_pull_request ORDER BY requested_at LIMIT $1")
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}

/// Takes a queued pull off the queue. Of several processes claiming it, one gets it.
pub async fn claim_pull(db: &Db, request: &PullRequest) -> Result<bool> {
    let claimed = on_db!(db, pool => {
        sqlx::query(
            "DELETE FROM qbo_pull_request WHERE connection_id = $1 AND customers = $2 AND employees = $3 \
             AND requested_at = $4",
        )
        .bind(request.connection_id)
        .bind(request.customers)
        .bind(request.employees)
        .bind(request.requested_at)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(claimed == 1)
}

/// Remembers Intuit's time of a list's last complete read (the next `changedSince`).
pub async fn set_changed_since(tx: &mut Tx, connection_id: Uuid, list: List, time: &str) -> Result<()> {
    let sql = match list {
        List::Customers => "UPDATE connection SET customers_changed_since = $2 WHERE connection_id = $1",
        List::Employees => "UPDATE connection SET employees_changed_since = $2 WHERE connection_id = $1",
    };
    on_tx!(tx, conn => {
        sqlx::query(sql).bind(connection_id).bind(time).execute(&mut *conn).await?;
    });
    Ok(())
}

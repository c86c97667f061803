//! Admin sign-in: browser sessions (stored as hashes, with a CSRF token each) and the one-time
//! setup tokens that create the first organization and admin.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::catalog::{Admin, Organization};
use super::{Db, Result, StoreError, now, on_db, on_tx};

/// A signed-in admin, as a request sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionInfo {
    pub admin_id: Uuid,
    pub email: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn admin_by_email(db: &Db, email: &str) -> Result<Option<Admin>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, Admin>("SELECT * FROM admin WHERE email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await?
    }))
}

/// Stores a new session for an admin (by the hash of its cookie value).
pub async fn create_session(
    db: &Db,
    admin: &Admin,
    session_hash: &str,
    csrf_token: &str,
    lifetime: Duration,
) -> Result<()> {
    let at = now();
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO admin_session (admin_session_id, session_hash, admin_id, organization_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::new_v4())
        .bind(session_hash)
        .bind(admin.admin_id)
        .bind(admin.organization_id)
        .bind(csrf_token)
        .bind(at)
        .bind(at + lifetime)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The live session with this cookie hash, if any.
pub async fn session(db: &Db, session_hash: &str) -> Result<Option<SessionInfo>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as::<_, SessionInfo>(
            "SELECT s.admin_id, a.email, s.organization_id, o.name AS organization_name, s.csrf_token, s.expires_at \
             FROM admin_session s JOIN admin a ON a.admin_id = s.admin_id \
             JOIN organization o ON o.organization_id = s.organization_id \
             WHERE s.session_hash = $1 AND s.expires_at > $2",
        )
        .bind(session_hash)
        .bind(now())
        .fetch_optional(pool)
        .await?
    }))
}

pub async fn delete_session(db: &Db, session_hash: &str) -> Result<()> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM admin_session WHERE session_hash = $1 OR expires_at < $2")
            .bind(session_hash)
            .bind(now())
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Records a setup token (by hash) that can create the first admin until `expires_at`.
/// `link_token` is the token itself, kept only so that a restart can print the same link again
/// (see [`live_setup_link`]); it is erased when the link is used.
pub async fn create_setup_token(db: &Db, token_hash: &str, link_token: &str, expires_at: DateTime<Utc>) -> Result<()> {
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO setup_token (setup_token_id, token_hash, created_at, expires_at, link_token) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(token_hash)
        .bind(now())
        .bind(expires_at)
        .bind(link_token)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The token of the newest unused, unexpired setup link, after deleting the expired ones.
pub async fn live_setup_link(db: &Db) -> Result<Option<String>> {
    let at = now();
    Ok(on_db!(db, pool => {
        sqlx::query("DELETE FROM setup_token WHERE used_at IS NULL AND (expires_at IS NULL OR expires_at <= $1)")
            .bind(at)
            .execute(pool)
            .await?;
        sqlx::query_scalar::<_, String>(
            "SELECT link_token FROM setup_token WHERE used_at IS NULL AND expires_at > $1 \
             AND link_token IS NOT NULL ORDER BY created_at DESC LIMIT 1",
        )
        .bind(at)
        .fetch_optional(pool)
        .await?
    }))
}

/// Whether a setup token (by hash) can still create the first admin.
pub async fn setup_token_is_valid(db: &Db, token_hash: &str) -> Result<bool> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM setup_token WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             AND NOT EXISTS (SELECT 1 FROM admin)",
        )
        .bind(token_hash)
        .bind(now())
        .fetch_one(pool)
        .await?
    }) > 0)
}

/// Uses a setup token: creates the first organization and admin and retires every setup token,
/// in one transaction. [`StoreError::NotFound`] when the token is unknown, used, expired, or an admin
/// already exists.
pub async fn complete_setup(
    db: &Db,
    token_hash: &str,
    organization_name: &str,
    email: &str,
    password_hash: &str,
) -> Result<(Organization, Admin)> {
    let mut tx = db.begin().await?;
    let at = now();
    let claimed = on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE setup_token SET used_at = $2, link_token = NULL WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 AND NOT EXISTS (SELECT 1 FROM admin)",
        )
        .bind(token_hash)
        .bind(at)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if claimed != 1 {
        tx.rollback().await?;
        return Err(StoreError::NotFound);
    }
    let org = Organization { organization_id: Uuid::new_v4(), name: organization_name.to_string(), created_at: at };
    let admin = Admin {
        admin_id: Uuid::new_v4(),
        organization_id: org.organization_id,
        email: email.to_string(),
        password_hash: password_hash.to_string(),
        created_at: at,
    };
    let result: Result<()> = async {
        on_tx!(&mut tx, conn => {
            sqlx::query("INSERT INTO organization (organization_id, name, created_at) VALUES ($1, $2, $3)")
                .bind(org.organization_id)
                .bind(&org.name)
                .bind(at)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO admin (admin_id, organization_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(admin.admin_id)
            .bind(org.organization_id)
            .bind(&admin.email)
            .bind(&admin.password_hash)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE setup_token SET used_at = $1, link_token = NULL WHERE used_at IS NULL")
                .bind(at)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }
    .await;
    let result = result.map(|()| (org, admin)).map_err(|err| match err {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("an organization named {organization_name:?} already exists"))
        }
        other => other,
    });
    tx.finish(result).await
}

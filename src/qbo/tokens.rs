//! A connection's access token: used while it has more than a few minutes left, refreshed
//! otherwise, by exactly one process at a time.
//!
//! A refresh takes the lease on the connection's `qbo_token` row (one UPDATE; see
//! `store::online`), reads the row again (another process may have just refreshed), and only
//! then calls Intuit. The new tokens are stored and the lease given back in one statement,
//! before the new access token is used: Intuit rotates refresh tokens, and a lost one means the
//! admin must connect again. A process that finds the lease taken waits and reads again.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::oauth::{OAuthError, Tokens};
use super::{Online, OnlineError};
use crate::store::catalog::OnlineStatus;
use crate::store::online::{self, SealedTokens, TokenRow};
use crate::store::{StoreError, now};
use crate::vault::Vault;

/// Refresh when the access token has less than this left.
const MARGIN: chrono::Duration = chrono::Duration::minutes(5);
/// How long a refresh may hold the lease: longer than a token call can take (its transport
/// gives up after 10 s to connect and 25 s to answer).
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// What a sealed token is bound to: its kind and its connection.
pub fn context(kind: &str, connection_id: Uuid) -> String {
    format!("qbo-{kind}:{connection_id}")
}

pub fn seal(vault: &Vault, connection_id: Uuid, tokens: &Tokens) -> Result<SealedTokens, OnlineError> {
    let at = Utc::now();
    Ok(SealedTokens {
        access_token: vault.seal(&tokens.access_token, &context("access", connection_id)),
        access_expires_at: at + chrono::Duration::seconds(tokens.expires_in.max(0)),
        refresh_token: vault.seal(&tokens.refresh_token, &context("refresh", connection_id)),
        refresh_expires_at: tokens.refresh_expires_in.map(|s| at + chrono::Duration::seconds(s.max(0))),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the connection has no QuickBooks Online authorization: connect it")]
    NotConnected,
    #[error("QuickBooks Online refused the refresh token ({0}); the connection needs to be connected again")]
    NeedsReconnect(String),
    #[error("refreshing the access token failed: {0}")]
    Refresh(OAuthError),
    #[error("another process held the token refresh for too long")]
    LeaseTimeout,
    #[error("the stored tokens cannot be opened with this server's secret key ({0}); connect again")]
    Unsealable(crate::vault::VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Online(#[from] OnlineError),
}

impl Online {
    /// An access token of the connection good for a few minutes more, and the version of the
    /// stored tokens it came from. `rejected`: the version whose access token Intuit just
    /// answered 401 to (then a refresh is forced, once, unless another process already did it).
    pub async fn access_token(&self, connection_id: Uuid, rejected: Option<i64>) -> Result<(String, i64), TokenError> {
        let vault = self.vault()?;
        let oauth = self.oauth()?;
        let db = &self.inner.db;
        let usable = |row: &TokenRow| row.access_expires_at - MARGIN > now() && Some(row.version) != rejected;
        let open_access = |row: &TokenRow| {
            vault.open(&row.access_token, &context("access", connection_id)).map_err(TokenError::Unsealable)
        };
        let deadline = tokio::time::Instant::now() + LEASE.to_std().unwrap_or(Duration::from_secs(60)) * 2;
        loop {
            let row = online::token_row(db, connection_id).await?.ok_or(TokenError::NotConnected)?;
            if usable(&row) {
                return Ok((open_access(&row)?, row.version));
            }
            let owner = &self.inner.process;
            if online::take_refresh_lease(db, connection_id, owner, now() + LEASE).await? {
                // Read again inside the lease: another process may have refreshed meanwhile.
                let row = match online::token_row(db, connection_id).await? {
                    Some(row) => row,
                    None => return Err(TokenError::NotConnected),
                };
                if usable(&row) {
                    online::release_refresh_lease(db, connection_id, owner).await?;
                    return Ok((open_access(&row)?, row.version));
                }
                return self.refresh_held(connection_id, &row, vault, oauth).await;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(TokenError::LeaseTimeout);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The refresh itself, with the lease held.
    async fn refresh_held(
        &self,
        connection_id: Uuid,
        row: &TokenRow,
        vault: &Vault,
        oauth: &super::oauth::Client,
    ) -> Result<(String, i64), TokenError> {
        let db = &self.inner.db;
        let owner = &self.inner.process;
        let refresh_token = match vault.open(&row.refresh_token, &context("refresh", connection_id)) {
            Ok(token) => token,
            Err(err) => {
                online::release_refresh_lease(db, connection_id, owner).await?;
                return Err(TokenError::Unsealable(err));
            }
        };
        match oauth.refresh(&self.inner.oauth_transport, &refresh_token).await {
            Ok(tokens) => {
                let sealed = seal(vault, connection_id, &tokens)?;
                // The new refresh token is stored before anything uses the new access token.
                let mut stored = false;
                for attempt in 0..3 {
                    match online::store_refreshed(db, connection_id, row.version, &sealed).await {
                        Ok(done) => {
                            stored = done;
                            break;
                        }
                        Err(err) if attempt < 2 => {
                            tracing::warn!(connection = %connection_id, error = %err, "storing refreshed tokens failed; trying again");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(err) => return Err(err.into()),
                    }
                }
                if !stored {
                    return Err(TokenError::Store(StoreError::Conflict(
                        "the tokens changed while they were being refreshed".into(),
                    )));
                }
                tracing::info!(connection = %connection_id, version = row.version + 1, "access token refreshed");
                Ok((tokens.access_token, row.version + 1))
            }
            Err(OAuthError::InvalidGrant { description, intuit_tid }) => {
                tracing::warn!(connection = %connection_id, ?intuit_tid, "refresh token refused: needs reconnect");
                online::drop_tokens(db, connection_id, OnlineStatus::NeedsReconnect).await?;
                let detail = match (description, intuit_tid) {
                    (Some(d), Some(t)) => format!("invalid_grant: {d}; intuit_tid {t}"),
                    (Some(d), None) => format!("invalid_grant: {d}"),
                    (None, Some(t)) => format!("invalid_grant; intuit_tid {t}"),
                    (None, None) => "invalid_grant".into(),
                };
                Err(TokenError::NeedsReconnect(detail))
            }
            Err(err) => {
                online::release_refresh_lease(db, connection_id, owner).await?;
                Err(TokenError::Refresh(err))
            }
        }
    }
}

//! The fake's OAuth 2.0 authorization server state: authorization codes, grants (one per
//! consent), refresh and access tokens, with Intuit's rules (guide §1). Pure apart from drawing
//! random tokens: the time comes in as epoch milliseconds.
//!
//! - A code is single-use, lives 10 minutes and is bound to the `redirect_uri` it was issued for.
//! - Every refresh issues a new refresh token and the previous one stops working at once. Intuit
//!   keeps the old one valid for 24 hours; the fake is stricter on purpose, so a client that
//!   loses a rotation finds out in tests.
//! - Access tokens live `access_ttl`; a refresh does not end the ones issued before it.
//! - Revoking (by the client, or the user disconnecting the app) ends the grant: its refresh
//!   token answers `invalid_grant` and its access tokens 401.

use std::collections::HashMap;

/// How long an authorization code can be exchanged.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// The rolling validity of a refresh token Intuit reports: about 101 days.
pub const REFRESH_TOKEN_TTL_SECS: i64 = 8_726_400;

/// An OAuth error answer: `400 {"error": code, "error_description": description}` (or 401 for
/// `invalid_client`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn invalid_grant(description: &str) -> OAuthError {
        OAuthError { code: "invalid_grant", description: description.to_string() }
    }
    pub fn invalid_request(description: &str) -> OAuthError {
        OAuthError { code: "invalid_request", description: description.to_string() }
    }
}

/// What a successful token request hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in_secs: i64,
}

/// Why the API refuses a bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRejection {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

impl TokenRejection {
    /// The `detail` of the 401 body.
    pub fn detail(self) -> &'static str {
        match self {
            TokenRejection::Missing => "Authorization header is missing or is not a Bearer token",
            TokenRejection::Unknown => "Invalid bearer token",
            TokenRejection::Expired => "Token expired",
            TokenRejection::Revoked => "Token revoked",
        }
    }
}

#[derive(Clone, Debug)]
struct Code {
    redirect_uri: String,
    expires_ms: i64,
    used: bool,
}

#[derive(Clone, Debug)]
struct Grant {
    refresh_token: String,
    refresh_expires_ms: i64,
    revoked: bool,
}

#[derive(Clone, Debug)]
struct Access {
    grant: u64,
    expires_ms: i64,
}

/// All OAuth state of the fake.
#[derive(Debug)]
pub struct AuthState {
    access_ttl_ms: i64,
    codes: HashMap<String, Code>,
    grants: HashMap<u64, Grant>,
    /// Every refresh token ever issued, to its grant (old ones stay, to answer `invalid_grant`).
    refresh_tokens: HashMap<String, u64>,
    access_tokens: HashMap<String, Access>,
    next_grant: u64,
}

/// A random token: `prefix` then `bytes` random bytes in URL-safe base64.
pub fn random_token(prefix: &str, bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the system's random source");
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

impl AuthState {
    pub fn new(access_ttl_ms: i64) -> AuthState {
        AuthState {
            access_ttl_ms,
            codes: HashMap::new(),
            grants: HashMap::new(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            next_grant: 1,
        }
    }

    /// The user consented: a new code for `redirect_uri`.
    pub fn issue_code(&mut self, redirect_uri: &str, now_ms: i64) -> String {
        self.codes.retain(|_, c| c.expires_ms > now_ms - CODE_TTL_MS);
        let code = random_token("AB11", 36);
        self.codes.insert(
            code.clone(),
            Code { redirect_uri: redirect_uri.to_string(), expires_ms: now_ms + CODE_TTL_MS, used: false },
        );
        code
    }

    /// `grant_type=authorization_code`.
    pub fn exchange_code(&mut self, code: &str, redirect_uri: &str, now_ms: i64) -> Result<TokenSet, OAuthError> {
        let entry = self.codes.get_mut(code).ok_or_else(|| OAuthError::invalid_grant("Invalid authorization code"))?;
        if entry.used {
            return Err(OAuthError::invalid_grant("Authorization code has already been used"));
        }
        if entry.expires_ms <= now_ms {
            return Err(OAuthError::invalid_grant("Authorization code expired"));
        }
        if entry.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the one authorized"));
        }
        entry.used = true;
        let grant = self.next_grant;
        self.next_grant += 1;
        let refresh_token = random_token("AB11", 36);
        self.refresh_tokens.insert(refresh_token.clone(), grant);
        self.grants.insert(
            grant,
            Grant {
                refresh_token: refresh_token.clone(),
                refresh_expires_ms: now_ms + REFRESH_TOKEN_TTL_SECS * 1000,
                revoked: false,
            },
        );
        Ok(TokenSet { access_token: self.issue_access(grant, now_ms), refresh_token, expires_in_secs: self.ttl_secs() })
    }

    /// `grant_type=refresh_token`: rotates the refresh token and issues an access token.
    pub fn refresh(&mut self, refresh_token: &str, now_ms: i64) -> Result<TokenSet, OAuthError> {
        let grant_id = *self
            .refresh_tokens
            .get(refresh_token)
            .ok_or_else(|| OAuthError::invalid_grant("Incorrect or invalid refresh token"))?;
        let grant = self.grants.get_mut(&grant_id).expect("every refresh token has its grant");
        if grant.revoked {
            return Err(OAuthError::invalid_grant("Token revoked"));
        }
        if grant.refresh_token != refresh_token {
            return Err(OAuthError::invalid_grant("Incorrect or invalid refresh token"));
        }
        if grant.refresh_expires_ms <= now_ms {
            return Err(OAuthError::invalid_grant("Refresh token expired"));
        }
        let rotated = random_token("AB11", 36);
        grant.refresh_token = rotated.clone();
        grant.refresh_expires_ms = now_ms + REFRESH_TOKEN_TTL_SECS * 1000;
        self.refresh_tokens.insert(rotated.clone(), grant_id);
        Ok(TokenSet {
            access_token: self.issue_access(grant_id, now_ms),
            refresh_token: rotated,
            expires_in_secs: self.ttl_secs(),
        })
    }

    /// Revokes the grant a refresh or access token belongs to. Unknown tokens are ignored
    /// (RFC 7009: the answer is 200 either way). Returns whether a grant was revoked.
    pub fn revoke(&mut self, token: &str) -> bool {
        let grant = self.refresh_tokens.get(token).copied().or_else(|| self.access_tokens.get(token).map(|a| a.grant));
        match grant.and_then(|g| self.grants.get_mut(&g)) {
            Some(grant) if !grant.revoked => {
                grant.revoked = true;
                true
            }
            _ => false,
        }
    }

    /// The user disconnected the app in QuickBooks: every grant ends.
    pub fn revoke_all(&mut self) {
        for grant in self.grants.values_mut() {
            grant.revoked = true;
        }
    }

    /// Every access token issued so far expires now.
    pub fn expire_all_access(&mut self, now_ms: i64) {
        for access in self.access_tokens.values_mut() {
            access.expires_ms = access.expires_ms.min(now_ms);
        }
    }

    /// Checks an API call's bearer token.
    pub fn check_access(&self, token: Option<&str>, now_ms: i64) -> Result<(), TokenRejection> {
        let token = token.ok_or(TokenRejection::Missing)?;
        let access = self.access_tokens.get(token).ok_or(TokenRejection::Unknown)?;
        if self.grants.get(&access.grant).is_none_or(|g| g.revoked) {
            return Err(TokenRejection::Revoked);
        }
        if access.expires_ms <= now_ms {
            return Err(TokenRejection::Expired);
        }
        Ok(())
    }

    fn ttl_secs(&self) -> i64 {
        self.access_ttl_ms / 1000
    }

    fn issue_access(&mut self, grant: u64, now_ms: i64) -> String {
        // Forget tokens that expired a day ago; they would answer 401 as unknown tokens do.
        self.access_tokens.retain(|_, a| a.expires_ms > now_ms - 86_400_000);
        let token = random_token("eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..", 96);
        self.access_tokens.insert(token.clone(), Access { grant, expires_ms: now_ms + self.access_ttl_ms });
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_784_116_800_000;
    const CB: &str = "http://127.0.0.1:8080/qbo/callback";

    #[test]
    fn a_code_is_single_use_bound_to_its_redirect_uri_and_expires() {
        let mut auth = AuthState::new(3_600_000);
        let code = auth.issue_code(CB, NOW);
        assert_eq!(auth.exchange_code(&code, "http://evil/cb", NOW).unwrap_err().code, "invalid_grant");
        let tokens = auth.exchange_code(&code, CB, NOW + 1000).unwrap();
        assert_eq!(tokens.expires_in_secs, 3600);
        assert_eq!(auth.exchange_code(&code, CB, NOW + 2000).unwrap_err().code, "invalid_grant");
        let late = auth.issue_code(CB, NOW);
        assert_eq!(auth.exchange_code(&late, CB, NOW + CODE_TTL_MS).unwrap_err().code, "invalid_grant");
        assert_eq!(auth.exchange_code("made-up", CB, NOW).unwrap_err().code, "invalid_grant");
    }

    #[test]
    fn refresh_rotates_and_the_old_refresh_token_dies_at_once() {
        let mut auth = AuthState::new(3_600_000);
        let first = {
            let code = auth.issue_code(CB, NOW);
            auth.exchange_code(&code, CB, NOW)
        }
        .unwrap();
        let second = auth.refresh(&first.refresh_token, NOW + 10).unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(auth.refresh(&first.refresh_token, NOW + 20).unwrap_err().code, "invalid_grant");
        // Old access tokens stay valid until they expire.
        assert_eq!(auth.check_access(Some(&first.access_token), NOW + 30), Ok(()));
        assert_eq!(auth.check_access(Some(&first.access_token), NOW + 3_600_000), Err(TokenRejection::Expired));
        let third = auth.refresh(&second.refresh_token, NOW + 40).unwrap();
        assert_eq!(auth.check_access(Some(&third.access_token), NOW + 50), Ok(()));
    }

    #[test]
    fn expiry_and_revocation_end_access() {
        let mut auth = AuthState::new(3_600_000);
        let tokens = {
            let code = auth.issue_code(CB, NOW);
            auth.exchange_code(&code, CB, NOW)
        }
        .unwrap();
        assert_eq!(auth.check_access(None, NOW), Err(TokenRejection::Missing));
        assert_eq!(auth.check_access(Some("nope"), NOW), Err(TokenRejection::Unknown));
        auth.expire_all_access(NOW + 5);
        assert_eq!(auth.check_access(Some(&tokens.access_token), NOW + 5), Err(TokenRejection::Expired));
        // A refresh still works after expiry, and its token is good.
        let fresh = auth.refresh(&tokens.refresh_token, NOW + 6).unwrap();
        assert_eq!(auth.check_access(Some(&fresh.access_token), NOW + 7), Ok(()));
        assert!(auth.revoke(&fresh.access_token));
        assert!(!auth.revoke(&fresh.access_token));
        assert_eq!(auth.check_access(Some(&fresh.access_token), NOW + 8), Err(TokenRejection::Revoked));
        assert_eq!(auth.refresh(&fresh.refresh_token, NOW + 9).unwrap_err().code, "invalid_grant");
        // A grant made later is unaffected; revoke_all ends it too.
        let other = {
            let code = auth.issue_code(CB, NOW);
            auth.exchange_code(&code, CB, NOW + 10)
        }
        .unwrap();
        assert_eq!(auth.check_access(Some(&other.access_token), NOW + 11), Ok(()));
        auth.revoke_all();
        assert_eq!(auth.refresh(&other.refresh_token, NOW + 12).unwrap_err().code, "invalid_grant");
    }
}

//! Intuit's OAuth 2.0 (RFC 6749, authorization code grant): the consent URL, and the token
//! endpoint's two grants and revocation, with HTTP Basic client credentials and a form body.
//! Building requests and reading answers is pure; sending them is `transport`'s.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::transport::{Answer, OwnedRequest, Transport, TransportError};

/// The scope qbsync asks for: the Accounting API, nothing else.
pub const SCOPE: &str = "com.intuit.quickbooks.accounting";

/// The app's OAuth client and Intuit's endpoints.
#[derive(Clone, Debug)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: String,
    pub redirect_uri: String,
}

/// Tokens from the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token lives (3600 at Intuit).
    pub expires_in: i64,
    /// Seconds the refresh token lives if unused (about 100 days at Intuit).
    pub refresh_expires_in: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The code or refresh token is invalid, expired, revoked or already rotated: only a new
    /// authorization helps. Never retried.
    #[error("QuickBooks Online refused the grant (invalid_grant{}){}", describe(.description), tid(.intuit_tid))]
    InvalidGrant { description: Option<String>, intuit_tid: Option<String> },
    /// Any other refusal (`invalid_client`: wrong client id or secret; ...).
    #[error("QuickBooks Online's token endpoint answered {status} {error}{}{}", describe(.description), tid(.intuit_tid))]
    Refused { status: u16, error: String, description: Option<String>, intuit_tid: Option<String> },
    #[error(transparent)]
    Transport(#[from] TransportError),
}

fn describe(description: &Option<String>) -> String {
    description.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

fn tid(tid: &Option<String>) -> String {
    tid.as_ref().map(|t| format!(" (intuit_tid {t})")).unwrap_or_default()
}

impl Client {
    /// Where to send the admin's browser to grant access.
    pub fn authorize_url(&self, state: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", SCOPE)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", state)
            .finish();
        let separator = if self.auth_url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{query}", self.auth_url)
    }

    fn basic(&self) -> String {
        format!("Basic {}", BASE64.encode(format!("{}:{}", self.client_id, self.client_secret)))
    }

    fn token_request(&self, form: Vec<(String, String)>) -> OwnedRequest {
        OwnedRequest {
            method: "POST",
            url: self.token_url.clone(),
            headers: vec![("Authorization", self.basic()), ("Accept", "application/json".into())],
            form: Some(form),
            json: None,
        }
    }

    /// Exchanges the code the callback brought.
    pub async fn exchange_code(&self, transport: &Transport, code: &str) -> Result<Tokens, OAuthError> {
        let form = vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.into()),
            ("redirect_uri".into(), self.redirect_uri.clone()),
        ];
        read_tokens(transport.send_async(self.token_request(form)).await?)
    }

    /// A new access token (and, Intuit rotating them, usually a new refresh token).
    pub async fn refresh(&self, transport: &Transport, refresh_token: &str) -> Result<Tokens, OAuthError> {
        let form = vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), refresh_token.into())];
        read_tokens(transport.send_async(self.token_request(form)).await?)
    }

    /// Revokes the grant a token belongs to.
    pub async fn revoke(&self, transport: &Transport, token: &str) -> Result<(), OAuthError> {
        let request = OwnedRequest {
            method: "POST",
            url: self.revoke_url.clone(),
            headers: vec![("Authorization", self.basic()), ("Accept", "application/json".into())],
            form: None,
            json: Some(serde_json::json!({ "token": token })),
        };
        let answer = transport.send_async(request).await?;
        if answer.is_success() { Ok(()) } else { Err(refusal(&answer)) }
    }
}

/// Reads a token endpoint's answer.
pub fn read_tokens(answer: Answer) -> Result<Tokens, OAuthError> {
    #[derive(Deserialize)]
    struct Body {
        access_token: String,
        refresh_token: String,
        #[serde(default)]
        expires_in: Option<i64>,
        #[serde(default)]
        x_refresh_token_expires_in: Option<i64>,
    }
    if !answer.is_success() {
        return Err(refusal(&answer));
    }
    let body: Body = serde_json::from_slice(&answer.body).map_err(|err| OAuthError::Refused {
        status: answer.status,
        error: "unreadable answer".into(),
        description: Some(err.to_string()),
        intuit_tid: answer.intuit_tid.clone(),
    })?;
    Ok(Tokens {
        access_token: body.access_token,
        refresh_token: body.refresh_token,
        expires_in: body.expires_in.unwrap_or(3600),
        refresh_expires_in: body.x_refresh_token_expires_in,
    })
}

fn refusal(answer: &Answer) -> OAuthError {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        error: Option<String>,
        error_description: Option<String>,
    }
    let body: Body = serde_json::from_slice(&answer.body).unwrap_or_default();
    let intuit_tid = answer.intuit_tid.clone();
    match body.error.as_deref() {
        Some("invalid_grant") => OAuthError::InvalidGrant { description: body.error_description, intuit_tid },
        _ => OAuthError::Refused {
            status: answer.status,
            error: body.error.unwrap_or_else(|| "without an error code".into()),
            description: body.error_description,
            intuit_tid,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            client_id: "ABc123".into(),
            client_secret: "s3cret".into(),
            auth_url: "https://appcenter.intuit.com/connect/oauth2".into(),
            token_url: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer".into(),
            revoke_url: "https://developer.api.intuit.com/v2/oauth2/tokens/revoke".into(),
            redirect_uri: "https://qbsync.example.com/qbo/callback".into(),
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, body: body.as_bytes().to_vec(), intuit_tid: Some("1-abc".into()), retry_after: None }
    }

    #[test]
    fn the_consent_url_carries_every_parameter_encoded() {
        let url = client().authorize_url("st&te=1");
        assert_eq!(
            url,
            "https://appcenter.intuit.com/connect/oauth2?client_id=ABc123&response_type=code\
             &scope=com.intuit.quickbooks.accounting&redirect_uri=https%3A%2F%2Fqbsync.example.com%2Fqbo%2Fcallback\
             &state=st%26te%3D1"
        );
        assert_eq!(client().basic(), "Basic QUJjMTIzOnMzY3JldA==");
    }

    #[test]
    fn token_answers_and_refusals_are_told_apart() {
        let ok = read_tokens(answer(
            200,
            r#"{"token_type":"bearer","expires_in":3600,"refresh_token":"R2","x_refresh_token_expires_in":8726400,"access_token":"A2"}"#,
        ))
        .unwrap();
        assert_eq!(
            ok,
            Tokens {
                access_token: "A2".into(),
                refresh_token: "R2".into(),
                expires_in: 3600,
                refresh_expires_in: Some(8726400)
            }
        );
        let grant =
            read_tokens(answer(400, r#"{"error_description":"Token invalid","error":"invalid_grant"}"#)).unwrap_err();
        assert!(matches!(grant, OAuthError::InvalidGrant { .. }));
        assert!(grant.to_string().contains("Token invalid") && grant.to_string().contains("1-abc"), "{grant}");
        let client_err = read_tokens(answer(401, r#"{"error":"invalid_client"}"#)).unwrap_err();
        assert!(matches!(client_err, OAuthError::Refused { status: 401, ref error, .. } if error == "invalid_client"));
        assert!(matches!(
            read_tokens(answer(502, "<html>bad gateway</html>")),
            Err(OAuthError::Refused { status: 502, .. })
        ));
        assert!(matches!(read_tokens(answer(200, "{}")), Err(OAuthError::Refused { .. })));
    }
}

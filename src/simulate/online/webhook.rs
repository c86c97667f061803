//! Intuit's change notifications, byte for byte as Intuit sends them (guide §2.5), and their
//! `intuit-signature`: base64(HMAC-SHA256(verifier token, raw body)). Pure, except the random
//! CloudEvents `id`.

use hmac::{KeyInit, Mac};
use serde::Serialize;

use super::clock;

/// One change to announce.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct WebhookChange {
    /// `Customer` or `Employee`.
    pub entity: String,
    /// The record's Id.
    pub id: String,
    /// `Create`, `Update`, `Delete` or `Merge`.
    pub operation: String,
}

impl WebhookChange {
    pub fn new(entity: &str, id: impl Into<String>, operation: &str) -> WebhookChange {
        WebhookChange { entity: entity.to_string(), id: id.into(), operation: operation.to_string() }
    }
}

/// Which body format to deliver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WebhookFormat {
    /// A JSON array of CloudEvents, `application/cloudevents+json` (mandatory at Intuit since
    /// mid-2026).
    #[default]
    CloudEvents,
    /// `{"eventNotifications": [...]}`, `application/json`.
    Legacy,
}

impl WebhookFormat {
    /// The Content-Type Intuit sends the format with.
    pub fn content_type(self) -> &'static str {
        match self {
            WebhookFormat::CloudEvents => "application/cloudevents+json",
            WebhookFormat::Legacy => "application/json",
        }
    }
}

/// The legacy body: one notification for the realm, the changes as its entities.
pub fn legacy_body(realm_id: &str, changes: &[WebhookChange], now_ms: i64) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        event_notifications: [Notification<'a>; 1],
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Notification<'a> {
        realm_id: &'a str,
        data_change_event: Event<'a>,
    }
    #[derive(Serialize)]
    struct Event<'a> {
        entities: Vec<Entity<'a>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Entity<'a> {
        name: &'a str,
        id: &'a str,
        operation: &'a str,
        last_updated: String,
    }
    let last_updated = clock::format_utc_ms(now_ms);
    let body = Body {
        event_notifications: [Notification {
            realm_id,
            data_change_event: Event {
                entities: changes
                    .iter()
                    .map(|c| Entity {
                        name: &c.entity,
                        id: &c.id,
                        operation: &c.operation,
                        last_updated: last_updated.clone(),
                    })
                    .collect(),
            },
        }],
    };
    serde_json::to_vec(&body).expect("plain data serializes")
}

/// `Create` → `created` and so on, for the CloudEvents `type`.
fn past_tense(operation: &str) -> String {
    match operation {
        "Create" => "created".to_string(),
        "Update" => "updated".to_string(),
        "Delete" => "deleted".to_string(),
        "Merge" => "merged".to_string(),
        "Void" => "voided".to_string(),
        other => other.to_lowercase(),
    }
}

/// The CloudEvents body: a JSON array, one event per change.
pub fn cloudevents_body(realm_id: &str, changes: &[WebhookChange], now_ms: i64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Event<'a> {
        specversion: &'static str,
        id: String,
        source: String,
        #[serde(rename = "type")]
        kind: String,
        datacontenttype: &'static str,
        time: String,
        intuitentityid: &'a str,
        intuitaccountid: &'a str,
        data: serde_json::Map<String, serde_json::Value>,
    }
    let time = clock::format_utc_ms(now_ms);
    let events: Vec<Event> = changes
        .iter()
        .map(|c| Event {
            specversion: "1.0",
            id: uuid::Uuid::new_v4().to_string(),
            source: format!("intuit.{}", super::auth::random_token("", 32)),
            kind: format!("qbo.{}.{}.v1", c.entity.to_lowercase(), past_tense(&c.operation)),
            datacontenttype: "application/json",
            time: time.clone(),
            intuitentityid: &c.id,
            intuitaccountid: realm_id,
            data: serde_json::Map::new(),
        })
        .collect();
    serde_json::to_vec(&events).expect("plain data serializes")
}

/// The `intuit-signature` header for a body.
pub fn sign(verifier_token: &str, body: &[u8]) -> String {
    use base64::Engine;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(verifier_token.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Intuit's own test vector (QuickBooks-V3-Java-SDK `WebhooksServiceTest`): this body, this
    /// verifier token, this signature.
    #[test]
    fn the_signature_matches_intuits_test_vector() {
        let body = br#"{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}"#;
        assert_eq!(sign("b5771f19b12ddb4bcdb9f08bdc50bc63878a", body), "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q=");
        assert_ne!(sign("another token", body), "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q=");
    }

    #[test]
    fn bodies_have_intuits_shapes() {
        let changes = [WebhookChange::new("Customer", "42", "Create"), WebhookChange::new("Employee", "7", "Delete")];
        let legacy: serde_json::Value =
            serde_json::from_slice(&legacy_body("9341", &changes, 1_784_116_800_356)).unwrap();
        assert_eq!(
            legacy,
            serde_json::json!({"eventNotifications": [{"realmId": "9341", "dataChangeEvent": {"entities": [
                {"name": "Customer", "id": "42", "operation": "Create", "lastUpdated": "2026-07-15T12:00:00.356Z"},
                {"name": "Employee", "id": "7", "operation": "Delete", "lastUpdated": "2026-07-15T12:00:00.356Z"}
            ]}}]})
        );
        let events: serde_json::Value =
            serde_json::from_slice(&cloudevents_body("9341", &changes, 1_784_116_800_356)).unwrap();
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["specversion"], "1.0");
        assert_eq!(events[0]["type"], "qbo.customer.created.v1");
        assert_eq!(events[1]["type"], "qbo.employee.deleted.v1");
        assert_eq!(events[0]["intuitentityid"], "42");
        assert_eq!(events[0]["intuitaccountid"], "9341");
        assert_eq!(events[0]["time"], "2026-07-15T12:00:00.356Z");
        assert_eq!(events[0]["data"], serde_json::json!({}));
        assert!(events[0]["source"].as_str().unwrap().starts_with("intuit."));
        assert_eq!(events[0]["id"].as_str().unwrap().len(), 36);
        assert_ne!(events[0]["id"], events[1]["id"], "each event has its own id");
    }
}

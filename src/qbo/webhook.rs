//! Intuit's change notifications: the signature check and both body formats (the legacy
//! `eventNotifications` object and the CloudEvents array). Pure.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::json::Entity;

/// Whether `signature` (the `intuit-signature` header) is base64(HMAC-SHA256(token, body)).
/// The comparison takes the same time wherever the bytes differ.
pub fn verify(token: &str, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = BASE64.decode(signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// base64(HMAC-SHA256(token, body)): what Intuit puts in `intuit-signature`.
pub fn sign(token: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    BASE64.encode(mac.finalize().into_bytes())
}

/// One change a notification tells of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Notice {
    pub realm_id: String,
    /// `Customer`, `Employee`, or another entity qbsync does not read.
    pub entity: String,
    pub id: Option<String>,
}

impl Notice {
    pub fn entity(&self) -> Option<Entity> {
        Entity::from_name(&self.entity)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the notification is neither Intuit's legacy nor its CloudEvents format: {0}")]
pub struct NoticeError(String);

/// The changes a notification body tells of, whichever format it is in.
pub fn notices(body: &[u8]) -> Result<Vec<Notice>, NoticeError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| NoticeError(e.to_string()))?;
    match value {
        serde_json::Value::Array(_) => cloud_events(value),
        serde_json::Value::Object(ref map) if map.contains_key("eventNotifications") => legacy(value),
        serde_json::Value::Object(ref map) if map.contains_key("specversion") => {
            cloud_events(serde_json::Value::Array(vec![value]))
        }
        _ => Err(NoticeError("no eventNotifications and not a CloudEvents array".into())),
    }
}

fn legacy(value: serde_json::Value) -> Result<Vec<Notice>, NoticeError> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(rename = "eventNotifications")]
        notifications: Vec<Notification>,
    }
    #[derive(Deserialize)]
    struct Notification {
        #[serde(rename = "realmId")]
        realm_id: String,
        #[serde(rename = "dataChangeEvent", default)]
        change: Option<ChangeEvent>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ChangeEvent {
        entities: Vec<EntityChange>,
    }
    #[derive(Deserialize)]
    struct EntityChange {
        name: String,
        #[serde(default)]
        id: Option<String>,
    }
    let body: Body = serde_json::from_value(value).map_err(|e| NoticeError(e.to_string()))?;
    Ok(body
        .notifications
        .into_iter()
        .flat_map(|n| {
            let realm_id = n.realm_id;
            n.change.unwrap_or_default().entities.into_iter().map(move |e| Notice {
                realm_id: realm_id.clone(),
                entity: e.name,
                id: e.id,
            })
        })
        .collect())
}

fn cloud_events(value: serde_json::Value) -> Result<Vec<Notice>, NoticeError> {
    #[derive(Deserialize)]
    struct Event {
        #[serde(rename = "type")]
        kind: String,
        intuitaccountid: String,
        #[serde(default)]
        intuitentityid: Option<String>,
    }
    let events: Vec<Event> = serde_json::from_value(value).map_err(|e| NoticeError(e.to_string()))?;
    Ok(events
        .into_iter()
        .map(|e| {
            // `qbo.customer.created.v1`: the entity is the second part.
            let entity = e.kind.split('.').nth(1).unwrap_or_default().to_string();
            Notice { realm_id: e.intuitaccountid, entity, id: e.intuitentityid }
        })
        .collect())
}

/// The lists to pull for each realm the notices name (only the lists qbsync reads).
pub fn lists_by_realm(notices: &[Notice]) -> Vec<(String, BTreeSet<&'static str>)> {
    let mut out: Vec<(String, BTreeSet<&'static str>)> = Vec::new();
    for notice in notices {
        let list = match notice.entity() {
            Some(Entity::Customer) => "customers",
            Some(Entity::Employee) => "employees",
            None => continue,
        };
        match out.iter_mut().find(|(realm, _)| *realm == notice.realm_id) {
            Some((_, lists)) => {
                lists.insert(list);
            }
            None => out.push((notice.realm_id.clone(), BTreeSet::from([list]))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_raw_body_in_base64() {
        // Intuit's published test vector: this token and body give this signature.
        let body = br#"{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}"#;
        let token = "b5771f19b12ddb4bcdb9f08bdc50bc63878a";
        assert_eq!(sign(token, body), "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q=");
        assert!(verify(token, body, "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q="));
        let mut altered = body.to_vec();
        altered[10] ^= 1;
        assert!(!verify(token, &altered, "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q="));
        assert!(!verify("another token", body, "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q="));
        assert!(!verify(token, body, ""));
        assert!(!verify(token, body, "not base64 at all!"));
    }

    #[test]
    fn both_formats_name_the_realm_and_entity() {
        let legacy = br#"{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"},{"name":"Invoice","id":"9","operation":"Update","lastUpdated":"2015-10-05T14:42:19.000Z"}]}},{"realmId":"42","dataChangeEvent":{"entities":[{"name":"Employee","id":"5","operation":"Update","lastUpdated":"2026-01-01T00:00:00Z"}]}}]}"#;
        let found = notices(legacy).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0], Notice { realm_id: "1185883450".into(), entity: "Customer".into(), id: Some("1".into()) });
        let lists = lists_by_realm(&found);
        assert_eq!(
            lists,
            [("1185883450".to_string(), BTreeSet::from(["customers"])), ("42".into(), BTreeSet::from(["employees"]))]
        );

        let cloud = br#"[{"specversion":"1.0","id":"e1","source":"intuit.x","type":"qbo.customer.updated.v1","time":"2026-10-07T19:59:07Z","intuitentityid":"58","intuitaccountid":"310687","data":{}},{"specversion":"1.0","id":"e2","source":"intuit.x","type":"qbo.class.created.v1","time":"2026-10-07T19:59:07Z","intuitentityid":"1234","intuitaccountid":"310687"},{"specversion":"1.0","id":"e3","source":"intuit.x","type":"qbo.employee.deleted.v1","time":"2026-10-07T19:59:07Z","intuitentityid":"7","intuitaccountid":"310687"}]"#;
        let found = notices(cloud).unwrap();
        assert_eq!(found[0].entity(), Some(Entity::Customer));
        assert_eq!(found[1].entity(), None);
        assert_eq!(lists_by_realm(&found), [("310687".to_string(), BTreeSet::from(["customers", "employees"]))]);
    }

    #[test]
    fn other_bodies_are_errors_not_panics() {
        for body in [&b"{}"[..], b"[1,2]", b"null", b"", b"{\"eventNotifications\":5}", b"[{\"type\":\"x\"}]"] {
            assert!(notices(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
        assert!(notices(b"[]").unwrap().is_empty());
    }
}

//! Reading JSON bodies of writes: objects with known keys only, strings trimmed and bounded,
//! clear 422 messages for anything else.

use serde_json::{Map, Value};

use crate::http::ApiError;

/// A JSON object body whose keys are checked against the ones a route knows.
pub struct Body {
    map: Map<String, Value>,
}

impl Body {
    /// Accepts an object with no keys but `allowed`.
    pub fn parse(value: Value, allowed: &[&str]) -> Result<Body, ApiError> {
        let Value::Object(map) = value else {
            return Err(ApiError::BadRequest("the body must be a JSON object".into()));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::Unprocessable(format!(
                "unknown field {unknown:?}; known fields: {}",
                allowed.join(", ")
            )));
        }
        Ok(Body { map })
    }

    /// A key's value as sent.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The raw value of a key, for shapes the helpers below do not cover.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// A nested object (e.g. `address`), checked the same way; `None` when absent or null.
    pub fn object(&self, key: &str, allowed: &[&str]) -> Result<Option<Body>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value @ Value::Object(_)) => Body::parse(value.clone(), allowed).map(Some),
            Some(_) => Err(ApiError::Unprocessable(format!("{key} must be an object"))),
        }
    }

    /// A required, non-empty string of at most `max` characters.
    pub fn required_text(&self, key: &str, max: usize) -> Result<String, ApiError> {
        match self.optional_text(key, max)? {
            Some(Some(text)) => Ok(text),
            _ => Err(ApiError::Unprocessable(format!("{key} is required and must not be empty"))),
        }
    }

    /// `None`: absent; `Some(None)`: null or empty (clears the value); `Some(Some(text))`.
    pub fn optional_text(&self, key: &str, max: usize) -> Result<Option<Option<String>>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => {
                let text = text.trim();
                if text.chars().count() > max {
                    return Err(ApiError::Unprocessable(format!("{key} must have at most {max} characters")));
                }
                if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    return Err(ApiError::Unprocessable(format!("{key} must not contain control characters")));
                }
                Ok(Some(if text.is_empty() { None } else { Some(text.to_string()) }))
            }
            Some(_) => Err(ApiError::Unprocessable(format!("{key} must be a string"))),
        }
    }

    /// An optional email address (a light check: something@something).
    pub fn optional_email(&self, key: &str) -> Result<Option<Option<String>>, ApiError> {
        let value = self.optional_text(key, 254)?;
        if let Some(Some(email)) = &value {
            let valid = email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty() && !email.contains(' '));
            if !valid {
                return Err(ApiError::Unprocessable(format!("{key} {email:?} is not an email address")));
            }
        }
        Ok(value)
    }

    pub fn optional_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::Unprocessable(format!("{key} must be true or false"))),
        }
    }

    pub fn optional_int(&self, key: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if range.contains(&v) => Ok(Some(v)),
                _ => Err(ApiError::Unprocessable(format!(
                    "{key} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ))),
            },
            Some(_) => Err(ApiError::Unprocessable(format!("{key} must be a number"))),
        }
    }

    /// A required id (UUID string).
    pub fn required_id(&self, key: &str) -> Result<uuid::Uuid, ApiError> {
        match self.map.get(key) {
            Some(Value::String(text)) => uuid::Uuid::parse_str(text.trim())
                .map_err(|_| ApiError::Unprocessable(format!("{key} must be an id, not {text:?}"))),
            Some(_) => Err(ApiError::Unprocessable(format!("{key} must be an id string"))),
            None => Err(ApiError::Unprocessable(format!("{key} is required"))),
        }
    }
}

/// Applies a present optional text to a field.
pub fn set(field: &mut Option<String>, value: Option<Option<String>>) {
    if let Some(value) = value {
        *field = value;
    }
}

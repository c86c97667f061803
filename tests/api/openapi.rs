//! The OpenAPI document says what the server really does: every documented path and method is
//! called, and the answer's status and body shape must be among the documented ones.

use serde_json::{Value, json};

use crate::helpers::*;

/// Follows `$ref` and merges `allOf` into one list of required keys.
fn required_keys(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return required_keys(doc, &doc["components"]["schemas"][name]);
    }
    let mut keys: Vec<String> =
        schema["required"].as_array().into_iter().flatten().filter_map(|k| k.as_str().map(str::to_string)).collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        keys.extend(required_keys(doc, part));
    }
    keys
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => &doc["components"]["schemas"][reference.rsplit('/').next().unwrap()],
        None => schema,
    }
}

/// Checks an answer against the documented response for its status.
fn check_shape(doc: &Value, documented: &Value, body: &Value, what: &str) {
    let Some(schema) = documented["content"]["application/json"]["schema"].as_object() else { return };
    let schema = Value::Object(schema.clone());
    for key in required_keys(doc, &schema) {
        assert!(body.get(&key).is_some(), "{what}: the answer lacks {key:?}: {body}");
    }
    // Pages: check the items too.
    let resolved = resolve(doc, &schema);
    if let Some(item_schema) = resolved["properties"]["items"]["items"].as_object() {
        let item_schema = Value::Object(item_schema.clone());
        for item in body["items"].as_array().unwrap() {
            for key in required_keys(doc, &item_schema) {
                assert!(item.get(&key).is_some(), "{what}: an item lacks {key:?}: {item}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_answers_as_documented() {
    let app = spawn_app().await;
    app.sync_company(9, 12, 4).await;
    let auth = app.bearer();
    let (status, doc) = app.get_json_as("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    let location = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Doc site" })), &auth).await.json;
    let staff = app.call("POST", "/api/v1/staff", Some(json!({ "name": "Doc person" })), &auth).await.json;
    let customers = app.all_customers("").await;
    let employees = app.all_employees("").await;
    let id_for = |path: &str| -> String {
        if path.starts_with("/api/v1/connections/") {
            app.conn.id.to_string()
        } else if path.starts_with("/api/v1/locations/") {
            location["id"].as_str().unwrap().to_string()
        } else if path.starts_with("/api/v1/staff/") {
            staff["id"].as_str().unwrap().to_string()
        } else if path.starts_with("/api/v1/qb/customers/") {
            customers[0]["id"].as_str().unwrap().to_string()
        } else {
            employees[0]["id"].as_str().unwrap().to_string()
        }
    };

    // Deletions last, the connection's very last, so every other call finds its records.
    let mut calls = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let order = match (method.as_str(), path.as_str()) {
                ("delete", "/api/v1/connections/{id}") => 3,
                ("delete", _) => 2,
                _ => 1,
            };
            calls.push((order, path.clone(), method.to_uppercase(), operation.clone()));
        }
    }
    calls.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
    assert!(calls.len() >= 25, "{} operations documented", calls.len());

    for (_, path, method, operation) in calls {
        let concrete = path.replace("{id}", &id_for(&path));
        let example = operation["requestBody"]["content"]["application/json"]["example"].clone();
        let body = if example.is_null() { None } else { Some(example) };
        let what = format!("{method} {path}");

        // Without credentials: the documented 401.
        let anonymous = app.call(&method, &concrete, body.clone(), &Auth::None).await;
        assert_eq!(anonymous.status, 401, "{what} without credentials: {:?}", anonymous.json);
        assert!(operation["responses"]["401"].is_object(), "{what} does not document its 401");

        let answer = app.call(&method, &concrete, body, &auth).await;
        let documented = &operation["responses"][answer.status.to_string()];
        assert!(documented.is_object(), "{what} answered {} which is not documented: {:?}", answer.status, answer.json);
        if answer.status < 300 {
            if documented["content"]["application/json"].is_object() {
                check_shape(&doc, documented, &answer.json, &what);
            }
        } else {
            assert!(
                answer.json["error"]["code"].is_string() && answer.json["error"]["message"].is_string(),
                "{what}: {:?}",
                answer.json
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_routes_and_methods_are_json_errors() {
    let app = spawn_app().await;
    let answer = app.call("GET", "/api/v1/places", None, &app.bearer()).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json["error"]["code"], "not_found");
    let wrong_method = app.call("PUT", "/api/v1/qb/customers", Some(json!({})), &app.bearer()).await;
    assert_eq!(wrong_method.status, 404);
    assert_eq!(wrong_method.json["error"]["code"], "not_found");
}

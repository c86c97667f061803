//! The OpenAPI document says what the server really does: every documented path and method is
//! called, and each answer's status must be documented and its body must conform to the documented
//! schema, recursively (see [`Conformance`]).

use std::collections::BTreeSet;

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use serde_json::{Map, Value, json};

use crate::helpers::*;

/// Checks JSON values against the schemas of an OpenAPI 3.1 document, for the parts of JSON Schema
/// the document uses: `$ref`, `allOf` (merged), `oneOf` (exactly one alternative matches), `anyOf`
/// (at least one), `type` as a string or an array, `enum`, `format` (`uuid`, `date-time`, `date`),
/// `items`, `properties`, `required` and `additionalProperties`.
///
/// It is strict, so that the document cannot drift from the server unnoticed:
/// - every key of an answer's object must be documented in `properties` (or by an
///   `additionalProperties` schema);
/// - every documented property must be present; a schema allows a property to be absent only by
///   listing `required` and leaving it out (a schema without `required` requires every property);
/// - an object or array in an answer must have its shape documented: a bare `{"type": "object"}`
///   or an array without `items` does not describe what the server sends;
/// - a schema with no `type`, `$ref`, combinator or `enum` is refused, as is an unknown `format`.
///
/// Every mismatch is collected with its JSON path (`$.items[0].link.id`).
struct Conformance<'d> {
    doc: &'d Value,
}

impl<'d> Conformance<'d> {
    fn new(doc: &'d Value) -> Self {
        Conformance { doc }
    }

    /// The mismatches between `value` and `schema`, each prefixed with its JSON path.
    fn mismatches(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    /// Follows `$ref` (to `#/components/schemas/...`) until a schema without one.
    fn resolve(&self, schema: &Value) -> Result<Value, String> {
        let mut schema = schema.clone();
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { return Ok(schema) };
            let Some(name) = reference.strip_prefix("#/components/schemas/") else {
                return Err(format!("unsupported $ref {reference:?}"));
            };
            match self.doc["components"]["schemas"].get(name) {
                Some(target) => schema = target.clone(),
                None => return Err(format!("$ref to the undocumented schema {name:?}")),
            }
        }
        Err("a $ref cycle".into())
    }

    /// One schema from an `allOf`: properties and `required` united, other keywords taken from
    /// the first part that has them. A part without `required` requires all its properties.
    fn merge_all_of(&self, schema: &Value) -> Result<Value, String> {
        let mut merged = schema.as_object().cloned().unwrap_or_default();
        let parts = merged.remove("allOf").and_then(|p| p.as_array().cloned()).unwrap_or_default();
        let mut properties = merged.remove("properties").and_then(|p| p.as_object().cloned()).unwrap_or_default();
        let mut required: BTreeSet<String> = match merged.remove("required") {
            Some(list) => list.as_array().into_iter().flatten().filter_map(|k| k.as_str().map(String::from)).collect(),
            None => properties.keys().cloned().collect(),
        };
        for part in parts {
            let mut part = self.resolve(&part)?;
            if part.get("allOf").is_some() {
                part = self.merge_all_of(&part)?;
            }
            let Value::Object(part) = part else { return Err("an allOf part that is not a schema".into()) };
            let part_properties = part.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            match part.get("required").and_then(Value::as_array) {
                Some(list) => required.extend(list.iter().filter_map(|k| k.as_str().map(String::from))),
                None => required.extend(part_properties.keys().cloned()),
            }
            properties.extend(part_properties);
            for (key, keyword) in part {
                if key != "properties" && key != "required" {
                    merged.entry(key).or_insert(keyword);
                }
            }
        }
        merged.insert("properties".into(), Value::Object(properties));
        merged.insert("required".into(), required.into_iter().map(Value::String).collect());
        Ok(Value::Object(merged))
    }

    fn check(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let schema = match self.resolve(schema) {
            Ok(schema) if schema.get("allOf").is_some() => self.merge_all_of(&schema),
            other => other,
        };
        let schema = match schema {
            Ok(Value::Object(schema)) => schema,
            Ok(other) => return errors.push(format!("{path}: the schema {other} is not an object")),
            Err(err) => return errors.push(format!("{path}: {err}")),
        };
        let described = ["type", "oneOf", "anyOf", "enum", "properties"].iter().any(|k| schema.contains_key(*k));
        if !described {
            return errors.push(format!("{path}: the schema {} does not say what the value is", Value::Object(schema)));
        }

        for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            let Some(alternatives) = schema.get(keyword).and_then(Value::as_array) else { continue };
            let outcomes: Vec<Vec<String>> = alternatives
                .iter()
                .map(|alternative| {
                    let mut found = Vec::new();
                    self.check(alternative, value, path, &mut found);
                    found
                })
                .collect();
            let matching = outcomes.iter().filter(|found| found.is_empty()).count();
            if matching == 0 || (exactly_one && matching > 1) {
                let why: Vec<String> = outcomes.into_iter().flatten().collect();
                errors.push(format!("{path}: matches {matching} of the {keyword} alternatives ({})", why.join("; ")));
            }
        }

        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => return errors.push(format!("{path}: `type` is neither a string nor an array")),
            };
            if !types.iter().any(|t| type_matches(t, value)) {
                return errors.push(format!("{path}: {} is not of type {}", shown(value), types.join(" or ")));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{path}: {} is not one of {}", shown(value), Value::Array(allowed.clone())));
        }
        if let (Some(format), Some(text)) = (schema.get("format").and_then(Value::as_str), value.as_str()) {
            let ok = match format {
                "uuid" => uuid::Uuid::parse_str(text).is_ok(),
                "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
                "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
                other => {
                    errors.push(format!("{path}: the format {other:?} is not checked"));
                    true
                }
            };
            if !ok {
                errors.push(format!("{path}: {} is not a {format}", shown(value)));
            }
        }

        match value {
            Value::Array(items) => match schema.get("items") {
                Some(item_schema) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &format!("{path}[{i}]"), errors);
                    }
                }
                None if !schema.contains_key("oneOf") && !schema.contains_key("anyOf") => {
                    errors.push(format!("{path}: an array whose items are not documented"));
                }
                None => {}
            },
            Value::Object(object) if !schema.contains_key("oneOf") && !schema.contains_key("anyOf") => {
                self.check_object(&schema, object, path, errors);
            }
            _ => {}
        }
    }

    fn check_object(
        &self,
        schema: &Map<String, Value>,
        object: &Map<String, Value>,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let empty = Map::new();
        let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let additional = schema.get("additionalProperties");
        if properties.is_empty() && !matches!(additional, Some(Value::Object(_))) {
            return errors.push(format!("{path}: an object whose properties are not documented"));
        }
        for (key, item) in object {
            let item_path = format!("{path}.{key}");
            match (properties.get(key), additional) {
                (Some(property), _) => self.check(property, item, &item_path, errors),
                (None, Some(extra @ Value::Object(_))) => self.check(extra, item, &item_path, errors),
                (None, _) => {
                    errors.push(format!("{item_path}: the server sends it but the schema does not document it"))
                }
            }
        }
        let required: Vec<&str> = match schema.get("required").and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => properties.keys().map(String::as_str).collect(),
        };
        for key in required {
            if !object.contains_key(key) {
                errors.push(format!("{path}.{key}: documented as always present but missing"));
            }
        }
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

/// A value in an error message, cut short.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 { format!("{}...", text.chars().take(60).collect::<String>()) } else { text }
}

#[test]
fn the_conformance_check_accepts_matching_values_and_reports_every_mismatch_with_its_path() {
    let doc = json!({ "components": { "schemas": {
        "Thing": { "type": "object", "required": ["id", "kind", "tags", "owner", "when"], "properties": {
            "id": { "type": "string", "format": "uuid" },
            "kind": { "type": "string", "enum": ["a", "b"] },
            "tags": { "type": "array", "items": { "type": "string" } },
            "owner": { "oneOf": [{ "$ref": "#/components/schemas/Owner" }, { "type": "null" }] },
            "when": { "type": ["string", "null"], "format": "date-time" },
            "total": { "type": "integer" } } },
        "Owner": { "type": "object", "properties": { "name": { "type": "string" } } },
        "Named": { "allOf": [{ "$ref": "#/components/schemas/Thing" },
            { "type": "object", "properties": { "label": { "type": "string" } } }] },
        "Loose": { "type": "object" },
        "Bag": { "type": "object", "properties": { "list": { "type": "array" } } },
        "Shapeless": { "description": "no type at all" }
    } } });
    let check = Conformance::new(&doc);
    let thing = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let good = json!({ "id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "kind": "a", "tags": ["x"],
        "owner": { "name": "Ann" }, "when": "2024-05-06T07:08:09Z" });

    assert_eq!(check.mismatches(&thing("Thing"), &good), Vec::<String>::new());
    let mut with_total = good.clone();
    with_total["total"] = json!(3);
    assert_eq!(check.mismatches(&thing("Thing"), &with_total), Vec::<String>::new(), "total may be absent or present");
    let mut nulls = good.clone();
    nulls["owner"] = Value::Null;
    nulls["when"] = Value::Null;
    assert_eq!(check.mismatches(&thing("Thing"), &nulls), Vec::<String>::new());
    let mut labelled = good.clone();
    labelled["label"] = json!("L");
    assert_eq!(check.mismatches(&thing("Named"), &labelled), Vec::<String>::new());

    let bad = json!({ "id": "not-a-uuid", "kind": "c", "tags": ["x", 1], "owner": { "name": 5 },
        "when": "yesterday", "extra": true, "total": 1.5 });
    let found = check.mismatches(&thing("Thing"), &bad).join("\n");
    for expected in [
        "$.id: \"not-a-uuid\" is not a uuid",
        "$.kind: \"c\" is not one of",
        "$.tags[1]: 1 is not of type string",
        "$.owner: matches 0 of the oneOf alternatives ($.owner.name: 5 is not of type string",
        "$.when: \"yesterday\" is not a date-time",
        "$.extra: the server sends it but the schema does not document it",
        "$.total: 1.5 is not of type integer",
    ] {
        assert!(found.contains(expected), "expected {expected:?} in:\n{found}");
    }
    let missing = check.mismatches(&thing("Named"), &good).join("\n");
    assert!(missing.contains("$.label: documented as always present but missing"), "{missing}");
    let missing_owner_name = check.mismatches(&thing("Owner"), &json!({})).join("\n");
    assert!(missing_owner_name.contains("$.name: documented as always present but missing"), "{missing_owner_name}");
    let loose = check.mismatches(&thing("Loose"), &json!({ "a": 1 })).join("\n");
    assert!(loose.contains("$: an object whose properties are not documented"), "{loose}");
    let bag = check.mismatches(&thing("Bag"), &json!({ "list": [1] })).join("\n");
    assert!(bag.contains("$.list: an array whose items are not documented"), "{bag}");
    let shapeless = check.mismatches(&thing("Shapeless"), &json!(1)).join("\n");
    assert!(shapeless.contains("does not say what the value is"), "{shapeless}");
    assert!(!check.mismatches(&thing("Nowhere"), &json!(1)).is_empty(), "a $ref to nothing");
    assert!(!check.mismatches(&json!({ "type": ["string", "null"] }), &json!(0)).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_answers_as_documented() {
    let app = spawn_app().await;
    // Two runs: a clean one, then one whose employees fail and one of whose pages warns, so the
    // run history holds events and errors.
    app.sync_company(9, 12, 4).await;
    let faults = Faults { warning_on_page: Some(2), error_status_for_employees: Some(3261), ..Faults::default() };
    app.simulate(FakeQuickBooks::new(Dataset::generate(9, 12, 4), faults)).await;
    let auth = app.bearer();
    let (status, doc) = app.get_json_as("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let conformance = Conformance::new(&doc);

    let location = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Doc site" })), &auth).await.json;
    let staff = app.call("POST", "/api/v1/staff", Some(json!({ "name": "Doc person" })), &auth).await.json;
    let customers = app.all_customers("").await;
    let employees = app.all_employees("").await;
    // Linked records too, so the pages show links of every kind.
    for (path, id) in [("/api/v1/qb/customers", &customers[1]["id"]), ("/api/v1/qb/employees", &employees[1]["id"])] {
        let target = if path.ends_with("customers") { "location" } else { "staff" };
        let created = app.call("POST", &format!("{path}/{}/{target}", id.as_str().unwrap()), None, &auth).await;
        assert_eq!(created.status, 201, "{:?}", created.json);
    }
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

    let mut mismatches = Vec::new();
    let mut pages_with_items = BTreeSet::new();
    let mut runs_with_events = 0;
    let first_run = app.runs().await.last().unwrap()["id"].as_str().unwrap().to_string();
    for (_, path, method, operation) in calls {
        let concrete = path.replace("{id}", &id_for(&path)).replace("{run_id}", &first_run);
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
        let schema = &documented["content"]["application/json"]["schema"];
        if schema.is_object() {
            let found = conformance.mismatches(schema, &answer.json);
            mismatches.extend(found.into_iter().map(|m| format!("{what} {}: {m}", answer.status)));
        }
        if answer.status >= 300 {
            assert!(
                answer.json["error"]["code"].is_string() && answer.json["error"]["message"].is_string(),
                "{what}: {:?}",
                answer.json
            );
        }
        if let Some(items) = answer.json["items"].as_array().filter(|items| !items.is_empty()) {
            pages_with_items
                .insert(schema["$ref"].as_str().unwrap_or_default().rsplit('/').next().unwrap().to_string());
            runs_with_events +=
                items.iter().filter(|run| run["events"].as_array().is_some_and(|e| !e.is_empty())).count();
        }
    }
    // The session route answers browser sessions only: check its shape with one.
    let session = app.call("GET", "/api/v1/session", None, &app.sign_in().await).await;
    assert_eq!(session.status, 200, "{:?}", session.json);
    let schema = &doc["paths"]["/api/v1/session"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    mismatches.extend(
        conformance.mismatches(schema, &session.json).into_iter().map(|m| format!("GET /api/v1/session 200: {m}")),
    );

    assert!(mismatches.is_empty(), "answers that differ from the OpenAPI document:\n{}", mismatches.join("\n"));
    let expected_pages =
        ["ConnectionPage", "CustomerPage", "EmployeePage", "LocationPage", "RunChangePage", "RunPage", "StaffPage"];
    let expected_pages: BTreeSet<String> = expected_pages.iter().map(|p| p.to_string()).collect();
    assert!(pages_with_items.is_superset(&expected_pages), "pages checked with items: {pages_with_items:?}");
    assert!(runs_with_events > 0, "no run with events was checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_review_answers_as_documented() {
    // Arrange: linked records that changed in QuickBooks (see the changes tests).
    let app = spawn_app().await;
    let ids = crate::changes::arrange(&app).await;
    let auth = app.bearer();
    let (_, doc) = app.get_json_as("/api/openapi.json", None).await;
    let conformance = Conformance::new(&doc);
    let schema_of = |path: &str, method: &str, status: u16| {
        doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"].clone()
    };

    // Act
    let locations = app.call("GET", "/api/v1/changes?kind=locations", None, &auth).await;
    let staff = app.call("GET", "/api/v1/changes?kind=staff", None, &auth).await;
    let applied = app
        .call(
            "POST",
            &format!("/api/v1/changes/{}/apply", ids.made),
            Some(json!({ "fields": ["address", "phone"] })),
            &auth,
        )
        .await;
    let dismissed = app.call("POST", &format!("/api/v1/changes/{}/dismiss", ids.person), None, &auth).await;
    let (_, log) = app.get_json(&format!("/api/v1/audit?subject={}", ids.made)).await;

    // Assert
    let mut mismatches = Vec::new();
    for (what, answer, path, method) in [
        ("list locations", &locations, "/api/v1/changes", "get"),
        ("list staff", &staff, "/api/v1/changes", "get"),
        ("apply", &applied, "/api/v1/changes/{id}/apply", "post"),
        ("dismiss", &dismissed, "/api/v1/changes/{id}/dismiss", "post"),
    ] {
        assert_eq!(answer.status, 200, "{what}: {:?}", answer.json);
        mismatches.extend(
            conformance
                .mismatches(&schema_of(path, method, 200), &answer.json)
                .into_iter()
                .map(|m| format!("{what}: {m}")),
        );
    }
    mismatches.extend(
        conformance
            .mismatches(&schema_of("/api/v1/audit", "get", 200), &log)
            .into_iter()
            .map(|m| format!("audit: {m}")),
    );
    assert_eq!(locations.json["items"].as_array().unwrap().len(), 3);
    assert!(mismatches.is_empty(), "answers that differ from the OpenAPI document:\n{}", mismatches.join("\n"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_connection_answers_match_the_document() {
    use crate::online::{connect, fake, online_app, wait_run};
    let fake = fake(12, 2, |_| {});
    let app = online_app(&fake).await;
    let (_, doc) = app.get_json_as("/api/openapi.json", None).await;
    let conformance = Conformance::new(&doc);
    let auth = app.bearer();
    let schema_of = |path: &str, method: &str, status: u16| {
        doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"].clone()
    };
    let mut mismatches = Vec::new();
    let mut check = |what: &str, schema: Value, answer: &Answer| {
        assert!(schema.is_object(), "{what}: no documented schema for {}", answer.status);
        mismatches.extend(conformance.mismatches(&schema, &answer.json).into_iter().map(|m| format!("{what}: {m}")));
    };

    let created = app
        .call("POST", "/api/v1/connections", Some(json!({ "name": "Pending online", "kind": "online" })), &auth)
        .await;
    assert_eq!(created.status, 201);
    check("POST /api/v1/connections (online)", schema_of("/api/v1/connections", "post", 201), &created);
    let id = connect(&app, "Connected online").await;
    let pending = created.json["id"].as_str().unwrap();
    let authorize = app.call("POST", &format!("/api/v1/connections/{pending}/authorize"), None, &auth).await;
    assert_eq!(authorize.status, 200);
    check("POST authorize", schema_of("/api/v1/connections/{id}/authorize", "post", 200), &authorize);
    let pull = app
        .call("POST", &format!("/api/v1/connections/{id}/pull"), Some(json!({ "lists": ["customers"] })), &auth)
        .await;
    assert_eq!(pull.status, 202);
    check("POST pull", schema_of("/api/v1/connections/{id}/pull", "post", 202), &pull);
    wait_run(&app, id, pull.json["id"].as_str().unwrap()).await;
    for (path, concrete) in [
        ("/api/v1/connections", "/api/v1/connections".to_string()),
        ("/api/v1/connections/{id}", format!("/api/v1/connections/{id}")),
        ("/api/v1/connections/{id}/runs", format!("/api/v1/connections/{id}/runs")),
    ] {
        let answer = app.call("GET", &concrete, None, &auth).await;
        assert_eq!(answer.status, 200);
        check(&format!("GET {path}"), schema_of(path, "get", 200), &answer);
    }
    let busy = app.call("POST", &format!("/api/v1/connections/{pending}/pull"), None, &auth).await;
    assert_eq!(busy.status, 409, "a pending connection cannot pull");
    check("POST pull (pending)", schema_of("/api/v1/connections/{id}/pull", "post", 409), &busy);
    let disconnected = app.call("POST", &format!("/api/v1/connections/{id}/disconnect"), None, &auth).await;
    assert_eq!(disconnected.status, 200);
    check("POST disconnect", schema_of("/api/v1/connections/{id}/disconnect", "post", 200), &disconnected);
    assert!(mismatches.is_empty(), "online answers that differ from the OpenAPI document:\n{}", mismatches.join("\n"));
}

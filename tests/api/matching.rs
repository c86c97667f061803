//! The matching page's API: suggestions and accepting them, the idempotent "+", the audit log
//! and undo.

use serde_json::{Value, json};

use crate::helpers::*;

/// The first address line of a staged customer that starts with a house number.
fn street_of(customer: &Value) -> Option<String> {
    ["ship_address", "bill_address"]
        .iter()
        .flat_map(|a| ["line1", "line2"].map(|l| customer[a][l].as_str().map(str::to_string)))
        .flatten()
        .find(|line| line.starts_with(|c: char| c.is_ascii_digit()))
}

fn pair_of<'a>(items: &'a [Value], location: &Value, customer: &Value) -> Option<&'a Value> {
    items.iter().find(|s| s["location_id"] == location["id"] && s["customer_id"] == customer["id"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_pair_look_alike_records_and_accepting_links_them_all_or_nothing() {
    // Arrange: staged customers, and locations typed for two of them.
    let app = spawn_app().await;
    app.sync_company(11, 60, 4).await;
    let auth = app.bearer();
    let customers: Vec<Value> = app
        .all_customers("linked=false&status=active")
        .await
        .into_iter()
        .filter(|c| {
            c["parent_list_id"].is_null() && street_of(c).is_some() && !c["name"].as_str().unwrap().contains('<')
        })
        .collect();
    let (c1, c2, c3) = (&customers[0], &customers[1], &customers[2]);
    let reworded: Vec<&str> = c2["name"].as_str().unwrap().split([' ', ',']).filter(|w| !w.is_empty()).rev().collect();
    let new_location = |body: Value| {
        let auth = auth.clone();
        let app = &app;
        async move {
            let answer = app.call("POST", "/api/v1/locations", Some(body), &auth).await;
            assert_eq!(answer.status, 201, "{:?}", answer.json);
            answer.json
        }
    };
    let street = street_of(c1).unwrap().replace(" St", " Street");
    let l1 = new_location(json!({ "name": c1["name"], "address": { "line1": street } })).await;
    let l2 = new_location(json!({ "name": reworded.join(" ").to_uppercase() })).await;
    let l3 = new_location(json!({ "name": "Zzyzx Quarry Annex" })).await;

    // Act: the list of pairs, and each record's candidates.
    let list = app.call("GET", "/api/v1/suggestions?kind=locations", None, &auth).await;
    assert_eq!(list.status, 200, "{:?}", list.json);
    let items = list.json["items"].as_array().unwrap().clone();

    // Assert
    let first = pair_of(&items, &l1, c1).unwrap_or_else(|| panic!("{c1} not suggested for l1: {items:?}"));
    assert!(first["score"].as_f64().unwrap() >= 0.9, "{first}");
    let reasons: Vec<&str> = first["reasons"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(reasons, ["same street address", "same name"], "{first}");
    assert_eq!(first["customer_name"], c1["full_name"]);
    assert_eq!(first["connection_id"], json!(app.conn.id));
    assert!(pair_of(&items, &l2, c2).is_some(), "word order and case do not matter: {items:?}");
    assert!(items.iter().all(|s| s["location_id"] != l3["id"]), "nothing looks like l3: {items:?}");
    let scores: Vec<f64> = items.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first: {scores:?}");

    let for_location = app
        .call(
            "GET",
            &format!("/api/v1/suggestions?kind=locations&location_id={}", l1["id"].as_str().unwrap()),
            None,
            &auth,
        )
        .await;
    assert_eq!(for_location.json["items"][0]["customer_id"], c1["id"], "{:?}", for_location.json);
    let for_customer = app
        .call(
            "GET",
            &format!("/api/v1/suggestions?kind=locations&customer_id={}", c1["id"].as_str().unwrap()),
            None,
            &auth,
        )
        .await;
    assert_eq!(for_customer.json["items"][0]["location_id"], l1["id"], "{:?}", for_customer.json);

    // One taken record makes the whole accept a 409 that changes nothing.
    let taken = app
        .call(
            "PUT",
            &format!("/api/v1/locations/{}/link", l3["id"].as_str().unwrap()),
            Some(json!({ "customer_id": c3["id"] })),
            &auth,
        )
        .await;
    assert_eq!(taken.status, 200, "{:?}", taken.json);
    let pair = |l: &Value, c: &Value| json!({ "location_id": l["id"], "customer_id": c["id"] });
    let refused = app
        .call(
            "POST",
            "/api/v1/suggestions/accept",
            Some(json!({ "kind": "locations", "pairs": [pair(&l1, c1), pair(&l2, c3)] })),
            &auth,
        )
        .await;
    assert_eq!(refused.status, 409, "{:?}", refused.json);
    let l1_now = app.call("GET", &format!("/api/v1/locations/{}", l1["id"].as_str().unwrap()), None, &auth).await;
    assert!(l1_now.json["link"].is_null(), "the first pair was rolled back: {:?}", l1_now.json);

    let accepted = app
        .call(
            "POST",
            "/api/v1/suggestions/accept",
            Some(json!({ "kind": "locations", "pairs": [pair(&l1, c1), pair(&l2, c2)] })),
            &auth,
        )
        .await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);
    assert_eq!(accepted.json["linked"], 2);
    for (l, c) in [(&l1, c1), (&l2, c2)] {
        let now = app.call("GET", &format!("/api/v1/locations/{}", l["id"].as_str().unwrap()), None, &auth).await;
        assert_eq!(now.json["link"]["customer_id"], c["id"]);
    }
    let after = app.call("GET", "/api/v1/suggestions?kind=locations", None, &auth).await;
    assert!(
        after.json["items"].as_array().unwrap().iter().all(|s| s["location_id"] != l1["id"]),
        "linked records are not suggested"
    );

    // The log says who accepted what; the accept is undone in one step, once.
    let history = app.call("GET", &format!("/api/v1/audit?subject={}", l1["id"].as_str().unwrap()), None, &auth).await;
    assert_eq!(history.status, 200, "{:?}", history.json);
    let event = &history.json["items"][0];
    assert_eq!((event["action"].as_str(), event["who"]["kind"].as_str()), (Some("accept"), Some("token")), "{event}");
    assert_eq!(event["before"]["link"], Value::Null);
    assert_eq!(event["after"]["link"]["id"], c1["id"]);
    assert_eq!(event["quickbooks"]["name"], c1["full_name"]);
    let undo = app.call("POST", "/api/v1/audit/undo", Some(json!({ "events": accepted.json["events"] })), &auth).await;
    assert_eq!((undo.status, &undo.json["undone"]), (200, &json!(2)), "{:?}", undo.json);
    for l in [&l1, &l2] {
        let now = app.call("GET", &format!("/api/v1/locations/{}", l["id"].as_str().unwrap()), None, &auth).await;
        assert!(now.json["link"].is_null(), "{:?}", now.json);
    }
    let again = app.call("POST", "/api/v1/audit/undo", Some(json!({ "events": accepted.json["events"] })), &auth).await;
    assert_eq!(again.status, 409, "{:?}", again.json);
    let history =
        app.call("GET", &format!("/api/v1/audit?subject={}&limit=1", l1["id"].as_str().unwrap()), None, &auth).await;
    assert_eq!(history.json["items"][0]["action"], "undo");
    assert!(history.json["next"].is_string(), "a second page holds the accept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plus_is_keyed_by_the_customer_names_a_job_after_its_parent_and_is_undone_from_the_log() {
    let app = spawn_app().await;
    app.sync_company(12, 60, 4).await;
    let auth = app.bearer();
    let customers = app.all_customers("linked=false&status=active").await;
    let job = customers.iter().find(|c| !c["parent_list_id"].is_null()).expect("the company has jobs");
    let path = format!("/api/v1/qb/customers/{}/location", job["id"].as_str().unwrap());

    // A double click: the second "+" answers the first one's location.
    let first = app.call("POST", &path, None, &auth).await;
    assert_eq!(first.status, 201, "{:?}", first.json);
    let second = app.call("POST", &path, None, &auth).await;
    assert_eq!(second.status, 200, "{:?}", second.json);
    assert_eq!(second.json["id"], first.json["id"]);
    assert!(second.header("X-Audit-Event").is_none(), "nothing was made the second time");
    let full_name = job["full_name"].as_str().unwrap();
    let (parent, own) = full_name.rsplit_once(':').unwrap();
    let parent_leaf = parent.rsplit(':').next().unwrap();
    assert_eq!(first.json["name"], format!("{}, {}", parent_leaf.trim(), own.trim()));
    assert!(
        first.json["description"].as_str().unwrap().contains(&full_name.trim().replace(':', " › ")),
        "{:?}",
        first.json
    );
    let same_name = app
        .call("GET", &format!("/api/v1/locations?q={}", urlencode(first.json["name"].as_str().unwrap())), None, &auth)
        .await;
    assert_eq!(same_name.json["total"], 1, "one location made: {:?}", same_name.json);

    // Undoing the "+" deletes the location it made.
    let event = first.header("X-Audit-Event").expect("the change is named").to_string();
    let undo = app.call("POST", "/api/v1/audit/undo", Some(json!({ "events": [event] })), &auth).await;
    assert_eq!(undo.status, 200, "{:?}", undo.json);
    let gone = app.call("GET", &format!("/api/v1/locations/{}", first.json["id"].as_str().unwrap()), None, &auth).await;
    assert_eq!(gone.status, 404);
    let history =
        app.call("GET", &format!("/api/v1/audit?subject={}", first.json["id"].as_str().unwrap()), None, &auth).await;
    let actions: Vec<&str> =
        history.json["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["undo", "create"], "the history outlives the location");
    assert_eq!(history.json["items"][1]["after"]["record"]["name"], first.json["name"]);

    // A link and an unlink made by an admin, and the unlink undone.
    let session = app.sign_in().await;
    let made = app.call("POST", &path, None, &auth).await;
    assert_eq!(made.status, 201);
    let location = made.json["id"].as_str().unwrap().to_string();
    let unlinked = app.call("DELETE", &format!("/api/v1/locations/{location}/link"), None, &session).await;
    assert_eq!(unlinked.status, 200, "{:?}", unlinked.json);
    let history = app.call("GET", &format!("/api/v1/audit?subject={location}"), None, &session).await;
    let event = &history.json["items"][0];
    assert_eq!((event["action"].as_str(), event["who"]["kind"].as_str()), (Some("unlink"), Some("admin")), "{event}");
    assert!(event["who"]["name"].as_str().unwrap().contains('@'), "the admin's e-mail: {event}");
    let undo = app
        .call(
            "POST",
            "/api/v1/audit/undo",
            Some(json!({ "events": [unlinked.header("X-Audit-Event").unwrap()] })),
            &session,
        )
        .await;
    assert_eq!(undo.status, 200, "{:?}", undo.json);
    let relinked = app.call("GET", &format!("/api/v1/locations/{location}"), None, &auth).await;
    assert_eq!(relinked.json["link"]["customer_id"], job["id"]);
    // The record was unlinked and linked since it was made: undoing its "+" keeps it.
    let create_event = app.call("GET", &format!("/api/v1/audit?subject={location}"), None, &auth).await.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "create")
        .unwrap()["id"]
        .clone();
    let kept = app.call("POST", "/api/v1/audit/undo", Some(json!({ "events": [create_event] })), &auth).await;
    assert_eq!(kept.status, 409, "{:?}", kept.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_suggestions_match_people_by_name_in_any_order_and_email() {
    let app = spawn_app().await;
    app.sync_company(13, 5, 20).await;
    let auth = app.bearer();
    let employees = app.all_employees("linked=false&status=active").await;
    let e = employees.iter().find(|e| !e["first_name"].is_null() && !e["last_name"].is_null()).unwrap();
    let name = format!("{}, {}", e["last_name"].as_str().unwrap(), e["first_name"].as_str().unwrap());
    let staff = app.call("POST", "/api/v1/staff", Some(json!({ "name": name, "email": e["email"] })), &auth).await;
    assert_eq!(staff.status, 201, "{:?}", staff.json);
    let list = app.call("GET", "/api/v1/suggestions?kind=staff", None, &auth).await;
    let found = list.json["items"].as_array().unwrap().iter().find(|s| s["staff_id"] == staff.json["id"]).cloned();
    let found = found.unwrap_or_else(|| panic!("{:?}", list.json));
    assert_eq!(found["employee_id"], e["id"]);
    assert_eq!(found["employee_name"], e["name"]);
    let accepted =
        app.call("POST", "/api/v1/suggestions/accept", Some(json!({ "kind": "staff", "pairs": [found] })), &auth).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);
    let linked = app.call("GET", &format!("/api/v1/staff/{}", staff.json["id"].as_str().unwrap()), None, &auth).await;
    assert_eq!(linked.json["link"]["employee_id"], e["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestion_and_audit_requests_with_bad_input_are_json_errors() {
    let app = spawn_app().await;
    let auth = app.bearer();
    for (method, path, body, status) in [
        ("GET", "/api/v1/suggestions", None, 400),
        ("GET", "/api/v1/suggestions?kind=customers", None, 400),
        ("GET", "/api/v1/suggestions?kind=locations&min_score=2", None, 400),
        ("GET", "/api/v1/suggestions?kind=locations&staff_id=00000000-0000-0000-0000-000000000000", None, 400),
        ("POST", "/api/v1/suggestions/accept", Some(json!({ "kind": "locations", "pairs": [] })), 422),
        (
            "POST",
            "/api/v1/suggestions/accept",
            Some(json!({ "kind": "locations", "pairs": [{ "location_id": "x" }] })),
            422,
        ),
        (
            "POST",
            "/api/v1/suggestions/accept",
            Some(json!({ "kind": "locations", "pairs": [{
            "location_id": "00000000-0000-0000-0000-000000000000", "customer_id": "00000000-0000-0000-0000-000000000000" }] })),
            404,
        ),
        ("GET", "/api/v1/audit?since=yesterday", None, 400),
        ("GET", "/api/v1/audit?subject=nope", None, 400),
        ("POST", "/api/v1/audit/undo", Some(json!({ "events": [] })), 422),
        ("POST", "/api/v1/audit/undo", Some(json!({ "events": ["00000000-0000-0000-0000-000000000000"] })), 404),
    ] {
        let answer = app.call(method, path, body, &auth).await;
        assert_eq!(answer.status, status, "{method} {path}: {:?}", answer.json);
        assert!(answer.json["error"]["message"].is_string(), "{method} {path}: {:?}", answer.json);
    }
    let empty = app.call("GET", "/api/v1/audit?since=2999-01-01T00:00:00Z", None, &auth).await;
    assert_eq!(empty.json, json!({ "items": [], "next": null }));
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

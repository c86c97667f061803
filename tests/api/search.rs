//! Search and filters of every list: accent- and case-insensitive, any word order, street types
//! under both spellings, phone numbers by their digits; the status and connection filters; and
//! the search text of rows written before its form changed, made anew at start.

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults, SimAddress};
use qbsync::store::Db;
use serde_json::{Value, json};

use crate::helpers::*;

/// A generated company with known customers and an employee to search for: "Château Élan
/// Events", "Aspen Hotel" at "12 Airport Road", an inactive "Aspen Lodge", and "Zoë Ångström"
/// whose mobile is "(415) 555-6579".
fn company() -> Dataset {
    let mut data = Dataset::generate(5, 12, 3);
    let parents: Vec<String> = data.customers.iter().filter_map(|c| c.parent.as_ref().map(|p| p.0.clone())).collect();
    let mut lone: Vec<usize> = (0..data.customers.len())
        .filter(|&i| data.customers[i].parent.is_none() && !parents.contains(&data.customers[i].list_id))
        .collect();
    assert!(lone.len() >= 3, "the generated company has customers without jobs");
    lone.truncate(3);
    let set = |data: &mut Dataset, i: usize, name: &str| {
        let c = &mut data.customers[i];
        c.name = name.into();
        c.full_name = name.into();
        c.company_name = None;
        c.is_active = true;
    };
    set(&mut data, lone[0], "Château Élan Events");
    set(&mut data, lone[1], "Aspen Hotel");
    data.customers[lone[1]].ship = Some(SimAddress {
        addr1: Some("12 Airport Road".into()),
        city: Some("Bayshore".into()),
        ..SimAddress::default()
    });
    set(&mut data, lone[2], "Aspen Lodge");
    data.customers[lone[2]].is_active = false;
    data.customers.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    let e = &mut data.employees[0];
    e.name = "Zoë Ångström".into();
    e.first_name = Some("Zoë".into());
    e.last_name = Some("Ångström".into());
    e.mobile = Some("(415) 555-6579".into());
    e.is_active = true;
    data
}

fn names(items: &[Value], key: &str) -> Vec<String> {
    let mut names: Vec<String> = items.iter().map(|i| i[key].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

async fn list(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = app.get_json(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_finds_records_whatever_the_accents_case_word_order_and_street_spelling() {
    // Arrange
    let app = spawn_app().await;
    app.simulate(FakeQuickBooks::new(company(), Faults::default())).await;
    let auth = app.bearer();
    for body in [
        json!({ "name": "Hôtel du Lac", "address": { "line1": "7 Main Street", "city": "Zürich" } }),
        json!({ "name": "Harbor Office", "phone": "(415) 555-0000", "email": "desk@harbor.example" }),
    ] {
        assert_eq!(app.call("POST", "/api/v1/locations", Some(body), &auth).await.status, 201);
    }
    let made =
        app.call("POST", "/api/v1/staff", Some(json!({ "name": "José Núñez", "phone": "415.555.0101" })), &auth).await;
    assert_eq!(made.status, 201, "{:?}", made.json);

    // Act and assert: customers.
    let found = |q: &str| {
        let path = format!("/api/v1/qb/customers?q={}", urlencode(q));
        let app = &app;
        async move { names(&list(app, &path).await, "full_name") }
    };
    assert_eq!(found("Chateau").await, ["Château Élan Events"]);
    assert_eq!(found("CHÂTEAU élan").await, ["Château Élan Events"]);
    assert_eq!(found("events chateau").await, ["Château Élan Events"], "any word order");
    assert_eq!(found("Hotel Aspen").await, ["Aspen Hotel"]);
    assert_eq!(found("Airport Rd").await, ["Aspen Hotel"], "the address, under the other spelling");
    assert_eq!(found("airport road bayshore").await, ["Aspen Hotel"]);
    assert_eq!(found("Aspen").await, ["Aspen Hotel", "Aspen Lodge"]);
    assert!(found("Aspen Zzyzx").await.is_empty(), "every word must be found");

    // Employees: names with accents, phones by their digits.
    let employees = |q: &str| {
        let path = format!("/api/v1/qb/employees?q={}", urlencode(q));
        let app = &app;
        async move { names(&list(app, &path).await, "name") }
    };
    assert_eq!(employees("angstrom zoe").await, ["Zoë Ångström"]);
    assert_eq!(employees("4155556579").await, ["Zoë Ångström"]);
    assert_eq!(employees("415-555-6579").await, ["Zoë Ångström"]);

    // Locations and staff.
    let locations = |q: &str| {
        let path = format!("/api/v1/locations?q={}", urlencode(q));
        let app = &app;
        async move { names(&list(app, &path).await, "name") }
    };
    assert_eq!(locations("lac hotel").await, ["Hôtel du Lac"]);
    assert_eq!(locations("main st zurich").await, ["Hôtel du Lac"]);
    assert_eq!(locations("4155550000").await, ["Harbor Office"]);
    assert_eq!(locations("desk@harbor").await, ["Harbor Office"]);
    let staff = list(&app, &format!("/api/v1/staff?q={}", urlencode("nunez JOSE"))).await;
    assert_eq!(names(&staff, "name"), ["José Núñez"]);

    // A linked location is found by its customer's words too, as in the Linked panel.
    let customer = list(&app, "/api/v1/qb/customers?q=chateau").await[0]["id"].as_str().unwrap().to_string();
    let harbor = list(&app, "/api/v1/locations?q=harbor").await[0]["id"].as_str().unwrap().to_string();
    let linked = app
        .call("PUT", &format!("/api/v1/locations/{harbor}/link"), Some(json!({ "customer_id": customer })), &auth)
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.json);
    let pairs = list(&app, "/api/v1/locations?linked=true&q=chateau%20harbor").await;
    assert_eq!(names(&pairs, "name"), ["Harbor Office"]);
    let (_, counted) = app.get_json("/api/v1/locations?linked=true&q=elan").await;
    assert_eq!(counted["total"], 1, "{counted}");

    // A changed location is found by its new words only.
    let id = list(&app, "/api/v1/locations?q=lac").await[0]["id"].as_str().unwrap().to_string();
    let renamed =
        app.call("PATCH", &format!("/api/v1/locations/{id}"), Some(json!({ "name": "Lakeside Inn" })), &auth).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.json);
    assert_eq!(locations("lakeside").await, ["Lakeside Inn"]);
    assert!(locations("lac hotel").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_filter_takes_several_statuses_and_search_pages_by_keyset() {
    // Arrange
    let app = spawn_app().await;
    app.simulate(FakeQuickBooks::new(company(), Faults::default())).await;

    // Act
    let active = list(&app, "/api/v1/qb/customers?q=aspen&status=active").await;
    let current = list(&app, "/api/v1/qb/customers?q=aspen&status=active,inactive&linked=false").await;
    let (bad, body) = app.get_json("/api/v1/qb/customers?status=active,gone").await;

    // Assert
    assert_eq!(names(&active, "full_name"), ["Aspen Hotel"]);
    assert_eq!(names(&current, "full_name"), ["Aspen Hotel", "Aspen Lodge"]);
    assert_eq!(bad, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("status"), "{body}");

    // One match a page: the cursor walks the matches only, and the first page counts them all.
    let (_, first) = app.get_json("/api/v1/qb/customers?q=aspen&limit=1").await;
    assert_eq!(first["total"], 2, "{first}");
    let next = first["next"].as_str().expect("a second page").to_string();
    let (_, second) = app.get_json(&format!("/api/v1/qb/customers?q=aspen&limit=1&cursor={next}")).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1, "{second}");
    assert!(second["next"].is_null(), "{second}");
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_whose_search_text_is_of_an_older_form_get_it_anew_at_start() {
    // Arrange: staged records and a location, then their search text as an older release left
    // it (lower case only, accents kept; none for the location).
    let app = spawn_app().await;
    app.simulate(FakeQuickBooks::new(company(), Faults::default())).await;
    let made = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Café Crème" })), &app.bearer()).await;
    assert_eq!(made.status, 201);
    let older = [
        "UPDATE qb_customer SET search = LOWER(full_name), watch = ''",
        "UPDATE qb_employee SET search = LOWER(name), watch = ''",
        "UPDATE location SET search = ''",
        "UPDATE derived_text SET version = 0",
    ];
    for sql in older {
        execute(&app.db, sql).await;
    }
    assert!(list(&app, "/api/v1/qb/customers?q=chateau").await.is_empty(), "the older form has accents");

    // Act: another server process starts on the same database.
    let (base, handle) = spawn_second_server(&app, |_| {}).await;

    // Assert: the first process sees it too (the text is in the database).
    assert_eq!(names(&list(&app, "/api/v1/qb/customers?q=chateau").await, "full_name"), ["Château Élan Events"]);
    assert_eq!(names(&list(&app, "/api/v1/qb/customers?q=airport%20rd").await, "full_name"), ["Aspen Hotel"]);
    assert_eq!(names(&list(&app, "/api/v1/locations?q=cafe%20creme").await, "name"), ["Café Crème"]);
    assert!(!base.is_empty());
    handle.stop(false).await;
}

async fn execute(db: &Db, sql: &str) {
    match db {
        Db::Sqlite(pool) => drop(sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(pool).await.unwrap()),
        Db::Postgres(pool) => drop(sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(pool).await.unwrap()),
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

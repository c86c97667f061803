//! Change review: a linked QuickBooks record that changes in a way that matters (name, address,
//! phones, e-mail, active, deleted) is listed with its changes and the fields the location (staff
//! member) can take; applying chosen fields or dismissing marks it reviewed, with an audit event.

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults, SimAddress};
use serde_json::{Value, json};

use crate::helpers::*;

const SEED: u64 = 31;

fn company() -> Dataset {
    Dataset::generate(SEED, 14, 4)
}

/// Top-level customers without jobs (QuickBooks lets only those be deleted or made inactive).
fn lone_customers(data: &Dataset) -> Vec<usize> {
    let parents: Vec<&str> = data.customers.iter().filter_map(|c| c.parent.as_ref().map(|p| p.0.as_str())).collect();
    (0..data.customers.len())
        .filter(|&i| {
            let c = &data.customers[i];
            c.parent.is_none() && c.is_active && !parents.contains(&c.list_id.as_str()) && !c.name.contains('<')
        })
        .collect()
}

/// A record edited in QuickBooks: a later EditSequence and TimeModified.
fn touch(edit_sequence: &mut u64) {
    *edit_sequence += 86_400;
}

async fn staged_id(app: &TestApp, list: &str, list_id: &str) -> String {
    let all = if list == "customers" { app.all_customers("").await } else { app.all_employees("").await };
    all.iter().find(|r| r["list_id"] == list_id).unwrap()["id"].as_str().unwrap().to_string()
}

async fn changes(app: &TestApp, kind: &str) -> Value {
    let answer = app.call("GET", &format!("/api/v1/changes?kind={kind}"), None, &app.bearer()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    answer.json
}

fn item_of<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["items"].as_array().unwrap().iter().find(|i| i["id"] == id)
}

fn fields_changed(item: &Value) -> Vec<String> {
    item["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap().to_string()).collect()
}

fn field<'a>(item: &'a Value, name: &str) -> &'a Value {
    item["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).unwrap()
}

/// Three customers linked (by "+", by hand, by "+") and one employee by "+"; then QuickBooks
/// changes the first's phone and address, makes the second inactive, deletes the third and
/// changes the employee's e-mail. Answers the data as changed and the ids.
pub struct Arranged {
    pub data: Dataset,
    pub made: String,
    pub by_hand: String,
    pub gone: String,
    pub person: String,
}

pub async fn arrange(app: &TestApp) -> Arranged {
    let mut data = company();
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    let auth = app.bearer();
    let lone = lone_customers(&data);
    assert!(lone.len() >= 3, "the generated company has lone customers");
    let (a, b, c) = (lone[0], lone[1], lone[2]);
    let plus = |list: &'static str, id: String| {
        let auth = auth.clone();
        async move {
            let target = if list == "customers" { "location" } else { "staff" };
            let made = app.call("POST", &format!("/api/v1/qb/{list}/{id}/{target}"), None, &auth).await;
            assert_eq!(made.status, 201, "{:?}", made.json);
            made.json["id"].as_str().unwrap().to_string()
        }
    };
    let made = plus("customers", staged_id(app, "customers", &data.customers[a].list_id).await).await;
    let gone = plus("customers", staged_id(app, "customers", &data.customers[c].list_id).await).await;
    let location = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Typed by hand" })), &auth).await;
    let by_hand = location.json["id"].as_str().unwrap().to_string();
    let customer_b = staged_id(app, "customers", &data.customers[b].list_id).await;
    let linked = app
        .call("PUT", &format!("/api/v1/locations/{by_hand}/link"), Some(json!({ "customer_id": customer_b })), &auth)
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.json);
    let e = data.employees.iter().position(|e| e.is_active).unwrap();
    let person = plus("employees", staged_id(app, "employees", &data.employees[e].list_id).await).await;

    // Nothing to review yet: the links were made from the records as they are.
    let before = changes(app, "locations").await;
    assert_eq!(before["items"], json!([]), "{before}");
    assert_eq!(before["counts"], json!({ "locations": 0, "staff": 0 }));

    // QuickBooks changes.
    let first = &mut data.customers[a];
    first.phone = Some("(415) 555-0199".into());
    first.ship = Some(SimAddress {
        addr1: Some("99 Harbor Way".into()),
        city: Some("Bayshore".into()),
        ..SimAddress::default()
    });
    first.notes = Some("a note is not a change that matters".into());
    touch(&mut first.edit_sequence);
    data.customers[b].is_active = false;
    touch(&mut data.customers[b].edit_sequence);
    data.customers.remove(c);
    let person_record = &mut data.employees[e];
    person_record.email = Some("new.address@example.com".into());
    touch(&mut person_record.edit_sequence);
    // The edits above keep their TimeModified (and one record is simply gone): only a full run,
    // which reads every record and reconciles, sees them all.
    app.request_full_refresh().await;
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    Arranged { data, made, by_hand, gone, person }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_records_changed_in_quickbooks_are_listed_field_by_field_with_counts() {
    // Arrange
    let app = spawn_app().await;
    let ids = arrange(&app).await;

    // Act
    let locations = changes(&app, "locations").await;
    let staff = changes(&app, "staff").await;

    // Assert
    assert_eq!(locations["counts"], json!({ "locations": 3, "staff": 1 }), "{locations}");
    assert_eq!(staff["counts"], locations["counts"]);
    let made = item_of(&locations, &ids.made).expect("the record made by + is listed");
    assert_eq!(fields_changed(made), ["address", "phone"], "{made}");
    let phone = &made["changes"][1];
    assert_eq!(phone["after"], "(415) 555-0199", "{made}");
    assert!(phone["before"] != phone["after"]);
    assert_eq!(field(made, "phone")["differs"], true);
    assert_eq!(field(made, "phone")["quickbooks"], "(415) 555-0199");
    assert_eq!(field(made, "address")["quickbooks"]["line1"], "99 Harbor Way");
    assert_eq!(field(made, "name")["differs"], false, "{made}");
    assert_eq!(made["status"], "active");

    let by_hand = item_of(&locations, &ids.by_hand).unwrap();
    assert_eq!(fields_changed(by_hand), ["active"], "{by_hand}");
    assert_eq!(by_hand["status"], "inactive");
    assert_eq!(field(by_hand, "name")["current"], "Typed by hand");
    assert_eq!(field(by_hand, "name")["differs"], true, "the location has its own name");

    let gone = item_of(&locations, &ids.gone).unwrap();
    assert_eq!(fields_changed(gone), ["deleted"], "{gone}");
    assert_eq!(gone["status"], "deleted");

    let person = item_of(&staff, &ids.person).unwrap();
    assert_eq!(fields_changed(person), ["email"], "{person}");
    assert_eq!(field(person, "email")["quickbooks"], "new.address@example.com");

    // The pairs say so in the lists too, with their record's status.
    let (_, listed) = app.get_json("/api/v1/locations?linked=true").await;
    let link_of =
        |id: &str| listed["items"].as_array().unwrap().iter().find(|l| l["id"] == id).unwrap()["link"].clone();
    assert_eq!(
        (link_of(&ids.made)["changed"].clone(), link_of(&ids.made)["status"].clone()),
        (json!(true), json!("active"))
    );
    assert_eq!(link_of(&ids.gone)["status"], "deleted");
    assert_eq!(link_of(&ids.made)["address"]["line1"], "99 Harbor Way");
    assert!(ids.data.customers.iter().all(|c| c.name != "Typed by hand"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_chosen_fields_or_dismissing_marks_the_pair_reviewed_with_an_audit_event() {
    // Arrange
    let app = spawn_app().await;
    let mut ids = arrange(&app).await;
    let auth = app.bearer();
    let (_, before) = app.get_json(&format!("/api/v1/locations/{}", ids.made)).await;

    // Act: the phone only, of the first.
    let applied = app
        .call("POST", &format!("/api/v1/changes/{}/apply", ids.made), Some(json!({ "fields": ["phone"] })), &auth)
        .await;

    // Assert
    assert_eq!(applied.status, 200, "{:?}", applied.json);
    assert_eq!(applied.json["phone"], "(415) 555-0199");
    assert_eq!(applied.json["address"], before["address"], "the address was not chosen");
    assert_eq!(applied.json["link"]["changed"], false);
    let event = applied.header("X-Audit-Event").expect("the audit event").to_string();
    let (_, log) = app.get_json(&format!("/api/v1/audit?subject={}", ids.made)).await;
    let logged = &log["items"][0];
    assert_eq!((logged["id"].as_str(), logged["action"].as_str()), (Some(event.as_str()), Some("apply")), "{log}");
    assert_eq!(logged["before"], json!({ "fields": { "phone": before["phone"] } }));
    assert_eq!(logged["after"]["fields"], json!({ "phone": "(415) 555-0199" }));
    let locations = changes(&app, "locations").await;
    assert!(item_of(&locations, &ids.made).is_none());
    assert_eq!(locations["counts"], json!({ "locations": 2, "staff": 1 }));

    // Again: nothing is waiting any more. An applied change is not undone.
    let again = app
        .call("POST", &format!("/api/v1/changes/{}/apply", ids.made), Some(json!({ "fields": ["phone"] })), &auth)
        .await;
    assert_eq!(again.status, 409, "{:?}", again.json);
    let undo = app.call("POST", "/api/v1/audit/undo", Some(json!({ "events": [event] })), &auth).await;
    assert_eq!(undo.status, 409, "{:?}", undo.json);

    // Bad requests change nothing.
    for body in [json!({ "fields": [] }), json!({ "fields": ["address"] }), json!({ "fields": "email" }), json!({})] {
        let bad = app.call("POST", &format!("/api/v1/changes/{}/apply", ids.person), Some(body.clone()), &auth).await;
        assert_eq!(bad.status, 422, "{body}: {:?}", bad.json);
    }
    let unknown = app.call("POST", &format!("/api/v1/changes/{}/dismiss", uuid::Uuid::new_v4()), None, &auth).await;
    assert_eq!(unknown.status, 404);

    // Dismissing leaves the location as it is.
    let (_, kept) = app.get_json(&format!("/api/v1/locations/{}", ids.by_hand)).await;
    let dismissed = app.call("POST", &format!("/api/v1/changes/{}/dismiss", ids.by_hand), None, &auth).await;
    assert_eq!(dismissed.status, 200, "{:?}", dismissed.json);
    assert_eq!(
        (dismissed.json["name"].clone(), dismissed.json["updated_at"].clone()),
        (kept["name"].clone(), kept["updated_at"].clone())
    );
    let (_, log) = app.get_json(&format!("/api/v1/audit?subject={}", ids.by_hand)).await;
    assert_eq!(log["items"][0]["action"], "dismiss");
    let staff = app
        .call("POST", &format!("/api/v1/changes/{}/apply", ids.person), Some(json!({ "fields": ["email"] })), &auth)
        .await;
    assert_eq!((staff.status, staff.json["email"].clone()), (200, json!("new.address@example.com")));
    assert_eq!(changes(&app, "staff").await["counts"], json!({ "locations": 1, "staff": 0 }));

    // A later change of a reviewed record is listed again, measured from the review.
    let record = ids.data.customers.iter_mut().find(|c| c.phone.as_deref() == Some("(415) 555-0199")).unwrap();
    record.email = Some("front.desk@example.com".into());
    touch(&mut record.edit_sequence);
    app.request_full_refresh().await;
    app.simulate(FakeQuickBooks::new(ids.data.clone(), Faults::default())).await;
    let locations = changes(&app, "locations").await;
    assert_eq!(fields_changed(item_of(&locations, &ids.made).unwrap()), ["email"], "{locations}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organizations_changes_are_not_seen_nor_reviewed() {
    let app = spawn_app().await;
    let ids = arrange(&app).await;
    let other = qbsync::store::catalog::create_organization(&app.db, "Elsewhere").await.unwrap();
    let token = add_token(&app.db, other.organization_id).await;
    let outsider = Auth::Bearer(token);

    let list = app.call("GET", "/api/v1/changes?kind=locations", None, &outsider).await;
    let dismissed = app.call("POST", &format!("/api/v1/changes/{}/dismiss", ids.made), None, &outsider).await;

    assert_eq!(list.json, json!({ "items": [], "counts": { "locations": 0, "staff": 0 } }));
    assert_eq!(dismissed.status, 404);
    assert_eq!(changes(&app, "locations").await["counts"]["locations"], 3);
}

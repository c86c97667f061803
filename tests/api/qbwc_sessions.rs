//! Whole Web Connector sessions against the simulator: what QBWC sees, and what ends up staged.

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use serde_json::Value;

use crate::helpers::*;

fn by_list_id(items: &[Value]) -> std::collections::HashMap<String, Value> {
    items.iter().map(|c| (c["list_id"].as_str().unwrap().to_string(), c.clone())).collect()
}

async fn check_full_session(customers: usize, employees: usize) {
    // Arrange
    let app = spawn_app_with(|s| s.sync.page_size = 100).await;
    let data = Dataset::generate(7, customers, employees);
    let qb = FakeQuickBooks::new(data.clone(), Faults::default());

    // Act
    let (report, _) = app.simulate(qb).await;

    // Assert: what the Web Connector saw.
    assert!(report.soap_faults.is_empty(), "{:?}", report.soap_faults);
    assert_eq!(report.auth_status, "");
    assert_eq!(report.progress.last(), Some(&100), "{:?}", report.progress);
    assert!(report.progress.windows(2).all(|w| w[0] <= w[1]), "progress goes back: {:?}", report.progress);
    assert!(report.progress[..report.progress.len() - 1].iter().all(|p| (0..100).contains(p)));
    let pages = customers.div_ceil(100).max(1);
    assert_eq!(report.requests as usize, pages + 1, "one request per customer page plus one for employees");
    assert!(!report.requested_ssn, "qbsync must never ask QuickBooks for SSNs");
    let expected_close = format!(
        "Staged {} {} and {} {}",
        qbsync::sync::plan::thousands(customers as i64),
        if customers == 1 { "customer" } else { "customers" },
        employees,
        if employees == 1 { "employee" } else { "employees" }
    );
    assert_eq!(report.close_message.as_deref(), Some(expected_close.as_str()));

    // Assert: what was staged.
    let staged = app.all_customers("").await;
    assert_eq!(staged.len(), customers);
    let staged = by_list_id(&staged);
    for customer in &data.customers {
        let row = &staged[&customer.list_id];
        assert_eq!(row["full_name"], customer.full_name.as_str());
        assert_eq!(row["name"], customer.name.as_str());
        assert_eq!(row["is_active"], customer.is_active);
        assert_eq!(row["edit_sequence"], customer.edit_sequence.to_string().as_str());
        assert_eq!(row["time_modified"], customer.time_modified.as_str());
        assert_eq!(row["parent_list_id"].as_str(), customer.parent.as_ref().map(|p| p.0.as_str()));
        assert_eq!(row["company_name"].as_str(), customer.company_name.as_deref());
        assert_eq!(row["email"].as_str(), customer.email.as_deref());
        assert_eq!(row["ship_address"]["city"].as_str(), customer.ship.as_ref().and_then(|a| a.city.as_deref()));
        assert_eq!(row["status"], if customer.is_active { "active" } else { "inactive" });
        assert!(row["link"].is_null());
    }
    let staff = app.all_employees("").await;
    assert_eq!(staff.len(), employees);
    let staff = by_list_id(&staff);
    for employee in &data.employees {
        let row = &staff[&employee.list_id];
        assert_eq!(row["name"], employee.name.as_str());
        assert_eq!(row["is_active"], employee.is_active);
        assert_eq!(row["mobile"].as_str(), employee.mobile.as_deref());
        assert_eq!(row["hired_date"].as_str(), employee.hired_date.as_deref());
        assert!(!row.to_string().contains(&employee.ssn), "an SSN reached the API");
    }

    // Assert: the run is recorded.
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(run["state"], "ended");
    assert_eq!(run["counts"]["customers"], customers);
    assert_eq!(run["counts"]["employees"], employees);
    assert_eq!(run["summary"], expected_close.as_str());
    assert!(run["ended_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_no_customers_and_no_employees_completes() {
    check_full_session(0, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_one_customer_completes() {
    check_full_session(1, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_seven_customers_completes() {
    check_full_session(7, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_2500_customers_is_paged_and_staged_completely() {
    check_full_session(2500, 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_updates_deactivates_and_marks_removed_records_deleted() {
    // Arrange: a first run, and a location linked to a customer that QuickBooks will lose.
    let app = spawn_app().await;
    let mut data = Dataset::generate(11, 60, 12);
    let (first, _) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(first.progress.last(), Some(&100));
    let evolution = data.evolve(12, 5, 4, 3);
    let removed = evolution.removed[0].clone();
    let staged = by_list_id(&app.all_customers("").await);
    let removed_id = uuid::Uuid::parse_str(staged[&removed]["id"].as_str().unwrap()).unwrap();
    let location_id = link_location_to(&app, removed_id).await;

    // Act
    let (second, _) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;

    // Assert
    assert_eq!(second.progress.last(), Some(&100));
    let staged = by_list_id(&app.all_customers("").await);
    assert_eq!(staged.len(), 60, "rows are never deleted");
    for id in &evolution.changed {
        let now = data.customers.iter().find(|c| &c.list_id == id).unwrap();
        assert_eq!(staged[id]["name"], now.name.as_str());
        assert_eq!(staged[id]["edit_sequence"], now.edit_sequence.to_string().as_str());
    }
    for id in &evolution.deactivated {
        assert_eq!(staged[id]["is_active"], false);
        assert_eq!(staged[id]["status"], "inactive");
    }
    for id in &evolution.removed {
        assert_eq!(staged[id]["status"], "deleted", "{}", staged[id]);
        assert!(staged[id]["deleted_at"].is_string());
    }
    let still_there = staged.values().filter(|c| c["status"] != "deleted").count();
    assert_eq!(still_there, 60 - evolution.removed.len());
    assert_eq!(staged[&removed]["link"]["id"], location_id.to_string().as_str(), "the link survives the deletion");

    let deleted = app.all_customers("status=deleted").await;
    assert_eq!(deleted.len(), evolution.removed.len());
    let employees = by_list_id(&app.all_employees("").await);
    for id in &evolution.employees_removed {
        assert_eq!(employees[id]["status"], "deleted");
    }
    for id in &evolution.employees_deactivated {
        assert_eq!(employees[id]["is_active"], false);
    }
    let runs = app.runs().await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["counts"]["customers_deleted"], evolution.removed.len());
    assert!(runs[0]["summary"].as_str().unwrap().contains("no longer in QuickBooks"), "{}", runs[0]["summary"]);

    // The second run was incremental: it asked for the changes and the deletions only.
    assert_eq!(runs[0]["mode"], "incremental", "{}", runs[0]);
    assert_eq!(runs[0]["changes"]["customers"]["deleted"], evolution.removed.len());
    assert_eq!(runs[0]["changes"]["customers"]["deactivated"], evolution.deactivated.len());
    assert_eq!(runs[0]["changes"]["customers"]["changed"], evolution.changed.len());

    // A third, full run in which the record comes back clears the mark.
    app.request_full_refresh().await;
    let mut restored = data.clone();
    let original = Dataset::generate(11, 60, 12);
    restored.customers.push(original.customers.iter().find(|c| c.list_id == removed).unwrap().clone());
    app.simulate(FakeQuickBooks::new(restored, Faults::default())).await;
    let staged = by_list_id(&app.all_customers("").await);
    assert_ne!(staged[&removed]["status"], "deleted");
}

/// Links a new location to a staged customer; staging must never touch the link.
async fn link_location_to(app: &TestApp, customer_id: uuid::Uuid) -> uuid::Uuid {
    use qbsync::store::locations;
    let fields = locations::LocationFields { name: "Warehouse".into(), ..Default::default() };
    let location_id = locations::create_location(&app.db, app.org_id, &fields).await.unwrap();
    let actor = qbsync::store::audit::Actor::Token { api_token_id: uuid::Uuid::nil() };
    locations::link_location(&app.db, app.org_id, &actor, location_id, customer_id).await.unwrap();
    location_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_non_ascii_names_and_missing_fields_are_staged_faithfully() {
    let app = spawn_app().await;
    let data = Dataset::generate(3, 300, 5);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    let staged = by_list_id(&app.all_customers("").await);
    let jobs: Vec<_> = data.customers.iter().filter(|c| c.parent.is_some()).collect();
    assert!(!jobs.is_empty());
    for job in jobs {
        let row = &staged[&job.list_id];
        assert_eq!(row["sublevel"], job.sublevel);
        assert_eq!(row["parent_full_name"].as_str(), job.parent.as_ref().map(|p| p.1.as_str()));
        assert!(row["full_name"].as_str().unwrap().contains(':'));
    }
    let non_ascii: Vec<_> = data.customers.iter().filter(|c| !c.full_name.is_ascii()).collect();
    assert!(!non_ascii.is_empty());
    for c in non_ascii {
        assert_eq!(staged[&c.list_id]["full_name"], c.full_name.as_str());
    }
    let markup: Vec<_> = data.customers.iter().filter(|c| c.full_name.contains(['&', '<', '\'', '"'])).collect();
    assert!(!markup.is_empty());
    for c in markup {
        assert_eq!(staged[&c.list_id]["full_name"], c.full_name.as_str());
    }
    let bare = data
        .customers
        .iter()
        .find(|c| c.email.is_none() && c.bill.is_none())
        .expect("a customer without email or address");
    assert!(staged[&bare.list_id]["email"].is_null());
    assert!(staged[&bare.list_id]["bill_address"]["line1"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_session_while_one_is_live_is_told_busy() {
    let app = spawn_app().await;
    let _ticket = authenticate(&app).await;
    let report = app.sync_company(1, 5, 1).await;
    assert_eq!(report.auth_status, "busy");
    assert_eq!(report.requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_quickbooks_has_not_edited_are_left_as_they_are_and_shown_as_seen() {
    // Arrange: a first run, then a staged name changed behind qbsync's back on two customers,
    // one QuickBooks will edit before the next run and one it will not.
    let app = spawn_app().await;
    let mut data = Dataset::generate(21, 40, 3);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    let first_staged = by_list_id(&app.all_customers("").await);
    let evolution = data.evolve(22, 1, 0, 1);
    let edited = evolution.changed[0].clone();
    let removed = evolution.removed[0].clone();
    let untouched = data.customers.iter().find(|c| c.list_id != edited).unwrap().list_id.clone();
    for list_id in [&edited, &untouched] {
        let sql = "UPDATE qb_customer SET name = 'changed here' WHERE list_id = $1";
        match &app.db {
            qbsync::store::Db::Sqlite(pool) => sqlx::query(sql).bind(list_id).execute(pool).await.map(|_| ()),
            qbsync::store::Db::Postgres(pool) => sqlx::query(sql).bind(list_id).execute(pool).await.map(|_| ()),
        }
        .unwrap();
    }

    // Act: a full run (the weekly one, or one asked for), which reads every record.
    app.request_full_refresh().await;
    let (second, _) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;

    // Assert: the edited record is written again; the other keeps its row as it was, and is
    // still seen by the run (not marked deleted).
    assert_eq!(second.progress.last(), Some(&100));
    let staged = by_list_id(&app.all_customers("").await);
    let now = data.customers.iter().find(|c| c.list_id == edited).unwrap();
    assert_eq!(staged[&edited]["name"], now.name.as_str());
    assert_eq!(staged[&untouched]["name"], "changed here");
    assert_eq!(staged[&untouched]["status"], "active", "{}", staged[&untouched]);
    assert_eq!(app.all_customers("status=deleted").await.len(), 1);
    let runs = app.runs().await;
    assert_eq!(runs[0]["counts"]["customers"], 39, "{}", runs[0]);

    // Every record shows when QuickBooks last listed it: those it still lists, during the second
    // run (written or not); the removed one, during the first.
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let during = |run: &Value, at: &Value| time(&run["started_at"]) <= time(at) && time(at) <= time(&run["ended_at"]);
    for list_id in [&edited, &untouched] {
        assert!(during(&runs[0], &staged[list_id]["seen_at"]), "{} in {}", staged[list_id], runs[0]);
    }
    assert!(time(&staged[&untouched]["seen_at"]) > time(&first_staged[&untouched]["seen_at"]));
    assert_eq!(staged[&removed]["status"], "deleted");
    assert!(during(&runs[1], &staged[&removed]["seen_at"]), "{} in {}", staged[&removed], runs[1]);
}

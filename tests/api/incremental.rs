//! Incremental runs over several cycles against the simulator: QuickBooks is asked only for what
//! changed since each list's watermark (FromModifiedDate less the overlap) and for what it deleted
//! (ListDeletedQueryRq); full runs come on schedule and on request; an old QuickBooks falls back.
//! Every test compares what is staged with what the simulated company holds, field by field.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use qbsync::simulate::{Dataset, FakeQuickBooks, Faults, SimAddress};
use serde_json::{Value, json};

use crate::helpers::*;

fn by_list_id(items: &[Value]) -> HashMap<String, Value> {
    items.iter().map(|c| (c["list_id"].as_str().unwrap().to_string(), c.clone())).collect()
}

fn assert_address(row: &Value, sim: Option<&SimAddress>, what: &str) {
    let part = |f: fn(&SimAddress) -> &Option<String>| sim.and_then(|a| f(a).as_deref());
    assert_eq!(row["line1"].as_str(), part(|a| &a.addr1), "{what} line1");
    assert_eq!(row["line2"].as_str(), part(|a| &a.addr2), "{what} line2");
    assert_eq!(row["city"].as_str(), part(|a| &a.city), "{what} city");
    assert_eq!(row["state"].as_str(), part(|a| &a.state), "{what} state");
    assert_eq!(row["postal_code"].as_str(), part(|a| &a.postal_code), "{what} postal_code");
}

/// What is staged is exactly the simulated company: every record it holds, field by field, and
/// every record it deleted marked deleted (with its link, if any, kept).
async fn assert_staged_is(app: &TestApp, data: &Dataset) {
    let customers = by_list_id(&app.all_customers("").await);
    let live: Vec<&Value> = customers.values().filter(|c| c["status"] != "deleted").collect();
    assert_eq!(live.len(), data.customers.len(), "customers not deleted");
    for c in &data.customers {
        let row = customers.get(&c.list_id).unwrap_or_else(|| panic!("{} ({}) is not staged", c.list_id, c.full_name));
        let what = format!("customer {}", c.full_name);
        assert_eq!(row["name"], c.name.as_str(), "{what}");
        assert_eq!(row["full_name"], c.full_name.as_str(), "{what}");
        assert_eq!(row["parent_list_id"].as_str(), c.parent.as_ref().map(|p| p.0.as_str()), "{what}");
        assert_eq!(row["parent_full_name"].as_str(), c.parent.as_ref().map(|p| p.1.as_str()), "{what}");
        assert_eq!(row["sublevel"], c.sublevel, "{what}");
        assert_eq!(row["is_active"], c.is_active, "{what}");
        assert_eq!(row["status"], if c.is_active { "active" } else { "inactive" }, "{what}");
        assert_eq!(row["edit_sequence"], c.edit_sequence.to_string().as_str(), "{what}");
        assert_eq!(row["time_modified"], c.time_modified.as_str(), "{what}");
        assert_eq!(row["time_created"], c.time_created.as_str(), "{what}");
        assert_eq!(row["company_name"].as_str(), c.company_name.as_deref(), "{what}");
        assert_eq!(row["first_name"].as_str(), c.first_name.as_deref(), "{what}");
        assert_eq!(row["last_name"].as_str(), c.last_name.as_deref(), "{what}");
        assert_eq!(row["phone"].as_str(), c.phone.as_deref(), "{what}");
        assert_eq!(row["email"].as_str(), c.email.as_deref(), "{what}");
        assert_eq!(row["notes"].as_str(), c.notes.as_deref(), "{what}");
        assert_eq!(row["job_status"].as_str(), c.job_status.as_deref(), "{what}");
        assert_address(&row["bill_address"], c.bill.as_ref(), &what);
        assert_address(&row["ship_address"], c.ship.as_ref(), &what);
    }
    let employees = by_list_id(&app.all_employees("").await);
    let live: Vec<&Value> = employees.values().filter(|e| e["status"] != "deleted").collect();
    assert_eq!(live.len(), data.employees.len(), "employees not deleted");
    for e in &data.employees {
        let row = &employees[&e.list_id];
        let what = format!("employee {}", e.name);
        assert_eq!(row["name"], e.name.as_str(), "{what}");
        assert_eq!(row["is_active"], e.is_active, "{what}");
        assert_eq!(row["edit_sequence"], e.edit_sequence.to_string().as_str(), "{what}");
        assert_eq!(row["time_modified"], e.time_modified.as_str(), "{what}");
        assert_eq!(row["first_name"].as_str(), e.first_name.as_deref(), "{what}");
        assert_eq!(row["last_name"].as_str(), e.last_name.as_deref(), "{what}");
        assert_eq!(row["phone"].as_str(), e.phone.as_deref(), "{what}");
        assert_eq!(row["mobile"].as_str(), e.mobile.as_deref(), "{what}");
        assert_eq!(row["email"].as_str(), e.email.as_deref(), "{what}");
        assert_eq!(row["hired_date"].as_str(), e.hired_date.as_deref(), "{what}");
        assert_eq!(row["released_date"].as_str(), e.released_date.as_deref(), "{what}");
        assert_address(&row["address"], e.address.as_ref(), &what);
    }
    for d in &data.deleted {
        let rows = if d.list_del_type == "Customer" { &customers } else { &employees };
        if let Some(row) = rows.get(&d.list_id) {
            assert_eq!(row["status"], "deleted", "{} was deleted in QuickBooks: {row}", d.full_name);
        }
    }
}

/// The local part of the newest TimeModified / TimeDeleted of a list of the company.
fn newest(times: impl Iterator<Item = String>) -> String {
    times.map(|t| t[..19].to_string()).max().unwrap()
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(&text[..19], "%Y-%m-%dT%H:%M:%S").unwrap()
}

async fn connection(app: &TestApp) -> Value {
    let (status, body) = app.get_json(&format!("/api/v1/connections/{}", app.conn.id)).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn run_changes(app: &TestApp, run: &Value, query: &str) -> Vec<Value> {
    let path =
        format!("/api/v1/connections/{}/runs/{}/changes?limit=500&{query}", app.conn.id, run["id"].as_str().unwrap());
    let (status, body) = app.get_json(&path).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn execute(app: &TestApp, sql: &'static str, at: chrono::DateTime<chrono::Utc>) {
    match &app.db {
        qbsync::store::Db::Sqlite(pool) => sqlx::query(sql).bind(at).bind(app.conn.id).execute(pool).await.map(|_| ()),
        qbsync::store::Db::Postgres(pool) => {
            sqlx::query(sql).bind(at).bind(app.conn.id).execute(pool).await.map(|_| ())
        }
    }
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_runs_over_several_cycles_keep_staging_equal_to_the_company() {
    let app = spawn_app_with(|s| s.sync.page_size = 40).await;
    let mut data = Dataset::generate(31, 300, 20);

    // Cycle 1: the first run reads everything.
    let (first, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(first.progress.last(), Some(&100));
    assert_eq!(qb.customers_sent(), 300);
    assert_staged_is(&app, &data).await;
    let runs = app.runs().await;
    assert_eq!(runs[0]["mode"], "full");
    assert_eq!(runs[0]["changes"]["customers"]["new"], 300);
    assert_eq!(runs[0]["changes"]["employees"]["new"], 20);
    // The names page by cursor: every record once, customers then employees, by name.
    let (mut seen, mut cursor) = (Vec::new(), String::new());
    loop {
        let path = format!(
            "/api/v1/connections/{}/runs/{}/changes?limit=90{cursor}",
            app.conn.id,
            runs[0]["id"].as_str().unwrap()
        );
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|i| (i["list"].clone(), i["name"].clone())));
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 320);
    let customer_names: std::collections::HashSet<&str> =
        seen.iter().filter(|(l, _)| l == "customers").map(|(_, n)| n.as_str().unwrap()).collect();
    assert_eq!(customer_names.len(), 300, "every customer once");
    let conn = connection(&app).await;
    let watermark = newest(data.customers.iter().map(|c| c.time_modified.clone()));
    assert_eq!(conn["lists"]["customers"]["watermark"], watermark.as_str());
    assert!(conn["lists"]["customers"]["updated_at"].is_string());
    assert!(conn["last_full_run_at"].is_string());

    // Cycle 2: additions, edits, deactivations, deletions (customers and employees).
    let evolution = data.evolve(32, 4, 3, 2);
    let added = data.add_customer_now("Zephyr & Sons <Cleaning>");
    let (second, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(second.progress.last(), Some(&100));
    assert!(second.progress.windows(2).all(|w| w[0] <= w[1]), "{:?}", second.progress);
    assert_staged_is(&app, &data).await;
    let runs = app.runs().await;
    assert_eq!(runs[0]["mode"], "incremental", "{}", runs[0]);
    let changes = &runs[0]["changes"];
    assert_eq!(changes["customers"]["new"], 1);
    assert_eq!(changes["customers"]["changed"], evolution.changed.len());
    assert_eq!(changes["customers"]["deactivated"], evolution.deactivated.len());
    assert_eq!(changes["customers"]["deleted"], evolution.removed.len());
    assert_eq!(changes["employees"]["deleted"], evolution.employees_removed.len());
    assert_eq!(changes["employees"]["deactivated"], evolution.employees_deactivated.len());
    assert!(qb.customers_sent() < 20, "only what changed (and the overlap) was asked for: {}", qb.customers_sent());
    let new = run_changes(&app, &runs[0], "list=customers&change=new").await;
    assert_eq!(
        new,
        [json!({ "list": "customers", "change": "new", "list_id": added, "name": "Zephyr & Sons <Cleaning>" })]
    );
    let deleted = run_changes(&app, &runs[0], "change=deleted").await;
    assert_eq!(deleted.len(), evolution.removed.len() + evolution.employees_removed.len());

    // Cycle 3: a customer with jobs is renamed, a job moves under another customer, and a
    // deactivated customer comes back. QuickBooks does not send the jobs under the renamed one.
    let parent = data
        .customers
        .iter()
        .find(|c| {
            c.sublevel == 0
                && data.customers.iter().filter(|j| j.parent.as_ref().is_some_and(|p| p.0 == c.list_id)).count() >= 2
        })
        .expect("a customer with two jobs")
        .clone();
    let jobs: Vec<String> = data
        .customers
        .iter()
        .filter(|j| j.parent.as_ref().is_some_and(|p| p.0 == parent.list_id))
        .map(|j| j.list_id.clone())
        .collect();
    let other = data.customers.iter().find(|c| c.sublevel == 0 && c.list_id != parent.list_id).unwrap().list_id.clone();
    // A customer with jobs of its own moves under another customer: its jobs go two levels down.
    let has_jobs = |id: &str| data.customers.iter().any(|j| j.parent.as_ref().is_some_and(|p| p.0 == id));
    let moved_parent = data
        .customers
        .iter()
        .find(|c| c.sublevel == 0 && c.list_id != parent.list_id && c.list_id != other && has_jobs(&c.list_id))
        .expect("another customer with jobs")
        .list_id
        .clone();
    data.rename_customer(&parent.list_id, "Renamed Holdings");
    data.move_job(&jobs[0], &other);
    data.move_job(&moved_parent, &other);
    assert!(data.customers.iter().any(|c| c.sublevel == 2), "jobs two levels down");
    data.set_customer_active(&evolution.deactivated[0], true);
    let (third, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(third.progress.last(), Some(&100));
    assert_staged_is(&app, &data).await;
    let staged = by_list_id(&app.all_customers("").await);
    for job in &jobs[1..] {
        assert!(staged[job]["full_name"].as_str().unwrap().starts_with("Renamed Holdings:"), "{}", staged[job]);
    }
    let runs = app.runs().await;
    assert_eq!(runs[0]["changes"]["customers"]["reactivated"], 1, "{}", runs[0]);
    let changed = run_changes(&app, &runs[0], "list=customers&change=changed").await;
    let names: Vec<&str> = changed.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Renamed Holdings"), "{names:?}");
    for job in &jobs[1..] {
        assert!(changed.iter().any(|c| c["list_id"] == job.as_str()), "the job that followed its parent: {changed:?}");
    }
    assert!(qb.customers_sent() < 20, "{}", qb.customers_sent());

    // Cycle 4: nothing changed. QuickBooks is asked only for the records in the overlap.
    let conn = connection(&app).await;
    let watermark = conn["lists"]["customers"]["watermark"].as_str().unwrap().to_string();
    assert_eq!(
        watermark,
        newest(
            data.customers
                .iter()
                .map(|c| c.time_modified.clone())
                .chain(data.deleted.iter().filter(|d| d.list_del_type == "Customer").map(|d| d.time_deleted.clone()))
        )
    );
    let since = local(&watermark) - chrono::Duration::minutes(qbsync::sync::DEFAULT_OVERLAP_MINUTES);
    let in_overlap = data.customers.iter().filter(|c| local(&c.time_modified) >= since).count() as u64;
    let (fourth, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(fourth.progress.last(), Some(&100));
    assert_eq!(qb.customers_sent(), in_overlap);
    assert_staged_is(&app, &data).await;
    let runs = app.runs().await;
    assert_eq!(runs.len(), 4);
    for list in ["customers", "employees"] {
        for change in ["new", "changed", "deactivated", "reactivated", "deleted"] {
            assert_eq!(runs[0]["changes"][list][change], 0, "{list} {change}: {}", runs[0]);
        }
    }
    assert_eq!(connection(&app).await["lists"]["customers"]["watermark"], watermark.as_str());

    // Names of changes are per run, and only the organization's own.
    let (status, _) = app
        .get_json(&format!(
            "/api/v1/connections/{}/runs/{}/changes?list=vendors",
            app.conn.id,
            runs[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 400);
    let (status, _) =
        app.get_json(&format!("/api/v1/connections/{}/runs/{}/changes", app.conn.id, uuid::Uuid::new_v4())).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_off_between_pages_leaves_the_watermark_where_it_was() {
    let app = spawn_app_with(|s| s.sync.page_size = 5).await;
    let mut data = Dataset::generate(33, 60, 4);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    let before = connection(&app).await["lists"].clone();

    let edited: Vec<String> =
        data.customers.iter().filter(|c| c.sublevel == 0).take(12).map(|c| c.list_id.clone()).collect();
    for (i, list_id) in edited.iter().enumerate() {
        data.edit_customer(list_id, &format!("555-01{i:02}"));
    }
    // Request 1 asks for deletions, 2 is the first page of changes, 3 the second: cut off there.
    let faults = Faults {
        hresult_on_request: Some((3, "0x80040408".into(), "Could not start QuickBooks.".into())),
        ..Faults::default()
    };
    let (cut, _) = app.simulate(FakeQuickBooks::new(data.clone(), faults)).await;
    assert!(cut.progress.last().is_some_and(|p| *p < 0), "{:?}", cut.progress);
    let runs = app.runs().await;
    assert_eq!(runs[0]["mode"], "incremental");
    assert_ne!(runs[0]["outcome"], "success");
    assert_eq!(connection(&app).await["lists"], before, "the watermark and the update time stay");
    // The first page was staged, all or nothing: five records, and no more.
    let staged = by_list_id(&app.all_customers("").await);
    let written =
        edited.iter().filter(|id| staged[*id]["phone"].as_str().is_some_and(|p| p.starts_with("555-01"))).count();
    assert_eq!(written, 5);

    let (next, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(next.progress.last(), Some(&100));
    assert!(qb.customers_sent() >= 12, "the next run asks again from the old watermark");
    assert_staged_is(&app, &data).await;
    let after = connection(&app).await;
    assert_eq!(
        after["lists"]["customers"]["watermark"],
        newest(data.customers.iter().map(|c| c.time_modified.clone())).as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daylight_saving_change_in_quickbooks_local_time_loses_no_record() {
    // QuickBooks writes its wall-clock time with its standard offset all year. When daylight
    // saving time ends, 01:00-02:00 happens twice: an edit at 01:20 in the second pass is written
    // earlier than one at 01:50 in the first.
    async fn scenario(overlap_minutes: i64) -> (TestApp, Dataset, String) {
        let app = spawn_app_with(|s| s.sync.incremental_overlap = chrono::Duration::minutes(overlap_minutes)).await;
        let mut data = Dataset::generate(35, 30, 3);
        let first = data.customers.iter().find(|c| c.sublevel == 0).unwrap().list_id.clone();
        let second = data.customers.iter().rev().find(|c| c.sublevel == 0).unwrap().list_id.clone();
        data.edit_customer_at_local_time(&first, "2024-11-03T01:50:00", "555-0150");
        app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
        assert_eq!(connection(&app).await["lists"]["customers"]["watermark"], "2024-11-03T01:50:00");
        data.edit_customer_at_local_time(&second, "2024-11-03T01:20:00", "555-0120");
        let (report, _) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
        assert_eq!(report.progress.last(), Some(&100));
        assert_eq!(app.runs().await[0]["mode"], "incremental");
        (app, data, second)
    }

    let (app, data, second) = scenario(qbsync::sync::DEFAULT_OVERLAP_MINUTES).await;
    assert_staged_is(&app, &data).await;
    assert_eq!(connection(&app).await["lists"]["customers"]["watermark"], "2024-11-03T01:50:00", "times went back");

    // Without an overlap wider than the repeated hour the edit is missed until a full run.
    let (app, data, second_again) = scenario(15).await;
    assert_eq!(second, second_again);
    let staged = by_list_id(&app.all_customers("").await);
    assert_ne!(staged[&second]["phone"], "555-0120", "a 15-minute overlap cannot see it");
    app.request_full_refresh().await;
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_staged_is(&app, &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_full_run_reconciles_what_incremental_runs_cannot_see() {
    let app = spawn_app().await;
    let mut data = Dataset::generate(37, 80, 6);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    let conn = connection(&app).await;
    assert_eq!(conn["full_refresh_every_days"], 7);
    let last_full = chrono::DateTime::parse_from_rfc3339(conn["last_full_run_at"].as_str().unwrap()).unwrap();
    let next_full = chrono::DateTime::parse_from_rfc3339(conn["next_full_refresh_at"].as_str().unwrap()).unwrap();
    assert_eq!(next_full - last_full, chrono::Duration::days(7));

    // A deletion QuickBooks no longer remembers (its deleted-list history is about 90 days).
    let leaf = data.customers.iter().find(|c| c.parent.is_some()).unwrap().list_id.clone();
    data.delete_customer(&leaf);
    data.deleted.clear();
    let (_, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(app.runs().await[0]["mode"], "incremental");
    assert!(qb.customers_sent() < 80);
    assert_ne!(by_list_id(&app.all_customers("").await)[&leaf]["status"], "deleted");

    // A week later the run is full, and what QuickBooks no longer lists is marked deleted.
    execute(
        &app,
        "UPDATE connection SET last_full_run_at = $1 WHERE connection_id = $2",
        chrono::Utc::now() - chrono::Duration::days(8),
    )
    .await;
    let (report, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(report.progress.last(), Some(&100));
    assert_eq!(qb.customers_sent(), data.customers.len() as u64);
    let runs = app.runs().await;
    assert_eq!(runs[0]["mode"], "full");
    assert_eq!(runs[0]["changes"]["customers"]["deleted"], 1);
    assert_eq!(by_list_id(&app.all_customers("").await)[&leaf]["status"], "deleted");
    assert_staged_is(&app, &data).await;
    let conn = connection(&app).await;
    let next_full = chrono::DateTime::parse_from_rfc3339(conn["next_full_refresh_at"].as_str().unwrap()).unwrap();
    assert!(next_full > chrono::Utc::now() + chrono::Duration::days(6), "{conn}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_asked_for_reads_everything_once() {
    let app = spawn_app().await;
    let mut data = Dataset::generate(39, 50, 5);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    let path = format!("/api/v1/connections/{}", app.conn.id);
    let refused = app.call("PATCH", &path, Some(json!({ "full_refresh_every_days": 0 })), &app.bearer()).await;
    assert_eq!(refused.status, 422, "{:?}", refused.json);
    let asked = app
        .call(
            "PATCH",
            &path,
            Some(json!({ "full_refresh_next_run": true, "full_refresh_every_days": 3 })),
            &app.bearer(),
        )
        .await;
    assert_eq!(asked.status, 200, "{:?}", asked.json);
    assert_eq!(asked.json["full_refresh_next_run"], true);
    assert_eq!(asked.json["full_refresh_every_days"], 3);
    let due = chrono::DateTime::parse_from_rfc3339(asked.json["next_full_refresh_at"].as_str().unwrap()).unwrap();
    assert!(due <= chrono::Utc::now());

    data.evolve(40, 2, 1, 1);
    let (_, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(qb.customers_sent(), data.customers.len() as u64);
    assert_eq!(qb.deleted_sent(), 0, "a full run reconciles; it does not ask for deletions");
    assert_eq!(app.runs().await[0]["mode"], "full");
    assert_staged_is(&app, &data).await;
    let conn = connection(&app).await;
    assert_eq!(conn["full_refresh_next_run"], false);
    let due = chrono::DateTime::parse_from_rfc3339(conn["next_full_refresh_at"].as_str().unwrap()).unwrap();
    assert!(due > chrono::Utc::now() + chrono::Duration::days(2));

    let (_, qb) = app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    assert_eq!(app.runs().await[0]["mode"], "incremental");
    assert!(qb.customers_sent() < data.customers.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_quickbooks_without_the_deletion_query_falls_back_to_full_runs() {
    let app = spawn_app().await;
    let mut data = Dataset::generate(43, 40, 4);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    let old = || Faults { list_deleted_status: Some(1030), ..Faults::default() };

    // It refuses ListDeletedQueryRq: the run reads every record instead, and says why.
    data.evolve(44, 2, 1, 1);
    let (report, qb) = app.simulate(FakeQuickBooks::new(data.clone(), old())).await;
    assert_eq!(report.progress.last(), Some(&100));
    assert!(report.progress.windows(2).all(|w| w[0] <= w[1]), "{:?}", report.progress);
    assert_eq!(qb.customers_sent(), data.customers.len() as u64);
    let runs = app.runs().await;
    assert_eq!(runs[0]["mode"], "full");
    assert_eq!(runs[0]["outcome"], "warnings", "{}", runs[0]);
    let warning = runs[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message"].as_str().unwrap().contains("ListDeletedQueryRq"));
    assert!(warning.is_some_and(|w| w["message"].as_str().unwrap().contains("1030")), "{}", runs[0]["events"]);
    assert_staged_is(&app, &data).await;
    let conn = connection(&app).await;
    assert!(conn["incremental_refused"]["quickbooks"].as_str().unwrap().contains("QuickBooks Enterprise"), "{conn}");

    // The same QuickBooks is not asked again: full runs, with the reason on each.
    data.evolve(45, 1, 0, 1);
    let (_, qb) = app.simulate(FakeQuickBooks::new(data.clone(), old())).await;
    assert_eq!(qb.deleted_sent(), 0);
    assert!(!qb.last_request().unwrap_or_default().contains("ListDeletedQueryRq"));
    let runs = app.runs().await;
    assert_eq!(runs[0]["mode"], "full");
    assert_eq!(runs[0]["requests"], 2, "one customer page and the employees: {}", runs[0]);
    assert!(runs[0]["events"][0]["message"].as_str().unwrap().contains("cannot tell qbsync what changed"));
    assert_staged_is(&app, &data).await;

    // Upgraded, it is tried again.
    let upgraded =
        FakeQuickBooks::new(data.clone(), Faults::default()).with_product_name("QuickBooks Enterprise Solutions 24.0");
    let (_, qb) = app.simulate(upgraded).await;
    assert_eq!(app.runs().await[0]["mode"], "incremental");
    assert!(qb.customers_sent() < data.customers.len() as u64);
    assert!(connection(&app).await["incremental_refused"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_query_quickbooks_cannot_parse_falls_back_within_the_run() {
    let app = spawn_app().await;
    let mut data = Dataset::generate(47, 30, 3);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    data.evolve(48, 1, 1, 1);
    let faults = Faults {
        hresult_on_request: Some((
            1,
            "0x80040400".into(),
            "QuickBooks found an error when parsing the provided XML text stream.".into(),
        )),
        ..Faults::default()
    };
    let (report, qb) = app.simulate(FakeQuickBooks::new(data.clone(), faults)).await;
    assert_eq!(report.progress.last(), Some(&100), "{:?}", report.progress);
    assert_eq!(qb.customers_sent(), data.customers.len() as u64);
    let runs = app.runs().await;
    assert_eq!(
        (runs[0]["mode"].as_str(), runs[0]["outcome"].as_str()),
        (Some("full"), Some("warnings")),
        "{}",
        runs[0]
    );
    assert_staged_is(&app, &data).await;
}

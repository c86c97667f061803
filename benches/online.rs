//! A full QuickBooks Online pull of 5,000 customers (and 50 employees) from the local fake of
//! Intuit, through a real `qbsync serve` process: wall time, requests, and the server's peak RSS;
//! then a pull with nothing changed (Change Data Capture). Prints figures, asserts no time.
//!
//! `cargo bench --bench online` (SQLite); with `QBSYNC_BENCH_POSTGRES_URL` also PostgreSQL.

mod support;

use std::time::{Duration, Instant};

use qbsync::simulate::Dataset;
use qbsync::simulate::online::{FakeIntuit, FakeIntuitConfig};
use serde_json::{Value, json};
use support::{Server, cli, peak_rss_kib};

const SECRET_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn call(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let req = ureq::request(method, url).set("Authorization", &format!("Bearer {token}"));
    let result = match body {
        Some(body) => req.set("Content-Type", "application/json").send_string(&body.to_string()),
        None => req.call(),
    };
    let res = match result {
        Ok(res) => res,
        Err(ureq::Error::Status(_, res)) => res,
        Err(err) => panic!("{method} {url}: {err}"),
    };
    let status = res.status();
    (status, serde_json::from_str(&res.into_string().unwrap_or_default()).unwrap_or(Value::Null))
}

fn wait_run(server: &Server, token: &str, conn: &str, run: &str) -> Value {
    loop {
        let (_, page) = call("GET", &format!("{}/api/v1/connections/{conn}/runs?limit=5", server.base), token, None);
        if let Some(found) = page["items"].as_array().unwrap().iter().find(|r| r["id"] == run)
            && found["state"] == "ended"
        {
            return found.clone();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn bench(label: &str, database_url: &str) {
    let fake = FakeIntuit::start("127.0.0.1:0", FakeIntuitConfig::default(), Dataset::generate(5, 5000, 50)).unwrap();
    let config = fake.config().clone();
    let (auth, token_url, revoke, api) = (fake.auth_url(), fake.token_url(), fake.revoke_url(), fake.api_url());
    let server = Server::start(
        database_url,
        &[
            "--secret-key",
            SECRET_KEY,
            "--qbo-client-id",
            &config.client_id,
            "--qbo-client-secret",
            &config.client_secret,
            "--qbo-auth-url",
            &auth,
            "--qbo-token-url",
            &token_url,
            "--qbo-revoke-url",
            &revoke,
            "--qbo-api-url",
            &api,
        ],
    );
    cli(database_url, &["org", "create", "--name", "Bench Co", "--json"]);
    let token =
        cli(database_url, &["token", "create", "--org", "Bench Co", "--json"])["token"].as_str().unwrap().to_string();
    let (status, created) = call(
        "POST",
        &format!("{}/api/v1/connections", server.base),
        &token,
        Some(json!({ "name": "Online", "kind": "online" })),
    );
    assert_eq!(status, 201, "{created}");
    let conn = created["id"].as_str().unwrap().to_string();
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let consent = match agent.get(created["authorize_url"].as_str().unwrap()).call() {
        Ok(res) | Err(ureq::Error::Status(_, res)) => res,
        Err(err) => panic!("{err}"),
    };
    let location = consent.header("Location").unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    agent.get(&format!("{}/qbo/callback?{query}", server.base)).call().unwrap();

    for (what, lists) in [
        ("full pull, 5,000 customers + 50 employees", json!(["customers", "employees"])),
        ("pull with nothing changed (CDC)", json!(["customers", "employees"])),
    ] {
        let before = fake.stats();
        let started = Instant::now();
        let (status, run) = call(
            "POST",
            &format!("{}/api/v1/connections/{conn}/pull", server.base),
            &token,
            Some(json!({ "lists": lists })),
        );
        assert_eq!(status, 202, "{run}");
        let run = wait_run(&server, &token, &conn, run["id"].as_str().unwrap());
        let elapsed = started.elapsed();
        assert_eq!(run["outcome"], "success", "{run}");
        let after = fake.stats();
        println!(
            "{label:<9} {what:<44} {:>7.3} s  {:>3} API requests  customers staged {:>5}  server peak RSS {:.1} MiB",
            elapsed.as_secs_f64(),
            after.api_requests - before.api_requests,
            run["counts"]["customers"],
            peak_rss_kib(server.child.id()) as f64 / 1024.0
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    println!("qbsync QuickBooks Online pull benchmark (the fake Intuit runs in this process)");
    bench("sqlite", &dir.path().join("online.db").display().to_string());
    if let Ok(admin_url) = std::env::var("QBSYNC_BENCH_POSTGRES_URL") {
        bench("postgres", &support::postgres_database(&admin_url, "online"));
    }
}

//! Load test: many simulated Web Connector sessions of several organizations at once, with API
//! readers of each organization paging through their lists meanwhile, against one `qbsync serve`.
//! Prints the session times (p50, p99), the errors, the readers' answers and the server's peak
//! memory. Run with `cargo bench --bench load`; set `QBSYNC_BENCH_POSTGRES_URL` to load
//! PostgreSQL too. Sizes: `QBSYNC_LOAD_SESSIONS` (default 200), `QBSYNC_LOAD_ORGS` (10),
//! `QBSYNC_LOAD_CUSTOMERS` per company (200).
//!
//! It prints figures and asserts nothing about time: a benchmark, not a test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod support;

use qbsync::simulate::{self, Dataset, FakeQuickBooks, Faults, SimOptions};
use support::{Server, cli, peak_rss_kib};

/// Every simulated Web Connector comes from this one address: the upload caps are lifted.
const LOAD_SERVER_ARGS: &[&str] =
    &["--db-max-connections", "20", "--max-uploads-per-address", "1000", "--max-uploads", "1000"];

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What the API readers saw.
#[derive(Default)]
struct ReaderCounts {
    ok: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
}

fn load(label: &str, database_url: &str) {
    let sessions = setting("QBSYNC_LOAD_SESSIONS", 200);
    let orgs = setting("QBSYNC_LOAD_ORGS", 10).clamp(1, sessions.max(1));
    let customers = setting("QBSYNC_LOAD_CUSTOMERS", 200);

    // Arrange: organizations, one connection per session, one API token per organization.
    let mut tokens = Vec::new();
    let mut connections = Vec::new();
    for o in 0..orgs {
        let org = cli(database_url, &["org", "create", "--name", &format!("Load {o}"), "--json"]);
        let org_id = org["id"].as_str().unwrap().to_string();
        tokens.push(
            cli(database_url, &["token", "create", "--org", &org_id, "--json"])["token"].as_str().unwrap().to_string(),
        );
        for c in (0..sessions).filter(|c| c % orgs == o) {
            let conn = cli(
                database_url,
                &["connection", "create", "--org", &org_id, "--name", &format!("Site {c}"), "--json"],
            );
            connections
                .push((conn["username"].as_str().unwrap().to_string(), conn["password"].as_str().unwrap().to_string()));
        }
    }
    let server = Server::start(database_url, LOAD_SERVER_ARGS);
    let base = server.base.clone();

    // Readers: two per organization, paging through its customers until the sessions end.
    let done = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(ReaderCounts::default());
    let readers: Vec<_> = tokens
        .iter()
        .flat_map(|token| [token.clone(), token.clone()])
        .map(|token| {
            let (done, counts, base) = (done.clone(), counts.clone(), base.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let answer = ureq::get(&format!("{base}/api/v1/qb/customers?limit=100"))
                        .set("Authorization", &format!("Bearer {token}"))
                        .call();
                    match answer {
                        Ok(_) => counts.ok.fetch_add(1, Ordering::Relaxed),
                        Err(ureq::Error::Status(429, _)) => {
                            std::thread::sleep(Duration::from_millis(500));
                            counts.throttled.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(_) => counts.failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();

    // Act: every session at once, each its own company.
    let started = Instant::now();
    let runs: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(i, (username, password))| {
            let url = format!("{base}/qbwc");
            std::thread::spawn(move || {
                let data = Dataset::generate(i as u64, customers, 10);
                let mut quickbooks = FakeQuickBooks::new(data, Faults::default());
                let options = SimOptions { url, username, password, ..SimOptions::default() };
                let begun = Instant::now();
                let report = simulate::run(&options, &mut quickbooks);
                let ok = matches!(&report, Ok(r) if r.progress.last() == Some(&100) && r.customers_sent as usize == customers);
                (begun.elapsed(), ok)
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut failed_sessions = 0;
    for run in runs {
        match run.join() {
            Ok((time, true)) => times.push(time.as_secs_f64()),
            _ => failed_sessions += 1,
        }
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        let _ = reader.join();
    }

    // Report
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times.get(((times.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
    println!(
        "{label:<9} {sessions} sessions ({orgs} organizations, {customers} customers + 10 employees each) in {:.1} s: \
         session p50 {:.2} s, p99 {:.2} s; failed sessions {failed_sessions}; API reads {} ok, {} throttled (429), \
         {} failed; server peak RSS {:.1} MiB",
        elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        counts.ok.load(Ordering::Relaxed),
        counts.throttled.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        peak_rss_kib(server.child.id()) as f64 / 1024.0
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    println!("qbsync load test (the simulators run on the same machine as the server)");
    load("sqlite", &dir.path().join("load.db").display().to_string());
    if let Ok(admin_url) = std::env::var("QBSYNC_BENCH_POSTGRES_URL") {
        load("postgres", &support::postgres_database(&admin_url, "load"));
    }
}

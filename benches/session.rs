//! Benchmark: one simulated Web Connector session against a running `qbsync serve`, timed, with
//! the server's peak resident memory. Run with `cargo bench --bench session`
//! (`QBSYNC_BENCH_ONLY=incremental` runs only the scheduled-run figures).
//!
//! The scheduled-run figures count what QuickBooks was asked to produce (customer, employee and
//! deleted-record rows): that, and not the server, is what a company's own PC pays for.
//!
//! Each size runs on a fresh server process (peak RSS only ever grows, so sizes must not share a
//! process), on SQLite, and on PostgreSQL too when `QBSYNC_BENCH_POSTGRES_URL` names a database.

use std::time::{Duration, Instant};

mod support;

use qbsync::simulate::{self, Dataset, FakeQuickBooks, Faults, SimOptions};
use support::{Server, cli, peak_rss_kib};

/// CPU time (user + system) a process has used so far, in milliseconds.
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in clock ticks.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    ticks * 1000 / 100
}

/// One session: its wall time, the customers sent, and the part of the wall time spent waiting
/// on the server (the rest is the simulator building requests and playing QuickBooks).
fn session(server: &Server, username: &str, password: &str, data: &Dataset) -> (Duration, u64, Duration) {
    let (wall, sent, wait, _) = session_counted(server, username, password, data);
    (wall, sent, wait)
}

/// [`session`], with every record QuickBooks was asked to produce (customers, employees, deletions).
fn session_counted(server: &Server, username: &str, password: &str, data: &Dataset) -> (Duration, u64, Duration, u64) {
    let mut quickbooks = FakeQuickBooks::new(data.clone(), Faults::default());
    let options = SimOptions {
        url: format!("{}/qbwc", server.base),
        username: username.into(),
        password: password.into(),
        ..SimOptions::default()
    };
    let started = Instant::now();
    let report = simulate::run(&options, &mut quickbooks).expect("the session runs");
    let elapsed = started.elapsed();
    assert_eq!(report.progress.last(), Some(&100), "{}", report.summary());
    (elapsed, report.customers_sent, Duration::from_micros(report.server_wait_us as u64), quickbooks.records_sent())
}

/// Asks for a full run of the connection next time, as `PATCH {"full_refresh_next_run": true}` does.
fn request_full_refresh(database_url: &str, username: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let db = qbsync::store::Db::connect(database_url, &qbsync::store::DbOptions::default()).await.unwrap();
        let conn = qbsync::store::catalog::connection_by_username(&db, username).await.unwrap().unwrap();
        let changes =
            qbsync::store::catalog::ConnectionChanges { full_refresh_next_run: Some(true), ..Default::default() };
        qbsync::store::catalog::update_connection(&db, conn.organization_id, conn.connection_id, &changes)
            .await
            .unwrap();
    });
}

/// A company of 20,000 customers and 50 employees, synced once; then scheduled runs: full (what
/// every run cost before incremental runs), incremental with nothing changed, and incremental
/// after 50 changes. Each figure is the median of five runs.
fn bench_incremental(label: &str, make_url: &dyn Fn(&str) -> String) {
    const CUSTOMERS: usize = 20_000;
    let url = make_url("incremental");
    let org = cli(&url, &["org", "create", "--name", "Bench", "--json"]);
    let conn = cli(&url, &["connection", "create", "--org", org["id"].as_str().unwrap(), "--name", "Office", "--json"]);
    let (username, password) = (conn["username"].as_str().unwrap(), conn["password"].as_str().unwrap());
    let mut data = Dataset::generate(42, CUSTOMERS, 50);
    let server = Server::start(&url, &["--page-size", "500"]);
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let runs = |data: &Dataset, full: bool, n: usize| -> (f64, f64) {
        let (mut walls, mut asked) = (Vec::new(), Vec::new());
        for _ in 0..n {
            if full {
                request_full_refresh(&url, username);
            }
            let (wall, _, _, records) = session_counted(&server, username, password, data);
            walls.push(wall.as_secs_f64());
            asked.push(records as f64);
        }
        (median(walls), median(asked))
    };
    let (first, asked) = runs(&data, false, 1);
    println!(
        "{label:<10} {CUSTOMERS} customers + 50 employees, first sync: {first:.3} s, QuickBooks asked for {asked:.0} records"
    );
    let (wall, asked) = runs(&data, true, 5);
    println!(
        "{label:<10} scheduled run, full refresh, nothing changed: median {wall:.3} s, QuickBooks asked for {asked:.0} records"
    );
    let (wall, asked) = runs(&data, false, 5);
    println!(
        "{label:<10} scheduled run, incremental, nothing changed: median {wall:.3} s, QuickBooks asked for {asked:.0} records"
    );
    let (mut walls, mut asked) = (Vec::new(), Vec::new());
    for seed in 0..5 {
        // 50 customer changes: 30 edits, 10 made inactive, 10 deleted (and the employees' share).
        data.evolve(100 + seed, 30, 10, 10);
        let (wall, _, _, records) = session_counted(&server, username, password, &data);
        walls.push(wall.as_secs_f64());
        asked.push(records as f64);
    }
    println!(
        "{label:<10} scheduled run, incremental, 50 customer changes: median {:.3} s, QuickBooks asked for {:.0} records",
        median(walls),
        median(asked)
    );
}

/// What one timed session measured.
struct Timing {
    wall: Duration,
    server_wait: Duration,
    server_cpu_ms: u64,
}

/// Medians (and the best wall time) of a set of timed sessions.
fn report(label: &str, what: &str, timings: &[Timing]) {
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let walls: Vec<f64> = timings.iter().map(|t| t.wall.as_secs_f64()).collect();
    println!(
        "{label:<10} {what}: median {:.3} s over {} session(s) (best {:.3} s); waiting on the server {:.3} s; server CPU {:.0} ms",
        median(walls.clone()),
        timings.len(),
        walls.iter().copied().fold(f64::INFINITY, f64::min),
        median(timings.iter().map(|t| t.server_wait.as_secs_f64()).collect()),
        median(timings.iter().map(|t| t.server_cpu_ms as f64).collect()),
    );
}

fn bench_backend(label: &str, make_url: &dyn Fn(&str) -> String) {
    for customers in [5_000usize, 100_000] {
        let url = make_url(&format!("n{customers}"));
        let org = cli(&url, &["org", "create", "--name", "Bench", "--json"]);
        // Each connection's first session stages every record anew; later sessions of the same
        // connection find them all unchanged (the common case once a company is set up).
        let first_sessions = if customers <= 5_000 { 7 } else { 1 };
        let connections: Vec<(String, String)> = (0..first_sessions)
            .map(|i| {
                let conn = cli(
                    &url,
                    &[
                        "connection",
                        "create",
                        "--org",
                        org["id"].as_str().unwrap(),
                        "--name",
                        &format!("Bench {i}"),
                        "--json",
                    ],
                );
                (conn["username"].as_str().unwrap().to_string(), conn["password"].as_str().unwrap().to_string())
            })
            .collect();
        let data = Dataset::generate(42, customers, 50);
        let server = Server::start(&url, &["--page-size", "500"]);
        let timed = |username: &str, password: &str| {
            let before = cpu_ms(server.child.id());
            let (wall, sent, server_wait) = session(&server, username, password, &data);
            assert_eq!(sent as usize, customers);
            Timing { wall, server_wait, server_cpu_ms: cpu_ms(server.child.id()) - before }
        };
        let what = format!("{customers:>7} customers (pages of 500) + 50 employees");
        let first: Vec<Timing> = connections.iter().map(|(u, p)| timed(u, p)).collect();
        report(label, &format!("{what}, first sync "), &first);
        if customers <= 5_000 {
            // Full refreshes, as every repeat sync was before incremental runs (see bench_incremental).
            let (username, password) = &connections[0];
            let repeat: Vec<Timing> = (0..11)
                .map(|_| {
                    request_full_refresh(&url, username);
                    timed(username, password)
                })
                .collect();
            report(label, &format!("{what}, repeat sync (full refresh)"), &repeat);
        }
        println!(
            "{label:<10} {customers:>7} customers: server peak RSS {:.1} MiB",
            peak_rss_kib(server.child.id()) as f64 / 1024.0
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful either way.
    let dir = tempfile::tempdir().unwrap();
    println!("qbsync session benchmark (wall time includes the simulator playing QBWC and QuickBooks)");
    let only_incremental = std::env::var("QBSYNC_BENCH_ONLY").is_ok_and(|v| v == "incremental");
    let sqlite = |name: &str| dir.path().join(format!("{name}.db")).display().to_string();
    if !only_incremental {
        bench_backend("sqlite", &sqlite);
    }
    bench_incremental("sqlite", &sqlite);
    if let Ok(admin_url) = std::env::var("QBSYNC_BENCH_POSTGRES_URL") {
        let pg = |name: &str| support::postgres_database(&admin_url, name);
        if !only_incremental {
            bench_backend("postgres", &pg);
        }
        bench_incremental("postgres", &pg);
    }
}

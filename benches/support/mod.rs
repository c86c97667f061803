//! What the benchmarks share: a `qbsync serve` child process, the command line, and readings of
//! a process from `/proc`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_qbsync");

/// A `qbsync serve` process on a loopback port, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `qbsync serve` on `database_url` with `args` added, and waits until it answers.
    pub fn start(database_url: &str, args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("QBSYNC_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(&format!("{base}/healthz")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `qbsync` command that prints one JSON object.
pub fn cli(database_url: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN).args(args).env("DATABASE_URL", database_url).output().expect("qbsync runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// VmHWM of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A new database on the PostgreSQL server of `admin_url`, named after `name` and this process.
pub fn postgres_database(admin_url: &str, name: &str) -> String {
    let db = format!("bench_{}_{}", name, std::process::id());
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let out = Command::new("psql").arg(admin_url).arg("-qc").arg(format!("CREATE DATABASE {db}")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    format!("{base}/{db}")
}

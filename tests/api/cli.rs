//! The `qbsync` binary, as an operator uses it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn qbsync(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qbsync"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("QBSYNC_PUBLIC_URL")
        .output()
        .expect("qbsync runs")
}

fn json_of(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object: {text}");
    serde_json::from_str(text.trim()).unwrap()
}

#[test]
fn creating_commands_print_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let org = json_of(&qbsync(dir.path(), &["org", "create", "--name", "Acme Cleaning", "--json"]));
    assert_eq!(org["name"], "Acme Cleaning");
    assert!(dir.path().join("qbsync.db").exists(), "the default database is qbsync.db in the working directory");

    let admin = json_of(&qbsync(
        dir.path(),
        &["admin", "create", "--org", "Acme Cleaning", "--email", "Boss@Acme.example", "--json"],
    ));
    assert_eq!(admin["email"], "boss@acme.example");
    assert!(admin["password"].as_str().unwrap().len() >= 16);

    let conn = json_of(&qbsync(
        dir.path(),
        &["connection", "create", "--org", org["id"].as_str().unwrap(), "--name", "Main", "--json"],
    ));
    for key in ["id", "org_id", "name", "username", "password", "owner_id", "file_id"] {
        assert!(conn[key].is_string(), "{key} in {conn}");
    }
    assert_eq!(conn["org_id"], org["id"]);
    let token = json_of(&qbsync(dir.path(), &["token", "create", "--org", "Acme Cleaning", "--json"]));
    assert!(token["token"].as_str().unwrap().starts_with("qbs_"));

    let qwc = qbsync(dir.path(), &["connection", "qwc", conn["id"].as_str().unwrap()]);
    assert!(qwc.status.success());
    let qwc = String::from_utf8(qwc.stdout).unwrap();
    assert!(qwc.contains(&format!("<OwnerID>{}</OwnerID>", conn["owner_id"].as_str().unwrap())));
    assert!(qwc.contains("<AppURL>http://localhost:8080/qbwc</AppURL>"));

    let refused = qbsync(
        dir.path(),
        &["connection", "qwc", conn["id"].as_str().unwrap(), "--public-url", "http://sync.example.com"],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https"));

    let duplicate = qbsync(dir.path(), &["org", "create", "--name", "Acme Cleaning"]);
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let missing = qbsync(dir.path(), &["token", "create", "--org", "Nobody"]);
    assert!(!missing.status.success());
}

#[test]
fn an_admin_password_can_come_from_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    json_of(&qbsync(dir.path(), &["org", "create", "--name", "A", "--json"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_qbsync"))
        .args(["admin", "create", "--org", "A", "--email", "a@a.example", "--password-stdin", "--json"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let admin = json_of(&out);
    assert!(admin.get("password").is_none(), "a given password is not echoed");
}

/// `qbsync serve` with no flags in an empty directory starts on SQLite, then a simulated Web
/// Connector session runs against it from the `simulate` command.
#[test]
fn serve_on_a_fresh_directory_just_works_and_simulate_drives_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_qbsync"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("QBSYNC_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{base}/healthz")).call().is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("qbsync.db").exists());

    json_of(&qbsync(dir.path(), &["org", "create", "--name", "Acme", "--json"]));
    let conn = json_of(&qbsync(dir.path(), &["connection", "create", "--org", "Acme", "--name", "Main", "--json"]));
    let out = qbsync(
        dir.path(),
        &[
            "simulate",
            "--url",
            &base,
            "--username",
            conn["username"].as_str().unwrap(),
            "--password",
            conn["password"].as_str().unwrap(),
            "--customers",
            "120",
            "--employees",
            "7",
            "--json",
        ],
    );
    let report = json_of(&out);
    assert_eq!(report["customers_sent"], 120);
    assert_eq!(report["employees_sent"], 7);
    assert_eq!(report["close_message"], "Staged 120 customers and 7 employees");

    let human = qbsync(
        dir.path(),
        &["simulate", "--url", &base, "--username", conn["username"].as_str().unwrap(), "--password", "wrong"],
    );
    let text = String::from_utf8_lossy(&human.stdout).to_string() + &String::from_utf8_lossy(&human.stderr);
    assert!(text.contains("nvu"), "{text}");

    let remote = qbsync(dir.path(), &["simulate", "--url", "http://example.com", "--username", "u", "--password", "p"]);
    assert!(!remote.status.success(), "simulate refuses non-loopback servers");
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn simulate_online_prints_the_settings_for_serve_and_serves_them() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let refused = qbsync(dir.path(), &["simulate-online", "--listen", "0.0.0.0:0"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-remote"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_qbsync"))
        .args(["simulate-online", "--listen", "127.0.0.1:0", "--customers", "30", "--employees", "4"])
        .args(["--client-id", "my-app", "--webhook-token", "verifier-1", "--consent", "auto"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("qbsync runs");
    let mut settings = std::collections::HashMap::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((k, v)) = line.trim().split_once('=') {
            settings.insert(k.to_string(), v.to_string());
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    for key in ["AUTH_URL", "TOKEN_URL", "REVOKE_URL", "API_URL", "CLIENT_ID", "CLIENT_SECRET", "WEBHOOK_TOKEN"] {
        assert!(settings.contains_key(&format!("QBSYNC_QBO_{key}")), "{key} printed: {settings:?}");
    }
    assert_eq!(settings["QBSYNC_QBO_CLIENT_ID"], "my-app");
    assert_eq!(settings["QBSYNC_QBO_WEBHOOK_TOKEN"], "verifier-1");
    let authorize = format!(
        "{}?client_id=my-app&response_type=code&scope=com.intuit.quickbooks.accounting&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s",
        settings["QBSYNC_QBO_AUTH_URL"]
    );
    let agent = ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(10)).build();
    let consent = agent.get(&authorize).call().unwrap();
    assert_eq!(consent.status(), 302);
    assert!(consent.header("location").unwrap().starts_with("http://127.0.0.1:9/cb?code="));
    let customers: Value = serde_json::from_str(
        &agent
            .get(&format!("{}/_fake/customers", settings["QBSYNC_QBO_API_URL"]))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(customers.as_array().unwrap().len(), 30);
    child.kill().unwrap();
    child.wait().unwrap();
}

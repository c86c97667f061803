//! Hardening for a hosted deployment: sign-in throttling and lockout (admin page and Web
//! Connector), the client address behind a trusted proxy, bounded password checks, the metrics
//! token, no-store on secrets, user names that tell nothing about other organizations, and
//! setup links that expire and survive a restart.

use std::time::{Duration, Instant};

use qbsync::config::Settings;
use qbsync::secrets;
use qbsync::startup::Application;
use qbsync::store::{DbOptions, catalog};
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery staple";

/// A policy a test can exhaust in seconds: 3 failures lock an account, 6 an address, for
/// `lockout`; no delays unless a test asks for them.
fn quick_policy(settings: &mut Settings, lockout: Duration) {
    settings.sign_in.account_max_failures = 3;
    settings.sign_in.address_max_failures = 6;
    settings.sign_in.window = Duration::from_secs(600);
    settings.sign_in.lockout = lockout;
    settings.sign_in.first_delay = Duration::ZERO;
    settings.sign_in.max_delay = Duration::ZERO;
}

async fn add_admin(app: &TestApp) -> String {
    let email = format!("admin-{}@sparkle.example", uuid::Uuid::new_v4().simple());
    catalog::create_admin(&app.db, app.org_id, &email, &secrets::hash_password(PASSWORD)).await.unwrap();
    email
}

/// POSTs JSON with extra headers; returns the status and the JSON body.
async fn post_json(base: &str, path: &str, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{base}{path}");
    let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        let mut req = ureq::post(&url).set("Content-Type", "application/json");
        for (name, value) in &headers {
            req = req.set(name, value);
        }
        let res = match req.send_string(&body.to_string()) {
            Ok(res) => res,
            Err(ureq::Error::Status(_, res)) => res,
            Err(err) => panic!("request failed: {err}"),
        };
        let status = res.status();
        let text = res.into_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    })
    .await
    .unwrap()
}

async fn sign_in_from(app: &TestApp, email: &str, password: &str, forwarded_for: Option<&str>) -> u16 {
    let headers: Vec<(&str, &str)> = forwarded_for.map(|ip| ("X-Forwarded-For", ip)).into_iter().collect();
    post_json(&app.base, "/admin/login", json!({ "email": email, "password": password }), &headers).await.0
}

async fn web_connector_answer(app: &TestApp, password: &str) -> String {
    let (status, _, body) = app
        .soap(
            "authenticate",
            envelope("authenticate", &[("strUserName", &app.conn.username), ("strPassword", password)]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    auth_strings(&body)[1].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_account_is_locked_after_repeated_wrong_passwords_and_opens_again_when_the_lock_expires() {
    let app = spawn_app_with(|s| {
        quick_policy(s, Duration::from_secs(2));
        s.sign_in.address_max_failures = 100;
    })
    .await;
    let email = add_admin(&app).await;
    // A success clears the account's count: two failures, a success, two more never lock it.
    for _ in 0..2 {
        assert_eq!(sign_in_from(&app, &email, "wrong password", None).await, 401);
    }
    assert_eq!(sign_in_from(&app, &email, PASSWORD, None).await, 200);
    for _ in 0..2 {
        assert_eq!(sign_in_from(&app, &email, "wrong password", None).await, 401);
    }
    assert_eq!(sign_in_from(&app, &email, PASSWORD, None).await, 200, "the earlier failures were forgotten");

    for _ in 0..3 {
        assert_eq!(sign_in_from(&app, &email, "wrong password", None).await, 401);
    }
    let locked = post_json(&app.base, "/admin/login", json!({ "email": email, "password": PASSWORD }), &[]).await;
    assert_eq!(locked.0, 401, "the right password is refused while the account is locked");
    assert_eq!(locked.1["error"]["message"], "wrong email or password", "a lockout reads like any failure");
    // Another account from the same address is not affected by this account's lock.
    let other = add_admin(&app).await;
    assert_eq!(sign_in_from(&app, &other, PASSWORD, None).await, 200);

    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(sign_in_from(&app, &email, PASSWORD, None).await, 200, "the lock has expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_answered_after_a_delay_that_grows_with_the_failures() {
    let app = spawn_app_with(|s| {
        s.sign_in.first_delay = Duration::from_millis(150);
        s.sign_in.max_delay = Duration::from_millis(600);
    })
    .await;
    let email = add_admin(&app).await;
    let mut took = Vec::new();
    for _ in 0..4 {
        let started = Instant::now();
        assert_eq!(sign_in_from(&app, &email, "wrong password", None).await, 401);
        took.push(started.elapsed());
    }
    assert!(took[0] >= Duration::from_millis(150), "{took:?}");
    assert!(took[2] >= Duration::from_millis(600), "150, 300, then the 600 ms cap: {took:?}");
    assert!(took[3] >= Duration::from_millis(600) && took[3] < Duration::from_secs(3), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_address_is_locked_after_too_many_failures_across_accounts() {
    let app = spawn_app_with(|s| quick_policy(s, Duration::from_secs(60))).await;
    let email = add_admin(&app).await;
    for n in 0..6 {
        assert_eq!(sign_in_from(&app, &format!("guess-{n}@x.example"), "wrong password", None).await, 401);
    }
    assert_eq!(sign_in_from(&app, &email, PASSWORD, None).await, 401, "this address is locked out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_connector_user_is_locked_out_with_nvu_even_for_the_right_password_until_the_lock_expires() {
    let app = spawn_app_with(|s| quick_policy(s, Duration::from_secs(2))).await;
    // The right password works, and ending its session leaves the connection free.
    let ticket = authenticate(&app).await;
    let (status, _, body) = app.soap("closeConnection", envelope("closeConnection", &[("ticket", &ticket)])).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..3 {
        assert_eq!(web_connector_answer(&app, "wrong").await, "nvu");
    }
    assert_eq!(web_connector_answer(&app, &app.conn.password).await, "nvu", "locked: answered as a wrong password");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(web_connector_answer(&app, &app.conn.password).await, "", "the lock has expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_names_the_client_only_when_the_peer_is_a_trusted_proxy() {
    // Behind a trusted proxy, each forwarded address has its own count.
    let proxied = spawn_app_with(|s| {
        quick_policy(s, Duration::from_secs(60));
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let email = add_admin(&proxied).await;
    for n in 0..6 {
        let status = sign_in_from(&proxied, &format!("g{n}@x.example"), "wrong", Some("203.0.113.1")).await;
        assert_eq!(status, 401);
    }
    assert_eq!(sign_in_from(&proxied, &email, PASSWORD, Some("203.0.113.1")).await, 401, "203.0.113.1 is locked");
    assert_eq!(sign_in_from(&proxied, &email, PASSWORD, Some("203.0.113.2")).await, 200, "another client is not");
    assert_eq!(
        sign_in_from(&proxied, &email, PASSWORD, Some("203.0.113.2, 203.0.113.1")).await,
        401,
        "the proxy's own entry (the rightmost) names the client, not what the client wrote"
    );

    // Without a trusted proxy the header is the client's own word and is ignored.
    let direct = spawn_app_with(|s| quick_policy(s, Duration::from_secs(60))).await;
    let email = add_admin(&direct).await;
    for n in 0..6 {
        let forged = format!("198.51.100.{n}");
        assert_eq!(sign_in_from(&direct, &format!("g{n}@x.example"), "wrong", Some(&forged)).await, 401);
    }
    assert_eq!(
        sign_in_from(&direct, &email, PASSWORD, Some("198.51.100.200")).await,
        401,
        "every attempt counted against the real peer, 127.0.0.1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_wrong_sign_ins_all_fail_and_never_run_more_password_checks_than_the_limit() {
    let app = spawn_app_with(|s| {
        s.sign_in.password_checks = 2;
        s.sign_in.password_check_wait = Duration::from_secs(300);
        s.sign_in.first_delay = Duration::ZERO;
        s.sign_in.max_delay = Duration::ZERO;
        s.sign_in.address_max_failures = 1000;
        s.sign_in.account_max_failures = 1000;
    })
    .await;
    let email = add_admin(&app).await;
    let mut attempts = Vec::new();
    for n in 0..100 {
        // Half guess the real account, half unknown ones: both cost one admin-strength check.
        let who = if n % 2 == 0 { email.clone() } else { format!("nobody-{n}@x.example") };
        let base = app.base.clone();
        attempts.push(tokio::spawn(async move {
            post_json(&base, "/admin/login", json!({ "email": who, "password": format!("guess {n}") }), &[]).await
        }));
    }
    for attempt in attempts {
        let (status, body) = attempt.await.unwrap();
        assert_eq!(status, 401, "{body}");
    }
    let (status, _, metrics) = app.get_as("/metrics", None).await;
    assert_eq!(status, 200);
    let gauge = |name: &str| -> i64 {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(gauge("qbsync_password_checks_limit"), 2);
    let peak = gauge("qbsync_password_checks_peak");
    assert!((1..=2).contains(&peak), "at most 2 argon2 checks ran at once, saw {peak}");
    assert!(metrics.contains("qbsync_sign_in_failures_total{realm=\"admin\",reason=\"wrong\"} 100\n"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_bearer_token_when_one_is_set() {
    let app = spawn_app_with(|s| s.metrics_token = Some("metrics-secret-1".into())).await;
    let (status, _, _) = app.get_as("/metrics", None).await;
    assert_eq!(status, 401);
    let (status, _, _) = app.get_as("/metrics", Some("wrong-token")).await;
    assert_eq!(status, 401);
    let (status, _, _) = app.get_as("/metrics", Some(&app.token)).await;
    assert_eq!(status, 401, "an API token is not the metrics token");
    let (status, _, text) = app.get_as("/metrics", Some("metrics-secret-1")).await;
    assert_eq!(status, 200);
    assert!(text.contains("qbsync_database_up 1"), "{text}");

    let open = spawn_app().await;
    assert_eq!(open.get_as("/metrics", None).await.0, 200, "without a token set, /metrics is open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_that_carries_a_secret_says_no_store() {
    let app = spawn_app().await;
    let email = add_admin(&app).await;
    let login =
        app.call("POST", "/admin/login", Some(json!({ "email": email, "password": PASSWORD })), &Auth::None).await;
    assert_eq!(login.status, 200);
    assert_eq!(login.header("cache-control"), Some("no-store"), "sign-in");
    let session = session_from(&login);
    let me = app.call("GET", "/api/v1/session", None, &session).await;
    assert_eq!(me.header("cache-control"), Some("no-store"), "the session carries its CSRF token");
    let created = app.call("POST", "/api/v1/connections", Some(json!({ "name": "Back office" })), &session).await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    assert_eq!(created.header("cache-control"), Some("no-store"), "connection create");
    let id = created.json["id"].as_str().unwrap();
    let rotated = app.call("POST", &format!("/api/v1/connections/{id}/password"), None, &session).await;
    assert_eq!(rotated.status, 200);
    assert_eq!(rotated.header("cache-control"), Some("no-store"), "password rotation");

    let fresh = spawn_app().await;
    let link = setup_link_of(&fresh).await;
    let token = link.split("token=").nth(1).unwrap();
    let setup = fresh
        .call(
            "POST",
            "/admin/setup",
            Some(
                json!({ "token": token, "org_name": "New Co", "email": "a@new.example", "password": "long enough pw" }),
            ),
            &Auth::None,
        )
        .await;
    assert_eq!(setup.status, 200, "{:?}", setup.json);
    assert_eq!(setup.header("cache-control"), Some("no-store"), "setup");
}

async fn setup_link_of(app: &TestApp) -> String {
    qbsync::http::auth::offer_setup_link(&qbsync::http::AppState::new(
        app.db.clone(),
        Default::default(),
        qbsync::sync::Service::new(app.db.clone(), Default::default()),
    ))
    .await
    .unwrap()
    .expect("a link while there is no admin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_connection_never_reveals_another_organizations_user_name() {
    let app = spawn_app().await;
    let other_org = catalog::create_organization(&app.db, "Other Co").await.unwrap();
    let other = Auth::Bearer(add_token(&app.db, other_org.organization_id).await);
    let theirs = app
        .call("POST", "/api/v1/connections", Some(json!({ "name": "Office", "username": "front-desk" })), &other)
        .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.json);
    let their_username = theirs.json["username"].as_str().unwrap().to_string();
    assert!(their_username.starts_with("front-desk-"), "{their_username}");

    // Asking for the same base, or for their whole user name, succeeds with a name of our own.
    for (n, asked) in ["front-desk", their_username.as_str(), "FRONT-DESK"].into_iter().enumerate() {
        let ours = app
            .call(
                "POST",
                "/api/v1/connections",
                Some(json!({ "name": format!("Desk {n}"), "username": asked })),
                &app.bearer(),
            )
            .await;
        assert_eq!(ours.status, 201, "{:?}", ours.json);
        let username = ours.json["username"].as_str().unwrap();
        assert!(username.starts_with(&format!("{}-", asked.to_lowercase())), "{username}");
        assert_ne!(username, their_username);
    }
    // The only conflict is our own connection name, and it says nothing about user names.
    let again = app.call("POST", "/api/v1/connections", Some(json!({ "name": "Desk 0" })), &app.bearer()).await;
    assert_eq!(again.status, 409);
    let message = again.json["error"]["message"].as_str().unwrap();
    assert!(!message.contains("user"), "{message}");
    let bad = app
        .call("POST", "/api/v1/connections", Some(json!({ "name": "Desk 9", "username": "a b/c" })), &app.bearer())
        .await;
    assert_eq!(bad.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_link_survives_a_restart_and_expires_after_its_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = test_database_url(dir.path()).await;
    let settings = || Settings {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        workers: 1,
        setup_link_ttl: chrono::Duration::seconds(2),
        db: DbOptions { max_connections: 3, acquire_timeout: Duration::from_secs(30) },
        ..Settings::default()
    };
    let first = Application::build(settings()).await.unwrap();
    let link = first.setup_link().await.unwrap().expect("a link on an empty database");
    drop(first);
    let second = Application::build(settings()).await.unwrap();
    assert_eq!(second.setup_link().await.unwrap().as_deref(), Some(link.as_str()), "a restart reprints the live link");
    assert_eq!(count_rows(second.db(), "setup_token").await, 1, "no second token was added");

    let base = format!("http://127.0.0.1:{}", second.port());
    let handle = second.handle();
    let replacement = {
        tokio::time::sleep(Duration::from_millis(2200)).await;
        second.setup_link().await.unwrap().expect("a new link once the old one expired")
    };
    tokio::spawn(second.run_until_stopped());
    let setup = |token: String| {
        let base = base.clone();
        async move {
            post_json(
                &base,
                "/admin/setup",
                json!({ "token": token, "org_name": "New Co", "email": "a@new.example", "password": "long enough pw" }),
                &[],
            )
            .await
        }
    };
    assert_ne!(replacement, link);
    let expired = setup(link.split("token=").nth(1).unwrap().to_string()).await;
    assert_eq!(expired.0, 403, "{}", expired.1);
    assert!(expired.1["error"]["message"].as_str().unwrap().contains("expired"));
    let done = setup(replacement.split("token=").nth(1).unwrap().to_string()).await;
    assert_eq!(done.0, 200, "{}", done.1);
    handle.stop(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_made_on_one_server_process_holds_on_another_sharing_the_database() {
    let app = spawn_app_with(|s| quick_policy(s, Duration::from_secs(60))).await;
    let (second_base, second) = spawn_second_server(&app, |s| quick_policy(s, Duration::from_secs(60))).await;
    let email = add_admin(&app).await;
    for _ in 0..3 {
        assert_eq!(sign_in_from(&app, &email, "wrong password", None).await, 401);
    }
    let elsewhere = post_json(&second_base, "/admin/login", json!({ "email": email, "password": PASSWORD }), &[]).await;
    assert_eq!(elsewhere.0, 401, "the other process sees the lock: {}", elsewhere.1);
    second.stop(false).await;
}

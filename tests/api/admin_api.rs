//! The admin side of the API: sign-in, sessions, CSRF, setup, and every write route.

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use qbsync::store::catalog;
use serde_json::{Value, json};

use crate::helpers::*;

async fn synced_app() -> (TestApp, Dataset) {
    let app = spawn_app().await;
    let data = Dataset::generate(31, 40, 8);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;
    (app, data)
}

async fn first_customer(app: &TestApp, query: &str) -> Value {
    let (status, page) = app.get_json(&format!("/api/v1/qb/customers?limit=1&{query}")).await;
    assert_eq!(status, 200);
    page["items"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_a_strict_http_only_cookie_and_writes_need_the_csrf_header() {
    let app = spawn_app().await;
    let wrong = app
        .call(
            "POST",
            "/admin/login",
            Some(json!({ "email": "nobody@x.example", "password": "whatever-it-is" })),
            &Auth::None,
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json["error"]["message"], "wrong email or password");

    let session = app.sign_in().await;
    let Auth::Session { cookie, csrf } = &session else { unreachable!() };
    let me = app.call("GET", "/api/v1/session", None, &session).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["org"]["name"], "Sparkle Cleaning Co");
    assert_eq!(me.json["csrf_token"].as_str(), csrf.as_deref());

    let no_csrf = Auth::Session { cookie: cookie.clone(), csrf: None };
    let refused = app.call("POST", "/api/v1/locations", Some(json!({ "name": "X" })), &no_csrf).await;
    assert_eq!(refused.status, 403, "{:?}", refused.json);
    assert_eq!(refused.json["error"]["code"], "forbidden");
    let wrong_csrf = Auth::Session { cookie: cookie.clone(), csrf: Some("0".repeat(64)) };
    assert_eq!(
        app.call("DELETE", &format!("/api/v1/connections/{}", app.conn.id), None, &wrong_csrf).await.status,
        403
    );
    // Reads need no CSRF header.
    assert_eq!(app.call("GET", "/api/v1/locations", None, &no_csrf).await.status, 200);
    let created = app.call("POST", "/api/v1/locations", Some(json!({ "name": "X" })), &session).await;
    assert_eq!(created.status, 201);

    let out = app.call("POST", "/admin/logout", None, &session).await;
    assert_eq!(out.status, 204);
    assert_eq!(app.call("GET", "/api/v1/session", None, &session).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_cookie_has_the_right_attributes() {
    let app = spawn_app().await;
    let email = "boss@sparkle.example";
    catalog::create_admin(&app.db, app.org_id, email, &qbsync::secrets::hash_password("a long password"))
        .await
        .unwrap();
    let answer = app
        .call(
            "POST",
            "/admin/login",
            Some(json!({ "email": "Boss@Sparkle.example ", "password": "a long password" })),
            &Auth::None,
        )
        .await;
    assert_eq!(answer.status, 200);
    let cookie = answer.header("set-cookie").unwrap().to_lowercase();
    assert!(cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("samesite=strict"), "{cookie}");
    assert!(!cookie.contains("secure"), "plain http on localhost cannot carry Secure cookies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_time_setup_link_creates_the_first_organization_and_admin() {
    let app = spawn_app().await;
    // The test app made an organization but no admin: a link is offered.
    let link = qbsync::http::auth::offer_setup_link(&qbsync::http::AppState::new(
        app.db.clone(),
        Default::default(),
        qbsync::sync::Service::new(app.db.clone(), Default::default()),
    ))
    .await
    .unwrap()
    .expect("a link while there is no admin");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let page = app.call("GET", &format!("/admin/setup?token={token}"), None, &Auth::None).await;
    assert_eq!(page.status, 200);

    let bad = app.call("POST", "/admin/setup", Some(json!({ "token": "nope", "org_name": "New Co", "email": "a@new.example", "password": "long enough pw" })), &Auth::None).await;
    assert_eq!(bad.status, 403);
    let short = app
        .call(
            "POST",
            "/admin/setup",
            Some(json!({ "token": token, "org_name": "New Co", "email": "a@new.example", "password": "short" })),
            &Auth::None,
        )
        .await;
    assert_eq!(short.status, 422);
    let done = app
        .call(
            "POST",
            "/admin/setup",
            Some(
                json!({ "token": token, "org_name": "New Co", "email": "a@new.example", "password": "long enough pw" }),
            ),
            &Auth::None,
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.json);
    assert_eq!(done.json["org"]["name"], "New Co");
    let session = session_from(&done);
    assert_eq!(app.call("GET", "/api/v1/session", None, &session).await.status, 200);
    let again = app
        .call(
            "POST",
            "/admin/setup",
            Some(
                json!({ "token": token, "org_name": "Other", "email": "b@new.example", "password": "long enough pw" }),
            ),
            &Auth::None,
        )
        .await;
    assert_eq!(again.status, 403, "a setup link works once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_redirect_to_sign_in_and_carry_security_headers() {
    let app = spawn_app().await;
    let anonymous = app.call("GET", "/admin", None, &Auth::None).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/admin/login"));
    let root = app.call("GET", "/", None, &Auth::None).await;
    assert!(matches!(root.status, 302 | 303));
    let login = app.call("GET", "/admin/login", None, &Auth::None).await;
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    assert_eq!(login.header("x-content-type-options"), Some("nosniff"));
    let session = app.sign_in().await;
    let page = app.call("GET", "/admin", None, &session).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(app.call("GET", "/admin/static/../Cargo.toml", None, &Auth::None).await.status, 404);
    assert_eq!(app.call("GET", "/admin/static/nothing.js", None, &Auth::None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_created_changed_rotated_and_deleted() {
    let (app, _) = synced_app().await;
    let auth = app.bearer();
    let created = app
        .call("POST", "/api/v1/connections", Some(json!({ "name": "Warehouse file", "run_every_minutes": 15 })), &auth)
        .await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    let password = created.json["password"].as_str().unwrap().to_string();
    let id = created.json["id"].as_str().unwrap().to_string();
    assert_eq!(created.json["run_every_minutes"], 15);
    let username = created.json["username"].as_str().unwrap().to_string();
    let suffix = username.strip_prefix("sparkle-cleaning-co-warehouse-file-").expect("the derived base");
    assert_eq!(suffix.len(), 8, "{username}");
    assert_eq!(
        app.call("POST", "/api/v1/connections", Some(json!({ "name": "Warehouse file" })), &auth).await.status,
        409
    );
    assert_eq!(app.call("POST", "/api/v1/connections", Some(json!({ "name": "" })), &auth).await.status, 422);
    assert_eq!(
        app.call("POST", "/api/v1/connections", Some(json!({ "name": "A", "colour": "red" })), &auth).await.status,
        422
    );
    assert_eq!(app.call_raw("POST", "/api/v1/connections", Some("{not json".into()), &auth).await.status, 400);

    let changed = app
        .call(
            "PATCH",
            &format!("/api/v1/connections/{id}"),
            Some(json!({ "enabled": false, "name": "Warehouse" })),
            &auth,
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json["enabled"], false);
    assert_eq!(changed.json["name"], "Warehouse");
    assert_eq!(
        app.call("PATCH", &format!("/api/v1/connections/{id}"), Some(json!({ "run_every_minutes": 0 })), &auth)
            .await
            .status,
        422
    );

    // The shown password works with the Web Connector; after rotation only the new one does.
    app.call("PATCH", &format!("/api/v1/connections/{id}"), Some(json!({ "enabled": true })), &auth).await;
    let login = |pw: String| {
        let username = username.clone();
        let app = &app;
        async move {
            let (_, _, body) = app
                .soap("authenticate", envelope("authenticate", &[("strUserName", &username), ("strPassword", &pw)]))
                .await;
            auth_strings(&body)[1].clone()
        }
    };
    assert_eq!(login(password.clone()).await, "");
    let rotated = app.call("POST", &format!("/api/v1/connections/{id}/password"), None, &auth).await;
    assert_eq!(rotated.status, 200);
    let new_password = rotated.json["password"].as_str().unwrap().to_string();
    assert_ne!(new_password, password);
    assert_eq!(login(password).await, "nvu");

    // Deleting the synced connection keeps linked locations, unlinked.
    let customer = first_customer(&app, "").await;
    let location = app
        .call("POST", &format!("/api/v1/qb/customers/{}/location", customer["id"].as_str().unwrap()), None, &auth)
        .await;
    assert_eq!(location.status, 201);
    let gone = app.call("DELETE", &format!("/api/v1/connections/{}", app.conn.id), None, &auth).await;
    assert_eq!(gone.status, 204);
    let kept =
        app.call("GET", &format!("/api/v1/locations/{}", location.json["id"].as_str().unwrap()), None, &auth).await;
    assert_eq!(kept.status, 200);
    assert!(kept.json["link"].is_null());
    assert!(app.all_customers("").await.is_empty());
    assert_eq!(app.call("DELETE", &format!("/api/v1/connections/{}", app.conn.id), None, &auth).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_are_managed_and_linked_one_to_one() {
    let (app, data) = synced_app().await;
    let auth = app.bearer();
    let created = app
        .call("POST", "/api/v1/locations", Some(json!({ "name": "  Main St office ", "description": "Lobby", "address": { "line1": "1 Main St", "city": "Springfield" }, "phone": "555-0100", "email": "front@main.example" })), &auth)
        .await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    assert_eq!(created.json["name"], "Main St office");
    assert_eq!(created.json["address"]["city"], "Springfield");
    let id = created.json["id"].as_str().unwrap().to_string();
    for bad in [
        json!({}),
        json!({ "name": 5 }),
        json!({ "name": "x", "email": "not an email" }),
        json!({ "name": "x", "address": { "planet": "Mars" } }),
    ] {
        assert_eq!(app.call("POST", "/api/v1/locations", Some(bad.clone()), &auth).await.status, 422, "{bad}");
    }
    let patched = app
        .call(
            "PATCH",
            &format!("/api/v1/locations/{id}"),
            Some(json!({ "address": { "city": "Shelbyville" }, "email": null })),
            &auth,
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json["address"]["city"], "Shelbyville");
    assert_eq!(patched.json["address"]["line1"], "1 Main St");
    assert!(patched.json["email"].is_null());

    let customer = first_customer(&app, "linked=false").await;
    let customer_id = customer["id"].as_str().unwrap();
    let linked = app
        .call("PUT", &format!("/api/v1/locations/{id}/link"), Some(json!({ "customer_id": customer_id })), &auth)
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.json);
    assert_eq!(linked.json["link"]["customer_id"], customer_id);
    assert_eq!(linked.json["link"]["list_id"], customer["list_id"]);
    assert_eq!(linked.json["link"]["full_name"], customer["full_name"]);
    let (_, c) = app.get_json("/api/v1/qb/customers?linked=true&limit=5").await;
    assert_eq!(c["items"][0]["link"]["id"], id.as_str());

    // Linking again, either side, is a 409 and changes nothing.
    let other = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Other site" })), &auth).await;
    let other_id = other.json["id"].as_str().unwrap();
    let conflict = app
        .call("PUT", &format!("/api/v1/locations/{other_id}/link"), Some(json!({ "customer_id": customer_id })), &auth)
        .await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.json["error"]["code"], "conflict");
    let second = first_customer(&app, "linked=false").await;
    let conflict = app
        .call("PUT", &format!("/api/v1/locations/{id}/link"), Some(json!({ "customer_id": second["id"] })), &auth)
        .await;
    assert_eq!(conflict.status, 409);
    let unchanged = app.call("GET", &format!("/api/v1/locations/{id}"), None, &auth).await;
    assert_eq!(unchanged.json["link"]["customer_id"], customer_id);
    assert_eq!(
        app.call("PUT", &format!("/api/v1/locations/{other_id}/link"), Some(json!({ "customer_id": "nope" })), &auth)
            .await
            .status,
        422
    );
    assert_eq!(
        app.call(
            "PUT",
            &format!("/api/v1/locations/{other_id}/link"),
            Some(json!({ "customer_id": uuid::Uuid::new_v4() })),
            &auth
        )
        .await
        .status,
        404
    );

    let list = app.call("GET", "/api/v1/locations?linked=true", None, &auth).await;
    assert_eq!(list.json["total"], 1);
    let list = app.call("GET", "/api/v1/locations?q=OTHER", None, &auth).await;
    assert_eq!(list.json["items"][0]["name"], "Other site");

    let unlinked = app.call("DELETE", &format!("/api/v1/locations/{id}/link"), None, &auth).await;
    assert_eq!(unlinked.status, 200);
    assert!(unlinked.json["link"].is_null());
    assert_eq!(app.call("DELETE", &format!("/api/v1/locations/{id}"), None, &auth).await.status, 204);
    assert_eq!(app.call("GET", &format!("/api/v1/locations/{id}"), None, &auth).await.status, 404);

    // "+": a location from the customer's ship-to address, else its billing address.
    let with_ship = data.customers.iter().find(|c| c.ship.is_some() && c.is_active).unwrap();
    let staged = app.all_customers("").await;
    let staged_ship = staged.iter().find(|c| c["list_id"] == with_ship.list_id.as_str()).unwrap();
    let made = app
        .call("POST", &format!("/api/v1/qb/customers/{}/location", staged_ship["id"].as_str().unwrap()), None, &auth)
        .await;
    assert_eq!(made.status, 201, "{:?}", made.json);
    assert_eq!(made.json["name"], with_ship.name.as_str());
    assert_eq!(made.json["address"]["line1"].as_str(), with_ship.ship.as_ref().unwrap().addr1.as_deref());
    assert_eq!(made.json["address"]["city"].as_str(), with_ship.ship.as_ref().unwrap().city.as_deref());
    assert_eq!(made.json["phone"].as_str(), with_ship.phone.as_deref());
    assert_eq!(made.json["email"].as_str(), with_ship.email.as_deref());
    assert_eq!(made.json["link"]["list_id"], with_ship.list_id.as_str());
    let twice = app
        .call("POST", &format!("/api/v1/qb/customers/{}/location", staged_ship["id"].as_str().unwrap()), None, &auth)
        .await;
    assert_eq!(twice.status, 200, "a repeated + answers the location already made: {:?}", twice.json);
    assert_eq!(twice.json["id"], made.json["id"]);
    if let Some(bill_only) = data.customers.iter().find(|c| c.ship.is_none() && c.bill.is_some()) {
        let staged_bill = staged.iter().find(|c| c["list_id"] == bill_only.list_id.as_str()).unwrap();
        let made = app
            .call(
                "POST",
                &format!("/api/v1/qb/customers/{}/location", staged_bill["id"].as_str().unwrap()),
                None,
                &auth,
            )
            .await;
        assert_eq!(made.json["address"]["city"].as_str(), bill_only.bill.as_ref().unwrap().city.as_deref());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_are_managed_and_linked_one_to_one() {
    let (app, data) = synced_app().await;
    let auth = app.bearer();
    let created =
        app.call("POST", "/api/v1/staff", Some(json!({ "name": "Ana Lima", "email": "ana@example.com" })), &auth).await;
    assert_eq!(created.status, 201);
    let id = created.json["id"].as_str().unwrap().to_string();
    let employees = app.all_employees("").await;
    let employee = &employees[0];
    let linked = app
        .call("PUT", &format!("/api/v1/staff/{id}/link"), Some(json!({ "employee_id": employee["id"] })), &auth)
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.json);
    assert_eq!(linked.json["link"]["list_id"], employee["list_id"]);
    let again = app
        .call("POST", &format!("/api/v1/qb/employees/{}/staff", employee["id"].as_str().unwrap()), None, &auth)
        .await;
    assert_eq!(again.status, 200, "+ on a linked employee answers its staff member: {:?}", again.json);
    assert_eq!(again.json["id"].as_str(), Some(id.as_str()));
    let patched = app.call("PATCH", &format!("/api/v1/staff/{id}"), Some(json!({ "phone": "555-0199" })), &auth).await;
    assert_eq!(patched.json["phone"], "555-0199");
    assert_eq!(patched.json["name"], "Ana Lima");
    assert_eq!(app.call("DELETE", &format!("/api/v1/staff/{id}/link"), None, &auth).await.json["link"], Value::Null);

    let source = data.employees.iter().find(|e| e.list_id == employees[1]["list_id"].as_str().unwrap()).unwrap();
    let made = app
        .call("POST", &format!("/api/v1/qb/employees/{}/staff", employees[1]["id"].as_str().unwrap()), None, &auth)
        .await;
    assert_eq!(made.status, 201);
    assert_eq!(made.json["email"].as_str(), source.email.as_deref());
    assert!(made.json["name"].as_str().unwrap().contains(source.last_name.as_deref().unwrap_or(&source.name)));
    // Staff are reached on the employee's mobile first.
    assert_eq!(made.json["phone"].as_str(), source.mobile.as_deref().or(source.phone.as_deref()));
    assert_eq!(made.json["link"]["list_id"], source.list_id.as_str());
    let list = app.call("GET", "/api/v1/staff?linked=true", None, &auth).await;
    assert_eq!(list.json["total"], 1);
    assert_eq!(app.call("DELETE", &format!("/api/v1/staff/{id}"), None, &auth).await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organization_gets_404_on_every_write() {
    let (app, _) = synced_app().await;
    let auth = app.bearer();
    let location = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Mine" })), &auth).await.json;
    let staff = app.call("POST", "/api/v1/staff", Some(json!({ "name": "Mine" })), &auth).await.json;
    let customer = first_customer(&app, "").await;
    let employee = &app.all_employees("").await[0];
    let other = catalog::create_organization(&app.db, "Rival Co").await.unwrap();
    let rival = Auth::Bearer(add_token(&app.db, other.organization_id).await);
    let (l, s, c, e, conn) = (
        location["id"].as_str().unwrap(),
        staff["id"].as_str().unwrap(),
        customer["id"].as_str().unwrap(),
        employee["id"].as_str().unwrap(),
        app.conn.id,
    );
    let calls: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/v1/locations/{l}"), None),
        ("PATCH", format!("/api/v1/locations/{l}"), Some(json!({ "name": "Stolen" }))),
        ("DELETE", format!("/api/v1/locations/{l}"), None),
        ("PUT", format!("/api/v1/locations/{l}/link"), Some(json!({ "customer_id": c }))),
        ("DELETE", format!("/api/v1/locations/{l}/link"), None),
        ("GET", format!("/api/v1/staff/{s}"), None),
        ("PATCH", format!("/api/v1/staff/{s}"), Some(json!({ "name": "Stolen" }))),
        ("DELETE", format!("/api/v1/staff/{s}"), None),
        ("PUT", format!("/api/v1/staff/{s}/link"), Some(json!({ "employee_id": e }))),
        ("POST", format!("/api/v1/qb/customers/{c}/location"), None),
        ("POST", format!("/api/v1/qb/employees/{e}/staff"), None),
        ("PATCH", format!("/api/v1/connections/{conn}"), Some(json!({ "enabled": false }))),
        ("POST", format!("/api/v1/connections/{conn}/password"), None),
        ("DELETE", format!("/api/v1/connections/{conn}"), None),
    ];
    for (method, path, body) in calls {
        let answer = app.call(method, &path, body, &rival).await;
        assert_eq!(answer.status, 404, "{method} {path}: {:?}", answer.json);
    }
    // Their own location cannot be linked to our customer either.
    let theirs = app.call("POST", "/api/v1/locations", Some(json!({ "name": "Theirs" })), &rival).await.json;
    let answer = app
        .call(
            "PUT",
            &format!("/api/v1/locations/{}/link", theirs["id"].as_str().unwrap()),
            Some(json!({ "customer_id": c })),
            &rival,
        )
        .await;
    assert_eq!(answer.status, 404);
    // Nothing of ours changed.
    let mine = app.call("GET", &format!("/api/v1/locations/{l}"), None, &auth).await;
    assert_eq!(mine.json["name"], "Mine");
    assert!(mine.json["link"].is_null());
    assert_eq!(app.call("GET", &format!("/api/v1/connections/{conn}"), None, &auth).await.json["enabled"], true);
}

//! The read routes of the JSON API: authentication, organization scoping, filters, paging.

use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use qbsync::store::catalog;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_wants_a_valid_bearer_token() {
    let app = spawn_app().await;
    for token in [None, Some("qbs_not-a-token"), Some("")] {
        let (status, body) = app.get_json_as("/api/v1/connections", token).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(body["error"]["message"].as_str().unwrap().contains("Bearer"));
    }
    let (status, body) = app.get_json("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organizations_records_are_invisible() {
    let app = spawn_app().await;
    app.sync_company(1, 10, 2).await;
    let other_org = catalog::create_organization(&app.db, "Other Co").await.unwrap();
    let other_token = add_token(&app.db, other_org.organization_id).await;

    let (status, body) = app.get_json_as("/api/v1/qb/customers", Some(&other_token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 0);
    let (status, body) = app.get_json_as("/api/v1/connections", Some(&other_token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 0);
    for path in ["", "/runs", "/qwc"] {
        let (status, body) =
            app.get_json_as(&format!("/api/v1/connections/{}{path}", app.conn.id), Some(&other_token)).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = app.get_json("/api/v1/connections/not-a-uuid").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_show_their_quickbooks_and_last_run() {
    let app = spawn_app().await;
    app.sync_company(2, 4, 1).await;
    let (status, body) = app.get_json("/api/v1/connections").await;
    assert_eq!(status, 200);
    let conn = &body["items"][0];
    assert_eq!(conn["id"], app.conn.id.to_string().as_str());
    assert_eq!(conn["username"], app.conn.username.as_str());
    assert!(conn["owner_id"].as_str().unwrap().starts_with('{'));
    assert!(conn["file_id"].as_str().unwrap().ends_with('}'));
    assert!(conn.get("password").is_none() && conn.get("password_hash").is_none());
    assert_eq!(conn["last_run"]["outcome"], "success");
    assert_eq!(conn["quickbooks"]["qbxml_version"], "13.0");
    assert!(conn["quickbooks"]["company_name"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qwc_download_names_our_endpoint_and_the_connection() {
    let app = spawn_app_with(|s| s.public_url = "https://sync.sparkle.example".into()).await;
    let (status, content_type, body) =
        app.get_as(&format!("/api/v1/connections/{}/qwc", app.conn.id), Some(&app.token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.contains("xml"));
    assert!(body.contains("<AppURL>https://sync.sparkle.example/qbwc</AppURL>"));
    assert!(body.contains("<AppSupport>https://sync.sparkle.example/support</AppSupport>"));
    assert!(body.contains(&format!("<UserName>{}</UserName>", app.conn.username)));
    let conn = catalog::get_connection(&app.db, None, app.conn.id).await.unwrap();
    assert!(body.contains(&format!("<OwnerID>{}</OwnerID>", conn.owner_id)));
    assert!(body.contains(&format!("<FileID>{}</FileID>", conn.file_id)));
    // The same GUIDs every time.
    let (_, _, again) = app.get_as(&format!("/api/v1/connections/{}/qwc", app.conn.id), Some(&app.token)).await;
    assert_eq!(body, again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qwc_for_a_plain_http_public_url_is_refused_with_the_reason() {
    let app = spawn_app_with(|s| s.public_url = "http://sync.sparkle.example".into()).await;
    let (status, body) = app.get_json(&format!("/api/v1/connections/{}/qwc", app.conn.id)).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("https"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_customers_filter_search_and_page() {
    let app = spawn_app().await;
    let data = Dataset::generate(21, 130, 6);
    app.simulate(FakeQuickBooks::new(data.clone(), Faults::default())).await;

    // Paging walks every record once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/qb/customers?limit=40&cursor={c}"),
            None => "/api/v1/qb/customers?limit=40".to_string(),
        };
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 40);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 130);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 130);

    let inactive = app.all_customers("status=inactive").await;
    assert_eq!(inactive.len(), data.customers.iter().filter(|c| !c.is_active).count());
    let active = app.all_customers("status=active").await;
    assert_eq!(active.len() + inactive.len(), 130);
    assert_eq!(app.all_customers("linked=false").await.len(), 130);
    assert!(app.all_customers("linked=true").await.is_empty());
    assert_eq!(app.all_customers(&format!("connection={}", app.conn.id)).await.len(), 130);

    let target = &data.customers[17];
    let needle: String = target.full_name.chars().take(6).collect();
    let found = app.all_customers(&format!("q={}", urlencode(&needle.to_uppercase()))).await;
    assert!(found.iter().any(|c| c["list_id"] == target.list_id.as_str()), "{needle}");
    assert!(found.iter().all(|c| {
        c["full_name"].as_str().unwrap().to_lowercase().contains(&needle.to_lowercase())
            || c["company_name"].as_str().unwrap_or_default().to_lowercase().contains(&needle.to_lowercase())
            || c["email"].as_str().unwrap_or_default().to_lowercase().contains(&needle.to_lowercase())
            || c["ship_address"]["city"]
                .as_str()
                .or(c["bill_address"]["city"].as_str())
                .unwrap_or_default()
                .to_lowercase()
                .contains(&needle.to_lowercase())
    }));
    assert!(app.all_customers("q=%25").await.iter().all(|c| c.to_string().contains('%')), "% is matched literally");

    for bad in ["limit=0", "limit=501", "limit=x", "status=gone", "linked=maybe", "cursor=zz", "connection=nope"] {
        let (status, body) = app.get_json(&format!("/api/v1/qb/customers?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }
    let employees = app.all_employees("").await;
    assert_eq!(employees.len(), 6);
    let (status, body) = app.get_json("/api/v1/qb/employees?status=inactive&limit=1").await;
    assert_eq!(status, 200, "{body}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_listed_newest_first_and_paged() {
    let app = spawn_app().await;
    for seed in 0..3 {
        app.sync_company(seed, 3, 1).await;
    }
    let (status, page) = app.get_json(&format!("/api/v1/connections/{}/runs?limit=2", app.conn.id)).await;
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["started_at"].as_str() >= items[1]["started_at"].as_str());
    let next = page["next"].as_str().unwrap();
    let (_, rest) = app.get_json(&format!("/api/v1/connections/{}/runs?limit=2&cursor={next}", app.conn.id)).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_database() {
    let app = spawn_app().await;
    let (status, body) = app.get_json_as("/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_503_when_the_database_does_not() {
    let app = spawn_app().await;
    app.db.close().await;
    let (status, body) = app.get_json_as("/healthz", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    let (_, _, metrics) = app.get_as("/metrics", None).await;
    assert!(metrics.contains("qbsync_database_up 0\n"), "{metrics}");
}

/// When the token was last marked used, straight from the database (the API does not show it).
async fn token_last_used(app: &TestApp) -> Option<chrono::DateTime<chrono::Utc>> {
    let sql = "SELECT last_used_at FROM api_token WHERE token_hash = $1";
    let hash = qbsync::secrets::sha256_hex(&app.token);
    match &app.db {
        qbsync::store::Db::Sqlite(pool) => sqlx::query_scalar(sql).bind(hash).fetch_one(pool).await.unwrap(),
        qbsync::store::Db::Postgres(pool) => sqlx::query_scalar(sql).bind(hash).fetch_one(pool).await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_reads_mark_the_token_used_at_most_once_a_minute() {
    // Arrange
    let app = spawn_app().await;
    assert_eq!(token_last_used(&app).await, None);

    // Act: two reads in a row.
    assert_eq!(app.get_json("/api/v1/locations").await.0, 200);
    let first = token_last_used(&app).await.expect("the first use is recorded");
    assert_eq!(app.get_json("/api/v1/staff").await.0, 200);

    // Assert: the second read wrote nothing; once the mark is over a minute old, a read renews it.
    assert_eq!(token_last_used(&app).await, Some(first));
    let old = first - catalog::TOKEN_USE_RECORDED_EVERY - chrono::TimeDelta::seconds(5);
    let hash = qbsync::secrets::sha256_hex(&app.token);
    let sql = "UPDATE api_token SET last_used_at = $1 WHERE token_hash = $2";
    match &app.db {
        qbsync::store::Db::Sqlite(pool) => sqlx::query(sql).bind(old).bind(&hash).execute(pool).await.map(drop),
        qbsync::store::Db::Postgres(pool) => sqlx::query(sql).bind(old).bind(&hash).execute(pool).await.map(drop),
    }
    .unwrap();
    assert_eq!(app.get_json("/api/v1/locations").await.0, 200);
    assert!(token_last_used(&app).await.unwrap() >= first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_each_other_through_ties_and_only_the_first_counts() {
    // Arrange: seven locations of one name between others, so pages cut through a tie.
    let app = spawn_app().await;
    let auth = app.bearer();
    let mut names = vec!["Aspen".to_string(), "Zephyr".to_string(), "".to_string()];
    names.extend(std::iter::repeat_n("Same Name".to_string(), 7));
    for name in &names {
        let body = serde_json::json!({ "name": name });
        let created = app.call("POST", "/api/v1/locations", Some(body), &auth).await;
        assert!(created.status == 201 || created.status == 422, "{:?}", created.json);
    }
    let (status, all) = app.get_json("/api/v1/locations?limit=500").await;
    assert_eq!(status, 200);
    let expected: Vec<String> =
        all["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().into()).collect();
    assert_eq!(all["total"], expected.len());

    // Act: walk the list two at a time.
    let mut seen = Vec::new();
    let mut url = "/api/v1/locations?limit=2".to_string();
    let mut pages = 0;
    loop {
        let (status, page) = app.get_json(&url).await;
        assert_eq!(status, 200, "{page}");
        if pages == 0 {
            assert_eq!(page["total"], expected.len(), "the first page counts");
        } else {
            assert!(page.get("total").is_none(), "later pages do not count: {page}");
        }
        pages += 1;
        seen.extend(page["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(next) => url = format!("/api/v1/locations?limit=2&cursor={next}"),
            None => break,
        }
    }

    // Assert: every location once, in the one-page order.
    assert_eq!(seen, expected);
    assert!(pages >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_over_its_request_budget_gets_429_and_the_others_do_not() {
    // Arrange: 60 requests a minute, so a burst of 10.
    let app = spawn_app_with(|settings| settings.api_requests_per_minute = 60).await;
    let other_org = catalog::create_organization(&app.db, "Quiet Co").await.unwrap();
    let other_token = add_token(&app.db, other_org.organization_id).await;

    // Act
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.get_json("/api/v1/locations").await.0);
    }
    let refused = app.call("GET", "/api/v1/staff", None, &app.bearer()).await;
    let (other, _) = app.get_json_as("/api/v1/locations", Some(&other_token)).await;

    // Assert
    assert_eq!(&statuses[..10], &[200; 10]);
    assert_eq!(statuses[10], 429);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json["error"]["code"], "too_many_requests");
    let retry_after: u64 = refused.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(other, 200, "another organization has its own budget");
}

//! A database made by the previous release upgrades in place: its staged records (then one column
//! per field) come through the record-model migration with every value, their links intact, and
//! the API shows them as it did.

use chrono::{TimeZone, Utc};
use qbsync::store::{Db, DbOptions};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// How many migrations the previous release had.
const PREVIOUS_RELEASE_MIGRATIONS: usize = 3;

/// Text columns of the previous release's `qb_customer` and where the API shows each.
const CUSTOMER_COLUMNS: &[(&str, &str)] = &[
    ("time_created", "/time_created"),
    ("time_modified", "/time_modified"),
    ("edit_sequence", "/edit_sequence"),
    ("parent_list_id", "/parent_list_id"),
    ("parent_full_name", "/parent_full_name"),
    ("company_name", "/company_name"),
    ("salutation", "/salutation"),
    ("first_name", "/first_name"),
    ("middle_name", "/middle_name"),
    ("last_name", "/last_name"),
    ("job_title", "/job_title"),
    ("bill_addr1", "/bill_address/line1"),
    ("bill_addr2", "/bill_address/line2"),
    ("bill_addr3", "/bill_address/line3"),
    ("bill_addr4", "/bill_address/line4"),
    ("bill_addr5", "/bill_address/line5"),
    ("bill_city", "/bill_address/city"),
    ("bill_state", "/bill_address/state"),
    ("bill_postal_code", "/bill_address/postal_code"),
    ("bill_country", "/bill_address/country"),
    ("bill_note", "/bill_address/note"),
    ("ship_addr1", "/ship_address/line1"),
    ("ship_addr2", "/ship_address/line2"),
    ("ship_addr3", "/ship_address/line3"),
    ("ship_addr4", "/ship_address/line4"),
    ("ship_addr5", "/ship_address/line5"),
    ("ship_city", "/ship_address/city"),
    ("ship_state", "/ship_address/state"),
    ("ship_postal_code", "/ship_address/postal_code"),
    ("ship_country", "/ship_address/country"),
    ("ship_note", "/ship_address/note"),
    ("phone", "/phone"),
    ("alt_phone", "/alt_phone"),
    ("email", "/email"),
    ("contact", "/contact"),
    ("notes", "/notes"),
    ("job_status", "/job_status"),
];

/// Text columns of the previous release's `qb_employee` and where the API shows each.
const EMPLOYEE_COLUMNS: &[(&str, &str)] = &[
    ("time_created", "/time_created"),
    ("time_modified", "/time_modified"),
    ("edit_sequence", "/edit_sequence"),
    ("salutation", "/salutation"),
    ("first_name", "/first_name"),
    ("middle_name", "/middle_name"),
    ("last_name", "/last_name"),
    ("job_title", "/job_title"),
    ("addr1", "/address/line1"),
    ("addr2", "/address/line2"),
    ("addr3", "/address/line3"),
    ("addr4", "/address/line4"),
    ("addr5", "/address/line5"),
    ("city", "/address/city"),
    ("state", "/address/state"),
    ("postal_code", "/address/postal_code"),
    ("country", "/address/country"),
    ("address_note", "/address/note"),
    ("phone", "/phone"),
    ("mobile", "/mobile"),
    ("email", "/email"),
    ("employee_type", "/employee_type"),
    ("hired_date", "/hired_date"),
    ("released_date", "/released_date"),
    ("notes", "/notes"),
];

/// A distinct value per column, with characters JSON and SQL must carry as they are.
fn value_of(column: &str) -> String {
    format!("{column} \"Ünïcode\" & 'quote' \\ {{json}}\nline")
}

async fn previous_release_schema(db: &Db) {
    macro_rules! run_previous {
        ($migrator:expr, $pool:expr) => {{
            let mut migrator = $migrator;
            migrator.migrations = migrator.migrations[..PREVIOUS_RELEASE_MIGRATIONS].to_vec().into();
            migrator.run($pool).await.expect("the previous release's migrations apply");
        }};
    }
    match db {
        Db::Sqlite(pool) => run_previous!(sqlx::migrate!("./migrations/sqlite"), pool),
        Db::Postgres(pool) => run_previous!(sqlx::migrate!("./migrations/postgres"), pool),
    }
}

/// Runs one INSERT of the previous release's shape: `columns` with `$n` placeholders.
async fn insert(db: &Db, table: &str, columns: &[&str], values: Vec<Bound>) {
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
    let sql = format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), placeholders.join(", "));
    macro_rules! run {
        ($pool:expr) => {{
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for value in values {
                query = match value {
                    Bound::Id(v) => query.bind(v),
                    Bound::Text(v) => query.bind(v),
                    Bound::Flag(v) => query.bind(v),
                    Bound::Number(v) => query.bind(v),
                    Bound::Time(v) => query.bind(v),
                };
            }
            query.execute($pool).await.expect(table);
        }};
    }
    match db {
        Db::Sqlite(pool) => run!(pool),
        Db::Postgres(pool) => run!(pool),
    }
}

enum Bound {
    Id(Uuid),
    Text(Option<String>),
    Flag(bool),
    Number(i64),
    Time(Option<chrono::DateTime<Utc>>),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_previous_release_upgrades_in_place_with_its_records_and_links() {
    // Arrange: the previous release's schema, with a job, an employee, each linked, and a
    // deleted customer whose optional parts are all empty.
    let dir = tempfile::tempdir().unwrap();
    let url = test_database_url(dir.path()).await;
    let old = Db::connect(&url, &DbOptions::default()).await.unwrap();
    previous_release_schema(&old).await;
    let (org, connection, job, gone, employee, location, staff) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap();
    insert(
        &old,
        "organization",
        &["organization_id", "name", "created_at"],
        vec![Bound::Id(org), Bound::Text(Some("Upgraded Cleaning".into())), Bound::Time(Some(at))],
    )
    .await;
    insert(
        &old,
        "connection",
        &["connection_id", "organization_id", "name", "username", "password_hash", "owner_id", "file_id", "created_at"],
        vec![
            Bound::Id(connection),
            Bound::Id(org),
            Bound::Text(Some("Old office".into())),
            Bound::Text(Some(format!("old-{}", Uuid::new_v4().simple()))),
            Bound::Text(Some("x".into())),
            Bound::Text(Some("{OWNER}".into())),
            Bound::Text(Some("{FILE}".into())),
            Bound::Time(Some(at)),
        ],
    )
    .await;
    let mut columns = vec![
        "qb_customer_id",
        "connection_id",
        "organization_id",
        "list_id",
        "name",
        "full_name",
        "is_active",
        "sublevel",
        "seen_at",
        "deleted_at",
        "created_at",
    ];
    columns.extend(CUSTOMER_COLUMNS.iter().map(|(column, _)| *column));
    for (id, list_id, name, full_name, deleted, filled) in [
        (job, "8000-1", "Clinic Wing ", "Bluebird Chiropractic:Clinic Wing ", None, true),
        (gone, "8000-2", "Gone", "Gone", Some(at), false),
    ] {
        let mut values = vec![
            Bound::Id(id),
            Bound::Id(connection),
            Bound::Id(org),
            Bound::Text(Some(list_id.into())),
            Bound::Text(Some(name.into())),
            Bound::Text(Some(full_name.into())),
            Bound::Flag(filled),
            Bound::Number(if filled { 1 } else { 0 }),
            Bound::Time(Some(at)),
            Bound::Time(deleted),
            Bound::Time(Some(at)),
        ];
        values.extend(CUSTOMER_COLUMNS.iter().map(|(column, _)| Bound::Text(filled.then(|| value_of(column)))));
        insert(&old, "qb_customer", &columns, values).await;
    }
    let mut columns = vec![
        "qb_employee_id",
        "connection_id",
        "organization_id",
        "list_id",
        "name",
        "is_active",
        "seen_at",
        "created_at",
    ];
    columns.extend(EMPLOYEE_COLUMNS.iter().map(|(column, _)| *column));
    let mut values = vec![
        Bound::Id(employee),
        Bound::Id(connection),
        Bound::Id(org),
        Bound::Text(Some("8000-3".into())),
        Bound::Text(Some("Teske, Daric".into())),
        Bound::Flag(true),
        Bound::Time(Some(at)),
        Bound::Time(Some(at)),
    ];
    values.extend(EMPLOYEE_COLUMNS.iter().map(|(column, _)| Bound::Text(Some(value_of(column)))));
    insert(&old, "qb_employee", &columns, values).await;
    insert(
        &old,
        "location",
        &["location_id", "organization_id", "name", "description", "qb_customer_id", "created_at", "updated_at"],
        vec![
            Bound::Id(location),
            Bound::Id(org),
            Bound::Text(Some("Clinic".into())),
            Bound::Text(Some(String::new())),
            Bound::Id(job),
            Bound::Time(Some(at)),
            Bound::Time(Some(at)),
        ],
    )
    .await;
    insert(
        &old,
        "staff",
        &["staff_id", "organization_id", "name", "qb_employee_id", "created_at", "updated_at"],
        vec![
            Bound::Id(staff),
            Bound::Id(org),
            Bound::Text(Some("Daric".into())),
            Bound::Id(employee),
            Bound::Time(Some(at)),
            Bound::Time(Some(at)),
        ],
    )
    .await;
    old.close().await;

    // Act: today's server opens the same database (and migrates it).
    let app = spawn_app_with(|settings| settings.database_url = url.clone()).await;
    let token = add_token(&app.db, org).await;

    // Assert
    let (status, customers) = app.get_json_as("/api/v1/qb/customers?limit=10", Some(&token)).await;
    assert_eq!(status, 200, "{customers}");
    let items = customers["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{customers}");
    let upgraded = items.iter().find(|c| c["id"] == json!(job)).unwrap();
    for (column, pointer) in CUSTOMER_COLUMNS {
        assert_eq!(upgraded.pointer(pointer), Some(&json!(value_of(column))), "{column} -> {pointer}");
    }
    assert_eq!(upgraded["name"], "Clinic Wing ");
    assert_eq!(upgraded["full_name"], "Bluebird Chiropractic:Clinic Wing ");
    assert_eq!((upgraded["sublevel"].clone(), upgraded["is_active"].clone()), (json!(1), json!(true)));
    assert_eq!(upgraded["status"], "active");
    assert_eq!(upgraded["link"], json!({ "id": location, "name": "Clinic" }));
    let deleted = items.iter().find(|c| c["id"] == json!(gone)).unwrap();
    for (column, pointer) in CUSTOMER_COLUMNS {
        assert_eq!(deleted.pointer(pointer), Some(&Value::Null), "{column} -> {pointer}");
    }
    assert_eq!((deleted["status"].clone(), deleted["sublevel"].clone()), (json!("deleted"), json!(0)));
    assert!(deleted["deleted_at"].is_string() && deleted["link"].is_null());

    let (_, employees) = app.get_json_as("/api/v1/qb/employees", Some(&token)).await;
    let upgraded = &employees["items"][0];
    for (column, pointer) in EMPLOYEE_COLUMNS {
        assert_eq!(upgraded.pointer(pointer), Some(&json!(value_of(column))), "{column} -> {pointer}");
    }
    assert_eq!(upgraded["link"], json!({ "id": staff, "name": "Daric" }));

    // The search text was made for the rows staged before the upgrade.
    let (_, found) = app.get_json_as("/api/v1/qb/customers?q=SHIP_CITY", Some(&token)).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let (_, found) = app.get_json_as("/api/v1/qb/employees?q=mobile%20%22", Some(&token)).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    // ... in today's form: accents folded.
    let (_, found) = app.get_json_as("/api/v1/qb/customers?q=UNICODE%20ship_city", Some(&token)).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    // The links still hold: the linked location names its customer.
    let (_, location_json) = app.get_json_as(&format!("/api/v1/locations/{location}"), Some(&token)).await;
    assert_eq!(location_json["link"]["customer_id"], json!(job), "{location_json}");
    // Links made before change review began start reviewed: nothing is waiting.
    assert_eq!(location_json["link"]["changed"], json!(false), "{location_json}");
    let (_, review) = app.get_json_as("/api/v1/changes?kind=staff", Some(&token)).await;
    assert_eq!(review["counts"], json!({ "locations": 0, "staff": 0 }), "{review}");
}

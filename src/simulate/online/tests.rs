//! The fake over real HTTP, with ureq as a client would use it.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use serde_json::{Value, json};

use super::server::percent_encode;
use super::*;

/// ureq is built without its `json` feature. (The error type is ureq's own.)
#[allow(clippy::result_large_err)]
trait SendJson {
    fn send_json(self, value: Value) -> Result<ureq::Response, ureq::Error>;
}

impl SendJson for ureq::Request {
    fn send_json(self, value: Value) -> Result<ureq::Response, ureq::Error> {
        self.set("Content-Type", "application/json").send_string(&value.to_string())
    }
}

const REDIRECT: &str = "http://127.0.0.1:9/qbo/callback";

struct Answer {
    status: u16,
    location: Option<String>,
    tid: Option<String>,
    www_authenticate: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    Answer {
        status: response.status(),
        location: response.header("location").map(str::to_string),
        tid: response.header("intuit_tid").map(str::to_string),
        www_authenticate: response.header("www-authenticate").map(str::to_string),
        body: response.into_string().unwrap(),
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(30)).build()
}

fn start(config: FakeIntuitConfig, customers: usize, employees: usize) -> FakeIntuit {
    FakeIntuit::start("127.0.0.1:0", config, Dataset::generate(5, customers, employees)).unwrap()
}

/// The query parameters of a redirect's Location.
fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    actix_web::web::Query::<HashMap<String, String>>::from_query(query).unwrap().into_inner()
}

use std::collections::HashMap;

fn authorize_url(fake: &FakeIntuit, state: &str) -> String {
    format!(
        "{}?client_id={}&response_type=code&scope={}&redirect_uri={}&state={state}",
        fake.auth_url(),
        percent_encode(&fake.config().client_id),
        percent_encode("com.intuit.quickbooks.accounting openid"),
        percent_encode(REDIRECT),
    )
}

fn basic(fake: &FakeIntuit) -> String {
    use base64::Engine;
    let pair = format!("{}:{}", fake.config().client_id, fake.config().client_secret);
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

fn token_request(fake: &FakeIntuit, auth: &str, form: &[(&str, &str)]) -> Answer {
    answer(agent().post(&fake.token_url()).set("Authorization", auth).set("Accept", "application/json").send_form(form))
}

struct Tokens {
    access: String,
    refresh: String,
}

fn tokens_of(a: &Answer) -> Tokens {
    assert_eq!(a.status, 200, "{}", a.body);
    let body = a.json();
    Tokens {
        access: body["access_token"].as_str().unwrap().into(),
        refresh: body["refresh_token"].as_str().unwrap().into(),
    }
}

/// Consent (auto), then the code exchange.
fn connect(fake: &FakeIntuit) -> Tokens {
    let consent = answer(agent().get(&authorize_url(fake, "s1")).call());
    let code = query_of(consent.location.as_deref().unwrap())["code"].clone();
    let a = token_request(
        fake,
        &basic(fake),
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    );
    tokens_of(&a)
}

fn refresh(fake: &FakeIntuit, refresh_token: &str) -> Answer {
    token_request(fake, &basic(fake), &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
}

fn api_get(fake: &FakeIntuit, token: &str, path_and_query: &str) -> Answer {
    let url = format!("{}/v3/company/{}/{path_and_query}", fake.api_url(), fake.realm_id());
    answer(agent().get(&url).set("Authorization", &format!("Bearer {token}")).set("Accept", "application/json").call())
}

fn query(fake: &FakeIntuit, token: &str, statement: &str) -> Answer {
    api_get(fake, token, &format!("query?query={}&minorversion=75", percent_encode(statement)))
}

#[test]
fn the_consent_redirect_carries_code_state_and_realm_and_a_code_works_once() {
    let fake = start(FakeIntuitConfig::default(), 10, 2);
    let consent = answer(agent().get(&authorize_url(&fake, "st%20ate")).call());
    assert_eq!(consent.status, 302);
    assert!(consent.tid.is_some(), "intuit_tid on every answer");
    let location = consent.location.unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?code=")), "{location}");
    let params = query_of(&location);
    assert_eq!(params["state"], "st ate");
    assert_eq!(params["realmId"], fake.realm_id());

    let exchange =
        [("grant_type", "authorization_code"), ("code", params["code"].as_str()), ("redirect_uri", REDIRECT)];
    let wrong_secret = {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:nope", fake.config().client_id))
        )
    };
    let refused = token_request(&fake, &wrong_secret, &exchange);
    assert_eq!((refused.status, refused.json()["error"].as_str()), (401, Some("invalid_client")));

    let first = token_request(&fake, &basic(&fake), &exchange);
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.tid.is_some());
    let body = first.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["x_refresh_token_expires_in"], 8_726_400);
    assert!(body["access_token"].as_str().unwrap().len() > 40 && body["refresh_token"].is_string());

    let again = token_request(&fake, &basic(&fake), &exchange);
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    assert!(again.json()["error_description"].is_string());
    assert_eq!(fake.stats().code_exchanges, 1);

    // A code only works with the redirect_uri it was issued for.
    let other = query_of(&answer(agent().get(&authorize_url(&fake, "x")).call()).location.unwrap())["code"].clone();
    let mismatch = token_request(
        &fake,
        &basic(&fake),
        &[("grant_type", "authorization_code"), ("code", &other), ("redirect_uri", "http://127.0.0.1:9/other")],
    );
    assert_eq!((mismatch.status, mismatch.json()["error"].as_str()), (400, Some("invalid_grant")));
}

#[test]
fn bad_authorization_requests_are_refused_like_intuit() {
    let fake = start(FakeIntuitConfig::default(), 5, 1);
    let url = authorize_url(&fake, "s");
    let wrong_client = answer(agent().get(&url.replace(&fake.config().client_id, "someone-else")).call());
    assert_eq!(wrong_client.status, 400, "no redirect for an unknown client");
    assert!(wrong_client.location.is_none());
    let no_scope = answer(agent().get(&url.replace("com.intuit.quickbooks.accounting", "openid")).call());
    assert_eq!(query_of(&no_scope.location.unwrap())["error"], "invalid_scope");
    let token_flow = answer(agent().get(&url.replace("response_type=code", "response_type=token")).call());
    assert_eq!(query_of(&token_flow.location.unwrap())["error"], "unsupported_response_type");
    let json_body = answer(
        agent()
            .post(&fake.token_url())
            .set("Authorization", &basic(&fake))
            .send_json(json!({"grant_type": "refresh_token"})),
    );
    assert_eq!((json_body.status, json_body.json()["error"].as_str()), (400, Some("invalid_request")));
    let grant = token_request(&fake, &basic(&fake), &[("grant_type", "password")]);
    assert_eq!(grant.json()["error"], "unsupported_grant_type");
}

#[test]
fn the_consent_page_connects_or_declines() {
    let fake = start(FakeIntuitConfig { auto_consent: false, ..FakeIntuitConfig::default() }, 5, 1);
    let page = answer(agent().get(&authorize_url(&fake, "abc")).call());
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Connect") && page.body.contains("Cancel"));
    let form = |decision: &str| {
        answer(agent().post(&format!("{}/connect/oauth2/consent", fake.base_url())).send_form(&[
            ("client_id", fake.config().client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "abc"),
            ("scope", "com.intuit.quickbooks.accounting"),
            ("decision", decision),
        ]))
    };
    let declined = form("cancel");
    assert_eq!(declined.status, 302);
    let params = query_of(&declined.location.unwrap());
    assert_eq!((params["error"].as_str(), params["state"].as_str()), ("access_denied", "abc"));
    assert!(!params.contains_key("code"));
    let accepted = query_of(&form("connect").location.unwrap());
    assert_eq!(accepted["state"], "abc");
    assert!(accepted.contains_key("code") && accepted.contains_key("realmId"));
}

#[test]
fn refresh_rotates_and_the_previous_refresh_token_answers_invalid_grant() {
    let fake = start(FakeIntuitConfig::default(), 5, 1);
    let first = connect(&fake);
    let second = tokens_of(&refresh(&fake, &first.refresh));
    assert_ne!(second.refresh, first.refresh);
    let old = refresh(&fake, &first.refresh);
    assert_eq!((old.status, old.json()["error"].as_str()), (400, Some("invalid_grant")));
    // The previous access token still works until it expires; the new one too.
    assert_eq!(query(&fake, &first.access, "SELECT count(*) FROM Customer").status, 200);
    assert_eq!(query(&fake, &second.access, "SELECT count(*) FROM Customer").status, 200);
    let third = tokens_of(&refresh(&fake, &second.refresh));
    assert_ne!(third.refresh, second.refresh);
    let stats = fake.stats();
    assert_eq!((stats.refreshes, stats.failed_refreshes), (2, 1));
}

#[test]
fn an_expired_access_token_gets_the_gateway_401_and_a_refresh_recovers() {
    let fake = start(FakeIntuitConfig::default(), 5, 1);
    let tokens = connect(&fake);
    fake.expire_access_tokens();
    let expired = query(&fake, &tokens.access, "SELECT * FROM Customer");
    assert_eq!(expired.status, 401);
    let body = expired.json();
    assert_eq!(body["fault"]["error"][0]["code"], "3200");
    assert_eq!(body["fault"]["error"][0]["message"], "message=AuthenticationFailed; errorCode=003200; statusCode=401");
    assert_eq!(body["fault"]["type"], "AUTHENTICATION");
    assert!(body["time"].is_i64() && body["cdcresponse"] == json!([]) && body["intuitObject"].is_null());
    assert!(expired.www_authenticate.unwrap().starts_with("Bearer"));
    assert!(expired.tid.is_some());

    let fresh = tokens_of(&refresh(&fake, &tokens.refresh));
    assert_eq!(query(&fake, &fresh.access, "SELECT * FROM Customer").status, 200);
    // The clock also expires tokens: an hour later the fresh one is refused too.
    fake.advance_clock(Duration::from_secs(3601));
    assert_eq!(query(&fake, &fresh.access, "SELECT * FROM Customer").status, 401);

    let fresh = tokens_of(&refresh(&fake, &fresh.refresh));
    let unauthenticated = answer(
        agent()
            .get(&format!("{}/v3/company/{}/companyinfo/{}", fake.api_url(), fake.realm_id(), fake.realm_id()))
            .call(),
    );
    assert_eq!(unauthenticated.status, 401);
    let other_realm = answer(
        agent()
            .get(&format!("{}/v3/company/123145/query?query=SELECT%20*%20FROM%20Customer", fake.api_url()))
            .set("Authorization", &format!("Bearer {}", fresh.access))
            .call(),
    );
    assert_eq!(other_realm.status, 403);
    let body = other_realm.json();
    assert_eq!(
        (body["fault"]["error"][0]["code"].as_str(), body["fault"]["type"].as_str()),
        (Some("3100"), Some("SERVICE"))
    );
}

#[test]
fn a_disconnected_app_gets_invalid_grant_and_401() {
    let fake = start(FakeIntuitConfig::default(), 5, 1);
    let tokens = connect(&fake);
    fake.revoke_grant();
    let refused = refresh(&fake, &tokens.refresh);
    assert_eq!((refused.status, refused.json()["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(query(&fake, &tokens.access, "SELECT * FROM Customer").status, 401);
    assert_eq!(fake.stats().failed_refreshes, 1);

    // The client's own Disconnect: the revoke endpoint, with a JSON body.
    let again = connect(&fake);
    let revoked = answer(
        agent()
            .post(&fake.revoke_url())
            .set("Authorization", &basic(&fake))
            .set("Accept", "application/json")
            .send_json(json!({"token": again.refresh})),
    );
    assert_eq!(revoked.status, 200);
    assert_eq!(refresh(&fake, &again.refresh).json()["error"], "invalid_grant");
    assert_eq!(query(&fake, &again.access, "SELECT * FROM Customer").status, 401);
    let unauthenticated = answer(agent().post(&fake.revoke_url()).send_form(&[("token", "x")]));
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(fake.stats().revocations, 1);
}

#[test]
fn throttle_next_and_fail_next_answer_429_then_500_then_recover() {
    let fake = start(FakeIntuitConfig::default(), 5, 1);
    let tokens = connect(&fake);
    fake.throttle_next(2);
    fake.fail_next(1);
    let statement = "SELECT * FROM Customer";
    let first = query(&fake, &tokens.access, statement);
    assert_eq!(first.status, 429);
    assert_eq!(first.json()["Fault"]["Error"][0]["code"], "3001");
    assert_eq!(query(&fake, &tokens.access, statement).status, 429);
    let failed = query(&fake, &tokens.access, statement);
    assert_eq!(failed.status, 500);
    let body = failed.json();
    assert_eq!(body["Fault"]["type"], "SystemFault");
    assert!(body["time"].is_string());
    assert_eq!(query(&fake, &tokens.access, statement).status, 200);
    let stats = fake.stats();
    assert_eq!((stats.throttled, stats.failed, stats.api_requests), (2, 1, 4));
}

#[test]
fn paging_2500_customers_in_1000_row_pages_ends_on_a_short_page() {
    let fake = start(FakeIntuitConfig::default(), 2500, 40);
    let tokens = connect(&fake);
    let mut pulled: Vec<Value> = Vec::new();
    let mut sizes = Vec::new();
    let mut start_position = 1;
    loop {
        let statement = format!(
            "SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id STARTPOSITION {start_position} MAXRESULTS 1000"
        );
        let page = query(&fake, &tokens.access, &statement);
        assert_eq!(page.status, 200, "{}", page.body);
        let body = page.json();
        assert!(body["time"].as_str().unwrap().len() == 29, "time with milliseconds and offset");
        let rows = body["QueryResponse"]["Customer"].as_array().cloned().unwrap_or_default();
        if !rows.is_empty() {
            assert_eq!(body["QueryResponse"]["startPosition"], start_position);
            assert_eq!(body["QueryResponse"]["maxResults"], rows.len());
        }
        sizes.push(rows.len());
        start_position += rows.len();
        pulled.extend(rows.iter().cloned());
        if rows.len() < 1000 {
            break;
        }
    }
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(pulled, fake.customers(), "the pages are exactly the company, field by field");
    assert!(pulled.iter().any(|c| c["Level"] == 2) && pulled.iter().any(|c| c["Active"] == false));
    assert!(pulled.iter().any(|c| !c["DisplayName"].as_str().unwrap().is_ascii()));

    let past_end = query(&fake, &tokens.access, "SELECT * FROM Customer STARTPOSITION 2501 MAXRESULTS 1000").json();
    assert_eq!(past_end["QueryResponse"], json!({}));
    let count = query(&fake, &tokens.access, "SELECT count(*) FROM Customer WHERE Active IN (true,false)").json();
    assert_eq!(count["QueryResponse"], json!({"totalCount": 2500}));

    // The statement may also be POSTed as application/text.
    let url = format!("{}/v3/company/{}/query?minorversion=75", fake.api_url(), fake.realm_id());
    let posted = answer(
        agent()
            .post(&url)
            .set("Authorization", &format!("Bearer {}", tokens.access))
            .set("Accept", "application/json")
            .set("Content-Type", "application/text")
            .send_string("SELECT * FROM Employee WHERE Active IN (true,false) ORDERBY Id MAXRESULTS 1000"),
    );
    assert_eq!(posted.json()["QueryResponse"]["Employee"], json!(fake.employees()));
    assert_eq!(fake.employees().len(), 40);

    let bad = query(&fake, &tokens.access, "SELECT * FROM Customer WHERE DisplayName LIKE 'A%'");
    assert_eq!(bad.status, 400);
    let fault = bad.json();
    assert_eq!(fault["Fault"]["Error"][0]["code"], "4000");
    assert_eq!(fault["Fault"]["type"], "ValidationFault");
    assert!(fault["Fault"]["Error"][0]["Detail"].as_str().unwrap().starts_with("QueryParserError"));
}

#[test]
fn cdc_reports_changes_and_deletions_keyed_by_entity_within_intuits_limits() {
    let fake = start(FakeIntuitConfig { cdc_max_objects: 4, ..FakeIntuitConfig::default() }, 60, 5);
    let tokens = connect(&fake);
    let since = clock::format_time(fake.state().now_ms() - 1000);
    let cdc = |since: &str| {
        api_get(
            &fake,
            &tokens.access,
            &format!("cdc?entities=Customer,Employee&changedSince={}", percent_encode(since)),
        )
    };
    let quiet = cdc(&since).json();
    assert_eq!(quiet["CDCResponse"][0]["QueryResponse"], json!([{}, {}]), "no changes yet: one empty element each");

    let customer =
        fake.customers().iter().find(|c| c.get("ParentRef").is_none()).unwrap()["Id"].as_str().unwrap().to_string();
    let added = fake.add_customer("Zürich Lofts", None);
    let employee = fake.employees()[0]["Id"].as_str().unwrap().to_string();
    fake.delete_employee(&employee);
    fake.delete_customer(&added);
    let answer = cdc(&since);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    let responses = body["CDCResponse"][0]["QueryResponse"].as_array().unwrap();
    assert_eq!(responses.len(), 2);
    assert!(responses[0].get("Employee").is_some(), "elements are keyed, not in request order: {responses:?}");
    let customers = responses[1]["Customer"].as_array().unwrap();
    assert_eq!(customers.len(), 1, "the added customer was deleted since: only its stub");
    assert_eq!(customers[0]["Id"], added.as_str());
    assert_eq!(customers[0]["status"], "Deleted");
    assert_eq!(customers[0]["domain"], "QBO");
    assert!(customers[0]["MetaData"]["LastUpdatedTime"].is_string() && customers[0].get("DisplayName").is_none());
    assert_eq!(responses[0]["Employee"][0]["status"], "Deleted");
    assert_eq!(responses[1]["maxResults"], 1);

    fake.rename_customer(&customer, "Renamed Customer");
    let renamed = cdc(&since).json();
    let row = renamed["CDCResponse"][0]["QueryResponse"][1]["Customer"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Id"] == customer.as_str())
        .cloned()
        .unwrap();
    assert_eq!(row["DisplayName"], "Renamed Customer", "CDC returns whole records");
    assert_eq!(row, fake.customers().into_iter().find(|c| c["Id"] == customer.as_str()).unwrap());

    // At most cdc_max_objects in one answer.
    for i in 0..4 {
        fake.add_employee(&format!("New Hire {i}"));
    }
    let capped = cdc(&since).json();
    let total: usize = capped["CDCResponse"][0]["QueryResponse"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().values().filter_map(Value::as_array).map(Vec::len).sum::<usize>())
        .sum();
    assert_eq!(total, 4);

    // Intuit looks back 30 days at most.
    let old = cdc(&clock::format_time(fake.state().now_ms() - 31 * 86_400_000));
    assert_eq!(old.status, 400);
    assert!(old.json()["Fault"]["Error"][0]["Detail"].as_str().unwrap().contains("older than"));
    assert_eq!(fake.stats().cdc_requests, 5);
}

#[test]
fn the_concurrency_and_minute_limits_answer_429() {
    let config = FakeIntuitConfig {
        concurrency_limit: 2,
        api_latency: Duration::from_millis(1500),
        ..FakeIntuitConfig::default()
    };
    let fake = start(config, 5, 1);
    let tokens = connect(&fake);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..5).map(|_| s.spawn(|| query(&fake, &tokens.access, "SELECT * FROM Customer").status)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let throttled = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(ok + throttled, 5, "{statuses:?}");
    assert!((1..=2).contains(&ok) && throttled >= 3, "{statuses:?}");
    assert!(fake.stats().max_in_flight >= 3);

    let fake = start(FakeIntuitConfig { minute_limit: 3, ..FakeIntuitConfig::default() }, 5, 1);
    let tokens = connect(&fake);
    let statuses: Vec<u16> = (0..4).map(|_| query(&fake, &tokens.access, "SELECT * FROM Customer").status).collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    fake.advance_clock(Duration::from_secs(61));
    assert_eq!(query(&fake, &tokens.access, "SELECT * FROM Customer").status, 200, "a minute later");
}

#[test]
fn reads_by_id_and_company_info() {
    let fake = start(FakeIntuitConfig { company_name: "Sparkle Test Co".into(), ..FakeIntuitConfig::default() }, 20, 3);
    let tokens = connect(&fake);
    let info = api_get(&fake, &tokens.access, &format!("companyinfo/{}?minorversion=75", fake.realm_id())).json();
    assert_eq!(info["CompanyInfo"]["CompanyName"], "Sparkle Test Co");
    assert_eq!(info["CompanyInfo"]["Id"], "1");
    assert!(info["time"].is_string());
    let first = fake.customers()[0].clone();
    let read = api_get(&fake, &tokens.access, &format!("customer/{}", first["Id"].as_str().unwrap())).json();
    assert_eq!(read["Customer"], first);
    let employee = fake.employees()[0].clone();
    let read = api_get(&fake, &tokens.access, &format!("employee/{}", employee["Id"].as_str().unwrap())).json();
    assert_eq!(read["Employee"], employee);
    let missing = api_get(&fake, &tokens.access, "customer/999999");
    assert_eq!((missing.status, missing.json()["Fault"]["Error"][0]["code"].as_str()), (400, Some("610")));
}

/// Accepts one HTTP request on a loopback port; gives back its headers (lower-cased) and body.
/// A received request: its headers (lower-cased names) and body.
type Received = (HashMap<String, String>, Vec<u8>);

fn one_request_server() -> (String, std::sync::mpsc::Receiver<Received>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/qbo/webhooks", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut headers = HashMap::new();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let Some((k, v)) = line.trim_end().split_once(':') else { break };
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        (&stream).write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
        tx.send((headers, body)).unwrap();
    });
    (url, rx)
}

#[test]
fn control_surface_changes_are_posted_as_signed_webhooks() {
    let (url, received) = one_request_server();
    let fake = start(FakeIntuitConfig { webhook_url: Some(url), ..FakeIntuitConfig::default() }, 10, 2);
    let added = answer(
        agent().post(&format!("{}/_fake/customers", fake.base_url())).send_json(json!({"display_name": "Café Zoë"})),
    );
    assert_eq!(added.status, 200, "{}", added.body);
    let id = added.json()["Id"].as_str().unwrap().to_string();
    assert!(fake.customers().iter().any(|c| c["Id"] == id.as_str() && c["DisplayName"] == "Café Zoë"));

    let (headers, body) = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(headers["content-type"], "application/cloudevents+json");
    assert_eq!(headers["intuit-signature"], fake.sign(&body));
    assert_eq!(headers["intuit-signature"], webhook::sign(fake.config().webhook_token.as_deref().unwrap(), &body));
    let events: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(events[0]["type"], "qbo.customer.created.v1");
    assert_eq!(events[0]["intuitentityid"], id.as_str());
    assert_eq!(events[0]["intuitaccountid"], fake.realm_id());

    let duplicate = answer(
        agent().post(&format!("{}/_fake/customers", fake.base_url())).send_json(json!({"display_name": "café zoë"})),
    );
    assert_eq!((duplicate.status, duplicate.json()["error"]["code"].as_str()), (400, Some("6240")));
    let renamed = answer(
        agent()
            .post(&format!("{}/_fake/customers/{id}/rename", fake.base_url()))
            .send_json(json!({"display_name": "Café Lumière 2"})),
    );
    assert_eq!(renamed.json()["changed"], json!([id]));
    let unknown =
        answer(agent().post(&format!("{}/_fake/customers/999999/delete", fake.base_url())).send_json(json!({})));
    assert_eq!(unknown.status, 404);
    let page = answer(agent().get(&format!("{}/_fake", fake.base_url())).call());
    assert!(page.status == 200 && page.body.contains("Café Lumière 2"));
    // A form post from the page comes back to the page.
    let form = answer(agent().post(&format!("{}/_fake/throttle", fake.base_url())).send_form(&[("n", "1")]));
    assert_eq!(form.status, 303);

    let legacy = fake.webhook_legacy(&[WebhookChange::new("Employee", "3", "Update")]);
    let legacy: Value = serde_json::from_slice(&legacy).unwrap();
    assert_eq!(legacy["eventNotifications"][0]["realmId"], fake.realm_id());
    assert_eq!(legacy["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["operation"], "Update");
}

#[test]
fn stop_ends_serving_and_a_clone_keeps_it_alive() {
    let fake = start(FakeIntuitConfig::default(), 3, 1);
    let url = format!("{}/_fake/stats", fake.base_url());
    let clone = fake.clone();
    drop(fake);
    assert_eq!(answer(agent().get(&url).call()).status, 200, "a clone keeps it running");
    clone.stop();
    assert!(agent().get(&url).call().is_err(), "stopped");
}

#[tokio::test]
async fn it_starts_and_stops_inside_a_tokio_test() {
    let fake = start(FakeIntuitConfig::default(), 3, 1);
    let url = fake.auth_url();
    let status = tokio::task::spawn_blocking(move || answer(agent().get(&url).call()).status).await.unwrap();
    assert_eq!(status, 400, "an authorization request without parameters gets the error page");
    drop(fake);
}

#[test]
fn without_accept_json_the_api_answers_xml() {
    let fake = start(FakeIntuitConfig::default(), 12, 2);
    let tokens = connect(&fake);
    let url = format!(
        "{}/v3/company/{}/query?query={}",
        fake.api_url(),
        fake.realm_id(),
        percent_encode("SELECT * FROM Customer")
    );
    let response = agent().get(&url).set("Authorization", &format!("Bearer {}", tokens.access)).call().unwrap();
    assert_eq!(response.content_type(), "application/xml");
    let body = response.into_string().unwrap();
    assert!(
        body.starts_with("<?xml")
            && body.contains("<IntuitResponse xmlns=\"http://schema.intuit.com/finance/v3\" time=")
    );
    assert!(body.contains("<QueryResponse") && body.contains("<Customer domain=\"QBO\" sparse=\"false\">"), "{body}");
    // The gateway's errors stay JSON.
    fake.expire_access_tokens();
    let expired = answer(agent().get(&url).set("Authorization", &format!("Bearer {}", tokens.access)).call());
    assert_eq!(expired.json()["fault"]["error"][0]["code"], "3200");
}

#[test]
fn a_fake_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<FakeIntuit>();
}

//! One pull from QuickBooks Online, recorded as a run like a Web Connector run.
//!
//! For each list asked for: when its last complete read is recent enough for Intuit's Change
//! Data Capture (30 days), only what changed since (`cdc`); else, or when the changes fill a
//! whole answer (Intuit stops at 1,000 objects), the whole list page by page
//! (`SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id STARTPOSITION n MAXRESULTS
//! 1000` until a short page), each page staged in its own short transaction exactly as a Web
//! Connector response is, and records missing from the complete list marked deleted. Memory
//! holds one page at a time.
//!
//! Requests wait their turn under Intuit's limits; 401 refreshes the token once and tries once
//! more; 429 and server errors are tried again after growing waits (honouring `Retry-After`),
//! then the run fails with an event that says what Intuit answered and its `intuit_tid`. While
//! waiting, the run keeps showing signs of life; a pull whose process died goes stale and is
//! ended as failed by the next pull or any process's worker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use super::json::{self, Entity};
use super::tokens::TokenError;
use super::transport::Answer;
use super::{Online, api_request};
use crate::store::catalog::Connection;
use crate::store::runs::{self, Change, EventLevel, Outcome, Run, RunMode, RunState, Step};
use crate::store::staging::{self, List, StageContext};
use crate::store::{StoreError, now, online};

/// Which lists a pull reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lists {
    pub customers: bool,
    pub employees: bool,
}

/// Intuit's Change Data Capture looks back 30 days at most; keep a margin.
const CDC_WINDOW: chrono::Duration = chrono::Duration::days(30);
const CDC_MARGIN: chrono::Duration = chrono::Duration::hours(1);
/// Records CDC reports deleted are read again (Intuit has reported updated records as deleted),
/// up to this many per pull; beyond, CDC is believed.
const MAX_REREADS: usize = 100;

/// Why a pull stopped: what to show on the run and its event.
#[derive(Debug)]
struct Failure {
    message: String,
    code: Option<String>,
    explanation: Option<String>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: None, explanation: None }
    }

    fn from_answer(what: &str, answer: &Answer) -> Failure {
        let fault = json::fault(&answer.body).unwrap_or_default();
        let mut message = format!("{what}: QuickBooks Online answered HTTP {}", answer.status);
        if let Some(text) = fault.message.as_deref().or(fault.detail.as_deref()) {
            message.push_str(&format!(": {text}"));
        }
        if let Some(tid) = &answer.intuit_tid {
            message.push_str(&format!(" (intuit_tid {tid})"));
        }
        let explanation = json::explain(answer.status, fault.code.as_deref()).map(str::to_string);
        Failure { message, code: fault.code.or_else(|| Some(answer.status.to_string())), explanation }
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Failure {
        Failure::new(format!("the database failed: {err}"))
    }
}

impl From<TokenError> for Failure {
    fn from(err: TokenError) -> Failure {
        let explanation = match err {
            TokenError::NeedsReconnect(_) => Some(
                "Intuit no longer accepts this connection's authorization (the app was disconnected in QuickBooks, or \
                 the refresh token expired). Press Reconnect on the connection."
                    .to_string(),
            ),
            _ => None,
        };
        Failure { message: err.to_string(), code: None, explanation }
    }
}

impl From<json::ShapeError> for Failure {
    fn from(err: json::ShapeError) -> Failure {
        Failure::new(err.to_string())
    }
}

/// The state of one pull while it runs.
struct Pull<'a> {
    online: &'a Online,
    conn: Connection,
    realm_id: String,
    run: Run,
    lists: Lists,
    /// Requests answered 429 or 5xx and tried again with success.
    retried: u32,
    notes: Vec<String>,
    /// What the run could not do as planned but worked around (each a warning event).
    warnings: Vec<String>,
}

impl Online {
    /// Runs a pull to its end and records how it went.
    pub(super) async fn execute(&self, run: Run, conn: Connection, lists: Lists) {
        let span = tracing::info_span!("pull", run = %run.run_id, connection = %conn.connection_id);
        async move {
            let realm_id = conn.realm_id.clone().unwrap_or_default();
            let mut pull = Pull { online: self, conn, realm_id, run, lists, retried: 0, notes: Vec::new(), warnings: Vec::new() };
            let result = pull.work().await;
            if let Err(err) = pull.finish(result).await {
                tracing::error!(error = %err, "recording the end of a pull failed; it will be ended when it goes stale");
            }
        }
        .instrument(span)
        .await
    }
}

impl Pull<'_> {
    fn db(&self) -> &crate::store::Db {
        &self.online.inner.db
    }

    fn context(&self) -> StageContext {
        StageContext {
            connection_id: self.conn.connection_id,
            organization_id: self.conn.organization_id,
            run_id: self.run.run_id,
            at: now(),
        }
    }

    async fn work(&mut self) -> Result<(), Failure> {
        if self.realm_id.is_empty() {
            return Err(Failure::new("the connection has no QuickBooks Online company yet: connect it"));
        }
        // Whatever a pull that died saw of the lists is of no use.
        staging::forget_seen(self.db(), self.conn.connection_id, self.run.run_id).await?;
        let shares = u32::from(self.lists.customers) + u32::from(self.lists.employees);
        self.run.mode = RunMode::Incremental;
        let mut done = 0;
        for (wanted, list) in [(self.lists.customers, List::Customers), (self.lists.employees, List::Employees)] {
            if !wanted {
                continue;
            }
            let span = (done * 100 / shares, (done + 1) * 100 / shares);
            self.run.step = match list {
                List::Customers => Step::Customers,
                List::Employees => Step::Employees,
            };
            self.pull_list(list, span).await?;
            done += 1;
        }
        Ok(())
    }

    /// Reads one list: by Change Data Capture when its last complete read is recent enough,
    /// else whole.
    async fn pull_list(&mut self, list: List, percent: (u32, u32)) -> Result<(), Failure> {
        let since = match list {
            List::Customers => self.conn.customers_changed_since.clone(),
            List::Employees => self.conn.employees_changed_since.clone(),
        };
        let recent = since
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .is_some_and(|at| Utc::now().signed_duration_since(at.with_timezone(&Utc)) < CDC_WINDOW - CDC_MARGIN);
        if let (true, Some(since)) = (recent, since)
            && self.catch_up(list, &since).await?
        {
            self.set_percent(percent.1).await?;
            return Ok(());
        }
        // A run is incremental only while every list it read was read by its changes.
        self.run.mode = RunMode::Full;
        self.read_whole(list, percent).await
    }

    /// Change Data Capture since `since`. False (nothing staged) when the answer was cut short.
    async fn catch_up(&mut self, list: List, since: &str) -> Result<bool, Failure> {
        let entity = entity(list);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("entities", entity.name())
            .append_pair("changedSince", since)
            .finish();
        let answer = self.get(&format!("cdc?{query}"), false).await?;
        let mut cdc = json::cdc(&answer.body)?;
        if cdc.objects() >= self.online.inner.settings.cdc_max_objects {
            let note = format!(
                "more than {} {} changed since {since}: the whole list was read instead of the changes",
                self.online.inner.settings.cdc_max_objects,
                list.name()
            );
            self.notes.push(note.clone());
            self.warnings.push(note);
            return Ok(false);
        }
        let next_since = cdc.time.clone().unwrap_or_else(|| fallback_since(self.run.started_at));
        let (changed, deleted) = match list {
            List::Customers => (cdc.customers.changed.len(), std::mem::take(&mut cdc.customers.deleted)),
            List::Employees => (cdc.employees.changed.len(), std::mem::take(&mut cdc.employees.deleted)),
        };
        // Intuit has reported updated records as deleted: read each again before believing it.
        // A deletion keeps Intuit's time for it.
        let mut gone: Vec<(String, Option<DateTime<Utc>>)> = Vec::new();
        let mut still_there_customers = Vec::new();
        let mut still_there_employees = Vec::new();
        for (position, (id, at)) in deleted.into_iter().enumerate() {
            let at = at.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc));
            if position >= MAX_REREADS {
                gone.push((id, at));
                continue;
            }
            let answer = self.get(&format!("{}/{id}", entity.name().to_ascii_lowercase()), true).await?;
            let found = answer.is_success();
            match (list, found) {
                (List::Customers, true) => match json::single_customer(&answer.body)? {
                    Some(customer) => still_there_customers.push(customer),
                    None => gone.push((id, at)),
                },
                (List::Employees, true) => match json::single_employee(&answer.body)? {
                    Some(employee) => still_there_employees.push(employee),
                    None => gone.push((id, at)),
                },
                (_, false) => gone.push((id, at)),
            }
        }
        let ctx = self.context();
        let mut tx = self.db().begin().await?;
        let result: Result<u64, StoreError> = async {
            let records = match list {
                List::Customers => {
                    let mut records = cdc.customers.changed;
                    records.extend(still_there_customers);
                    StageList::Customers(records)
                }
                List::Employees => {
                    let mut records = cdc.employees.changed;
                    records.extend(still_there_employees);
                    StageList::Employees(records)
                }
            };
            stage_in(&mut tx, &ctx, records).await?;
            let marked = staging::mark_deleted(&mut tx, &ctx, list, &gone).await?;
            let count = marked.len() as u64;
            let changes: Vec<_> = marked.into_iter().map(|(id, name)| (Change::Deleted, id, name)).collect();
            runs::add_changes(&mut tx, ctx.run_id, list.name(), &changes).await?;
            // Everything changed since the last complete read is staged: the list is complete.
            staging::complete_list(&mut tx, &ctx, list, None).await?;
            online::set_changed_since(&mut tx, ctx.connection_id, list, &next_since).await?;
            Ok(count)
        }
        .await;
        let marked = match result {
            Ok(marked) => marked,
            Err(err) => {
                tx.rollback().await.ok();
                return Err(err.into());
            }
        };
        let marked = i64::try_from(marked).unwrap_or(i64::MAX);
        match list {
            List::Customers => {
                self.run.customers_staged += changed as i64;
                self.run.customers_deleted += marked;
            }
            List::Employees => {
                self.run.employees_staged += changed as i64;
                self.run.employees_deleted += marked;
            }
        }
        self.run.last_call_at = now();
        save_in(&mut tx, &mut self.run).await?;
        tx.commit().await?;
        self.notes.push(format!("{}: {changed} changed, {marked} deleted since the last pull", list.name()));
        Ok(true)
    }

    /// The whole list, page by page, then the deletion sweep.
    async fn read_whole(&mut self, list: List, percent: (u32, u32)) -> Result<(), Failure> {
        let entity = entity(list);
        let page_size = self.online.inner.settings.page_size.clamp(1, 1000);
        let count_answer = self.get(&format!("query?query={}", encode(&json::count_query(entity))), false).await?;
        let total = json::count(&count_answer.body)?;
        let mut since: Option<String> = None;
        let mut start = 1;
        let mut read: u64 = 0;
        loop {
            let statement = json::page_query(entity, start, page_size);
            let answer = self.get(&format!("query?query={}", encode(&statement)), false).await?;
            let ctx = self.context();
            let (rows, time) = match list {
                List::Customers => {
                    let page = json::customer_page(&answer.body)?;
                    let rows = page.records.len();
                    let mut tx = self.db().begin().await?;
                    let staged = stage_in(&mut tx, &ctx, StageList::Customers(page.records)).await;
                    self.commit_page(tx, staged, list, rows).await?;
                    (rows, page.time)
                }
                List::Employees => {
                    let page = json::employee_page(&answer.body)?;
                    let rows = page.records.len();
                    let mut tx = self.db().begin().await?;
                    let staged = stage_in(&mut tx, &ctx, StageList::Employees(page.records)).await;
                    self.commit_page(tx, staged, list, rows).await?;
                    (rows, page.time)
                }
            };
            // Changes made after the first page was read are caught by the next pull.
            if since.is_none() {
                since = Some(time.unwrap_or_else(|| fallback_since(self.run.started_at)));
            }
            read += rows as u64;
            let within = if total == 0 { 1.0 } else { (read as f64 / total as f64).min(1.0) };
            let value = percent.0 + ((percent.1 - percent.0) as f64 * within * 0.99) as u32;
            self.set_percent(value).await?;
            if (rows as u64) < page_size {
                break;
            }
            start += page_size;
        }
        let ctx = self.context();
        let mut tx = self.db().begin().await?;
        let swept: Result<u64, StoreError> = async {
            let gone = staging::mark_missing_deleted(&mut tx, &ctx, list).await?;
            let count = gone.len() as u64;
            let changes: Vec<_> = gone.into_iter().map(|(id, name)| (Change::Deleted, id, name)).collect();
            runs::add_changes(&mut tx, ctx.run_id, list.name(), &changes).await?;
            staging::complete_list(&mut tx, &ctx, list, None).await?;
            if let Some(since) = &since {
                online::set_changed_since(&mut tx, ctx.connection_id, list, since).await?;
            }
            Ok(count)
        }
        .await;
        let marked = match swept {
            Ok(marked) => i64::try_from(marked).unwrap_or(i64::MAX),
            Err(err) => {
                tx.rollback().await.ok();
                return Err(err.into());
            }
        };
        match list {
            List::Customers => self.run.customers_deleted += marked,
            List::Employees => self.run.employees_deleted += marked,
        }
        self.run.percent = i64::from(percent.1);
        self.run.last_call_at = now();
        save_in(&mut tx, &mut self.run).await?;
        tx.commit().await?;
        self.notes.push(format!("{}: the whole list read ({read})", list.name()));
        Ok(())
    }

    async fn commit_page(
        &mut self,
        mut tx: crate::store::Tx,
        staged: Result<(), StoreError>,
        list: List,
        rows: usize,
    ) -> Result<(), Failure> {
        if let Err(err) = staged {
            tx.rollback().await.ok();
            return Err(err.into());
        }
        match list {
            List::Customers => self.run.customers_staged += rows as i64,
            List::Employees => self.run.employees_staged += rows as i64,
        }
        self.run.last_call_at = now();
        save_in(&mut tx, &mut self.run).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_percent(&mut self, percent: u32) -> Result<(), Failure> {
        self.run.percent = self.run.percent.max(i64::from(percent.min(100)));
        self.heartbeat().await
    }

    /// Saves the run (its `last_call_at` is the sign of life). Fails when another process ended
    /// the run meanwhile (it had gone stale).
    async fn heartbeat(&mut self) -> Result<(), Failure> {
        self.run.last_call_at = now();
        if runs::save_run_alone(&self.online.inner.db, &mut self.run).await? {
            Ok(())
        } else {
            Err(Failure::new("the run was ended by another process while it ran"))
        }
    }

    /// Waits, showing signs of life.
    async fn pause(&mut self, wait: Duration) -> Result<(), Failure> {
        let step = (self.online.inner.stale_run / 3).max(Duration::from_millis(100));
        let mut left = wait;
        while !left.is_zero() {
            let now_wait = left.min(step);
            tokio::time::sleep(now_wait).await;
            left -= now_wait;
            self.heartbeat().await?;
        }
        Ok(())
    }

    /// A GET of the Accounting API (`path` under `/v3/company/{realmId}/`), with the token,
    /// the limits and the retries. `not_found_ok`: a 4xx answer is handed back (a single read
    /// of a record that may be gone).
    async fn get(&mut self, path: &str, not_found_ok: bool) -> Result<Answer, Failure> {
        let settings = &self.online.inner.settings;
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}/v3/company/{}/{path}{separator}minorversion={}",
            settings.api_url(),
            self.realm_id,
            settings.minor_version
        );
        let attempts = settings.attempts.max(1);
        let (throttle_wait, retry_wait) = (settings.throttle_wait, settings.retry_wait);
        let what = path.split('?').next().unwrap_or(path).to_string();
        let mut rejected = None;
        let mut refreshed = false;
        let mut failures = 0;
        loop {
            let (token, version) = self.online.access_token(self.conn.connection_id, rejected.take()).await?;
            let answer = {
                let _permit = self.online.inner.limits.admit(&self.realm_id).await;
                self.run.request_count += 1;
                self.online.inner.transport.send_async(api_request(url.clone(), &token)).await
            };
            let wait = match answer {
                Err(err) => {
                    failures += 1;
                    if failures >= attempts {
                        return Err(Failure::new(format!("{what}: {err}")));
                    }
                    tracing::warn!(error = %err, "QuickBooks Online unreachable; trying again");
                    retry_wait * 2u32.saturating_pow(failures - 1)
                }
                Ok(answer) if answer.status == 401 && !refreshed => {
                    tracing::info!(intuit_tid = ?answer.intuit_tid, "401: refreshing the access token once");
                    refreshed = true;
                    rejected = Some(version);
                    continue;
                }
                Ok(answer) if answer.status == 429 || answer.status >= 500 => {
                    failures += 1;
                    if failures >= attempts {
                        let mut failure = Failure::from_answer(&what, &answer);
                        failure.message.push_str(&format!(" after {attempts} tries"));
                        return Err(failure);
                    }
                    tracing::warn!(status = answer.status, intuit_tid = ?answer.intuit_tid, "trying again");
                    let backoff = if answer.status == 429 {
                        throttle_wait
                    } else {
                        retry_wait * 2u32.saturating_pow(failures - 1)
                    };
                    answer.retry_after.map(Duration::from_secs).unwrap_or(backoff)
                }
                Ok(answer) if answer.is_success() => {
                    // Intuit may answer 200 with a Fault in the body.
                    if let Some(fault) = json::fault(&answer.body) {
                        let failed = Answer { status: 400, ..answer };
                        if not_found_ok && fault.code.as_deref() == Some("610") {
                            return Ok(failed);
                        }
                        return Err(Failure::from_answer(&what, &failed));
                    }
                    if failures > 0 {
                        self.retried += 1;
                    }
                    return Ok(answer);
                }
                Ok(answer) if not_found_ok && (400..500).contains(&answer.status) && answer.status != 401 => {
                    return Ok(answer);
                }
                Ok(answer) => return Err(Failure::from_answer(&what, &answer)),
            };
            self.pause(wait).await?;
        }
    }

    /// Ends the run: success (or warnings), or failed with an event saying why.
    async fn finish(&mut self, result: Result<(), Failure>) -> Result<(), StoreError> {
        let at = now();
        self.run.state = RunState::Ended;
        self.run.ended_at = Some(at);
        self.run.last_call_at = at;
        self.run.awaiting = None;
        let mut tx = self.db().begin().await?;
        let mut summary = self.notes.join("; ");
        if self.retried > 0 {
            summary.push_str(&format!("; {} request(s) answered after waiting for QuickBooks Online", self.retried));
        }
        let outcome = match result {
            Ok(()) => {
                self.run.step = Step::Done;
                self.run.percent = 100;
                for warning in &self.warnings {
                    self.run.warning_count += 1;
                    runs::add_event(&mut tx, self.run.run_id, EventLevel::Warning, None, warning, None).await?;
                }
                if self.warnings.is_empty() { Outcome::Success } else { Outcome::Warnings }
            }
            Err(failure) => {
                self.run.error_count += 1;
                self.run.last_error = Some(failure.message.clone());
                runs::add_event(
                    &mut tx,
                    self.run.run_id,
                    EventLevel::Error,
                    failure.code.as_deref(),
                    &failure.message,
                    failure.explanation.as_deref(),
                )
                .await?;
                tracing::warn!(error = %failure.message, "pull failed");
                summary = if summary.is_empty() {
                    failure.message
                } else {
                    format!("{}; then: {}", summary, failure.message)
                };
                Outcome::Failed
            }
        };
        self.run.outcome = Some(outcome);
        self.run.summary = Some(summary);
        if !runs::save_run(&mut tx, &mut self.run).await? {
            tx.rollback().await.ok();
            return Ok(());
        }
        tx.commit().await?;
        tracing::info!(
            outcome = outcome.as_str(),
            customers = self.run.customers_staged,
            employees = self.run.employees_staged,
            "pull ended"
        );
        Ok(())
    }
}

enum StageList {
    Customers(Vec<crate::record::Customer>),
    Employees(Vec<crate::record::Employee>),
}

async fn stage_in(tx: &mut crate::store::Tx, ctx: &StageContext, records: StageList) -> Result<(), StoreError> {
    let (list, staged) = match records {
        StageList::Customers(records) => {
            let mut all = staging::Staged::default();
            for batch in dedup_by(records, |c| c.list_id.clone()).chunks(200) {
                let staged = staging::stage_customers(tx, ctx, batch.to_vec()).await?;
                all.changes.extend(staged.changes);
                all.renamed.extend(staged.renamed);
            }
            (List::Customers, all)
        }
        StageList::Employees(records) => {
            let mut all = staging::Staged::default();
            for batch in dedup_by(records, |e| e.list_id.clone()).chunks(200) {
                all.changes.extend(staging::stage_employees(tx, ctx, batch.to_vec()).await?.changes);
            }
            (List::Employees, all)
        }
    };
    runs::add_changes(tx, ctx.run_id, list.name(), &staged.changes).await?;
    // Intuit sends a renamed customer's jobs again, but a page may hold the parent and not all
    // its jobs: their full names follow here as they do for the Web Connector.
    if !staged.renamed.is_empty() {
        let jobs = staging::follow_parents(tx, ctx, &staged.renamed).await?;
        let changes: Vec<_> = jobs.into_iter().map(|(id, name)| (Change::Changed, id, name)).collect();
        runs::add_changes(tx, ctx.run_id, List::Customers.name(), &changes).await?;
    }
    Ok(())
}

async fn save_in(tx: &mut crate::store::Tx, run: &mut Run) -> Result<(), Failure> {
    if runs::save_run(tx, run).await? {
        Ok(())
    } else {
        Err(Failure::new("the run was ended by another process while it ran"))
    }
}

fn entity(list: List) -> Entity {
    match list {
        List::Customers => Entity::Customer,
        List::Employees => Entity::Employee,
    }
}

fn encode(statement: &str) -> String {
    url::form_urlencoded::byte_serialize(statement.as_bytes()).collect()
}

/// When Intuit's answer carries no time: the pull's start, a little earlier, in UTC.
fn fallback_since(started: DateTime<Utc>) -> String {
    (started - chrono::Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Keeps the last of each key (a batch must not hold a key twice), in first-seen order.
fn dedup_by<T>(records: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut positions = std::collections::HashMap::new();
    let mut out: Vec<T> = Vec::with_capacity(records.len());
    for record in records {
        match positions.get(&key(&record)) {
            Some(&at) => out[at] = record,
            None => {
                positions.insert(key(&record), out.len());
                out.push(record);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_never_holds_a_key_twice_and_the_last_wins() {
        let out = dedup_by(vec![("a", 1), ("b", 2), ("a", 3)], |r| r.0.to_string());
        assert_eq!(out, [("a", 3), ("b", 2)]);
    }

    #[test]
    fn statements_are_encoded_for_the_query_string() {
        assert_eq!(
            encode("SELECT * FROM Customer WHERE Active IN (true,false)"),
            "SELECT+*+FROM+Customer+WHERE+Active+IN+%28true%2Cfalse%29"
        );
    }

    #[test]
    fn failures_keep_intuits_code_explanation_and_transaction_id() {
        let answer = Answer {
            status: 500,
            body: br#"{"Fault":{"Error":[{"Message":"An application error has occurred","code":"10000"}],"type":"SystemFault"}}"#.to_vec(),
            intuit_tid: Some("1-6f2a".into()),
            retry_after: None,
        };
        let failure = Failure::from_answer("query", &answer);
        assert_eq!(failure.code.as_deref(), Some("10000"));
        assert!(failure.message.contains("HTTP 500") && failure.message.contains("1-6f2a"), "{}", failure.message);
        assert!(failure.explanation.unwrap().contains("server error"));
    }
}

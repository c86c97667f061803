//! A Web Connector run, call by call.
//!
//! [`receive::receive`] takes one call from its body bytes to its answer. [`Service::handle`]
//! answers every QBWC method but `receiveResponseXML`, whose qbXML answer is streamed: `receive`
//! opens a [`Stager`] with [`Service::begin_response`] when the response starts, feeds it records
//! as the parser produces them, and settles the run with [`Service::finish_response`]. Every bit
//! of run state is read from and written to the database under the ticket (see `store::runs`), so
//! consecutive calls may be served by different processes. What the run does next is decided by
//! the pure functions of [`plan`].

pub mod plan;
pub mod receive;
pub mod spool;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::qbxml::{self, Deleted, Item, QbxmlVersion, RsKind, RsStatus};
use crate::record::{Customer, Employee};
use crate::secrets::Ticket;
use crate::signin::{Realm, SignInGuard, SignInPolicy, Verdict};
use crate::soap::{Call, Reply};
use crate::store::catalog::{self, QuickBooksInfo};
use crate::store::runs::{self, Run};
use crate::store::staging::{self, List, StageContext};
use crate::store::{self, Db, StoreError, Tx};

/// The run's vocabulary is defined beside its row, so the store can keep it without depending
/// on `sync`.
pub use crate::store::runs::{Change, EventLevel, Outcome, RunMode, RunState, Step, UnknownText};
use plan::{Note, Progress};

/// Version string serverVersion answers.
pub const SERVER_VERSION: &str = concat!("qbsync ", env!("CARGO_PKG_VERSION"));

/// receiveResponseXML answers: QuickBooks' response could not be read or did not answer.
pub const RESPONSE_UNREADABLE: i32 = -101;
/// receiveResponseXML answer: QuickBooks' request processor reported an HRESULT.
pub const RESPONSE_HRESULT: i32 = -102;
/// receiveResponseXML answer: the ticket is unknown, ended or expired.
pub const RESPONSE_NO_SESSION: i32 = -103;
/// receiveResponseXML answer: qbsync failed to store the response (database trouble).
pub const RESPONSE_STORE_FAILED: i32 = -104;

/// Default overlap of an incremental run's FromModifiedDate with the last run: the hour a
/// daylight-saving change repeats in QuickBooks' local time, and as much again for clocks.
pub const DEFAULT_OVERLAP_MINUTES: i64 = 120;

/// How many staged rows go into one INSERT.
const BATCH_ROWS: usize = 200;
/// Most skipped-record warnings kept for one page; the rest are counted.
const MAX_SKIP_NOTES: usize = 20;

/// Settings of the Web Connector side.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    /// MaxReturned of each customer page.
    pub page_size: u32,
    /// A run with no call for this long is expired.
    pub ticket_ttl: chrono::Duration,
    /// A live run with no call for this long is taken over by a new authenticate of its
    /// connection (the Web Connector that ran it most likely crashed or was restarted).
    pub stale_run: chrono::Duration,
    /// clientVersion answers `E:` below this QBWC version.
    pub min_qbwc_version: Option<String>,
    /// clientVersion answers `W:` below this QBWC version.
    pub recommended_qbwc_version: Option<String>,
    /// An incremental run asks for records modified since the list's watermark less this much.
    pub incremental_overlap: chrono::Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            page_size: 500,
            ticket_ttl: chrono::Duration::minutes(30),
            stale_run: chrono::Duration::seconds(120),
            min_qbwc_version: Some("2.1.0.30".into()),
            recommended_qbwc_version: None,
            incremental_overlap: chrono::Duration::minutes(DEFAULT_OVERLAP_MINUTES),
        }
    }
}

/// Errors that are the server's fault: they become SOAP faults.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("database error: {0}")]
    Store(#[from] StoreError),
}

/// Where a ticket stands.
enum Session {
    Live(Run),
    Gone(Option<Run>),
}

/// The Web Connector service.
#[derive(Clone)]
pub struct Service {
    db: Db,
    settings: Arc<SyncSettings>,
    metrics: Arc<Metrics>,
    /// Throttles `authenticate` and bounds its password checks (shared with the admin sign-in).
    sign_in: Arc<SignInGuard>,
    /// The client address of the call being served, when the HTTP shell knows it.
    client: Option<IpAddr>,
}

const UNKNOWN_SESSION: &str = "qbsync does not know this Web Connector session: it has ended, or expired after a \
                               long pause. The next update starts a new one.";

impl Service {
    pub fn new(db: Db, settings: SyncSettings) -> Service {
        Service::with_metrics(db, settings, Arc::new(Metrics::default()))
    }

    /// A service with the default sign-in policy; see [`Service::with_sign_in`].
    pub fn with_metrics(db: Db, settings: SyncSettings, metrics: Arc<Metrics>) -> Service {
        let sign_in = Arc::new(SignInGuard::new(db.clone(), SignInPolicy::default(), metrics.clone()));
        Service { db, settings: Arc::new(settings), metrics, sign_in, client: None }
    }

    /// The same service with another sign-in guard (the server's, shared with the admin page).
    pub fn with_sign_in(self, sign_in: Arc<SignInGuard>) -> Service {
        Service { sign_in, ..self }
    }

    /// The same service answering a call from `client` (for sign-in throttling and logs).
    pub fn for_client(&self, client: Option<IpAddr>) -> Service {
        Service { client, ..self.clone() }
    }

    pub fn sign_in(&self) -> &Arc<SignInGuard> {
        &self.sign_in
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// Answers one call. `ReceiveResponseXml` must go through begin/finish_response instead; here
    /// it is answered as a call without a response.
    pub async fn handle(&self, call: Call) -> Result<Reply, SyncError> {
        let now = store::now();
        Ok(match call {
            Call::ServerVersion => Reply::ServerVersion(SERVER_VERSION.into()),
            Call::GetServerVersion { .. } => Reply::GetServerVersion(SERVER_VERSION.into()),
            Call::ClientVersion { version } => {
                let answer = plan::client_version_answer(
                    &version,
                    self.settings.min_qbwc_version.as_deref(),
                    self.settings.recommended_qbwc_version.as_deref(),
                );
                // A refused Web Connector stops here, before it names its user: no connection
                // to record it against, so the log says so.
                if answer.starts_with("E:") {
                    warn!(version = %version, "clientVersion: Web Connector too old, refused");
                }
                Reply::ClientVersion(answer)
            }
            Call::Authenticate { username, password } => {
                Reply::Authenticate(self.authenticate(&username, &password, now).await?)
            }
            Call::SendRequestXml { ticket, hcp_response, company_file_name, country, major_version, minor_version } => {
                let ticket = Ticket::from(ticket);
                let reported = match (major_version, minor_version) {
                    (Some(major), minor) if major > 0 => {
                        Some(QbxmlVersion { major: major as u16, minor: minor.unwrap_or(0).max(0) as u16 })
                    }
                    _ => None,
                };
                Reply::SendRequestXml(
                    self.send_request(&ticket, &hcp_response, &company_file_name, &country, reported, now).await?,
                )
            }
            Call::ReceiveResponseXml { ticket, hresult, message } => Reply::ReceiveResponseXml(
                self.finish_response(&Ticket::from(ticket), &hresult, &message, None, ResponseRead::Absent).await?,
            ),
            Call::ConnectionError { ticket, hresult, message } => {
                Reply::ConnectionError(self.connection_error(&Ticket::from(ticket), &hresult, &message, now).await?)
            }
            Call::GetLastError { ticket } => Reply::GetLastError(self.last_error(&Ticket::from(ticket), now).await?),
            Call::CloseConnection { ticket } => Reply::CloseConnection(self.close(&Ticket::from(ticket), now).await?),
            // qbsync never asks for interactive mode; these answer as a service without it.
            Call::GetInteractiveUrl { .. } => Reply::GetInteractiveUrl(String::new()),
            Call::InteractiveDone { .. } => Reply::InteractiveDone("Done".into()),
            Call::InteractiveRejected { .. } => {
                Reply::InteractiveRejected("qbsync does not use interactive mode".into())
            }
        })
    }

    /// QBWC guide, authenticate: `[ticket, ""|company file]`, or `nvu`, `none`, `busy`.
    async fn authenticate(&self, username: &str, password: &str, now: DateTime<Utc>) -> Result<Vec<String>, SyncError> {
        let refuse = |what: &str| vec![String::new(), what.to_string()];
        let conn = catalog::connection_by_username(&self.db, username).await?;
        // The guard checks the password on a bounded blocking pool (an unknown user name costs
        // the same time as a wrong password), counts failures and logs them. A lockout or a
        // check given up under load answers like a wrong password: `nvu`, revealing nothing.
        let (password, phc) = (password.to_string(), conn.as_ref().map(|c| c.password_hash.clone()));
        let verdict = self.sign_in.attempt(Realm::WebConnector, username, self.client, password, phc).await?;
        let conn = match conn {
            Some(conn) if verdict == Verdict::Granted => conn,
            known => {
                if let (Some(conn), Verdict::Refused) = (&known, verdict) {
                    // The connection's history shows the refused attempt (without the password).
                    let recorded = runs::record_failed_authentication(
                        &self.db,
                        conn.connection_id,
                        now,
                        "The Web Connector's password was refused.",
                        "The password in the Web Connector is not this connection's (or sign-ins are locked for a \
                         while after repeated failures). Rotate the password on the Connections page and enter \
                         the new one in QuickBooks Web Connector.",
                    )
                    .await?;
                    if recorded {
                        info!(connection = %conn.connection_id, "authenticate refused: recorded as a failed run");
                    }
                }
                return Ok(refuse("nvu"));
            }
        };
        if !conn.enabled {
            info!(connection = %conn.connection_id, "authenticate: connection disabled");
            return Ok(refuse("none"));
        }
        if let Some(live) = runs::live_run_for_connection(&self.db, conn.connection_id).await?
            && !self.expire_if_stale(live.clone(), now).await?
            && !self.take_over_if_silent(live, now).await?
        {
            info!(connection = %conn.connection_id, "authenticate: a run is already in progress");
            return Ok(refuse("busy"));
        }
        let ticket = Ticket::generate();
        match runs::start_run(&self.db, conn.connection_id, &ticket, now).await {
            Ok(run) => {
                // What earlier runs saw of lists they never completed is of no use any more.
                staging::forget_seen(&self.db, conn.connection_id, run.run_id).await?;
                self.metrics.run_started();
                info!(connection = %conn.connection_id, run = %run.run_id, ticket = ticket.prefix(), "run started");
                Ok(vec![ticket.as_str().to_string(), conn.company_file.clone()])
            }
            // Another authenticate for the same connection won the race.
            Err(StoreError::Conflict(_)) => Ok(refuse("busy")),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends a live run that has been silent for longer than the ticket lifetime. Returns whether
    /// it was (or already is) no longer live.
    async fn expire_if_stale(&self, mut run: Run, now: DateTime<Utc>) -> Result<bool, SyncError> {
        if run.last_call_at + self.settings.ticket_ttl > now {
            return Ok(false);
        }
        let message = format!(
            "The Web Connector stopped calling for more than {} minutes; the run was abandoned.",
            self.settings.ticket_ttl.num_minutes()
        );
        if self.end_expired(&mut run, now, message, "expired", None).await? {
            warn!(run = %run.run_id, "run expired");
        }
        Ok(true)
    }

    /// A new authenticate of the run's connection ends a live run that has made no call for
    /// longer than `stale_run` (outcome `expired`, with an event saying it was taken over), so a
    /// crashed Web Connector does not leave its connection busy until the ticket expires.
    /// Returns whether the run was taken over. The compare-and-set on `seq` makes it atomic: of
    /// two concurrent authenticates only one takes over (the other answers busy), and a run that
    /// made a call meanwhile is left alone.
    async fn take_over_if_silent(&self, mut run: Run, now: DateTime<Utc>) -> Result<bool, SyncError> {
        let silent = now - run.last_call_at;
        if silent <= self.settings.stale_run {
            return Ok(false);
        }
        let message = format!(
            "The Web Connector made no call for {} seconds and then started a new session; this run was taken over \
             and ended. The Web Connector was probably closed or crashed during the run.",
            silent.num_seconds()
        );
        run.awaiting = None;
        run.error_count += 1;
        let note = Note::error(None, message.clone(), None);
        let taken = self.end_expired(&mut run, now, message, "taken over by a new session", Some(note)).await?;
        if taken {
            warn!(run = %run.run_id, silent_seconds = silent.num_seconds(), "silent run taken over by a new session");
        }
        Ok(taken)
    }

    /// Ends a live run as `expired` with `message` as its last error (and `note` as an event),
    /// its summary ending in `what`. False when another call changed the run first (the
    /// compare-and-set on `seq` lost): then nothing is written.
    async fn end_expired(
        &self,
        run: &mut Run,
        now: DateTime<Utc>,
        message: String,
        what: &str,
        note: Option<Note>,
    ) -> Result<bool, SyncError> {
        run.state = RunState::Ended;
        run.outcome = Some(Outcome::Expired);
        run.ended_at = Some(now);
        run.last_error = Some(message);
        run.summary = Some(format!("{}; {what}", plan::summary(&progress(run))));
        let mut tx = self.db.begin().await?;
        let saved = save_in(&mut tx, run, note.as_slice()).await?;
        if saved {
            tx.commit().await?;
            self.metrics.run_ended(Outcome::Expired.as_str());
        } else {
            tx.rollback().await?;
        }
        Ok(saved)
    }

    async fn session(&self, ticket: &Ticket, now: DateTime<Utc>) -> Result<Session, SyncError> {
        if ticket.is_empty() {
            return Ok(Session::Gone(None));
        }
        let Some(run) = runs::run_by_ticket(&self.db, ticket).await? else {
            return Ok(Session::Gone(None));
        };
        if run.state != RunState::Live {
            return Ok(Session::Gone(Some(run)));
        }
        if self.expire_if_stale(run.clone(), now).await? {
            let run = runs::run_by_ticket(&self.db, ticket).await?;
            return Ok(Session::Gone(run));
        }
        Ok(Session::Live(run))
    }

    /// Saves `run` with `notes` in one transaction. Returns false if another call changed the
    /// run first (nothing is written then).
    async fn save(&self, run: &mut Run, notes: &[Note]) -> Result<bool, SyncError> {
        if notes.is_empty() {
            return Ok(runs::save_run_alone(&self.db, run).await?);
        }
        let mut tx = self.db.begin().await?;
        let saved = save_in(&mut tx, run, notes).await?;
        if saved {
            tx.commit().await?
        } else {
            tx.rollback().await?
        }
        Ok(saved)
    }

    /// QBWC guide, sendRequestXML: the next qbXML request, or "" (QBWC then asks getLastError).
    async fn send_request(
        &self,
        ticket: &Ticket,
        hcp_response: &str,
        company_file: &str,
        country: &str,
        reported: Option<QbxmlVersion>,
        now: DateTime<Utc>,
    ) -> Result<String, SyncError> {
        let Session::Live(mut run) = self.session(ticket, now).await? else {
            return Ok(String::new());
        };
        run.last_call_at = now;
        let mut notes = Vec::new();
        if run.step == Step::Start {
            match self.start_lists(&mut run, hcp_response, company_file, country, reported).await? {
                Ok(()) => {}
                Err(note) => {
                    run.error_count += 1;
                    run.last_error = Some(note.message.clone());
                    run.step = Step::Done;
                    self.save(&mut run, &[note]).await?;
                    return Ok(String::new());
                }
            }
        }
        let version = run.qbxml_version.as_deref().and_then(QbxmlVersion::parse).unwrap_or(QbxmlVersion::MAX_SUPPORTED);
        let Some((request_id, request)) = plan::next_request(&progress(&run), self.settings.page_size) else {
            // Nothing left to ask: QBWC should have stopped at 100. Say so through getLastError.
            if run.last_error.is_none() {
                run.last_error = Some("qbsync has nothing more to ask QuickBooks in this run.".into());
            }
            self.save(&mut run, &notes).await?;
            return Ok(String::new());
        };
        if run.awaiting.is_none() {
            run.request_count += 1;
            run.awaiting = Some(request_id);
        } else {
            notes.push(Note::warning(
                None,
                "the Web Connector asked for the same request again; it was sent again".into(),
                None,
            ));
        }
        if !self.save(&mut run, &notes).await? {
            // A concurrent call for the same ticket moved the run on: answer from its new state.
            return Box::pin(self.send_request(ticket, "", company_file, country, reported, now)).await;
        }
        Ok(qbxml::render_request(version, &request))
    }

    /// First sendRequestXML of a run: reads the HCP response, records the QuickBooks install and
    /// chooses the qbXML version. An `Err(note)` ends the run with that error.
    async fn start_lists(
        &self,
        run: &mut Run,
        hcp_response: &str,
        company_file: &str,
        country: &str,
        reported: Option<QbxmlVersion>,
    ) -> Result<Result<(), Note>, SyncError> {
        if hcp_response.contains("not supported in QBPOS") {
            return Ok(Err(Note::error(
                None,
                "This Web Connector entry is connected to QuickBooks Point of Sale, which qbsync does not support; \
                 add the .qwc to the Web Connector beside QuickBooks Desktop instead."
                    .into(),
                None,
            )));
        }
        let mut info = QuickBooksInfo {
            country: Some(country.to_string()).filter(|c| !c.is_empty()),
            file_path: Some(company_file.to_string()).filter(|c| !c.is_empty()),
            ..QuickBooksInfo::default()
        };
        let mut supported = Vec::new();
        let mut notes = Vec::new();
        if !hcp_response.trim().is_empty() {
            match qbxml::parse_hcp(hcp_response) {
                Ok(hcp) => {
                    supported = hcp.supported_versions.clone();
                    info.product = hcp.product_name.clone();
                    info.version = match (&hcp.major_version, &hcp.minor_version) {
                        (Some(major), Some(minor)) => Some(format!("{major}.{minor}")),
                        (Some(major), None) => Some(major.clone()),
                        _ => None,
                    };
                    info.company_name = hcp.company_name.clone().or(hcp.legal_company_name.clone());
                    if info.country.is_none() {
                        info.country = hcp.country.clone();
                    }
                }
                Err(err) => notes.push(Note::warning(
                    None,
                    format!("could not read QuickBooks' host and company description: {err}"),
                    Some("qbsync went on using the qbXML version the Web Connector reported.".into()),
                )),
            }
        }
        let version = match plan::choose_version(&supported, reported) {
            Ok(version) => version,
            Err(too_old) => {
                catalog::record_quickbooks_info(&self.db, run.connection_id, &info).await?;
                return Ok(Err(Note::error(None, too_old.to_string(), None)));
            }
        };
        info.qbxml_version = Some(version.to_string());
        catalog::record_quickbooks_info(&self.db, run.connection_id, &info).await?;
        run.qbxml_version = Some(version.to_string());
        let conn = catalog::get_connection(&self.db, None, run.connection_id).await?;
        // As recorded (what the HCP response did not say is kept from before), the same way
        // `remember_refusal` sees it.
        let identity = quickbooks_identity(&QuickBooksInfo {
            product: conn.qb_product.clone(),
            version: conn.qb_version.clone(),
            qbxml_version: conn.qbxml_version.clone(),
            ..QuickBooksInfo::default()
        });
        let full = match (&conn.incremental_refused_by, &conn.incremental_refused_reason) {
            (Some(by), reason) if *by == identity => {
                Some(plan::FullBecause::Refused(reason.clone().unwrap_or_else(|| "it refused them".into())))
            }
            _ if conn.next_full_refresh(run.started_at) <= run.started_at => Some(plan::FullBecause::Scheduled),
            _ => None,
        };
        if let Some(plan::FullBecause::Refused(reason)) = &full {
            notes.push(Note::warning(
                None,
                format!(
                    "This run reads every record: this QuickBooks ({identity}) cannot tell qbsync what changed ({reason})"
                ),
                Some("Incremental runs are tried again once QuickBooks is upgraded.".into()),
            ));
        } else if conn.incremental_refused_by.is_some() {
            // QuickBooks changed since it refused: try incremental runs again.
            catalog::set_incremental_refused(&self.db, run.connection_id, None).await?;
        }
        let planned = plan::plan_run(
            conn.customers_watermark.as_deref(),
            conn.employees_watermark.as_deref(),
            full,
            self.settings.incremental_overlap,
        );
        run.mode = planned.mode;
        run.customers_since = planned.customers_since;
        run.employees_since = planned.employees_since;
        run.step = plan::first_step(&progress(run));
        run.warning_count += notes.len() as i64;
        if !notes.is_empty() {
            let mut tx = self.db.begin().await?;
            for note in &notes {
                runs::add_event(
                    &mut tx,
                    run.run_id,
                    note.level,
                    note.code.as_deref(),
                    &note.message,
                    note.explanation.as_deref(),
                )
                .await?;
            }
            tx.commit().await?;
        }
        Ok(Ok(()))
    }

    /// The response began: opens a staging transaction when the ticket's run is waiting for one.
    async fn begin_response(&self, ticket: Option<&Ticket>) -> Result<Option<Stager>, SyncError> {
        let Some(ticket) = ticket else { return Ok(None) };
        let Session::Live(run) = self.session(ticket, store::now()).await? else {
            return Ok(None);
        };
        let (list, deletions) = match run.step {
            Step::CustomersDeleted => (List::Customers, true),
            Step::Customers => (List::Customers, false),
            Step::EmployeesDeleted => (List::Employees, true),
            Step::Employees => (List::Employees, false),
            Step::Start | Step::Done => return Ok(None),
        };
        if run.awaiting.is_none() {
            return Ok(None);
        }
        let conn = catalog::get_connection(&self.db, None, run.connection_id).await?;
        let ctx = StageContext {
            connection_id: run.connection_id,
            organization_id: conn.organization_id,
            run_id: run.run_id,
            at: store::now(),
        };
        let tx = self.db.begin().await?;
        Ok(Some(Stager {
            run,
            ctx,
            tx: Some(tx),
            list,
            deletions,
            deleted: Vec::new(),
            marked: 0,
            high_water: None,
            renamed: Vec::new(),
            customers: Vec::new(),
            employees: Vec::new(),
            batch_ids: HashSet::new(),
            status: None,
            in_answer: false,
            staged: 0,
            skipped: 0,
            notes: Vec::new(),
            problem: None,
            failed: None,
        }))
    }

    /// QBWC guide, receiveResponseXML: settles the response that `stager` staged (if any) and
    /// answers the percent done, or a negative number that getLastError then explains.
    async fn finish_response(
        &self,
        ticket: &Ticket,
        hresult: &str,
        message: &str,
        stager: Option<Stager>,
        read: ResponseRead,
    ) -> Result<i32, SyncError> {
        let now = store::now();
        let (mut run, mut stager) = match stager {
            Some(stager) => (stager.run.clone(), Some(stager)),
            None => match self.session(ticket, now).await? {
                Session::Live(run) => (run, None),
                Session::Gone(_) => return Ok(RESPONSE_NO_SESSION),
            },
        };
        if run.awaiting.is_none()
            || !matches!(run.step, Step::CustomersDeleted | Step::Customers | Step::EmployeesDeleted | Step::Employees)
        {
            // A repeated or out-of-sequence response: nothing is applied twice.
            if let Some(stager) = stager.take() {
                stager.abandon().await;
            }
            return Ok(if run.step == Step::Done { 100 } else { run.percent as i32 });
        }
        run.last_call_at = now;

        // QuickBooks could not even parse the deletion query: an older QuickBooks without it. The
        // run goes on reading every record.
        if !hresult.trim().is_empty() && matches!(run.step, Step::CustomersDeleted | Step::EmployeesDeleted) {
            if let Some(stager) = stager.take() {
                stager.abandon().await;
            }
            let reason = format!(
                "QuickBooks could not process the deletion query (ListDeletedQueryRq, {}): {}",
                hresult.trim(),
                if message.trim().is_empty() { "no message" } else { message.trim() }
            );
            let mut planned = progress(&run);
            planned.awaiting = None;
            let mut effects = plan::PageEffects::default();
            plan::fall_back(&mut planned, &reason, &mut effects, qbxml::explain_hresult(hresult.trim()));
            planned.percent = plan::percent(&planned);
            set_progress(&mut run, planned);
            if !self.save(&mut run, &effects.notes).await? {
                return Ok(RESPONSE_NO_SESSION);
            }
            self.remember_refusal(&run, &reason).await?;
            return Ok(run.percent as i32);
        }

        // Whatever went wrong, the staged rows of this response are rolled back and the run ends.
        let failure = if !hresult.trim().is_empty() {
            let explanation = qbxml::explain_hresult(hresult.trim());
            Some((
                RESPONSE_HRESULT,
                Note::error(
                    Some(hresult.trim().to_string()),
                    format!(
                        "QuickBooks could not process qbsync's request ({}): {}",
                        hresult.trim(),
                        if message.trim().is_empty() { "no message" } else { message.trim() }
                    ),
                    explanation.map(str::to_string),
                ),
            ))
        } else if let Some(problem) = read.problem().or(stager.as_ref().and_then(|s| s.problem.clone())) {
            Some((
                RESPONSE_UNREADABLE,
                Note::error(None, format!("QuickBooks' response could not be read: {problem}"), None),
            ))
        } else if let Some(err) = stager.as_mut().and_then(|s| s.failed.take()) {
            Some((
                RESPONSE_STORE_FAILED,
                Note::error(None, format!("qbsync could not store QuickBooks' response: {err}"), None),
            ))
        } else if stager.as_ref().is_none_or(|s| s.status.is_none()) {
            let expected = match run.step {
                Step::Customers => "CustomerQueryRs",
                Step::Employees => "EmployeeQueryRs",
                _ => "ListDeletedQueryRs",
            };
            Some((
                RESPONSE_UNREADABLE,
                Note::error(
                    None,
                    format!("QuickBooks' response did not contain the {expected} qbsync asked for"),
                    None,
                ),
            ))
        } else {
            None
        };
        if let Some((code, note)) = failure {
            if let Some(stager) = stager.take() {
                stager.abandon().await;
            }
            warn!(run = %run.run_id, "{}", note.message);
            run.awaiting = None;
            run.error_count += 1;
            run.last_error = Some(match &note.explanation {
                Some(explanation) => format!("{} {}", note.message, explanation),
                None => note.message.clone(),
            });
            run.step = Step::Done;
            if !self.save(&mut run, &[note]).await? {
                return Ok(RESPONSE_NO_SESSION);
            }
            return Ok(code);
        }

        let mut stager = stager.expect("checked above");
        stager.flush().await;
        if let Some(err) = stager.failed.take() {
            stager.abandon().await;
            let note = Note::error(None, format!("qbsync could not store QuickBooks' response: {err}"), None);
            run.awaiting = None;
            run.error_count += 1;
            run.last_error = Some(note.message.clone());
            run.step = Step::Done;
            self.save(&mut run, &[note]).await?;
            return Ok(RESPONSE_STORE_FAILED);
        }
        let status = stager.status.clone().expect("checked above");
        let mut planned = progress(&run);
        let high_water = stager.high_water.as_deref();
        match stager.list {
            List::Customers => planned.customers_high_water = plan::later(planned.customers_high_water, high_water),
            List::Employees => planned.employees_high_water = plan::later(planned.employees_high_water, high_water),
        }
        match stager.list {
            List::Customers => planned.customers_deleted += stager.marked,
            List::Employees => planned.employees_deleted += stager.marked,
        }
        let mut effects = plan::apply_page(&mut planned, &status, stager.staged);
        set_progress(&mut run, planned);
        if let Some(note) = effects.notes.iter().rev().find(|n| n.level == EventLevel::Error) {
            run.last_error = Some(note.message.clone());
        }
        if stager.skipped > 0 {
            run.warning_count += 1;
            effects.notes.push(Note::warning(
                None,
                format!("{} record(s) in this page could not be used and were skipped", stager.skipped),
                None,
            ));
        }
        let mut tx = stager.tx.take().expect("stager transaction is open");
        let result: Result<bool, StoreError> = async {
            let ctx = &stager.ctx;
            if !stager.renamed.is_empty() {
                let jobs = staging::follow_parents(&mut tx, ctx, &stager.renamed).await?;
                let changes: Vec<_> = jobs.into_iter().map(|(id, name)| (Change::Changed, id, name)).collect();
                runs::add_changes(&mut tx, run.run_id, List::Customers.name(), &changes).await?;
            }
            for (list, sweep, complete) in [
                (List::Customers, effects.sweep_customers, effects.complete_customers),
                (List::Employees, effects.sweep_employees, effects.complete_employees),
            ] {
                if sweep {
                    let gone = staging::mark_missing_deleted(&mut tx, ctx, list).await?;
                    match list {
                        List::Customers => run.customers_deleted += gone.len() as i64,
                        List::Employees => run.employees_deleted += gone.len() as i64,
                    }
                    let changes: Vec<_> = gone.into_iter().map(|(id, name)| (Change::Deleted, id, name)).collect();
                    runs::add_changes(&mut tx, run.run_id, list.name(), &changes).await?;
                }
                if complete {
                    let watermark = match list {
                        List::Customers => run.customers_high_water.clone(),
                        List::Employees => run.employees_high_water.clone(),
                    };
                    staging::complete_list(&mut tx, ctx, list, watermark.as_deref()).await?;
                }
            }
            if effects.full_run_complete {
                catalog::record_full_run(&mut tx, run.connection_id, run.started_at, ctx.at).await?;
            }
            let mut notes = std::mem::take(&mut stager.notes);
            notes.extend(effects.notes.iter().cloned());
            save_in(&mut tx, &mut run, &notes).await
        }
        .await;
        match result {
            Ok(true) => {
                tx.commit().await?;
                if let Some(reason) = &effects.refused {
                    self.remember_refusal(&run, reason).await?;
                }
                self.metrics.rows_staged(stager.list.name(), stager.staged as u64);
                info!(run = %run.run_id, staged = stager.staged, percent = run.percent, "response staged");
                Ok(run.percent as i32)
            }
            Ok(false) => {
                // Another call for this ticket applied the response first.
                tx.rollback().await?;
                match self.session(ticket, now).await? {
                    Session::Live(current) => Ok(if current.step == Step::Done { 100 } else { current.percent as i32 }),
                    Session::Gone(_) => Ok(RESPONSE_NO_SESSION),
                }
            }
            Err(err) => {
                let _ = tx.rollback().await;
                Err(err.into())
            }
        }
    }

    /// Remembers on the run's connection that its QuickBooks refused an incremental run's request,
    /// so that its next runs read every record at once (until QuickBooks changes).
    async fn remember_refusal(&self, run: &Run, reason: &str) -> Result<(), SyncError> {
        let conn = catalog::get_connection(&self.db, None, run.connection_id).await?;
        let info = QuickBooksInfo {
            product: conn.qb_product,
            version: conn.qb_version,
            qbxml_version: conn.qbxml_version,
            ..QuickBooksInfo::default()
        };
        warn!(run = %run.run_id, "{reason}; incremental runs are off for this QuickBooks");
        catalog::set_incremental_refused(&self.db, run.connection_id, Some((&quickbooks_identity(&info), reason)))
            .await?;
        Ok(())
    }

    /// QBWC guide, connectionError: records why QuickBooks could not be opened and stops.
    async fn connection_error(
        &self,
        ticket: &Ticket,
        hresult: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<String, SyncError> {
        if let Session::Live(mut run) = self.session(ticket, now).await? {
            let explanation = qbxml::explain_hresult(hresult.trim()).map(str::to_string);
            let note = Note::error(
                Some(hresult.trim().to_string()).filter(|h| !h.is_empty()),
                format!(
                    "The Web Connector could not open QuickBooks{}: {}",
                    if hresult.trim().is_empty() { String::new() } else { format!(" ({})", hresult.trim()) },
                    if message.trim().is_empty() { "no message" } else { message.trim() }
                ),
                explanation,
            );
            run.last_call_at = now;
            run.error_count += 1;
            run.last_error = Some(match &note.explanation {
                Some(explanation) => format!("{} {}", note.message, explanation),
                None => note.message.clone(),
            });
            run.state = RunState::Ended;
            run.outcome = Some(Outcome::ConnectionError);
            run.ended_at = Some(now);
            run.summary = Some(format!("Could not open QuickBooks: {}", run.last_error.as_deref().unwrap_or_default()));
            if self.save(&mut run, &[note]).await? {
                self.metrics.run_ended(Outcome::ConnectionError.as_str());
            }
        }
        Ok("done".into())
    }

    /// QBWC guide, getLastError: the message QBWC shows the user.
    async fn last_error(&self, ticket: &Ticket, now: DateTime<Utc>) -> Result<String, SyncError> {
        Ok(match self.session(ticket, now).await? {
            Session::Live(run) => run.last_error.unwrap_or_else(|| "No error".into()),
            Session::Gone(Some(run)) if run.outcome == Some(Outcome::Expired) => {
                run.last_error.unwrap_or_else(|| UNKNOWN_SESSION.into())
            }
            Session::Gone(Some(run)) => run.last_error.unwrap_or_else(|| "This session has already ended.".into()),
            Session::Gone(None) => UNKNOWN_SESSION.into(),
        })
    }

    /// QBWC guide, closeConnection: ends the run; the answer shows in QBWC's status column.
    async fn close(&self, ticket: &Ticket, now: DateTime<Utc>) -> Result<String, SyncError> {
        match self.session(ticket, now).await? {
            Session::Live(mut run) => {
                let outcome = plan::outcome(&progress(&run));
                run.state = RunState::Ended;
                run.outcome = Some(outcome);
                run.ended_at = Some(now);
                run.last_call_at = now;
                run.awaiting = None;
                let summary = plan::summary(&progress(&run));
                run.summary = Some(summary.clone());
                if !self.save(&mut run, &[]).await? {
                    return Box::pin(self.close(ticket, now)).await;
                }
                self.metrics.run_ended(outcome.as_str());
                info!(run = %run.run_id, outcome = outcome.as_str(), "{summary}");
                Ok(summary)
            }
            Session::Gone(Some(run)) => Ok(run.summary.unwrap_or_else(|| "This session has already ended.".into())),
            Session::Gone(None) => Ok(UNKNOWN_SESSION.into()),
        }
    }
}

/// Which QuickBooks a connection talks to, as far as incremental runs care: product, version
/// and the qbXML version spoken.
fn quickbooks_identity(info: &QuickBooksInfo) -> String {
    format!(
        "{} {}, qbXML {}",
        info.product.as_deref().unwrap_or("QuickBooks"),
        info.version.as_deref().unwrap_or("(version unknown)"),
        info.qbxml_version.as_deref().unwrap_or("?")
    )
}

/// The planner's part of a run row.
fn progress(run: &Run) -> Progress {
    Progress {
        step: run.step,
        mode: run.mode,
        customers_since: run.customers_since.clone(),
        employees_since: run.employees_since.clone(),
        customers_high_water: run.customers_high_water.clone(),
        employees_high_water: run.employees_high_water.clone(),
        awaiting: run.awaiting.clone(),
        iterator_id: run.iterator_id.clone(),
        iterator_remaining: run.iterator_remaining,
        iterator_restarts: run.iterator_restarts,
        qbxml_version: run.qbxml_version.as_deref().and_then(QbxmlVersion::parse),
        request_count: run.request_count,
        customers_staged: run.customers_staged,
        employees_staged: run.employees_staged,
        customers_deleted: run.customers_deleted,
        employees_deleted: run.employees_deleted,
        customers_complete: run.customers_complete,
        employees_complete: run.employees_complete,
        warning_count: run.warning_count,
        error_count: run.error_count,
        percent: run.percent,
        last_error: run.last_error.clone(),
    }
}

/// Writes what the planner changed back into the run row. (Destructured in full: a field added
/// to `Progress` and not kept here does not compile.)
fn set_progress(run: &mut Run, progress: Progress) {
    let Progress {
        step,
        mode,
        customers_since,
        employees_since,
        customers_high_water,
        employees_high_water,
        awaiting,
        iterator_id,
        iterator_remaining,
        iterator_restarts,
        qbxml_version,
        request_count,
        customers_staged,
        employees_staged,
        customers_deleted,
        employees_deleted,
        customers_complete,
        employees_complete,
        warning_count,
        error_count,
        percent,
        last_error,
    } = progress;
    run.step = step;
    run.mode = mode;
    run.customers_since = customers_since;
    run.employees_since = employees_since;
    run.customers_high_water = customers_high_water;
    run.employees_high_water = employees_high_water;
    run.awaiting = awaiting;
    run.iterator_id = iterator_id;
    run.iterator_remaining = iterator_remaining;
    run.iterator_restarts = iterator_restarts;
    run.qbxml_version = qbxml_version.map(|v| v.to_string());
    run.request_count = request_count;
    run.customers_staged = customers_staged;
    run.employees_staged = employees_staged;
    run.customers_deleted = customers_deleted;
    run.employees_deleted = employees_deleted;
    run.customers_complete = customers_complete;
    run.employees_complete = employees_complete;
    run.warning_count = warning_count;
    run.error_count = error_count;
    run.percent = percent;
    run.last_error = last_error;
}

/// Saves a run and its notes inside `tx`; false when the compare-and-set lost.
async fn save_in(tx: &mut Tx, run: &mut Run, notes: &[Note]) -> Result<bool, StoreError> {
    if !runs::save_run(tx, run).await? {
        return Ok(false);
    }
    for note in notes {
        runs::add_event(tx, run.run_id, note.level, note.code.as_deref(), &note.message, note.explanation.as_deref())
            .await?;
    }
    Ok(true)
}

/// How reading the `response` parameter went, as far as the parser knows.
#[derive(Clone, Debug)]
enum ResponseRead {
    /// The parameter was empty or absent.
    Absent,
    /// It was read to its end.
    Complete,
    /// Reading it failed: not well-formed, refused, truncated, too large.
    Failed(String),
}

impl ResponseRead {
    fn problem(&self) -> Option<String> {
        match self {
            ResponseRead::Failed(problem) => Some(problem.clone()),
            _ => None,
        }
    }
}

/// Stages one qbXML response as its records arrive, inside one transaction, in batches.
struct Stager {
    run: Run,
    ctx: StageContext,
    tx: Option<Tx>,
    list: List,
    /// The response answers the list's ListDeletedQueryRq.
    deletions: bool,
    /// Deleted records of the list waiting to be marked: ListID and QuickBooks' deletion time.
    deleted: Vec<(String, Option<DateTime<Utc>>)>,
    /// How many records this response newly marked deleted.
    marked: i64,
    /// The newest TimeModified / TimeDeleted (local part) in the response.
    high_water: Option<String>,
    /// Customers written with a new full name: their jobs must follow.
    renamed: Vec<String>,
    customers: Vec<Customer>,
    employees: Vec<Employee>,
    batch_ids: HashSet<String>,
    /// Status of the Rs that answers our request, once seen.
    status: Option<RsStatus>,
    /// Inside that Rs now.
    in_answer: bool,
    staged: i64,
    skipped: usize,
    notes: Vec<Note>,
    /// The response does not answer the run's request the way it must.
    problem: Option<String>,
    /// A database error; the response will be rolled back.
    failed: Option<StoreError>,
}

impl Stager {
    /// Takes the next parsed item of the response.
    async fn push(&mut self, item: Item) {
        if self.failed.is_some() {
            return;
        }
        match item {
            Item::Rs(status) => {
                let wanted = match (self.deletions, self.list) {
                    (true, _) => matches!(status.kind, RsKind::ListDeletedQuery),
                    (false, List::Customers) => matches!(status.kind, RsKind::CustomerQuery),
                    (false, List::Employees) => matches!(status.kind, RsKind::EmployeeQuery),
                };
                let id_matches = match (&status.request_id, &self.run.awaiting) {
                    (Some(got), Some(sent)) => got == sent,
                    _ => true,
                };
                if wanted && self.status.is_none() {
                    if id_matches {
                        self.status = Some(status);
                        self.in_answer = true;
                    } else {
                        self.problem = Some(format!(
                            "it answers request {:?}, but qbsync is waiting for {:?}",
                            status.request_id.unwrap_or_default(),
                            self.run.awaiting.clone().unwrap_or_default()
                        ));
                    }
                }
            }
            Item::RsEnd => self.in_answer = false,
            Item::Deleted(deleted) if self.in_answer && self.deletions => self.push_deleted(deleted).await,
            Item::Customer(customer) if self.in_answer && !self.deletions && self.list == List::Customers => {
                self.see_time(customer.time_modified.as_deref());
                if !self.batch_ids.insert(customer.list_id.clone()) {
                    self.flush().await;
                    self.batch_ids.insert(customer.list_id.clone());
                }
                self.customers.push(customer);
                self.staged += 1;
                if self.customers.len() >= BATCH_ROWS {
                    self.flush().await;
                }
            }
            Item::Employee(employee) if self.in_answer && !self.deletions && self.list == List::Employees => {
                self.see_time(employee.time_modified.as_deref());
                if !self.batch_ids.insert(employee.list_id.clone()) {
                    self.flush().await;
                    self.batch_ids.insert(employee.list_id.clone());
                }
                self.employees.push(employee);
                self.staged += 1;
                if self.employees.len() >= BATCH_ROWS {
                    self.flush().await;
                }
            }
            Item::Skipped { list_id, reason } if self.in_answer => {
                self.skipped += 1;
                if self.skipped <= MAX_SKIP_NOTES {
                    self.notes.push(Note::warning(
                        None,
                        format!(
                            "skipped a QuickBooks record{}: {reason}",
                            list_id.map(|id| format!(" ({id})")).unwrap_or_default()
                        ),
                        None,
                    ));
                }
            }
            _ => {}
        }
    }

    /// A TimeModified or TimeDeleted read: the response's high water may move.
    fn see_time(&mut self, time: Option<&str>) {
        if let Some(local) = time.and_then(|t| plan::watermark_candidate(t, self.ctx.at)) {
            self.high_water = plan::later(self.high_water.take(), Some(local));
        }
    }

    /// A record QuickBooks deleted, of the list this response is about (others are ignored).
    async fn push_deleted(&mut self, deleted: Deleted) {
        let wanted = match self.list {
            List::Customers => "Customer",
            List::Employees => "Employee",
        };
        if deleted.list_del_type != wanted {
            return;
        }
        self.see_time(deleted.time_deleted.as_deref());
        let at = deleted
            .time_deleted
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        self.deleted.push((deleted.list_id, at));
        if self.deleted.len() >= BATCH_ROWS {
            self.flush().await;
        }
    }

    /// Writes the records collected so far, and what they changed.
    async fn flush(&mut self) {
        let Some(tx) = self.tx.as_mut() else { return };
        let result: Result<(), StoreError> = async {
            let (changes, renamed) = if self.deletions {
                let marked =
                    staging::mark_deleted(tx, &self.ctx, self.list, &std::mem::take(&mut self.deleted)).await?;
                self.marked += marked.len() as i64;
                (marked.into_iter().map(|(id, name)| (Change::Deleted, id, name)).collect(), Vec::new())
            } else {
                let staged = match self.list {
                    List::Customers => {
                        staging::stage_customers(tx, &self.ctx, std::mem::take(&mut self.customers)).await?
                    }
                    List::Employees => {
                        staging::stage_employees(tx, &self.ctx, std::mem::take(&mut self.employees)).await?
                    }
                };
                (staged.changes, staged.renamed)
            };
            self.renamed.extend(renamed);
            runs::add_changes(tx, self.ctx.run_id, self.list.name(), &changes).await
        }
        .await;
        self.batch_ids.clear();
        if let Err(err) = result {
            self.failed = Some(err);
        }
    }

    /// Rolls back everything staged from this response.
    async fn abandon(mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.rollback().await;
        }
    }
}

//! The pure part of a run: which qbXML request comes next, what a QuickBooks answer does to the
//! run, how far along it is, and what it says when it ends. No IO: values in, values out.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{EventLevel, Outcome, RunMode, Step};
use crate::qbxml::{
    self, ActiveStatus, CustomerQuery, EmployeeQuery, IteratorMode, ListDelType, ListDeletedQuery, QbxmlVersion,
    Request, RsStatus,
};

/// What the planner knows of a run: where it stands and what it has counted. `sync` reads it
/// from the run's row and writes it back (the row adds ids, state, outcome, times and `seq`).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub step: Step,
    pub mode: RunMode,
    /// FromModifiedDate (and FromDeletedDate) of each list read incrementally, in QuickBooks'
    /// local time; `None`: the list is read in full and swept.
    pub customers_since: Option<String>,
    pub employees_since: Option<String>,
    /// The newest TimeModified / TimeDeleted (local part) read of each list so far.
    pub customers_high_water: Option<String>,
    pub employees_high_water: Option<String>,
    /// The requestID handed out and not yet answered.
    pub awaiting: Option<String>,
    /// The customer iterator to continue, and how many customers it has left.
    pub iterator_id: Option<String>,
    pub iterator_remaining: Option<i64>,
    pub iterator_restarts: i64,
    /// The qbXML version chosen at the first sendRequestXML.
    pub qbxml_version: Option<QbxmlVersion>,
    pub request_count: i64,
    pub customers_staged: i64,
    pub employees_staged: i64,
    pub customers_deleted: i64,
    pub employees_deleted: i64,
    /// Each list was read without a warning or error so far (a clean list allows the sweep).
    pub customers_complete: bool,
    pub employees_complete: bool,
    pub warning_count: i64,
    pub error_count: i64,
    pub percent: i64,
    pub last_error: Option<String>,
}

impl Default for Progress {
    /// A run that has just started.
    fn default() -> Progress {
        Progress {
            step: Step::Start,
            mode: RunMode::Full,
            customers_since: None,
            employees_since: None,
            customers_high_water: None,
            employees_high_water: None,
            awaiting: None,
            iterator_id: None,
            iterator_remaining: None,
            iterator_restarts: 0,
            qbxml_version: None,
            request_count: 0,
            customers_staged: 0,
            employees_staged: 0,
            customers_deleted: 0,
            employees_deleted: 0,
            customers_complete: true,
            employees_complete: true,
            warning_count: 0,
            error_count: 0,
            percent: 0,
            last_error: None,
        }
    }
}

/// How many times one run restarts an expired customer iterator before giving up.
pub const MAX_ITERATOR_RESTARTS: i64 = 3;

/// Share of the progress bar given to the customer list; employees take the rest but 100.
const CUSTOMER_SHARE: i64 = 90;
/// Share of the bar a list's deletion query takes in an incremental run.
const DELETED_SHARE: i64 = 5;

/// How a run reads each list, decided at its first sendRequestXML.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPlan {
    pub mode: RunMode,
    pub customers_since: Option<String>,
    pub employees_since: Option<String>,
}

/// Why a run reads every list in full although the connection has watermarks.
#[derive(Clone, Debug, PartialEq)]
pub enum FullBecause {
    /// The weekly (or configured) full refresh is due, or was asked for.
    Scheduled,
    /// This QuickBooks refused the requests of an incremental run before; the reason.
    Refused(String),
}

/// Chooses the run's mode. A list with a watermark is read from it less `overlap` (records
/// modified in the overlap come again, and staging, comparing EditSequence, writes nothing for
/// them); a list without one (never complete, or never held a record) is read in full. A full
/// refresh reads every list in full.
pub fn plan_run(
    customers_watermark: Option<&str>,
    employees_watermark: Option<&str>,
    full: Option<FullBecause>,
    overlap: chrono::Duration,
) -> RunPlan {
    if full.is_some() {
        return RunPlan { mode: RunMode::Full, customers_since: None, employees_since: None };
    }
    let customers_since = customers_watermark.and_then(|w| from_modified_date(w, overlap));
    let employees_since = employees_watermark.and_then(|w| from_modified_date(w, overlap));
    let mode =
        if customers_since.is_some() || employees_since.is_some() { RunMode::Incremental } else { RunMode::Full };
    RunPlan { mode, customers_since, employees_since }
}

/// The local part (`YYYY-MM-DDThh:mm:ss`) of a QuickBooks DATETIMETYPE. QuickBooks writes its
/// host's wall-clock time followed by the host's *standard-time* offset all year, so the offset
/// is an hour wrong during daylight saving time; the wall-clock part is what it compares a
/// `FromModifiedDate` without an offset against.
pub fn local_part(time: &str) -> Option<&str> {
    let local = time.get(..19)?;
    NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some(local)
}

/// `FromModifiedDate` for a list whose watermark is `watermark`: its local time less `overlap`,
/// without an offset, so that QuickBooks reads it as its own local time. The overlap covers the
/// hour a daylight-saving change repeats, clocks of QuickBooks workstations that disagree, and
/// records saved while the last run was reading.
pub fn from_modified_date(watermark: &str, overlap: chrono::Duration) -> Option<String> {
    let local = NaiveDateTime::parse_from_str(local_part(watermark)?, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some((local - overlap).format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// Whether a TimeModified / TimeDeleted may move a watermark: it must be a QuickBooks timestamp,
/// and not more than a day ahead of `now` (a workstation with its clock years ahead would
/// otherwise hide every later change until the next full run).
pub fn watermark_candidate(time: &str, now: DateTime<Utc>) -> Option<&str> {
    let local = local_part(time)?;
    let at = match DateTime::parse_from_rfc3339(time) {
        Ok(at) => at.with_timezone(&Utc),
        // No offset: the host's local time, which is within 14 hours of UTC.
        Err(_) => {
            NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").ok()?.and_utc() - chrono::Duration::hours(14)
        }
    };
    (at <= now + chrono::Duration::days(1)).then_some(local)
}

/// The later of two local times (`YYYY-MM-DDThh:mm:ss` sorts as time does).
pub fn later(a: Option<String>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) if b > a.as_str() => Some(b.to_string()),
        (Some(a), _) => Some(a),
        (None, b) => b.map(str::to_string),
    }
}

/// The step a run starts its lists with, once its plan is set.
pub fn first_step(run: &Progress) -> Step {
    if run.customers_since.is_some() { Step::CustomersDeleted } else { Step::Customers }
}

/// The step after the customer list.
fn employees_step(run: &Progress) -> Step {
    if run.employees_since.is_some() { Step::EmployeesDeleted } else { Step::Employees }
}

/// The qbXML request for the run's current step. A request already handed out and not yet
/// answered (`run.awaiting`) is rebuilt with the same requestID, so a repeated sendRequestXML
/// gets the same request again.
pub fn next_request(run: &Progress, page_size: u32) -> Option<(String, Request)> {
    let prefix = match run.step {
        Step::CustomersDeleted => "cdel",
        Step::Customers => "cust",
        Step::EmployeesDeleted => "edel",
        Step::Employees => "emp",
        Step::Start | Step::Done => return None,
    };
    let request_id = run.awaiting.clone().unwrap_or_else(|| format!("{prefix}-{}", run.request_count + 1));
    let deleted = |list_type: ListDelType, since: &Option<String>| {
        Request::ListDeleted(ListDeletedQuery {
            request_id: request_id.clone(),
            list_del_types: vec![list_type],
            from_deleted_date: since.clone(),
        })
    };
    let request = if run.step == Step::CustomersDeleted {
        deleted(ListDelType::Customer, &run.customers_since)
    } else if run.step == Step::EmployeesDeleted {
        deleted(ListDelType::Employee, &run.employees_since)
    } else if run.step == Step::Customers {
        Request::Customer(CustomerQuery {
            request_id: request_id.clone(),
            iterator: Some(match &run.iterator_id {
                Some(id) => IteratorMode::Continue { iterator_id: id.clone() },
                None => IteratorMode::Start,
            }),
            max_returned: Some(page_size.max(1)),
            active_status: Some(ActiveStatus::All),
            from_modified_date: run.customers_since.clone(),
            include_ret_elements: true,
        })
    } else {
        Request::Employee(EmployeeQuery {
            request_id: request_id.clone(),
            max_returned: None,
            active_status: Some(ActiveStatus::All),
            from_modified_date: run.employees_since.clone(),
            include_ret_elements: true,
        })
    };
    Some((request_id, request))
}

/// A warning or error to record on the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub level: EventLevel,
    pub code: Option<String>,
    pub message: String,
    pub explanation: Option<String>,
}

impl Note {
    pub fn warning(code: Option<String>, message: String, explanation: Option<String>) -> Note {
        Note { level: EventLevel::Warning, code, message, explanation }
    }
    pub fn error(code: Option<String>, message: String, explanation: Option<String>) -> Note {
        Note { level: EventLevel::Error, code, message, explanation }
    }
}

/// What applying one answered page asks the caller to do besides saving the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageEffects {
    pub notes: Vec<Note>,
    /// The customer list was read completely and cleanly: mark what it lacks as deleted.
    pub sweep_customers: bool,
    /// Likewise for employees.
    pub sweep_employees: bool,
    /// The customer list was read completely and cleanly (in full or from its watermark): it is
    /// up to date, and its watermark may move to the run's high water.
    pub complete_customers: bool,
    /// Likewise for employees.
    pub complete_employees: bool,
    /// The run ended having read every list in full and cleanly: the next full refresh is due a
    /// period from now.
    pub full_run_complete: bool,
    /// QuickBooks refused the deletion query: the run went on in full; why.
    pub refused: Option<String>,
}

fn list_name(step: Step) -> &'static str {
    match step {
        Step::Customers => "customer",
        Step::CustomersDeleted => "deleted customer",
        Step::EmployeesDeleted => "deleted employee",
        _ => "employee",
    }
}

/// Applies QuickBooks' answer to a ListDeletedQueryRq (`marked` records were newly marked
/// deleted). An error status means this QuickBooks does not do what an incremental run needs:
/// the run reads this list and the next in full instead, with a warning saying why.
fn apply_deleted(run: &mut Progress, status: &RsStatus) -> PageEffects {
    let mut effects = PageEffects::default();
    let what = list_name(run.step);
    let customers = run.step == Step::CustomersDeleted;
    match qbxml::classify_status(status.status_code) {
        qbxml::Severity::Error => {
            let reason = format!(
                "QuickBooks refused the {what} query (ListDeletedQueryRq) with status {}: {}",
                status.status_code,
                status.status_message.trim()
            );
            fall_back(run, &reason, &mut effects, qbxml::explain_status(status.status_code));
        }
        severity => {
            if matches!(severity, qbxml::Severity::Warning) {
                effects.notes.push(status_note(status, false, what));
                run.warning_count += 1;
                if customers {
                    run.customers_complete = false;
                } else {
                    run.employees_complete = false;
                }
            }
            run.step = if customers { Step::Customers } else { Step::Employees };
        }
    }
    run.percent = percent(run);
    effects
}

/// The deletion query of the current step could not be used (`reason`): this list and the next
/// are read in full, and the run says why.
pub fn fall_back(run: &mut Progress, reason: &str, effects: &mut PageEffects, explanation: Option<&str>) {
    let customers = run.step == Step::CustomersDeleted;
    run.employees_since = None;
    if customers {
        run.customers_since = None;
        run.mode = RunMode::Full;
        run.step = Step::Customers;
    } else {
        run.step = Step::Employees;
    }
    run.warning_count += 1;
    effects.notes.push(Note::warning(
        None,
        format!(
            "{reason}. This QuickBooks cannot tell qbsync what changed, so this run and the next read every record"
        ),
        explanation.map(str::to_string),
    ));
    effects.refused = Some(reason.to_string());
}

fn status_note(status: &RsStatus, level_error: bool, what: &str) -> Note {
    let message = format!(
        "QuickBooks answered the {what} query with status {} ({}): {}",
        status.status_code,
        status.status_severity,
        status.status_message.trim()
    );
    let explanation = qbxml::explain_status(status.status_code).map(str::to_string);
    let code = Some(status.status_code.to_string());
    if level_error { Note::error(code, message, explanation) } else { Note::warning(code, message, explanation) }
}

/// Applies QuickBooks' answer to the outstanding request: `staged` records of the page were
/// staged. Moves the run to its next request or step and says what else must happen.
pub fn apply_page(run: &mut Progress, status: &RsStatus, staged: i64) -> PageEffects {
    run.awaiting = None;
    if matches!(run.step, Step::CustomersDeleted | Step::EmployeesDeleted) {
        return apply_deleted(run, status);
    }
    let mut effects = PageEffects::default();
    let what = list_name(run.step);
    let code = status.status_code;
    let step_finished;
    match qbxml::classify_status(code) {
        qbxml::Severity::Ok | qbxml::Severity::NoMatch | qbxml::Severity::Info | qbxml::Severity::Warning => {
            if matches!(qbxml::classify_status(code), qbxml::Severity::Warning) {
                effects.notes.push(status_note(status, false, what));
                run.warning_count += 1;
                mark_incomplete(run);
            }
            if run.step == Step::Customers {
                run.customers_staged += staged;
                let remaining = status.iterator_remaining_count.map(i64::from);
                let no_more = code == 1 || remaining.unwrap_or(0) == 0 || status.iterator_id.is_none();
                if no_more {
                    step_finished = true;
                } else {
                    run.iterator_id = status.iterator_id.clone();
                    run.iterator_remaining = remaining;
                    step_finished = false;
                }
            } else {
                run.employees_staged += staged;
                step_finished = true;
            }
        }
        qbxml::Severity::Error
            if code == 3391 && run.step == Step::Customers && run.iterator_restarts < MAX_ITERATOR_RESTARTS =>
        {
            run.iterator_restarts += 1;
            run.iterator_id = None;
            run.iterator_remaining = None;
            run.warning_count += 1;
            effects.notes.push(Note::warning(
                Some(code.to_string()),
                format!(
                    "QuickBooks said the customer iterator had expired (status 3391); the customer list was \
                     restarted from the beginning (restart {} of {MAX_ITERATOR_RESTARTS})",
                    run.iterator_restarts
                ),
                qbxml::explain_status(code).map(str::to_string),
            ));
            step_finished = false;
        }
        qbxml::Severity::Error => {
            effects.notes.push(status_note(status, true, what));
            run.error_count += 1;
            mark_incomplete(run);
            step_finished = true;
        }
    }
    if step_finished {
        if run.step == Step::Customers {
            effects.complete_customers = run.customers_complete;
            effects.sweep_customers = run.customers_complete && run.customers_since.is_none();
            run.step = employees_step(run);
        } else {
            effects.complete_employees = run.employees_complete;
            effects.sweep_employees = run.employees_complete && run.employees_since.is_none();
            effects.full_run_complete = effects.sweep_employees
                && run.customers_complete
                && run.customers_since.is_none()
                && run.error_count == 0;
            run.step = Step::Done;
        }
        run.iterator_id = None;
        run.iterator_remaining = None;
    }
    run.percent = percent(run);
    effects
}

fn mark_incomplete(run: &mut Progress) {
    if run.step == Step::Customers {
        run.customers_complete = false;
    } else {
        run.employees_complete = false;
    }
}

/// Progress for QBWC's bar: grows with what was really fetched (iterator remaining counts),
/// never goes back, and is 100 only when nothing is left to ask.
pub fn percent(run: &Progress) -> i64 {
    let base = if run.customers_since.is_some() { DELETED_SHARE } else { 0 };
    let computed = match run.step {
        Step::Start | Step::CustomersDeleted => 0,
        Step::Customers => match run.iterator_remaining {
            Some(remaining) if run.customers_staged + remaining > 0 => {
                base + (CUSTOMER_SHARE - base) * run.customers_staged / (run.customers_staged + remaining)
            }
            _ => base,
        },
        Step::EmployeesDeleted => CUSTOMER_SHARE,
        Step::Employees => CUSTOMER_SHARE + if run.employees_since.is_some() { DELETED_SHARE } else { 0 },
        Step::Done => 100,
    };
    if run.step == Step::Done { 100 } else { computed.max(run.percent).min(99) }
}

/// `1204` → `1,204`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The run's outcome once it ends normally through closeConnection.
pub fn outcome(run: &Progress) -> Outcome {
    let staged_anything = run.customers_staged + run.employees_staged > 0;
    if run.error_count > 0 || run.step != Step::Done {
        if run.step == Step::Done && staged_anything { Outcome::Errors } else { Outcome::Failed }
    } else if run.warning_count > 0 {
        Outcome::Warnings
    } else {
        Outcome::Success
    }
}

/// The one-line summary closeConnection returns and the run history keeps.
pub fn summary(run: &Progress) -> String {
    let mut text = format!(
        "{}Staged {} and {}",
        if run.mode == RunMode::Incremental { "Incremental run: " } else { "" },
        plural(run.customers_staged, "customer", "customers"),
        plural(run.employees_staged, "employee", "employees")
    );
    let deleted = run.customers_deleted + run.employees_deleted;
    if deleted > 0 {
        text.push_str(&format!("; {} no longer in QuickBooks", plural(deleted, "record", "records")));
    }
    if run.warning_count > 0 {
        text.push_str(&format!("; {}", plural(run.warning_count, "warning", "warnings")));
    }
    if run.error_count > 0 {
        text.push_str(&format!(
            "; {}, the last: {}",
            plural(run.error_count, "error", "errors"),
            run.last_error.as_deref().unwrap_or("see the run history")
        ));
    } else if run.step != Step::Done {
        text.push_str("; the run ended before every list was read");
    }
    text
}

/// Compares dotted version numbers (`2.3.0.215`); missing parts count as 0, and text that is not
/// a number sorts as 0.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |s: &str| -> Vec<u64> { s.trim().split('.').map(|p| p.trim().parse().unwrap_or(0)).collect() };
    let (mut a, mut b) = (parse(a), parse(b));
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    a.cmp(&b)
}

/// The clientVersion answer: `E:` below the minimum, `W:` below the recommended version, else
/// empty (carry on).
pub fn client_version_answer(version: &str, minimum: Option<&str>, recommended: Option<&str>) -> String {
    use std::cmp::Ordering::Less;
    if let Some(min) = minimum.filter(|m| !m.is_empty())
        && compare_versions(version, min) == Less
    {
        return format!(
            "E:This QuickBooks Web Connector is version {version}; qbsync needs {min} or later. \
                 Install the current Web Connector from Intuit and run the update again."
        );
    }
    if let Some(rec) = recommended.filter(|r| !r.is_empty())
        && compare_versions(version, rec) == Less
    {
        return format!(
            "W:This QuickBooks Web Connector is version {version}; version {rec} or later is recommended. \
                 Press OK to go on with the update."
        );
    }
    String::new()
}

/// Chooses the qbXML version to speak: the highest qbsync supports that QuickBooks supports.
/// `supported` comes from the HostQuery in strHCPResponse when there is one; `reported` is
/// QBWC's qbXMLMajorVers/MinorVers, the highest the request processor accepts.
pub fn choose_version(
    supported: &[QbxmlVersion],
    reported: Option<QbxmlVersion>,
) -> Result<QbxmlVersion, qbxml::VersionTooOld> {
    let mut candidates: Vec<QbxmlVersion> =
        supported.iter().copied().filter(|v| reported.is_none_or(|r| *v <= r)).collect();
    if candidates.is_empty() {
        candidates.extend(reported);
    }
    if candidates.is_empty() {
        // Neither the HCP response nor QBWC said anything: speak the most widely accepted version.
        candidates.push(QbxmlVersion::MAX_SUPPORTED);
    }
    qbxml::choose_version(&candidates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qbxml::RsKind;

    fn run_at(step: Step) -> Progress {
        Progress { step, qbxml_version: QbxmlVersion::parse("13.0"), ..Progress::default() }
    }

    fn status(kind: RsKind, code: i32, iterator: Option<(&str, u32)>) -> RsStatus {
        RsStatus {
            kind,
            request_id: None,
            status_code: code,
            status_severity: if code >= 1000 {
                "Error".into()
            } else if code >= 500 {
                "Warn".into()
            } else {
                "Info".into()
            },
            status_message: "Status message".into(),
            iterator_id: iterator.map(|(id, _)| id.to_string()),
            iterator_remaining_count: iterator.map(|(_, n)| n),
            ret_count: None,
        }
    }

    #[test]
    fn customers_are_paged_then_employees_then_done() {
        let mut run = run_at(Step::Customers);
        let (id, request) = next_request(&run, 500).unwrap();
        assert_eq!(id, "cust-1");
        assert!(matches!(request, Request::Customer(CustomerQuery { iterator: Some(IteratorMode::Start), .. })));

        run.awaiting = Some(id);
        let effects = apply_page(&mut run, &status(RsKind::CustomerQuery, 0, Some(("{it}", 1500))), 500);
        assert!(effects.notes.is_empty());
        assert_eq!(run.step, Step::Customers);
        assert_eq!(run.percent, 22);
        run.request_count = 1;
        let (_, request) = next_request(&run, 500).unwrap();
        assert!(matches!(
            request,
            Request::Customer(CustomerQuery { iterator: Some(IteratorMode::Continue { .. }), .. })
        ));

        apply_page(&mut run, &status(RsKind::CustomerQuery, 0, Some(("{it}", 0))), 1500);
        assert_eq!(run.step, Step::Employees);
        assert_eq!(run.percent, 90);
        let (_, request) = next_request(&run, 500).unwrap();
        assert!(matches!(request, Request::Employee(_)));

        let effects = apply_page(&mut run, &status(RsKind::EmployeeQuery, 0, None), 37);
        assert!(effects.sweep_employees);
        assert_eq!(run.step, Step::Done);
        assert_eq!(run.percent, 100);
        assert_eq!(outcome(&run), Outcome::Success);
        assert_eq!(summary(&run), "Staged 2,000 customers and 37 employees");
    }

    #[test]
    fn an_unanswered_request_is_handed_out_again_with_the_same_id() {
        let mut run = run_at(Step::Customers);
        run.awaiting = Some("cust-4".into());
        run.request_count = 4;
        assert_eq!(next_request(&run, 100).unwrap().0, "cust-4");
    }

    #[test]
    fn nothing_found_is_an_empty_complete_list() {
        let mut run = run_at(Step::Customers);
        let effects = apply_page(&mut run, &status(RsKind::CustomerQuery, 1, None), 0);
        assert!(effects.sweep_customers);
        assert_eq!(run.step, Step::Employees);
    }

    #[test]
    fn an_expired_iterator_restarts_the_list_a_bounded_number_of_times() {
        let mut run = run_at(Step::Customers);
        run.iterator_id = Some("{old}".into());
        for restart in 1..=MAX_ITERATOR_RESTARTS {
            let effects = apply_page(&mut run, &status(RsKind::CustomerQuery, 3391, None), 0);
            assert_eq!(effects.notes[0].level, EventLevel::Warning);
            assert_eq!(run.iterator_restarts, restart);
            assert_eq!(run.iterator_id, None);
            assert_eq!(run.step, Step::Customers);
        }
        let effects = apply_page(&mut run, &status(RsKind::CustomerQuery, 3391, None), 0);
        assert_eq!(effects.notes[0].level, EventLevel::Error);
        assert_eq!(run.step, Step::Employees);
        assert!(!effects.sweep_customers);
    }

    #[test]
    fn warnings_keep_the_data_but_skip_the_deletion_sweep() {
        let mut run = run_at(Step::Customers);
        let effects = apply_page(&mut run, &status(RsKind::CustomerQuery, 530, Some(("{it}", 0))), 10);
        assert_eq!(effects.notes.len(), 1);
        assert!(!effects.sweep_customers);
        assert_eq!(run.customers_staged, 10);
        assert_eq!(run.warning_count, 1);
    }

    #[test]
    fn an_error_status_ends_the_step_and_the_run_goes_on() {
        let mut run = run_at(Step::Employees);
        let effects = apply_page(&mut run, &status(RsKind::EmployeeQuery, 3261, None), 0);
        assert_eq!(effects.notes[0].level, EventLevel::Error);
        assert_eq!(effects.notes[0].code.as_deref(), Some("3261"));
        assert!(!effects.sweep_employees);
        assert_eq!(run.step, Step::Done);
        assert_eq!(outcome(&run), Outcome::Failed);
    }

    #[test]
    fn percent_never_goes_back() {
        let mut run = run_at(Step::Customers);
        run.percent = 50;
        run.customers_staged = 10;
        run.iterator_remaining = Some(1000);
        assert_eq!(percent(&run), 50);
    }

    #[test]
    fn an_incremental_run_asks_for_deletions_then_changes_of_each_list() {
        let planned = plan_run(
            Some("2024-11-03T01:50:00-05:00"),
            Some("2024-06-01T08:00:00-05:00"),
            None,
            chrono::Duration::minutes(120),
        );
        assert_eq!(planned.mode, RunMode::Incremental);
        assert_eq!(planned.customers_since.as_deref(), Some("2024-11-02T23:50:00"));
        assert_eq!(planned.employees_since.as_deref(), Some("2024-06-01T06:00:00"));
        let mut run = Progress {
            mode: planned.mode,
            customers_since: planned.customers_since,
            employees_since: planned.employees_since,
            ..run_at(Step::Start)
        };
        run.step = first_step(&run);
        assert_eq!(run.step, Step::CustomersDeleted);
        let (id, request) = next_request(&run, 100).unwrap();
        assert_eq!(id, "cdel-1");
        assert_eq!(
            request,
            Request::ListDeleted(ListDeletedQuery {
                request_id: "cdel-1".into(),
                list_del_types: vec![ListDelType::Customer],
                from_deleted_date: Some("2024-11-02T23:50:00".into()),
            })
        );
        let effects = apply_page(&mut run, &status(RsKind::ListDeletedQuery, 1, None), 0);
        assert_eq!(run.step, Step::Customers);
        assert_eq!(run.percent, DELETED_SHARE);
        assert!(effects.notes.is_empty());
        let (_, request) = next_request(&run, 100).unwrap();
        let Request::Customer(query) = request else { panic!("{request:?}") };
        assert_eq!(query.from_modified_date.as_deref(), Some("2024-11-02T23:50:00"));

        apply_page(&mut run, &status(RsKind::CustomerQuery, 0, Some(("{it}", 30))), 10);
        assert_eq!(run.percent, 5 + 85 * 10 / 40);
        let effects = apply_page(&mut run, &status(RsKind::CustomerQuery, 0, Some(("{it}", 0))), 30);
        assert!(effects.complete_customers);
        assert!(!effects.sweep_customers, "an incremental list is never swept");
        assert_eq!(run.step, Step::EmployeesDeleted);
        apply_page(&mut run, &status(RsKind::ListDeletedQuery, 0, None), 1);
        assert_eq!((run.step, run.percent), (Step::Employees, 95));
        let effects = apply_page(&mut run, &status(RsKind::EmployeeQuery, 1, None), 0);
        assert!(effects.complete_employees && !effects.sweep_employees && !effects.full_run_complete);
        assert_eq!(run.percent, 100);
        assert!(summary(&run).starts_with("Incremental run: Staged 40 customers"), "{}", summary(&run));
    }

    #[test]
    fn a_list_without_a_watermark_or_a_due_full_refresh_reads_in_full() {
        let overlap = chrono::Duration::minutes(120);
        let planned = plan_run(None, Some("2024-06-01T08:00:00"), None, overlap);
        assert_eq!((planned.mode, planned.customers_since), (RunMode::Incremental, None));
        let planned = plan_run(None, None, None, overlap);
        assert_eq!(planned.mode, RunMode::Full);
        let planned = plan_run(Some("2024-06-01T08:00:00"), Some("x"), Some(FullBecause::Scheduled), overlap);
        assert_eq!(planned, RunPlan { mode: RunMode::Full, customers_since: None, employees_since: None });

        let mut run = run_at(Step::Customers);
        let effects = apply_page(&mut run, &status(RsKind::CustomerQuery, 0, Some(("{it}", 0))), 3);
        assert!(effects.sweep_customers && effects.complete_customers);
        assert_eq!(run.step, Step::Employees);
        let effects = apply_page(&mut run, &status(RsKind::EmployeeQuery, 0, None), 2);
        assert!(effects.sweep_employees && effects.full_run_complete);
    }

    #[test]
    fn a_refused_deletion_query_turns_the_run_full_with_a_warning() {
        let mut run = Progress {
            mode: RunMode::Incremental,
            customers_since: Some("2024-06-01T06:00:00".into()),
            employees_since: Some("2024-06-01T06:00:00".into()),
            ..run_at(Step::CustomersDeleted)
        };
        let effects = apply_page(&mut run, &status(RsKind::ListDeletedQuery, 1030, None), 0);
        assert_eq!((run.step, run.mode), (Step::Customers, RunMode::Full));
        assert_eq!((run.customers_since.as_deref(), run.employees_since.as_deref()), (None, None));
        assert_eq!(run.warning_count, 1);
        assert_eq!(effects.notes[0].level, EventLevel::Warning);
        assert!(effects.refused.as_deref().is_some_and(|r| r.contains("1030")), "{effects:?}");
        let (_, request) = next_request(&run, 100).unwrap();
        assert!(matches!(request, Request::Customer(CustomerQuery { from_modified_date: None, .. })));
    }

    #[test]
    fn watermarks_are_quickbooks_local_times_and_never_far_in_the_future() {
        let now = DateTime::parse_from_rfc3339("2024-11-03T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(local_part("2024-11-03T01:50:00-05:00"), Some("2024-11-03T01:50:00"));
        assert_eq!(local_part("2024-11-03 01:50:00"), None);
        assert_eq!(watermark_candidate("2024-11-03T01:50:00-05:00", now), Some("2024-11-03T01:50:00"));
        assert_eq!(watermark_candidate("2024-11-04T11:00:00Z", now), Some("2024-11-04T11:00:00"));
        assert_eq!(watermark_candidate("2031-01-01T00:00:00-05:00", now), None, "a clock years ahead");
        assert_eq!(watermark_candidate("2024-11-05T20:00:00", now), None);
        assert_eq!(
            from_modified_date("2024-03-10T01:30:00-05:00", chrono::Duration::minutes(120)).unwrap(),
            "2024-03-09T23:30:00"
        );
        assert_eq!(
            later(Some("2024-11-03T01:50:00".into()), Some("2024-11-03T01:20:00")).unwrap(),
            "2024-11-03T01:50:00"
        );
        assert_eq!(later(None, Some("2024-11-03T01:20:00")).unwrap(), "2024-11-03T01:20:00");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn client_versions_are_compared_numerically() {
        assert_eq!(client_version_answer("2.3.0.215", Some("2.1.0.30"), None), "");
        assert!(client_version_answer("2.0.0.116", Some("2.1.0.30"), None).starts_with("E:"));
        assert!(client_version_answer("2.2.0.71", None, Some("2.3")).starts_with("W:"));
        assert_eq!(client_version_answer("10.0", Some("9.9.9"), None), "");
    }

    #[test]
    fn the_version_is_the_highest_both_sides_support() {
        let v = |s: &str| QbxmlVersion::parse(s).unwrap();
        let supported: Vec<_> = ["1.0", "2.0", "5.0", "11.0", "12.0", "13.0", "14.0", "16.0"].map(v).to_vec();
        assert_eq!(choose_version(&supported, Some(v("16.0"))).unwrap(), v("13.0"));
        assert_eq!(choose_version(&supported, Some(v("12.0"))).unwrap(), v("12.0"));
        assert_eq!(choose_version(&[], Some(v("11.0"))).unwrap(), v("11.0"));
        assert!(choose_version(&[v("1.0"), v("4.1")], Some(v("4.1"))).is_err());
    }
}

//! Sign-in defences shared by the admin page and the Web Connector's `authenticate`.
//!
//! Two things, both needed on a server open to the internet:
//! - [`PasswordGate`]: every argon2 check (and hash) runs on a blocking thread under a small
//!   semaphore. An admin password check allocates about 19 MiB; without the bound, a hundred
//!   concurrent wrong sign-ins took the process from 32 MiB to 1.6 GiB. A check that waits for
//!   its turn longer than the policy allows is given up ([`Busy`]) instead of piling up.
//! - [`SignInGuard`]: failures are counted per account and per client address in the database
//!   (`store::sign_in`), so every process sharing it counts the same guesser. Too many failures
//!   in the window lock the account or address for a while; each failure is answered only after
//!   a delay that doubles with the account's failures. While locked, even the right password is
//!   refused, and the refusal looks like any other failure (the Web Connector gets `nvu`).
//!   Only wrong passwords count: a successful sign-in clears its account's counter.
//!
//! Each failure, lockout and refusal is logged (`warn`) with the realm, the account as typed
//! and the client address; never the password.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tracing::warn;

use crate::metrics::Metrics;
use crate::secrets;
use crate::store::{self, Db, StoreError, sign_in};

/// The limits of sign-in attempts and password checks.
#[derive(Clone, Debug)]
pub struct SignInPolicy {
    /// Failures of one account within [`Self::window`] that lock it.
    pub account_max_failures: u32,
    /// Failures from one client address within [`Self::window`] that lock it.
    pub address_max_failures: u32,
    /// How far back failures count.
    pub window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
    /// Delay before answering an account's first failure; it doubles with each further one.
    pub first_delay: Duration,
    /// The longest delay; also how long a refusal while locked waits.
    pub max_delay: Duration,
    /// Password checks running at once (0: one per CPU).
    pub password_checks: usize,
    /// Longest wait for a turn to check a password before the attempt is given up.
    pub password_check_wait: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        SignInPolicy {
            account_max_failures: 5,
            address_max_failures: 20,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            password_checks: 0,
            password_check_wait: Duration::from_secs(5),
        }
    }
}

impl SignInPolicy {
    /// The delay before answering an account's `failures`-th failure in its window.
    pub fn failure_delay(&self, failures: i64) -> Duration {
        let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.first_delay.saturating_mul(1u32 << doublings).min(self.max_delay)
    }
}

/// Who is signing in: an admin on the admin page, or a Web Connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Realm {
    Admin,
    WebConnector,
}

impl Realm {
    fn account_kind(self) -> &'static str {
        match self {
            Realm::Admin => "admin",
            Realm::WebConnector => "qbwc",
        }
    }

    fn address_kind(self) -> &'static str {
        match self {
            Realm::Admin => "admin-address",
            Realm::WebConnector => "qbwc-address",
        }
    }

    /// The realm's label in logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Realm::Admin => "admin",
            Realm::WebConnector => "web_connector",
        }
    }
}

/// What an attempt comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches an existing account.
    Granted,
    /// A wrong password, an unknown account, or a lock: the caller answers its usual failure.
    Refused,
    /// The password could not be checked in time (too many checks waiting).
    Busy,
}

/// A password check waited for its turn longer than the policy allows.
#[derive(Debug, thiserror::Error)]
#[error("too many password checks are waiting; try again shortly")]
pub struct Busy;

/// Runs password checks on blocking threads, at most `limit` at once.
pub struct PasswordGate {
    permits: Arc<Semaphore>,
    limit: usize,
    wait: Duration,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl PasswordGate {
    /// A gate for `limit` concurrent checks (0: one per CPU), giving up after `wait` in line.
    pub fn new(limit: usize, wait: Duration) -> PasswordGate {
        let limit = if limit == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { limit };
        PasswordGate {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            wait,
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs `work` (an argon2 check or hash) on a blocking thread once a permit is free. The
    /// permit goes with the work: a caller that gives up (a client that hangs up) does not free
    /// it before the work is done.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let (running, peak) = (self.running.clone(), self.peak.clone());
        tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let out = work();
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(|_| Busy)
    }

    /// How many checks may run at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The most checks that ever ran at once in this process.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Throttling, lockout and the bounded password check, for both realms.
pub struct SignInGuard {
    db: Db,
    policy: SignInPolicy,
    gate: PasswordGate,
    metrics: Arc<Metrics>,
}

impl SignInGuard {
    pub fn new(db: Db, policy: SignInPolicy, metrics: Arc<Metrics>) -> SignInGuard {
        let gate = PasswordGate::new(policy.password_checks, policy.password_check_wait);
        SignInGuard { db, policy, gate, metrics }
    }

    pub fn gate(&self) -> &PasswordGate {
        &self.gate
    }

    pub fn policy(&self) -> &SignInPolicy {
        &self.policy
    }

    /// Checks `password` for `account` (its PHC string, `None` when no such account exists, which
    /// costs the same time) under the throttling rules, logging what happens.
    pub async fn attempt(
        &self,
        realm: Realm,
        account: &str,
        address: Option<IpAddr>,
        password: String,
        phc: Option<String>,
    ) -> Result<Verdict, StoreError> {
        let now = store::now();
        let address_text = address.map(|a| a.to_canonical().to_string());
        let client = address_text.as_deref().unwrap_or("unknown");
        let account_locked = sign_in::is_locked(&self.db, realm.account_kind(), account, now).await?;
        let address_locked = match &address_text {
            Some(ip) => sign_in::is_locked(&self.db, realm.address_kind(), ip, now).await?,
            None => false,
        };
        if account_locked || address_locked {
            let locked = if account_locked { "account" } else { "client address" };
            warn!(realm = realm.label(), account = ?account, client, "sign-in refused: the {locked} is locked out");
            self.metrics.sign_in_failed(realm.label(), "locked");
            tokio::time::sleep(self.policy.max_delay).await;
            return Ok(Verdict::Refused);
        }
        let exists = phc.is_some();
        let checked = self
            .gate
            .run(move || match phc {
                Some(phc) => secrets::verify_password(&password, &phc),
                None => {
                    match realm {
                        Realm::Admin => secrets::waste_admin_password_check(&password),
                        Realm::WebConnector => secrets::waste_password_check(&password),
                    }
                    false
                }
            })
            .await;
        let Ok(matches) = checked else {
            warn!(realm = realm.label(), account = ?account, client, "sign-in given up: too many password checks waiting");
            self.metrics.sign_in_failed(realm.label(), "busy");
            return Ok(Verdict::Busy);
        };
        let window_cutoff = now - chrono::Duration::from_std(self.policy.window).unwrap_or(chrono::Duration::MAX);
        if matches && exists {
            sign_in::clear(&self.db, realm.account_kind(), account, now, window_cutoff).await?;
            return Ok(Verdict::Granted);
        }
        let lock_until = now + chrono::Duration::from_std(self.policy.lockout).unwrap_or(chrono::Duration::days(1));
        let by_account = sign_in::add_failure(
            &self.db,
            realm.account_kind(),
            account,
            now,
            window_cutoff,
            i64::from(self.policy.account_max_failures.max(1)),
            lock_until,
        )
        .await?;
        let by_address = match &address_text {
            Some(ip) => Some(
                sign_in::add_failure(
                    &self.db,
                    realm.address_kind(),
                    ip,
                    now,
                    window_cutoff,
                    i64::from(self.policy.address_max_failures.max(1)),
                    lock_until,
                )
                .await?,
            ),
            None => None,
        };
        let reason = if exists { "wrong password" } else { "unknown account" };
        warn!(
            realm = realm.label(),
            account = ?account,
            client,
            failures = by_account.count,
            address_failures = by_address.map_or(0, |f| f.count),
            "sign-in failed: {reason}"
        );
        self.metrics.sign_in_failed(realm.label(), "wrong");
        if by_account.count == i64::from(self.policy.account_max_failures.max(1)) {
            warn!(realm = realm.label(), account = ?account, client, until = %lock_until, "sign-in lockout: account locked");
            self.metrics.sign_in_locked(realm.label(), "account");
        }
        if by_address.is_some_and(|f| f.count == i64::from(self.policy.address_max_failures.max(1))) {
            warn!(realm = realm.label(), account = ?account, client, until = %lock_until, "sign-in lockout: client address locked");
            self.metrics.sign_in_locked(realm.label(), "address");
        }
        tokio::time::sleep(self.policy.failure_delay(by_account.count)).await;
        Ok(Verdict::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_delay_doubles_up_to_its_cap() {
        let policy = SignInPolicy {
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            ..SignInPolicy::default()
        };
        let delays: Vec<u128> = (0..8).map(|n| policy.failure_delay(n).as_millis()).collect();
        assert_eq!(delays, [250, 250, 500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(policy.failure_delay(i64::MAX), Duration::from_secs(4));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_runs_at_most_its_limit_and_gives_up_on_a_long_wait() {
        let gate = Arc::new(PasswordGate::new(2, Duration::from_secs(10)));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let gate = gate.clone();
            tasks.push(tokio::spawn(async move {
                gate.run(|| std::thread::sleep(Duration::from_millis(30))).await.is_ok()
            }));
        }
        for task in tasks {
            assert!(task.await.unwrap());
        }
        assert_eq!(gate.peak(), 2);

        let hurried = Arc::new(PasswordGate::new(1, Duration::from_millis(20)));
        let slow = {
            let hurried = hurried.clone();
            tokio::spawn(async move { hurried.run(|| std::thread::sleep(Duration::from_millis(300))).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(hurried.run(|| ()).await.is_err(), "a check waiting longer than allowed is given up");
        assert!(slow.await.unwrap().is_ok());
        assert!(hurried.run(|| ()).await.is_ok(), "the gate is free again");
    }
}

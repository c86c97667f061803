//! Intuit's request limits per company (realm): so many requests a minute and so many at once.
//! Kept per process; one pull makes one request at a time, so several processes stay within
//! them unless many pulls of one company run at once (Intuit's 429 is then handled by retrying).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub struct Limits {
    per_minute: u32,
    at_once: u32,
    realms: Mutex<HashMap<String, Realm>>,
}

struct Realm {
    in_flight: Arc<Semaphore>,
    /// When the requests of the last minute started.
    recent: VecDeque<Instant>,
}

/// Held while a request is in flight.
pub struct Permit {
    _permit: OwnedSemaphorePermit,
}

impl Limits {
    pub fn new(per_minute: u32, at_once: u32) -> Limits {
        Limits { per_minute: per_minute.max(1), at_once: at_once.max(1), realms: Mutex::new(HashMap::new()) }
    }

    /// Waits until a request to the realm is within both limits.
    pub async fn admit(&self, realm_id: &str) -> Permit {
        let semaphore = {
            let mut realms = self.realms.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let realm = realms.entry(realm_id.to_string()).or_insert_with(|| Realm {
                in_flight: Arc::new(Semaphore::new(self.at_once as usize)),
                recent: VecDeque::new(),
            });
            realm.in_flight.clone()
        };
        let permit = semaphore.acquire_owned().await.expect("the semaphore is never closed");
        loop {
            let wait = {
                let mut realms = self.realms.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let realm = realms.get_mut(realm_id).expect("the realm was added above");
                let now = Instant::now();
                while realm.recent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
                    realm.recent.pop_front();
                }
                if realm.recent.len() < self.per_minute as usize {
                    realm.recent.push_back(now);
                    None
                } else {
                    realm
                        .recent
                        .front()
                        .map(|oldest| Duration::from_secs(60).saturating_sub(now.duration_since(*oldest)))
                }
            };
            match wait {
                None => return Permit { _permit: permit },
                Some(wait) => tokio::time::sleep(wait.max(Duration::from_millis(10))).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_realm_gets_its_per_minute_budget_then_waits() {
        let limits = Limits::new(3, 10);
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            drop(limits.admit("r").await);
        }
        assert!(start.elapsed() < Duration::from_secs(1));
        // Another realm has its own budget.
        drop(limits.admit("other").await);
        assert!(start.elapsed() < Duration::from_secs(1));
        // The fourth request to "r" within the minute waits for the minute to end.
        drop(limits.admit("r").await);
        assert!(start.elapsed() >= Duration::from_secs(60), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn at_most_so_many_requests_are_in_flight() {
        let limits = Arc::new(Limits::new(100, 2));
        let a = limits.admit("r").await;
        let _b = limits.admit("r").await;
        let waiting = {
            let limits = limits.clone();
            tokio::spawn(async move { limits.admit("r").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a third waits while two are in flight");
        drop(a);
        tokio::time::timeout(Duration::from_secs(2), waiting).await.unwrap().unwrap();
    }
}

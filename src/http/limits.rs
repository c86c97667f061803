//! A request budget per organization for the JSON API, so that one tenant's readers cannot take
//! every worker and database connection from the others.
//!
//! Each organization has a token bucket: `per_minute` requests a minute on average, and up to a
//! sixth of that (ten seconds' worth, at least 10) at once. A request over the budget answers 429
//! with `Retry-After`. The buckets live in this process: with several server processes behind a
//! load balancer, each grants its own budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Buckets kept before the full ones (idle organizations) are dropped.
const MAX_TRACKED: usize = 10_000;

pub struct ApiLimits {
    per_minute: u32,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl ApiLimits {
    /// A budget of `per_minute` requests a minute per organization; 0 turns the limit off.
    pub fn new(per_minute: u32) -> ApiLimits {
        ApiLimits { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    fn capacity(&self) -> f64 {
        (f64::from(self.per_minute) / 6.0).max(10.0)
    }

    /// Takes one request from the organization's budget, or says how long until one is free.
    pub fn admit(&self, organization_id: Uuid, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let capacity = self.capacity();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < capacity);
        }
        let bucket = buckets.entry(organization_id).or_insert(Bucket { tokens: capacity, at: now });
        bucket.tokens = (bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate).max(Duration::from_secs(1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_served_then_refused_with_the_wait_until_the_budget_refills() {
        let limits = ApiLimits::new(60); // one a second, ten at once
        let (org, start) = (Uuid::new_v4(), Instant::now());
        for _ in 0..10 {
            assert_eq!(limits.admit(org, start), Ok(()));
        }
        let wait = limits.admit(org, start).unwrap_err();
        assert!(wait >= Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(limits.admit(org, start + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn organizations_have_budgets_of_their_own() {
        let limits = ApiLimits::new(60);
        let (busy, quiet, now) = (Uuid::new_v4(), Uuid::new_v4(), Instant::now());
        while limits.admit(busy, now).is_ok() {}
        assert_eq!(limits.admit(quiet, now), Ok(()));
    }

    #[test]
    fn zero_means_no_limit() {
        let limits = ApiLimits::new(0);
        let (org, now) = (Uuid::new_v4(), Instant::now());
        assert!((0..10_000).all(|_| limits.admit(org, now).is_ok()));
    }
}

//! Caps on SOAP uploads in progress, per client address and in total.
//!
//! A body larger than [`spool::IN_MEMORY_BYTES`](crate::sync::spool::IN_MEMORY_BYTES) (or of
//! unknown length) holds a connection, a temporary file and, once received, a parser thread
//! until its call is answered. Without a cap, one client opening hundreds of slow uploads takes
//! them all. A real Web Connector makes one call at a time per company file, so a handful per
//! address is plenty. An upload over a cap is refused before its body is read; its slot is given
//! back when the call is answered, however it ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// The uploads in progress, shared by every worker of the server.
#[derive(Clone, Debug)]
pub struct Uploads {
    per_address: usize,
    total: usize,
    in_progress: Arc<Mutex<InProgress>>,
}

#[derive(Debug, Default)]
struct InProgress {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why an upload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("too many uploads from this address are in progress ({0} at most at once)")]
    Address(usize),
    #[error("too many uploads are in progress ({0} at most at once)")]
    Total(usize),
}

/// One upload in progress; dropping it frees its place.
#[derive(Debug)]
pub struct UploadSlot {
    address: IpAddr,
    in_progress: Arc<Mutex<InProgress>>,
}

impl Uploads {
    /// At most `per_address` uploads from one address and `total` in all (each at least 1).
    pub fn new(per_address: usize, total: usize) -> Uploads {
        Uploads { per_address: per_address.max(1), total: total.max(1), in_progress: Arc::default() }
    }

    /// Takes a place for an upload from `address`, or says which cap is reached.
    pub fn start(&self, address: IpAddr) -> Result<UploadSlot, Refused> {
        let mut state = self.in_progress.lock().unwrap_or_else(PoisonError::into_inner);
        let from_address = state.by_address.get(&address).copied().unwrap_or(0);
        if from_address >= self.per_address {
            return Err(Refused::Address(self.per_address));
        }
        if state.total >= self.total {
            return Err(Refused::Total(self.total));
        }
        state.total += 1;
        *state.by_address.entry(address).or_default() += 1;
        Ok(UploadSlot { address, in_progress: self.in_progress.clone() })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut state = self.in_progress.lock().unwrap_or_else(PoisonError::into_inner);
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                state.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn an_address_over_its_cap_is_refused_until_one_of_its_uploads_ends() {
        let uploads = Uploads::new(2, 10);
        let first = uploads.start(ip(1)).unwrap();
        let _second = uploads.start(ip(1)).unwrap();

        assert_eq!(uploads.start(ip(1)).unwrap_err(), Refused::Address(2));
        assert!(uploads.start(ip(2)).is_ok(), "another address is not affected");

        drop(first);
        assert!(uploads.start(ip(1)).is_ok());
    }

    #[test]
    fn uploads_over_the_total_cap_are_refused_whatever_their_address() {
        let uploads = Uploads::new(2, 3);
        let slots: Vec<_> = (1..=3).map(|n| uploads.start(ip(n)).unwrap()).collect();

        assert_eq!(uploads.start(ip(4)).unwrap_err(), Refused::Total(3));

        drop(slots);
        let _fourth = uploads.start(ip(4)).unwrap();
        assert_eq!(uploads.in_progress.lock().unwrap().by_address.len(), 1, "ended addresses are forgotten");
    }
}

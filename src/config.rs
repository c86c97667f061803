//! Settings of `qbsync serve`, from flags or environment variables (see `cli`).

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::qbo::QboSettings;
use crate::signin::SignInPolicy;
use crate::store::DbOptions;
use crate::sync::SyncSettings;

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free one).
    pub listen: String,
    /// `sqlite:` path / plain file path, or `postgres://...`.
    pub database_url: String,
    /// The address the Web Connector and browsers use to reach this server.
    pub public_url: String,
    /// Largest SOAP request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// A SOAP request body is refused when nothing of it arrives for this long; once this long
    /// has passed since it began, it must also average `body_min_bytes_per_second`.
    pub body_timeout: Duration,
    /// Slowest average rate of a SOAP request body after the first `body_timeout` (0: none).
    pub body_min_bytes_per_second: u64,
    /// Longest time a SOAP request body may take from its first byte to its last.
    pub body_max_duration: Duration,
    /// Most uploads (SOAP bodies over 16 KiB or of unknown length) received at once from one
    /// client address.
    pub max_uploads_per_address: usize,
    /// Most uploads received at once in all.
    pub max_uploads: usize,
    /// Name of the application in the Web Connector and QuickBooks.
    pub app_name: String,
    /// Default Web Connector schedule of new connections, in minutes.
    pub run_every_minutes: i64,
    /// Number of HTTP worker threads (0: one per CPU).
    pub workers: usize,
    /// JSON API requests a minute each organization may make (0: no limit).
    pub api_requests_per_minute: u32,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies, load balancers). Empty: the
    /// client address is always the TCP peer's.
    pub trusted_proxies: Vec<IpRange>,
    /// When set, `/metrics` answers only `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// How long a first-run setup link stays valid.
    pub setup_link_ttl: chrono::Duration,
    pub sign_in: SignInPolicy,
    pub db: DbOptions,
    pub sync: SyncSettings,
    /// QuickBooks Online: the Intuit app's keys, endpoints and limits.
    pub qbo: QboSettings,
    /// The key sealing secrets at rest (base64 of 32 bytes). Unset with SQLite: a key file
    /// beside the database, made on first use; with PostgreSQL, QuickBooks Online needs it.
    pub secret_key: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "qbsync.db".into(),
            public_url: "http://localhost:8080".into(),
            max_body_bytes: 128 * 1024 * 1024,
            body_timeout: Duration::from_secs(60),
            body_min_bytes_per_second: 1024,
            body_max_duration: Duration::from_secs(15 * 60),
            max_uploads_per_address: 4,
            max_uploads: 64,
            app_name: "qbsync".into(),
            run_every_minutes: 60,
            workers: 0,
            api_requests_per_minute: 1200,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            setup_link_ttl: chrono::Duration::hours(24),
            sign_in: SignInPolicy::default(),
            db: DbOptions { max_connections: 10, acquire_timeout: Duration::from_secs(30) },
            sync: SyncSettings::default(),
            qbo: QboSettings::default(),
            secret_key: None,
        }
    }
}

/// An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

/// Why a `--trusted-proxy` entry is not an address or a CIDR block.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR block (like 10.0.0.0/8 or 192.0.2.7)")]
pub struct BadIpRange(String);

impl IpRange {
    /// Whether `ip` lies in the block. An IPv4 address seen as IPv4-mapped IPv6 (`::ffff:a.b.c.d`)
    /// matches IPv4 blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = BadIpRange;

    fn from_str(text: &str) -> Result<IpRange, BadIpRange> {
        let bad = || BadIpRange(text.to_string());
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpRange { network, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges_match_their_own_block_only() {
        let net: IpRange = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()), "IPv4-mapped IPv6 matches");
        let one: IpRange = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let all: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert!(!all.contains("2001:db8::1".parse().unwrap()));
        let v6: IpRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
    }

    #[test]
    fn malformed_ip_ranges_are_refused() {
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "::/129", "example.com", "10.0.0.0/x"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
    }
}

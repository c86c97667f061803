//! Simulator: plays the QuickBooks Web Connector *and* QuickBooks Desktop against a running
//! qbsync server over real HTTP, exactly as the real Web Connector would.
//!
//! It is deliberately independent of qbsync's own SOAP and qbXML code: it builds its own
//! envelopes and reads replies and qbXML requests with quick-xml, so it checks them as a peer.
//!
//! * [`data`]: the fake company file ([`Dataset::generate`], [`Dataset::evolve`]).
//! * [`quickbooks`]: [`FakeQuickBooks`], answering qbXML like QuickBooks Desktop, with [`Faults`].
//! * [`wire`]: SOAP 1.1 envelopes out, replies in.
//! * [`driver`]: [`run`], one Web Connector session over HTTP, giving a [`SimReport`].
//! * [`online`]: [`FakeIntuit`], a local fake of QuickBooks Online's OAuth 2.0 and Accounting
//!   API serving a [`Dataset`] (`qbsync simulate-online`).
//!
//! Typical use (the `simulate` command, the integration tests, the benchmark):
//! `let mut qb = FakeQuickBooks::new(Dataset::generate(seed, 500, 40), Faults::default());`
//! then `run(&SimOptions { url, username, password, ..Default::default() }, &mut qb)`, and
//! `report.summary()` or `serde_json::to_string(&report)`.

pub mod data;
pub mod driver;
pub mod online;
pub mod quickbooks;
pub mod wire;
pub(crate) mod xml;

pub use data::{Dataset, Evolution, SimAddress, SimCustomer, SimDeleted, SimEmployee};
pub use driver::{SimError, SimOptions, SimReport, endpoint_url, run};
pub use online::{FakeIntuit, FakeIntuitConfig, FakeIntuitStats, WebhookChange, WebhookFormat};
pub use quickbooks::{FakeQuickBooks, Faults, RequestProcessorError};

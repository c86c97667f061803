//! qbsync: stages QuickBooks customers and employees through the QuickBooks Web Connector and
//! lets an admin link them to the field-service application's locations and staff.
//!
//! Modules in reading order. The protocol modules (`soap`, `qbxml`) are pure: bytes in, values
//! out, no IO. `sync` runs the Web Connector session over `store`; `qbo` pulls from QuickBooks
//! Online into the same staging; `http` is the thin shell.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "512"]

/// The `qbsync` command line.
pub mod cli;
/// Server settings.
pub mod config;
/// Routes and handlers.
pub mod http;
/// Suggested pairs of unlinked records: normalization, blocking, scoring. Pure.
pub mod matching;
/// Counters for `/metrics`.
pub mod metrics;
/// QuickBooks Online: OAuth 2.0, the Accounting API client, pulls and webhooks.
pub mod qbo;
/// qbXML: typed request builders and streaming response parsers.
pub mod qbxml;
/// The `.qwc` file for the Web Connector.
pub mod qwc;
/// The staged QuickBooks records: one definition per kind, source-neutral.
pub mod record;
/// Change review: the fields of a linked QuickBooks record that matter, and what changed in them.
pub mod review;
/// Tickets, passwords, tokens and their hashes.
pub mod secrets;
/// Sign-in throttling, lockout and the bounded password check.
pub mod signin;
/// Plays the Web Connector and QuickBooks against a running server.
pub mod simulate;
/// SOAP 1.1 envelopes of the Web Connector contract: typed calls in, replies and faults out.
pub mod soap;
/// Builds and runs the server.
pub mod startup;
/// Persistence on SQLite or PostgreSQL; the only module with SQL.
pub mod store;
/// The per-run state machine: which request next, what an answer does, progress.
pub mod sync;
/// Secrets sealed at rest (QuickBooks Online tokens) under the server's key.
pub mod vault;
/// XML 1.0 rules shared by `soap` and `qbxml`: references and characters.
mod xml;

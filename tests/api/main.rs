//! Integration tests: each starts the real server on a random loopback port and drives it over
//! HTTP the way the Web Connector (or an API client) would. One binary, modules by subject.

mod helpers;

mod admin_api;
mod changes;
mod cli;
mod contract_files;
mod faults;
mod incremental;
mod matching;
mod online;
mod openapi;
mod qbwc_contract;
mod qbwc_errors;
mod qbwc_hardening;
mod qbwc_sessions;
mod read_api;
mod recovery;
mod scale_out;
mod search;
mod security;
mod staging;
mod upgrade;

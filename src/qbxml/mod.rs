//! qbXML: the messages qbsync exchanges with QuickBooks through the Web Connector.
//!
//! This module is pure: strings and readers in, typed values out, and the reverse. It does no
//! I/O of its own, keeps no state between calls and depends on nothing else in the crate.
//!
//! - [`version`]: qbXML versions and choosing the one to speak ([`choose_version`]).
//! - [`request`]: rendering `CustomerQueryRq` / `EmployeeQueryRq` / `ListDeletedQueryRq` documents in schema order
//!   ([`render_request`]).
//! - [`response`]: the streaming [`ResponseReader`] over query responses, yielding [`Item`]s.
//! - [`records`]: reading `CustomerRet` / `EmployeeRet` into `record::Customer` / `record::Employee`.
//! - [`hcp`]: the strHCPResponse (host, company, preferences) read by [`parse_hcp`].
//! - [`status`]: explanations of qbXML status codes and request-processor HRESULTs.
//! - [`error`]: [`ParseError`], why a document was rejected.
//!
//! Inbound documents are read defensively (see `input`): no DOCTYPE or custom entities, bounded
//! nesting and token sizes, strict UTF-8, and only whitelisted fields are ever copied out of the
//! parser, so sensitive data QuickBooks may send (SSN, bank or card numbers) is never held.

pub mod error;
mod escape;
pub mod hcp;
mod input;
pub mod records;
pub mod request;
pub mod response;
pub mod status;
pub mod version;

pub use error::ParseError;
pub use hcp::{Hcp, parse_hcp};
#[doc(hidden)]
pub use request::request_shapes_for_validation;
pub use request::{
    ActiveStatus, CUSTOMER_RET_ELEMENTS, CustomerQuery, EMPLOYEE_RET_ELEMENTS, EmployeeQuery, IteratorMode,
    ListDelType, ListDeletedQuery, Request, render_request,
};
pub use response::{Deleted, Item, ResponseReader, RsKind, RsStatus, parse_response_str};
pub use status::{Severity, classify_status, explain_hresult, explain_status};
pub use version::{QbxmlVersion, VersionTooOld, choose_version};

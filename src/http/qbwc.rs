//! `POST /qbwc`: the Web Connector's SOAP endpoint, and `GET /qbwc` (`?wsdl`): our WSDL.
//!
//! A thin shell over [`sync::receive`](crate::sync::receive): it checks the headers (SOAP 1.1,
//! a known SOAPAction, the declared length against the body limit), takes a place among the
//! uploads in progress for a body that is not known to be small ([`Uploads`], by the address
//! `http::client_ip` gives; 503 with Retry-After when that address or the server has too many),
//! hands the body stream over with its limits (length, idle timeout, minimum rate), and renders
//! the answer.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use tracing::warn;

use super::AppState;
use super::uploads::{Refused, UploadSlot, Uploads};
use crate::soap::{self, FaultCode};
use crate::sync::receive::{self, Answer};
use crate::sync::spool::{self, BodyLimits};

const WSDL: &str = include_str!("../../wsdl/QBWebConnectorSvc.wsdl");
/// The address written in the WSDL file, replaced by the public URL when served.
const WSDL_ADDRESS: &str = "http://localhost:8080/qbwc";
/// What an upload refused for a cap is told to wait before trying again, in seconds.
const UPLOAD_RETRY_AFTER_SECONDS: u32 = 30;

fn xml_response(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/xml; charset=utf-8").body(body)
}

fn fault(code: FaultCode, message: &str) -> HttpResponse {
    xml_response(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR, soap::render_fault(code, message))
}

/// `GET /qbwc` and `GET /qbwc?wsdl`.
pub async fn wsdl(state: web::Data<AppState>) -> HttpResponse {
    let address = format!("{}/qbwc", crate::qwc::base_url(&state.settings.public_url));
    let escaped = quick_xml::escape::escape(address.as_str()).into_owned();
    xml_response(actix_web::http::StatusCode::OK, WSDL.replace(WSDL_ADDRESS, &escaped))
}

/// `POST /qbwc`.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    uploads: web::Data<Uploads>,
) -> HttpResponse {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/soap+xml") {
        return fault(
            FaultCode::VersionMismatch,
            "this endpoint speaks SOAP 1.1 (text/xml); the request is SOAP 1.2 (application/soap+xml)",
        );
    }
    let soap_action = req
        .headers()
        .get("SOAPAction")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "\"\"");
    if let Some(action) = soap_action
        && soap::method_from_soap_action(action).is_none()
    {
        return fault(FaultCode::Client, &format!("unknown SOAPAction {action}"));
    }
    let limit = state.settings.max_body_bytes;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return fault(FaultCode::Client, &format!("the request body is larger than the {limit}-byte limit"));
    }
    let client = super::client_ip(&req, &state.settings);
    // A body that may be large holds a place until the call is answered.
    let _slot = match upload_slot(client, declared, &uploads) {
        Ok(slot) => slot,
        Err(refused) => {
            state.service.metrics().qbwc_call("invalid", true);
            return uploads_full(refused);
        }
    };
    let limits = BodyLimits {
        max_bytes: limit,
        idle_timeout: state.settings.body_timeout,
        min_bytes_per_second: state.settings.body_min_bytes_per_second,
        max_duration: state.settings.body_max_duration,
    };
    let service = state.service.for_client(client);
    match receive::receive(&service, payload, &limits).await {
        Answer::Reply(reply) => xml_response(actix_web::http::StatusCode::OK, soap::render_reply(&reply)),
        Answer::Fault(code, message) => fault(code, &message),
    }
}

/// A place among the uploads in progress for a body over [`spool::IN_MEMORY_BYTES`] or of
/// unknown length (none needed for a smaller one), or which cap is reached.
/// `client` is the caller's address (`http::client_ip`); when it is unknown, such uploads share
/// one per-address count.
fn upload_slot(
    client: Option<IpAddr>,
    declared: Option<usize>,
    uploads: &Uploads,
) -> Result<Option<UploadSlot>, Refused> {
    if declared.is_some_and(|n| n <= spool::IN_MEMORY_BYTES) {
        return Ok(None);
    }
    let address = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    uploads.start(address).map(Some).inspect_err(|refused| warn!(%address, "upload refused: {refused}"))
}

/// The answer to an upload over a cap: 503 with Retry-After, and a SOAP fault the Web Connector
/// can show.
fn uploads_full(refused: Refused) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type("text/xml; charset=utf-8")
        .insert_header((actix_web::http::header::RETRY_AFTER, UPLOAD_RETRY_AFTER_SECONDS.to_string()))
        .body(soap::render_fault(FaultCode::Server, &format!("{refused}; try again later")))
}

//! `POST /qbwc`: the Web Connector's SOAP endpoint, and `GET /qbwc` (`?wsdl`): our WSDL.
//!
//! A thin shell over [`sync::receive`](crate::sync::receive): it checks the headers (SOAP 1.1,
//! a known SOAPAction, the declared length against the body limit), hands the body over chunk by
//! chunk as it arrives, and renders the answer.

use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};

use super::AppState;
use crate::soap::{self, FaultCode};
use crate::sync::receive::{self, Answer};

const WSDL: &str = include_str!("../../wsdl/QBWebConnectorSvc.wsdl");
/// The address written in the WSDL file, replaced by the public URL when served.
const WSDL_ADDRESS: &str = "http://localhost:8080/qbwc";

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
pub async fn post(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
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
    let service = state.service.for_client(super::client_ip(&req, &state.settings));
    match receive::receive(&service, payload, limit).await {
        Answer::Reply(reply) => xml_response(actix_web::http::StatusCode::OK, soap::render_reply(&reply)),
        Answer::Fault(code, message) => fault(code, &message),
    }
}

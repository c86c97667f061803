//! `POST /qbwc`: the Web Connector's SOAP endpoint, and `GET /qbwc` (`?wsdl`): our WSDL.
//!
//! The request body is never held whole in memory. It streams from the socket through a channel
//! into a parser thread (`soap::read_call`, and `qbxml::ResponseReader` for the `response` of
//! receiveResponseXML); parsed records stream back to this task, which stages them in batches
//! inside one transaction per response. Memory stays flat however large QuickBooks' answer is.

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::rc::Rc;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tracing::{Instrument, field, info_span, warn};

use super::AppState;
use crate::qbxml::{self, Item};
use crate::secrets;
use crate::soap::{self, Call, EnvelopeError, FaultCode, Reply};
use crate::sync::{ResponseRead, Service, Stager, SyncError};

const WSDL: &str = include_str!("../../wsdl/QBWebConnectorSvc.wsdl");
/// The address written in the WSDL file, replaced by the public URL when served.
const WSDL_ADDRESS: &str = "http://localhost:8080/qbwc";

/// Parsed records travel to the staging task in groups of this many.
const ITEMS_PER_MESSAGE: usize = 64;
/// A body of at most this many bytes (by its Content-Length) is read whole and parsed on the
/// request's task; larger ones stream through a parser thread.
const INLINE_BODY_BYTES: usize = 16 * 1024;

/// What the parser thread tells the staging task.
enum ParseEvent {
    ResponseStart(Option<String>),
    Items(Vec<Item>),
    ResponseEnd,
    ResponseFailed(String),
    Call(Result<Call, EnvelopeError>),
}

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
    let span = info_span!("qbwc", method = field::Empty, ticket = field::Empty);
    handle_post(req, payload, state).instrument(span).await
}

async fn handle_post(req: HttpRequest, mut payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
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
        .filter(|v| !v.is_empty() && *v != "\"\"")
        .map(str::to_string);
    if let Some(action) = &soap_action
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

    let service = state.service.clone();
    let too_large = Rc::new(Cell::new(false));
    let (outcome, parser) = if declared.is_some_and(|n| n <= INLINE_BODY_BYTES) {
        // A small body (every call but a large receiveResponseXML) is read whole and parsed
        // right here: a parser thread would cost more in hand-offs than the parse itself.
        let mut body = Vec::with_capacity(declared.unwrap_or_default());
        while let Some(chunk) = payload.next().await {
            let Ok(chunk) = chunk else { break };
            if body.len() + chunk.len() > INLINE_BODY_BYTES {
                return fault(FaultCode::Client, "the request body is longer than its Content-Length");
            }
            body.extend_from_slice(&chunk);
        }
        let mut events = Vec::new();
        parse_body(&body[..], &mut events, &soap::Limits::default());
        (consume(&service, Events::Parsed(events.into_iter())).await, None)
    } else {
        let (body_tx, body_rx) = mpsc::channel::<Bytes>(16);
        let (event_tx, event_rx) = mpsc::channel::<ParseEvent>(8);
        let limits = soap::Limits::default();
        let parse_span = tracing::Span::current();
        let parser = tokio::task::spawn_blocking(move || {
            let _entered = parse_span.enter();
            let input =
                std::io::BufReader::with_capacity(64 * 1024, ChannelReader { rx: body_rx, current: Bytes::new() });
            parse_body(input, &mut ChannelSink(event_tx), &limits);
        });
        let pump = {
            let too_large = too_large.clone();
            async move {
                let mut total = 0usize;
                while let Some(chunk) = payload.next().await {
                    let Ok(chunk) = chunk else { break };
                    total += chunk.len();
                    if total > limit {
                        too_large.set(true);
                        break;
                    }
                    if body_tx.send(chunk).await.is_err() {
                        break;
                    }
                }
                // Dropping the sender ends the parser's input.
            }
        };
        let ((), outcome) = tokio::join!(pump, consume(&service, Events::Channel(event_rx)));
        (outcome, Some(parser))
    };
    let Consumed { stager, answer, refused } = outcome;
    if let Some(stager) = stager {
        // The envelope failed after the response began: nothing of it is kept.
        stager.abandon().await;
    }
    if let Some(parser) = parser
        && parser.await.is_err()
    {
        return fault(FaultCode::Server, "the request parser failed");
    }
    if too_large.get() {
        return fault(FaultCode::Client, &format!("the request body is larger than the {limit}-byte limit"));
    }
    let metrics = state.service.metrics();
    match (refused, answer) {
        (Some(err), _) => {
            warn!("refused SOAP request: {err}");
            metrics.qbwc_call("invalid", true);
            fault(err.fault_code(), &err.to_string())
        }
        (None, Some(Ok(reply))) => {
            let error = matches!(reply, Reply::ReceiveResponseXml(percent) if percent < 0)
                || matches!(reply, Reply::ConnectionError(_));
            metrics.qbwc_call(reply.method(), error);
            if matches!(reply, Reply::CloseConnection(_)) {
                // The run's large requests (its qbXML responses) are over: give their memory
                // back, so the server's footprint between runs is not their high-water mark.
                // Between the responses of a run it is reused as it is, without page faults.
                // It takes a few hundred microseconds: on a blocking thread, beside the reply.
                drop(tokio::task::spawn_blocking(crate::startup::release_freed_memory));
            }
            xml_response(actix_web::http::StatusCode::OK, soap::render_reply(&reply))
        }
        (None, Some(Err(err))) => {
            tracing::error!("QBWC call failed: {err}");
            metrics.qbwc_call("internal", true);
            fault(FaultCode::Server, "qbsync could not complete the call because of an internal error; it was logged")
        }
        (None, None) => fault(FaultCode::Server, "the request ended before it could be answered"),
    }
}

/// Where the parsed events of one request come from.
enum Events {
    /// From the parser thread, as it reads a large body.
    Channel(mpsc::Receiver<ParseEvent>),
    /// All of them, from a small body parsed at once.
    Parsed(std::vec::IntoIter<ParseEvent>),
}

impl Events {
    async fn next(&mut self) -> Option<ParseEvent> {
        match self {
            Events::Channel(rx) => rx.recv().await,
            Events::Parsed(events) => events.next(),
        }
    }
}

/// What handling one request's events gave.
struct Consumed {
    /// A response's staging left open (the envelope failed after the response began).
    stager: Option<Stager>,
    answer: Option<Result<Reply, SyncError>>,
    refused: Option<EnvelopeError>,
}

/// Stages a response's records as they are parsed and answers the call.
async fn consume(service: &Service, mut events: Events) -> Consumed {
    let mut stager = None;
    let mut read = ResponseRead::Absent;
    let mut answer: Option<Result<Reply, SyncError>> = None;
    let mut refused: Option<EnvelopeError> = None;
    while let Some(event) = events.next().await {
        match event {
            ParseEvent::ResponseStart(ticket) => {
                let ticket = ticket.map(secrets::Ticket::from);
                if let Some(ticket) = &ticket {
                    tracing::Span::current().record("ticket", ticket.prefix());
                }
                read = ResponseRead::Failed("the response ended early".into());
                match service.begin_response(ticket.as_ref()).await {
                    Ok(opened) => stager = opened,
                    Err(err) => answer = Some(Err(err)),
                }
            }
            ParseEvent::Items(items) => {
                if let Some(stager) = stager.as_mut() {
                    for item in items {
                        stager.push(item).await;
                    }
                }
            }
            ParseEvent::ResponseEnd => read = ResponseRead::Complete,
            ParseEvent::ResponseFailed(problem) => read = ResponseRead::Failed(problem),
            ParseEvent::Call(Err(err)) => refused = Some(err),
            ParseEvent::Call(Ok(call)) => {
                let span = tracing::Span::current();
                span.record("method", call.method());
                if let Some(ticket) = call.ticket() {
                    span.record("ticket", secrets::ticket_prefix(ticket));
                }
                if answer.is_some() {
                    continue;
                }
                answer = Some(match call {
                    Call::ReceiveResponseXml { ticket, hresult, message } => service
                        .finish_response(
                            &secrets::Ticket::from(ticket),
                            &hresult,
                            &message,
                            stager.take(),
                            read.clone(),
                        )
                        .await
                        .map(Reply::ReceiveResponseXml),
                    other => service.handle(other).await,
                });
            }
        }
    }
    Consumed { stager, answer, refused }
}

/// Where the parser puts what it finds.
trait EventSink {
    /// False when nobody listens any more.
    fn send(&mut self, event: ParseEvent) -> bool;
}

/// To the staging task, from the parser thread; waits while the task is behind.
struct ChannelSink(mpsc::Sender<ParseEvent>);

impl EventSink for ChannelSink {
    fn send(&mut self, event: ParseEvent) -> bool {
        self.0.blocking_send(event).is_ok()
    }
}

/// All at once, for a small body.
impl EventSink for Vec<ParseEvent> {
    fn send(&mut self, event: ParseEvent) -> bool {
        self.push(event);
        true
    }
}

/// Parses the envelope, streaming the qbXML response's items to `events`. Runs on a blocking
/// thread for large bodies, which arrive through `input` as they are received.
fn parse_body(input: impl BufRead, events: &mut impl EventSink, limits: &soap::Limits) {
    let mut on_response = |ticket: Option<&str>, response: &mut dyn BufRead| {
        if !events.send(ParseEvent::ResponseStart(ticket.map(str::to_string))) {
            return;
        }
        let mut reader = qbxml::ResponseReader::new(response);
        let mut items = Vec::with_capacity(ITEMS_PER_MESSAGE);
        loop {
            match reader.next_item() {
                Ok(Some(item)) => {
                    items.push(item);
                    if items.len() == ITEMS_PER_MESSAGE && !events.send(ParseEvent::Items(std::mem::take(&mut items))) {
                        return;
                    }
                }
                Ok(None) => {
                    let _ = events.send(ParseEvent::Items(items));
                    let _ = events.send(ParseEvent::ResponseEnd);
                    return;
                }
                Err(err) => {
                    let _ = events.send(ParseEvent::Items(items));
                    let _ = events.send(ParseEvent::ResponseFailed(err.to_string()));
                    return;
                }
            }
        }
    };
    let result = soap::read_call(input, limits, &mut on_response);
    let _ = events.send(ParseEvent::Call(result));
}

/// A `Read` over body chunks arriving on a channel; ends when the sender is dropped.
struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

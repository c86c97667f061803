//! One Web Connector call, from the bytes of its body to the answer to render.
//!
//! The body is first received whole ([`spool`](super::spool): in memory when small, in a
//! temporary file otherwise, with an idle timeout and a minimum rate), so that network time never
//! holds the database. Only then is it parsed and staged: a parser thread reads it
//! (`soap::read_call`, and `qbxml::ResponseReader` for the `response` of receiveResponseXML) and
//! sends the parsed records back to the caller's task, which stages them in batches inside one
//! transaction per response ([`Stager`]). Neither step holds the body whole in memory, so memory
//! stays flat however large QuickBooks' answer is. Every call takes this one path.
//!
//! HTTP is not known here: the caller hands over the body as a stream of chunks and renders the
//! [`Answer`] (see `http::qbwc`).

use std::io::BufRead;

use futures_util::Stream;
use tokio::sync::mpsc;
use tracing::{Instrument, field, info_span, warn};

use super::spool::{self, BodyLimits, Spooled};
use super::{ResponseRead, Service, Stager, SyncError};
use crate::qbxml::{self, Item};
use crate::secrets::{self, Ticket};
use crate::soap::{self, Call, EnvelopeError, FaultCode, Reply};

/// Parsed records travel to the staging task in groups of this many.
const ITEMS_PER_MESSAGE: usize = 64;
/// Groups of parsed items waiting for the staging task.
const EVENTS_IN_FLIGHT: usize = 8;

/// What to send back for one call.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The method's answer.
    Reply(Reply),
    /// A SOAP fault: the request was refused (`Client`, `VersionMismatch`) or qbsync failed
    /// (`Server`); the message is safe to show.
    Fault(FaultCode, String),
}

/// Receives one SOAP call's `body` whole (see [`spool`]) and answers it; a receiveResponseXML's
/// records are staged once the body is complete, in one transaction. A body over the limits
/// (too long, paused too long, too slow) is refused with a Client fault and nothing of it is
/// kept. The call is counted in the service's metrics and logged in a `qbwc` span (method and
/// the ticket's first 8 characters).
pub async fn receive<S, B, E>(service: &Service, body: S, limits: &BodyLimits) -> Answer
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let span = info_span!("qbwc", method = field::Empty, ticket = field::Empty);
    async {
        match spool::spool(body, limits).await {
            Ok(spooled) => answer(service, spooled).await,
            Err(err) => {
                warn!("refused SOAP request body: {err}");
                service.metrics().qbwc_call("invalid", true);
                let code = if err.is_client_error() { FaultCode::Client } else { FaultCode::Server };
                Answer::Fault(code, err.to_string())
            }
        }
    }
    .instrument(span)
    .await
}

/// Parses a whole body and answers it: the parser thread reads it while the caller's task
/// stages what it parses.
pub async fn answer(service: &Service, body: Spooled) -> Answer {
    let (event_tx, event_rx) = mpsc::channel::<ParseEvent>(EVENTS_IN_FLIGHT);
    let parse_span = tracing::Span::current();
    let parser = tokio::task::spawn_blocking(move || {
        let _entered = parse_span.enter();
        // The temporary file, if any, is closed (and so removed) when this thread is done.
        let input = body.into_reader()?;
        parse_body(input, &event_tx, &soap::Limits::default());
        Ok::<(), std::io::Error>(())
    });
    let Consumed { stager, answer, refused } = consume(service, event_rx).await;
    if let Some(stager) = stager {
        // The envelope failed after the response began: nothing of it is kept.
        stager.abandon().await;
    }
    match parser.await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::error!("reading back the request body failed: {err}");
            return Answer::Fault(FaultCode::Server, "qbsync could not read back the request body".into());
        }
        Err(_) => return Answer::Fault(FaultCode::Server, "the request parser failed".into()),
    }
    let metrics = service.metrics();
    match (refused, answer) {
        (Some(err), _) => {
            warn!("refused SOAP request: {err}");
            metrics.qbwc_call("invalid", true);
            Answer::Fault(err.fault_code(), err.to_string())
        }
        (None, Some(Ok(reply))) => {
            let error = matches!(reply, Reply::ReceiveResponseXml(percent) if percent < 0)
                || matches!(reply, Reply::ConnectionError(_));
            metrics.qbwc_call(reply.method(), error);
            Answer::Reply(reply)
        }
        (None, Some(Err(err))) => {
            tracing::error!("QBWC call failed: {err}");
            metrics.qbwc_call("internal", true);
            Answer::Fault(
                FaultCode::Server,
                "qbsync could not complete the call because of an internal error; it was logged".into(),
            )
        }
        (None, None) => Answer::Fault(FaultCode::Server, "the request ended before it could be answered".into()),
    }
}

/// What the parser thread tells the staging task.
enum ParseEvent {
    /// The `response` parameter begins; the ticket, if it came before it, hashed once here.
    ResponseStart(Option<Ticket>),
    Items(Vec<Item>),
    ResponseEnd,
    ResponseFailed(String),
    Call(Result<Call, EnvelopeError>),
}

/// What handling one request's events gave.
struct Consumed {
    /// A response's staging left open (the envelope failed after the response began).
    stager: Option<Stager>,
    answer: Option<Result<Reply, SyncError>>,
    refused: Option<EnvelopeError>,
}

/// Stages a response's records as they are parsed and answers the call.
async fn consume(service: &Service, mut events: mpsc::Receiver<ParseEvent>) -> Consumed {
    let span = tracing::Span::current();
    let mut stager = None;
    let mut response_ticket: Option<Ticket> = None;
    let mut read = ResponseRead::Absent;
    let mut answer: Option<Result<Reply, SyncError>> = None;
    let mut refused: Option<EnvelopeError> = None;
    while let Some(event) = events.recv().await {
        match event {
            ParseEvent::ResponseStart(ticket) => {
                if let Some(ticket) = &ticket {
                    span.record("ticket", ticket.prefix());
                }
                read = ResponseRead::Failed("the response ended early".into());
                match service.begin_response(ticket.as_ref()).await {
                    Ok(opened) => stager = opened,
                    Err(err) => answer = Some(Err(err)),
                }
                response_ticket = ticket;
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
                span.record("method", call.method());
                if let Some(ticket) = call.ticket() {
                    span.record("ticket", secrets::ticket_prefix(ticket));
                }
                if answer.is_some() {
                    continue;
                }
                answer = Some(match call {
                    Call::ReceiveResponseXml { ticket, hresult, message } => {
                        // The ticket read before the response is the call's ticket: keep its hash.
                        let ticket = match response_ticket.take() {
                            Some(known) if known.as_str() == ticket => known,
                            _ => Ticket::from(ticket),
                        };
                        service
                            .finish_response(&ticket, &hresult, &message, stager.take(), read.clone())
                            .await
                            .map(Reply::ReceiveResponseXml)
                    }
                    other => service.handle(other).await,
                });
            }
        }
    }
    Consumed { stager, answer, refused }
}

/// Parses the envelope on the parser thread, streaming the qbXML response's items to `events`
/// in groups. Stops early when nobody listens any more.
fn parse_body(input: impl BufRead, events: &mpsc::Sender<ParseEvent>, limits: &soap::Limits) {
    // Waits while the staging task is behind; false once it is gone.
    let send = |event: ParseEvent| events.blocking_send(event).is_ok();
    let mut on_response = |ticket: Option<&str>, response: &mut dyn BufRead| {
        if !send(ParseEvent::ResponseStart(ticket.map(Ticket::from))) {
            return;
        }
        let mut reader = qbxml::ResponseReader::new(response);
        let mut items = Vec::with_capacity(ITEMS_PER_MESSAGE);
        loop {
            match reader.next_item() {
                Ok(Some(item)) => {
                    items.push(item);
                    if items.len() == ITEMS_PER_MESSAGE && !send(ParseEvent::Items(std::mem::take(&mut items))) {
                        return;
                    }
                }
                Ok(None) => {
                    let _ = send(ParseEvent::Items(items)) && send(ParseEvent::ResponseEnd);
                    return;
                }
                Err(err) => {
                    let _ = send(ParseEvent::Items(items)) && send(ParseEvent::ResponseFailed(err.to_string()));
                    return;
                }
            }
        }
    };
    let result = soap::read_call(input, limits, &mut on_response);
    let _ = send(ParseEvent::Call(result));
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::StreamExt;

    use super::*;
    use crate::simulate::wire::{self, Param};
    use crate::simulate::{Dataset, FakeQuickBooks, Faults};
    use crate::store::catalog::{self, NewConnection};
    use crate::store::{Db, DbOptions, staging};
    use crate::sync::SyncSettings;

    const PASSWORD: &str = "a-web-connector-password";

    /// A service on a fresh, migrated SQLite database with one connection (user `office`).
    async fn service() -> (tempfile::TempDir, Service, uuid::Uuid) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("qbsync.db").display());
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        let org = catalog::create_organization(&db, "Receive test").await.unwrap();
        let conn = catalog::create_connection(
            &db,
            NewConnection {
                organization_id: org.organization_id,
                name: "Office",
                username: "office",
                password_hash: &secrets::hash_generated_secret(PASSWORD),
                company_file: "",
                run_every_minutes: 60,
                kind: crate::store::catalog::ConnectionKind::Desktop,
            },
        )
        .await
        .unwrap();
        (dir, Service::new(db.clone(), SyncSettings::default()), conn.connection_id)
    }

    /// Authenticates and asks for the first request (the customer list, requestID `cust-1`):
    /// the ticket and the qbXML request.
    async fn ticket_awaiting_customers(service: &Service) -> (String, String) {
        let Reply::Authenticate(answer) =
            service.handle(Call::Authenticate { username: "office".into(), password: PASSWORD.into() }).await.unwrap()
        else {
            panic!("authenticate answers with a ticket")
        };
        let ticket = answer[0].clone();
        let Reply::SendRequestXml(request) = service
            .handle(Call::SendRequestXml {
                ticket: ticket.clone(),
                hcp_response: String::new(),
                company_file_name: String::new(),
                country: "US".into(),
                major_version: Some(13),
                minor_version: Some(0),
            })
            .await
            .unwrap()
        else {
            panic!("sendRequestXML answers with a request")
        };
        assert!(request.contains("requestID=\"cust-1\""), "{request}");
        (ticket, request)
    }

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(format!("{}/qbxml-fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// The fixture receiveResponseXML envelope (a qbXML response in CDATA) for `ticket`, with
    /// `qbxml` as its response.
    fn envelope(ticket: &str, qbxml: &str) -> String {
        let envelope = fixture("soap/receiveResponseXML.request.cdata-response.xml");
        let start = envelope.find("<![CDATA[").unwrap() + "<![CDATA[".len();
        let end = envelope.find("]]>").unwrap();
        format!("{}{qbxml}{}", &envelope[..start], &envelope[end..])
            .replace("0b7c5e2a-9d41-4c1e-8f36-2a5d7e9b1c04", ticket)
    }

    /// The sample company's customers (fixture), answering request `cust-1`, in the envelope
    /// for `ticket`; and how many customers it holds.
    fn sample_company_envelope(ticket: &str) -> (String, usize) {
        let qbxml = fixture("qbxml/customer-query-rs.status0.multi.sample-company.xml").replacen(
            "requestID=\"1\"",
            "requestID=\"cust-1\"",
            1,
        );
        let mut reader = qbxml::ResponseReader::new(qbxml.as_bytes());
        let mut customers = 0;
        while let Some(item) = reader.next_item().unwrap() {
            customers += usize::from(matches!(item, Item::Customer(_)));
        }
        (envelope(ticket, &qbxml), customers)
    }

    /// `body` as a stream of chunks of 1, 7, 4093 and 13 bytes, over and over.
    fn odd_chunks(body: &[u8]) -> impl Stream<Item = Result<Vec<u8>, Infallible>> + Unpin + use<> {
        let sizes = [1, 7, 4093, 13];
        let mut chunks = Vec::new();
        let mut rest = body;
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            chunks.push(Ok(chunk.to_vec()));
            rest = tail;
        }
        futures_util::stream::iter(chunks)
    }

    fn limits(max_bytes: usize) -> BodyLimits {
        BodyLimits { max_bytes, ..BodyLimits::default() }
    }

    /// The simulated QuickBooks' answer of `customers` customers to `request`, escaped into a
    /// receiveResponseXML envelope as the Web Connector does (so it streams).
    fn simulated_envelope(ticket: &str, request: &str, customers: usize) -> String {
        let mut quickbooks = FakeQuickBooks::new(Dataset::generate(7, customers, 0), Faults::default());
        let response = quickbooks.process(request).unwrap();
        wire::request_envelope(
            "receiveResponseXML",
            &[
                ("ticket", Param::Str(ticket)),
                ("response", Param::Str(&response)),
                ("hresult", Param::Str("")),
                ("message", Param::Str("")),
            ],
        )
    }

    async fn staged(service: &Service, connection_id: uuid::Uuid) -> (i64, i64) {
        staging::staged_counts(&service.db, connection_id).await.unwrap()
    }

    #[tokio::test]
    async fn a_response_arriving_in_odd_sized_chunks_is_staged_and_answered_with_the_percent() {
        let (_dir, service, connection_id) = service().await;
        let (ticket, _) = ticket_awaiting_customers(&service).await;
        let (envelope, customers) = sample_company_envelope(&ticket);
        assert!(customers > 100, "the fixture holds the sample company's customers");

        let answer = receive(&service, odd_chunks(envelope.as_bytes()), &limits(10 << 20)).await;

        // The whole customer list in one page: on to employees, 90 percent.
        assert_eq!(answer, Answer::Reply(Reply::ReceiveResponseXml(90)));
        assert_eq!(staged(&service, connection_id).await, (customers as i64, 0));
    }

    #[tokio::test]
    async fn a_broken_envelope_stages_nothing_and_is_refused() {
        let (_dir, service, connection_id) = service().await;
        let (ticket, request) = ticket_awaiting_customers(&service).await;
        // 450 customers from the simulated QuickBooks (more than one batch of 200).
        let envelope = simulated_envelope(&ticket, &request, 450);
        // Cut three quarters of the way (over 300 customers): the first batches were written
        // inside the response's transaction before the envelope broke.
        let cut = &envelope.as_bytes()[..envelope.len() * 3 / 4];

        let answer = receive(&service, odd_chunks(cut), &limits(10 << 20)).await;

        // The client sent a broken request: a Client fault, and nothing of the response is kept.
        assert!(matches!(answer, Answer::Fault(FaultCode::Client, _)), "{answer:?}");
        assert_eq!(staged(&service, connection_id).await, (0, 0));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_and_stages_nothing() {
        let (_dir, service, connection_id) = service().await;
        let (ticket, _) = ticket_awaiting_customers(&service).await;
        let (envelope, _) = sample_company_envelope(&ticket);

        let answer = receive(&service, odd_chunks(envelope.as_bytes()), &limits(envelope.len() - 1)).await;

        let Answer::Fault(FaultCode::Client, message) = answer else { panic!("{answer:?}") };
        assert!(message.contains("limit"), "{message}");
        assert_eq!(staged(&service, connection_id).await, (0, 0));
    }

    #[tokio::test]
    async fn a_call_without_a_response_is_answered_through_the_same_path() {
        let (_dir, service, _) = service().await;
        let envelope = fixture("soap/serverVersion.request.xml");

        let answer = receive(&service, odd_chunks(envelope.as_bytes()), &limits(1 << 20)).await;

        assert_eq!(answer, Answer::Reply(Reply::ServerVersion(super::super::SERVER_VERSION.into())));
    }

    #[tokio::test]
    async fn a_paused_body_holds_no_database_lock_and_is_refused_after_the_idle_timeout() {
        let (_dir, service, connection_id) = service().await;
        let (ticket, request) = ticket_awaiting_customers(&service).await;
        let envelope = simulated_envelope(&ticket, &request, 450);
        // Over 300 customers (more than a batch) arrive, then the client pauses.
        let first = envelope.as_bytes()[..envelope.len() * 3 / 4].to_vec();
        let paused =
            futures_util::stream::iter(vec![Ok::<_, Infallible>(first)]).chain(futures_util::stream::pending());
        let pausing = BodyLimits { idle_timeout: std::time::Duration::from_secs(3), ..limits(10 << 20) };
        let upload = {
            let service = service.clone();
            tokio::spawn(async move { receive(&service, paused, &pausing).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;

        // Meanwhile another organization writes: on SQLite this needs the write lock.
        let other = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            catalog::create_organization(&service.db, "Another tenant"),
        )
        .await;
        assert!(matches!(other, Ok(Ok(_))), "another write waited on the paused upload: {other:?}");
        assert!(!upload.is_finished(), "the upload is still waiting for its body");

        let answer = upload.await.unwrap();
        let Answer::Fault(FaultCode::Client, message) = answer else { panic!("{answer:?}") };
        assert!(message.contains("stopped arriving"), "{message}");
        assert_eq!(staged(&service, connection_id).await, (0, 0));

        // The run is untouched: the Web Connector's retry of the whole response is staged.
        let answer = receive(&service, odd_chunks(envelope.as_bytes()), &limits(10 << 20)).await;
        assert_eq!(answer, Answer::Reply(Reply::ReceiveResponseXml(90)));
        assert_eq!(staged(&service, connection_id).await, (450, 0));
    }

    #[tokio::test]
    async fn a_response_spooled_to_a_file_is_staged_whole() {
        let (_dir, service, connection_id) = service().await;
        let (ticket, request) = ticket_awaiting_customers(&service).await;
        let envelope = simulated_envelope(&ticket, &request, 450);
        let body = spool::spool(odd_chunks(envelope.as_bytes()), &limits(10 << 20)).await.unwrap();
        assert!(matches!(body, Spooled::File { .. }), "{body:?}");

        let answer = answer(&service, body).await;

        assert_eq!(answer, Answer::Reply(Reply::ReceiveResponseXml(90)));
        assert_eq!(staged(&service, connection_id).await, (450, 0));
    }
}

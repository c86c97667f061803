//! Benchmark: reading one receiveResponseXML request of 500 customers the way the server does
//! (SOAP envelope → unescaped `response` → qbXML records), without HTTP or a database, next to
//! two floors: unescaping alone, and quick-xml's bare event loop over the unescaped document.
//! Run with `cargo bench --bench parse`.

use std::io::BufRead;
use std::time::{Duration, Instant};

use qbsync::qbxml::{
    ActiveStatus, CustomerQuery, Item, IteratorMode, QbxmlVersion, Request, ResponseReader, render_request,
};
use qbsync::simulate::wire::{Param, request_envelope};
use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use qbsync::soap::{Limits, read_call};
use quick_xml::events::Event;

const PAGE: usize = 500;

/// Median time of `rounds` runs of `f`.
fn median(rounds: usize, mut f: impl FnMut() -> usize) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    let mut quickbooks = FakeQuickBooks::new(Dataset::generate(42, PAGE, 0), Faults::default());
    // The request the server sends for the first page of a run.
    let request = render_request(
        QbxmlVersion::MAX_SUPPORTED,
        &Request::Customer(CustomerQuery {
            request_id: "1".into(),
            iterator: Some(IteratorMode::Start),
            max_returned: Some(PAGE as u32),
            active_status: Some(ActiveStatus::All),
            from_modified_date: None,
            include_ret_elements: true,
        }),
    );
    let qbxml = quickbooks.process(&request).expect("a page of customers");
    let body = request_envelope(
        "receiveResponseXML",
        &[
            ("ticket", Param::Str("0123456789abcdef")),
            ("response", Param::Str(&qbxml)),
            ("hresult", Param::Str("")),
            ("message", Param::Str("")),
        ],
    );
    let limits = Limits::default();
    let full = || {
        let mut customers = 0usize;
        read_call(body.as_bytes(), &limits, &mut |_ticket, response: &mut dyn BufRead| {
            let mut reader = ResponseReader::new(response);
            while let Some(item) = reader.next_item().expect("the page parses") {
                customers += usize::from(matches!(item, Item::Customer(_)));
            }
        })
        .expect("the envelope parses");
        customers
    };
    assert_eq!(full(), PAGE);
    let unescape = || {
        let mut bytes = 0usize;
        read_call(body.as_bytes(), &limits, &mut |_ticket, response: &mut dyn BufRead| loop {
            let n = response.fill_buf().map(<[u8]>::len).unwrap_or(0);
            if n == 0 {
                break;
            }
            bytes += n;
            response.consume(n);
        })
        .expect("the envelope parses");
        bytes
    };
    let events = || {
        let mut reader = quick_xml::Reader::from_reader(qbxml.as_bytes());
        let mut buf = Vec::new();
        let mut n = 0usize;
        loop {
            buf.clear();
            match reader.read_event_into(&mut buf).expect("well-formed") {
                Event::Eof => return n,
                Event::Text(text) => n += text.xml10_content().len(),
                _ => n += 1,
            }
        }
    };
    let qbxml_only = || {
        let mut reader = ResponseReader::new(qbxml.as_bytes());
        let mut customers = 0usize;
        while let Some(item) = reader.next_item().expect("the page parses") {
            customers += usize::from(matches!(item, Item::Customer(_)));
        }
        customers
    };
    let rounds = 200;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let whole = median(rounds, full);
    println!(
        "receiveResponseXML with {PAGE} customers ({:.0} KiB envelope, {:.0} KiB of qbXML): \
         median {:.2} ms, {:.1} µs per customer, {:.0} MB/s",
        body.len() as f64 / 1024.0,
        qbxml.len() as f64 / 1024.0,
        ms(whole),
        whole.as_secs_f64() * 1e6 / PAGE as f64,
        body.len() as f64 / whole.as_secs_f64() / 1e6
    );
    println!("  floor: unescaping the response alone     {:.2} ms", ms(median(rounds, unescape)));
    println!("  qbXML records from the unescaped document {:.2} ms", ms(median(rounds, qbxml_only)));
    println!("  floor: quick-xml events over the qbXML    {:.2} ms", ms(median(rounds, events)));
}

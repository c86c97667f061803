//! Benchmark: reading one receiveResponseXML request of 500 customers, the way the server does
//! (SOAP envelope → unescaped `response` → qbXML records), without HTTP or a database.
//! Run with `cargo bench --bench parse`.

use std::io::BufRead;
use std::time::Instant;

use qbsync::qbxml::{Item, ResponseReader};
use qbsync::simulate::wire::{Param, request_envelope};
use qbsync::simulate::{Dataset, FakeQuickBooks, Faults};
use qbsync::soap::{Limits, read_call};

const PAGE: usize = 500;

fn main() {
    let mut quickbooks = FakeQuickBooks::new(Dataset::generate(42, PAGE, 0), Faults::default());
    let request = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><?qbxml version=\"13.0\"?><QBXML>\
         <QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq requestID=\"1\" iterator=\"Start\">\
         <MaxReturned>{PAGE}</MaxReturned><ActiveStatus>All</ActiveStatus></CustomerQueryRq>\
         </QBXMLMsgsRq></QBXML>"
    );
    let qbxml = quickbooks.process(&request).expect("a page of customers");
    let body = request_envelope(
        "receiveResponseXML",
        &[("ticket", Param::Str("0123456789abcdef")), ("response", Param::Str(&qbxml)), ("hresult", Param::Str("")), ("message", Param::Str(""))],
    );
    let limits = Limits::default();
    let parse = || {
        let mut customers = 0usize;
        read_call(body.as_bytes(), &limits, &mut |_ticket, response: &mut dyn BufRead| {
            let mut reader = ResponseReader::new(response);
            while let Some(item) = reader.next_item().expect("the page parses") {
                if matches!(item, Item::Customer(_)) {
                    customers += 1;
                }
            }
        })
        .expect("the envelope parses");
        customers
    };
    assert_eq!(parse(), PAGE);
    let rounds = 200;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        std::hint::black_box(parse());
        times.push(started.elapsed());
    }
    times.sort();
    {
        use quick_xml::events::Event;
        let t = Instant::now();
        for _ in 0..50 {
            let mut r = quick_xml::Reader::from_reader(std::io::BufReader::new(qbxml.as_bytes()));
            let mut buf = Vec::new();
            let mut n = 0;
            loop { buf.clear(); match r.read_event_into(&mut buf).unwrap() { Event::Eof => break, Event::Text(t) => { n += t.xml10_content().len(); } _ => n += 1 } }
            std::hint::black_box(n);
        }
        println!("quick-xml buffered over {} KiB: {:.2} ms", qbxml.len()/1024, t.elapsed().as_secs_f64()*1e3/50.0);
        let t = Instant::now();
        for _ in 0..50 {
            let mut r = quick_xml::Reader::from_str(&qbxml);
            let mut n = 0;
            loop { match r.read_event().unwrap() { Event::Eof => break, Event::Text(t) => { n += t.xml10_content().len(); } _ => n += 1 } }
            std::hint::black_box(n);
        }
        let t = Instant::now();
        for _ in 0..50 {
            let mut n = 0;
            read_call(body.as_bytes(), &limits, &mut |_t, r: &mut dyn BufRead| { loop { let l = r.fill_buf().unwrap().len(); if l == 0 { break; } n += l; r.consume(l); } }).unwrap();
            std::hint::black_box(n);
        }
        println!("soap unescape only: {:.2} ms", t.elapsed().as_secs_f64()*1e3/50.0);
        println!("quick-xml borrowed: {:.2} ms", t.elapsed().as_secs_f64()*1e3/50.0);
    }
    let median = times[rounds / 2].as_secs_f64();
    println!(
        "receiveResponseXML with {PAGE} customers ({:.0} KiB envelope): median {:.2} ms, {:.1} µs per customer, {:.0} MB/s",
        body.len() as f64 / 1024.0,
        median * 1e3,
        median * 1e6 / PAGE as f64,
        body.len() as f64 / median / 1e6
    );
}

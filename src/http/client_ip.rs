//! The client address of a request, for sign-in throttling and logs.

use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::config::Settings;

/// The address of the client a request comes from.
///
/// It is the TCP peer's, unless the peer is one of `settings.trusted_proxies`: then the
/// `X-Forwarded-For` chain (all such headers, in order) is read from the right, skipping the
/// trusted proxies, and the first address that is not one is the client. An entry that does not
/// parse ends the walk at the last trusted hop, so a client cannot make itself look like anything
/// by writing junk. Without a trusted peer the header is ignored: anyone can send it.
pub fn client_ip(req: &HttpRequest, settings: &Settings) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let trusted = |ip: IpAddr| settings.trusted_proxies.iter().any(|range| range.contains(ip));
    if !trusted(peer) {
        return Some(peer);
    }
    let chain: Vec<&str> = req
        .headers()
        .get_all("X-Forwarded-For")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let mut client = peer;
    for hop in chain.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip.to_canonical();
                if !trusted(client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn settings(proxies: &[&str]) -> Settings {
        Settings { trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(), ..Settings::default() }
    }

    fn from(peer: &str, forwarded: &[&str]) -> TestRequest {
        let mut req = TestRequest::default().peer_addr(std::net::SocketAddr::new(peer.parse().unwrap(), 40000));
        for value in forwarded {
            req = req.append_header(("X-Forwarded-For", *value));
        }
        req
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let req = from("198.51.100.7", &["203.0.113.1"]).to_http_request();
        assert_eq!(client_ip(&req, &settings(&[])), ip("198.51.100.7"));
        assert_eq!(client_ip(&req, &settings(&["10.0.0.0/8"])), ip("198.51.100.7"));
    }

    #[test]
    fn a_trusted_proxy_names_the_first_untrusted_hop_from_the_right() {
        let s = settings(&["10.0.0.0/8"]);
        let req = from("10.0.0.2", &["1.2.3.4, 203.0.113.1", "10.0.0.9"]).to_http_request();
        assert_eq!(client_ip(&req, &s), ip("203.0.113.1"), "the client cannot choose 1.2.3.4 for itself");
        let none = from("10.0.0.2", &[]).to_http_request();
        assert_eq!(client_ip(&none, &s), ip("10.0.0.2"));
        let junk = from("10.0.0.2", &["203.0.113.1, not-an-ip"]).to_http_request();
        assert_eq!(client_ip(&junk, &s), ip("10.0.0.2"));
        let mapped = from("::ffff:10.0.0.2", &["2001:db8::5"]).to_http_request();
        assert_eq!(client_ip(&mapped, &s), ip("2001:db8::5"));
    }
}

//! The `.qwc` file a user adds to the QuickBooks Web Connector: where to call, as whom, and how
//! often. Rendered from `qwc-templates/qbsync.qwc`, which is embedded in the binary.

const TEMPLATE: &str = include_str!("../qwc-templates/qbsync.qwc");

/// What goes into one connection's `.qwc`.
pub struct QwcFields<'a> {
    /// Shown in the Web Connector and in QuickBooks' list of integrated applications.
    pub app_name: &'a str,
    pub app_description: &'a str,
    /// The service's public base URL, e.g. `https://sync.example.com`.
    pub public_url: &'a str,
    pub username: &'a str,
    pub owner_id: &'a str,
    pub file_id: &'a str,
    pub run_every_minutes: i64,
}

/// Why a public URL cannot be given to the Web Connector.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PublicUrlError {
    #[error("the public URL {0:?} is not an http(s) URL")]
    NotHttp(String),
    #[error(
        "the public URL {0:?} uses http: the Web Connector only accepts https addresses, except for localhost \
         (it would refuse the .qwc with QBWC1010); set --public-url / QBSYNC_PUBLIC_URL to the https address \
         the Web Connector reaches qbsync at"
    )]
    NotHttps(String),
    #[error(
        "the public URL {0:?} names an IP address: the Web Connector needs a host name (it would refuse the .qwc \
         with QBWC1001); use the DNS name of the server, or localhost"
    )]
    IpAddress(String),
}

/// Checks a public base URL the way the Web Connector will: https with a host name, or plain
/// http only on `localhost`.
pub fn check_public_url(url: &str) -> Result<(), PublicUrlError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| PublicUrlError::NotHttp(url.into()))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(PublicUrlError::NotHttp(url.into()));
    }
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    match scheme.to_ascii_lowercase().as_str() {
        "https" if is_ip => Err(PublicUrlError::IpAddress(url.into())),
        "https" => Ok(()),
        "http" if host.eq_ignore_ascii_case("localhost") => Ok(()),
        "http" if is_ip => Err(PublicUrlError::IpAddress(url.into())),
        "http" => Err(PublicUrlError::NotHttps(url.into())),
        _ => Err(PublicUrlError::NotHttp(url.into())),
    }
}

/// The base URL without a trailing slash.
pub fn base_url(public_url: &str) -> &str {
    public_url.trim_end_matches('/')
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Renders the `.qwc` file, refusing a public URL the Web Connector would refuse.
pub fn render(fields: &QwcFields<'_>) -> Result<String, PublicUrlError> {
    check_public_url(fields.public_url)?;
    let base = base_url(fields.public_url);
    let minutes = fields.run_every_minutes.clamp(1, 24 * 60).to_string();
    let values = [
        ("{{app_name}}", escape(fields.app_name)),
        ("{{app_url}}", escape(&format!("{base}/qbwc"))),
        ("{{app_description}}", escape(fields.app_description)),
        ("{{app_support}}", escape(&format!("{base}/support"))),
        ("{{username}}", escape(fields.username)),
        ("{{owner_id}}", escape(fields.owner_id)),
        ("{{file_id}}", escape(fields.file_id)),
        ("{{run_every_minutes}}", minutes),
    ];
    let mut out = TEMPLATE.to_string();
    for (placeholder, value) in values {
        out = out.replace(placeholder, &value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(url: &str) -> QwcFields<'_> {
        QwcFields {
            app_name: "qbsync (Acme & Sons)",
            app_description: "Sync customers",
            public_url: url,
            username: "acme-qb",
            owner_id: "{11111111-2222-3333-4444-555555555555}",
            file_id: "{AAAAAAAA-2222-3333-4444-555555555555}",
            run_every_minutes: 30,
        }
    }

    #[test]
    fn renders_every_field_escaped() {
        let qwc = render(&fields("https://sync.example.com/")).unwrap();
        assert!(qwc.contains("<AppName>qbsync (Acme &amp; Sons)</AppName>"));
        assert!(qwc.contains("<AppURL>https://sync.example.com/qbwc</AppURL>"));
        assert!(qwc.contains("<AppSupport>https://sync.example.com/support</AppSupport>"));
        assert!(qwc.contains("<UserName>acme-qb</UserName>"));
        assert!(qwc.contains("<OwnerID>{11111111-2222-3333-4444-555555555555}</OwnerID>"));
        assert!(qwc.contains("<FileID>{AAAAAAAA-2222-3333-4444-555555555555}</FileID>"));
        assert!(qwc.contains("<QBType>QBFS</QBType>"));
        assert!(qwc.contains("<IsReadOnly>true</IsReadOnly>"));
        assert!(qwc.contains("<RunEveryNMinutes>30</RunEveryNMinutes>"));
        assert!(!qwc.contains("{{"));
        // Well-formed, with QBWCXML as the root.
        let mut reader = quick_xml::Reader::from_str(&qwc);
        let mut depth = 0i32;
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
    }

    #[test]
    fn public_urls_are_checked_like_the_web_connector_does() {
        assert_eq!(check_public_url("https://sync.example.com"), Ok(()));
        assert_eq!(check_public_url("https://sync.example.com:8443/base"), Ok(()));
        assert_eq!(check_public_url("http://localhost:8080"), Ok(()));
        assert_eq!(check_public_url("HTTP://LOCALHOST"), Ok(()));
        assert!(matches!(check_public_url("http://sync.example.com"), Err(PublicUrlError::NotHttps(_))));
        assert!(matches!(check_public_url("http://127.0.0.1:8080"), Err(PublicUrlError::IpAddress(_))));
        assert!(matches!(check_public_url("https://10.0.0.5"), Err(PublicUrlError::IpAddress(_))));
        assert!(matches!(check_public_url("https://[::1]:8443"), Err(PublicUrlError::IpAddress(_))));
        assert!(matches!(check_public_url("ftp://x"), Err(PublicUrlError::NotHttp(_))));
        assert!(matches!(check_public_url("sync.example.com"), Err(PublicUrlError::NotHttp(_))));
        let err = render(&fields("http://sync.example.com")).unwrap_err().to_string();
        assert!(err.contains("https"), "{err}");
    }
}

//! qbXML spec versions and the choice of the version qbsync writes in `<?qbxml version?>`.
//!
//! QuickBooks (through the Web Connector) reports the versions it understands; qbsync speaks
//! everything from [`QbxmlVersion::MIN_SUPPORTED`] (5.0, QuickBooks 2006: the first version with
//! query iterators) up to [`QbxmlVersion::MAX_SUPPORTED`] (13.0) and picks the highest version
//! both sides support.

use std::fmt;

/// A numeric qbXML version such as `13.0`. Ordered by major, then minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QbxmlVersion {
    /// The part before the dot.
    pub major: u16,
    /// The part after the dot.
    pub minor: u16,
}

impl QbxmlVersion {
    /// The highest version qbsync emits; the customer and employee messages are the same in 14.0.
    pub const MAX_SUPPORTED: QbxmlVersion = QbxmlVersion { major: 13, minor: 0 };
    /// The lowest version qbsync accepts: query iterators (and `IncludeRetElement`, 4.0) exist
    /// from here. qbXML 5.0 shipped with QuickBooks 2006 (US).
    pub const MIN_SUPPORTED: QbxmlVersion = QbxmlVersion { major: 5, minor: 0 };

    /// Builds a version from its two parts.
    pub const fn new(major: u16, minor: u16) -> QbxmlVersion {
        QbxmlVersion { major, minor }
    }

    /// Parses `MAJOR.MINOR` (digits only, surrounding whitespace allowed), e.g. `"13.0"`.
    /// Country-prefixed versions such as `"CA3.0"`, bare `"13"`, signs and extra parts are refused.
    pub fn parse(s: &str) -> Option<QbxmlVersion> {
        let (major, minor) = s.trim().split_once('.')?;
        Some(QbxmlVersion { major: parse_digits(major)?, minor: parse_digits(minor)? })
    }
}

fn parse_digits(part: &str) -> Option<u16> {
    if part.is_empty() || part.len() > 5 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

impl fmt::Display for QbxmlVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// QuickBooks supports no qbXML version qbsync can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionTooOld {
    /// The highest reported version not above [`QbxmlVersion::MAX_SUPPORTED`], if any.
    pub best: Option<QbxmlVersion>,
}

impl fmt::Display for VersionTooOld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let needed = QbxmlVersion::MIN_SUPPORTED;
        match self.best {
            Some(best) => write!(
                f,
                "QuickBooks supports qbXML up to {best}, but qbsync needs {needed} or later (QuickBooks 2006 or newer)"
            ),
            None => write!(
                f,
                "QuickBooks reported no usable qbXML version, and qbsync needs {needed} or later (QuickBooks 2006 or newer)"
            ),
        }
    }
}

impl std::error::Error for VersionTooOld {}

/// Picks the highest version that QuickBooks supports and that is not above
/// [`QbxmlVersion::MAX_SUPPORTED`]. Fails when that version is below
/// [`QbxmlVersion::MIN_SUPPORTED`] (or when there is none).
pub fn choose_version(supported: &[QbxmlVersion]) -> Result<QbxmlVersion, VersionTooOld> {
    let best = supported.iter().copied().filter(|v| *v <= QbxmlVersion::MAX_SUPPORTED).max();
    match best {
        Some(version) if version >= QbxmlVersion::MIN_SUPPORTED => Ok(version),
        _ => Err(VersionTooOld { best }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u16, minor: u16) -> QbxmlVersion {
        QbxmlVersion::new(major, minor)
    }

    #[test]
    fn parse_accepts_numeric_versions() {
        assert_eq!(QbxmlVersion::parse("13.0"), Some(v(13, 0)));
        assert_eq!(QbxmlVersion::parse("2.1"), Some(v(2, 1)));
        assert_eq!(QbxmlVersion::parse(" 13.0 "), Some(v(13, 0)));
        assert_eq!(QbxmlVersion::parse("\n4.1\t"), Some(v(4, 1)));
    }

    #[test]
    fn parse_refuses_everything_else() {
        for bad in
            ["CA3.0", "UK2.0", "", "x", "13", "13.", ".0", "13.0.1", "+13.0", "-1.0", "1 3.0", "13,0", "99999999.0"]
        {
            assert_eq!(QbxmlVersion::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn display_and_ordering() {
        assert_eq!(v(13, 0).to_string(), "13.0");
        assert_eq!(QbxmlVersion::MIN_SUPPORTED.to_string(), "5.0");
        assert!(v(4, 1) < v(5, 0) && v(5, 0) < v(10, 0) && v(11, 0) < v(13, 0));
    }

    #[test]
    fn choose_version_picks_the_highest_supported_not_above_our_maximum() {
        let all: Vec<_> = ["1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "13.0", "14.0", "16.0"]
            .iter()
            .map(|s| QbxmlVersion::parse(s).unwrap())
            .collect();
        assert_eq!(choose_version(&all), Ok(v(13, 0)));
        assert_eq!(choose_version(&all[..9]), Ok(v(6, 0)));
        assert_eq!(choose_version(&[v(11, 0), v(5, 0), v(8, 0)]), Ok(v(11, 0)));
        assert_eq!(choose_version(&[v(5, 0)]), Ok(v(5, 0)));
    }

    #[test]
    fn choose_version_refuses_old_quickbooks() {
        let old = [v(1, 0), v(2, 0), v(4, 1), v(4, 0)];
        let error = choose_version(&old).unwrap_err();
        assert_eq!(error, VersionTooOld { best: Some(v(4, 1)) });
        assert_eq!(
            error.to_string(),
            "QuickBooks supports qbXML up to 4.1, but qbsync needs 5.0 or later (QuickBooks 2006 or newer)"
        );
        let none = choose_version(&[]).unwrap_err();
        assert_eq!(none.best, None);
        assert!(none.to_string().contains("5.0 or later"));
        assert_eq!(choose_version(&[v(14, 0)]), Err(VersionTooOld { best: None }));
    }
}

//! The `strHCPResponse` QBWC passes on the first `sendRequestXML` of a session: QuickBooks'
//! answers to HostQuery, CompanyQuery and PreferencesQuery in one qbXML document.
//!
//! qbsync reads only what it needs to pick a qbXML version and to describe the company file:
//! product and version, supported qbXML versions, file mode, company names, the Web
//! Connector's `FileID` custom field, and the application's access rights. Everything else
//! (addresses, EIN, subscribed services, preferences) is skipped unread. The same safety rules as
//! for query responses apply.

use super::error::ParseError;
use super::input::{Node, XmlInput};
use super::records::parse_bool;
use super::version::QbxmlVersion;

/// What qbsync keeps from the strHCPResponse. Missing or unreadable values are `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hcp {
    /// `HostRet/ProductName`, e.g. `QuickBooks Pro 2014`.
    pub product_name: Option<String>,
    /// `HostRet/MajorVersion` (QuickBooks' own version, e.g. `24` for 2014).
    pub major_version: Option<String>,
    /// `HostRet/MinorVersion`.
    pub minor_version: Option<String>,
    /// `HostRet/Country`, e.g. `US`.
    pub country: Option<String>,
    /// Every numeric `HostRet/SupportedQBXMLVersion`, in document order, without duplicates
    /// (country-prefixed ones such as `CA3.0` are left out).
    pub supported_versions: Vec<QbxmlVersion>,
    /// `HostRet/QBFileMode`: `SingleUser` or `MultiUser`.
    pub file_mode: Option<String>,
    /// `CompanyRet/CompanyName`.
    pub company_name: Option<String>,
    /// `CompanyRet/LegalCompanyName`.
    pub legal_company_name: Option<String>,
    /// The value of the `CompanyRet/DataExtRet` named `FileID` (the Web Connector's file id).
    pub file_id: Option<String>,
    /// `CurrentAppAccessRights/IsPersonalDataAccessAllowed`.
    pub personal_data_access_allowed: Option<bool>,
    /// `CurrentAppAccessRights/IsAutomaticLoginAllowed`.
    pub automatic_login_allowed: Option<bool>,
}

/// Paths (below `QBXML/QBXMLMsgsRs`) of the values read.
const PRODUCT_NAME: &str = "HostQueryRs/HostRet/ProductName";
const MAJOR_VERSION: &str = "HostQueryRs/HostRet/MajorVersion";
const MINOR_VERSION: &str = "HostQueryRs/HostRet/MinorVersion";
const COUNTRY: &str = "HostQueryRs/HostRet/Country";
const SUPPORTED_VERSION: &str = "HostQueryRs/HostRet/SupportedQBXMLVersion";
const FILE_MODE: &str = "HostQueryRs/HostRet/QBFileMode";
const COMPANY_NAME: &str = "CompanyQueryRs/CompanyRet/CompanyName";
const LEGAL_COMPANY_NAME: &str = "CompanyQueryRs/CompanyRet/LegalCompanyName";
const DATA_EXT: &str = "CompanyQueryRs/CompanyRet/DataExtRet";
const DATA_EXT_NAME: &str = "CompanyQueryRs/CompanyRet/DataExtRet/DataExtName";
const DATA_EXT_VALUE: &str = "CompanyQueryRs/CompanyRet/DataExtRet/DataExtValue";
const PERSONAL_DATA: &str = "PreferencesQueryRs/PreferencesRet/CurrentAppAccessRights/IsPersonalDataAccessAllowed";
const AUTOMATIC_LOGIN: &str = "PreferencesQueryRs/PreferencesRet/CurrentAppAccessRights/IsAutomaticLoginAllowed";

const CAPTURED: &[&str] = &[
    PRODUCT_NAME,
    MAJOR_VERSION,
    MINOR_VERSION,
    COUNTRY,
    SUPPORTED_VERSION,
    FILE_MODE,
    COMPANY_NAME,
    LEGAL_COMPANY_NAME,
    DATA_EXT_NAME,
    DATA_EXT_VALUE,
    PERSONAL_DATA,
    AUTOMATIC_LOGIN,
];

/// Every ancestor of a captured path: the only elements descended into.
fn is_on_a_captured_path(path: &str) -> bool {
    CAPTURED.iter().any(|target| target.strip_prefix(path).is_some_and(|rest| rest.starts_with('/')))
}

/// Reads a strHCPResponse document (already unescaped from the SOAP envelope).
pub fn parse_hcp(xml: &str) -> Result<Hcp, ParseError> {
    let mut input = XmlInput::new(xml.as_bytes(), None);
    let mut hcp = Hcp::default();
    // Path of the open elements below QBXMLMsgsRs, joined with '/'.
    let mut path = String::new();
    let mut data_ext_name: Option<String> = None;
    let mut data_ext_value: Option<String> = None;

    match input.next()? {
        Node::Start(name) if name == "QBXML" => {}
        Node::Start(name) => {
            return Err(ParseError::Structure(format!("root element is <{name}>, expected <QBXML>")));
        }
        other => {
            return Err(ParseError::Structure(format!("unexpected {other:?} at the start of the document")));
        }
    }
    loop {
        let node = input.next()?;
        let depth = input.depth();
        match node {
            Node::Eof => break,
            Node::Start(name) if depth == 2 => {
                if name != "QBXMLMsgsRs" {
                    return Err(ParseError::Structure(format!(
                        "unexpected <{name}> inside <QBXML>, expected <QBXMLMsgsRs>"
                    )));
                }
            }
            Node::Start(name) => {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(&name);
                if CAPTURED.contains(&path.as_str()) {
                    input.capture_text();
                } else if path == DATA_EXT {
                    data_ext_name = None;
                    data_ext_value = None;
                } else if !is_on_a_captured_path(&path) {
                    input.skip_element()?;
                    pop(&mut path);
                }
            }
            Node::End(_) if depth < 2 => {}
            Node::End(_) => {
                if CAPTURED.contains(&path.as_str()) {
                    // These describe the install, they are no keys: surrounding whitespace is
                    // dropped, and values that are blank or too long are treated as missing.
                    let value =
                        input.take_text().into_value().ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
                    store(&mut hcp, &path, value, &mut data_ext_name, &mut data_ext_value);
                } else if path == DATA_EXT && data_ext_name.as_deref() == Some("FileID") && hcp.file_id.is_none() {
                    hcp.file_id = data_ext_value.take();
                }
                pop(&mut path);
            }
        }
    }
    Ok(hcp)
}

fn pop(path: &mut String) {
    let keep = path.rfind('/').unwrap_or(0);
    path.truncate(keep);
}

fn store(
    hcp: &mut Hcp,
    path: &str,
    value: Option<String>,
    data_ext_name: &mut Option<String>,
    data_ext_value: &mut Option<String>,
) {
    match path {
        PRODUCT_NAME => hcp.product_name = value,
        MAJOR_VERSION => hcp.major_version = value,
        MINOR_VERSION => hcp.minor_version = value,
        COUNTRY => hcp.country = value,
        SUPPORTED_VERSION => {
            if let Some(version) = value.as_deref().and_then(QbxmlVersion::parse)
                && !hcp.supported_versions.contains(&version)
            {
                hcp.supported_versions.push(version);
            }
        }
        FILE_MODE => hcp.file_mode = value,
        COMPANY_NAME => hcp.company_name = value,
        LEGAL_COMPANY_NAME => hcp.legal_company_name = value,
        DATA_EXT_NAME => *data_ext_name = value,
        DATA_EXT_VALUE => *data_ext_value = value,
        PERSONAL_DATA => hcp.personal_data_access_allowed = value.as_deref().and_then(parse_bool),
        AUTOMATIC_LOGIN => hcp.automatic_login_allowed = value.as_deref().and_then(parse_bool),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qbxml::choose_version;

    fn versions(list: &[&str]) -> Vec<QbxmlVersion> {
        list.iter().map(|v| QbxmlVersion::parse(v).unwrap()).collect()
    }

    #[test]
    fn quickbooks_pro_2006() {
        let hcp = parse_hcp(include_str!("../../qbxml-fixtures/qbxml/hcp-response.qb-pro-2006.xml")).unwrap();
        assert_eq!(
            hcp,
            Hcp {
                product_name: Some("QuickBooks Pro 2006".into()),
                major_version: Some("16".into()),
                minor_version: Some("0".into()),
                country: Some("US".into()),
                supported_versions: versions(&["1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0"]),
                file_mode: Some("SingleUser".into()),
                company_name: Some("Test Company".into()),
                legal_company_name: Some("Test Company".into()),
                file_id: Some("{ee032e95-47f7-2564-096f-2d4545fcb021}".into()),
                personal_data_access_allowed: Some(false),
                automatic_login_allowed: Some(false),
            }
        );
        assert_eq!(choose_version(&hcp.supported_versions), Ok(QbxmlVersion::MIN_SUPPORTED));
    }

    #[test]
    fn quickbooks_premier_2012_sample_file() {
        let hcp =
            parse_hcp(include_str!("../../qbxml-fixtures/qbxml/hcp-response.qb-premier-2012-sample.xml")).unwrap();
        assert_eq!(hcp.product_name.as_deref(), Some("QuickBooks: Premier Manufacturing and Wholesale Edition 2012"));
        assert_eq!(hcp.major_version.as_deref(), Some("22"));
        assert_eq!(hcp.supported_versions.len(), 14);
        assert_eq!(hcp.supported_versions.last(), Some(&QbxmlVersion::new(11, 0)));
        assert_eq!(hcp.company_name.as_deref(), Some("Wholesale/Distributor Sample File"));
        assert_eq!(hcp.legal_company_name.as_deref(), Some("Your Company Name Goes here"));
        assert_eq!(hcp.file_id.as_deref(), Some("{CA1C3EB8-1B61-4747-A743-8D5B438B83AC}"));
        assert_eq!(hcp.automatic_login_allowed, Some(true));
        assert_eq!(hcp.personal_data_access_allowed, Some(false));
        assert_eq!(choose_version(&hcp.supported_versions), Ok(QbxmlVersion::new(11, 0)));
    }

    #[test]
    fn the_malformed_capture_gives_a_clean_error() {
        let result = parse_hcp(include_str!("../../qbxml-fixtures/qbxml/hcp-response.qbwc-test-helper.malformed.xml"));
        let error = result.unwrap_err();
        assert!(matches!(error, ParseError::Xml { .. }), "{error:?}");
        assert!(error.to_string().starts_with("malformed xml at byte "), "{error}");
    }

    #[test]
    fn the_malformed_capture_repaired_parses() {
        let repaired = include_str!("../../qbxml-fixtures/qbxml/hcp-response.qbwc-test-helper.malformed.xml")
            .replace("STR255TYPE<yzer/DataExtType>", "STR255TYPE</DataExtType>");
        let hcp = parse_hcp(&repaired).unwrap();
        assert_eq!(hcp.product_name.as_deref(), Some("QuickBooks Pro 2014"));
        assert_eq!(hcp.supported_versions.last(), Some(&QbxmlVersion::new(13, 0)));
        assert_eq!(hcp.file_id.as_deref(), Some("{00000ee-1111-ffff-cccc-5ff123456047}"));
        assert_eq!(hcp.company_name.as_deref(), Some("myCompany"));
        assert_eq!(choose_version(&hcp.supported_versions), Ok(QbxmlVersion::MAX_SUPPORTED));
    }

    #[test]
    fn unusual_inputs() {
        assert_eq!(parse_hcp("<QBXML><QBXMLMsgsRs/></QBXML>").unwrap(), Hcp::default());
        let odd = "<QBXML><QBXMLMsgsRs><HostQueryRs statusCode=\"0\"><HostRet><SupportedQBXMLVersion>CA3.0</SupportedQBXMLVersion>\
                   <SupportedQBXMLVersion>13.0</SupportedQBXMLVersion><SupportedQBXMLVersion> 13.0 </SupportedQBXMLVersion>\
                   <Unknown><ProductName>nested decoy</ProductName></Unknown></HostRet></HostQueryRs>\
                   <PreferencesQueryRs statusCode=\"0\"><PreferencesRet><CurrentAppAccessRights><IsPersonalDataAccessAllowed>maybe</IsPersonalDataAccessAllowed>\
                   </CurrentAppAccessRights></PreferencesRet></PreferencesQueryRs></QBXMLMsgsRs></QBXML>";
        let hcp = parse_hcp(odd).unwrap();
        assert_eq!(hcp.supported_versions, versions(&["13.0"]));
        assert_eq!(hcp.product_name, None);
        assert_eq!(hcp.personal_data_access_allowed, None);
        for bad in [
            "",
            "<Other/>",
            "<QBXML><Junk/></QBXML>",
            "<!DOCTYPE QBXML><QBXML/>",
            "<QBXML><QBXMLMsgsRs>&bogus;</QBXMLMsgsRs></QBXML>",
        ] {
            assert!(parse_hcp(bad).is_err(), "{bad}");
        }
    }
}

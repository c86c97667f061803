//! Checks against Intuit's own contract files, which live outside the repository: the qbXML 13.0
//! XSD (every request shape qbsync emits must validate with xmllint) and the QBWebConnectorSvc
//! WSDL (ours must offer the same operations, elements and SOAPActions). `.ci/run` provides both.

use std::collections::BTreeMap;
use std::process::Command;

use quick_xml::Reader;
use quick_xml::events::Event;

#[test]
#[ignore = "needs xmllint and Intuit's qbXML XSD in QBXML_XSD_DIR; run by .ci/run"]
fn contract_files_every_emitted_request_validates_against_the_qbxml_xsd() {
    let dir = std::env::var("QBXML_XSD_DIR").expect("QBXML_XSD_DIR names the folder of qbxmlops130.xsd");
    let schema = std::path::Path::new(&dir).join("qbxmlops130.xsd");
    assert!(schema.exists(), "{} is missing", schema.display());
    let out = tempfile::tempdir().unwrap();
    let shapes = qbsync::qbxml::request::request_shapes_for_validation();
    assert!(shapes.len() >= 10, "every request shape is listed");
    for (name, document) in shapes {
        let path = out.path().join(format!("{}.xml", name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")));
        std::fs::write(&path, &document).unwrap();
        let result = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&schema)
            .arg(&path)
            .output()
            .expect("xmllint runs");
        assert!(
            result.status.success(),
            "{name} does not validate:\n{}\n{document}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    // A request out of schema order must be refused, or the check above proves nothing.
    let bad = out.path().join("out-of-order.xml");
    std::fs::write(
        &bad,
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">\
         <CustomerQueryRq><ActiveStatus>All</ActiveStatus><MaxReturned>5</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>",
    )
    .unwrap();
    let result = Command::new("xmllint").arg("--noout").arg("--schema").arg(&schema).arg(&bad).output().unwrap();
    assert!(!result.status.success());
}

/// An element's children: (name, type, minOccurs).
type Children = Vec<(String, String, String)>;

/// Operation → SOAPAction (SOAP 1.1 binding), and element → its children.
fn wsdl_outline(xml: &str) -> (BTreeMap<String, String>, BTreeMap<String, Children>) {
    let mut reader = Reader::from_str(xml);
    let mut actions = BTreeMap::new();
    let mut elements: BTreeMap<String, Children> = BTreeMap::new();
    let mut top_element: Option<String> = None;
    let mut depth_in_element = 0usize;
    let mut operation: Option<String> = None;
    let mut in_soap11_binding = false;
    loop {
        let event = reader.read_event().unwrap();
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = e.local_name().as_ref().to_string();
            let attr = |key: &str| {
                e.attributes().flatten().find(|a| a.key.local_name().as_ref() == key).map(|a| a.value.to_string())
            };
            let prefix = e.name().prefix().map(|p| p.as_ref().to_string());
            match name.as_str() {
                "element" if top_element.is_none() && depth_in_element == 0 => {
                    top_element = attr("name");
                    if !empty {
                        depth_in_element = 1;
                    } else {
                        elements.entry(top_element.take().unwrap()).or_default();
                    }
                    if let Some(n) = &top_element {
                        elements.entry(n.clone()).or_default();
                    }
                    continue;
                }
                "element" => {
                    if let Some(parent) = &top_element {
                        elements.get_mut(parent).unwrap().push((
                            attr("name").unwrap_or_default(),
                            attr("type").unwrap_or_default().rsplit(':').next().unwrap_or_default().to_string(),
                            attr("minOccurs").unwrap_or_else(|| "1".into()),
                        ));
                    }
                }
                "binding" if prefix.is_none() || prefix.as_deref() == Some("wsdl") => {
                    in_soap11_binding = !attr("name").unwrap_or_default().contains("12");
                }
                "operation" if in_soap11_binding && attr("soapAction").is_none() => operation = attr("name"),
                "operation" if in_soap11_binding => {
                    if let Some(op) = &operation {
                        actions.insert(op.clone(), attr("soapAction").unwrap());
                    }
                }
                _ => {}
            }
            if depth_in_element > 0 && !empty {
                depth_in_element += 1;
            }
        }
        match event {
            Event::End(e) => {
                if depth_in_element > 0 {
                    depth_in_element -= 1;
                    if depth_in_element == 0 {
                        top_element = None;
                    }
                }
                if e.local_name().as_ref() == "binding" {
                    in_soap11_binding = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (actions, elements)
}

#[test]
#[ignore = "needs Intuit's QBWebConnectorSvc WSDL in QBWC_REFERENCE_WSDL; run by .ci/run"]
fn contract_files_our_wsdl_offers_everything_intuits_does() {
    let path = std::env::var("QBWC_REFERENCE_WSDL").expect("QBWC_REFERENCE_WSDL names Intuit's WSDL");
    let theirs = std::fs::read_to_string(path).unwrap();
    let ours = include_str!("../../wsdl/QBWebConnectorSvc.wsdl");
    let (their_actions, their_elements) = wsdl_outline(&theirs);
    let (our_actions, our_elements) = wsdl_outline(ours);
    assert!(their_actions.len() >= 8, "{their_actions:?}");
    for (op, action) in &their_actions {
        assert_eq!(our_actions.get(op), Some(action), "operation {op}");
    }
    for (element, children) in &their_elements {
        assert_eq!(our_elements.get(element), Some(children), "element {element}");
    }
    for extra in ["getServerVersion", "getInteractiveURL", "interactiveDone", "interactiveRejected"] {
        assert_eq!(
            our_actions.get(extra).map(String::as_str),
            Some(format!("http://developer.intuit.com/{extra}").as_str())
        );
    }
}

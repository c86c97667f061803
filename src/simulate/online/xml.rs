//! Intuit's XML form of an API answer, for a client that forgets `Accept: application/json`
//! (guide §2.1: without it QBO answers XML). Pure: the JSON answer in, `IntuitResponse` out.
//!
//! The mapping follows Intuit's schema closely enough to catch such a client: the top-level
//! `time` becomes an attribute of `<IntuitResponse>`; an array becomes repeated elements named
//! by its key; the attribute-like fields (`domain`, `sparse`, `status`, `startPosition`,
//! `maxResults`, `totalCount`, a fault's `type`, an error's `code` and `element`) become
//! attributes; a reference object (`{"value": "7", "name": ...}`) becomes `<ParentRef
//! name="...">7</ParentRef>`.

use serde_json::Value;

const ATTRIBUTES: &[&str] =
    &["domain", "sparse", "status", "startPosition", "maxResults", "totalCount", "type", "code", "element"];

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn element(name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|item| element(name, item, out)),
        Value::Object(map) => {
            out.push('<');
            out.push_str(name);
            let reference = map.contains_key("value") && map.values().all(|v| scalar(v).is_some());
            for (key, v) in map {
                if (ATTRIBUTES.contains(&key.as_str()) || (reference && key != "value"))
                    && let Some(text) = scalar(v)
                {
                    out.push_str(&format!(" {key}=\""));
                    escape(&text, out);
                    out.push('"');
                }
            }
            out.push('>');
            if reference {
                escape(&scalar(&map["value"]).unwrap_or_default(), out);
            } else {
                for (key, v) in map {
                    if !(ATTRIBUTES.contains(&key.as_str()) && scalar(v).is_some()) {
                        element(key, v, out);
                    }
                }
            }
            out.push_str(&format!("</{name}>"));
        }
        other => {
            out.push_str(&format!("<{name}>"));
            escape(&scalar(other).unwrap_or_default(), out);
            out.push_str(&format!("</{name}>"));
        }
    }
}

/// The XML document for a JSON answer (`{"QueryResponse": ..., "time": ...}` and the like).
pub fn intuit_response(answer: &Value) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<IntuitResponse xmlns=\"http://schema.intuit.com/finance/v3\"",
    );
    if let Some(time) = answer.get("time").and_then(scalar) {
        out.push_str(" time=\"");
        escape(&time, &mut out);
        out.push('"');
    }
    out.push('>');
    if let Value::Object(map) = answer {
        for (key, value) in map.iter().filter(|(k, _)| k.as_str() != "time") {
            element(key, value, &mut out);
        }
    }
    out.push_str("</IntuitResponse>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_query_page_and_a_fault_become_intuit_xml() {
        let page = json!({"QueryResponse": {"Customer": [
            {"Id": "8", "domain": "QBO", "sparse": false, "DisplayName": "Bits<Bytes & Co", "Level": 1,
             "ParentRef": {"value": "7"}, "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
             "BillAddr": {"Id": "3", "Line1": "1 Main"}},
            {"Id": "9", "domain": "QBO", "sparse": false, "DisplayName": "Café"}
        ], "startPosition": 1, "maxResults": 2}, "time": "2026-05-05T05:15:24.356-07:00"});
        assert_eq!(
            intuit_response(&page),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <IntuitResponse xmlns=\"http://schema.intuit.com/finance/v3\" time=\"2026-05-05T05:15:24.356-07:00\">\
             <QueryResponse maxResults=\"2\" startPosition=\"1\">\
             <Customer domain=\"QBO\" sparse=\"false\"><BillAddr><Id>3</Id><Line1>1 Main</Line1></BillAddr>\
             <CurrencyRef name=\"United States Dollar\">USD</CurrencyRef><DisplayName>Bits&lt;Bytes &amp; Co</DisplayName>\
             <Id>8</Id><Level>1</Level><ParentRef>7</ParentRef></Customer>\
             <Customer domain=\"QBO\" sparse=\"false\"><DisplayName>Café</DisplayName><Id>9</Id></Customer>\
             </QueryResponse></IntuitResponse>"
        );
        let fault = json!({"Fault": {"Error": [{"Message": "Error parsing query", "Detail": "QueryParserError: x",
            "code": "4000", "element": ""}], "type": "ValidationFault"}, "time": "t"});
        assert_eq!(
            intuit_response(&fault),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <IntuitResponse xmlns=\"http://schema.intuit.com/finance/v3\" time=\"t\"><Fault type=\"ValidationFault\">\
             <Error code=\"4000\" element=\"\"><Detail>QueryParserError: x</Detail><Message>Error parsing query</Message></Error>\
             </Fault></IntuitResponse>"
        );
    }
}

//! `GET /api/openapi.json`: the OpenAPI 3 document of the JSON API. A test walks every path and
//! method in it against the running server, so it must say what the server really does.

use actix_web::HttpResponse;
use serde_json::{Value, json};
use utoipa::PartialSchema;

use crate::record::{StagedCustomer, StagedEmployee};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn body(schema: &str, example: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") }, "example": example } } })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } })
}

fn list_params(extra: &[Value]) -> Value {
    let mut params = vec![
        json!({ "name": "q", "in": "query", "schema": { "type": "string" }, "description": "Text search: every word must be found (any order) in the record's names, company, address, phones or e-mail; case and accents do not count, street types match either spelling (Rd, Road), phone numbers match by their digits" }),
        json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } }),
        json!({ "name": "cursor", "in": "query", "schema": { "type": "string" }, "description": "The `next` value of the previous page" }),
    ];
    params.extend(extra.iter().cloned());
    Value::Array(params)
}

fn linked_param() -> Value {
    json!({ "name": "linked", "in": "query", "schema": { "type": "string", "enum": ["true", "false"] } })
}

fn status_param() -> Value {
    json!({ "name": "status", "in": "query", "schema": { "type": "string", "pattern": "^(active|inactive|deleted)(,(active|inactive|deleted))*$" },
        "description": "One status, or several separated by commas: active,inactive lists all but the deleted records" })
}

fn connection_param() -> Value {
    json!({ "name": "connection", "in": "query", "schema": { "type": "string", "format": "uuid" } })
}

fn nullable_string() -> Value {
    json!({ "type": ["string", "null"] })
}

fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

fn date_time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn nullable_date_time() -> Value {
    json!({ "type": ["string", "null"], "format": "date-time" })
}

fn integer() -> Value {
    json!({ "type": "integer" })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// An object schema whose listed properties are all always present (the API writes null for an
/// absent value rather than leaving the key out).
fn object(properties: Value) -> Value {
    let required: Vec<String> = properties.as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    json!({ "type": "object", "required": required, "properties": properties })
}

/// Like [`object`], but the whole object may be null (a link that is not there).
fn nullable_object(properties: Value) -> Value {
    let mut schema = object(properties);
    schema["type"] = json!(["object", "null"]);
    schema
}

/// A location's address (a staged record's is `QbAddress`, derived from `record::Address`).
fn address_schema() -> Value {
    let mut props = serde_json::Map::new();
    for key in ["line1", "line2", "line3", "line4", "line5", "city", "state", "postal_code", "country"] {
        props.insert(key.into(), nullable_string());
    }
    object(Value::Object(props))
}

/// A list page. `with_total`: the list's first page (no cursor) also says how many records match
/// in all; later pages leave the count out, which would cost a scan of every match each time.
fn page_schema(item: &str, with_total: bool) -> Value {
    let mut schema = object(json!({
        "items": { "type": "array", "items": schema_ref(item) },
        "next": { "type": ["string", "null"], "description": "Cursor of the next page, null on the last" }
    }));
    if with_total {
        schema["properties"]["total"] =
            json!({ "type": "integer", "description": "How many records match in all; on the first page only" });
    }
    schema
}

fn run_schema() -> Value {
    object(json!({
        "id": uuid(), "connection_id": uuid(),
        "state": { "type": "string", "enum": ["live", "ended"] },
        "outcome": { "type": ["string", "null"], "enum": [null, "success", "warnings", "errors", "failed", "expired", "connection_error"] },
        "started_at": date_time(), "ended_at": nullable_date_time(), "last_call_at": date_time(),
        "step": { "type": "string", "enum": ["start", "customers_deleted", "customers", "employees_deleted", "employees", "done"],
            "description": "What the run is reading: a list's deletions (incremental runs), the list itself, or nothing more" },
        "mode": { "type": "string", "enum": ["full", "incremental"],
            "description": "full: every record of every list, and what a complete list lacks is marked deleted; \
                            incremental: only what QuickBooks changed or deleted since the list's watermark" },
        "changes": object(json!({ "customers": schema_ref("ChangeCounts"), "employees": schema_ref("ChangeCounts") })),
        "percent": { "type": "integer", "minimum": 0, "maximum": 100 },
        "qbxml_version": nullable_string(),
        "requests": { "type": "integer", "description": "qbXML requests sent so far" },
        "counts": object(json!({
            "customers": integer(), "employees": integer(), "customers_deleted": integer(), "employees_deleted": integer(),
            "warnings": integer(), "errors": integer() })),
        "last_error": nullable_string(), "summary": nullable_string(),
        "trigger": { "type": ["string", "null"], "enum": [null, "web_connector", "button", "webhook"],
            "description": "What started the run: the Web Connector, Get Locations / Get Staff (or the pull route), or a QuickBooks Online change notice; null for runs recorded before triggers were" }
    }))
}

/// The state before or after an audited change: the link, and the record a "+" made.
fn audit_state_schema(description: &str) -> Value {
    json!({ "type": ["object", "null"], "required": [], "description": description, "properties": {
        "link": nullable_object(json!({ "id": uuid(), "name": nullable_string() })),
        "record": { "type": "object", "required": ["name"], "properties": {
            "name": { "type": "string" }, "description": { "type": "string" }, "address": schema_ref("Address"),
            "phone": nullable_string(), "email": nullable_string() } },
        "deleted": { "type": "boolean" },
        "fields": { "type": "object", "required": [], "description": "A reviewed change: the fields applied, as they were and as they became",
            "properties": { "name": schema_ref("ChangeValue"), "address": schema_ref("ChangeValue"),
                "phone": schema_ref("ChangeValue"), "email": schema_ref("ChangeValue") } },
        "changes": { "type": "array", "description": "A reviewed change: what had changed in QuickBooks", "items": schema_ref("FieldChange") } } })
}

/// The schemas of the staged records, derived from their Rust types (`crate::record`) with the
/// ones they refer to, so the document says exactly what the API serializes.
fn record_schemas() -> Vec<(String, Value)> {
    use utoipa::ToSchema;
    let mut found = Vec::new();
    for (name, schema) in
        [(StagedCustomer::name(), StagedCustomer::schema()), (StagedEmployee::name(), StagedEmployee::schema())]
    {
        found.push((name.into_owned(), schema));
    }
    StagedCustomer::schemas(&mut found);
    StagedEmployee::schemas(&mut found);
    found
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).expect("a schema is plain JSON")))
        .collect()
}

/// The document itself.
pub fn openapi() -> Value {
    let unauthorized = error_response("Not signed in, or no valid bearer token");
    let forbidden = error_response("A write with the session cookie but without the X-CSRF-Token header");
    let not_found = error_response("No such record in the caller's organization");
    let bad_request = error_response("A malformed query or body");
    let unprocessable = error_response("A well-formed body with invalid values");
    let conflict = error_response("Already linked, or a name already taken; nothing changed");
    let busy = error_response(
        "Too many password hashes waiting (the server is under a sign-in flood); retry after Retry-After seconds",
    );
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "qbsync API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Staged QuickBooks customers and employees, the organization's locations and staff, and the links between them. \
                            Every request is scoped to the caller's organization. Errors are {\"error\": {\"code\", \"message\"}}."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, { "session": [] }],
        "paths": {
            "/api/v1/session": {
                "get": { "summary": "The signed-in admin (browser sessions only)", "responses": {
                    "200": json_response("The session", "Session"), "401": unauthorized.clone() } }
            },
            "/api/v1/connections": {
                "get": { "summary": "List connections", "responses": {
                    "200": json_response("Every connection of the organization", "ConnectionPage"), "401": unauthorized.clone() } },
                "post": { "summary": "Create a connection: a Desktop one answers its Web Connector password, once; an online one (kind online) its consent URL",
                    "requestBody": body("NewConnection", json!({ "name": "Documented office", "run_every_minutes": 30 })),
                    "responses": { "201": { "description": "Created", "content": { "application/json": { "schema": {
                            "oneOf": [schema_ref("ConnectionWithPassword"), schema_ref("ConnectionWithAuthorizeUrl")] } } } }, "400": bad_request.clone(),
                        "401": unauthorized.clone(), "403": forbidden.clone(), "409": conflict.clone(), "422": unprocessable.clone(),
                        "503": busy.clone() } }
            },
            "/api/v1/connections/{id}": {
                "parameters": [id_param()],
                "get": { "summary": "One connection with its staged counts", "responses": {
                    "200": json_response("The connection with its staged counts", "ConnectionDetail"), "401": unauthorized.clone(), "404": not_found.clone() } },
                "patch": { "summary": "Change a connection",
                    "requestBody": body("ConnectionChanges", json!({ "enabled": true, "run_every_minutes": 45 })),
                    "responses": { "200": json_response("Changed, with its staged counts", "ConnectionDetail"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(), "409": conflict.clone(), "422": unprocessable.clone() } },
                "delete": { "summary": "Delete a connection, its runs and staged records (linked locations and staff stay, unlinked)",
                    "responses": { "204": { "description": "Deleted" }, "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone() } }
            },
            "/api/v1/connections/{id}/password": {
                "parameters": [id_param()],
                "post": { "summary": "Rotate the Web Connector password (shown once)", "responses": {
                    "200": json_response("The new password", "Password"), "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone(),
                    "503": busy } }
            },
            "/api/v1/connections/{id}/qwc": {
                "parameters": [id_param()],
                "get": { "summary": "The .qwc file for the Web Connector", "responses": {
                    "200": { "description": "The .qwc file", "content": { "application/xml": { "schema": { "type": "string" } } } },
                    "401": unauthorized.clone(), "404": not_found.clone(),
                    "422": error_response("The server's public URL is one the Web Connector refuses (not https, or an IP address)") } }
            },
            "/api/v1/connections/{id}/pull": {
                "parameters": [id_param()],
                "post": { "summary": "QuickBooks Online: pull lists now (Get Locations / Get Staff); answers the run, which goes on in the background",
                    "requestBody": body("PullRequest", json!({ "lists": ["customers"] })),
                    "responses": { "202": json_response("The run started", "Run"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(),
                        "409": error_response("A run of the connection is in progress, or the connection is not connected (or needs to be reconnected)"),
                        "422": error_response("A QuickBooks Desktop connection (its lists arrive with the Web Connector), QuickBooks Online not enabled on the server, or unknown lists") } }
            },
            "/api/v1/connections/{id}/authorize": {
                "parameters": [id_param()],
                "post": { "summary": "QuickBooks Online: a new consent URL, to connect the connection or reconnect it",
                    "responses": { "200": json_response("Where to send the browser", "AuthorizeUrl"), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(),
                        "422": error_response("A QuickBooks Desktop connection, or QuickBooks Online not enabled on the server") } }
            },
            "/api/v1/connections/{id}/disconnect": {
                "parameters": [id_param()],
                "post": { "summary": "QuickBooks Online: revoke the authorization at Intuit and forget the tokens; staged records and links stay",
                    "responses": { "200": json_response("Disconnected (status pending)", "DisconnectedConnection"), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(),
                        "422": error_response("A QuickBooks Desktop connection") } }
            },
            "/api/v1/connections/{id}/runs": {
                "parameters": [id_param(),
                    json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } }),
                    json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } })],
                "get": { "summary": "Run history, newest first, with warnings and errors", "responses": {
                    "200": json_response("A page of runs", "RunPage"), "400": bad_request.clone(), "401": unauthorized.clone(), "404": not_found.clone() } }
            },
            "/api/v1/connections/{id}/runs/{run_id}/changes": {
                "parameters": [id_param(),
                    json!({ "name": "run_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }),
                    json!({ "name": "list", "in": "query", "schema": { "type": "string", "enum": ["customers", "employees"] } }),
                    json!({ "name": "change", "in": "query", "schema": { "type": "string",
                        "enum": ["new", "changed", "deactivated", "reactivated", "deleted"] } }),
                    json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } }),
                    json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } })],
                "get": { "summary": "The records a run changed, by list, kind of change and name", "responses": {
                    "200": json_response("A page of changed records", "RunChangePage"), "400": bad_request.clone(),
                    "401": unauthorized.clone(), "404": not_found.clone() } }
            },
            "/api/v1/locations": {
                "get": { "summary": "List locations", "parameters": list_params(&[linked_param()]), "responses": {
                    "200": json_response("A page of locations", "LocationPage"), "400": bad_request.clone(), "401": unauthorized.clone() } },
                "post": { "summary": "Create a location",
                    "requestBody": body("LocationInput", json!({ "name": "Documented site", "address": { "line1": "1 Main St", "city": "Springfield" } })),
                    "responses": { "201": json_response("Created", "Location"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "422": unprocessable.clone() } }
            },
            "/api/v1/locations/{id}": {
                "parameters": [id_param()],
                "get": { "summary": "One location", "responses": {
                    "200": json_response("The location", "Location"), "401": unauthorized.clone(), "404": not_found.clone() } },
                "patch": { "summary": "Change a location (any subset of fields)",
                    "requestBody": body("LocationInput", json!({ "description": "Lobby and stairs" })),
                    "responses": { "200": json_response("Changed", "Location"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(), "422": unprocessable.clone() } },
                "delete": { "summary": "Delete a location (its link goes with it)", "responses": {
                    "204": { "description": "Deleted" }, "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone() } }
            },
            "/api/v1/locations/{id}/link": {
                "parameters": [id_param()],
                "put": { "summary": "Link the location to a QuickBooks customer",
                    "requestBody": body("CustomerLink", json!({ "customer_id": "00000000-0000-0000-0000-000000000000" })),
                    "responses": { "200": json_response("Linked", "Location"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(), "409": conflict.clone(), "422": unprocessable.clone() } },
                "delete": { "summary": "Disconnect the location from its customer", "responses": {
                    "200": json_response("Disconnected", "Location"), "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone() } }
            },
            "/api/v1/staff": {
                "get": { "summary": "List staff members", "parameters": list_params(&[linked_param()]), "responses": {
                    "200": json_response("A page of staff", "StaffPage"), "400": bad_request.clone(), "401": unauthorized.clone() } },
                "post": { "summary": "Create a staff member",
                    "requestBody": body("StaffInput", json!({ "name": "Documented Person", "email": "person@example.com" })),
                    "responses": { "201": json_response("Created", "Staff"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "422": unprocessable.clone() } }
            },
            "/api/v1/staff/{id}": {
                "parameters": [id_param()],
                "get": { "summary": "One staff member", "responses": {
                    "200": json_response("The staff member", "Staff"), "401": unauthorized.clone(), "404": not_found.clone() } },
                "patch": { "summary": "Change a staff member",
                    "requestBody": body("StaffInput", json!({ "phone": "555-0100" })),
                    "responses": { "200": json_response("Changed", "Staff"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(), "422": unprocessable.clone() } },
                "delete": { "summary": "Delete a staff member", "responses": {
                    "204": { "description": "Deleted" }, "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone() } }
            },
            "/api/v1/staff/{id}/link": {
                "parameters": [id_param()],
                "put": { "summary": "Link the staff member to a QuickBooks employee",
                    "requestBody": body("EmployeeLink", json!({ "employee_id": "00000000-0000-0000-0000-000000000000" })),
                    "responses": { "200": json_response("Linked", "Staff"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(), "409": conflict.clone(), "422": unprocessable.clone() } },
                "delete": { "summary": "Disconnect the staff member from its employee", "responses": {
                    "200": json_response("Disconnected", "Staff"), "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone() } }
            },
            "/api/v1/qb/customers": {
                "get": { "summary": "Staged QuickBooks customers", "parameters": list_params(&[linked_param(), status_param(), connection_param()]),
                    "responses": { "200": json_response("A page of customers", "CustomerPage"), "400": bad_request.clone(), "401": unauthorized.clone() } }
            },
            "/api/v1/qb/customers/{id}/location": {
                "parameters": [id_param()],
                "post": { "summary": "Create a location filled from the customer and link it (idempotent: keyed by the customer)",
                    "description": "The location is named after the customer; a job after its parent too (`Parent, Job`), with the full name in the description. The X-Audit-Event header names the change for `POST /api/v1/audit/undo`.",
                    "responses": { "201": json_response("The new, linked location", "Location"),
                        "200": json_response("The customer was already linked (a repeated request): the location it is linked to", "Location"),
                        "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(), "409": conflict.clone() } }
            },
            "/api/v1/suggestions": {
                "get": { "summary": "Likely pairs of unlinked records, best first, or one record's best candidates",
                    "description": "Compares names, street addresses, phones and e-mail addresses after normalizing (case, accents, punctuation, word order, street-type and unit abbreviations); only pairs sharing a block key (a name word or word pair, the street address, a phone, an e-mail) are compared. Without a record id: pairs scoring at least min_score (default: threshold), each record in one pair at most. With one: that record's best candidates (default 5, scoring 0.4 or more).",
                    "parameters": [
                        json!({ "name": "kind", "in": "query", "required": true, "schema": { "type": "string", "enum": ["locations", "staff"] } }),
                        json!({ "name": "location_id", "in": "query", "schema": { "type": "string", "format": "uuid" } }),
                        json!({ "name": "customer_id", "in": "query", "schema": { "type": "string", "format": "uuid" } }),
                        json!({ "name": "staff_id", "in": "query", "schema": { "type": "string", "format": "uuid" } }),
                        json!({ "name": "employee_id", "in": "query", "schema": { "type": "string", "format": "uuid" } }),
                        json!({ "name": "min_score", "in": "query", "schema": { "type": "number", "minimum": 0, "maximum": 1 } }),
                        json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } })],
                    "responses": { "200": json_response("The suggestions", "SuggestionList"), "400": bad_request.clone(), "401": unauthorized.clone() } }
            },
            "/api/v1/suggestions/accept": {
                "post": { "summary": "Link suggested pairs, all in one transaction",
                    "requestBody": body("AcceptSuggestions", json!({ "kind": "locations", "pairs": [
                        { "location_id": "00000000-0000-0000-0000-000000000000", "customer_id": "00000000-0000-0000-0000-000000000000" }] })),
                    "responses": { "200": json_response("Every pair linked", "Accepted"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(),
                        "409": error_response("A record of some pair is already linked; nothing changed"), "422": unprocessable.clone() } }
            },
            "/api/v1/changes": {
                "get": { "summary": "Linked pairs whose QuickBooks record changed (name, address, phones, e-mail, active, deleted) since it was linked or last reviewed, field by field, with the counts of both kinds",
                    "parameters": [json!({ "name": "kind", "in": "query", "required": true, "schema": { "type": "string", "enum": ["locations", "staff"] } })],
                    "responses": { "200": json_response("The pairs to review (at most 500) and how many there are of each kind", "ChangeList"),
                        "400": bad_request.clone(), "401": unauthorized.clone() } }
            },
            "/api/v1/changes/{id}/apply": {
                "parameters": [json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" },
                    "description": "The location's or staff member's id" })],
                "post": { "summary": "Copy chosen fields of the changed QuickBooks record onto the location (staff member) and mark its changes reviewed; recorded in the audit log (apply)",
                    "requestBody": body("ApplyChange", json!({ "fields": ["name", "address"] })),
                    "responses": { "200": json_response("The location (or staff member) as it is now; X-Audit-Event names the event", "LocationOrStaff"),
                        "400": bad_request.clone(), "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone(),
                        "409": error_response("No change of its QuickBooks record is waiting for review (already applied or dismissed, or unlinked)"),
                        "422": unprocessable.clone() } }
            },
            "/api/v1/changes/{id}/dismiss": {
                "parameters": [json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" },
                    "description": "The location's or staff member's id" })],
                "post": { "summary": "Mark the changes of the QuickBooks record reviewed, leaving the location (staff member) as it is; recorded in the audit log (dismiss)",
                    "responses": { "200": json_response("The location (or staff member), unchanged; X-Audit-Event names the event", "LocationOrStaff"),
                        "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found.clone(),
                        "409": error_response("No change of its QuickBooks record is waiting for review") } }
            },
            "/api/v1/audit": {
                "get": { "summary": "Who linked, unlinked, created, accepted or undid what, when, with before and after; newest first",
                    "parameters": [
                        json!({ "name": "subject", "in": "query", "schema": { "type": "string", "format": "uuid" },
                            "description": "A location's or staff member's id (or a QuickBooks record's): its history" }),
                        json!({ "name": "since", "in": "query", "schema": { "type": "string", "format": "date-time" } }),
                        json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } }),
                        json!({ "name": "cursor", "in": "query", "schema": { "type": "string" }, "description": "The `next` value of the previous page" })],
                    "responses": { "200": json_response("A page of events", "AuditPage"), "400": bad_request.clone(), "401": unauthorized.clone() } }
            },
            "/api/v1/audit/undo": {
                "post": { "summary": "Undo changes (links, unlinks, records made by +, accepted suggestions), all in one transaction",
                    "requestBody": body("UndoEvents", json!({ "events": ["00000000-0000-0000-0000-000000000000"] })),
                    "responses": { "200": json_response("Every change undone", "Undone"), "400": bad_request.clone(), "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(),
                        "409": error_response("Something moved on since (the link changed, the record was edited, already undone); nothing changed"),
                        "422": unprocessable.clone() } }
            },
            "/api/v1/qb/employees": {
                "get": { "summary": "Staged QuickBooks employees", "parameters": list_params(&[linked_param(), status_param(), connection_param()]),
                    "responses": { "200": json_response("A page of employees", "EmployeePage"), "400": bad_request.clone(), "401": unauthorized.clone() } }
            },
            "/api/v1/qb/employees/{id}/staff": {
                "parameters": [id_param()],
                "post": { "summary": "Create a staff member filled from the employee and link it (idempotent: keyed by the employee)",
                    "description": "Name, e-mail and phone (the mobile, else the main phone) are copied. The X-Audit-Event header names the change for `POST /api/v1/audit/undo`.",
                    "responses": { "201": json_response("The new, linked staff member", "Staff"),
                        "200": json_response("The employee was already linked (a repeated request): the staff member it is linked to", "Staff"),
                        "401": unauthorized.clone(),
                        "403": forbidden.clone(), "404": not_found.clone(), "409": conflict.clone() } }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "A token from `qbsync token create`" },
                "session": { "type": "apiKey", "in": "cookie", "name": "qbsync_session",
                    "description": "The admin page's session; writes also need the X-CSRF-Token header" }
            },
            "schemas": {
                "Error": object(json!({ "error": object(json!({ "code": { "type": "string" }, "message": { "type": "string" } })) })),
                "Session": object(json!({
                    "admin": object(json!({ "id": uuid(), "email": { "type": "string" } })),
                    "org": object(json!({ "id": uuid(), "name": { "type": "string" } })),
                    "csrf_token": { "type": "string", "description": "Send it in the X-CSRF-Token header of every write" },
                    "quickbooks_online": object(json!({ "enabled": { "type": "boolean",
                        "description": "Whether the server can make QuickBooks Online connections (QBSYNC_QBO_CLIENT_ID and _SECRET set)" } })) })),
                "Password": object(json!({ "password": { "type": "string" } })),
                "NewConnection": { "type": "object", "required": ["name"], "properties": {
                    "name": { "type": "string" },
                    "kind": { "type": "string", "enum": ["desktop", "online"], "description": "desktop (the default): QuickBooks Desktop through the Web Connector; online: QuickBooks Online, connected with OAuth 2.0" },
                    "company_file": { "type": "string" },
                    "username": { "type": "string", "pattern": "^[A-Za-z0-9._-]{1,60}$",
                        "description": "Base of the Web Connector user name (lower-cased); a random suffix is always added" },
                    "run_every_minutes": { "type": "integer", "minimum": 1, "maximum": 1440 } } },
                "ConnectionChanges": { "type": "object", "properties": {
                    "name": { "type": "string" }, "enabled": { "type": "boolean" }, "company_file": { "type": "string" },
                    "run_every_minutes": { "type": "integer", "minimum": 1, "maximum": 1440 },
                    "full_refresh_every_days": { "type": "integer", "minimum": 1, "maximum": 90,
                        "description": "A full run every this many days (QuickBooks keeps deletions about 90 days)" },
                    "full_refresh_next_run": { "type": "boolean",
                        "description": "true: the next run reads every record; false withdraws the request" } } },
                "ListState": object(json!({
                    "updated_at": { "type": ["string", "null"], "format": "date-time",
                        "description": "When the list was last brought up to date (read completely, in full or incrementally)" },
                    "watermark": { "type": ["string", "null"],
                        "description": "The newest TimeModified / TimeDeleted of the list's last complete read, in QuickBooks' local time as it wrote it" } })),
                "ChangeCounts": object(json!({ "new": integer(), "changed": integer(), "deactivated": integer(),
                    "reactivated": integer(), "deleted": integer() })),
                "RunChange": object(json!({
                    "list": { "type": "string", "enum": ["customers", "employees"] },
                    "change": { "type": "string", "enum": ["new", "changed", "deactivated", "reactivated", "deleted"] },
                    "list_id": { "type": "string" },
                    "name": { "type": "string", "description": "Full name of a customer, name of an employee" } })),
                "RunChangePage": page_schema("RunChange", false),
                "Connection": object(json!({
                    "id": uuid(), "org_id": uuid(), "name": { "type": "string" },
                    "kind": { "type": "string", "enum": ["desktop", "online"] },
                    "realm_id": { "type": ["string", "null"], "description": "Online: the QuickBooks Online company id, once connected" },
                    "company_name": { "type": ["string", "null"], "description": "The company's name as QuickBooks reports it" },
                    "status": { "type": ["string", "null"], "enum": [null, "pending", "connected", "needs_reconnect"],
                        "description": "Online: pending (not authorized yet, or disconnected), connected, needs_reconnect (Intuit refused the refresh token); null for Desktop" },
                    "username": { "type": ["string", "null"], "description": "Desktop: the Web Connector user name; null for online" },
                    "owner_id": nullable_string(), "file_id": nullable_string(), "enabled": { "type": "boolean" },
                    "company_file": { "type": "string" }, "run_every_minutes": { "type": "integer" },
                    "full_refresh_every_days": integer(),
                    "full_refresh_next_run": { "type": "boolean", "description": "A full run was asked for and has not happened yet" },
                    "next_full_refresh_at": { "type": "string", "format": "date-time",
                        "description": "When the next run will be a full one (now when one is due)" },
                    "last_full_run_at": nullable_date_time(),
                    "lists": object(json!({ "customers": schema_ref("ListState"), "employees": schema_ref("ListState") })),
                    "incremental_refused": { "oneOf": [{ "type": "null" }, object(json!({
                        "quickbooks": { "type": "string" }, "reason": nullable_string() }))],
                        "description": "This QuickBooks refused the requests of incremental runs: its runs read every record" },
                    "quickbooks": object(json!({ "product": nullable_string(), "version": nullable_string(),
                        "country": nullable_string(), "company_name": nullable_string(), "file_path": nullable_string(),
                        "qbxml_version": nullable_string(), "seen_at": nullable_date_time() })),
                    "created_at": date_time(),
                    "last_run": { "oneOf": [schema_ref("Run"), { "type": "null" }] } })),
                "ConnectionDetail": { "allOf": [schema_ref("Connection"), object(json!({
                    "staged": object(json!({ "customers": integer(), "employees": integer() })) }))] },
                "ConnectionWithPassword": { "allOf": [schema_ref("Connection"), object(json!({ "password": { "type": "string" } }))] },
                "ConnectionWithAuthorizeUrl": { "allOf": [schema_ref("Connection"), object(json!({
                    "authorize_url": { "type": "string", "description": "Intuit's consent page for this connection; valid for 10 minutes, once" } }))] },
                "DisconnectedConnection": { "allOf": [schema_ref("ConnectionDetail"), object(json!({
                    "revoked": { "type": "boolean", "description": "Whether Intuit confirmed the revocation (the tokens are forgotten either way)" } }))] },
                "AuthorizeUrl": object(json!({ "authorize_url": { "type": "string" } })),
                "PullRequest": { "type": "object", "properties": {
                    "lists": { "type": "array", "items": { "type": "string", "enum": ["customers", "employees"] },
                        "description": "The lists to pull (default: both)" } } },
                "ConnectionPage": page_schema("Connection", false),
                "Run": run_schema(),
                "RunWithEvents": { "allOf": [schema_ref("Run"), object(json!({
                    "events": { "type": "array", "description": "Warnings and errors, oldest first", "items": object(json!({
                        "at": date_time(), "level": { "type": "string", "enum": ["warning", "error"] },
                        "code": nullable_string(), "message": { "type": "string" }, "explanation": nullable_string() })) },
                    "errors": { "type": "array", "description": "The events of level error", "items": object(json!({
                        "code": nullable_string(), "message": { "type": "string" }, "explanation": nullable_string() })) } }))] },
                "RunPage": page_schema("RunWithEvents", false),
                "Address": address_schema(),
                "LocationInput": { "type": "object", "properties": {
                    "name": { "type": "string" }, "description": { "type": "string" }, "address": schema_ref("Address"),
                    "phone": nullable_string(), "email": nullable_string() } },
                "Location": object(json!({
                    "id": uuid(), "name": { "type": "string" }, "description": { "type": "string" },
                    "address": schema_ref("Address"), "phone": nullable_string(), "email": nullable_string(),
                    "link": nullable_object(json!({ "customer_id": uuid(), "connection_id": uuid(),
                        "list_id": { "type": "string" }, "full_name": { "type": "string" },
                        "status": { "type": "string", "enum": ["active", "inactive", "deleted"] },
                        "changed": { "type": "boolean", "description": "The customer changed in QuickBooks (name, address, phones, e-mail, active, deleted) since it was linked or its changes were last reviewed: see /api/v1/changes" },
                        "address": { "description": "The customer's address a location takes (ship-to, else billing)", "oneOf": [schema_ref("QbAddress"), { "type": "null" }] } })),
                    "created_at": date_time(), "updated_at": date_time() })),
                "LocationPage": page_schema("Location", true),
                "CustomerLink": { "type": "object", "required": ["customer_id"], "properties": { "customer_id": uuid() } },
                "StaffInput": { "type": "object", "properties": { "name": { "type": "string" }, "email": nullable_string(), "phone": nullable_string() } },
                "Staff": object(json!({
                    "id": uuid(), "name": { "type": "string" }, "email": nullable_string(), "phone": nullable_string(),
                    "link": nullable_object(json!({ "employee_id": uuid(), "connection_id": uuid(),
                        "list_id": { "type": "string" }, "name": { "type": "string" },
                        "status": { "type": "string", "enum": ["active", "inactive", "deleted"] },
                        "changed": { "type": "boolean", "description": "The employee changed in QuickBooks since it was linked or its changes were last reviewed: see /api/v1/changes" },
                        "email": nullable_string(), "phone": { "type": ["string", "null"], "description": "The mobile, else the main phone (the one a \"+\" copies)" } })),
                    "created_at": date_time(), "updated_at": date_time() })),
                "StaffPage": page_schema("Staff", true),
                "EmployeeLink": { "type": "object", "required": ["employee_id"], "properties": { "employee_id": uuid() } },
                "CustomerPage": page_schema("Customer", true),
                "LocationSuggestion": object(json!({
                    "location_id": uuid(), "customer_id": uuid(), "score": { "type": "number", "minimum": 0, "maximum": 1 },
                    "reasons": { "type": "array", "items": { "type": "string" }, "description": "e.g. \"same street address\", \"name 92% alike\"" },
                    "location_name": { "type": "string" }, "customer_name": { "type": "string", "description": "The full name" },
                    "connection_id": uuid() })),
                "StaffSuggestion": object(json!({
                    "staff_id": uuid(), "employee_id": uuid(), "score": { "type": "number", "minimum": 0, "maximum": 1 },
                    "reasons": { "type": "array", "items": { "type": "string" } },
                    "staff_name": { "type": "string" }, "employee_name": { "type": "string" }, "connection_id": uuid() })),
                "SuggestionList": object(json!({
                    "items": { "type": "array", "items": { "oneOf": [schema_ref("LocationSuggestion"), schema_ref("StaffSuggestion")] } },
                    "threshold": { "type": "number", "description": "The default min_score of the list of pairs" } })),
                "AcceptSuggestions": { "type": "object", "required": ["kind", "pairs"], "properties": {
                    "kind": { "type": "string", "enum": ["locations", "staff"] },
                    "pairs": { "type": "array", "items": { "type": "object", "properties": {
                        "location_id": uuid(), "customer_id": uuid(), "staff_id": uuid(), "employee_id": uuid() } } } } },
                "Accepted": object(json!({ "linked": integer(),
                    "events": { "type": "array", "items": uuid(), "description": "The audit events, for undoing them" } })),
                "AuditEvent": object(json!({
                    "id": uuid(), "at": date_time(),
                    "who": object(json!({ "kind": { "type": "string", "enum": ["admin", "token"] }, "id": { "type": ["string", "null"], "format": "uuid" },
                        "name": { "type": "string", "description": "The admin's e-mail address, or \"API token\"" } })),
                    "action": { "type": "string", "enum": ["link", "unlink", "create", "accept", "undo", "apply", "dismiss"] },
                    "subject": object(json!({ "kind": { "type": "string", "enum": ["location", "staff"] }, "id": uuid(), "name": { "type": "string" } })),
                    "quickbooks": nullable_object(json!({ "id": uuid(), "name": nullable_string() })),
                    "before": audit_state_schema("The link (and the record made by a +) before the change"),
                    "after": audit_state_schema("The link (and the record made by a +) after the change; `deleted` when an undo removed it"),
                    "undoes": { "type": ["string", "null"], "format": "uuid" }, "undone_by": { "type": ["string", "null"], "format": "uuid" } })),
                "AuditPage": page_schema("AuditEvent", false),
                "LocationOrStaff": { "oneOf": [schema_ref("Location"), schema_ref("Staff")] },
                "ChangeList": object(json!({
                    "items": { "type": "array", "items": schema_ref("ChangeReview") },
                    "counts": object(json!({ "locations": integer(), "staff": integer() })) })),
                "ChangeReview": { "type": "object", "required": ["id", "name", "quickbooks_name", "status", "changes", "fields"], "properties": {
                    "id": uuid(), "location_id": uuid(), "staff_id": uuid(), "customer_id": uuid(), "employee_id": uuid(),
                    "name": { "type": "string", "description": "The location's (staff member's) name" },
                    "quickbooks_name": { "type": "string" }, "connection_id": { "type": ["string", "null"], "format": "uuid" },
                    "status": { "type": "string", "enum": ["active", "inactive", "deleted"] },
                    "changes": { "type": "array", "description": "What changed in QuickBooks since the link was made or last reviewed",
                        "items": schema_ref("FieldChange") },
                    "fields": { "type": "array", "description": "The fields the location (staff member) can take: as it has them and as QuickBooks would give them",
                        "items": object(json!({ "field": { "type": "string", "enum": ["name", "address", "phone", "email"] },
                            "current": schema_ref("ChangeValue"), "quickbooks": schema_ref("ChangeValue"), "differs": { "type": "boolean" } })) } } },
                "FieldChange": object(json!({ "field": { "type": "string", "enum": ["name", "address", "phone", "mobile", "alt_phone", "email", "active", "deleted"] },
                    "before": schema_ref("ChangeValue"), "after": schema_ref("ChangeValue") })),
                "ChangeValue": { "anyOf": [{ "type": ["string", "boolean", "null"] }, schema_ref("QbAddress"), schema_ref("Address")] },
                "ApplyChange": { "type": "object", "required": ["fields"], "properties": { "fields": { "type": "array", "minItems": 1,
                    "items": { "type": "string", "enum": ["name", "address", "phone", "email"] },
                    "description": "Locations: name, address, phone, email; staff: name, email, phone" } } },
                "UndoEvents": { "type": "object", "required": ["events"], "properties": { "events": { "type": "array", "items": uuid() } } },
                "Undone": object(json!({ "undone": integer(), "events": { "type": "array", "items": uuid() } })),
                "EmployeePage": page_schema("Employee", true)
            }
        }
    });
    if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
        schemas.extend(record_schemas());
    }
    // Every operation counts against the organization's request budget.
    let over_budget = error_response("The organization's request budget is spent; Retry-After says for how long");
    for item in document["paths"].as_object_mut().into_iter().flat_map(|paths| paths.values_mut()) {
        for operation in item.as_object_mut().into_iter().flat_map(|ops| ops.values_mut()) {
            if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                responses.insert("429".into(), over_budget.clone());
            }
        }
    }
    document
}

/// `GET /api/openapi.json`
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::record::{Customer, Employee, LinkedTo, RecordStatus};

    /// The property names of a schema, following `$ref` and `allOf`.
    fn properties(schemas: &serde_json::Map<String, Value>, schema: &Value) -> BTreeSet<String> {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
            return properties(schemas, &schemas[name]);
        }
        let mut keys: BTreeSet<String> =
            schema["properties"].as_object().into_iter().flatten().map(|(k, _)| k.clone()).collect();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            keys.extend(properties(schemas, part));
        }
        keys
    }

    #[test]
    fn record_schemas_name_exactly_the_keys_the_records_serialize() {
        let document = openapi();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let link = Some(LinkedTo { id: uuid::Uuid::nil(), name: "Site".into() });
        let customer = serde_json::to_value(StagedCustomer {
            id: uuid::Uuid::nil(),
            connection_id: uuid::Uuid::nil(),
            record: Customer::default(),
            status: RecordStatus::Active,
            deleted_at: None,
            seen_at: chrono::Utc::now(),
            link: link.clone(),
        })
        .unwrap();
        let employee = serde_json::to_value(StagedEmployee {
            id: uuid::Uuid::nil(),
            connection_id: uuid::Uuid::nil(),
            record: Employee::default(),
            status: RecordStatus::Active,
            deleted_at: None,
            seen_at: chrono::Utc::now(),
            link,
        })
        .unwrap();
        for (name, value, address_key) in [("Customer", customer, "bill_address"), ("Employee", employee, "address")] {
            let keys: BTreeSet<String> = value.as_object().unwrap().keys().cloned().collect();
            assert_eq!(properties(schemas, &schemas[name]), keys, "{name}");
            let address: BTreeSet<String> = value[address_key].as_object().unwrap().keys().cloned().collect();
            assert_eq!(properties(schemas, &schemas["QbAddress"]), address, "{name}.{address_key}");
            assert!(keys.contains("job_status") == (name == "Customer") && keys.contains("notes"), "{keys:?}");
        }
        // Every reference in the document leads somewhere.
        let text = document.to_string();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(schemas.contains_key(name), "dangling reference to {name}");
        }
    }
}

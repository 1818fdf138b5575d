//! Spans → Request / RemoteDependency, span events → Exception / Message.

use super::attrs::{self, first_str, get_int, get_str, has, truncate};
use super::common::{self, tag};
use super::{Output, TranslatorConfig};
use crate::envelope::{
    BaseData, DOMAIN_VERSION, ExceptionData, ExceptionDetails, MessageData, NumMap,
    RemoteDependencyData, RequestData, StrMap,
};
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::trace::{Span, span::SpanKind, status::StatusCode};

/// Attribute prefixes Microsoft treats as standard (not copied to properties).
const STANDARD_PREFIXES: &[&str] = &[
    "http.",
    "db.",
    "message.",
    "messaging.",
    "rpc.",
    "enduser.",
    "net.",
    "peer.",
    "exception.",
    "thread.",
    "fass.",
    "code.",
];

/// Standard keys outside those prefixes (not copied to properties).
const STANDARD_KEYS: &[&str] = &[
    "session.id",
    "client.address",
    "client.port",
    "server.address",
    "server.port",
    "url.full",
    "url.path",
    "url.query",
    "url.scheme",
    "url.template",
    "error.type",
    "network.local.address",
    "network.local.port",
    "network.protocol.name",
    "network.peer.address",
    "network.peer.port",
    "network.protocol.version",
    "network.transport",
    "user_agent.original",
    "user_agent.synthetic.type",
    "_MS.sampleRate",
    attrs::CUSTOM_MEASUREMENTS,
];

/// Whether a span attribute is one the mapping consumes (and so not a custom property).
pub fn is_standard_attribute(key: &str) -> bool {
    STANDARD_PREFIXES.iter().any(|p| key.starts_with(p)) || STANDARD_KEYS.contains(&key)
}

const HTTP_METHOD: &[&str] = &["http.request.method", "http.method"];
const HTTP_STATUS: &[&str] = &["http.response.status_code", "http.status_code"];

/// Most links sent in `_MS.links` (the property value limit is 8192 chars, 80 per link).
const MAX_LINKS: usize = 103;

/// Translates one span (and its events) into `out`.
pub fn translate_span(
    config: &TranslatorConfig,
    resource_tags: &StrMap,
    span: &Span,
    out: &mut Output,
) -> Result<(), String> {
    let trace_id = common::trace_id_hex(&span.trace_id)?;
    let span_id = common::span_id_hex(&span.span_id)?;
    let a = span.attributes.as_slice();
    let duration = common::format_duration(
        span.end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano),
    );
    let mut tags = resource_tags.clone();
    tags.insert(tag::OPERATION_ID, trace_id.clone());
    common::user_tags(&mut tags, a);
    if common::is_synthetic(a) {
        tags.insert(tag::SYNTHETIC, "True");
    }
    if span.parent_span_id.len() == 8 && span.parent_span_id.iter().any(|b| *b != 0) {
        tags.insert(
            tag::PARENT_ID,
            stratus_core::jsonw::hex(&span.parent_span_id),
        );
    }
    let ok = span.status.as_ref().map(|s| s.code) != Some(StatusCode::Error as i32);
    let mut properties = StrMap::new();
    attrs::properties_into(&mut properties, a, |k| !is_standard_attribute(k));
    if !span.links.is_empty() {
        // Written as Microsoft's exporter writes it (Python `json.dumps`).
        let links: Vec<String> = span
            .links
            .iter()
            .take(MAX_LINKS)
            .map(|l| {
                format!(
                    r#"{{"operation_Id": "{}", "id": "{}"}}"#,
                    stratus_core::jsonw::hex(&l.trace_id),
                    stratus_core::jsonw::hex(&l.span_id)
                )
            })
            .collect();
        properties.insert("_MS.links", format!("[{}]", links.join(", ")));
    }
    let measurements = attrs::measurements(a);
    let kind = SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified);
    let data = match kind {
        SpanKind::Server | SpanKind::Consumer => BaseData::Request(request(
            span,
            span_id.clone(),
            duration,
            ok,
            properties,
            measurements,
            &mut tags,
        )),
        _ => BaseData::RemoteDependency(dependency(
            span,
            kind,
            span_id.clone(),
            duration,
            ok,
            properties,
            measurements,
            &mut tags,
        )),
    };
    let sample_rate = common::sample_rate(a);
    out.push(config, tags, span.start_time_unix_nano, sample_rate, data);
    for event in &span.events {
        let mut tags = resource_tags.clone();
        tags.insert(tag::OPERATION_ID, trace_id.clone());
        if let Some(stratus_core::pdata::common::any_value::Value::StringValue(s)) =
            attrs::get(&event.attributes, "session.id").or_else(|| attrs::get(a, "session.id"))
        {
            tags.insert(tag::SESSION_ID, s.clone());
        }
        tags.insert(tag::PARENT_ID, span_id.clone());
        let mut properties = StrMap::new();
        attrs::properties_into(&mut properties, &event.attributes, |k| {
            !is_standard_attribute(k)
        });
        let measurements = attrs::measurements(&event.attributes);
        let data = if event.name == "exception" {
            BaseData::Exception(exception(
                &event.attributes,
                None,
                None,
                properties,
                measurements,
            ))
        } else if config.span_events_enabled {
            BaseData::Message(MessageData {
                ver: DOMAIN_VERSION,
                message: truncate(event.name.clone(), 32768),
                severity_level: None,
                properties,
                measurements,
            })
        } else {
            continue;
        };
        out.push(config, tags, event.time_unix_nano, sample_rate, data);
    }
    Ok(())
}

/// An ExceptionData from `exception.type/message/stacktrace` attributes; `message` (a log
/// body) wins over `exception.message`.
pub fn exception(
    a: &[KeyValue],
    severity_level: Option<u8>,
    message: Option<String>,
    properties: StrMap,
    measurements: NumMap,
) -> ExceptionData {
    let type_name = get_str(a, "exception.type").unwrap_or_else(|| "Exception".to_owned());
    let message = message
        .or_else(|| get_str(a, "exception.message"))
        .unwrap_or_else(|| "Exception".to_owned());
    let stack = attrs::get(a, "exception.stacktrace")
        .map(attrs::value_to_string)
        .map(|s| truncate(s, 32768));
    ExceptionData {
        ver: DOMAIN_VERSION,
        severity_level,
        properties,
        measurements,
        exceptions: vec![ExceptionDetails {
            type_name: truncate(type_name, 1024),
            message: truncate(message, 32768),
            has_full_stack: stack.is_some(),
            stack,
        }],
    }
}

fn http_status(a: &[KeyValue]) -> i64 {
    HTTP_STATUS
        .iter()
        .find(|k| has(a, k))
        .and_then(|k| get_int(a, k))
        .unwrap_or(0)
}

/// Path of a URL (`/` when it has none), without query or fragment.
fn url_path(url: &str) -> String {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    }
}

fn request(
    span: &Span,
    id: String,
    duration: String,
    ok: bool,
    properties: StrMap,
    measurements: NumMap,
    tags: &mut StrMap,
) -> RequestData {
    let a = span.attributes.as_slice();
    let mut name = span.name.clone();
    let mut response_code = "0".to_owned();
    let mut success = ok;
    let mut url = None;
    let mut source = None;
    // Set now (and replaced in place below) so the tags come in Microsoft's order.
    tags.insert(tag::OPERATION_NAME, span.name.clone());
    if let Some(ip) = common::location_ip(a) {
        tags.insert(tag::LOCATION_IP, ip);
    }
    if let Some(method) = first_str(a, HTTP_METHOD) {
        if let Some(ua) = first_str(a, &["user_agent.original", "http.user_agent"]) {
            tags.insert(tag::USER_AGENT, ua);
        }
        let u = request_url(a);
        if let Some(route) = get_str(a, "http.route") {
            name = format!("{method} {route}");
        } else if let Some(u) = &u {
            name = format!("{method} {}", url_path(u));
        }
        url = u;
        let code = http_status(a);
        response_code = code.to_string();
        success = ok && code > 0 && code < 400;
    } else if has(a, "messaging.system")
        && let Some(dest) = get_str(a, "messaging.destination")
    {
        source = Some(
            match first_str(a, &["client.address", "net.peer.name", "net.peer.ip"]) {
                Some(peer) => format!("{peer}/{dest}"),
                None => dest,
            },
        );
    }
    let name = truncate(name, 1024);
    tags.insert(tag::OPERATION_NAME, name.clone());
    RequestData {
        ver: DOMAIN_VERSION,
        name,
        id,
        duration,
        response_code: truncate(response_code, 1024),
        success,
        properties,
        measurements,
        url: url.map(|u| truncate(u, 2048)),
        source: source.map(|s| truncate(s, 1024)),
    }
}

fn request_url(a: &[KeyValue]) -> Option<String> {
    if let Some(u) = first_str(a, &["url.full", "http.url"]) {
        return Some(u);
    }
    let scheme = first_str(a, &["url.scheme", "http.scheme"])?;
    let target = match get_str(a, "url.path") {
        Some(p) => match get_str(a, "url.query") {
            Some(q) => format!("{p}?{q}"),
            None => p,
        },
        None => get_str(a, "http.target")?,
    };
    let host = if let Some(h) = get_str(a, "server.address") {
        match get_str(a, "server.port") {
            Some(p) => format!("{h}:{p}"),
            None => h,
        }
    } else if let Some(h) = get_str(a, "http.host") {
        h
    } else if let Some(h) = first_str(a, &["http.server_name", "net.host.name"]) {
        format!("{h}:{}", get_str(a, "net.host.port").unwrap_or_default())
    } else {
        return None;
    };
    Some(format!("{scheme}://{host}{target}"))
}

fn default_http_port(a: &[KeyValue]) -> i64 {
    match first_str(a, &["url.scheme", "http.scheme"]).as_deref() {
        Some("http") => 80,
        Some("https") => 443,
        _ => 0,
    }
}

fn default_db_port(system: &str) -> i64 {
    match system {
        "postgresql" => 5432,
        "cassandra" => 9042,
        "mariadb" | "mysql" => 3306,
        "mssql" | "microsoft.sql_server" => 1433,
        "memcached" => 11211,
        "db2" | "ibm.db2" => 50000,
        "oracle" | "oracle.db" => 1521,
        "h2" | "h2database" => 8082,
        "derby" => 1527,
        "redis" => 6379,
        _ => 0,
    }
}

fn is_sql_db(system: &str) -> bool {
    matches!(
        system,
        "db2"
            | "ibm.db2"
            | "derby"
            | "mariadb"
            | "mssql"
            | "microsoft.sql_server"
            | "oracle"
            | "oracle.db"
            | "sqlite"
            | "other_sql"
            | "hsqldb"
            | "h2"
            | "h2database"
    )
}

fn db_system(a: &[KeyValue]) -> Option<String> {
    first_str(a, &["db.system.name", "db.system"])
}

/// Target from `peer.service`, else `net.peer.name|ip[:port]` (default ports left out).
fn peer_target(a: &[KeyValue]) -> Option<String> {
    if let Some(s) = get_str(a, "peer.service") {
        return Some(s);
    }
    let mut target = first_str(a, &["net.peer.name", "net.peer.ip"]).unwrap_or_default();
    if let Some(port) = get_int(a, "net.peer.port") {
        let db = db_system(a).unwrap_or_default();
        if port != default_http_port(a) && port != default_db_port(&db) {
            target = format!("{target}:{port}");
        }
    }
    (!target.is_empty()).then_some(target)
}

/// `host[:port]` from `server.address`/`server.port`, the port left out when it is
/// `default` (or absent).
fn server_target(a: &[KeyValue], default: i64) -> Option<String> {
    let host = get_str(a, "server.address")?;
    Some(match get_int(a, "server.port") {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host,
    })
}

#[allow(clippy::too_many_arguments)]
fn dependency(
    span: &Span,
    kind: SpanKind,
    id: String,
    duration: String,
    ok: bool,
    properties: StrMap,
    measurements: NumMap,
    tags: &mut StrMap,
) -> RemoteDependencyData {
    let a = span.attributes.as_slice();
    let mut name = span.name.clone();
    let mut result_code = "0".to_owned();
    let mut dep_type: Option<String>;
    let mut data: Option<String> = None;
    let mut target = peer_target(a);
    let az_namespace = get_str(a, "az.namespace");
    let gen_ai = get_str(a, "gen_ai.system");
    match kind {
        SpanKind::Client => {
            if let Some(ns) = &az_namespace {
                dep_type = Some(ns.clone());
                target = azure_sdk_target(a);
            } else if let Some(method) = first_str(a, HTTP_METHOD) {
                dep_type = Some("HTTP".to_owned());
                if let Some(ua) = first_str(a, &["user_agent.original", "http.user_agent"]) {
                    tags.insert(tag::USER_AGENT, ua);
                }
                let url = dependency_url(a);
                let path = url
                    .as_deref()
                    .map(url_path)
                    .unwrap_or_else(|| "/".to_owned());
                target = http_target(a, url.as_deref()).or(target);
                name = format!("{method} {path}");
                data = url;
                result_code = http_status(a).to_string();
            } else if let Some(system) = db_system(a) {
                dep_type = Some(match system.as_str() {
                    "mysql" | "postgresql" | "mongodb" | "redis" => system.clone(),
                    s if is_sql_db(s) => "SQL".to_owned(),
                    _ => system.clone(),
                });
                data = first_str(
                    a,
                    &[
                        "db.query.text",
                        "db.statement",
                        "db.operation.name",
                        "db.operation",
                    ],
                );
                target = db_target(target, &system, a);
            } else if let Some(system) = get_str(a, "messaging.system") {
                target = target.or_else(|| messaging_target(a));
                dep_type = Some(system);
            } else if let Some(system) = get_str(a, "rpc.system") {
                // Microsoft writes the attribute NAME (`rpc.system`) as the type; the value
                // (`grpc`, `dotnet_wcf`, ...) is what identifies the dependency.
                target = target
                    .or_else(|| server_target(a, 0))
                    .or_else(|| Some(system.clone()));
                dep_type = Some(system);
            } else {
                dep_type = Some("N/A".to_owned());
            }
            if let Some(g) = &gen_ai {
                dep_type = Some(format!("GenAI | {g}"));
                if target.is_none() {
                    target = Some(g.clone());
                }
            }
        }
        SpanKind::Producer => {
            if let Some(ns) = &az_namespace {
                dep_type = Some(format!("Queue Message | {ns}"));
                target = azure_sdk_target(a);
            } else {
                dep_type = Some(match get_str(a, "messaging.system") {
                    Some(s) => format!("Queue Message | {s}"),
                    None => "Queue Message".to_owned(),
                });
                target = target.or_else(|| messaging_target(a));
            }
        }
        _ => {
            dep_type = Some(if let Some(g) = &gen_ai {
                format!("GenAI | {g}")
            } else if let Some(ns) = &az_namespace {
                format!("InProc | {ns}")
            } else {
                "InProc".to_owned()
            });
        }
    }
    let name = truncate(name, 1024);
    tags.insert(tag::OPERATION_NAME, name.clone());
    RemoteDependencyData {
        ver: DOMAIN_VERSION,
        name,
        id,
        result_code: truncate(result_code, 1024),
        duration,
        success: ok,
        properties,
        measurements,
        kind: dep_type.map(|t| truncate(t, 1024)),
        data: data.map(|d| truncate(d, 8192)),
        target: target.filter(|t| !t.is_empty()).map(|t| truncate(t, 1024)),
    }
}

fn azure_sdk_target(a: &[KeyValue]) -> Option<String> {
    let peer = first_str(a, &["server.address", "net.peer.name", "peer.address"])?;
    let dest = first_str(
        a,
        &["messaging.destination.name", "message_bus.destination"],
    )?;
    Some(format!("{peer}/{dest}"))
}

fn messaging_target(a: &[KeyValue]) -> Option<String> {
    first_str(a, &["messaging.destination", "messaging.system"])
}

fn db_target(target: Option<String>, system: &str, a: &[KeyValue]) -> Option<String> {
    let target = target.or_else(|| server_target(a, default_db_port(system)));
    match first_str(a, &["db.namespace", "db.name"]) {
        Some(db) => Some(match target {
            Some(t) => format!("{t}|{db}"),
            None => db,
        }),
        None => target.or_else(|| Some(system.to_owned())),
    }
}

fn dependency_url(a: &[KeyValue]) -> Option<String> {
    if let Some(u) = first_str(a, &["url.full", "http.url"]) {
        return Some(u);
    }
    let scheme = first_str(a, &["url.scheme", "http.scheme"])?;
    let target = get_str(a, "http.target")?;
    if let Some(host) = get_str(a, "http.host") {
        return Some(format!("{scheme}://{host}{target}"));
    }
    let port = get_str(a, "net.peer.port")?;
    let peer = first_str(a, &["net.peer.name", "net.peer.ip"])?;
    Some(format!("{scheme}://{peer}:{port}{target}"))
}

fn http_target(a: &[KeyValue], url: Option<&str>) -> Option<String> {
    let default = default_http_port(a);
    if let Some(t) = server_target(a, default) {
        return Some(t);
    }
    if let Some(s) = get_str(a, "peer.service") {
        return Some(s);
    }
    if let Some(host) = get_str(a, "http.host") {
        return Some(match host.rsplit_once(':') {
            Some((h, p)) if p.parse::<i64>().ok() == Some(default) => h.to_owned(),
            _ => host,
        });
    }
    let url = url?;
    let rest = url.split_once("://")?.1;
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
    let netloc = netloc.rsplit_once('@').map(|(_, h)| h).unwrap_or(netloc);
    if netloc.is_empty() {
        return None;
    }
    Some(match netloc.rsplit_once(':') {
        Some((h, p)) if p.parse::<i64>().ok() == Some(default) => h.to_owned(),
        _ => netloc.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths() {
        assert_eq!(url_path("https://h.example/a/b?x=1"), "/a/b");
        assert_eq!(url_path("https://h.example"), "/");
        assert_eq!(url_path("https://h.example?x"), "/");
    }

    #[test]
    fn standard_attributes_are_not_properties() {
        assert!(is_standard_attribute("http.route"));
        assert!(is_standard_attribute("server.port"));
        assert!(!is_standard_attribute("app.tenant"));
        assert!(!is_standard_attribute("server.name"));
    }
}

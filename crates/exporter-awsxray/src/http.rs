//! The `http` block.
//!
//! Upstream `internal/translator/http.go` `makeHTTP` as of v0.147 (the version behind
//! the feature gates `exporter.awsxray.EmitV1HTTPNetworkConventions` and
//! `exporter.awsxray.DontEmitV0HTTPNetworkConventions`), read with both conventions
//! on: the old keys (`http.method`, `http.url`, `net.peer.*`, …) and the new ones
//! (`http.request.method`, `url.full`, `url.path`/`url.query`, `server.*`,
//! `client.address`, `network.peer.*`, `messaging.message.body.size`) are all read.
//! Upstream's defaults read the same, except that `network.peer.port` and
//! `messaging.message.body.size` wait for the EmitV1 gate; here they are read (the
//! issue asks for both conventions).
//!
//! Attributes are read in the span's order; where an old and a new key set the same
//! field, the later attribute wins, as in upstream's loop over `span.Attributes()`.
//! Every key this block knows is claimed (kept out of metadata) even when the block
//! itself is not written, as upstream does.

use std::borrow::Cow;
use std::net::IpAddr;

use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::trace::span::SpanKind;

use crate::attrs::{Pool, SpanView, get, int_of, non_empty, port_of, str_of, value_of};
use crate::model::{Http, Request, Response};

/// The URL parts upstream collects in its `urlParts` map.
#[derive(Debug, Default)]
struct UrlParts<'a> {
    full: Option<&'a str>,
    scheme: Option<&'a str>,
    http_host: Option<&'a str>,
    http_target: Option<&'a str>,
    http_server_name: Option<&'a str>,
    net_host_port: Option<Cow<'a, str>>,
    host_name: Option<&'a str>,
    net_host_name: Option<&'a str>,
    net_peer_name: Option<&'a str>,
    net_peer_port: Option<Cow<'a, str>>,
    net_peer_ip: Option<&'a str>,
    network_peer_port: Option<Cow<'a, str>>,
    url_path: Option<&'a str>,
    url_query: Option<&'a str>,
    server_address: Option<&'a str>,
    server_port: Option<Cow<'a, str>>,
}

/// Builds the `http` block and claims the HTTP and network attributes from `pool`.
pub(crate) fn make_http<'a>(view: &SpanView<'a>, pool: &mut Pool) -> Option<Http<'a>> {
    let mut req = Request::default();
    let mut status = None;
    let mut parts = UrlParts::default();
    let mut has_http = false;
    let mut has_url_attrs = false;
    let mut has_net_peer_addr = false;

    for (i, kv) in view.attrs() {
        let v = value_of(kv);
        match kv.key.as_str() {
            "http.method" | "http.request.method" => {
                req.method = non_empty(str_of(v));
                has_http = true;
            }
            "http.client_ip" => {
                req.client_ip = non_empty(str_of(v));
                has_http = true;
            }
            "http.user_agent" | "user_agent.original" => {
                req.user_agent = non_empty(str_of(v)).map(Cow::Borrowed);
                has_http = true;
            }
            "http.status_code" | "http.response.status_code" => {
                status = Some(int_of(v));
                has_http = true;
            }
            "http.url" | "url.full" => {
                parts.full = Some(str_of(v));
                has_http = true;
                has_url_attrs = true;
            }
            "http.scheme" | "url.scheme" => {
                parts.scheme = Some(str_of(v));
                has_http = true;
            }
            "http.host" => {
                parts.http_host = Some(str_of(v));
                has_http = true;
                has_url_attrs = true;
            }
            "http.target" => {
                parts.http_target = Some(str_of(v));
                has_http = true;
            }
            "http.server_name" => {
                parts.http_server_name = Some(str_of(v));
                has_http = true;
                has_url_attrs = true;
            }
            "net.host.port" => {
                parts.net_host_port = Some(port_of(v));
                has_http = true;
            }
            "host.name" => {
                parts.host_name = Some(str_of(v));
                has_url_attrs = true;
            }
            "net.host.name" => {
                parts.net_host_name = Some(str_of(v));
                has_url_attrs = true;
            }
            "net.peer.name" => {
                parts.net_peer_name = Some(str_of(v));
                has_url_attrs = true;
            }
            "net.peer.port" => parts.net_peer_port = Some(port_of(v)),
            "net.peer.ip" => {
                // Prefer forwarded information (http.client_ip) when present.
                if req.client_ip.is_none() {
                    req.client_ip = non_empty(str_of(v));
                }
                parts.net_peer_ip = Some(str_of(v));
                has_url_attrs = true;
                has_net_peer_addr = true;
            }
            "network.peer.address" => {
                let addr = str_of(v);
                if is_ip(addr) {
                    if req.client_ip.is_none() {
                        req.client_ip = Some(addr);
                    }
                    has_url_attrs = true;
                    has_net_peer_addr = true;
                }
            }
            "network.peer.port" => parts.network_peer_port = Some(port_of(v)),
            "client.address" => {
                let addr = str_of(v);
                if is_ip(addr) {
                    req.client_ip = Some(addr);
                }
            }
            "url.path" => {
                parts.url_path = Some(str_of(v));
                has_http = true;
            }
            "url.query" => {
                parts.url_query = Some(str_of(v));
                has_http = true;
            }
            "server.address" => {
                parts.server_address = Some(str_of(v));
                has_url_attrs = true;
            }
            "server.port" => parts.server_port = Some(port_of(v)),
            _ => continue,
        }
        pool.take(i);
    }

    if !has_net_peer_addr && req.client_ip.is_some() {
        req.x_forwarded_for = Some(true);
    }
    if !has_http {
        // No HTTP-specific information, so no block.
        return None;
    }
    if has_url_attrs {
        req.url = Some(if view.kind() == SpanKind::Server {
            server_url(parts)
        } else {
            client_url(parts)
        });
    }
    Some(Http {
        request: req,
        response: Response {
            status,
            content_length: response_size(view),
        },
    })
}

/// Go's `net.ParseIP` accepts plain IPv4 and IPv6 addresses, as `IpAddr` does.
fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// `extractResponseSizeFromEvents`: the size from a `message.type: RECEIVED` on the
/// span, else on its first event that has one; 0 when unknown.
fn response_size(view: &SpanView<'_>) -> i64 {
    let size = size_from(&view.span.attributes);
    if size != 0 {
        return size;
    }
    view.span
        .events
        .iter()
        .map(|e| size_from(&e.attributes))
        .find(|s| *s != 0)
        .unwrap_or(0)
}

/// `extractResponseSizeFromAttributes`: the old key first, then the new one.
fn size_from(attrs: &[KeyValue]) -> i64 {
    if get(attrs, "message.type").is_some_and(|t| str_of(t) == "RECEIVED") {
        for key in [
            "messaging.message_payload_size_bytes",
            "messaging.message.body.size",
        ] {
            if let Some(v) = get(attrs, key) {
                return int_of(v);
            }
        }
    }
    0
}

/// `constructClientURL`.
fn client_url(parts: UrlParts<'_>) -> Cow<'_, str> {
    if let Some(full) = parts.full {
        // The full URL is given: nothing to assemble.
        return Cow::Borrowed(full);
    }
    let scheme = parts.scheme.unwrap_or("http");
    let (host, port) = match parts.http_host {
        Some(h) => (h, Cow::Borrowed("")),
        None => (
            parts
                .net_peer_name
                .or(parts.net_peer_ip)
                .or(parts.server_address)
                .unwrap_or(""),
            parts
                .net_peer_port
                .or(parts.network_peer_port)
                .unwrap_or(Cow::Borrowed("")),
        ),
    };
    Cow::Owned(assemble(
        scheme,
        host,
        &port,
        parts.http_target,
        parts.url_path,
        parts.url_query,
    ))
}

/// `constructServerURL`.
fn server_url(parts: UrlParts<'_>) -> Cow<'_, str> {
    if let Some(full) = parts.full {
        return Cow::Borrowed(full);
    }
    let scheme = parts.scheme.unwrap_or("http");
    let (host, port) = match parts.http_host {
        Some(h) => (h, Cow::Borrowed("")),
        None => (
            parts
                .http_server_name
                .or(parts.net_host_name)
                .or(parts.host_name)
                .or(parts.server_address)
                .unwrap_or(""),
            parts
                .net_host_port
                .or(parts.server_port)
                .unwrap_or(Cow::Borrowed("")),
        ),
    };
    Cow::Owned(assemble(
        scheme,
        host,
        &port,
        parts.http_target,
        parts.url_path,
        parts.url_query,
    ))
}

/// `scheme://host[:port]` then `http.target`, else `url.path` (or `/`) and
/// `?url.query`. The port is left out when it is the scheme's default.
fn assemble(
    scheme: &str,
    host: &str,
    port: &str,
    target: Option<&str>,
    path: Option<&str>,
    query: Option<&str>,
) -> String {
    let mut url = String::with_capacity(
        scheme.len() + host.len() + port.len() + target.or(path).map_or(1, str::len) + 8,
    );
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(host);
    if !port.is_empty()
        && (scheme != "http" || port != "80")
        && (scheme != "https" || port != "443")
    {
        url.push(':');
        url.push_str(port);
    }
    if let Some(target) = target {
        url.push_str(target);
    } else {
        url.push_str(path.unwrap_or("/"));
        if let Some(query) = query {
            if !query.starts_with('?') {
                url.push('?');
            }
            url.push_str(query);
        }
    }
    url
}

#[cfg(test)]
mod tests;

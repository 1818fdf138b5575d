//! Ported from upstream `http_test.go`: each case is the span's attributes (and
//! events), the expected `http` block in full, and what stays for metadata.

use serde_json::{Value, json};
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::trace::Span;
use stratus_core::pdata::trace::span::Event;
use stratus_testkit::otlp::{SpanKind, StatusCode, event, kv};

use super::*;
use crate::attrs::Pool;
use crate::test_support::{make_span, to_event};

/// `constructTimedEventsWithReceivedMessageEvent`.
fn received_event() -> Event {
    to_event(
        event("")
            .attr("message.type", "RECEIVED")
            .attr("messaging.message.id", 1)
            .attr("messaging.message_payload_compressed_size_bytes", 6478)
            .attr("messaging.message_payload_size_bytes", 12452),
    )
}

/// `constructHTTPClientSpan` / `constructHTTPServerSpan`.
fn http_span(kind: SpanKind, attrs: Vec<KeyValue>, events: Vec<Event>) -> Span {
    let mut s = make_span(
        kind,
        Some(9),
        "/users/junit",
        StatusCode::Unset,
        "OK",
        attrs,
    );
    s.events = events;
    s
}

/// The `http` block as JSON, and the attribute keys left in the pool.
fn http_of(span: &Span) -> (Option<Value>, Vec<String>) {
    let view = SpanView::new(span);
    let mut pool = Pool::new(&view);
    let http = make_http(&view, &mut pool).map(|h| serde_json::to_value(h).unwrap());
    let left = pool.iter(span).map(|(_, kv)| kv.key.clone()).collect();
    (http, left)
}

struct Case {
    name: &'static str,
    kind: SpanKind,
    attrs: Vec<KeyValue>,
    events: Vec<Event>,
    http: Option<Value>,
    left: &'static [&'static str],
}

fn case(name: &'static str, kind: SpanKind, attrs: Vec<KeyValue>, http: Value) -> Case {
    Case {
        name,
        kind,
        attrs,
        events: Vec::new(),
        http: Some(http),
        left: &[],
    }
}

#[test]
fn http_blocks_from_old_and_new_conventions() {
    use SpanKind::{Client, Server};
    let junit = "https://api.example.com/users/junit";
    let cases = vec![
        case(
            "TestClientSpanWithURLAttribute",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.url", junit),
                kv("http.status_code", 200),
            ],
            json!({"request": {"method": "GET", "url": junit},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestClientSpanWithURLAttributeStable",
            Client,
            vec![
                kv("http.request.method", "GET"),
                kv("url.full", junit),
                kv("http.response.status_code", 200),
            ],
            json!({"request": {"method": "GET", "url": junit},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        Case {
            left: &["user.id"],
            ..case(
                "TestClientSpanWithSchemeHostTargetAttributes",
                Client,
                vec![
                    kv("http.method", "GET"),
                    kv("http.scheme", "https"),
                    kv("http.host", "api.example.com"),
                    kv("http.target", "/users/junit"),
                    kv("http.status_code", 200),
                    kv("user.id", "junit"),
                ],
                json!({"request": {"method": "GET", "url": junit},
                       "response": {"status": 200, "content_length": 0}}),
            )
        },
        Case {
            left: &["user.id"],
            ..case(
                "TestClientSpanWithSchemeHostTargetAttributesStable",
                Client,
                vec![
                    kv("http.request.method", "GET"),
                    kv("url.scheme", "https"),
                    kv("http.host", "api.example.com"),
                    kv("url.path", "/users/junit"),
                    kv("url.query", "v=1"),
                    kv("http.response.status_code", 200),
                    kv("user.id", "junit"),
                ],
                json!({"request": {"method": "GET", "url": "https://api.example.com/users/junit?v=1"},
                       "response": {"status": 200, "content_length": 0}}),
            )
        },
        case(
            "TestClientSpanWithPeerAttributes",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "http"),
                kv("net.peer.name", "kb234.example.com"),
                kv("net.peer.port", 8080),
                kv("net.peer.ip", "10.8.17.36"),
                kv("http.target", "/users/junit"),
                kv("http.status_code", 200),
            ],
            json!({"request": {"method": "GET", "url": "http://kb234.example.com:8080/users/junit",
                               "client_ip": "10.8.17.36"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestClientSpanWithPeerAttributesStable",
            Client,
            vec![
                kv("http.request.method", "GET"),
                kv("url.scheme", "http"),
                kv("net.peer.name", "kb234.example.com"),
                kv("net.peer.port", 8080),
                kv("net.peer.ip", "10.8.17.36"),
                kv("url.query", "users=junit"),
                kv("http.response.status_code", 200),
            ],
            json!({"request": {"method": "GET", "url": "http://kb234.example.com:8080/?users=junit",
                               "client_ip": "10.8.17.36"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestClientSpanWithHttpPeerAttributes",
            Client,
            vec![
                kv("http.client_ip", "1.2.3.4"),
                kv("net.peer.ip", "10.8.17.36"),
            ],
            json!({"request": {"url": "http://10.8.17.36/", "client_ip": "1.2.3.4"},
                   "response": {"content_length": 0}}),
        ),
        case(
            "TestClientSpanWithHttpPeerAttributesStable",
            Client,
            vec![
                kv("url.full", junit),
                kv("client.address", "1.2.3.4"),
                kv("network.peer.address", "10.8.17.36"),
            ],
            json!({"request": {"url": junit, "client_ip": "1.2.3.4"},
                   "response": {"content_length": 0}}),
        ),
        case(
            "TestClientSpanWithPeerIp4Attributes",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "http"),
                kv("net.peer.ip", "10.8.17.36"),
                kv("net.peer.port", "8080"),
                kv("http.target", "/users/junit"),
            ],
            json!({"request": {"method": "GET", "url": "http://10.8.17.36:8080/users/junit",
                               "client_ip": "10.8.17.36"},
                   "response": {"content_length": 0}}),
        ),
        case(
            // Upstream writes an IPv6 host without brackets.
            "TestClientSpanWithPeerIp6Attributes",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "https"),
                kv("net.peer.ip", "2001:db8:85a3::8a2e:370:7334"),
                kv("net.peer.port", "443"),
                kv("http.target", "/users/junit"),
            ],
            json!({"request": {"method": "GET",
                               "url": "https://2001:db8:85a3::8a2e:370:7334/users/junit",
                               "client_ip": "2001:db8:85a3::8a2e:370:7334"},
                   "response": {"content_length": 0}}),
        ),
        case(
            "TestServerSpanWithURLAttribute",
            Server,
            vec![
                kv("http.method", "GET"),
                kv("http.url", junit),
                kv("http.client_ip", "192.168.15.32"),
                kv("http.user_agent", "PostmanRuntime/7.21.0"),
                kv("http.status_code", 200),
            ],
            json!({"request": {"x_forwarded_for": true, "method": "GET", "url": junit,
                               "user_agent": "PostmanRuntime/7.21.0", "client_ip": "192.168.15.32"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestServerSpanWithURLAttributeStable",
            Server,
            vec![
                kv("http.request.method", "GET"),
                kv("url.full", junit),
                kv("client.address", "192.168.15.32"),
                kv("user_agent.original", "PostmanRuntime/7.21.0"),
                kv("http.response.status_code", 200),
            ],
            json!({"request": {"x_forwarded_for": true, "method": "GET", "url": junit,
                               "user_agent": "PostmanRuntime/7.21.0", "client_ip": "192.168.15.32"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestServerSpanWithSchemeHostTargetAttributes",
            Server,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "https"),
                kv("http.host", "api.example.com"),
                kv("http.target", "/users/junit"),
                kv("http.client_ip", "192.168.15.32"),
                kv("http.status_code", 200),
            ],
            json!({"request": {"x_forwarded_for": true, "method": "GET", "url": junit,
                               "client_ip": "192.168.15.32"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestServerSpanWithSchemeHostTargetAttributesStable",
            Server,
            vec![
                kv("http.request.method", "GET"),
                kv("url.scheme", "https"),
                kv("server.address", "api.example.com"),
                kv("url.path", "/users/junit"),
                kv("client.address", "192.168.15.32"),
                kv("http.response.status_code", 200),
            ],
            json!({"request": {"x_forwarded_for": true, "method": "GET", "url": junit,
                               "client_ip": "192.168.15.32"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestServerSpanWithNewConventionsWithURLPath",
            Server,
            vec![
                kv("http.request.method", "GET"),
                kv("server.address", "localhost"),
                kv("url.scheme", "http"),
                kv("url.query", "?version=test"),
                kv("url.path", "/api"),
                kv("client.address", "127.0.0.1"),
                kv("http.response.status_code", 200),
            ],
            json!({"request": {"x_forwarded_for": true, "method": "GET",
                               "url": "http://localhost/api?version=test", "client_ip": "127.0.0.1"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestServerSpanWithSchemeServernamePortTargetAttributes",
            Server,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "https"),
                kv("http.server_name", "api.example.com"),
                kv("net.host.port", 443),
                kv("http.target", "/users/junit"),
                kv("http.client_ip", "192.168.15.32"),
                kv("http.status_code", 200),
            ],
            json!({"request": {"x_forwarded_for": true, "method": "GET", "url": junit,
                               "client_ip": "192.168.15.32"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        case(
            "TestServerSpanWithSchemeServernamePortTargetAttributesStable",
            Server,
            vec![
                kv("http.request.method", "GET"),
                kv("url.scheme", "https"),
                kv("server.address", "api.example.com"),
                kv("server.port", 443),
                kv("url.query", "users=junit"),
                kv("client.address", "192.168.15.32"),
                kv("http.response.status_code", 200),
            ],
            json!({"request": {"x_forwarded_for": true, "method": "GET",
                               "url": "https://api.example.com/?users=junit", "client_ip": "192.168.15.32"},
                   "response": {"status": 200, "content_length": 0}}),
        ),
        Case {
            events: vec![received_event()],
            ..case(
                "TestServerSpanWithSchemeNamePortTargetAttributes",
                Server,
                vec![
                    kv("http.method", "GET"),
                    kv("http.scheme", "http"),
                    kv("host.name", "kb234.example.com"),
                    kv("net.host.port", 8080),
                    kv("http.target", "/users/junit"),
                    kv("http.client_ip", "192.168.15.32"),
                    kv("http.status_code", 200),
                ],
                json!({"request": {"x_forwarded_for": true, "method": "GET",
                                   "url": "http://kb234.example.com:8080/users/junit",
                                   "client_ip": "192.168.15.32"},
                       "response": {"status": 200, "content_length": 12452}}),
            )
        },
        Case {
            events: vec![received_event()],
            ..case(
                "TestServerSpanWithSchemeNamePortTargetAttributesStable",
                Server,
                vec![
                    kv("http.request.method", "GET"),
                    kv("url.scheme", "http"),
                    kv("server.address", "kb234.example.com"),
                    kv("server.port", 8080),
                    kv("url.path", "/users/junit"),
                    kv("client.address", "192.168.15.32"),
                    kv("http.response.status_code", 200),
                ],
                json!({"request": {"x_forwarded_for": true, "method": "GET",
                                   "url": "http://kb234.example.com:8080/users/junit",
                                   "client_ip": "192.168.15.32"},
                       "response": {"status": 200, "content_length": 12452}}),
            )
        },
        Case {
            events: vec![received_event()],
            ..case(
                "TestSpanWithNotEnoughHTTPRequestURLAttributes",
                Server,
                vec![
                    kv("http.method", "GET"),
                    kv("http.scheme", "http"),
                    kv("http.client_ip", "192.168.15.32"),
                    kv("http.user_agent", "PostmanRuntime/7.21.0"),
                    kv("http.target", "/users/junit"),
                    kv("net.host.port", 443),
                    kv("net.peer.port", 8080),
                    kv("http.status_code", 200),
                ],
                json!({"request": {"x_forwarded_for": true, "method": "GET",
                                   "user_agent": "PostmanRuntime/7.21.0", "client_ip": "192.168.15.32"},
                       "response": {"status": 200, "content_length": 12452}}),
            )
        },
        Case {
            events: vec![received_event()],
            ..case(
                "TestSpanWithNotEnoughHTTPRequestURLAttributesStable",
                Server,
                vec![
                    kv("http.request.method", "GET"),
                    kv("url.scheme", "http"),
                    kv("client.address", "192.168.15.32"),
                    kv("user_agent.original", "PostmanRuntime/7.21.0"),
                    kv("url.path", "/users/junit"),
                    kv("server.port", 443),
                    kv("http.response.status_code", 200),
                ],
                json!({"request": {"x_forwarded_for": true, "method": "GET",
                                   "user_agent": "PostmanRuntime/7.21.0", "client_ip": "192.168.15.32"},
                       "response": {"status": 200, "content_length": 12452}}),
            )
        },
        case(
            "TestSpanWithClientAddrWithoutNetworkPeerAddr",
            Server,
            vec![kv("url.full", junit), kv("client.address", "192.168.15.32")],
            json!({"request": {"x_forwarded_for": true, "url": junit, "client_ip": "192.168.15.32"},
                   "response": {"content_length": 0}}),
        ),
        case(
            "TestSpanWithClientAddrAndNetworkPeerAddr",
            Server,
            vec![
                kv("url.full", junit),
                kv("client.address", "192.168.15.32"),
                kv("network.peer.address", "192.168.15.32"),
            ],
            json!({"request": {"url": junit, "client_ip": "192.168.15.32"},
                   "response": {"content_length": 0}}),
        ),
        case(
            // Neither is an IP: no client_ip, and both are still consumed.
            "TestSpanWithClientAddrNotIP",
            Server,
            vec![
                kv("url.full", junit),
                kv("client.address", "api.example.com"),
                kv("network.peer.address", "api.example.com"),
            ],
            json!({"request": {"url": junit}, "response": {"content_length": 0}}),
        ),
        // Beyond upstream's tests: network.peer.port (the EmitV1 gate's key) gives the
        // client port when there is no http.host.
        case(
            "client URL from server.address and network.peer.port",
            Client,
            vec![
                kv("http.request.method", "POST"),
                kv("url.scheme", "https"),
                kv("server.address", "api.example.com"),
                kv("network.peer.port", 8443),
                kv("url.path", "/v1/orders"),
            ],
            json!({"request": {"method": "POST", "url": "https://api.example.com:8443/v1/orders"},
                   "response": {"content_length": 0}}),
        ),
        case(
            // The later attribute wins where an old and a new key meet.
            "old and new keys: the later one wins",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.request.method", "POST"),
                kv("http.response.status_code", 201),
                kv("http.status_code", 202),
                kv("url.full", "https://b.example/new"),
            ],
            json!({"request": {"method": "POST", "url": "https://b.example/new"},
                   "response": {"status": 202, "content_length": 0}}),
        ),
        case(
            // pcommon's Int() of a string is 0.
            "a status code given as a string is 0",
            Client,
            vec![kv("http.status_code", "200")],
            json!({"request": {}, "response": {"status": 0, "content_length": 0}}),
        ),
        Case {
            events: vec![to_event(
                event("")
                    .attr("message.type", "RECEIVED")
                    .attr("messaging.message.body.size", 777),
            )],
            ..case(
                "response size from messaging.message.body.size",
                Server,
                vec![kv("http.method", "GET"), kv("http.url", junit)],
                json!({"request": {"method": "GET", "url": junit},
                       "response": {"content_length": 777}}),
            )
        },
        Case {
            http: None,
            left: &["rpc.service"],
            ..case(
                // No HTTP information: no block, but network keys are still consumed.
                "no http block without HTTP attributes",
                Client,
                vec![
                    kv("net.peer.name", "db.example.com"),
                    kv("net.peer.port", 3306),
                    kv("rpc.service", "Db"),
                ],
                Value::Null,
            )
        },
    ];
    for c in cases {
        let span = http_span(c.kind, c.attrs, c.events);
        let (http, left) = http_of(&span);
        assert_eq!(http, c.http, "{}", c.name);
        assert_eq!(left, c.left, "{}: attributes left for metadata", c.name);
    }
}

#[test]
fn a_span_without_attributes_has_no_http_block() {
    let span = http_span(SpanKind::Server, Vec::new(), Vec::new());
    assert_eq!(http_of(&span), (None, Vec::new()));
}

use std::io::Write;

use super::*;
use hyper_util::client::legacy::Client;

const T: Duration = Duration::from_secs(10);

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(
    c: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = c
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn records_requests_with_decompressed_bodies() {
    let server = RecordingHttpServer::start().await;
    let c = client();
    let text = b"hello, exporter".to_vec();
    let url = format!("{}/v2.1/track?api-version=2023-01-01&flag", server.url());
    let bodies = [
        ("gzip", gzip(&text)),
        ("zstd", zstd::encode_all(text.as_slice(), 3).unwrap()),
        ("deflate", zlib(&text)),
        ("deflate", raw_deflate(&text)),
        ("identity", text.clone()),
    ];
    for (enc, body) in &bodies {
        let (status, _, _) = send(
            &c,
            "POST",
            &url,
            &[("content-encoding", enc), ("x-api-key", "k")],
            body.clone(),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Both layers of a stacked encoding are undone.
    let stacked = zstd::encode_all(gzip(&text).as_slice(), 3).unwrap();
    send(
        &c,
        "PUT",
        &server.url(),
        &[("content-encoding", "gzip, zstd")],
        stacked,
    )
    .await;
    let got = server.wait_for_requests(6, T).await;
    for r in &got {
        assert_eq!(r.body, text, "{:?}", r.header("content-encoding"));
        assert_eq!(r.body_error, None);
        assert_eq!(r.text(), "hello, exporter");
    }
    assert_eq!(got[0].method, Method::POST);
    assert_eq!(got[0].path, "/v2.1/track");
    assert_eq!(got[0].query.as_deref(), Some("api-version=2023-01-01&flag"));
    assert_eq!(got[0].query_param("api-version"), Some("2023-01-01"));
    assert_eq!(got[0].query_param("flag"), Some(""));
    assert_eq!(got[0].query_param("nope"), None);
    assert_eq!(got[0].header("X-API-Key"), Some("k"));
    assert_ne!(got[0].raw_body, text, "the raw body is kept compressed");
    assert_eq!(got[5].method, Method::PUT);
    assert_eq!(got[5].path, "/");
    assert_eq!(got[5].query, None);
}

#[tokio::test]
async fn undecodable_bodies_are_kept_with_the_reason() {
    let server = RecordingHttpServer::start().await;
    let c = client();
    for (encoding, body) in [("gzip", &b"not gzip"[..]), ("br", b"x")] {
        let headers = [("content-encoding", encoding)];
        send(&c, "POST", &server.url(), &headers, body.to_vec()).await;
    }
    let got = server.wait_for_requests(2, T).await;
    assert_eq!(got[0].body, b"not gzip");
    assert!(
        got[0].body_error.as_deref().unwrap().contains("gzip"),
        "{:?}",
        got[0].body_error
    );
    assert!(got[1].body_error.as_deref().unwrap().contains("`br`"));
}

#[tokio::test]
async fn answers_from_the_script_then_the_default() {
    let server = RecordingHttpServer::start().await;
    server.respond(Response::status(503).header("Retry-After", "1"));
    server.respond(
        Response::status(429)
            .header("retry-after", "2")
            .body("slow down"),
    );
    server.respond_times(2, Response::status(500));
    server.respond(
        Response::ok()
            .json(&serde_json::json!({"itemsAccepted": 3}))
            .delay(Duration::from_millis(20)),
    );
    let c = client();
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(send(&c, "POST", &server.url(), &[], b"{}".to_vec()).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.0.as_u16()).collect();
    assert_eq!(statuses, [503, 429, 500, 500, 200, 200]);
    assert_eq!(answers[0].1.get("retry-after").unwrap(), "1");
    assert_eq!(answers[1].2, "slow down");
    assert_eq!(
        answers[4].1.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(answers[4].2, r#"{"itemsAccepted":3}"#);
    assert!(answers[5].2.is_empty(), "the default is an empty 200");
    server.set_default(Response::status(400));
    let (status, _, _) = send(&c, "POST", &server.url(), &[], Vec::new()).await;
    assert_eq!(status, 400);
    assert_eq!(server.request_count(), 7);
    assert_eq!(server.requests()[0].json(), serde_json::json!({}));
    assert_eq!(server.take_requests().len(), 7);
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn speaks_http2_cleartext() {
    let server = RecordingHttpServer::start().await;
    let c: HttpClient = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let (status, _, _) = send(
        &c,
        "POST",
        &format!("{}/v1/logs", server.url()),
        &[],
        b"x".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let got = server.wait_for_requests(1, T).await;
    assert_eq!(got[0].path, "/v1/logs");
    assert_eq!(got[0].body, b"x");
}

#[tokio::test]
async fn waiting_for_more_requests_than_arrive_times_out_with_what_came() {
    let server = RecordingHttpServer::start().await;
    send(
        &client(),
        "GET",
        &format!("{}/health", server.url()),
        &[],
        Vec::new(),
    )
    .await;
    let server = Arc::new(server);
    let waited = tokio::spawn({
        let server = server.clone();
        async move { server.wait_for_requests(2, Duration::from_millis(30)).await }
    })
    .await
    .unwrap_err()
    .into_panic();
    let msg = waited.downcast_ref::<String>().unwrap();
    assert!(msg.contains("2 HTTP requests"), "{msg}");
    assert!(msg.contains("GET /health"), "{msg}");
}

#[test]
#[should_panic(expected = "is not a header name")]
fn bad_scripted_headers_fail_at_once() {
    let _ = Response::ok().header("bad header", "x");
}

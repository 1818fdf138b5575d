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

#[tokio::test]
async fn a_proxy_answers_the_script_then_forwards_verbatim() {
    let upstream = RecordingHttpServer::start().await;
    upstream.set_default(
        Response::status(201)
            .header("x-upstream", "yes")
            .header("content-type", "application/xml")
            .body("<Ok/>"),
    );
    let proxy = RecordingHttpServer::proxy(&upstream.url()).await;
    assert_eq!(proxy.upstream(), Some(upstream.url().as_str()));
    assert_eq!(upstream.upstream(), None);
    proxy.respond_times(
        2,
        Response::status(503)
            .header("content-type", "application/xml")
            .body("<Error><Code>SlowDown</Code></Error>"),
    );

    let c = client();
    let body = gzip(b"object body");
    let host = proxy.addr().to_string();
    let auth = "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request, \
                SignedHeaders=host;x-amz-date, Signature=abc";
    let headers = [
        ("host", host.as_str()),
        ("authorization", auth),
        ("x-amz-date", "20260101T000000Z"),
        ("content-encoding", "gzip"),
        ("connection", "keep-alive"),
    ];
    let url = format!(
        "{}/bucket/year%3D2026/key.json.gz?x-id=PutObject",
        proxy.url()
    );
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(send(&c, "PUT", &url, &headers, body.clone()).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.0.as_u16()).collect();
    assert_eq!(
        statuses,
        [503, 503, 201],
        "scripted twice, then the upstream's"
    );
    assert_eq!(answers[0].2, "<Error><Code>SlowDown</Code></Error>");
    assert_eq!(answers[2].1.get("x-upstream").unwrap(), "yes");
    assert_eq!(answers[2].1.get("content-type").unwrap(), "application/xml");
    assert_eq!(answers[2].2, "<Ok/>");

    // The proxy recorded all three; only the unscripted one reached the upstream.
    assert_eq!(proxy.request_count(), 3);
    let got = upstream.wait_for_requests(1, T).await;
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.method, Method::PUT);
    assert_eq!(r.path, "/bucket/year%3D2026/key.json.gz");
    assert_eq!(r.query.as_deref(), Some("x-id=PutObject"));
    assert_eq!(
        r.header("host"),
        Some(host.as_str()),
        "Host as the client signed it"
    );
    assert_eq!(r.header("authorization"), Some(auth));
    assert_eq!(r.header("x-amz-date"), Some("20260101T000000Z"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.raw_body, body, "the body's bytes as sent");
    assert_eq!(r.body, b"object body");
    assert_eq!(proxy.requests()[2].raw_body, body);

    // Other methods and empty bodies go through too.
    let (status, _, got_body) =
        send(&c, "GET", &format!("{}/bucket", proxy.url()), &[], vec![]).await;
    assert_eq!((status.as_u16(), got_body.as_ref()), (201, &b"<Ok/>"[..]));
    let got = upstream.wait_for_requests(2, T).await;
    assert_eq!(
        (got[1].method.as_str(), got[1].path.as_str()),
        ("GET", "/bucket")
    );
    assert!(got[1].raw_body.is_empty());
}

#[tokio::test]
async fn a_proxy_over_http2_and_without_upstream() {
    let upstream = RecordingHttpServer::start().await;
    let proxy = RecordingHttpServer::proxy(&upstream.url()).await;
    let h2: HttpClient = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let (status, _, _) = send(
        &h2,
        "POST",
        &format!("{}/v1/logs", proxy.url()),
        &[],
        b"x".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let got = upstream.wait_for_requests(1, T).await;
    assert_eq!(got[0].path, "/v1/logs");
    assert_eq!(got[0].body, b"x");
    assert_eq!(
        got[0].header("host"),
        Some(proxy.addr().to_string().as_str()),
        "HTTP/2's :authority becomes Host"
    );

    // An upstream that is gone: 502 with the reason, and the request still recorded.
    let addr = upstream.addr();
    drop(upstream);
    let gone = RecordingHttpServer::proxy(&format!("http://{addr}")).await;
    let (status, _, body) = send(&client(), "POST", &gone.url(), &[], b"y".to_vec()).await;
    assert_eq!(status.as_u16(), 502);
    assert!(
        String::from_utf8_lossy(&body).contains("upstream"),
        "{body:?}"
    );
    assert_eq!(gone.request_count(), 1);
}

/// moto with signature checking on: a request signed by boto3 for the proxy's
/// address passes moto's check once forwarded (the Host header is kept), and a wrong
/// secret still fails there.
#[tokio::test]
async fn sigv4_signed_for_the_proxy_passes_motos_check() {
    // Three unauthenticated actions: the IAM user, its policy and its access key.
    let moto = crate::moto::Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    proxy.respond(
        Response::status(503)
            .header("content-type", "application/xml")
            .body(
                "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>",
            ),
    );
    let script = r#"
import boto3, botocore, json, sys
moto, proxy = sys.argv[1:3]
iam = boto3.client("iam", endpoint_url=moto, region_name="us-east-1",
                   aws_access_key_id="x", aws_secret_access_key="x")
iam.create_user(UserName="proxy-test")
iam.put_user_policy(UserName="proxy-test", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="proxy-test")["AccessKey"]
cfg = botocore.config.Config(retries={"max_attempts": 3, "mode": "standard"},
                             s3={"addressing_style": "path"})
def s3(secret):
    return boto3.client("s3", endpoint_url=proxy, region_name="us-east-1", config=cfg,
                        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=secret)
good = s3(key["SecretAccessKey"])
good.create_bucket(Bucket="proxied")
good.put_object(Bucket="proxied", Key="a/b=c.txt", Body=b"hello")
body = good.get_object(Bucket="proxied", Key="a/b=c.txt")["Body"].read().decode()
try:
    s3("wrong-secret").list_objects_v2(Bucket="proxied")
    wrong = "accepted"
except botocore.exceptions.ClientError as e:
    wrong = e.response["Error"]["Code"]
print(json.dumps({"body": body, "wrong": wrong}))
"#;
    let python = std::env::var("STRATUS_TEST_PYTHON").unwrap();
    let proxy_url = proxy.url();
    let moto_url = moto.endpoint();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args(["-c", script, &moto_url, &proxy_url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "boto3 through the proxy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["body"], "hello", "{got}");
    assert_eq!(got["wrong"], "SignatureDoesNotMatch", "{got}");
    let requests = proxy.requests();
    let statuses: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    // create_bucket (SlowDown, retried), put, get, the refused list.
    assert_eq!(requests.len(), 5, "{statuses:?}");
    assert_eq!(
        requests[0].path, requests[1].path,
        "the throttled call was retried"
    );
    assert!(requests.iter().all(|r| r.header("authorization").is_some()));
}

#[tokio::test]
async fn routes_answer_by_method_and_path_after_the_script() {
    let c = client();
    let server = RecordingHttpServer::start().await;
    server.route("GET", "/region", Response::ok().body("eu-west-1"));
    server.route("PUT", "/token", Response::ok().body("t1"));
    server.route("PUT", "/token", Response::ok().body("t2"));
    server.respond(Response::status(503));
    let url = server.url();
    let (status, _, _) = send(&c, "GET", &format!("{url}/region"), &[], vec![]).await;
    assert_eq!(status, 503, "the queued answer comes first");
    let (status, _, body) = send(&c, "GET", &format!("{url}/region?x=1"), &[], vec![]).await;
    assert_eq!((status.as_u16(), &body[..]), (200, &b"eu-west-1"[..]));
    let (_, _, body) = send(&c, "PUT", &format!("{url}/token"), &[], vec![]).await;
    assert_eq!(&body[..], b"t2", "a later route replaces the earlier one");
    let (status, _, body) = send(&c, "POST", &format!("{url}/region"), &[], vec![]).await;
    assert_eq!(
        (status.as_u16(), body.len()),
        (200, 0),
        "other methods get the default"
    );
    assert_eq!(server.request_count(), 4);

    // A proxy answers routed paths itself and forwards the rest.
    let upstream = RecordingHttpServer::start().await;
    upstream.set_default(Response::ok().body("from upstream"));
    let proxy = RecordingHttpServer::proxy(&upstream.url()).await;
    proxy.route("GET", "/local", Response::ok().body("local"));
    let (_, _, body) = send(&c, "GET", &format!("{}/local", proxy.url()), &[], vec![]).await;
    assert_eq!(&body[..], b"local");
    let (_, _, body) = send(&c, "GET", &format!("{}/other", proxy.url()), &[], vec![]).await;
    assert_eq!(&body[..], b"from upstream");
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn a_counting_server_counts_by_destination_and_keeps_nothing() {
    let server = RecordingHttpServer::counting().await;
    server.route(
        "POST",
        "/v2.1/track",
        Response::ok().json(&serde_json::json!({"itemsReceived": 1, "itemsAccepted": 1})),
    );
    server.respond(Response::status(503));
    let c = client();
    let base = server.url();
    let target = [("x-amz-target", "Logs_20140328.PutLogEvents")];
    let (status, _, _) = send(&c, "POST", &format!("{base}/"), &target, vec![b'x'; 10]).await;
    // Queued answers do not apply: a counting server answers at once.
    assert_eq!(status, StatusCode::OK);
    send(&c, "POST", &format!("{base}/"), &target, vec![b'x'; 5]).await;
    for key in ["a", "b"] {
        let url = format!("{base}/bucket/year=2026/{key}.json");
        send(&c, "PUT", &url, &[], vec![b'y'; 3]).await;
    }
    let (status, _, body) = send(&c, "POST", &format!("{base}/v2.1/track"), &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("itemsAccepted"));

    let (status, _, stats) = send(&c, "GET", &format!("{base}/stats"), &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let stats: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(stats, server.counts().unwrap());
    assert_eq!(stats["requests"], 5);
    assert_eq!(stats["bytes"], 21);
    let by = &stats["by_destination"];
    assert_eq!(by["Logs_20140328.PutLogEvents"]["requests"], 2);
    assert_eq!(by["Logs_20140328.PutLogEvents"]["bytes"], 15);
    assert_eq!(by["PUT /bucket/year=2026"]["requests"], 2);
    assert_eq!(by["POST /v2.1/track"]["requests"], 1);
    assert!(server.requests().is_empty());
    assert!(RecordingHttpServer::start().await.counts().is_none());
}

//! A cloud endpoint that answers at once, for the end-to-end benchmark of the AWS and
//! Azure exporters: the test kit's HTTP server in its counting mode, which keeps no
//! request. Every exporter's `endpoint` points at it:
//! - CloudWatch Logs and EMF (AWS JSON protocol), X-Ray (`POST /TraceSegments`) and S3
//!   (`PUT /bucket/key`): `200 {}`;
//! - Application Insights (`POST /v2.1/track`): `200` with every envelope accepted;
//! - Log Analytics, Data Collector API (`POST /api/logs`) and Logs Ingestion API:
//!   `200` / `204`.
//!
//! It prints `{"url": "http://127.0.0.1:<port>"}` on one line, then serves until it is
//! killed. `GET /stats` gives requests and bytes by destination.

use serde_json::json;
use stratus_testkit::http::{RecordingHttpServer, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = RecordingHttpServer::counting().await;
    server.set_default(
        Response::ok()
            .header("content-type", "application/x-amz-json-1.1")
            .body("{}"),
    );
    // Application Insights reads a 200 as every envelope accepted; the body is what
    // the service sends all the same.
    server.route(
        "POST",
        "/v2.1/track",
        Response::ok().json(&json!({"itemsReceived": 0, "itemsAccepted": 0, "errors": []})),
    );
    server.route("POST", "/api/logs", Response::ok());
    println!("{}", json!({"url": server.url()}));
    std::future::pending::<()>().await;
}

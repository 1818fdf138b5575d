#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The AWS exporters end to end: the official OpenTelemetry Python SDK sends to a
//! stratus process, which exports to `moto_server` on 127.0.0.1; what arrived is read
//! back with boto3. One test binary for every AWS destination.

mod common;

#[path = "aws/credentials.rs"]
mod credentials;
#[path = "aws/logs.rs"]
mod logs;
#[path = "aws/metrics.rs"]
mod metrics;

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shipping stratus, end to end against the real binary on 127.0.0.1:
//! - `configs`: every shipped config, and every config embedded in `deploy/`, validates;
//! - `dockerfile`: the image's runtime assumptions, and the Lambda layer's layout;
//! - `healthcheck`: `stratus healthcheck`, the probe of every image and manifest;
//! - `lambda`: stratus as a Lambda extension, driven by a fake Extensions API;
//! - `iam`: the shipped IAM policies against the calls stratus makes to moto.

mod common;

/// The repository root, where the shipped files are.
fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[path = "ship/configs.rs"]
mod configs;

#[path = "ship/dockerfile.rs"]
mod dockerfile;

#[path = "ship/healthcheck.rs"]
mod healthcheck;

#[path = "ship/lambda.rs"]
mod lambda;

#[path = "ship/iam.rs"]
mod iam;

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hardening, end to end against real processes on 127.0.0.1. One test binary for
//! the whole of it keeps link time down:
//! - `auth`: authentication between agents, gateways, the OpenTelemetry Python SDK
//!   and a local OpenID Connect issuer;
//! - `dropin`: upstream's receiver and exporter config blocks, validated and run;
//! - `hostile`: hostile input on every receiver path, with a peak-memory bound;
//! - `secrets`: no secret in logs, output, metrics or answers;
//! - `safe_defaults`: nothing listens beyond loopback unless told to.

mod common;

#[path = "hardening/auth.rs"]
mod auth;

#[path = "hardening/dropin.rs"]
mod dropin;

#[path = "hardening/hostile.rs"]
mod hostile;

#[path = "hardening/safe_defaults.rs"]
mod safe_defaults;

#[path = "hardening/secrets.rs"]
mod secrets;

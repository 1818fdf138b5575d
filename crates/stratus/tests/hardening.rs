#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hardening, end to end against real processes on 127.0.0.1: authentication between
//! agents, gateways, the OpenTelemetry Python SDK and a local OpenID Connect issuer;
//! drop-in compatibility with upstream config blocks.
//! One test binary for the whole issue keeps link time down.

mod common;

#[path = "hardening/auth.rs"]
mod auth;

#[path = "hardening/dropin.rs"]
mod dropin;

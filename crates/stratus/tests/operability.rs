#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Operating a running stratus, end to end against the real binary on 127.0.0.1:
//! - `admin`: the `admin` and `zpages` extensions' status document and pages under load;
//! - `top`: `stratus top` in a real terminal (tmux), under load;
//! - `tap`: `stratus tap`, redacted samples, and a tap that cannot keep up;
//! - `page`: the status page in headless Chromium.

mod common;

#[path = "operability/admin.rs"]
mod admin;

#[path = "operability/top.rs"]
mod top;

#[path = "operability/tap.rs"]
mod tap;

#[path = "operability/page.rs"]
mod page;

//! What the AWS exporters share:
//!
//! - [`session`]: the AWS SDK session from upstream's session keys
//!   ([`session::AwsSessionConfig`]): `aws-config`'s default credential chain
//!   (environment, shared files and profiles, web identity for IRSA, ECS, IMDSv2)
//!   with `role_arn` assumed on top, region, `endpoint` override, the SDK's retries
//!   off, the attempt timeout; [`session::describe_identity`] for error messages.
//! - [`cwlogs`]: the pure half of the CloudWatch Logs pusher used by
//!   `awscloudwatchlogs` and `awsemf`: log events, and splitting a batch into
//!   PutLogEvents requests at AWS's limits (10,000 events, 1 MiB with 26 bytes per
//!   event, 24 hours, sorted), truncating events over 256 KiB and dropping, with
//!   counts, those outside the 14-days-back / 2-hours-ahead window. A batch is split
//!   before it is queued, so each request is sent and retried on its own.
//! - [`http_client`]: the HTTP client when the session sets `certificate_file_path`,
//!   `no_verify_ssl` or `proxy_address`, on stratus's TLS module.
//! - [`errors`]: classification of AWS errors (code and HTTP status) into retryable
//!   and permanent [`ConsumeError`](stratus_core::ConsumeError)s (from a code and
//!   status, or an SDK error with [`errors::classify_sdk_error`]) with a
//!   low-cardinality reason, flagging authentication and permission failures so they
//!   are reported once.
//! - [`redact`]: every credential the session hands out is remembered, and error
//!   messages are scrubbed of it (endpoints that echo requests hand back the session
//!   token).
//! - [`gojson`]: JSON of OTLP values exactly as the Go collector's exporters write it
//!   (pdata's `AsRaw` / `AsString` through Go's `encoding/json`, Go's float forms), so
//!   the documents of `awscloudwatchlogs`, `awsemf` and `awss3` match upstream byte
//!   for byte.
//!
//! Everything but [`session::load`] is pure: no I/O, no clock reads (callers pass
//! `now`).

pub mod cwlogs;
pub mod errors;
pub mod gojson;
pub mod http_client;
pub mod redact;
pub mod session;

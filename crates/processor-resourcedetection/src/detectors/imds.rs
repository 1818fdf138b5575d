//! The EC2 instance metadata service (IMDS), version 2, as the AWS SDKs speak it.
//!
//! A session starts with `PUT /latest/api/token` (header
//! `X-aws-ec2-metadata-token-ttl-seconds`); every later `GET` carries the token in
//! `X-aws-ec2-metadata-token`. A token request answered 403, 404 or 405 means IMDSv2 is
//! not offered and the session goes on without a token (IMDSv1), as the SDKs fall back.
//! Then `GET /latest/meta-data/instance-id` probes that the service is there.
//!
//! The endpoint is the SDKs': `AWS_EC2_METADATA_SERVICE_ENDPOINT` if set, else
//! `http://[fd00:ec2::254]` when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` is `IPv6`,
//! else `http://169.254.169.254`; `AWS_EC2_METADATA_DISABLED=true` turns IMDS off.

use std::time::Duration;

use http::{Method, StatusCode};
use serde::Deserialize;
use tokio::time::Instant;

use super::{DetectContext, DetectError};
use crate::environment::Environment;
use crate::http::{Answer, HttpError};

/// The SDKs' endpoint override.
pub(crate) const ENDPOINT_VAR: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
/// `IPv4` (default) or `IPv6`.
pub(crate) const ENDPOINT_MODE_VAR: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
/// `true` turns IMDS off.
pub(crate) const DISABLED_VAR: &str = "AWS_EC2_METADATA_DISABLED";
/// The IPv4 endpoint.
pub(crate) const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The IPv6 endpoint (Nitro instances).
pub(crate) const IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";

/// The token request path.
pub(crate) const TOKEN_PATH: &str = "/latest/api/token";
/// The header asking for a token lifetime.
pub(crate) const TTL_HEADER: &str = "X-aws-ec2-metadata-token-ttl-seconds";
/// The header carrying the token.
pub(crate) const TOKEN_HEADER: &str = "X-aws-ec2-metadata-token";
/// The token lifetime asked for, in seconds (what the SDKs ask).
pub(crate) const TOKEN_TTL: &str = "21600";
/// The probe: the instance id.
pub(crate) const INSTANCE_ID_PATH: &str = "/latest/meta-data/instance-id";
/// The instance identity document.
pub(crate) const DOCUMENT_PATH: &str = "/latest/dynamic/instance-identity/document";
/// The private DNS host name.
pub(crate) const HOSTNAME_PATH: &str = "/latest/meta-data/hostname";
/// Tag keys, one per line (needs instance metadata tags enabled).
pub(crate) const TAGS_PATH: &str = "/latest/meta-data/tags/instance";

/// How long the token request and the probe may take each: the SDKs' one second, so a
/// host that is not on EC2 is found out quickly.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// The first wait between two attempts of a request.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The instance identity document's fields the detectors use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct IdentityDocument {
    pub region: String,
    pub account_id: String,
    pub availability_zone: String,
    pub instance_id: String,
    pub image_id: String,
    pub instance_type: String,
}

/// The IMDS base URL, `None` when IMDS is turned off.
pub(crate) fn endpoint(env: &dyn Environment) -> Option<String> {
    if env
        .var(DISABLED_VAR)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return None;
    }
    if let Some(ep) = env.var(ENDPOINT_VAR).map(|v| v.trim().to_string())
        && !ep.is_empty()
    {
        return Some(ep.trim_end_matches('/').to_string());
    }
    let ipv6 = env
        .var(ENDPOINT_MODE_VAR)
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("ipv6"));
    Some(
        if ipv6 {
            IPV6_ENDPOINT
        } else {
            DEFAULT_ENDPOINT
        }
        .to_string(),
    )
}

/// Fails when `AWS_EC2_METADATA_SERVICE_ENDPOINT` is set to something that is not a
/// plain `http://host[:port]` URL: a wrong override is a config error, not "not on EC2".
pub(crate) fn check_endpoint(env: &dyn Environment) -> Result<(), DetectError> {
    match endpoint(env) {
        Some(ep) if !crate::http::is_plain_http_url(&ep) => Err(DetectError::new(
            "invalid_input",
            format!("{ENDPOINT_VAR} `{ep}` is not a plain http:// URL (IMDS speaks HTTP only)"),
        )),
        _ => Ok(()),
    }
}

/// An open IMDS session.
#[derive(Debug)]
pub(crate) struct Session<'a> {
    cx: &'a DetectContext,
    base: String,
    token: Option<String>,
    attempts: u32,
    max_backoff: Duration,
    /// What the probe answered.
    pub instance_id: String,
}

impl<'a> Session<'a> {
    /// Gets a token and probes the service. `Err` means IMDS is not there (not on
    /// EC2, or turned off), with the reason.
    pub(crate) async fn open(
        cx: &'a DetectContext,
        attempts: u32,
        max_backoff: Duration,
    ) -> Result<Session<'a>, String> {
        let Some(base) = endpoint(cx.env.as_ref()) else {
            return Err(format!("{DISABLED_VAR} is true"));
        };
        let put = cx
            .http
            .send(
                Method::PUT,
                &format!("{base}{TOKEN_PATH}"),
                &[(TTL_HEADER, TOKEN_TTL)],
                cx.deadline,
                Some(PROBE_TIMEOUT),
            )
            .await
            .map_err(|e| format!("token request: {e}"))?;
        let token = match put.status {
            StatusCode::OK => Some(put.text()),
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
                tracing::debug!(status = %put.status, "IMDSv2 token refused; using IMDSv1");
                None
            }
            other => return Err(format!("token request answered {other}")),
        };
        let mut session = Session {
            cx,
            base,
            token,
            attempts: attempts.max(1),
            max_backoff,
            instance_id: String::new(),
        };
        let probe = session
            .send_once(INSTANCE_ID_PATH, Some(PROBE_TIMEOUT))
            .await
            .map_err(|e| format!("instance-id: {e}"))?;
        if probe.status != StatusCode::OK {
            return Err(format!("instance-id answered {}", probe.status));
        }
        session.instance_id = probe.text();
        Ok(session)
    }

    async fn send_once(&self, path: &str, limit: Option<Duration>) -> Result<Answer, HttpError> {
        let url = format!("{}{path}", self.base);
        let headers: Vec<(&str, &str)> = match &self.token {
            Some(t) => vec![(TOKEN_HEADER, t.as_str())],
            None => Vec::new(),
        };
        self.cx
            .http
            .send(Method::GET, &url, &headers, self.cx.deadline, limit)
            .await
    }

    /// `GET path`: the body of a 200, `None` for a 404; retried on transport errors,
    /// 429 and 5xx, up to the configured attempts.
    pub(crate) async fn get_optional(&self, path: &str) -> Result<Option<String>, DetectError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let retry = match self.send_once(path, None).await {
                Ok(a) if a.status == StatusCode::OK => return Ok(Some(a.text())),
                Ok(a) if a.status == StatusCode::NOT_FOUND => return Ok(None),
                Ok(a) => {
                    let e =
                        DetectError::new("http_status", format!("{path} answered {}", a.status));
                    if !(a.status.is_server_error() || a.status == StatusCode::TOO_MANY_REQUESTS) {
                        return Err(e);
                    }
                    e
                }
                Err(e) => DetectError::http(path, &e),
            };
            let wake = Instant::now() + backoff;
            if attempt >= self.attempts || wake >= self.cx.deadline {
                return Err(retry);
            }
            tokio::time::sleep_until(wake).await;
            backoff = (backoff * 2).min(self.max_backoff);
            attempt += 1;
        }
    }

    /// `GET path`, which must exist.
    pub(crate) async fn get(&self, path: &str) -> Result<String, DetectError> {
        self.get_optional(path).await?.ok_or_else(|| {
            DetectError::new("http_status", format!("{path} answered 404 Not Found"))
        })
    }

    /// The instance identity document.
    pub(crate) async fn document(&self) -> Result<IdentityDocument, DetectError> {
        let body = self.get(DOCUMENT_PATH).await.map_err(|e| DetectError {
            message: format!("failed getting identity document: {}", e.message),
            ..e
        })?;
        serde_json::from_str(&body).map_err(|e| {
            DetectError::new(
                "invalid_response",
                format!("failed getting identity document: not an identity document: {e}"),
            )
        })
    }

    /// The instance's host name.
    pub(crate) async fn hostname(&self) -> Result<String, DetectError> {
        self.get(HOSTNAME_PATH).await.map_err(|e| DetectError {
            message: format!("failed getting hostname: {}", e.message),
            ..e
        })
    }

    /// The instance tags whose key `keep` accepts, from IMDS.
    pub(crate) async fn tags(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, String)>, DetectError> {
        let Some(keys) = self.get_optional(TAGS_PATH).await? else {
            return Err(DetectError::new(
                "http_status",
                "failed fetching ec2 instance tags: instance metadata tags are not enabled \
                 (InstanceMetadataTags=enabled)",
            ));
        };
        let mut tags = Vec::new();
        for key in keys
            .lines()
            .map(str::trim)
            .filter(|k| !k.is_empty() && keep(k))
        {
            if let Some(value) = self.get_optional(&format!("{TAGS_PATH}/{key}")).await? {
                tags.push((key.to_string(), value));
            }
        }
        Ok(tags)
    }

    /// One tag's value, `None` when the instance has no such tag (or tags are not
    /// exposed in IMDS).
    pub(crate) async fn tag(&self, key: &str) -> Result<Option<String>, DetectError> {
        self.get_optional(&format!("{TAGS_PATH}/{key}")).await
    }
}

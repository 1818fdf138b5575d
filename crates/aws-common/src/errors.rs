//! Classification of AWS errors into stratus's two error classes.
//!
//! Every AWS exporter hands the error code of a failed call (`ThrottlingException`,
//! `AccessDeniedException`, ...; `None` when the answer had none) and its HTTP status
//! (`None` when no answer came: a connection or timeout error) to [`classify`], and
//! gets a [`Reason`]: a low-cardinality code for metrics and logs that also says
//! whether to retry. [`Reason::to_error`] turns it into the
//! [`ConsumeError`] the pipeline understands.
//!
//! | reason | examples | class |
//! | --- | --- | --- |
//! | `throttled` | `ThrottlingException`, `TooManyRequestsException`, `SlowDown`, HTTP 429 | retryable, back-off |
//! | `server_error` | HTTP 5xx, `ServiceUnavailableException`, `InternalFailure` | retryable |
//! | `timeout` | `RequestTimeout`, `RequestTimeoutException` | retryable |
//! | `network` | no answer (connection refused, reset, timed out) | retryable |
//! | `aborted` | `OperationAbortedException` (a conflicting call on the same resource) | retryable |
//! | `clock_skew` | `RequestTimeTooSkewed`, `RequestExpired`, `RequestInTheFuture` | retryable (the SDK corrects its clock offset from the answer) |
//! | `auth` | `UnrecognizedClientException`, `InvalidSignatureException`, `ExpiredTokenException`, `InvalidClientTokenId`, HTTP 401 | permanent, [`Reason::is_auth`] |
//! | `no_credentials` | the credential chain found none, or a provider (IMDS, STS web identity) failed before the call | retryable (credentials may appear; the data waits), [`Reason::is_auth`] |
//! | `access_denied` | `AccessDenied`, `AccessDeniedException`, `UnauthorizedOperation`, HTTP 403 | permanent, [`Reason::is_auth`] |
//! | `not_found` | `ResourceNotFoundException`, `NoSuchBucket` | permanent (the CloudWatch Logs client recreates group and stream first) |
//! | `already_exists` | `ResourceAlreadyExistsException` | permanent (callers creating a resource treat it as success) |
//! | `validation` | `InvalidParameterException`, `ValidationException`, `SerializationException`, other 4xx | permanent |
//!
//! The throttling codes are those the AWS SDKs treat as throttling (the Rust SDK's
//! `aws_runtime::retries::classifiers::THROTTLING_ERRORS`, which the Go v2 and
//! JavaScript v3 SDKs share), the transient ones its `TRANSIENT_ERRORS`, and the clock
//! skew codes those of the JavaScript SDK's `CLOCK_SKEW_ERROR_CODES`. Codes are
//! matched after stripping a namespace (`aws.protocols#ThrottlingException`) or a
//! trailing `:url`, as the SDKs' error-code sanitising does.
//!
//! An auth failure is permanent and flagged: the exporter reports it once, clearly
//! ([`Reason::hint`] says what to check), instead of retrying into a storm of
//! identical errors.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use stratus_core::ConsumeError;

/// Error codes the AWS SDKs treat as throttling.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes the AWS SDKs treat as transient timeouts.
pub const TIMEOUT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// Error codes that mean the request's clock and AWS's disagree.
pub const CLOCK_SKEW_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
];

/// Error codes of a failure on AWS's side, whatever the HTTP status says.
pub const SERVER_ERROR_CODES: &[&str] = &[
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerException",
    "InternalServiceError",
    "InternalServiceException",
    "ServiceException",
];

/// Error codes of an identity AWS does not accept: wrong, expired or missing
/// credentials, or a bad signature.
pub const AUTH_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "InvalidToken",
    "TokenRefreshRequired",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "MissingAuthenticationException",
    "AuthFailure",
    "NotAuthorized",
    "InvalidIdentityToken",
];

/// Error codes of an identity that lacks a permission (besides every `AccessDenied*`).
pub const ACCESS_DENIED_CODES: &[&str] = &[
    "UnauthorizedOperation",
    "UnauthorizedException",
    "Forbidden",
    "AllAccessDisabled",
    "AccountProblem",
];

/// Error codes of a resource that does not exist.
pub const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
];

/// Why an AWS call failed, as a low-cardinality code that also decides the error
/// class. See the module docs for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// AWS asked us to slow down. Retryable with back-off.
    Throttled,
    /// A failure on AWS's side (HTTP 5xx). Retryable.
    ServerError,
    /// The request timed out at AWS. Retryable.
    Timeout,
    /// No answer: the connection failed, was reset, or timed out. Retryable.
    Network,
    /// A conflicting operation on the same resource was in progress. Retryable.
    Aborted,
    /// Our clock and AWS's disagree. Retryable: the SDK corrects its clock offset from
    /// the answer; persistent skew means the host clock needs fixing.
    ClockSkew,
    /// The credentials are wrong, expired or missing, or the signature is bad.
    /// Permanent; report once.
    Auth,
    /// No credentials could be loaded before the call: the chain found none, or a
    /// provider failed (IMDS or STS unreachable, a web identity token not mounted
    /// yet). Retryable, since they may appear (the data waits in the queue); report
    /// once.
    NoCredentials,
    /// The identity lacks a permission. Permanent; report once.
    AccessDenied,
    /// The resource (log group, stream, bucket) does not exist. Permanent.
    NotFound,
    /// The resource already exists. Permanent (success for a create call).
    AlreadyExists,
    /// AWS refused the request as invalid. Permanent.
    Validation,
}

impl Reason {
    /// The code for metric labels and logs (`throttled`, `auth`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Throttled => "throttled",
            Reason::ServerError => "server_error",
            Reason::Timeout => "timeout",
            Reason::Network => "network",
            Reason::Aborted => "aborted",
            Reason::ClockSkew => "clock_skew",
            Reason::Auth => "auth",
            Reason::NoCredentials => "no_credentials",
            Reason::AccessDenied => "access_denied",
            Reason::NotFound => "not_found",
            Reason::AlreadyExists => "already_exists",
            Reason::Validation => "validation",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Reason::Throttled
                | Reason::ServerError
                | Reason::Timeout
                | Reason::Network
                | Reason::Aborted
                | Reason::ClockSkew
                | Reason::NoCredentials
        )
    }

    /// Whether the failure is about who we are or what we may do: report it once,
    /// clearly, naming the exporter and the identity.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            Reason::Auth | Reason::AccessDenied | Reason::NoCredentials
        )
    }

    /// What a user should check, for the messages of auth, clock and not-found
    /// failures; `None` for the others.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Reason::Auth | Reason::NoCredentials => Some(
                "check the credentials stratus finds (AWS_ACCESS_KEY_ID / \
                 AWS_SECRET_ACCESS_KEY, the shared credentials file and AWS_PROFILE, \
                 AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE, the task or instance \
                 role), that a session token has not expired, and the host clock",
            ),
            Reason::AccessDenied => Some(
                "the identity was recognised but lacks a permission: check the IAM \
                 policy of the user or role (and of role_arn, if set) for this action \
                 and resource",
            ),
            Reason::ClockSkew => Some("check the host clock (NTP)"),
            Reason::NotFound => Some("check the resource name and the region"),
            _ => None,
        }
    }

    /// The pipeline error for this reason: retryable ones retryable (throttling with
    /// no delay of its own, so the exporter's back-off applies), the others permanent.
    /// `message` should say which call failed and AWS's message; the hint is added.
    pub fn to_error(&self, message: impl Into<String>) -> ConsumeError {
        let mut message = message.into();
        if let Some(hint) = self.hint() {
            message.push_str(": ");
            message.push_str(hint);
        }
        if self.is_retryable() {
            ConsumeError::retryable(message)
        } else {
            ConsumeError::permanent(message)
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error code without a namespace (`...#Code`) or a trailing `:url`, as the SDKs
/// sanitise it.
pub fn sanitize_code(code: &str) -> &str {
    // The URL goes first (it may hold a `#`), then the namespace: the order of
    // `aws_smithy_json`'s `sanitize_error_code`.
    let code = code.split_once(':').map_or(code, |(c, _)| c);
    code.split_once('#').map_or(code, |(_, c)| c).trim()
}

/// Classifies a failed AWS call from its error code (`None` or `""` when the answer
/// had none) and HTTP status (`None` when no answer came).
///
/// The code decides first; without a known code the status does (429 throttled, 5xx
/// server error, 401 auth, 403 access denied, 404 not found, other 4xx validation);
/// with neither, the failure is a network one.
pub fn classify(code: Option<&str>, status: Option<u16>) -> Reason {
    let code = code.map(sanitize_code).filter(|c| !c.is_empty());
    if let Some(code) = code
        && let Some(reason) = classify_code(code)
    {
        return reason;
    }
    match status {
        None if code.is_none() => Reason::Network,
        Some(429) => Reason::Throttled,
        Some(s) if (500..600).contains(&s) => Reason::ServerError,
        Some(401) => Reason::Auth,
        Some(403) => Reason::AccessDenied,
        Some(404) => Reason::NotFound,
        Some(408) => Reason::Timeout,
        // An unknown code on a 2xx/3xx/4xx answer, or with no status: the request
        // itself was refused.
        _ => Reason::Validation,
    }
}

fn classify_code(code: &str) -> Option<Reason> {
    let is = |list: &[&str]| list.contains(&code);
    Some(if is(THROTTLING_CODES) {
        Reason::Throttled
    } else if is(TIMEOUT_CODES) {
        Reason::Timeout
    } else if is(CLOCK_SKEW_CODES) {
        Reason::ClockSkew
    } else if is(SERVER_ERROR_CODES) {
        Reason::ServerError
    } else if code == "OperationAbortedException" {
        Reason::Aborted
    } else if is(AUTH_CODES) {
        Reason::Auth
    } else if code.starts_with("AccessDenied") || is(ACCESS_DENIED_CODES) {
        Reason::AccessDenied
    } else if is(NOT_FOUND_CODES) {
        Reason::NotFound
    } else if code == "ResourceAlreadyExistsException" {
        Reason::AlreadyExists
    } else {
        return None;
    })
}

/// [`classify`] and [`Reason::to_error`] in one call: the pipeline error for a
/// failed call, and its reason for metrics and logs. The message reads
/// `"<operation>: <code> (HTTP <status>): <aws message>"`.
pub fn classify_error(
    operation: &str,
    code: Option<&str>,
    status: Option<u16>,
    aws_message: &str,
) -> (ConsumeError, Reason) {
    let reason = classify(code, status);
    let mut message = String::from(operation);
    message.push_str(": ");
    match (code.filter(|c| !c.is_empty()), status) {
        (Some(c), Some(s)) => message.push_str(&format!("{} (HTTP {s})", sanitize_code(c))),
        (Some(c), None) => message.push_str(sanitize_code(c)),
        (None, Some(s)) => message.push_str(&format!("HTTP {s}")),
        (None, None) => message.push_str("no answer"),
    }
    if !aws_message.is_empty() {
        message.push_str(": ");
        message.push_str(aws_message);
    }
    (reason.to_error(message), reason)
}

/// [`classify_error`] for an error of an AWS SDK call: the code and HTTP status of a
/// service error; a timeout, a dispatch failure (connection refused, TLS, or no
/// credentials to sign with) or a broken answer as such. `operation` names the call
/// (`PutLogEvents`). Exporters pass any SDK operation's error here.
///
/// Every message is scrubbed of the session's secrets ([`crate::redact::scrub`]): an
/// endpoint that echoes the request hands back its `X-Amz-Security-Token`.
pub fn classify_sdk_error<E>(
    operation: &str,
    err: &SdkError<E, HttpResponse>,
) -> (ConsumeError, Reason)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (error, reason) = classify_sdk_error_unscrubbed(operation, err);
    let error = match error {
        ConsumeError::Permanent { message } => ConsumeError::Permanent {
            message: crate::redact::scrub(&message),
        },
        ConsumeError::Retryable { message, throttle } => ConsumeError::Retryable {
            message: crate::redact::scrub(&message),
            throttle,
        },
    };
    (error, reason)
}

fn classify_sdk_error_unscrubbed<E>(
    operation: &str,
    err: &SdkError<E, HttpResponse>,
) -> (ConsumeError, Reason)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let aws_message = service.err().message().unwrap_or_default();
            // When the SDK's parser did not find a code (an error body in another
            // protocol's shape, as some endpoints and mocks answer), read it from
            // the body: `<Code>..</Code>` or JSON `__type`.
            let from_body = match service.err().code() {
                Some(_) => None,
                None => service.raw().body().bytes().and_then(code_from_body),
            };
            let code = service.err().code().or(from_body.as_deref());
            classify_error(operation, code, Some(status), aws_message)
        }
        SdkError::TimeoutError(_) => {
            let reason = Reason::Network;
            let message = format!("{operation}: timed out: {}", DisplayErrorContext(err));
            (reason.to_error(message), reason)
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            classify_error(
                operation,
                None,
                Some(status),
                &DisplayErrorContext(err).to_string(),
            )
        }
        SdkError::DispatchFailure(d) => {
            let text = DisplayErrorContext(err).to_string();
            // Resolving the identity happens before dispatch: a chain that found no
            // credentials is reported as such (once), and retried, since credentials
            // can appear (a web identity token mounted late, IMDS back).
            let reason = if d.is_io() || d.is_timeout() {
                Reason::Network
            } else if text.contains("credentials") || text.contains("identity") {
                Reason::NoCredentials
            } else {
                Reason::Network
            };
            (reason.to_error(format!("{operation}: {text}")), reason)
        }
        _ => {
            let text = DisplayErrorContext(err).to_string();
            let reason = if text.contains("credentials") || text.contains("identity") {
                Reason::NoCredentials
            } else {
                Reason::Validation
            };
            (reason.to_error(format!("{operation}: {text}")), reason)
        }
    }
}

/// The error code in an XML (`<Code>X</Code>`) or JSON (`"__type":"X"`) error body.
pub fn code_from_body(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if let Some(start) = text.find("<Code>") {
        let rest = &text[start + "<Code>".len()..];
        let end = rest.find("</Code>")?;
        let code = rest[..end].trim();
        return (!code.is_empty()).then(|| code.to_owned());
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value
        .get("__type")
        .or_else(|| value.get("code"))
        .and_then(|v| v.as_str())
        .map(|c| sanitize_code(c).to_owned())
        .filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Credentials that could not be loaded are reported like an auth failure but
    /// retried: the data waits in the queue until they appear, nothing is dropped.
    #[test]
    fn missing_credentials_are_retried_and_reported_once() {
        let reason = Reason::NoCredentials;
        assert!(reason.is_retryable() && reason.is_auth());
        assert_eq!(reason.as_str(), "no_credentials");
        let error = reason.to_error("PutTraceSegments: failed to load credentials");
        assert!(!error.is_permanent(), "{error:?}");
        assert!(
            error
                .message()
                .contains("check the credentials stratus finds")
        );
        assert!(Reason::Auth.is_auth() && !Reason::Auth.is_retryable());
    }

    #[test]
    fn codes_from_error_bodies() {
        let xml = b"<Response><Errors><Error><Code>SignatureDoesNotMatch</Code></Error></Errors></Response>";
        assert_eq!(
            code_from_body(xml).as_deref(),
            Some("SignatureDoesNotMatch")
        );
        let json = br#"{"__type":"com.amazonaws#ThrottlingException","message":"slow"}"#;
        assert_eq!(code_from_body(json).as_deref(), Some("ThrottlingException"));
        assert_eq!(code_from_body(b"<html>oops</html>"), None);
        assert_eq!(code_from_body(b""), None);
    }

    #[test]
    fn classification_table() {
        use Reason::*;
        let cases: &[(Option<&str>, Option<u16>, Reason)] = &[
            // Throttling: by code (AWS JSON errors are HTTP 400) or by 429.
            (Some("ThrottlingException"), Some(400), Throttled),
            (Some("TooManyRequestsException"), Some(400), Throttled),
            (Some("Throttling"), Some(400), Throttled),
            (Some("SlowDown"), Some(503), Throttled),
            (Some("RequestLimitExceeded"), Some(400), Throttled),
            (
                Some("ProvisionedThroughputExceededException"),
                Some(400),
                Throttled,
            ),
            (Some("LimitExceededException"), Some(400), Throttled),
            (
                Some("aws.protocols#ThrottlingException"),
                Some(400),
                Throttled,
            ),
            (
                Some("ThrottlingException:http://internal.amazon.com/"),
                Some(400),
                Throttled,
            ),
            (None, Some(429), Throttled),
            (Some("SomethingNew"), Some(429), Throttled),
            // Server side and transport.
            (None, Some(500), ServerError),
            (None, Some(502), ServerError),
            (None, Some(503), ServerError),
            (None, Some(504), ServerError),
            (Some("ServiceUnavailableException"), Some(400), ServerError),
            (Some("InternalFailure"), Some(500), ServerError),
            (Some("SomethingNew"), Some(503), ServerError),
            (Some("RequestTimeout"), Some(400), Timeout),
            (Some("RequestTimeoutException"), Some(408), Timeout),
            (None, Some(408), Timeout),
            (None, None, Network),
            (Some(""), None, Network),
            (Some("OperationAbortedException"), Some(400), Aborted),
            (Some("RequestTimeTooSkewed"), Some(403), ClockSkew),
            (Some("RequestExpired"), Some(400), ClockSkew),
            // Identity.
            (Some("UnrecognizedClientException"), Some(400), Auth),
            (Some("InvalidSignatureException"), Some(400), Auth),
            (Some("SignatureDoesNotMatch"), Some(403), Auth),
            (Some("ExpiredTokenException"), Some(400), Auth),
            (Some("ExpiredToken"), Some(400), Auth),
            (Some("InvalidClientTokenId"), Some(403), Auth),
            (Some("InvalidAccessKeyId"), Some(403), Auth),
            (Some("MissingAuthenticationToken"), Some(403), Auth),
            (None, Some(401), Auth),
            (Some("AccessDenied"), Some(403), AccessDenied),
            (Some("AccessDeniedException"), Some(400), AccessDenied),
            (
                Some("AccessDeniedForDependencyException"),
                Some(400),
                AccessDenied,
            ),
            (Some("UnauthorizedOperation"), Some(403), AccessDenied),
            (None, Some(403), AccessDenied),
            // Refused requests.
            (Some("ResourceNotFoundException"), Some(400), NotFound),
            (Some("NoSuchBucket"), Some(404), NotFound),
            (None, Some(404), NotFound),
            (
                Some("ResourceAlreadyExistsException"),
                Some(400),
                AlreadyExists,
            ),
            (Some("InvalidParameterException"), Some(400), Validation),
            (Some("ValidationException"), Some(400), Validation),
            (Some("SerializationException"), Some(400), Validation),
            (Some("DataAlreadyAcceptedException"), Some(400), Validation),
            (None, Some(400), Validation),
            (None, Some(413), Validation),
            (Some("SomethingNew"), Some(400), Validation),
            (Some("SomethingNew"), None, Validation),
        ];
        for (code, status, want) in cases {
            assert_eq!(classify(*code, *status), *want, "{code:?} {status:?}");
        }
    }

    #[test]
    fn reasons_map_to_error_classes() {
        let retryable = [
            Reason::Throttled,
            Reason::ServerError,
            Reason::Timeout,
            Reason::Network,
            Reason::Aborted,
            Reason::ClockSkew,
        ];
        let permanent = [
            Reason::Auth,
            Reason::AccessDenied,
            Reason::NotFound,
            Reason::AlreadyExists,
            Reason::Validation,
        ];
        for r in retryable {
            let e = r.to_error("x");
            assert!(!e.is_permanent(), "{r}");
            assert_eq!(e.throttle(), None, "{r}");
            assert!(!r.is_auth(), "{r}");
        }
        for r in permanent {
            assert!(r.to_error("x").is_permanent(), "{r}");
        }
        assert!(Reason::Auth.is_auth() && Reason::AccessDenied.is_auth());
        assert!(!Reason::NotFound.is_auth());
        let codes: std::collections::HashSet<_> = retryable
            .iter()
            .chain(&permanent)
            .map(Reason::as_str)
            .collect();
        assert_eq!(codes.len(), 11, "codes are distinct");
    }

    #[test]
    fn error_messages_name_the_call_and_the_fix() {
        let (e, r) = classify_error(
            "PutLogEvents",
            Some("UnrecognizedClientException"),
            Some(400),
            "The security token included in the request is invalid.",
        );
        assert_eq!(r, Reason::Auth);
        assert!(e.is_permanent());
        let m = e.message();
        assert!(
            m.starts_with(
                "PutLogEvents: UnrecognizedClientException (HTTP 400): The security token \
                 included in the request is invalid.: check the credentials"
            ),
            "{m}"
        );
        let (e, r) = classify_error("PutObject", None, None, "connection refused");
        assert_eq!(r, Reason::Network);
        assert_eq!(e.message(), "PutObject: no answer: connection refused");
        assert!(!e.is_permanent());
        let (e, _) = classify_error("PutTraceSegments", None, Some(503), "");
        assert_eq!(e.message(), "PutTraceSegments: HTTP 503");
        let (e, _) = classify_error("X", Some("a#ThrottlingException"), None, "slow down");
        assert_eq!(e.message(), "X: ThrottlingException: slow down");
    }

    #[test]
    fn sanitize_table() {
        let cases = [
            ("ThrottlingException", "ThrottlingException"),
            ("aws.protocols#ThrottlingException", "ThrottlingException"),
            (
                "ThrottlingException:http://internal.amazon.com/x/",
                "ThrottlingException",
            ),
            ("a.b#Code:http://x/#frag", "Code"),
            (" Code ", "Code"),
        ];
        for (raw, want) in cases {
            assert_eq!(sanitize_code(raw), want, "{raw}");
        }
    }
}

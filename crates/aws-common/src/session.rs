//! The AWS SDK session every AWS exporter builds its one client from: credentials,
//! region, endpoint, timeouts and assume-role, from upstream's session keys.
//!
//! Upstream: contrib `internal/aws/awsutil` (`AWSSessionSettings` in `awsconfig.go`
//! and `config.schema.yaml`, `GetAWSConfig` in `conn.go`). [`AwsSessionConfig`] has
//! the same keys with the same defaults; [`load`] builds an
//! [`SdkConfig`] on `aws-config`'s default chain:
//!
//! - **credentials**: environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//!   `AWS_SESSION_TOKEN`); the shared credentials and config files with the profile
//!   (`profile`, else `AWS_PROFILE`, else `default`; `shared_credentials_file`
//!   replaces the credentials file's location, `AWS_SHARED_CREDENTIALS_FILE` and
//!   `AWS_CONFIG_FILE` are honoured), including `credential_process` and
//!   `role_arn` + `source_profile` profiles; web identity for EKS IRSA
//!   (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`); ECS container credentials
//!   (the Fargate task role); EC2 IMDSv2. On top of whichever of these answers,
//!   `role_arn` (with `external_id`) is assumed through STS with the session name
//!   [`SESSION_NAME`], as upstream's `stscreds.NewAssumeRoleProvider`.
//! - **region**: `region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, the profile's
//!   `region`, then IMDS (skipped with `local_mode`). No region is an error, as
//!   upstream's "cannot fetch region variable".
//! - **endpoint**: `endpoint` overrides the service endpoint of the client built
//!   from the config (tests, VPC endpoints, FIPS). It does not apply to the STS
//!   calls of the credential providers, which go to STS (or `AWS_ENDPOINT_URL_STS`).
//! - **retries**: the SDK's own retries are off ([`RetryConfig::disabled`]): the
//!   exporter helper's `retry_on_failure` owns retrying, so each attempt is counted
//!   once. `max_retries` is accepted for upstream configs but not applied (see the
//!   field).
//! - **timeout**: `request_timeout_seconds` bounds each attempt (upstream sets it as
//!   the HTTP client's timeout); `0` means none, as Go's `http.Client`.
//!
//! - **TLS and proxy**: `certificate_file_path` (extra CA certificates),
//!   `no_verify_ssl` and `proxy_address` switch to stratus's own HTTP client on the
//!   kit's TLS module ([`crate::http_client`]).
//!
//! A key stratus does not honour yet is refused by [`AwsSessionConfig::problems_at`]
//! with the reason, never silently ignored: `imds_retries`.
//!
//! [`describe_identity`] names the identity in error messages (profile, role, access
//! key id prefix; never a secret).

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

/// The STS role session name stratus uses for `role_arn` (upstream leaves the SDK's
/// generated name; a fixed prefix makes stratus's sessions easy to find in
/// CloudTrail).
pub const SESSION_NAME: &str = "stratus";

/// Upstream's default `request_timeout_seconds` (`CreateDefaultSessionConfig`).
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;

/// Upstream's default `max_retries` (`CreateDefaultSessionConfig`).
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// Upstream's default `num_workers` (`CreateDefaultSessionConfig`).
pub const DEFAULT_NUM_WORKERS: u32 = 8;

/// Upstream's AWS session keys (`AWSSessionSettings`), shared by every AWS
/// exporter. Exporters keep these keys at their top level (as upstream does) and
/// copy them into this struct; [`AwsSessionConfig::problems_at`] checks them at the
/// exporter's key paths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsSessionConfig {
    /// The AWS region (`us-east-1`). Default empty: `AWS_REGION`, the profile, then
    /// IMDS.
    pub region: String,
    /// An `http://` or `https://` URL replacing the service endpoint (tests, VPC
    /// endpoints, FIPS). Default empty: the SDK's endpoint for the region.
    pub endpoint: String,
    /// An IAM role ARN to assume on top of the default chain's credentials (another
    /// account). Default empty: use the chain's identity as is.
    pub role_arn: String,
    /// The external id for assuming `role_arn` (third-party roles). Default empty.
    pub external_id: String,
    /// The shared-config profile. Default empty: `AWS_PROFILE`, else `default`.
    pub profile: String,
    /// Shared credentials files replacing `~/.aws/credentials` (later files win).
    /// Default empty: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    pub shared_credentials_file: Vec<String>,
    /// Seconds an attempt may take before it times out; `0` for no limit. Default 30.
    pub request_timeout_seconds: u64,
    /// Upstream's SDK retry count. Accepted so upstream configs load, but not
    /// applied: the SDK's retries are off and the exporter's `retry_on_failure`
    /// governs retries. Default 2.
    pub max_retries: u32,
    /// Upstream's concurrent upload count. Not used by the session: an exporter maps
    /// it to its sending queue's consumers. Default 8; at least 1.
    pub num_workers: u32,
    /// Accept any server certificate (TLS without server authentication: for test
    /// endpoints only; logged as a warning). Default false.
    pub no_verify_ssl: bool,
    /// An HTTP proxy, `http://host:port` (optionally `http://user:password@host:port`),
    /// every AWS call tunnelled through it with `CONNECT`. Default empty: no proxy.
    pub proxy_address: String,
    /// Running outside EC2: the region is not looked up in IMDS. Default false.
    pub local_mode: bool,
    /// The ARN of the resource running the collector (X-Ray puts it in segments).
    /// Not used by the session. Default empty.
    pub resource_arn: String,
    /// A PEM file of CA certificates trusted besides the system's roots (a private CA
    /// in front of a VPC endpoint). Default empty: the system's roots.
    pub certificate_file_path: String,
    /// IMDSv2 retries. Not supported yet: only 0 (the SDK's default) is accepted.
    /// Default 0.
    pub imds_retries: u32,
}

impl Default for AwsSessionConfig {
    fn default() -> Self {
        AwsSessionConfig {
            region: String::new(),
            endpoint: String::new(),
            role_arn: String::new(),
            external_id: String::new(),
            profile: String::new(),
            shared_credentials_file: Vec::new(),
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
            max_retries: DEFAULT_MAX_RETRIES,
            num_workers: DEFAULT_NUM_WORKERS,
            no_verify_ssl: false,
            proxy_address: String::new(),
            local_mode: false,
            resource_arn: String::new(),
            certificate_file_path: String::new(),
            imds_retries: 0,
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}::{key}")
    }
}

/// Whether `s` is an `http://` or `https://` URL with a host.
fn is_http_url(s: &str) -> bool {
    match s.parse::<http::Uri>() {
        Ok(uri) => {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}

/// Whether `s` looks like an ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`.
fn is_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty()
}

impl AwsSessionConfig {
    /// Every problem, with key paths under `prefix` (`""` for the top level,
    /// `exporters::awsxray` style prefixes joined with `::`).
    pub fn problems_at(&self, prefix: &str) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut problem = |key: &str, message: String| {
            out.push(ConfigProblem::new(join(prefix, key), message));
        };
        if !self.region.is_empty()
            && !self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            problem(
                "region",
                format!(
                    "{:?} is not an AWS region name (lowercase letters, digits and '-', like us-east-1)",
                    self.region
                ),
            );
        }
        if !self.endpoint.is_empty() && !is_http_url(&self.endpoint) {
            problem(
                "endpoint",
                format!(
                    "{:?} is not an http:// or https:// URL with a host",
                    self.endpoint
                ),
            );
        }
        if !self.role_arn.is_empty() && !is_arn(&self.role_arn) {
            problem(
                "role_arn",
                format!(
                    "{:?} is not an ARN (arn:aws:iam::<account>:role/<name>)",
                    self.role_arn
                ),
            );
        }
        if !self.external_id.is_empty() && self.role_arn.is_empty() {
            problem(
                "external_id",
                "is only used when assuming a role: set role_arn too, or remove it".to_owned(),
            );
        }
        if self.shared_credentials_file.iter().any(|f| f.is_empty()) {
            problem(
                "shared_credentials_file",
                "an entry is empty: give the path of a credentials file".to_owned(),
            );
        }
        if self.num_workers == 0 {
            problem("num_workers", "must be at least 1".to_owned());
        }
        if !self.proxy_address.is_empty()
            && let Err(e) = crate::http_client::parse_proxy(&self.proxy_address)
        {
            problem(
                "proxy_address",
                e.to_string()
                    .trim_start_matches("proxy_address: ")
                    .to_owned(),
            );
        }
        if self.imds_retries != 0 {
            problem(
                "imds_retries",
                "setting IMDS retries is not supported by stratus yet: remove it (the SDK's \
                 default applies)"
                    .to_owned(),
            );
        }
        out
    }

    /// The per-attempt timeout, `None` for `request_timeout_seconds: 0`.
    pub fn request_timeout(&self) -> Option<Duration> {
        (self.request_timeout_seconds > 0)
            .then(|| Duration::from_secs(self.request_timeout_seconds))
    }
}

impl Validate for AwsSessionConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        self.problems_at("")
    }
}

/// Why [`load`] could not build a session.
#[derive(Debug, thiserror::Error)]
pub enum AwsSessionError {
    /// The config has problems (see [`AwsSessionConfig::problems_at`]).
    #[error("invalid AWS session config: {}", describe_problems(.0))]
    Invalid(Vec<ConfigProblem>),
    /// No region in the config, the environment, the profile or IMDS.
    #[error(
        "no AWS region: set `region`, or AWS_REGION, or a region in the profile \
         (on EC2 the instance metadata service answers it)"
    )]
    NoRegion,
    /// `role_arn` is set but the default chain has no credentials to assume it with.
    #[error("role_arn {0} is set but no credentials were found to assume it with")]
    NoSourceCredentials(String),
    /// The HTTP client for `certificate_file_path` / `no_verify_ssl` /
    /// `proxy_address` could not be built.
    #[error(transparent)]
    Http(#[from] crate::http_client::HttpClientError),
}

fn describe_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Builds the SDK config for `cfg`: the default credential chain (with `role_arn`
/// assumed on top), region, endpoint override, SDK retries off and the attempt
/// timeout. Build each exporter's client from it once and reuse it.
///
/// Credentials are resolved lazily, at the first call (and refreshed by the SDK's
/// identity cache); [`describe_identity`] names them for error messages.
pub async fn load(cfg: &AwsSessionConfig) -> Result<SdkConfig, AwsSessionError> {
    let problems = cfg.problems_at("");
    if !problems.is_empty() {
        return Err(AwsSessionError::Invalid(problems));
    }
    if cfg.max_retries != DEFAULT_MAX_RETRIES {
        tracing::info!(
            max_retries = cfg.max_retries,
            "max_retries is not applied to the AWS SDK: its retries are off and the \
             exporter's retry_on_failure governs retrying"
        );
    }
    let mut timeouts = TimeoutConfig::builder();
    if let Some(t) = cfg.request_timeout() {
        timeouts = timeouts.operation_attempt_timeout(t);
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts.build());
    if let Some(client) = crate::http_client::http_client(cfg).map_err(AwsSessionError::Http)? {
        if cfg.no_verify_ssl {
            tracing::warn!(
                "no_verify_ssl: the AWS endpoint's certificate is not verified; use this \
                 for test endpoints only"
            );
        }
        loader = loader.http_client(client);
    }
    if !cfg.profile.is_empty() {
        loader = loader.profile_name(&cfg.profile);
    }
    if !cfg.shared_credentials_file.is_empty() {
        let mut files = EnvConfigFiles::builder().include_default_config_file(true);
        for f in &cfg.shared_credentials_file {
            files = files.with_file(EnvConfigFileKind::Credentials, f);
        }
        loader = loader.profile_files(files.build());
    }
    if !cfg.region.is_empty() {
        loader = loader.region(Region::new(cfg.region.clone()));
    } else if cfg.local_mode {
        let mut env_then_profile = RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        );
        let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
        if !cfg.profile.is_empty() {
            profile_region = profile_region.profile_name(&cfg.profile);
        }
        env_then_profile = env_then_profile.or_else(profile_region.build());
        loader = loader.region(env_then_profile);
    }
    let base = loader.load().await;
    if base.region().is_none() {
        return Err(AwsSessionError::NoRegion);
    }
    let mut builder = base.to_builder();
    if !cfg.role_arn.is_empty() {
        let source = base
            .credentials_provider()
            .ok_or_else(|| AwsSessionError::NoSourceCredentials(cfg.role_arn.clone()))?;
        let mut assume = AssumeRoleProvider::builder(&cfg.role_arn).session_name(SESSION_NAME);
        if !cfg.external_id.is_empty() {
            assume = assume.external_id(&cfg.external_id);
        }
        // `base` has no endpoint override: the STS call goes to STS, not to the
        // exporter's endpoint.
        let provider = assume.configure(&base).build_from_provider(source).await;
        builder = builder.credentials_provider(SharedCredentialsProvider::new(provider));
    }
    if !cfg.endpoint.is_empty() {
        builder = builder.endpoint_url(&cfg.endpoint);
    }
    let sdk = builder.build();
    // Every credential handed out is remembered, so that messages can be scrubbed of
    // it (`redact`).
    Ok(match sdk.credentials_provider() {
        Some(provider) => sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(crate::redact::Remembering(
                provider,
            )))
            .build(),
        None => sdk,
    })
}

/// How many characters of an access key id [`describe_identity`] shows.
pub const ACCESS_KEY_PREFIX_LEN: usize = 8;

/// Names the identity a session uses, for error messages: the role assumed, the
/// profile, and the first [`ACCESS_KEY_PREFIX_LEN`] characters of the access key id
/// when `credentials` were resolved. Never a secret or session token.
///
/// `"role arn:aws:iam::123456789012:role/x, profile default, access key AKIAIOSF…"`.
pub fn describe_identity(cfg: &AwsSessionConfig, credentials: Option<&Credentials>) -> String {
    let mut parts = Vec::new();
    if !cfg.role_arn.is_empty() {
        parts.push(format!("role {}", cfg.role_arn));
    }
    let profile = if cfg.profile.is_empty() {
        std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned())
    } else {
        cfg.profile.clone()
    };
    parts.push(format!("profile {profile}"));
    match credentials {
        Some(c) => {
            let id = c.access_key_id();
            let shown: String = id.chars().take(ACCESS_KEY_PREFIX_LEN).collect();
            let more = if id.chars().count() > ACCESS_KEY_PREFIX_LEN {
                "…"
            } else {
                ""
            };
            parts.push(format!("access key {shown}{more}"));
        }
        None => parts.push("no credentials resolved".to_owned()),
    }
    parts.join(", ")
}

/// Resolves the session's credentials and names them with [`describe_identity`];
/// when resolving fails, says so with the provider chain's error.
pub async fn current_identity(cfg: &AwsSessionConfig, sdk: &SdkConfig) -> String {
    let Some(provider) = sdk.credentials_provider() else {
        return describe_identity(cfg, None);
    };
    match provider.provide_credentials().await {
        Ok(c) => describe_identity(cfg, Some(&c)),
        Err(e) => crate::redact::scrub(&format!(
            "{} ({})",
            describe_identity(cfg, None),
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        )),
    }
}

/// Reports an exporter's authentication, access or missing-credentials failure once,
/// clearly (which exporter, which identity, what to check); later ones at debug, so a
/// broken identity never becomes a log storm.
#[derive(Debug)]
pub struct AuthReporter {
    exporter: String,
    service: &'static str,
    permission: &'static str,
    reported: std::sync::atomic::AtomicBool,
}

impl AuthReporter {
    /// A reporter for exporter `exporter` calling `service` (`X-Ray`), which needs the
    /// IAM `permission` (`xray:PutTraceSegments`).
    pub fn new(
        exporter: impl Into<String>,
        service: &'static str,
        permission: &'static str,
    ) -> Self {
        AuthReporter {
            exporter: exporter.into(),
            service,
            permission,
            reported: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Reports `error` of `reason` (one for which [`crate::errors::Reason::is_auth`]
    /// holds) the first time; the identity is resolved for the message, never a
    /// secret.
    pub async fn report(
        &self,
        cfg: &AwsSessionConfig,
        sdk: &SdkConfig,
        error: &stratus_core::ConsumeError,
        reason: crate::errors::Reason,
    ) {
        use std::sync::atomic::Ordering;
        if self.reported.swap(true, Ordering::Relaxed) {
            tracing::debug!(exporter = %self.exporter, error = %error, reason = %reason, "AWS refused the credentials again");
            return;
        }
        let identity = current_identity(cfg, sdk).await;
        if reason == crate::errors::Reason::NoCredentials {
            tracing::error!(
                exporter = %self.exporter,
                identity = %identity,
                error = %error,
                "the exporter found no AWS credentials to sign its {} calls with: data waits \
                 in the sending queue and is retried; check the environment, the shared \
                 credentials file and profile, the web identity token or the task or \
                 instance role (reported once)",
                self.service
            );
        } else {
            tracing::error!(
                exporter = %self.exporter,
                identity = %identity,
                error = %error,
                "{} refused the exporter's credentials: check the keys or role of this \
                 identity, that it allows {}, and the region; data is dropped until this is \
                 fixed (reported once)",
                self.service,
                self.permission
            );
        }
    }
}

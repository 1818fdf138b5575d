//! Where the envelopes go and with which instrumentation key: the Application Insights
//! connection string, or the older `instrumentation_key` + `endpoint` pair.
//!
//! Resolution, as upstream's `connection_string_parser.go`:
//!
//! 1. The environment variable `APPLICATIONINSIGHTS_CONNECTION_STRING`, when set and
//!    not empty, wins over `connection_string`; a connection string wins over
//!    `instrumentation_key` and `endpoint`.
//! 2. A connection string is `key=value` pairs separated by `;`, each trimmed, at
//!    most [`MAX_CONNECTION_STRING_LEN`] characters. A part without `=` or with an
//!    empty key is an error. Keys are matched case-insensitively, as Microsoft's SDKs
//!    do. `InstrumentationKey` is required; `IngestionEndpoint` defaults to
//!    [`DEFAULT_INGESTION_ENDPOINT`] (or, without it, `EndpointSuffix` and `Location`
//!    build `https://{Location}.dc.{EndpointSuffix}/` as the SDKs do);
//!    `AADAudience` names the Entra ID audience.
//! 3. Without a connection string, `instrumentation_key` is required and `endpoint`
//!    defaults to [`DEFAULT_INGESTION_ENDPOINT`].
//! 4. The track URL: an endpoint whose path already ends in `/v2/track` or
//!    `/v2.1/track` is used as given (the brief's
//!    `https://dc.services.visualstudio.com/v2/track`); otherwise `/v2.1/track` is
//!    appended to its path. Upstream appends it always, which turns the brief's
//!    endpoint into `.../v2/track/v2.1/track`; older upstream versions used the
//!    endpoint verbatim.
//!
//! Two deviations from upstream, both lenient: an empty part (a trailing `;`) is
//! skipped rather than an error, and keys are case-insensitive.
//!
//! No error here quotes the connection string or any part of it: it holds the
//! instrumentation key.

use http::Uri;
use stratus_core::confval::Secret;

/// The environment variable whose connection string wins over the config's.
pub const CONNECTION_STRING_ENV: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";

/// The longest connection string accepted, in characters (upstream's
/// `ConnectionStringMaxLength`).
pub const MAX_CONNECTION_STRING_LEN: usize = 4096;

/// The ingestion endpoint when neither the connection string nor `endpoint` names
/// one (upstream's `DefaultIngestionEndpoint`).
pub const DEFAULT_INGESTION_ENDPOINT: &str = "https://dc.services.visualstudio.com/";

/// The Entra ID scope for Application Insights ingestion when the connection string
/// names no `AADAudience` (Microsoft's exporters use this exact string, with `//`).
pub const DEFAULT_ENTRA_SCOPE: &str = "https://monitor.azure.com//.default";

/// Where a connection string came from, for error paths and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The `connection_string` key.
    Config,
    /// The `APPLICATIONINSIGHTS_CONNECTION_STRING` environment variable.
    Environment,
    /// The `instrumentation_key` and `endpoint` keys (no connection string).
    InstrumentationKey,
}

/// The resolved destination. Its `Debug` shows the key redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The instrumentation key written as `iKey` on every envelope.
    pub instrumentation_key: Secret,
    /// The URL envelopes are POSTed to (`.../v2.1/track` or `.../v2/track`).
    pub track_url: Uri,
    /// The connection string's `AADAudience`, if it named one.
    pub aad_audience: Option<String>,
    /// Where the key came from.
    pub source: Source,
}

impl Connection {
    /// The Entra ID scope a token provider must ask for: `AADAudience` + `/.default`
    /// (unless it already ends so), else [`DEFAULT_ENTRA_SCOPE`].
    pub fn entra_scope(&self) -> String {
        match &self.aad_audience {
            Some(a) if a.ends_with("/.default") => a.clone(),
            Some(a) => format!("{}/.default", a.trim_end_matches('/')),
            None => DEFAULT_ENTRA_SCOPE.to_owned(),
        }
    }
}

/// Why no destination could be resolved. The messages never quote a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// Neither a connection string nor an instrumentation key.
    #[error(
        "no instrumentation key: set `connection_string` (or the environment variable \
         APPLICATIONINSIGHTS_CONNECTION_STRING) or `instrumentation_key`"
    )]
    Missing,
    /// The connection string is longer than [`MAX_CONNECTION_STRING_LEN`].
    #[error("the connection string is {0} characters long; at most 4096 are accepted")]
    TooLong(usize),
    /// A part is not `key=value`.
    #[error("part {0} of the connection string (counting from 1) is not `key=value`")]
    Malformed(usize),
    /// A part has an empty key.
    #[error("part {0} of the connection string (counting from 1) has an empty key")]
    EmptyKey(usize),
    /// No `InstrumentationKey` (or an empty one).
    #[error("the connection string has no InstrumentationKey")]
    NoInstrumentationKey,
    /// The endpoint is not an absolute `http://` or `https://` URL.
    #[error("`{0}` is not an http:// or https:// URL with a host")]
    BadEndpoint(String),
}

/// The parsed parts of a connection string that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionString {
    /// `InstrumentationKey`.
    pub instrumentation_key: Secret,
    /// `IngestionEndpoint`, or the one built from `EndpointSuffix` / `Location`, or
    /// [`DEFAULT_INGESTION_ENDPOINT`].
    pub ingestion_endpoint: String,
    /// `AADAudience`, when given and not empty.
    pub aad_audience: Option<String>,
}

/// Parses a connection string (see the module docs).
pub fn parse_connection_string(text: &str) -> Result<ConnectionString, ConnectionError> {
    let len = text.chars().count();
    if len > MAX_CONNECTION_STRING_LEN {
        return Err(ConnectionError::TooLong(len));
    }
    let (mut ikey, mut endpoint, mut audience) = (None, None, None);
    let (mut suffix, mut location) = (None, None);
    for (i, part) in text.split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (key, value) = part
            .split_once('=')
            .ok_or(ConnectionError::Malformed(i + 1))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(ConnectionError::EmptyKey(i + 1));
        }
        let slot = match key.to_ascii_lowercase().as_str() {
            "instrumentationkey" => &mut ikey,
            "ingestionendpoint" => &mut endpoint,
            "aadaudience" => &mut audience,
            "endpointsuffix" => &mut suffix,
            "location" => &mut location,
            _ => continue,
        };
        *slot = Some(value.to_owned()).filter(|v| !v.is_empty());
    }
    let instrumentation_key = Secret::new(ikey.ok_or(ConnectionError::NoInstrumentationKey)?);
    let ingestion_endpoint = match (endpoint, suffix) {
        (Some(e), _) => e,
        (None, Some(suffix)) => {
            let suffix = suffix.trim_start_matches('.');
            match location {
                Some(l) => format!("https://{l}.dc.{suffix}/"),
                None => format!("https://dc.{suffix}/"),
            }
        }
        (None, None) => DEFAULT_INGESTION_ENDPOINT.to_owned(),
    };
    Ok(ConnectionString {
        instrumentation_key,
        ingestion_endpoint,
        aad_audience: audience,
    })
}

/// The track URL for an ingestion endpoint: used as given when its path already ends
/// in `/v2/track` or `/v2.1/track`, else with `/v2.1/track` appended to its path.
pub fn track_url(endpoint: &str) -> Result<Uri, ConnectionError> {
    let bad = || ConnectionError::BadEndpoint(endpoint.to_owned());
    let uri: Uri = endpoint.trim().parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err(bad());
    }
    let trimmed = uri.path().trim_end_matches('/').to_owned();
    if trimmed.ends_with("/v2/track") || trimmed.ends_with("/v2.1/track") {
        return Ok(uri);
    }
    let mut parts = uri.into_parts();
    let joined = format!("{trimmed}/v2.1/track");
    let path_and_query = match parts.path_and_query.as_ref().and_then(|p| p.query()) {
        Some(q) => format!("{joined}?{q}"),
        None => joined,
    };
    parts.path_and_query = Some(path_and_query.parse().map_err(|_| bad())?);
    Uri::from_parts(parts).map_err(|_| bad())
}

/// Resolves the destination from the config's keys and an environment lookup
/// (`std::env::var` in the exporter; a closure in tests).
pub fn resolve(
    connection_string: &Secret,
    instrumentation_key: &Secret,
    endpoint: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Connection, ConnectionError> {
    let from_env = env(CONNECTION_STRING_ENV).filter(|v| !v.trim().is_empty());
    let (text, source) = match &from_env {
        Some(v) => (Some(v.as_str()), Source::Environment),
        None if !connection_string.is_empty() => (Some(connection_string.expose()), Source::Config),
        None => (None, Source::InstrumentationKey),
    };
    match text {
        Some(text) => {
            let cs = parse_connection_string(text)?;
            Ok(Connection {
                instrumentation_key: cs.instrumentation_key,
                track_url: track_url(&cs.ingestion_endpoint)?,
                aad_audience: cs.aad_audience,
                source,
            })
        }
        None if instrumentation_key.expose().trim().is_empty() => Err(ConnectionError::Missing),
        None => {
            let endpoint = match endpoint.trim() {
                "" => DEFAULT_INGESTION_ENDPOINT,
                e => e,
            };
            Ok(Connection {
                instrumentation_key: Secret::new(instrumentation_key.expose().trim()),
                track_url: track_url(endpoint)?,
                aad_audience: None,
                source,
            })
        }
    }
}

/// The process environment, for [`resolve`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "00000000-1111-2222-3333-444455556666";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn connection_strings() {
        // (connection string, expected key, endpoint, audience)
        let ok: &[(&str, &str, &str, Option<&str>)] = &[
            (
                "InstrumentationKey=k1",
                "k1",
                DEFAULT_INGESTION_ENDPOINT,
                None,
            ),
            (
                " InstrumentationKey = k2 ; IngestionEndpoint = https://westeurope-5.in.applicationinsights.azure.com/ ;",
                "k2",
                "https://westeurope-5.in.applicationinsights.azure.com/",
                None,
            ),
            (
                "instrumentationkey=k3;AADAudience=https://monitor.azure.com/;LiveEndpoint=https://live/",
                "k3",
                DEFAULT_INGESTION_ENDPOINT,
                Some("https://monitor.azure.com/"),
            ),
            (
                "InstrumentationKey=k4;EndpointSuffix=applicationinsights.us;Location=usgovvirginia",
                "k4",
                "https://usgovvirginia.dc.applicationinsights.us/",
                None,
            ),
            (
                "InstrumentationKey=k5;EndpointSuffix=applicationinsights.azure.cn",
                "k5",
                "https://dc.applicationinsights.azure.cn/",
                None,
            ),
            // A value may hold `=`; an empty AADAudience is none.
            (
                "InstrumentationKey=a=b;AADAudience=",
                "a=b",
                DEFAULT_INGESTION_ENDPOINT,
                None,
            ),
        ];
        for (text, key, endpoint, audience) in ok {
            let cs = parse_connection_string(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(cs.instrumentation_key.expose(), *key, "{text}");
            assert_eq!(cs.ingestion_endpoint, *endpoint, "{text}");
            assert_eq!(cs.aad_audience.as_deref(), *audience, "{text}");
        }
        let bad: &[(&str, ConnectionError)] = &[
            (
                "IngestionEndpoint=https://x/",
                ConnectionError::NoInstrumentationKey,
            ),
            ("InstrumentationKey=", ConnectionError::NoInstrumentationKey),
            ("", ConnectionError::NoInstrumentationKey),
            (
                &format!("InstrumentationKey={KEY};garbage"),
                ConnectionError::Malformed(2),
            ),
            (
                &format!("=x;InstrumentationKey={KEY}"),
                ConnectionError::EmptyKey(1),
            ),
        ];
        for (text, want) in bad {
            let err = parse_connection_string(text).unwrap_err();
            assert_eq!(&err, want, "{text}");
            assert!(!err.to_string().contains(KEY), "{err}");
            assert!(!err.to_string().contains("garbage"), "{err}");
        }
        let long = format!("InstrumentationKey={KEY};x={}", "y".repeat(4096));
        assert_eq!(
            parse_connection_string(&long).unwrap_err(),
            ConnectionError::TooLong(long.len())
        );
        let exactly = format!("InstrumentationKey={}", "k".repeat(4096 - 19));
        assert_eq!(exactly.len(), 4096);
        assert!(parse_connection_string(&exactly).is_ok());
    }

    #[test]
    fn track_urls() {
        let table = [
            (
                "https://dc.services.visualstudio.com/v2/track",
                "https://dc.services.visualstudio.com/v2/track",
            ),
            (
                "https://dc.services.visualstudio.com/v2.1/track",
                "https://dc.services.visualstudio.com/v2.1/track",
            ),
            (
                "https://dc.services.visualstudio.com/v2/track/",
                "https://dc.services.visualstudio.com/v2/track/",
            ),
            (
                "https://dc.services.visualstudio.com/",
                "https://dc.services.visualstudio.com/v2.1/track",
            ),
            (
                "https://dc.services.visualstudio.com",
                "https://dc.services.visualstudio.com/v2.1/track",
            ),
            (
                "https://westeurope-5.in.applicationinsights.azure.com/",
                "https://westeurope-5.in.applicationinsights.azure.com/v2.1/track",
            ),
            (
                "http://127.0.0.1:8080/ingest",
                "http://127.0.0.1:8080/ingest/v2.1/track",
            ),
            (
                "http://127.0.0.1:8080/x/v2/track",
                "http://127.0.0.1:8080/x/v2/track",
            ),
            (
                "http://127.0.0.1:8080/?a=b",
                "http://127.0.0.1:8080/v2.1/track?a=b",
            ),
            // `track` alone or another version is a base path.
            ("http://h/track", "http://h/track/v2.1/track"),
            ("http://h/v3/track", "http://h/v3/track/v2.1/track"),
        ];
        for (endpoint, want) in table {
            assert_eq!(track_url(endpoint).unwrap().to_string(), want, "{endpoint}");
        }
        for bad in [
            "dc.services.visualstudio.com",
            "ftp://h/",
            "not a url",
            "/v2/track",
        ] {
            assert_eq!(
                track_url(bad).unwrap_err(),
                ConnectionError::BadEndpoint(bad.to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    #[allow(clippy::type_complexity)] // a table
    fn resolution_order() {
        let cs = Secret::new("InstrumentationKey=from-config;IngestionEndpoint=https://config/");
        let ikey = Secret::new("from-key");
        let env_cs = |_: &str| Some("InstrumentationKey=from-env".to_owned());
        // (connection_string, instrumentation_key, endpoint, env) → (key, url, source)
        type Env = fn(&str) -> Option<String>;
        let empty = Secret::default();
        let blank_env: Env = |_| Some("  ".to_owned());
        let cases: Vec<(
            &Secret,
            &Secret,
            &str,
            Box<dyn Fn(&str) -> Option<String>>,
            &str,
            &str,
            Source,
        )> = vec![
            (
                &cs,
                &ikey,
                "https://e/",
                Box::new(env_cs),
                "from-env",
                "https://dc.services.visualstudio.com/v2.1/track",
                Source::Environment,
            ),
            (
                &empty,
                &ikey,
                "",
                Box::new(env_cs),
                "from-env",
                "https://dc.services.visualstudio.com/v2.1/track",
                Source::Environment,
            ),
            (
                &cs,
                &ikey,
                "https://e/",
                Box::new(no_env),
                "from-config",
                "https://config/v2.1/track",
                Source::Config,
            ),
            (
                &cs,
                &ikey,
                "https://e/",
                Box::new(blank_env),
                "from-config",
                "https://config/v2.1/track",
                Source::Config,
            ),
            (
                &empty,
                &ikey,
                "https://dc.services.visualstudio.com/v2/track",
                Box::new(no_env),
                "from-key",
                "https://dc.services.visualstudio.com/v2/track",
                Source::InstrumentationKey,
            ),
            (
                &empty,
                &ikey,
                "",
                Box::new(no_env),
                "from-key",
                "https://dc.services.visualstudio.com/v2.1/track",
                Source::InstrumentationKey,
            ),
        ];
        for (cs, ikey, endpoint, env, key, url, source) in cases {
            let c = resolve(cs, ikey, endpoint, env).unwrap();
            assert_eq!(c.instrumentation_key.expose(), key);
            assert_eq!(c.track_url.to_string(), url);
            assert_eq!(c.source, source);
            assert!(!format!("{c:?}").contains(key), "{c:?}");
        }
        assert_eq!(
            resolve(&empty, &empty, "https://e/", no_env).unwrap_err(),
            ConnectionError::Missing
        );
        assert_eq!(
            resolve(&empty, &Secret::new(" "), "", no_env).unwrap_err(),
            ConnectionError::Missing
        );
        // The environment's connection string is parsed like the config's.
        let broken = |_: &str| Some(format!("InstrumentationKey={KEY};oops"));
        let err = resolve(&cs, &ikey, "", broken).unwrap_err();
        assert_eq!(err, ConnectionError::Malformed(2));
        assert!(!err.to_string().contains(KEY));
    }

    #[test]
    fn entra_scopes() {
        let with = |a: Option<&str>| Connection {
            instrumentation_key: Secret::new("k"),
            track_url: Uri::from_static("https://h/v2.1/track"),
            aad_audience: a.map(str::to_owned),
            source: Source::Config,
        };
        assert_eq!(
            with(None).entra_scope(),
            "https://monitor.azure.com//.default"
        );
        assert_eq!(
            with(Some("https://monitor.azure.us/")).entra_scope(),
            "https://monitor.azure.us/.default"
        );
        assert_eq!(
            with(Some("https://monitor.azure.cn/.default")).entra_scope(),
            "https://monitor.azure.cn/.default"
        );
    }
}

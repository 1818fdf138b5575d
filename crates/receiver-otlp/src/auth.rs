//! Authentication of incoming requests (`protocols.*.auth.authenticator`): the
//! authenticator extension checks each request by its headers before the body is
//! read, and every failure is counted by reason.

use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use stratus_core::ComponentError;
use stratus_core::auth::{AuthError, AuthFailure, AuthInfo, ServerAuthenticator};
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::{Counter, Registry};
use tonic::Code;

use crate::status::Refusal;

/// The failure counter: `stratus_receiver_auth_failures{receiver, transport, reason}`.
pub(crate) const AUTH_FAILURES: &str = "stratus_receiver_auth_failures";

/// One transport's authenticator, with its failure counters.
pub(crate) struct Auth {
    authenticator: Arc<dyn ServerAuthenticator>,
    /// Query parameters handed to the authenticator as headers (HTTP only).
    request_params: Vec<HeaderName>,
    /// One counter per [`AuthFailure`], in [`AuthFailure::ALL`] order.
    failures: [Counter; AuthFailure::ALL.len()],
    receiver: String,
    transport: &'static str,
}

impl Auth {
    /// Finds the authenticator extension `id` (configured at key path `key`) in the
    /// running collector and registers the failure counters of `transport`.
    pub fn resolve(
        ctx: &BuildContext,
        key: &str,
        id: &str,
        transport: &'static str,
        request_params: &[String],
    ) -> Result<Self, ComponentError> {
        let authenticator = ctx.server_authenticator(key, id)?;
        // `validate` checked each is a header name.
        let request_params = request_params
            .iter()
            .filter_map(|p| HeaderName::from_bytes(p.as_bytes()).ok())
            .collect();
        let receiver = ctx.id.to_string();
        Ok(Auth {
            authenticator,
            request_params,
            failures: failure_counters(&ctx.telemetry, &receiver, transport),
            receiver,
            transport,
        })
    }

    /// Checks one request by its headers (and, for HTTP, the query parameters named
    /// in `request_params`). A failure is counted, logged at debug level without the
    /// credential, and returned as the refusal to send: `UNAUTHENTICATED` / 401 with
    /// the authenticator's message, which never holds the credential.
    pub async fn check(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        peer: SocketAddr,
    ) -> Result<AuthInfo, Refusal> {
        let with_params;
        let headers = match self.params_from(query) {
            Some(params) => {
                let mut h = headers.clone();
                for (name, value) in params {
                    h.insert(name, value);
                }
                with_params = h;
                &with_params
            }
            None => headers,
        };
        self.authenticator
            .authenticate(headers)
            .await
            .map_err(|e| self.failed(&e, peer))
    }

    fn failed(&self, e: &AuthError, peer: SocketAddr) -> Refusal {
        let index = AuthFailure::ALL
            .iter()
            .position(|f| *f == e.failure)
            .unwrap_or(0);
        self.failures[index].add(1);
        tracing::debug!(
            receiver = %self.receiver,
            transport = self.transport,
            %peer,
            reason = e.failure.as_str(),
            error = %e,
            "request refused: authentication failed"
        );
        unauthenticated(&e.message)
    }

    /// The configured query parameters present in `query`, as header values; `None`
    /// when there are none to add.
    fn params_from(&self, query: Option<&str>) -> Option<Vec<(HeaderName, HeaderValue)>> {
        let query = query.filter(|q| !q.is_empty() && !self.request_params.is_empty())?;
        let mut found: Vec<(HeaderName, HeaderValue)> = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = form_decode(key);
            let Some(name) = self
                .request_params
                .iter()
                .find(|p| p.as_str().eq_ignore_ascii_case(&key))
            else {
                continue;
            };
            let Ok(value) = HeaderValue::from_bytes(form_decode(value).as_bytes()) else {
                continue;
            };
            // The first value of a parameter wins, as Go's `Values.Get`.
            if !found.iter().any(|(n, _)| n == name) {
                found.push((name.clone(), value));
            }
        }
        (!found.is_empty()).then_some(found)
    }
}

/// The failure counters of one transport, one per reason, registered up front so
/// every series exists from the start.
fn failure_counters(
    registry: &Registry,
    receiver: &str,
    transport: &str,
) -> [Counter; AuthFailure::ALL.len()] {
    AuthFailure::ALL.map(|reason| {
        registry.counter(
            AUTH_FAILURES,
            "Requests refused because authentication failed, by reason.",
            &[
                ("receiver", receiver),
                ("transport", transport),
                ("reason", reason.as_str()),
            ],
        )
    })
}

/// The refusal of an unauthenticated request: gRPC `UNAUTHENTICATED`, HTTP 401.
pub(crate) fn unauthenticated(message: &str) -> Refusal {
    Refusal {
        code: Code::Unauthenticated,
        http: StatusCode::UNAUTHORIZED,
        message: message.to_string(),
        retry_after: None,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space,
/// `%XX` a byte); a malformed escape is kept as written, and bytes that are not
/// UTF-8 become U+FFFD.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::sync::Mutex;
    use stratus_core::factory::Authenticators;
    use stratus_core::{ComponentId, Signal};

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%20c"), "a b c");
        assert_eq!(form_decode("%41%4a%4A"), "AJJ");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz"), "%zz");
        assert_eq!(form_decode("%e2%82%ac"), "€");
    }

    /// Records the headers it was asked about; accepts `authorization: ok`.
    #[derive(Default)]
    struct Seen(Mutex<Vec<HeaderMap>>);

    #[async_trait]
    impl ServerAuthenticator for Seen {
        async fn authenticate(&self, headers: &HeaderMap) -> Result<AuthInfo, AuthError> {
            self.0.lock().unwrap().push(headers.clone());
            match headers.get("authorization").map(HeaderValue::as_bytes) {
                Some(b"ok") => Ok(AuthInfo::default()),
                Some(_) => Err(AuthError::invalid("bad")),
                None => Err(AuthError::missing("none")),
            }
        }
    }

    fn auth(params: &[&str]) -> (Auth, Arc<Seen>, Registry) {
        let seen = Arc::new(Seen::default());
        let registry = Registry::new();
        let server: Arc<dyn ServerAuthenticator> = seen.clone();
        let ctx = BuildContext::new(
            ComponentId::new("otlp"),
            vec![Signal::Traces],
            registry.clone(),
        )
        .with_authenticators(
            [(
                ComponentId::new("fake"),
                Authenticators {
                    server: Some(server),
                    client: None,
                },
            )]
            .into(),
        );
        let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        let auth = Auth::resolve(&ctx, "k::authenticator", "fake", "http", &params).unwrap();
        (auth, seen, registry)
    }

    #[tokio::test]
    async fn request_params_replace_headers_of_the_same_name() {
        let (auth, seen, _) = auth(&["Authorization"]);
        let peer = "127.0.0.1:1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("wrong"));
        headers.insert("x-other", HeaderValue::from_static("kept"));
        // The query's value wins over the header; the first of two values is used.
        auth.check(
            &headers,
            Some("x=1&authorization=ok&authorization=no"),
            peer,
        )
        .await
        .unwrap();
        let last = seen.0.lock().unwrap().pop().unwrap();
        assert_eq!(last["x-other"], "kept");
        // Without the parameter the header is what the authenticator sees.
        let refusal = auth.check(&headers, Some("x=1"), peer).await.unwrap_err();
        assert_eq!(refusal.http, StatusCode::UNAUTHORIZED);
        assert_eq!(refusal.code, Code::Unauthenticated);
        assert_eq!(refusal.message, "bad");
        // Percent-encoded values are decoded.
        auth.check(&HeaderMap::new(), Some("Authorization=%6Fk"), peer)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn unlisted_parameters_are_not_headers() {
        let (auth, _, registry) = auth(&[]);
        let peer = "127.0.0.1:1".parse().unwrap();
        let refusal = auth
            .check(&HeaderMap::new(), Some("authorization=ok"), peer)
            .await
            .unwrap_err();
        assert_eq!(refusal.message, "none");
        let text = registry.render();
        assert!(
            text.contains(
                "stratus_receiver_auth_failures{receiver=\"otlp\",transport=\"http\",reason=\"missing\"} 1"
            ),
            "{text}"
        );
    }
}

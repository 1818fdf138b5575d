//! One span → one segment document, or two for a local root that calls out.
//!
//! Upstream `internal/translator/segment.go` (`MakeSegmentsFromSpan`, `MakeSegment`,
//! `determineAwsOrigin`, `fixSegmentName`):
//! - A span is a subsegment (`type: subsegment`) when it is not a server span and
//!   has a parent; a server span or a span without a parent is a segment. (A consumer
//!   span with a parent is a subsegment too: upstream tests `TestNotLocalRootConsumer`
//!   and `TestLocalRootConsumer` expect it.) Only segments carry the resource's
//!   attributes.
//! - `name`, first found: `aws.local.service` (server spans, and internal spans with
//!   `aws.span.kind: LOCAL_ROOT`), `aws.remote.service` (client, producer, consumer;
//!   `AWS.SDK.`/`AWS::` dropped for AWS SDK spans), `peer.service`, `aws.service`,
//!   `db.name` (`@host` of `db.connection_string` added), the resource's
//!   `service.name` (server spans only), `rpc.service`, `http.host`,
//!   `net.peer.name`, else the span name cleaned of characters X-Ray refuses.
//! - `namespace`: `aws` for AWS SDK spans (`rpc.system: aws-api`) and spans with
//!   `aws.service`, else `remote` for client spans, and for client, producer and
//!   consumer subsegments with `aws.remote.service`.
//! - `origin` from the resource's `cloud.platform` (with `cloud.provider: aws` or
//!   none).
//! - A span with `aws.span.kind: LOCAL_ROOT` that is neither a server nor an internal
//!   span (a local root that is itself a call out, e.g. a consumer or a Lambda's SDK
//!   call) becomes a service segment plus a dependency subsegment under it; a local
//!   root server or internal span becomes a segment.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;
use stratus_core::pdata::trace::span::SpanKind;

use crate::TranslateError;
use crate::annotations::{add_special_attributes, make_xray_attributes};
use crate::attrs::{Pool, SpanView, get, resource_attrs, str_of};
use crate::aws::{make_aws, make_service};
use crate::cause::make_cause;
use crate::http::make_http;
use crate::model::Segment;
use crate::span_links::make_span_links;
use crate::sql::make_sql;
use crate::trace_id::{
    IdGen, PURPOSE_EXCEPTIONS, PURPOSE_SERVICE_SEGMENT, segment_id, xray_trace_id,
};
use crate::translate::Options;

/// `origin` of a service on EC2.
pub const ORIGIN_EC2: &str = "AWS::EC2::Instance";
/// `origin` of a service on ECS (launch type unknown).
pub const ORIGIN_ECS: &str = "AWS::ECS::Container";
/// `origin` of a service on ECS on EC2.
pub const ORIGIN_ECS_EC2: &str = "AWS::ECS::EC2";
/// `origin` of a service on ECS on Fargate.
pub const ORIGIN_ECS_FARGATE: &str = "AWS::ECS::Fargate";
/// `origin` of a service on Elastic Beanstalk.
pub const ORIGIN_EB: &str = "AWS::ElasticBeanstalk::Environment";
/// `origin` of a service on EKS.
pub const ORIGIN_EKS: &str = "AWS::EKS::Container";
/// `origin` of a service on App Runner.
pub const ORIGIN_APP_RUNNER: &str = "AWS::AppRunner::Service";

/// Longest segment name X-Ray accepts, in bytes (upstream `maxSegmentNameLength`;
/// X-Ray segment documents: "name – 200 characters").
pub const MAX_SEGMENT_NAME_LEN: usize = 200;
/// The name of a span whose name has no character X-Ray accepts.
pub const DEFAULT_SEGMENT_NAME: &str = "span";

// X-Ray only span attributes, from opentelemetry-java-contrib#802.
const AWS_LOCAL_SERVICE: &str = "aws.local.service";
const AWS_REMOTE_SERVICE: &str = "aws.remote.service";
const AWS_REMOTE_OPERATION: &str = "aws.remote.operation";
const REMOTE_TARGET: &str = "remoteTarget";
const AWS_SPAN_KIND: &str = "aws.span.kind";
const K8S_REMOTE_NAMESPACE: &str = "K8s.RemoteNamespace";
const LOCAL_ROOT: &str = "LOCAL_ROOT";

/// Attributes the service segment of a split local root does not carry
/// (`removeAnnotationsFromServiceSegment`).
const REMOVED_FROM_SERVICE_SEGMENT: &[&str] = &[
    AWS_REMOTE_SERVICE,
    AWS_REMOTE_OPERATION,
    REMOTE_TARGET,
    K8S_REMOTE_NAMESPACE,
];

/// `MakeSegmentsFromSpan`.
pub(crate) fn make_segments<'a>(
    span: &'a Span,
    resource: Option<&'a Resource>,
    options: &'a Options,
) -> Result<Vec<Segment<'a>>, TranslateError> {
    let view = SpanView::new(span);
    let local_root = view
        .get(AWS_SPAN_KIND)
        .is_some_and(|v| str_of(v) == LOCAL_ROOT);
    if !local_root {
        // MakeNonLocalRootSegment.
        let mut segment = make_segment(&view, resource, options)?;
        if matches!(
            view.kind(),
            SpanKind::Client | SpanKind::Consumer | SpanKind::Producer
        ) && segment.segment_type.is_some()
            && segment.namespace.is_none()
            && view.get(AWS_REMOTE_SERVICE).is_some()
        {
            segment.namespace = Some("remote");
        }
        return Ok(vec![segment]);
    }
    let kind = view.kind();
    if matches!(kind, SpanKind::Server | SpanKind::Internal) {
        // MakeServiceSegmentForLocalRootSpanWithoutDependency.
        let mut segment = make_segment(&view, resource, options)?;
        segment.segment_type = None;
        segment.namespace = None;
        return Ok(vec![segment]);
    }

    // MakeServiceSegmentAndDependencySubsegment: the local service, and under it the
    // remote call the span describes.
    let service_id = IdGen::new(&span.trace_id, &span.span_id, PURPOSE_SERVICE_SEGMENT).next_id();

    let dependency_view = SpanView {
        parent_id: Some(service_id),
        ..view
    };
    let mut dependency = make_segment(&dependency_view, resource, options)?;
    dependency.segment_type = Some("subsegment");
    if dependency.namespace.is_none() {
        dependency.namespace = Some("remote");
    }
    if kind == SpanKind::Consumer {
        dependency.links.clear();
    }
    if let Some(remote) = view.get(AWS_REMOTE_SERVICE) {
        dependency.name = Cow::Borrowed(trim_aws_sdk_prefix(str_of(remote), &view));
    }

    let service_view = SpanView {
        span_id: Some(service_id),
        hidden: REMOVED_FROM_SERVICE_SEGMENT,
        ..view
    };
    let mut service = make_segment(&service_view, resource, options)?;
    if let Some(local) = view.get(AWS_LOCAL_SERVICE) {
        service.name = Cow::Borrowed(str_of(local));
    }
    service.http = None;
    if let Some(aws) = &mut service.aws {
        // The call's own fields belong to the dependency subsegment.
        aws.operation = None;
        aws.account_id = None;
        aws.region = None;
        aws.request_id = None;
        aws.queue_url = None;
        aws.table_name = None;
        aws.table_names.clear();
    }
    // Only resource metadata stays on the service segment (namespaces stay, even
    // when emptied, as upstream).
    for entries in service.metadata.values_mut() {
        entries.retain(|k, _| k.is_resource_key());
    }
    service.segment_type = None;
    service.namespace = None;
    if kind != SpanKind::Consumer {
        service.links.clear();
    }
    Ok(vec![dependency, service])
}

/// `MakeSegment`.
pub(crate) fn make_segment<'a>(
    view: &SpanView<'a>,
    resource: Option<&'a Resource>,
    options: &'a Options,
) -> Result<Segment<'a>, TranslateError> {
    let span = view.span;
    let kind = view.kind();
    let subsegment = kind != SpanKind::Server && !view.parent_id().is_empty();
    // Only segments, the local roots, carry the resource.
    let store_resource = !subsegment;

    let trace_id = xray_trace_id(&span.trace_id)?;
    let id = segment_id(view.span_id())?;
    let parent_id = segment_id(view.parent_id())?;
    let mut ids = IdGen::new(&span.trace_id, view.span_id(), PURPOSE_EXCEPTIONS);

    let mut pool = Pool::new(view);
    let http = make_http(view, &mut pool);
    let cause = make_cause(view, &mut pool, resource, &mut ids);
    let origin = determine_origin(resource);
    let aws = make_aws(view, &mut pool, resource, &options.aws_log_groups);
    let service = make_service(resource);
    let sql = make_sql(view, &mut pool);
    add_special_attributes(view, &mut pool, options);
    let attrs = make_xray_attributes(view, &mut pool, resource, store_resource, options);
    let links = make_span_links(&span.links)?;

    let (name, namespace) = name_and_namespace(view, resource);
    Ok(Segment {
        name,
        id,
        start_time: seconds(span.start_time_unix_nano),
        service,
        origin,
        user: attrs.user,
        links,
        trace_id,
        end_time: seconds(span.end_time_unix_nano),
        http,
        fault: cause.fault,
        error: cause.error,
        throttle: cause.throttle,
        cause: cause.cause,
        aws,
        annotations: attrs.annotations,
        metadata: attrs.metadata,
        namespace,
        parent_id,
        segment_type: subsegment.then_some("subsegment"),
        sql,
    })
}

/// Unix nanoseconds as float seconds (`timestampToFloatSeconds`).
fn seconds(unix_nanos: u64) -> f64 {
    // u64 → f64 rounds above 2^53 ns (year 2255); upstream converts the same way.
    #[allow(clippy::cast_precision_loss)]
    let ns = unix_nanos as f64;
    ns / 1e9
}

/// The segment name and namespace, in upstream's order of precedence.
fn name_and_namespace<'a>(
    view: &SpanView<'a>,
    resource: Option<&'a Resource>,
) -> (Cow<'a, str>, Option<&'static str>) {
    let kind = view.kind();
    let get_str = |key: &str| view.get(key).map(str_of);
    let mut name: Cow<'a, str> = Cow::Borrowed("");
    let mut namespace = None;

    // X-Ray segment names are service names, unlike span names, which are methods.
    if kind == SpanKind::Server
        && let Some(local) = get_str(AWS_LOCAL_SERVICE)
    {
        name = Cow::Borrowed(local);
    }
    if kind == SpanKind::Internal
        && get_str(AWS_SPAN_KIND) == Some(LOCAL_ROOT)
        && let Some(local) = get_str(AWS_LOCAL_SERVICE)
    {
        name = Cow::Borrowed(local);
    }
    if matches!(
        kind,
        SpanKind::Client | SpanKind::Producer | SpanKind::Consumer
    ) && let Some(remote) = get_str(AWS_REMOTE_SERVICE)
    {
        // Only AWS SDK spans lose the prefix.
        name = Cow::Borrowed(trim_aws_sdk_prefix(remote, view));
    }
    // peer.service, set by the user, comes before everything but the X-Ray names.
    if name.is_empty()
        && let Some(peer) = get_str("peer.service")
    {
        name = Cow::Borrowed(peer);
    }
    if view.is_aws_sdk() {
        namespace = Some("aws");
    }
    if name.is_empty()
        && let Some(service) = get_str("aws.service")
    {
        // AWS spans are named `Service`, not `Service.Method`.
        name = Cow::Borrowed(service);
        namespace = namespace.or(Some("aws"));
    }
    if name.is_empty()
        && let Some(db) = get_str("db.name")
    {
        // Database queries are named <db name>@<db host>.
        name = Cow::Borrowed(db);
        if let Some(host) = get_str("db.connection_string")
            .map(|url| url.strip_prefix("jdbc:").unwrap_or(url))
            .and_then(url_hostname)
            .filter(|h| !h.is_empty())
        {
            name = Cow::Owned(format!("{db}@{host}"));
        }
    }
    // Only a server span may use the resource.
    if name.is_empty()
        && kind == SpanKind::Server
        && let Some(service) = get(resource_attrs(resource), "service.name")
    {
        name = Cow::Borrowed(str_of(service));
    }
    for key in ["rpc.service", "http.host", "net.peer.name"] {
        if name.is_empty()
            && let Some(v) = get_str(key)
        {
            name = Cow::Borrowed(v);
        }
    }
    if name.is_empty() {
        name = fix_segment_name(&view.span.name);
    }
    if namespace.is_none() && kind == SpanKind::Client {
        namespace = Some("remote");
    }
    (name, namespace)
}

/// `trimAwsSdkPrefix`: AWS SDK spans name the remote `AWS.SDK.<Service>` or
/// `AWS::<Service>`; X-Ray wants `<Service>`.
fn trim_aws_sdk_prefix<'a>(name: &'a str, view: &SpanView<'_>) -> &'a str {
    if view.is_aws_sdk() {
        if let Some(rest) = name.strip_prefix("AWS.SDK.") {
            return rest;
        }
        if let Some(rest) = name.strip_prefix("AWS::") {
            return rest;
        }
    }
    name
}

/// The host of a URL as Go's `url.Parse(s).Hostname()` gives it; `None` where
/// `url.Parse` fails. Only `scheme://authority` URLs have a host.
fn url_hostname(s: &str) -> Option<&str> {
    let rest = match s.strip_prefix("//") {
        // Scheme-relative: `//host:port/...`.
        Some(rest) => rest,
        None => {
            let colon = s.find(':')?;
            let mut chars = s[..colon].chars();
            let valid_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !valid_scheme {
                // Go: "first path segment in URL cannot contain colon" and the like.
                return None;
            }
            // `scheme:opaque` has no host.
            s[colon + 1..].strip_prefix("//")?
        }
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority
        .rfind('@')
        .map_or(authority, |at| &authority[at + 1..]);
    // A port after the last ':' (outside brackets) must be digits, else Go fails.
    let (host, port) = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => (&host_port[..i], &host_port[i + 1..]),
        _ => (host_port, ""),
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host),
    )
}

/// `determineAwsOrigin`.
fn determine_origin(resource: Option<&Resource>) -> Option<&'static str> {
    let attrs = resource_attrs(resource);
    if attrs.is_empty() {
        return None;
    }
    if let Some(provider) = get(attrs, "cloud.provider")
        && str_of(provider) != "aws"
    {
        return None;
    }
    match get(attrs, "cloud.platform").map(str_of)? {
        "aws_app_runner" => Some(ORIGIN_APP_RUNNER),
        "aws_eks" => Some(ORIGIN_EKS),
        "aws_elastic_beanstalk" => Some(ORIGIN_EB),
        "aws_ecs" => match get(attrs, "aws.ecs.launchtype").map(str_of) {
            Some("ec2") => Some(ORIGIN_ECS_EC2),
            Some("fargate") => Some(ORIGIN_ECS_FARGATE),
            _ => Some(ORIGIN_ECS),
        },
        "aws_ec2" => Some(ORIGIN_EC2),
        // Another platform, AWS or not, gets no origin.
        _ => None,
    }
}

/// Characters X-Ray refuses in a segment name (upstream `reInvalidSpanCharacters`,
/// which says `N` where it meant `\p{N}`, so digits other than 0-9 go too). Unicode
/// letters, ASCII digits, space and `_ . : / % & # = + - @` are kept; the newest
/// upstream also drops `,`.
static INVALID_NAME_CHARACTERS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[^ 0-9\p{L}N_.:/%&#=+\-@]").ok());

/// `fixSegmentName`: the span name without the characters X-Ray refuses, cut to
/// [`MAX_SEGMENT_NAME_LEN`] bytes (at a character boundary; Go cuts bytes), or
/// [`DEFAULT_SEGMENT_NAME`] when nothing is left.
pub fn fix_segment_name(name: &str) -> Cow<'_, str> {
    let ascii_ok = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'_' | b'.' | b':' | b'/' | b'%' | b'&' | b'#' | b'=' | b'+' | b'-' | b'@'
            )
    };
    let mut fixed: Cow<'_, str> = if name.bytes().all(ascii_ok) {
        Cow::Borrowed(name)
    } else {
        match INVALID_NAME_CHARACTERS.as_ref() {
            Some(re) => re.replace_all(name, ""),
            // Unreachable (the pattern is fixed); the closest std predicate.
            None => Cow::Owned(
                name.chars()
                    .filter(|c| c.is_alphabetic() || (c.is_ascii() && ascii_ok(*c as u8)))
                    .collect(),
            ),
        }
    };
    if fixed.len() > MAX_SEGMENT_NAME_LEN {
        let mut end = MAX_SEGMENT_NAME_LEN;
        while !fixed.is_char_boundary(end) {
            end -= 1;
        }
        fixed = match fixed {
            Cow::Borrowed(s) => Cow::Borrowed(&s[..end]),
            Cow::Owned(mut s) => {
                s.truncate(end);
                Cow::Owned(s)
            }
        };
    } else if fixed.is_empty() {
        fixed = Cow::Borrowed(DEFAULT_SEGMENT_NAME);
    }
    fixed
}

#[cfg(test)]
mod tests;

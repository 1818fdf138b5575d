//! The X-Ray segment document, as typed structs. Documents are written by
//! [`Segment::write_json`] in one pass; the derived `Serialize` is the reference it
//! is tested against, and measures entries when a document must shrink.
//!
//! Mirrors contrib `internal/aws/xray/tracesegment.go` (`Segment` and the types under
//! it): the fields appear in the same order, and a field is left out or written as
//! `null` exactly where Go's `encoding/json` does it for upstream's pointers
//! (`omitempty` on a nil pointer omits; a nil pointer without `omitempty` is `null`).
//! Maps are `BTreeMap`s because Go writes map keys sorted.
//!
//! Strings borrow from the span where they can (`&'a str`, `Cow<'a, str>`), so a
//! document costs one allocation per assembled value, not one per attribute.
//!
//! Differences in bytes (not in meaning) from Go's encoder: `<`, `>` and `&` are not
//! escaped as `\u003c` etc., there is no trailing newline, and a non-finite double
//! (which makes Go's encoder fail, so upstream drops the span) is written as `null`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use stratus_aws_common::gojson::cmp_bytes;
use stratus_core::pdata::common::{AnyValue, any_value};

/// One X-Ray segment or subsegment document (`tracesegment.go` `Segment`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment<'a> {
    /// `name`: the service (segment) or the remote it calls (subsegment).
    pub name: Cow<'a, str>,
    /// `id`: the span id in 16 hex digits; `null` when the span has none.
    pub id: Option<String>,
    /// `start_time`: seconds since the Unix epoch.
    #[serde(serialize_with = "go_float")]
    pub start_time: f64,
    /// `service`: the service version, from the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service<'a>>,
    /// `origin`: the AWS resource type running the service (`AWS::EKS::Container`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'static str>,
    /// `user`: from `enduser.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    /// `links`: the span's links.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<SpanLink<'a>>,
    /// `trace_id`: `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx`.
    pub trace_id: String,
    /// `end_time`: seconds since the Unix epoch.
    #[serde(serialize_with = "go_float")]
    pub end_time: f64,
    /// `http`: request and response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Http<'a>>,
    /// `fault`: a server error (5xx, or an error status without a 4xx code).
    pub fault: bool,
    /// `error`: a client error (4xx).
    pub error: bool,
    /// `throttle`: HTTP 429.
    pub throttle: bool,
    /// `cause`: the exceptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause<'a>>,
    /// `aws`: AWS resource and SDK call data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<Aws<'a>>,
    /// `annotations`: indexed attributes, keys sanitised.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<Cow<'a, str>, Annotation<'a>>,
    /// `metadata`: namespace → key → value; everything not indexed is under `default`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<Cow<'a, str>, BTreeMap<MetaKey<'a>, MetaValue<'a>>>,
    /// `namespace`: `aws` for AWS SDK calls, `remote` for other downstream calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'static str>,
    /// `parent_id`: the parent span id in 16 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `type`: `subsegment` for a subsegment; absent for a segment.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub segment_type: Option<&'static str>,
    /// `sql`: the SQL query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<Sql<'a>>,
}

/// `service` (`ServiceData`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service<'a> {
    /// `version`: `service.version`, else `container.image.tag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'a str>,
}

/// One entry of `links` (`SpanLinkData`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanLink<'a> {
    /// `trace_id` of the linked span, in X-Ray form.
    pub trace_id: String,
    /// `id`: the linked span id in hex (empty when the link has none).
    pub id: String,
    /// `attributes`: the link's attributes, raw.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<&'a str, MetaValue<'a>>,
}

/// `http` (`HTTPData`). Both parts are always written, as upstream does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Http<'a> {
    /// `request`.
    pub request: Request<'a>,
    /// `response`.
    pub response: Response,
}

/// `http.request` (`RequestData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Request<'a> {
    /// `x_forwarded_for`: the client address came from a forwarding header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_forwarded_for: Option<bool>,
    /// `method`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'a str>,
    /// `url`: the full URL, given or assembled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Cow<'a, str>>,
    /// `user_agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Cow<'a, str>>,
    /// `client_ip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<&'a str>,
}

/// `http.response` (`ResponseData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Response {
    /// `status`: the HTTP status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// `content_length`: response size in bytes; upstream always writes it (0 when
    /// unknown).
    pub content_length: i64,
}

/// `cause` as an object (`CauseData` with `CauseObject`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cause<'a> {
    /// `exceptions`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception<'a>>,
}

/// One entry of `cause.exceptions` (`Exception`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exception<'a> {
    /// `id`: 16 hex digits, unique within the trace.
    pub id: String,
    /// `message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    /// `type`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub exception_type: Option<Cow<'a, str>>,
    /// `remote`: raised by a downstream call (client and producer spans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<bool>,
    /// `truncated`: how many stack frames were left out (set when a document is
    /// shrunk to fit the size limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<i64>,
    /// `cause`: the id of the exception that caused this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// `stack`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<StackFrame<'a>>,
}

/// One entry of `stack` (`StackFrame`); upstream always writes all three fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackFrame<'a> {
    /// `path`: the file.
    pub path: &'a str,
    /// `line`: 0 when unknown.
    pub line: i64,
    /// `label`: the function.
    pub label: &'a str,
}

/// `aws` (`AWSData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Aws<'a> {
    /// `elastic_beanstalk`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elastic_beanstalk: Option<Beanstalk<'a>>,
    /// `cloudwatch_logs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cloudwatch_logs: Vec<LogGroup<'a>>,
    /// `ecs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs: Option<Ecs<'a>>,
    /// `ec2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2: Option<Ec2<'a>>,
    /// `eks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks: Option<Eks<'a>>,
    /// `xray`: the SDK that produced the span; always written.
    pub xray: XRay<'a>,
    /// `account_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<&'a str>,
    /// `operation`: the AWS API operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<&'a str>,
    /// `region`: the region of the called service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
    /// `request_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    /// `queue_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<&'a str>,
    /// `table_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<&'a str>,
    /// `table_names`: when the call touched more than one DynamoDB table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_names: Vec<&'a str>,
}

/// `aws.ec2` (`EC2Metadata`): fields without `omitempty` upstream, so absent values
/// are written as `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ec2<'a> {
    /// `instance_id`: `host.id`.
    pub instance_id: Option<&'a str>,
    /// `availability_zone`: `cloud.availability_zone`.
    pub availability_zone: Option<&'a str>,
    /// `instance_size`: `host.type`.
    pub instance_size: Option<&'a str>,
    /// `ami_id`: `host.image.id`.
    pub ami_id: Option<&'a str>,
}

/// `aws.ecs` (`ECSMetadata`): every field omitted when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ecs<'a> {
    /// `container`: `container.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<&'a str>,
    /// `container_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<&'a str>,
    /// `task_arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<&'a str>,
    /// `task_family`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_family: Option<&'a str>,
    /// `cluster_arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<&'a str>,
    /// `container_arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_arn: Option<&'a str>,
    /// `availability_zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<&'a str>,
    /// `launch_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<&'a str>,
}

/// `aws.elastic_beanstalk` (`BeanstalkMetadata`); absent strings are `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Beanstalk<'a> {
    /// `environment_name`: `service.namespace`.
    pub environment_name: Option<&'a str>,
    /// `version_label`: `service.version`.
    pub version_label: Option<&'a str>,
    /// `deployment_id`: `service.instance.id` as a number (0 when it is not one).
    pub deployment_id: i64,
}

/// `aws.eks` (`EKSMetadata`); absent values are `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eks<'a> {
    /// `cluster_name`: `k8s.cluster.name`.
    pub cluster_name: Option<&'a str>,
    /// `pod`: `k8s.pod.name`.
    pub pod: Option<&'a str>,
    /// `container_id`.
    pub container_id: Option<&'a str>,
}

/// One entry of `aws.cloudwatch_logs` (`LogGroupMetadata`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogGroup<'a> {
    /// `log_group`: the group name (`null` when empty).
    pub log_group: Option<&'a str>,
    /// `arn`: the group ARN, when the name came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<&'a str>,
}

/// `aws.xray` (`XRayMetaData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct XRay<'a> {
    /// `sdk`: `<telemetry.sdk.name> for <telemetry.sdk.language>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<Cow<'a, str>>,
    /// `sdk_version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<&'a str>,
    /// `auto_instrumentation`: `telemetry.auto.version` or `telemetry.distro.version`
    /// is set.
    pub auto_instrumentation: bool,
}

/// `sql` (`SQLData`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sql<'a> {
    /// `connection_string`: `<db.connection_string or localhost>/<database>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<String>,
    /// `url`: the span name (upstream finds the connection string useless here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    /// `sanitized_query`: the statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanitized_query: Option<Cow<'a, str>>,
    /// `database_type`: the database system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_type: Option<&'a str>,
    /// `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
}

/// An annotation value: X-Ray indexes strings, numbers and booleans only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Annotation<'a> {
    /// A string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A finite double.
    Double(#[serde(serialize_with = "go_float")] f64),
    /// A boolean.
    Bool(bool),
}

/// A metadata key: an attribute's key, a resource attribute's key written with the
/// `otel.resource.` prefix (without building that string), or a key from parsed JSON.
/// Ordered, compared and written as the full key.
#[derive(Debug, Clone)]
pub enum MetaKey<'a> {
    /// A span attribute's key.
    Attr(&'a str),
    /// A resource attribute's key, written `otel.resource.<key>`.
    Resource(&'a str),
    /// A key from an `aws.xray.metadata.<namespace>` JSON object.
    Owned(String),
}

/// The prefix of resource keys in metadata and annotations.
pub const RESOURCE_KEY_PREFIX: &str = "otel.resource.";

impl MetaKey<'_> {
    /// The key as prefix and rest.
    fn parts(&self) -> (&str, &str) {
        match self {
            MetaKey::Attr(k) => ("", k),
            MetaKey::Resource(k) => (RESOURCE_KEY_PREFIX, k),
            MetaKey::Owned(k) => ("", k),
        }
    }

    /// Whether the full key starts with `otel.resource.`.
    pub fn is_resource_key(&self) -> bool {
        match self {
            MetaKey::Resource(_) => true,
            MetaKey::Attr(k) => k.starts_with(RESOURCE_KEY_PREFIX),
            MetaKey::Owned(k) => k.starts_with(RESOURCE_KEY_PREFIX),
        }
    }
}

impl std::fmt::Display for MetaKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (prefix, rest) = self.parts();
        f.write_str(prefix)?;
        f.write_str(rest)
    }
}

impl Ord for MetaKey<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.parts(), other.parts());
        if a.0.len() == b.0.len() {
            // Same prefix (both empty, or both `otel.resource.`).
            return cmp_bytes(a.1.as_bytes(), b.1.as_bytes());
        }
        // Compare the two concatenations piece by piece, without building them.
        let (mut a0, mut a1) = (a.0.as_bytes(), a.1.as_bytes());
        let (mut b0, mut b1) = (b.0.as_bytes(), b.1.as_bytes());
        loop {
            if a0.is_empty() {
                (a0, a1) = (a1, &[]);
            }
            if b0.is_empty() {
                (b0, b1) = (b1, &[]);
            }
            if a0.is_empty() || b0.is_empty() {
                return (!a0.is_empty()).cmp(&!b0.is_empty());
            }
            let n = a0.len().min(b0.len());
            match cmp_bytes(&a0[..n], &b0[..n]) {
                std::cmp::Ordering::Equal => {
                    a0 = &a0[n..];
                    b0 = &b0[n..];
                }
                unequal => return unequal,
            }
        }
    }
}

impl PartialOrd for MetaKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MetaKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for MetaKey<'_> {}

impl Serialize for MetaKey<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.parts() {
            ("", key) => s.serialize_str(key),
            _ => s.collect_str(self),
        }
    }
}

/// A metadata or link attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue<'a> {
    /// An attribute value, written as upstream's `AsRaw()` encodes: bytes as base64,
    /// arrays and maps recursively (map keys sorted), an empty value as `null`.
    Attr(&'a AnyValue),
    /// A value parsed from an `aws.xray.metadata.<namespace>` JSON string.
    Json(serde_json::Value),
}

impl Serialize for MetaValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MetaValue::Attr(v) => RawValue(v.value.as_ref()).serialize(s),
            MetaValue::Json(v) => v.serialize(s),
        }
    }
}

/// An OTLP value as `pcommon.Value.AsRaw()` then `encoding/json` writes it.
struct RawValue<'a>(Option<&'a any_value::Value>);

impl Serialize for RawValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use any_value::Value;
        use base64::Engine as _;
        match self.0 {
            None => s.serialize_unit(),
            Some(Value::StringValue(v)) => s.serialize_str(v),
            Some(Value::BoolValue(v)) => s.serialize_bool(*v),
            Some(Value::IntValue(v)) => s.serialize_i64(*v),
            Some(Value::DoubleValue(v)) => go_float(v, s),
            Some(Value::BytesValue(v)) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
            }
            Some(Value::ArrayValue(a)) => {
                let mut seq = s.serialize_seq(Some(a.values.len()))?;
                for v in &a.values {
                    seq.serialize_element(&RawValue(v.value.as_ref()))?;
                }
                seq.end()
            }
            Some(Value::KvlistValue(kv)) => {
                // Go builds a map (a later duplicate key wins) and writes it sorted.
                let sorted: BTreeMap<&str, Option<&Value>> = kv
                    .values
                    .iter()
                    .map(|e| {
                        let v = e.value.as_ref().and_then(|v| v.value.as_ref());
                        (e.key.as_str(), v)
                    })
                    .collect();
                let mut map = s.serialize_map(Some(sorted.len()))?;
                for (k, v) in sorted {
                    map.serialize_entry(k, &RawValue(v))?;
                }
                map.end()
            }
            // A dictionary index (OTLP profiles); traces carry no dictionary.
            Some(Value::StringValueStrindex(_)) => s.serialize_unit(),
        }
    }
}

/// Writes a double the way Go's `encoding/json` does for the values X-Ray sees: an
/// integral value without a fraction (`1700000000`, not `1700000000.0`), anything
/// else in shortest round-trip form. A non-finite value is `null` (Go fails instead).
pub(crate) fn go_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    if !v.is_finite() {
        s.serialize_unit()
    } else if v.fract() == 0.0 && v.abs() < EXACT_INTEGER_LIMIT {
        // Exact: |v| < 2^53 and integral, so the cast loses nothing.
        #[allow(clippy::cast_possible_truncation)]
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

mod write;

#[cfg(test)]
mod tests;

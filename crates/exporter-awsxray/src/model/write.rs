//! Writing a segment document as JSON straight into a `String`: byte for byte what
//! `serde_json` writes for the derived `Serialize` (the `writes_what_serde_json_writes`
//! test holds the two together), with each string escaped in one pass and no
//! serializer state in between.

use serde_json::Value as Json;
use stratus_aws_common::gojson::sort_keep_last;
use stratus_core::jsonw::{self, Array, Escapes, Object};
use stratus_core::pdata::common::any_value;

use super::{
    Annotation, Aws, Cause, Http, MetaKey, MetaValue, RESOURCE_KEY_PREFIX, Segment, SpanLink, Sql,
};

/// Escaping as serde_json's: `<`, `>` and `&` are written as they are.
const ESCAPES: &Escapes = &Escapes::JSON;

fn object(out: &mut String) -> Object<'_> {
    Object::new(out, ESCAPES)
}

fn string(out: &mut String, s: &str) {
    jsonw::string(out, s, ESCAPES);
}

impl Segment<'_> {
    /// Appends the document as JSON.
    pub fn write_json(&self, out: &mut String) {
        let mut o = object(out);
        o.str("name", &self.name);
        o.str_or_null("id", self.id.as_deref());
        go_float(o.key("start_time"), self.start_time);
        if let Some(service) = &self.service {
            let mut s = object(o.key("service"));
            s.opt_str("version", service.version);
            s.end();
        }
        o.opt_str("origin", self.origin);
        o.opt_str("user", self.user);
        if !self.links.is_empty() {
            let mut a = Array::new(o.key("links"));
            for link in &self.links {
                write_link(a.item(), link);
            }
            a.end();
        }
        o.str("trace_id", &self.trace_id);
        go_float(o.key("end_time"), self.end_time);
        if let Some(http) = &self.http {
            write_http(o.key("http"), http);
        }
        o.bool("fault", self.fault);
        o.bool("error", self.error);
        o.bool("throttle", self.throttle);
        if let Some(cause) = &self.cause {
            write_cause(o.key("cause"), cause);
        }
        if let Some(aws) = &self.aws {
            write_aws(o.key("aws"), aws);
        }
        if !self.annotations.is_empty() {
            let mut a = object(o.key("annotations"));
            for (k, v) in &self.annotations {
                let out = a.escaped_key(k);
                match *v {
                    Annotation::Str(s) => string(out, s),
                    Annotation::Int(i) => jsonw::integer(out, i),
                    Annotation::Double(d) => go_float(out, d),
                    Annotation::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                }
            }
            a.end();
        }
        if !self.metadata.is_empty() {
            let mut m = object(o.key("metadata"));
            for (namespace, entries) in &self.metadata {
                let mut n = object(m.escaped_key(namespace));
                for (k, v) in entries {
                    write_meta_value(meta_key(&mut n, k), v);
                }
                n.end();
            }
            m.end();
        }
        o.opt_str("namespace", self.namespace);
        o.opt_str("parent_id", self.parent_id.as_deref());
        o.opt_str("type", self.segment_type);
        if let Some(sql) = &self.sql {
            write_sql(o.key("sql"), sql);
        }
        o.end();
    }
}

/// `"key":` for a metadata key, returning the buffer for the value; a resource key
/// is written with its prefix, without building the full key first.
fn meta_key<'o>(o: &'o mut Object<'_>, key: &MetaKey<'_>) -> &'o mut String {
    match key {
        MetaKey::Attr(k) => o.escaped_key(k),
        MetaKey::Owned(k) => o.escaped_key(k),
        MetaKey::Resource(k) => o.prefixed_key(RESOURCE_KEY_PREFIX, k),
    }
}

fn write_link(out: &mut String, link: &SpanLink<'_>) {
    let mut o = object(out);
    o.str("trace_id", &link.trace_id);
    o.str("id", &link.id);
    if !link.attributes.is_empty() {
        let mut a = object(o.key("attributes"));
        for (k, v) in &link.attributes {
            write_meta_value(a.escaped_key(k), v);
        }
        a.end();
    }
    o.end();
}

fn write_http(out: &mut String, http: &Http<'_>) {
    let mut o = object(out);
    let mut r = object(o.key("request"));
    let req = &http.request;
    r.opt_bool("x_forwarded_for", req.x_forwarded_for);
    r.opt_str("method", req.method);
    r.opt_str("url", req.url.as_deref());
    r.opt_str("user_agent", req.user_agent.as_deref());
    r.opt_str("client_ip", req.client_ip);
    r.end();
    let mut r = object(o.key("response"));
    r.opt_int("status", http.response.status);
    r.int("content_length", http.response.content_length);
    r.end();
    o.end();
}

fn write_cause(out: &mut String, cause: &Cause<'_>) {
    let mut o = object(out);
    if !cause.exceptions.is_empty() {
        let mut a = Array::new(o.key("exceptions"));
        for e in &cause.exceptions {
            let mut x = object(a.item());
            x.str("id", &e.id);
            x.opt_str("message", e.message.as_deref());
            x.opt_str("type", e.exception_type.as_deref());
            x.opt_bool("remote", e.remote);
            x.opt_int("truncated", e.truncated);
            x.opt_str("cause", e.cause.as_deref());
            if !e.stack.is_empty() {
                let mut s = Array::new(x.key("stack"));
                for f in &e.stack {
                    let mut f_o = object(s.item());
                    f_o.str("path", f.path);
                    f_o.int("line", f.line);
                    f_o.str("label", f.label);
                    f_o.end();
                }
                s.end();
            }
            x.end();
        }
        a.end();
    }
    o.end();
}

fn write_aws(out: &mut String, aws: &Aws<'_>) {
    let mut o = object(out);
    if let Some(eb) = &aws.elastic_beanstalk {
        let mut b = object(o.key("elastic_beanstalk"));
        b.str_or_null("environment_name", eb.environment_name);
        b.str_or_null("version_label", eb.version_label);
        b.int("deployment_id", eb.deployment_id);
        b.end();
    }
    if !aws.cloudwatch_logs.is_empty() {
        let mut a = Array::new(o.key("cloudwatch_logs"));
        for g in &aws.cloudwatch_logs {
            let mut l = object(a.item());
            l.str_or_null("log_group", g.log_group);
            l.opt_str("arn", g.arn);
            l.end();
        }
        a.end();
    }
    if let Some(ecs) = &aws.ecs {
        let mut e = object(o.key("ecs"));
        e.opt_str("container", ecs.container);
        e.opt_str("container_id", ecs.container_id);
        e.opt_str("task_arn", ecs.task_arn);
        e.opt_str("task_family", ecs.task_family);
        e.opt_str("cluster_arn", ecs.cluster_arn);
        e.opt_str("container_arn", ecs.container_arn);
        e.opt_str("availability_zone", ecs.availability_zone);
        e.opt_str("launch_type", ecs.launch_type);
        e.end();
    }
    if let Some(ec2) = &aws.ec2 {
        let mut e = object(o.key("ec2"));
        e.str_or_null("instance_id", ec2.instance_id);
        e.str_or_null("availability_zone", ec2.availability_zone);
        e.str_or_null("instance_size", ec2.instance_size);
        e.str_or_null("ami_id", ec2.ami_id);
        e.end();
    }
    if let Some(eks) = &aws.eks {
        let mut e = object(o.key("eks"));
        e.str_or_null("cluster_name", eks.cluster_name);
        e.str_or_null("pod", eks.pod);
        e.str_or_null("container_id", eks.container_id);
        e.end();
    }
    let mut x = object(o.key("xray"));
    x.opt_str("sdk", aws.xray.sdk.as_deref());
    x.opt_str("sdk_version", aws.xray.sdk_version);
    x.bool("auto_instrumentation", aws.xray.auto_instrumentation);
    x.end();
    o.opt_str("account_id", aws.account_id);
    o.opt_str("operation", aws.operation);
    o.opt_str("region", aws.region);
    o.opt_str("request_id", aws.request_id);
    o.opt_str("queue_url", aws.queue_url);
    o.opt_str("table_name", aws.table_name);
    if !aws.table_names.is_empty() {
        let mut a = Array::new(o.key("table_names"));
        for t in &aws.table_names {
            string(a.item(), t);
        }
        a.end();
    }
    o.end();
}

fn write_sql(out: &mut String, sql: &Sql<'_>) {
    let mut o = object(out);
    o.opt_str("connection_string", sql.connection_string.as_deref());
    o.opt_str("url", sql.url);
    o.opt_str("sanitized_query", sql.sanitized_query.as_deref());
    o.opt_str("database_type", sql.database_type);
    o.opt_str("user", sql.user);
    o.end();
}

fn write_meta_value(out: &mut String, v: &MetaValue<'_>) {
    match v {
        MetaValue::Attr(v) => write_raw(out, v.value.as_ref()),
        MetaValue::Json(v) => write_json_value(out, v),
    }
}

/// An OTLP value as `pcommon.Value.AsRaw()` then `encoding/json` writes it (see
/// `RawValue`).
fn write_raw(out: &mut String, v: Option<&any_value::Value>) {
    use any_value::Value;
    use base64::Engine as _;
    match v {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => jsonw::integer(out, *i),
        Some(Value::DoubleValue(d)) => go_float(out, *d),
        Some(Value::BytesValue(b)) => {
            // Base64 needs no escaping.
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
            out.push('"');
        }
        Some(Value::ArrayValue(a)) => {
            let mut arr = Array::new(out);
            for v in &a.values {
                write_raw(arr.item(), v.value.as_ref());
            }
            arr.end();
        }
        Some(Value::KvlistValue(kv)) => {
            // Go builds a map (a later duplicate key wins) and writes it sorted.
            let mut sorted: Vec<(&str, Option<&Value>)> = kv
                .values
                .iter()
                .map(|e| {
                    let v = e.value.as_ref().and_then(|v| v.value.as_ref());
                    (e.key.as_str(), v)
                })
                .collect();
            sort_keep_last(&mut sorted);
            let mut o = object(out);
            for (k, v) in sorted {
                write_raw(o.escaped_key(k), v);
            }
            o.end();
        }
    }
}

/// A parsed JSON value, as serde_json writes it (objects in the map's order).
fn write_json_value(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                jsonw::integer(out, i);
            } else if let Some(u) = n.as_u64() {
                jsonw::integer(out, u);
            } else {
                jsonw::float(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Json::String(s) => string(out, s),
        Json::Array(a) => {
            let mut arr = Array::new(out);
            for v in a {
                write_json_value(arr.item(), v);
            }
            arr.end();
        }
        Json::Object(m) => {
            let mut o = object(out);
            for (k, v) in m {
                write_json_value(o.escaped_key(k), v);
            }
            o.end();
        }
    }
}

/// A double as [`super::go_float`] serialises it.
fn go_float(out: &mut String, v: f64) {
    const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    if v.is_finite() && v.fract() == 0.0 && v.abs() < EXACT_INTEGER_LIMIT {
        // Exact: |v| < 2^53 and integral, so the cast loses nothing.
        #[allow(clippy::cast_possible_truncation)]
        jsonw::integer(out, v as i64);
    } else {
        jsonw::float(out, v);
    }
}

//! Pieces every signal shares: part-A tags from the resource, times, durations, ids.

use super::attrs;
use crate::envelope::StrMap;
use std::time::{Duration, UNIX_EPOCH};
use stratus_core::pdata::common::KeyValue;

/// Tag keys (Application Insights context tags).
pub mod tag {
    /// Cloud role (service namespace + name).
    pub const CLOUD_ROLE: &str = "ai.cloud.role";
    /// Cloud role instance.
    pub const CLOUD_ROLE_INSTANCE: &str = "ai.cloud.roleInstance";
    /// Node name (= role instance).
    pub const NODE_NAME: &str = "ai.internal.nodeName";
    /// Device id.
    pub const DEVICE_ID: &str = "ai.device.id";
    /// Device model.
    pub const DEVICE_MODEL: &str = "ai.device.model";
    /// Device maker.
    pub const DEVICE_OEM: &str = "ai.device.oemName";
    /// Application version.
    pub const APP_VER: &str = "ai.application.ver";
    /// Operation (trace) id.
    pub const OPERATION_ID: &str = "ai.operation.id";
    /// Parent id.
    pub const PARENT_ID: &str = "ai.operation.parentId";
    /// Operation name.
    pub const OPERATION_NAME: &str = "ai.operation.name";
    /// Synthetic source.
    pub const SYNTHETIC: &str = "ai.operation.syntheticSource";
    /// Client IP.
    pub const LOCATION_IP: &str = "ai.location.ip";
    /// User agent.
    pub const USER_AGENT: &str = "ai.user.userAgent";
    /// Authenticated user id.
    pub const AUTH_USER_ID: &str = "ai.user.authUserId";
    /// Anonymous user id.
    pub const USER_ID: &str = "ai.user.id";
    /// Session id.
    pub const SESSION_ID: &str = "ai.session.id";
}

/// The part-A tags a resource gives every envelope: cloud role and instance, node name,
/// device, application version. Empty when the resource has no attributes.
pub fn resource_tags(resource: &[KeyValue]) -> StrMap {
    let mut tags = StrMap::new();
    if resource.is_empty() {
        return tags;
    }
    tags.insert(tag::CLOUD_ROLE, cloud_role(resource));
    let instance = cloud_role_instance(resource);
    tags.insert(tag::CLOUD_ROLE_INSTANCE, instance.clone());
    tags.insert(tag::NODE_NAME, instance);
    for (attr, key) in [
        ("device.id", tag::DEVICE_ID),
        ("device.model.name", tag::DEVICE_MODEL),
        ("device.manufacturer", tag::DEVICE_OEM),
        ("service.version", tag::APP_VER),
    ] {
        if let Some(v) = attrs::get_str(resource, attr) {
            tags.insert(key, v);
        }
    }
    tags
}

fn cloud_role(resource: &[KeyValue]) -> String {
    let mut role = String::new();
    if let Some(name) = attrs::get_str(resource, "service.name") {
        role = match attrs::get_str(resource, "service.namespace") {
            Some(ns) => format!("{ns}.{name}"),
            None => name.clone(),
        };
        if !name.starts_with("unknown_service") {
            return role;
        }
    }
    attrs::first_str(
        resource,
        &[
            "k8s.deployment.name",
            "k8s.replicaset.name",
            "k8s.statefulset.name",
            "k8s.job.name",
            "k8s.cronjob.name",
            "k8s.daemonset.name",
        ],
    )
    .unwrap_or(role)
}

fn cloud_role_instance(resource: &[KeyValue]) -> String {
    // Microsoft falls back to the exporting machine's host name; a collector is not that
    // machine, so we fall back to the resource's `host.name`.
    attrs::first_str(
        resource,
        &["k8s.pod.name", "service.instance.id", "host.name"],
    )
    .unwrap_or_default()
}

/// RFC 3339 UTC with microseconds, e.g. `2024-05-01T10:00:00.001000Z`.
pub fn format_time(unix_nanos: u64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(unix_nanos);
    humantime::format_rfc3339_micros(t).to_string()
}

/// A duration as `D.HH:MM:SS.ffffff` (microseconds, rounded half up).
pub fn format_duration(nanos: u64) -> String {
    let micros = nanos.saturating_add(500) / 1000;
    let (secs, us) = (micros / 1_000_000, micros % 1_000_000);
    let (mins, s) = (secs / 60, secs % 60);
    let (hours, m) = (mins / 60, mins % 60);
    let (days, h) = (hours / 24, hours % 24);
    format!("{days}.{h:02}:{m:02}:{s:02}.{us:06}")
}

/// A trace id as 32 hex digits, or an error for a malformed one.
pub fn trace_id_hex(id: &[u8]) -> Result<String, String> {
    if id.len() != 16 {
        return Err(format!("trace id has {} bytes, want 16", id.len()));
    }
    Ok(stratus_core::jsonw::hex(id))
}

/// A span id as 16 hex digits, or an error for a malformed one.
pub fn span_id_hex(id: &[u8]) -> Result<String, String> {
    if id.len() != 8 {
        return Err(format!("span id has {} bytes, want 8", id.len()));
    }
    Ok(stratus_core::jsonw::hex(id))
}

/// Whether the attributes mark the item as synthetic (bot/test traffic, AlwaysOn probes).
pub fn is_synthetic(attributes: &[KeyValue]) -> bool {
    if let Some(t) = attrs::get_str(attributes, "user_agent.synthetic.type")
        && (t == "bot" || t == "test")
    {
        return true;
    }
    attrs::first_str(attributes, &["user_agent.original", "http.user_agent"])
        .is_some_and(|ua| ua.contains("AlwaysOn"))
}

/// User and session tags from `enduser.id`, `enduser.pseudo.id` and `session.id` (a string).
pub fn user_tags(tags: &mut StrMap, attributes: &[KeyValue]) {
    if let Some(v) = attrs::get_str(attributes, "enduser.id") {
        tags.insert(tag::AUTH_USER_ID, v);
    }
    if let Some(v) = attrs::get_str(attributes, "enduser.pseudo.id") {
        tags.insert(tag::USER_ID, v);
    }
    if let Some(stratus_core::pdata::common::any_value::Value::StringValue(s)) =
        attrs::get(attributes, "session.id")
    {
        tags.insert(tag::SESSION_ID, s.clone());
    }
}

/// `ai.location.ip` source: `client.address`, `http.client_ip`, `net.peer.ip`.
pub fn location_ip(attributes: &[KeyValue]) -> Option<String> {
    attrs::first_str(
        attributes,
        &["client.address", "http.client_ip", "net.peer.ip"],
    )
}

/// Sampling rate from `_MS.sampleRate`.
pub fn sample_rate(attributes: &[KeyValue]) -> Option<f64> {
    use stratus_core::pdata::common::any_value::Value;
    match attrs::get(attributes, "_MS.sampleRate")? {
        Value::DoubleValue(d) if d.is_finite() => Some(*d),
        Value::IntValue(i) => Some(*i as f64),
        Value::StringValue(s) => s.parse().ok().filter(|d: &f64| d.is_finite()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_microseconds() {
        assert_eq!(format_duration(123_456_789), "0.00:00:00.123457");
        assert_eq!(format_duration(0), "0.00:00:00.000000");
        assert_eq!(
            format_duration((((2 * 24 + 3) * 60 + 4) * 60 + 5) * 1_000_000_000 + 6_000),
            "2.03:04:05.000006"
        );
    }

    #[test]
    fn times_are_rfc3339_micros() {
        assert_eq!(
            format_time(1_714_557_600_001_000_000),
            "2024-05-01T10:00:00.001000Z"
        );
    }

    #[test]
    fn malformed_ids_are_errors() {
        assert!(trace_id_hex(&[1; 3]).is_err());
        assert_eq!(span_id_hex(&[0xab; 8]).as_deref(), Ok("abababababababab"));
    }
}

//! Merging the detected resource into each batch: what the processor does per call,
//! with no I/O.
//!
//! For every `Resource{Spans,Metrics,Logs}` of a batch, as upstream's `MergeResource`
//! and `MergeSchemaURL`:
//! - the schema URL is set to the detected one when the data has none;
//! - each detected attribute replaces an attribute of the same key (`override: true`)
//!   or is added only when the key is missing (`override: false`); a resource with no
//!   attributes gets all detected ones.

use stratus_core::Payload;
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::resource::Resource;

use crate::detectors::DetectedResource;

/// Merges `detected` into every resource of `payload`.
///
/// ```
/// use stratus_core::Payload;
/// use stratus_core::pdata::common::{any_value::Value, AnyValue, KeyValue};
/// use stratus_core::pdata::trace::ResourceSpans;
/// use stratus_processor_resourcedetection::{merge, DetectedResource};
///
/// let kv = |k: &str, v: &str| KeyValue {
///     key: k.into(),
///     value: Some(AnyValue { value: Some(Value::StringValue(v.into())) }),
///     ..Default::default()
/// };
/// let detected = DetectedResource {
///     attributes: vec![kv("cloud.provider", "aws"), kv("host.name", "ip-10-0-0-1")],
///     schema_url: String::new(),
/// };
/// let mut batch = Payload::Traces(vec![ResourceSpans::default()]);
/// merge::apply(&mut batch, &detected, true);
/// let Payload::Traces(rs) = &batch else { unreachable!() };
/// assert_eq!(rs[0].resource.as_ref().unwrap().attributes.len(), 2);
/// ```
pub fn apply(payload: &mut Payload, detected: &DetectedResource, override_existing: bool) {
    match payload {
        Payload::Traces(rs) => {
            for r in rs {
                merge_one(
                    &mut r.schema_url,
                    &mut r.resource,
                    detected,
                    override_existing,
                );
            }
        }
        Payload::Metrics(rm) => {
            for r in rm {
                merge_one(
                    &mut r.schema_url,
                    &mut r.resource,
                    detected,
                    override_existing,
                );
            }
        }
        Payload::Logs(rl) => {
            for r in rl {
                merge_one(
                    &mut r.schema_url,
                    &mut r.resource,
                    detected,
                    override_existing,
                );
            }
        }
    }
}

fn merge_one(
    schema_url: &mut String,
    resource: &mut Option<Resource>,
    detected: &DetectedResource,
    override_existing: bool,
) {
    if schema_url.is_empty() && !detected.schema_url.is_empty() {
        schema_url.clone_from(&detected.schema_url);
    }
    if detected.attributes.is_empty() {
        return;
    }
    let resource = resource.get_or_insert_with(Resource::default);
    merge_attributes(
        &mut resource.attributes,
        &detected.attributes,
        override_existing,
    );
}

/// Merges `from` into `to`: replaces values of existing keys when `override_existing`,
/// adds missing keys always. `from` holds each key once.
pub fn merge_attributes(to: &mut Vec<KeyValue>, from: &[KeyValue], override_existing: bool) {
    if to.is_empty() {
        to.extend_from_slice(from);
        return;
    }
    let existing = to.len();
    to.reserve(from.len());
    for kv in from {
        match to[..existing].iter_mut().find(|t| t.key == kv.key) {
            Some(t) => {
                if override_existing {
                    t.value.clone_from(&kv.value);
                }
            }
            None => to.push(kv.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::string_value;
    use stratus_core::pdata::logs::ResourceLogs;
    use stratus_core::pdata::metrics::ResourceMetrics;
    use stratus_core::pdata::trace::ResourceSpans;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(string_value(v)),
            ..Default::default()
        }
    }

    fn detected() -> DetectedResource {
        DetectedResource {
            attributes: vec![kv("host.name", "detected"), kv("cloud.provider", "aws")],
            schema_url: "https://opentelemetry.io/schemas/1.6.1".into(),
        }
    }

    fn resource(attrs: Vec<KeyValue>) -> Option<Resource> {
        Some(Resource {
            attributes: attrs,
            ..Default::default()
        })
    }

    fn pairs(r: &Option<Resource>) -> Vec<(String, String)> {
        r.as_ref()
            .map(|r| {
                r.attributes
                    .iter()
                    .map(|kv| {
                        let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                            Some(stratus_core::pdata::common::any_value::Value::StringValue(s)) => {
                                s.clone()
                            }
                            _ => String::new(),
                        };
                        (kv.key.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn override_replaces_in_place_and_appends_the_rest() {
        let mut batch = Payload::Traces(vec![ResourceSpans {
            resource: resource(vec![kv("service.name", "api"), kv("host.name", "sent")]),
            ..Default::default()
        }]);
        apply(&mut batch, &detected(), true);
        let Payload::Traces(rs) = &batch else {
            panic!()
        };
        assert_eq!(
            pairs(&rs[0].resource),
            p(&[
                ("service.name", "api"),
                ("host.name", "detected"),
                ("cloud.provider", "aws")
            ])
        );
        assert_eq!(rs[0].schema_url, "https://opentelemetry.io/schemas/1.6.1");
    }

    #[test]
    fn no_override_keeps_existing_values() {
        let mut batch = Payload::Logs(vec![ResourceLogs {
            resource: resource(vec![kv("host.name", "sent")]),
            schema_url: "https://opentelemetry.io/schemas/1.20.0".into(),
            ..Default::default()
        }]);
        apply(&mut batch, &detected(), false);
        let Payload::Logs(rl) = &batch else { panic!() };
        assert_eq!(
            pairs(&rl[0].resource),
            p(&[("host.name", "sent"), ("cloud.provider", "aws")])
        );
        assert_eq!(
            rl[0].schema_url, "https://opentelemetry.io/schemas/1.20.0",
            "data's own URL kept"
        );
    }

    #[test]
    fn missing_resource_gets_everything_and_empty_detection_changes_nothing() {
        let mut batch =
            Payload::Metrics(vec![ResourceMetrics::default(), ResourceMetrics::default()]);
        apply(&mut batch, &detected(), false);
        let Payload::Metrics(rm) = &batch else {
            panic!()
        };
        for r in rm {
            assert_eq!(
                pairs(&r.resource),
                p(&[("host.name", "detected"), ("cloud.provider", "aws")])
            );
        }
        let mut untouched = Payload::Traces(vec![ResourceSpans::default()]);
        apply(&mut untouched, &DetectedResource::default(), true);
        assert_eq!(untouched, Payload::Traces(vec![ResourceSpans::default()]));
    }
}

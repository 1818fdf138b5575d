//! Namespace, log group and stream names, placeholders and dimension rollup
//! (upstream `exporter/awsemfexporter/util.go`).

use stratus_core::pdata::common::{KeyValue, any_value};

use crate::config::{DimensionRollupOption, EmfConfig};
use crate::labels::LabelSet;

/// The label carrying the instrumentation scope name (upstream `oTellibDimensionKey`).
pub const OTEL_LIB_DIMENSION_KEY: &str = "OTelLib";
/// The namespace when neither the config nor the resource names one.
pub const DEFAULT_NAMESPACE: &str = "default";
/// What a placeholder without a value becomes.
pub const UNDEFINED: &str = "undefined";

/// Placeholders in `log_group_name` / `log_stream_name` and the resource attribute
/// each falls back to after the attribute of the placeholder's own name (upstream
/// `patternKeyToAttributeMap`).
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("ClusterName", "aws.ecs.cluster.name"),
    ("TaskId", "aws.ecs.task.id"),
    ("NodeName", "k8s.node.name"),
    ("PodName", "pod"),
    ("ServiceName", "service.name"),
    ("ContainerInstanceId", "aws.ecs.container.instance.id"),
    ("TaskDefinitionFamily", "aws.ecs.task.family"),
];

/// Fills the placeholders of `s` from `attrs` (first the attribute named like the
/// placeholder, then its fallback); a missing or empty value becomes `undefined`.
/// The flag is false when any placeholder went undefined (upstream `replacePatterns`).
pub fn replace_placeholders(s: &str, attrs: &LabelSet) -> (String, bool) {
    let mut out = s.to_string();
    let mut ok = true;
    for (key, fallback) in PLACEHOLDERS {
        let pattern = format!("{{{key}}}");
        if !out.contains(&pattern) {
            continue;
        }
        let value = attrs.get(key).or_else(|| attrs.get(fallback));
        match value {
            Some(v) if !v.is_empty() => out = out.replace(&pattern, v),
            _ => {
                tracing::debug!("No resource attribute found for pattern {pattern}");
                out = out.replace(&pattern, UNDEFINED);
                ok = false;
            }
        }
    }
    (out, ok)
}

fn string_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// The namespace of a resource's metrics (upstream `getNamespace`): the configured
/// one, else `service.namespace/service.name`, `service.name`, `service.namespace`
/// (string attributes only), else [`DEFAULT_NAMESPACE`].
pub fn namespace_for(resource_attrs: &[KeyValue], configured: &str) -> String {
    if !configured.is_empty() {
        return configured.to_string();
    }
    let name = string_attr(resource_attrs, "service.name");
    let ns = string_attr(resource_attrs, "service.namespace");
    let derived = match (name, ns) {
        (Some(n), Some(s)) => format!("{s}/{n}"),
        (Some(n), None) => n.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => String::new(),
    };
    if derived.is_empty() {
        DEFAULT_NAMESPACE.to_string()
    } else {
        derived
    }
}

/// Log group and stream of a resource's metrics (upstream `getLogInfo`), and whether
/// every placeholder found a resource attribute. An empty stream means the
/// exporter's default stream.
pub fn log_info(resource: &LabelSet, namespace: &str, cfg: &EmfConfig) -> (String, String, bool) {
    let (mut group, mut stream) = (EmfConfig::default_log_group(namespace), String::new());
    let (mut group_ok, mut stream_ok) = (true, true);
    if !cfg.log_group_name.is_empty() {
        (group, group_ok) = replace_placeholders(&cfg.log_group_name, resource);
    }
    if !cfg.log_stream_name.is_empty() {
        (stream, stream_ok) = replace_placeholders(&cfg.log_stream_name, resource);
    }
    (group, stream, group_ok && stream_ok)
}

/// The rolled-up dimension sets of a label set, each sorted (upstream
/// `dimensionRollup`): with `ZeroAndSingleDimensionRollup` the zero set (`[]`, or
/// `[OTelLib]` when that label is there) if any other label exists; with either
/// single option one set per other label (plus `OTelLib`).
pub fn dimension_rollup<'a>(
    option: DimensionRollupOption,
    label_names: &[&'a str],
) -> Vec<Vec<&'a str>> {
    let has_otel = label_names.contains(&OTEL_LIB_DIMENSION_KEY);
    let zero: Vec<&'a str> = if has_otel {
        vec![OTEL_LIB_DIMENSION_KEY]
    } else {
        Vec::new()
    };
    let others = label_names
        .iter()
        .copied()
        .filter(|n| *n != OTEL_LIB_DIMENSION_KEY);
    let mut out = Vec::new();
    if option == DimensionRollupOption::ZeroAndSingleDimensionRollup
        && others.clone().next().is_some()
    {
        out.push(zero.clone());
    }
    if option != DimensionRollupOption::NoDimensionRollup {
        for name in others {
            let mut set = zero.clone();
            set.push(name);
            set.sort_unstable();
            out.push(set);
        }
    }
    out
}

/// Removes repeated dimension sets, keeping the first (upstream `dedupDimensions`).
pub fn dedup_dimensions<T: PartialEq>(sets: Vec<Vec<T>>) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::with_capacity(sets.len());
    for s in sets {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Unix nanoseconds to milliseconds (upstream `unixNanoToMilliseconds`).
pub fn unix_nanos_to_millis(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    //! Ported from upstream `util_test.go` and the log group / stream table of
    //! `metric_translator_test.go`.
    // Test tables read best as nested slice literals.
    #![allow(clippy::type_complexity)]
    use super::*;
    use stratus_testkit::otlp::attributes;

    fn set(pairs: &[(&str, &str)]) -> LabelSet {
        LabelSet::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn placeholders() {
        let attrs = set(&[
            ("aws.ecs.cluster.name", "test-cluster-name"),
            ("aws.ecs.task.id", "test-task-id"),
            ("k8s.node.name", "ip-192-168-1-1"),
            ("pod", "my-pod"),
            ("service.name", "checkout"),
            ("aws.ecs.container.instance.id", "i-123"),
            ("aws.ecs.task.family", "family-a"),
        ]);
        let cases: &[(&str, &str, bool)] = &[
            (
                "/aws/ecs/containerinsights/{ClusterName}/performance",
                "/aws/ecs/containerinsights/test-cluster-name/performance",
                true,
            ),
            ("{TaskId}", "test-task-id", true),
            (
                "{ClusterName}/{TaskId}",
                "test-cluster-name/test-task-id",
                true,
            ),
            ("{NodeName}-{PodName}", "ip-192-168-1-1-my-pod", true),
            ("{ServiceName}", "checkout", true),
            (
                "{ContainerInstanceId}/{TaskDefinitionFamily}",
                "i-123/family-a",
                true,
            ),
            ("no-placeholder", "no-placeholder", true),
            ("{UnknownKey}", "{UnknownKey}", true),
        ];
        for (input, want, ok) in cases {
            assert_eq!(
                replace_placeholders(input, &attrs),
                (want.to_string(), *ok),
                "{input}"
            );
        }
        // The attribute named like the placeholder wins over the fallback.
        let both = set(&[
            ("ClusterName", "direct"),
            ("aws.ecs.cluster.name", "fallback"),
        ]);
        assert_eq!(replace_placeholders("{ClusterName}", &both).0, "direct");
        // Missing and empty values become `undefined`.
        let empty = set(&[("aws.ecs.cluster.name", "")]);
        assert_eq!(
            replace_placeholders("/aws/{ClusterName}/{TaskId}", &empty),
            ("/aws/undefined/undefined".to_string(), false)
        );
        assert_eq!(
            replace_placeholders("{TaskId}-{TaskId}", &set(&[])),
            ("undefined-undefined".to_string(), false)
        );
    }

    #[test]
    fn namespace() {
        let cases: &[(&[(&str, &str)], &str, &str)] = &[
            (
                &[
                    ("service.name", "myServiceName"),
                    ("service.namespace", "myServiceNS"),
                ],
                "",
                "myServiceNS/myServiceName",
            ),
            (&[("service.name", "myServiceName")], "", "myServiceName"),
            (&[("service.namespace", "myServiceNS")], "", "myServiceNS"),
            (&[], "", "default"),
            (&[("service.name", "x")], "OTLP/Metrics", "OTLP/Metrics"),
        ];
        for (attrs, configured, want) in cases {
            let kv = attributes(attrs.iter().copied());
            assert_eq!(namespace_for(&kv, configured), *want);
        }
        // Only string attributes count.
        let kv = attributes([("service.name", 5)]);
        assert_eq!(namespace_for(&kv, ""), "default");
    }

    #[test]
    fn log_group_and_stream() {
        let cfg = |g: &str, s: &str| EmfConfig {
            log_group_name: g.into(),
            log_stream_name: s.into(),
            ..EmfConfig::default()
        };
        let res = set(&[("ClusterName", "test-cluster"), ("PodName", "test-pod")]);
        assert_eq!(
            log_info(&set(&[]), "ns", &cfg("", "")),
            ("/metrics/ns".to_string(), String::new(), true)
        );
        assert_eq!(
            log_info(
                &res,
                "ns",
                &cfg("test-log-group-{ClusterName}", "test-log-stream")
            ),
            (
                "test-log-group-test-cluster".to_string(),
                "test-log-stream".to_string(),
                true
            )
        );
        assert_eq!(
            log_info(
                &res,
                "ns",
                &cfg("test-log-group", "test-log-stream-{PodName}")
            ),
            (
                "test-log-group".to_string(),
                "test-log-stream-test-pod".to_string(),
                true
            )
        );
        assert_eq!(
            log_info(&set(&[]), "ns", &cfg("g-{ClusterName}", "s-{PodName}")),
            ("g-undefined".to_string(), "s-undefined".to_string(), false)
        );
    }

    #[test]
    fn rollup() {
        use DimensionRollupOption::*;
        let cases: &[(&[&str], DimensionRollupOption, &[&[&str]])] = &[
            (&["a"], NoDimensionRollup, &[]),
            (&["a"], SingleDimensionRollupOnly, &[&["a"]]),
            (&["a"], ZeroAndSingleDimensionRollup, &[&[], &["a"]]),
            (
                &["OTelLib", "a"],
                ZeroAndSingleDimensionRollup,
                &[&["OTelLib"], &["OTelLib", "a"]],
            ),
            (&["OTelLib"], ZeroAndSingleDimensionRollup, &[]),
            (&[], ZeroAndSingleDimensionRollup, &[]),
            (
                &["OTelLib", "a", "b", "c"],
                ZeroAndSingleDimensionRollup,
                &[
                    &["OTelLib"],
                    &["OTelLib", "a"],
                    &["OTelLib", "b"],
                    &["OTelLib", "c"],
                ],
            ),
        ];
        for (names, opt, want) in cases {
            let want: Vec<Vec<&str>> = want.iter().map(|s| s.to_vec()).collect();
            assert_eq!(dimension_rollup(*opt, names), want, "{names:?} {opt:?}");
        }
    }

    #[test]
    fn dedup_keeps_first() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            dedup_dimensions(vec![v(&["a"]), v(&["a", "b"]), v(&["a"]), v(&[])]),
            [v(&["a"]), v(&["a", "b"]), v(&[])]
        );
    }

    #[test]
    fn nanos_to_millis() {
        assert_eq!(
            unix_nanos_to_millis(1_596_151_098_037_123_456),
            1_596_151_098_037
        );
        assert_eq!(unix_nanos_to_millis(999_999), 0);
    }
}

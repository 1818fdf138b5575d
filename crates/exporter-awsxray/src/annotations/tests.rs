//! Ported from upstream `segment_test.go` (the annotation and metadata tests) and
//! `TestFixAnnotationKey*`: whole segments in, `annotations`, `metadata` and `user`
//! compared in full.

use serde_json::{Map, Value, json};
use stratus_core::pdata::common::KeyValue;
use stratus_testkit::otlp::{SpanKind, StatusCode, array, bytes, kv};

use super::*;
use crate::test_support::{
    client_span, default_resource, make_span, map, resource, segment_json, server_span, translator,
    translator_no_dots,
};

/// The default resource as upstream stores it on a segment: `otel.resource.<key>`.
fn resource_metadata() -> Map<String, Value> {
    let v = json!({
        "otel.resource.service.name": "signup_aggregator",
        "otel.resource.service.version": "semver:1.1.4",
        "otel.resource.container.name": "signup_aggregator",
        "otel.resource.container.image.name": "otel/signupaggregator",
        "otel.resource.container.image.tag": "v1",
        "otel.resource.k8s.cluster.name": "production",
        "otel.resource.k8s.namespace.name": "default",
        "otel.resource.k8s.deployment.name": "signup_aggregator",
        "otel.resource.k8s.pod.name": "signup_aggregator-x82ufje83",
        "otel.resource.cloud.provider": "aws",
        "otel.resource.cloud.account.id": "123456789",
        "otel.resource.cloud.region": "us-east-1",
        "otel.resource.cloud.availability_zone": "us-east-1c",
        "otel.resource.string.key": "string",
        "otel.resource.int.key": 10,
        // Go writes 5.0 as 5.
        "otel.resource.double.key": 5,
        "otel.resource.bool.key": true,
        "otel.resource.map.key": {"key1": 1, "key2": "value"},
        "otel.resource.array.key": ["foo", "bar"],
    });
    v.as_object().cloned().unwrap_or_default()
}

/// The default resource's scalar attributes as annotations, dots replaced.
fn resource_annotations() -> Map<String, Value> {
    resource_metadata()
        .into_iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, v)| (k.replace('.', "_"), v))
        .collect()
}

fn with(mut base: Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(extra) = extra {
        base.extend(extra);
    }
    Value::Object(base)
}

fn attrs12() -> Vec<KeyValue> {
    vec![kv("attr1@1", "val1"), kv("attr2@2", "val2")]
}

/// annotations and metadata of a segment (`null` when absent).
fn am(seg: &Value) -> (Value, Value) {
    (seg["annotations"].clone(), seg["metadata"].clone())
}

#[test]
fn attributes_default_to_metadata_and_resources_only_on_segments() {
    let res = default_resource();
    // TestSpanWithAttributesDefaultNotIndexed.
    let seg = segment_json(
        &translator(&[], false),
        &server_span("/api/locations", StatusCode::Error, "OK", attrs12()),
        Some(&res),
    );
    assert_eq!(
        am(&seg),
        (
            Value::Null,
            json!({"default": with(resource_metadata(), json!({"attr1@1": "val1", "attr2@2": "val2"}))})
        )
    );
    // TestSpanWithResourceNotStoredIfSubsegment.
    let seg = segment_json(
        &translator(&[], false),
        &client_span("/api/locations", StatusCode::Error, "ERROR", attrs12()),
        Some(&res),
    );
    assert_eq!(
        am(&seg),
        (
            Value::Null,
            json!({"default": {"attr1@1": "val1", "attr2@2": "val2"}})
        )
    );
    // A client span without a parent is a segment and carries the resource.
    let root_client = make_span(
        SpanKind::Client,
        None,
        "x",
        StatusCode::Unset,
        "",
        attrs12(),
    );
    let seg = segment_json(&translator(&[], false), &root_client, Some(&res));
    assert_eq!(seg["metadata"]["default"]["otel.resource.int.key"], 10);
}

#[test]
fn indexed_attributes_become_annotations() {
    let res = default_resource();
    let server = |attrs| server_span("/api/locations", StatusCode::Error, "OK", attrs);
    let resource_keys = [
        "otel.resource.string.key",
        "otel.resource.int.key",
        "otel.resource.double.key",
        "otel.resource.bool.key",
        "otel.resource.map.key",
        "otel.resource.array.key",
    ];
    let mut resource_rest = resource_metadata();
    for k in &resource_keys[..4] {
        resource_rest.remove(*k);
    }
    // (upstream test, translator, span, expected annotations, expected metadata)
    let cases: Vec<(&str, crate::Translator, _, Value, Value)> = vec![
        (
            "TestSpanWithAttributesPartlyIndexed",
            translator_no_dots(&["attr1@1", "not_exist"], false),
            server(attrs12()),
            json!({"attr1_1": "val1"}),
            json!({"default": with(resource_metadata(), json!({"attr2@2": "val2"}))}),
        ),
        (
            "TestSpanWithAnnotationsAttribute",
            translator_no_dots(&[], false),
            server(vec![
                kv("attr1@1", "val1"),
                kv("attr2@2", "val2"),
                kv("aws.xray.annotations", array(["attr2@2", "not_exist"])),
            ]),
            json!({"attr2_2": "val2"}),
            json!({"default": with(resource_metadata(), json!({"attr1@1": "val1"}))}),
        ),
        (
            "TestSpanWithAttributesAllIndexed",
            translator_no_dots(&["attr1@1", "not_exist"], true),
            server(attrs12()),
            // index_all indexes the resource too; its map and list cannot be indexed.
            with(
                resource_annotations(),
                json!({"attr1_1": "val1", "attr2_2": "val2"}),
            ),
            json!({"default": {"otel.resource.map.key": {"key1": 1, "key2": "value"},
                               "otel.resource.array.key": ["foo", "bar"]}}),
        ),
        (
            "TestResourceAttributesCanBeIndexed",
            translator_no_dots(&resource_keys, false),
            server(Vec::new()),
            json!({"otel_resource_string_key": "string", "otel_resource_int_key": 10,
                   "otel_resource_double_key": 5, "otel_resource_bool_key": true}),
            // Maps and arrays cannot be annotations, so they stay metadata.
            json!({"default": Value::Object(resource_rest.clone())}),
        ),
        (
            "TestResourceAttributesCanBeIndexedWithAllowDot",
            translator(&resource_keys, false),
            server(Vec::new()),
            json!({"otel.resource.string.key": "string", "otel.resource.int.key": 10,
                   "otel.resource.double.key": 5, "otel.resource.bool.key": true}),
            json!({"default": Value::Object(resource_rest)}),
        ),
        (
            "TestResourceAttributesNotIndexedIfSubsegment",
            translator(&resource_keys, false),
            client_span("/api/locations", StatusCode::Error, "OK", Vec::new()),
            Value::Null,
            Value::Null,
        ),
        (
            "TestSpanWithSpecialAttributesAsListed",
            translator_no_dots(&["aws.operation", "rpc.method"], false),
            server(vec![
                kv("aws.operation", "aws_operation_val"),
                kv("rpc.method", "rpc_method_val"),
            ]),
            json!({"aws_operation": "aws_operation_val", "rpc_method": "rpc_method_val"}),
            json!({"default": resource_metadata()}),
        ),
        (
            "TestSpanWithSpecialAttributesAsListedWithAllowDot",
            translator(&["aws.operation", "rpc.method"], false),
            server(vec![
                kv("aws.operation", "aws_operation_val"),
                kv("rpc.method", "rpc_method_val"),
            ]),
            json!({"aws.operation": "aws_operation_val", "rpc.method": "rpc_method_val"}),
            json!({"default": resource_metadata()}),
        ),
        // Consumed by the aws block and not listed: no annotations for them; the
        // resource is indexed.
        (
            "TestSpanWithSpecialAttributesNotListedAndIndexAll",
            translator_no_dots(&[], true),
            server(vec![kv("aws.operation", "val1"), kv("rpc.method", "val2")]),
            Value::Object(resource_annotations()),
            json!({"default": {"otel.resource.map.key": {"key1": 1, "key2": "value"},
                               "otel.resource.array.key": ["foo", "bar"]}}),
        ),
        // The example: the http block consumes http.method and
        // http.status_code, and listing them indexes them anyway.
        (
            "indexed_attributes [http.method, http.status_code, error]",
            translator(&["http.method", "http.status_code", "error"], false),
            server(vec![
                kv("http.method", "GET"),
                kv("http.status_code", 200),
                kv("error", false),
                kv("http.url", "https://example.com/"),
            ]),
            json!({"http.method": "GET", "http.status_code": 200, "error": false}),
            json!({"default": resource_metadata()}),
        ),
        (
            "the same, with dots turned into underscores",
            translator_no_dots(&["http.method", "http.status_code", "error"], false),
            server(vec![
                kv("http.method", "GET"),
                kv("http.status_code", 200),
                kv("error", false),
            ]),
            json!({"http_method": "GET", "http_status_code": 200, "error": false}),
            json!({"default": resource_metadata()}),
        ),
        (
            "an indexed attribute that cannot be an annotation is dropped",
            translator(&["tags"], false),
            server(vec![kv("tags", array(["a", "b"]))]),
            Value::Null,
            json!({"default": resource_metadata()}),
        ),
    ];
    for (name, t, span, annotations, metadata) in cases {
        let seg = segment_json(&t, &span, Some(&res));
        assert_eq!(am(&seg), (annotations, metadata), "{name}");
    }
    // TestSpanWithSpecialAttributesAsListedAndIndexAll(WithAllowDot): listed
    // attributes consumed by the aws block come back.
    for (t, op, method) in [
        (
            translator_no_dots(&["aws.operation", "rpc.method"], true),
            "aws_operation",
            "rpc_method",
        ),
        (
            translator(&["aws.operation", "rpc.method"], true),
            "aws.operation",
            "rpc.method",
        ),
    ] {
        let seg = segment_json(
            &t,
            &server(vec![
                kv("aws.operation", "aws_operation_val"),
                kv("rpc.method", "rpc_method_val"),
            ]),
            Some(&res),
        );
        assert_eq!(seg["annotations"][op], "aws_operation_val");
        assert_eq!(seg["annotations"][method], "rpc_method_val");
    }
}

#[test]
fn xray_metadata_attributes_become_namespaces() {
    // TestSpanWithAttributesSegmentMetadata.
    let span = server_span(
        "/api/locations",
        StatusCode::Error,
        "OK",
        vec![
            kv("attr1@1", "val1"),
            kv(
                "aws.xray.metadata.default",
                "{\"custom_key\": \"custom_value\"}",
            ),
            kv(
                "aws.xray.metadata.http",
                "{\"connection\":{\"reused\":false,\"was_idle\":false}}",
            ),
            kv("aws.xray.metadata.non-xray-sdk", "retain-value"),
        ],
    );
    let res = default_resource();
    let seg = segment_json(&translator(&[], false), &span, Some(&res));
    assert_eq!(
        am(&seg),
        (
            Value::Null,
            json!({
                "default": with(resource_metadata(), json!({
                    "attr1@1": "val1",
                    "custom_key": "custom_value",
                    "aws.xray.metadata.non-xray-sdk": "retain-value",
                })),
                "http": {"connection": {"reused": false, "was_idle": false}},
            })
        )
    );
}

#[test]
fn metadata_values_are_written_raw() {
    // TestFilteredAttributesMetadata, plus bytes (base64, as Go encodes []byte).
    let span = server_span(
        "/test",
        StatusCode::Error,
        "OK",
        vec![
            kv("string_value", "value"),
            kv("int_value", 123),
            kv("float_value", 456.78),
            kv("bool_value", false),
            KeyValue {
                key: "null_value".into(),
                value: None,
                ..Default::default()
            },
            kv("array_value", array([12, 34, 56])),
            kv(
                "map_value",
                map(vec![kv("value1", -987.65), kv("value2", true)]),
            ),
            kv("bytes_value", bytes(b"hi!".to_vec())),
        ],
    );
    let seg = segment_json(&translator(&[], false), &span, Some(&resource(Vec::new())));
    assert_eq!(
        seg["metadata"],
        json!({"default": {
            "string_value": "value",
            "int_value": 123,
            "float_value": 456.78,
            "bool_value": false,
            "array_value": [12, 34, 56],
            "map_value": {"value1": -987.65, "value2": true},
            "bytes_value": "aGkh",
        }})
    );
}

#[test]
fn enduser_id_becomes_user() {
    let span = server_span(
        "/api",
        StatusCode::Unset,
        "",
        vec![kv("enduser.id", "go.tester@example.com"), kv("other", 1)],
    );
    let seg = segment_json(&translator(&["enduser.id"], false), &span, None);
    assert_eq!(seg["user"], "go.tester@example.com");
    assert_eq!(seg["metadata"], json!({"default": {"other": 1}}));
    assert_eq!(seg["annotations"], Value::Null);
}

#[test]
fn annotation_keys_are_sanitised() {
    // TestFixAnnotationKey and TestFixAnnotationKeyWithAllowDot, and more.
    // (key, with dots allowed, with dots replaced)
    let cases = [
        ("Key_1", "Key_1", "Key_1"),
        ("Key.1", "Key.1", "Key_1"),
        ("Key@1", "Key_1", "Key_1"),
        ("http.method", "http.method", "http_method"),
        ("a-b c/d", "a_b_c_d", "a_b_c_d"),
        // One `_` per character, not per byte.
        ("été", "_t_", "_t_"),
    ];
    for (key, dots, no_dots) in cases {
        assert_eq!(fix_annotation_key(key, true), dots, "{key}");
        assert_eq!(fix_annotation_key(key, false), no_dots, "{key}");
    }
}

//! Ported from upstream `segment_test.go`: whole documents compared field for field,
//! then tables for segment vs subsegment, names, namespaces, origin and the
//! local-root split.

use serde_json::{Value, json};
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::resource::Resource;
use stratus_testkit::otlp::{SpanKind, StatusCode, kv, link};

use super::*;
use crate::test_support::{
    PARENT_HEX, PARENT_ID, SPAN_HEX, TRACE_ID, XRAY_TRACE_ID, client_span, default_resource, keys,
    make_span, resource, segment_json, segments_json, server_span, to_event, translator,
    translator_no_dots,
};

/// Checks the exception ids of a document (16 hex digits) and replaces them with
/// `"<id>"`, so documents compare exactly.
fn redact_exception_ids(doc: &mut Value) {
    if let Some(list) = doc
        .pointer_mut("/cause/exceptions")
        .and_then(Value::as_array_mut)
    {
        for e in list {
            let id = e["id"].as_str().expect("exception id");
            assert!(
                id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
            e["id"] = json!("<id>");
        }
    }
}

// The start time, 215 ms before a whole second, as Go computes it too:
// float64(1699999999785000000) / 1e9 is 1699999999.7849998.

#[test]
fn server_span_with_internal_server_error_in_full() {
    // TestServerSpanWithInternalServerError.
    let mut span = server_span(
        "/api/locations",
        StatusCode::Error,
        "java.lang.NullPointerException",
        vec![
            kv("http.method", "POST"),
            kv("http.url", "https://api.example.org/api/locations"),
            kv("http.target", "/api/locations"),
            kv("http.status_code", 500),
            kv("http.status_text", "java.lang.NullPointerException"),
            kv("http.user_agent", "PostmanRuntime/7.21.0"),
            kv("enduser.id", "go.tester@example.com"),
        ],
    );
    // constructTimedEventsWithSentMessageEvent: a SENT size is no response size.
    span.events = vec![to_event(
        stratus_testkit::otlp::event("")
            .attr("message.type", "SENT")
            .attr("messaging.message.id", 1)
            .attr("messaging.message_payload_size_bytes", 7480),
    )];
    let res = default_resource();
    let mut doc = segment_json(&translator(&[], false), &span, Some(&res));
    redact_exception_ids(&mut doc);
    let mut resource_metadata = serde_json::Map::new();
    for a in &res.attributes {
        let v =
            serde_json::to_value(crate::model::MetaValue::Attr(a.value.as_ref().unwrap())).unwrap();
        resource_metadata.insert(format!("otel.resource.{}", a.key), v);
    }
    assert_eq!(
        doc,
        json!({
            "name": "signup_aggregator",
            "id": SPAN_HEX,
            "start_time": 1_699_999_999.784_999_8,
            "service": {"version": "semver:1.1.4"},
            "user": "go.tester@example.com",
            "trace_id": XRAY_TRACE_ID,
            "end_time": 1_700_000_000,
            "http": {
                "request": {"method": "POST", "url": "https://api.example.org/api/locations",
                            "user_agent": "PostmanRuntime/7.21.0"},
                "response": {"status": 500, "content_length": 0},
            },
            "fault": true,
            "error": false,
            "throttle": false,
            "cause": {"exceptions": [
                {"id": "<id>", "message": "java.lang.NullPointerException", "type": ""},
            ]},
            "aws": {
                "eks": {"cluster_name": "production", "pod": "signup_aggregator-x82ufje83",
                        "container_id": null},
                "xray": {"auto_instrumentation": false},
                "account_id": "123456789",
            },
            "metadata": {"default": Value::Object(resource_metadata)},
            "parent_id": PARENT_HEX,
        })
    );
    // Upstream's key order, which serde follows from the struct.
    let text = &translator(&[], false)
        .span_documents(&span, Some(&res), 0)
        .unwrap()[0]
        .json;
    let order = [
        "\"name\"",
        "\"id\"",
        "\"start_time\"",
        "\"service\"",
        "\"user\"",
        "\"trace_id\"",
        "\"end_time\"",
        "\"http\"",
        "\"fault\"",
        "\"error\"",
        "\"throttle\"",
        "\"cause\"",
        "\"aws\"",
        "\"metadata\"",
        "\"parent_id\"",
    ];
    let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn client_span_with_db_component_in_full() {
    // TestClientSpanWithDbComponent.
    let name = "call update_user_preference( ?, ?, ? )";
    let span = client_span(
        name,
        StatusCode::Unset,
        "OK",
        vec![
            kv("db.system", "mysql"),
            kv("db.name", "customers"),
            kv("db.statement", name),
            kv("db.user", "userprefsvc"),
            kv(
                "db.connection_string",
                "jdbc:mysql://db.dev.example.com:3306",
            ),
            kv("net.peer.name", "db.dev.example.com"),
            kv("net.peer.port", "3306"),
            kv("enterprise.app.id", "25F2E73B-4769-4C79-9DF3-7EBE85D571EA"),
        ],
    );
    let res = default_resource();
    let doc = segment_json(&translator(&[], false), &span, Some(&res));
    assert_eq!(
        doc,
        json!({
            "name": "customers@db.dev.example.com",
            "id": SPAN_HEX,
            "start_time": 1_699_999_999.784_999_8,
            "service": {"version": "semver:1.1.4"},
            "trace_id": XRAY_TRACE_ID,
            "end_time": 1_700_000_000,
            "fault": false,
            "error": false,
            "throttle": false,
            "aws": {
                "eks": {"cluster_name": "production", "pod": "signup_aggregator-x82ufje83",
                        "container_id": null},
                "xray": {"auto_instrumentation": false},
                "account_id": "123456789",
            },
            "metadata": {"default": {"enterprise.app.id": "25F2E73B-4769-4C79-9DF3-7EBE85D571EA"}},
            "namespace": "remote",
            "parent_id": PARENT_HEX,
            "type": "subsegment",
            "sql": {
                "connection_string": "jdbc:mysql://db.dev.example.com:3306/customers",
                "url": name,
                "sanitized_query": name,
                "database_type": "mysql",
                "user": "userprefsvc",
            },
        })
    );
}

#[test]
fn a_bare_span_gives_the_smallest_document() {
    // TestSpanWithNoStatus / TestSpanNoParentId: nothing but ids and times.
    let span = make_span(
        SpanKind::Producer,
        None,
        "my-topic send",
        StatusCode::Unset,
        "",
        Vec::new(),
    );
    let doc = segment_json(&translator(&[], false), &span, None);
    assert_eq!(
        doc,
        json!({
            "name": "my-topic send",
            "id": SPAN_HEX,
            "start_time": 1_699_999_999.784_999_8,
            "trace_id": XRAY_TRACE_ID,
            "end_time": 1_700_000_000,
            "fault": false,
            "error": false,
            "throttle": false,
            "aws": {"xray": {"auto_instrumentation": false}},
        })
    );
    // A span without a span id: `id` is null, as upstream writes a nil pointer.
    let mut span = span;
    span.span_id.clear();
    assert_eq!(
        segment_json(&translator(&[], false), &span, None)["id"],
        Value::Null
    );
}

#[test]
fn segment_or_subsegment() {
    // A subsegment: not a server span, and a parent. (Upstream segment.go MakeSegment;
    // a consumer with a parent is a subsegment, as TestNotLocalRootConsumer expects.)
    let cases = [
        (SpanKind::Server, true, None),
        (SpanKind::Server, false, None),
        (SpanKind::Client, true, Some("subsegment")),
        (SpanKind::Client, false, None),
        (SpanKind::Producer, true, Some("subsegment")),
        (SpanKind::Producer, false, None),
        (SpanKind::Consumer, true, Some("subsegment")),
        (SpanKind::Consumer, false, None),
        (SpanKind::Internal, true, Some("subsegment")),
        (SpanKind::Internal, false, None),
        (SpanKind::Unspecified, true, Some("subsegment")),
    ];
    let res = default_resource();
    for (kind, has_parent, segment_type) in cases {
        let span = make_span(
            kind,
            has_parent.then_some(PARENT_ID),
            "x",
            StatusCode::Unset,
            "",
            Vec::new(),
        );
        let doc = segment_json(&translator(&[], false), &span, Some(&res));
        assert_eq!(
            doc["type"].as_str(),
            segment_type,
            "{kind:?} parent={has_parent}"
        );
        // TestServerSpanNoParentId: no parent, no parent_id.
        assert_eq!(
            doc["parent_id"].as_str(),
            has_parent.then_some(PARENT_HEX),
            "{kind:?}"
        );
        // Only segments carry the resource.
        assert_eq!(
            doc["metadata"]["default"]["otel.resource.service.name"].as_str(),
            segment_type.is_none().then_some("signup_aggregator"),
            "{kind:?} parent={has_parent}"
        );
    }
}

/// (upstream test, kind, attributes, name, namespace).
type NameCase<'a> = (&'a str, SpanKind, Vec<KeyValue>, &'a str, Option<&'a str>);

#[test]
fn names_and_namespaces() {
    let dynamo = || {
        vec![
            kv("http.method", "POST"),
            kv("http.scheme", "https"),
            kv("http.host", "dynamodb.us-east-1.amazonaws.com"),
            kv("http.target", "/"),
        ]
    };
    let plus = |mut base: Vec<KeyValue>, more: Vec<KeyValue>| {
        base.extend(more);
        base
    };
    use SpanKind::{Client, Consumer, Internal, Producer, Server};
    // (upstream test, kind, attributes, name, namespace)
    let cases: Vec<NameCase<'_>> = vec![
        (
            "TestClientSpanWithRpcAwsSdkClientAttributes",
            Client,
            plus(
                dynamo(),
                vec![
                    kv("rpc.service", "DynamoDB"),
                    kv("rpc.method", "GetItem"),
                    kv("rpc.system", "aws-api"),
                    kv(
                        "aws.request_id",
                        "18BO1FEPJSSAOGNJEDPTPCMIU7VV4KQNSO5AEMVJF66Q9ASUAAJG",
                    ),
                    kv("aws.table_name", "otel-dev-Testing"),
                ],
            ),
            "DynamoDB",
            Some("aws"),
        ),
        (
            "TestClientSpanWithLegacyAwsSdkClientAttributes",
            Client,
            plus(
                dynamo(),
                vec![
                    kv("aws.service", "DynamoDB"),
                    kv("rpc.method", "IncorrectAWSSDKOperation"),
                    kv("aws.operation", "GetItem"),
                ],
            ),
            "DynamoDB",
            Some("aws"),
        ),
        (
            "TestClientSpanWithPeerService",
            Client,
            plus(
                dynamo(),
                vec![
                    kv("peer.service", "cats-table"),
                    kv("aws.service", "DynamoDB"),
                ],
            ),
            "cats-table",
            Some("remote"),
        ),
        (
            "TestClientSpanWithHttpHost",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "https"),
                kv("net.peer.ip", "2607:f8b0:4000:80c::2004"),
                kv("net.peer.port", "9443"),
                kv("http.target", "/"),
                kv("http.host", "foo.com"),
                kv("net.peer.name", "bar.com"),
            ],
            "foo.com",
            Some("remote"),
        ),
        (
            "TestClientSpanWithoutHttpHost",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "https"),
                kv("net.peer.ip", "2607:f8b0:4000:80c::2004"),
                kv("net.peer.port", "9443"),
                kv("http.target", "/"),
                kv("net.peer.name", "bar.com"),
            ],
            "bar.com",
            Some("remote"),
        ),
        (
            "TestClientSpanWithRpcHost",
            Client,
            vec![
                kv("http.method", "GET"),
                kv("http.scheme", "https"),
                kv("http.target", "/com.foo.AnimalService/GetCats"),
                kv("rpc.service", "com.foo.AnimalService"),
                kv("net.peer.name", "bar.com"),
            ],
            "com.foo.AnimalService",
            Some("remote"),
        ),
        (
            "TestClientSpanWithAwsRemoteServiceName",
            Client,
            plus(
                dynamo(),
                vec![
                    kv("rpc.service", "ABC"),
                    kv("aws.remote.service", "PaymentService"),
                ],
            ),
            "PaymentService",
            Some("remote"),
        ),
        (
            "TestAwsSdkSpanWithDeprecatedAwsRemoteServiceName",
            Client,
            vec![
                kv("rpc.system", "aws-api"),
                kv("http.method", "POST"),
                kv("rpc.service", "DynamoDb"),
                kv("aws.remote.service", "AWS.SDK.DynamoDb"),
            ],
            "DynamoDb",
            Some("aws"),
        ),
        (
            "TestAwsSdkSpanWithAwsRemoteServiceName",
            Client,
            vec![
                kv("rpc.system", "aws-api"),
                kv("http.method", "POST"),
                kv("rpc.service", "DynamoDb"),
                kv("aws.remote.service", "AWS::DynamoDB"),
            ],
            "DynamoDB",
            Some("aws"),
        ),
        (
            "the prefix stays on a span that is no AWS SDK span",
            Client,
            vec![kv("aws.remote.service", "AWS::DynamoDB")],
            "AWS::DynamoDB",
            Some("remote"),
        ),
        (
            "TestProducerSpanWithAwsRemoteServiceName",
            Producer,
            plus(
                dynamo(),
                vec![
                    kv("rpc.service", "ABC"),
                    kv("aws.remote.service", "ProducerService"),
                ],
            ),
            "ProducerService",
            Some("remote"),
        ),
        (
            "a consumer subsegment with aws.remote.service",
            Consumer,
            vec![kv("aws.remote.service", "Queue")],
            "Queue",
            Some("remote"),
        ),
        (
            "TestServerSpanWithAwsLocalServiceName",
            Server,
            plus(
                dynamo(),
                vec![
                    kv("rpc.service", "ABC"),
                    kv("aws.local.service", "PaymentLocalService"),
                    kv("aws.remote.service", "PaymentService"),
                ],
            ),
            "PaymentLocalService",
            None,
        ),
        (
            "a server span falls back to the resource's service.name",
            Server,
            Vec::new(),
            "signup_aggregator",
            None,
        ),
        (
            "a client span does not use the resource",
            Client,
            Vec::new(),
            "x",
            Some("remote"),
        ),
        (
            "an internal span without LOCAL_ROOT ignores aws.local.service",
            Internal,
            vec![kv("aws.local.service", "Local")],
            "x",
            None,
        ),
        (
            "db.name without a parseable connection string",
            Client,
            vec![
                kv("db.name", "orders"),
                kv("db.connection_string", "db.example.com:5432"),
            ],
            "orders",
            Some("remote"),
        ),
        (
            "db.name with a scheme-relative connection string",
            Client,
            vec![
                kv("db.name", "orders"),
                kv("db.connection_string", "//db.example.com:5432/orders"),
            ],
            "orders@db.example.com",
            Some("remote"),
        ),
        (
            "db.name with an IPv6 connection string",
            Client,
            vec![
                kv("db.name", "orders"),
                kv("db.connection_string", "postgresql://u:p@[::1]:5432/orders"),
            ],
            "orders@::1",
            Some("remote"),
        ),
        (
            "db.name with a bad port",
            Client,
            vec![
                kv("db.name", "orders"),
                kv("db.connection_string", "mysql://db:abc"),
            ],
            "orders",
            Some("remote"),
        ),
        (
            "aws.service gives the aws namespace",
            Internal,
            vec![kv("aws.service", "S3")],
            "S3",
            Some("aws"),
        ),
        (
            "a name attribute that is no string is skipped",
            Client,
            vec![kv("peer.service", 7), kv("rpc.service", "Rpc")],
            "Rpc",
            Some("remote"),
        ),
    ];
    let res = default_resource();
    for (name, kind, attrs, expected, namespace) in cases {
        let span = make_span(kind, Some(PARENT_ID), "x", StatusCode::Unset, "", attrs);
        let doc = segment_json(&translator(&[], false), &span, Some(&res));
        assert_eq!(doc["name"], expected, "{name}");
        assert_eq!(doc["namespace"].as_str(), namespace, "{name}");
        // The attribute-free AWS SDK docs never mention a user.
        assert!(doc.get("user").is_none(), "{name}");
    }
}

#[test]
fn span_names_are_cleaned() {
    // TestFixSegmentName, plus the length limit.
    let long = "a".repeat(250);
    let long_multibyte = format!("{}é", "a".repeat(199));
    let cases: Vec<(&str, &str)> = vec![
        (
            "EP @ test_15.testing-d\u{00F6}main.org#GO",
            "EP @ test_15.testing-d\u{00F6}main.org#GO",
        ),
        ("<subDomain>.example.com,1413", "subDomain.example.com1413"),
        ("<>", DEFAULT_SEGMENT_NAME),
        ("", DEFAULT_SEGMENT_NAME),
        ("tab\there\nnewline", "tabherenewline"),
        ("SELECT * FROM t WHERE a = ?", "SELECT  FROM t WHERE a = "),
        // Unicode letters stay; digits other than 0-9 go (upstream's `N` for `\p{N}`).
        ("Привет ١٢٣ 123", "Привет  123"),
        (&long, &long[..200]),
        // Cut at a character boundary at most 200 bytes in.
        (&long_multibyte, &long_multibyte[..199]),
    ];
    for (input, expected) in cases {
        assert_eq!(fix_segment_name(input), expected, "{input:?}");
    }
}

#[test]
fn origin_from_the_resource() {
    let aws = |platform: Option<&str>, more: Vec<KeyValue>| {
        let mut attrs = vec![kv("cloud.provider", "aws"), kv("host.id", "instance-123")];
        if let Some(p) = platform {
            attrs.push(kv("cloud.platform", p));
        }
        attrs.extend(more);
        resource(attrs)
    };
    // (upstream test, resource, origin)
    let cases: Vec<(&str, Resource, Option<&str>)> = vec![
        (
            "TestOriginNotAws",
            resource(vec![
                kv("cloud.provider", "gcp"),
                kv("host.id", "instance-123"),
            ]),
            None,
        ),
        (
            "TestOriginEc2",
            aws(Some("aws_ec2"), Vec::new()),
            Some(ORIGIN_EC2),
        ),
        (
            "TestOriginEcs",
            aws(Some("aws_ecs"), vec![kv("container.name", "container-123")]),
            Some(ORIGIN_ECS),
        ),
        (
            "TestOriginEcsEc2",
            aws(Some("aws_ecs"), vec![kv("aws.ecs.launchtype", "ec2")]),
            Some(ORIGIN_ECS_EC2),
        ),
        (
            "TestOriginEcsFargate",
            aws(Some("aws_ecs"), vec![kv("aws.ecs.launchtype", "fargate")]),
            Some(ORIGIN_ECS_FARGATE),
        ),
        (
            "TestOriginEb",
            aws(
                Some("aws_elastic_beanstalk"),
                vec![kv("service.instance.id", "service-123")],
            ),
            Some(ORIGIN_EB),
        ),
        (
            "TestOriginEks",
            aws(Some("aws_eks"), vec![kv("k8s.cluster.name", "production")]),
            Some(ORIGIN_EKS),
        ),
        (
            "TestOriginAppRunner",
            aws(Some("aws_app_runner"), Vec::new()),
            Some(ORIGIN_APP_RUNNER),
        ),
        ("TestOriginBlank", aws(None, Vec::new()), None),
        (
            "TestOriginPrefersInfraService",
            aws(
                Some("aws_ec2"),
                vec![
                    kv("k8s.cluster.name", "cluster-123"),
                    kv("container.name", "container-123"),
                    kv("service.instance.id", "service-123"),
                ],
            ),
            Some(ORIGIN_EC2),
        ),
        (
            "Lambda has no X-Ray origin here",
            aws(Some("aws_lambda"), Vec::new()),
            None,
        ),
        (
            "a platform without a provider",
            resource(vec![kv("cloud.platform", "aws_eks")]),
            Some(ORIGIN_EKS),
        ),
        ("an empty resource", resource(Vec::new()), None),
    ];
    for (name, res, origin) in cases {
        let span = server_span("/test", StatusCode::Error, "OK", Vec::new());
        let doc = segment_json(&translator(&[], false), &span, Some(&res));
        assert_eq!(doc["origin"].as_str(), origin, "{name}");
    }
}

#[test]
fn log_groups_from_config_reach_the_segment() {
    // TestSegmentWithLogGroupsFromConfig / TestSegmentWith2LogGroupsFromConfig.
    let t = crate::Translator::new(&crate::TranslatorConfig {
        aws_log_groups: vec!["my-logGroup-1".into(), "my-logGroup-2".into()],
        ..crate::TranslatorConfig::default()
    });
    let span = server_span("/api/locations", StatusCode::Error, "OK", Vec::new());
    let doc = segment_json(&t, &span, Some(&default_resource()));
    assert_eq!(
        doc["aws"]["cloudwatch_logs"],
        json!([{"log_group": "my-logGroup-1"}, {"log_group": "my-logGroup-2"}])
    );
}

/// getBasicAttributes.
fn basic_attributes() -> Vec<KeyValue> {
    vec![
        kv("http.method", "POST"),
        kv("messaging.operation", "receive"),
        kv("otel.resource.attributes", "service.name=myTest"),
        kv("aws.span.kind", "LOCAL_ROOT"),
        kv("aws.remote.service", "myRemoteService"),
        kv("aws.remote.operation", "myRemoteOperation"),
        kv("remoteTarget", "myTarget"),
        kv("K8s.RemoteNamespace", "k8sRemoteNamespace"),
        kv("aws.local.service", "myLocalService"),
        kv("aws.local.operation", "awsLocalOperation"),
        kv("myAnnotationKey", "myAnnotationValue"),
        kv("aws.operation", "UpdateItem"),
        kv("aws.account_id", "AWSAccountAttribute"),
        kv("aws.region", "AWSRegionAttribute"),
        kv("aws.request_id", "AWSRequestIDAttribute"),
        kv("aws.queue_url", "AWSQueueURLAttribute"),
        kv("aws.table_name", "TableName"),
    ]
}

/// getBasicResource.
fn basic_resource() -> Resource {
    let mut r = default_resource();
    r.attributes.extend([
        kv("telemetry.sdk.name", "MySDK"),
        kv("telemetry.sdk.version", "1.20.0"),
        kv("telemetry.auto.version", "1.2.3"),
    ]);
    r
}

fn with_attr(mut attrs: Vec<KeyValue>, key: &str, value: &str) -> Vec<KeyValue> {
    attrs.retain(|a| a.key != key);
    attrs.push(kv(key, value));
    attrs
}

fn without(mut attrs: Vec<KeyValue>, drop: &[&str]) -> Vec<KeyValue> {
    attrs.retain(|a| !drop.contains(&a.key.as_str()));
    attrs
}

/// A span of `kind` with basic_attributes() and one link (addSpanLink).
fn local_root_span(kind: SpanKind, attrs: Vec<KeyValue>) -> stratus_core::pdata::trace::Span {
    let mut s = make_span(
        kind,
        Some(PARENT_ID),
        "destination operation",
        StatusCode::Ok,
        "OK",
        attrs,
    );
    s.links = stratus_testkit::otlp::span("l")
        .link(link(TRACE_ID, 0x0a0b_0c0d_0e0f_1011u64))
        .build()
        .links;
    s
}

fn xray_translator() -> crate::Translator {
    translator_no_dots(&["aws.remote.service", "myAnnotationKey"], false)
}

const LINK: &str = "0a0b0c0d0e0f1011";

#[test]
fn local_root_consumer_splits_into_dependency_and_service_in_full() {
    // TestLocalRootConsumer with validateLocalRootDependencySubsegment and
    // validateLocalRootServiceSegment.
    let span = local_root_span(SpanKind::Consumer, basic_attributes());
    let docs = segments_json(&xray_translator(), &span, Some(&basic_resource()));
    assert_eq!(docs.len(), 2);
    let service_id = docs[1]["id"].as_str().expect("service id").to_string();
    assert_ne!(service_id, SPAN_HEX);
    assert_eq!(service_id.len(), 16);
    let eks = json!({"cluster_name": "production", "pod": "signup_aggregator-x82ufje83",
                     "container_id": null});
    let xray = json!({"sdk": "MySDK", "sdk_version": "1.20.0", "auto_instrumentation": true});
    assert_eq!(
        docs[0],
        json!({
            "name": "myRemoteService",
            "id": SPAN_HEX,
            "start_time": 1_699_999_999.784_999_8,
            "service": {"version": "semver:1.1.4"},
            "trace_id": XRAY_TRACE_ID,
            "end_time": 1_700_000_000,
            "http": {"request": {"method": "POST"}, "response": {"content_length": 0}},
            "fault": false,
            "error": false,
            "throttle": false,
            "aws": {
                "eks": eks,
                "xray": xray,
                "account_id": "AWSAccountAttribute",
                "operation": "UpdateItem",
                "region": "AWSRegionAttribute",
                "request_id": "AWSRequestIDAttribute",
                "queue_url": "AWSQueueURLAttribute",
                "table_name": "TableName",
            },
            "annotations": {"aws_remote_service": "myRemoteService",
                            "myAnnotationKey": "myAnnotationValue"},
            "metadata": {"default": {
                "messaging.operation": "receive",
                "aws.span.kind": "LOCAL_ROOT",
                "aws.remote.operation": "myRemoteOperation",
                "remoteTarget": "myTarget",
                "K8s.RemoteNamespace": "k8sRemoteNamespace",
                "aws.local.service": "myLocalService",
                "aws.local.operation": "awsLocalOperation",
                "otel.resource.attributes": "service.name=myTest",
            }},
            "namespace": "remote",
            "parent_id": service_id,
            "type": "subsegment",
        })
    );
    assert_eq!(
        docs[1],
        json!({
            "name": "myLocalService",
            "id": service_id,
            "start_time": 1_699_999_999.784_999_8,
            "service": {"version": "semver:1.1.4"},
            // A consumer's links stay on its service segment.
            "links": [{"trace_id": XRAY_TRACE_ID, "id": LINK}],
            "trace_id": XRAY_TRACE_ID,
            "end_time": 1_700_000_000,
            "fault": false,
            "error": false,
            "throttle": false,
            "aws": {"eks": eks, "xray": xray},
            "annotations": {"myAnnotationKey": "myAnnotationValue"},
            "metadata": {"default": {"otel.resource.attributes": "service.name=myTest"}},
            "parent_id": PARENT_HEX,
        })
    );
    // The same span gives the same service id every time (a retry resends it).
    let again = segments_json(&xray_translator(), &span, Some(&basic_resource()));
    assert_eq!(again[1]["id"], docs[1]["id"]);
}

#[test]
fn local_roots_and_non_local_roots() {
    use SpanKind::{Client, Consumer, Internal, Producer, Server};
    let res = basic_resource();
    // (upstream test, kind, attributes, [(type, name, namespace, links)] per document)
    type Doc = (
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
        usize,
    );
    let cases: Vec<(&str, SpanKind, Vec<KeyValue>, Vec<Doc>)> = vec![
        (
            "TestLocalRootClient",
            Client,
            basic_attributes(),
            vec![
                (Some("subsegment"), "myRemoteService", Some("remote"), 1),
                (None, "myLocalService", None, 0),
            ],
        ),
        (
            "TestLocalRootProducer",
            Producer,
            basic_attributes(),
            vec![
                (Some("subsegment"), "myRemoteService", Some("remote"), 1),
                (None, "myLocalService", None, 0),
            ],
        ),
        (
            "TestLocalRootConsumerAWSNamespace",
            Consumer,
            with_attr(basic_attributes(), "rpc.system", "aws-api"),
            vec![
                // The aws namespace is not overwritten with remote.
                (Some("subsegment"), "myRemoteService", Some("aws"), 0),
                (None, "myLocalService", None, 1),
            ],
        ),
        (
            "TestLocalRootClientAwsServiceMetrics",
            Client,
            {
                let a = with_attr(basic_attributes(), "rpc.system", "aws-api");
                let a = with_attr(a, "rpc.service", "SQS");
                with_attr(a, "aws.remote.service", "AWS.SDK.SQS")
            },
            vec![
                (Some("subsegment"), "SQS", Some("aws"), 1),
                (None, "myLocalService", None, 0),
            ],
        ),
        (
            "TestLocalRootServer",
            Server,
            basic_attributes(),
            vec![(None, "myLocalService", None, 1)],
        ),
        (
            "TestLocalRootInternal",
            Internal,
            basic_attributes(),
            vec![(None, "myLocalService", None, 1)],
        ),
        (
            "TestNonLocalRootConsumerProcess",
            Consumer,
            with_attr(
                without(
                    basic_attributes(),
                    &["aws.remote.service", "aws.remote.operation"],
                ),
                "aws.span.kind",
                "Consumer",
            ),
            vec![(Some("subsegment"), "destination operation", None, 1)],
        ),
        (
            "TestNotLocalRootInternal",
            Internal,
            with_attr(basic_attributes(), "aws.span.kind", "Internal"),
            vec![(Some("subsegment"), "destination operation", None, 1)],
        ),
        (
            "TestNotLocalRootConsumer",
            Consumer,
            with_attr(basic_attributes(), "aws.span.kind", "Consumer"),
            vec![(Some("subsegment"), "myRemoteService", Some("remote"), 1)],
        ),
        (
            "TestNotLocalRootClient",
            Client,
            with_attr(basic_attributes(), "aws.span.kind", "Client"),
            vec![(Some("subsegment"), "myRemoteService", Some("remote"), 1)],
        ),
        (
            "TestNotLocalRootProducer",
            Producer,
            with_attr(basic_attributes(), "aws.span.kind", "Producer"),
            vec![(Some("subsegment"), "myRemoteService", Some("remote"), 1)],
        ),
        (
            "TestNotLocalRootServer",
            Server,
            with_attr(
                without(
                    basic_attributes(),
                    &["aws.remote.service", "aws.remote.operation"],
                ),
                "aws.span.kind",
                "Server",
            ),
            vec![(None, "myLocalService", None, 1)],
        ),
    ];
    for (name, kind, attrs, expected) in cases {
        let span = local_root_span(kind, attrs);
        let docs = segments_json(&xray_translator(), &span, Some(&res));
        let got: Vec<(Option<&str>, &str, Option<&str>, usize)> = docs
            .iter()
            .map(|d| {
                (
                    d["type"].as_str(),
                    d["name"].as_str().unwrap_or_default(),
                    d["namespace"].as_str(),
                    d["links"].as_array().map_or(0, Vec::len),
                )
            })
            .collect();
        assert_eq!(got, expected, "{name}");
        // Both documents of a split share start and end.
        for d in &docs {
            assert_eq!(d["start_time"], docs[0]["start_time"], "{name}");
            assert_eq!(d["end_time"], docs[0]["end_time"], "{name}");
            assert_eq!(d["trace_id"], XRAY_TRACE_ID, "{name}");
        }
    }
}

#[test]
fn local_root_server_keeps_everything() {
    // validateLocalRootWithoutDependency for a server span: 8 span keys and the 22
    // resource keys in metadata, the remote annotations kept.
    let span = local_root_span(SpanKind::Server, basic_attributes());
    let doc = segment_json(&xray_translator(), &span, Some(&basic_resource()));
    assert_eq!(doc["parent_id"], PARENT_HEX);
    assert_eq!(
        doc["annotations"],
        json!({"aws_remote_service": "myRemoteService", "myAnnotationKey": "myAnnotationValue"})
    );
    assert_eq!(keys(&doc["metadata"]["default"]).len(), 30);
    assert_eq!(doc["http"]["request"]["method"], "POST");
    assert_eq!(doc["aws"]["operation"], "UpdateItem");
    assert!(doc.get("namespace").is_none());
    // The internal local root is a subsegment made a segment: no resource.
    let span = local_root_span(SpanKind::Internal, basic_attributes());
    let doc = segment_json(&xray_translator(), &span, Some(&basic_resource()));
    assert_eq!(keys(&doc["metadata"]["default"]).len(), 8);
    assert!(doc.get("type").is_none());
}

#[test]
fn consumer_local_root_document_contains_the_remote_service() {
    // TestConsumerSpanWithAwsRemoteServiceName.
    let span = local_root_span(
        SpanKind::Consumer,
        with_attr(basic_attributes(), "aws.remote.service", "ConsumerService"),
    );
    let docs = translator(&[], false)
        .span_documents(&span, Some(&default_resource()), 0)
        .unwrap();
    assert!(docs.iter().any(|d| d.json.contains("ConsumerService")));
    assert!(docs.iter().all(|d| !d.json.contains("\"user\"")));
}

#[test]
fn bad_ids_fail_the_span() {
    let mut span = server_span("/x", StatusCode::Unset, "", Vec::new());
    span.trace_id = vec![1; 15];
    assert_eq!(
        translator(&[], false).segments(&span, None),
        Err(TranslateError::InvalidTraceId { len: 15 })
    );
    let mut span = server_span("/x", StatusCode::Unset, "", Vec::new());
    span.parent_span_id = vec![1; 4];
    assert_eq!(
        translator(&[], false).segments(&span, None),
        Err(TranslateError::InvalidSpanId { len: 4 })
    );
}

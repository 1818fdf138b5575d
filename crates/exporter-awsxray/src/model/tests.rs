//! Keys and numbers written as Go's encoder writes them.
use super::*;

#[test]
fn meta_keys_order_as_their_full_strings() {
    let keys = [
        MetaKey::Attr("a"),
        MetaKey::Attr("otel.resource"),
        MetaKey::Attr("otel.resource.a"),
        MetaKey::Resource("a"),
        MetaKey::Resource("ab"),
        MetaKey::Owned("otel.resource.b".into()),
        MetaKey::Resource(""),
        MetaKey::Attr("otel.resource."),
        MetaKey::Attr("otel.resourcf"),
        MetaKey::Attr("z"),
        MetaKey::Owned(String::new()),
        MetaKey::Attr("é"),
        MetaKey::Resource("é"),
        MetaKey::Attr("otel.resource.éa"),
    ];
    for a in &keys {
        for b in &keys {
            let (sa, sb) = (a.to_string(), b.to_string());
            assert_eq!(a.cmp(b), sa.cmp(&sb), "{sa:?} vs {sb:?}");
            assert_eq!(a == b, sa == sb);
        }
        assert_eq!(
            a.is_resource_key(),
            a.to_string().starts_with("otel.resource.")
        );
        assert_eq!(
            serde_json::to_string(a).unwrap(),
            serde_json::to_string(&a.to_string()).unwrap()
        );
    }
}

#[test]
fn doubles_are_written_as_go_writes_them() {
    let cases: &[(f64, &str)] = &[
        (5.0, "5"),
        (1_700_000_000.0, "1700000000"),
        (1_699_999_999.784_999_8, "1699999999.7849998"),
        (0.1, "0.1"),
        (-987.65, "-987.65"),
        (f64::NAN, "null"),
        (f64::INFINITY, "null"),
    ];
    for (v, json) in cases {
        assert_eq!(
            serde_json::to_string(&Annotation::Double(*v)).unwrap(),
            *json
        );
    }
}

/// A segment with every field set, and one with every optional field empty or
/// `null`: the one-pass writer writes what serde_json writes for each.
#[test]
fn writes_what_serde_json_writes() {
    let attr = |v: any_value::Value| AnyValue { value: Some(v) };
    let kvlist = crate::test_support::map(vec![
        stratus_testkit::otlp::kv("b\"", 1_i64),
        stratus_testkit::otlp::kv("a", true),
        stratus_core::pdata::common::KeyValue {
            key: "b\"".into(),
            ..Default::default()
        },
    ]);
    let array = attr(any_value::Value::ArrayValue(
        stratus_core::pdata::common::ArrayValue {
            values: vec![
                attr(any_value::Value::DoubleValue(1.5)),
                attr(any_value::Value::DoubleValue(3.0)),
                attr(any_value::Value::DoubleValue(f64::NAN)),
                attr(any_value::Value::BytesValue(vec![0, 1, 2, 255])),
                AnyValue { value: None },
            ],
        },
    ));
    let text = attr(any_value::Value::StringValue("<tab>\t\"é\u{1}".into()));
    let mut namespace = BTreeMap::new();
    namespace.insert(MetaKey::Attr("k\n"), MetaValue::Attr(&text));
    namespace.insert(MetaKey::Resource("r\"es"), MetaValue::Attr(&array));
    namespace.insert(MetaKey::Owned("owned".into()), MetaValue::Attr(&kvlist));
    namespace.insert(
        MetaKey::Attr("json"),
        MetaValue::Json(serde_json::json!({
            "z": [1, -2, 18446744073709551615u64, 1.25, 1e300, null, true, "s\\"],
            "a": {"n": {}}
        })),
    );
    let mut metadata = BTreeMap::new();
    metadata.insert(Cow::Borrowed("default"), namespace);
    metadata.insert(Cow::Borrowed("ns\u{2028}"), BTreeMap::new());
    let mut annotations = BTreeMap::new();
    annotations.insert(Cow::Borrowed("s"), Annotation::Str("v\"<>&"));
    annotations.insert(Cow::Borrowed("i"), Annotation::Int(-7));
    annotations.insert(Cow::Borrowed("d"), Annotation::Double(0.1));
    annotations.insert(Cow::Borrowed("w"), Annotation::Double(2.0));
    annotations.insert(Cow::Borrowed("b"), Annotation::Bool(false));
    let mut link_attrs = BTreeMap::new();
    link_attrs.insert("l\"", MetaValue::Attr(&text));
    let frame = StackFrame {
        path: "a/b.rs",
        line: 12,
        label: "main\"",
    };
    let full = Segment {
        name: Cow::Borrowed("svc \"x\""),
        id: Some("0102030405060708".into()),
        start_time: 1_699_999_999.784_999_8,
        service: Some(Service {
            version: Some("1.2"),
        }),
        origin: Some("AWS::EKS::Container"),
        user: Some("u\\"),
        links: vec![
            SpanLink {
                trace_id: "1-6553f100-a006649127e371903a2de979".into(),
                id: "0102030405060708".into(),
                attributes: link_attrs,
            },
            SpanLink {
                trace_id: "1-6553f100-a006649127e371903a2de979".into(),
                id: String::new(),
                attributes: BTreeMap::new(),
            },
        ],
        trace_id: "1-6553f100-a006649127e371903a2de979".into(),
        end_time: 1_700_000_000.0,
        http: Some(Http {
            request: Request {
                x_forwarded_for: Some(true),
                method: Some("GET"),
                url: Some(Cow::Borrowed("http://h/p?q=\"1\"")),
                user_agent: Some(Cow::Owned("curl".into())),
                client_ip: Some("10.0.0.1"),
            },
            response: Response {
                status: Some(503),
                content_length: 12,
            },
        }),
        fault: true,
        error: false,
        throttle: true,
        cause: Some(Cause {
            exceptions: vec![
                Exception {
                    id: "aaaaaaaaaaaaaaaa".into(),
                    message: Some(Cow::Borrowed("boom\n")),
                    exception_type: Some(Cow::Borrowed("E")),
                    remote: Some(false),
                    truncated: Some(3),
                    cause: Some("bbbbbbbbbbbbbbbb".into()),
                    stack: vec![frame.clone(), frame],
                },
                Exception {
                    id: "bbbbbbbbbbbbbbbb".into(),
                    message: None,
                    exception_type: None,
                    remote: None,
                    truncated: None,
                    cause: None,
                    stack: vec![],
                },
            ],
        }),
        aws: Some(Aws {
            elastic_beanstalk: Some(Beanstalk {
                environment_name: Some("env"),
                version_label: None,
                deployment_id: 4,
            }),
            cloudwatch_logs: vec![
                LogGroup {
                    log_group: Some("g"),
                    arn: Some("arn:aws:logs:eu-west-1:1:log-group:g"),
                },
                LogGroup {
                    log_group: None,
                    arn: None,
                },
            ],
            ecs: Some(Ecs {
                container: Some("c"),
                container_id: Some("id"),
                task_arn: Some("t"),
                task_family: Some("f"),
                cluster_arn: Some("cl"),
                container_arn: Some("ca"),
                availability_zone: Some("az"),
                launch_type: Some("fargate"),
            }),
            ec2: Some(Ec2 {
                instance_id: Some("i-1"),
                availability_zone: None,
                instance_size: Some("m5"),
                ami_id: None,
            }),
            eks: Some(Eks {
                cluster_name: Some("k"),
                pod: None,
                container_id: Some("c"),
            }),
            xray: XRay {
                sdk: Some(Cow::Borrowed("opentelemetry for rust")),
                sdk_version: Some("0.1"),
                auto_instrumentation: true,
            },
            account_id: Some("123"),
            operation: Some("PutItem"),
            region: Some("eu-west-1"),
            request_id: Some("r"),
            queue_url: Some("q"),
            table_name: Some("t"),
            table_names: vec!["t1", "t\"2"],
        }),
        annotations,
        metadata,
        namespace: Some("aws"),
        parent_id: Some("1112131415161718".into()),
        segment_type: Some("subsegment"),
        sql: Some(Sql {
            connection_string: Some("localhost/db".into()),
            url: Some("q"),
            sanitized_query: Some(Cow::Borrowed("SELECT \"a\"")),
            database_type: Some("postgresql"),
            user: Some("u"),
        }),
    };
    let bare = Segment {
        name: Cow::Borrowed(""),
        id: None,
        start_time: f64::NAN,
        service: Some(Service { version: None }),
        origin: None,
        user: None,
        links: vec![],
        trace_id: String::new(),
        end_time: -0.5,
        http: Some(Http {
            request: Request::default(),
            response: Response::default(),
        }),
        fault: false,
        error: true,
        throttle: false,
        cause: Some(Cause::default()),
        aws: Some(Aws::default()),
        annotations: BTreeMap::new(),
        metadata: BTreeMap::new(),
        namespace: None,
        parent_id: None,
        segment_type: None,
        sql: Some(Sql {
            connection_string: None,
            url: None,
            sanitized_query: None,
            database_type: None,
            user: None,
        }),
    };
    let none = Segment {
        service: None,
        http: None,
        cause: None,
        aws: None,
        sql: None,
        ..bare.clone()
    };
    for segment in [full, bare, none] {
        let mut written = String::new();
        segment.write_json(&mut written);
        assert_eq!(written, serde_json::to_string(&segment).unwrap());
    }
}

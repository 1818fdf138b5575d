//! Ported from upstream `aws_test.go`: resource and span attributes in, the whole
//! `aws` block out.

use serde_json::{Value, json};
use stratus_core::pdata::common::KeyValue;
use stratus_testkit::otlp::{SpanKind, StatusCode, array, kv};

use super::*;
use crate::attrs::Pool;
use crate::test_support::{make_span, resource};

/// `makeAws(attributes, resource, logGroups)`: the block as JSON and the span
/// attributes left for metadata.
fn aws_of(
    span_attrs: Vec<KeyValue>,
    resource_attrs: Vec<KeyValue>,
    log_groups: &[String],
) -> (Option<Value>, Vec<String>) {
    let span = make_span(
        SpanKind::Client,
        Some(9),
        "x",
        StatusCode::Unset,
        "",
        span_attrs,
    );
    let res = resource(resource_attrs);
    let view = SpanView::new(&span);
    let mut pool = Pool::new(&view);
    let aws = make_aws(&view, &mut pool, Some(&res), log_groups)
        .map(|a| serde_json::to_value(a).unwrap());
    let left = pool.iter(&span).map(|(_, kv)| kv.key.clone()).collect();
    (aws, left)
}

fn no_sdk() -> Value {
    json!({"auto_instrumentation": false})
}

#[test]
fn aws_blocks_from_resources() {
    let eks_resource = || {
        vec![
            kv("cloud.provider", "aws"),
            kv("cloud.platform", "aws_eks"),
            kv("cloud.account.id", "123456789"),
            kv("cloud.availability_zone", "us-east-1c"),
            kv("container.image.name", "otel/signupaggregator"),
            kv("container.image.tag", "v1"),
            kv("k8s.cluster.name", "production"),
            kv("k8s.namespace.name", "default"),
            kv("k8s.deployment.name", "signup_aggregator"),
            kv("k8s.pod.name", "my-deployment-65dcf7d447-ddjnl"),
            kv("container.name", "signup_aggregator-x82ufje83"),
            kv("container.id", "0123456789A"),
            kv("host.id", "i-00f7c0bcb26da2a99"),
            kv("host.type", "m5.xlarge"),
        ]
    };
    // (upstream test, resource, expected block)
    let cases: Vec<(&str, Vec<KeyValue>, Value)> = vec![
        (
            "TestAwsFromEc2Resource",
            vec![
                kv("cloud.provider", "aws"),
                kv("cloud.platform", "aws_ec2"),
                kv("cloud.account.id", "123456789"),
                kv("cloud.availability_zone", "us-east-1c"),
                kv("host.id", "i-00f7c0bcb26da2a99"),
                kv("host.type", "m5.xlarge"),
                kv("host.image.id", "ami-0123456789"),
            ],
            json!({
                "ec2": {"instance_id": "i-00f7c0bcb26da2a99", "availability_zone": "us-east-1c",
                        "instance_size": "m5.xlarge", "ami_id": "ami-0123456789"},
                "xray": no_sdk(),
                "account_id": "123456789",
            }),
        ),
        (
            "TestAwsFromEcsResource",
            vec![
                kv("cloud.provider", "aws"),
                kv("cloud.platform", "aws_ecs"),
                kv("cloud.account.id", "123456789"),
                kv("cloud.availability_zone", "us-east-1c"),
                kv("container.image.name", "otel/signupaggregator"),
                kv("container.image.tag", "v1"),
                kv("container.name", "signup_aggregator-x82ufje83"),
                kv("container.id", "0123456789A"),
                kv("host.id", "i-00f7c0bcb26da2a99"),
                kv(
                    "aws.ecs.cluster.arn",
                    "arn:aws:ecs:us-west-2:123456789123:cluster/my-cluster",
                ),
                kv(
                    "aws.ecs.container.arn",
                    "arn:aws:ecs:us-west-2:123456789123:container-instance/123",
                ),
                kv(
                    "aws.ecs.task.arn",
                    "arn:aws:ecs:us-west-2:123456789123:task/123",
                ),
                kv("aws.ecs.task.family", "family"),
                kv("aws.ecs.launchtype", "fargate"),
                kv("host.type", "m5.xlarge"),
            ],
            json!({
                "ecs": {"container": "signup_aggregator-x82ufje83", "container_id": "0123456789A",
                        "task_arn": "arn:aws:ecs:us-west-2:123456789123:task/123",
                        "task_family": "family",
                        "cluster_arn": "arn:aws:ecs:us-west-2:123456789123:cluster/my-cluster",
                        "container_arn": "arn:aws:ecs:us-west-2:123456789123:container-instance/123",
                        "availability_zone": "us-east-1c", "launch_type": "fargate"},
                // A host.id adds EC2; absent values are null there, as upstream writes.
                "ec2": {"instance_id": "i-00f7c0bcb26da2a99", "availability_zone": "us-east-1c",
                        "instance_size": "m5.xlarge", "ami_id": null},
                "xray": no_sdk(),
                "account_id": "123456789",
            }),
        ),
        (
            "TestAwsFromBeanstalkResource",
            vec![
                kv("cloud.provider", "aws"),
                kv("cloud.platform", "aws_elastic_beanstalk"),
                kv("cloud.account.id", "123456789"),
                kv("cloud.availability_zone", "us-east-1c"),
                kv("service.namespace", "production"),
                kv("service.instance.id", "232"),
                kv("service.version", "4"),
            ],
            json!({
                "elastic_beanstalk": {"environment_name": "production", "version_label": "4",
                                      "deployment_id": 232},
                "xray": no_sdk(),
                "account_id": "123456789",
            }),
        ),
        (
            "TestAwsFromEksResource",
            eks_resource(),
            json!({
                "ec2": {"instance_id": "i-00f7c0bcb26da2a99", "availability_zone": "us-east-1c",
                        "instance_size": "m5.xlarge", "ami_id": null},
                "eks": {"cluster_name": "production", "pod": "my-deployment-65dcf7d447-ddjnl",
                        "container_id": "0123456789A"},
                "xray": no_sdk(),
                "account_id": "123456789",
            }),
        ),
        (
            "a Beanstalk deployment id that is no number is 0",
            vec![
                kv("cloud.platform", "aws_elastic_beanstalk"),
                kv("service.instance.id", "blue"),
            ],
            json!({
                "elastic_beanstalk": {"environment_name": null, "version_label": null, "deployment_id": 0},
                "xray": no_sdk(),
            }),
        ),
        (
            "TestJavaSDK",
            vec![
                kv("telemetry.sdk.name", "opentelemetry"),
                kv("telemetry.sdk.language", "java"),
                kv("telemetry.sdk.version", "1.2.3"),
            ],
            json!({"xray": {"sdk": "opentelemetry for java", "sdk_version": "1.2.3",
                           "auto_instrumentation": false}}),
        ),
        (
            "TestJavaAutoInstrumentation",
            vec![
                kv("telemetry.sdk.name", "opentelemetry"),
                kv("telemetry.sdk.language", "java"),
                kv("telemetry.sdk.version", "1.2.3"),
                kv("telemetry.auto.version", "3.4.5"),
            ],
            json!({"xray": {"sdk": "opentelemetry for java", "sdk_version": "1.2.3",
                           "auto_instrumentation": true}}),
        ),
        (
            "TestJavaAutoInstrumentationStable",
            vec![
                kv("telemetry.sdk.name", "opentelemetry"),
                kv("telemetry.sdk.language", "java"),
                kv("telemetry.sdk.version", "1.2.3"),
                kv("telemetry.distro.version", "3.4.5"),
            ],
            json!({"xray": {"sdk": "opentelemetry for java", "sdk_version": "1.2.3",
                           "auto_instrumentation": true}}),
        ),
        (
            "TestGoSDK",
            vec![
                kv("telemetry.sdk.name", "opentelemetry"),
                kv("telemetry.sdk.language", "go"),
                kv("telemetry.sdk.version", "2.0.3"),
            ],
            json!({"xray": {"sdk": "opentelemetry for go", "sdk_version": "2.0.3",
                           "auto_instrumentation": false}}),
        ),
        (
            "TestCustomSDK",
            vec![
                kv("telemetry.sdk.name", "opentracing"),
                kv("telemetry.sdk.language", "java"),
                kv("telemetry.sdk.version", "2.0.3"),
            ],
            json!({"xray": {"sdk": "opentracing for java", "sdk_version": "2.0.3",
                           "auto_instrumentation": false}}),
        ),
        (
            "an SDK name without a language",
            vec![kv("telemetry.sdk.name", "mysdk")],
            json!({"xray": {"sdk": "mysdk", "auto_instrumentation": false}}),
        ),
        (
            "TestLogGroups",
            vec![kv("aws.log.group.names", array(["group1", "group2"]))],
            json!({"cloudwatch_logs": [{"log_group": "group1"}, {"log_group": "group2"}],
                   "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsFromArns",
            vec![kv(
                "aws.log.group.arns",
                array([
                    "arn:aws:logs:us-east-1:123456789123:log-group:group1",
                    "arn:aws:logs:us-east-1:123456789123:log-group:group2:*",
                ]),
            )],
            json!({"cloudwatch_logs": [
            {"log_group": "group1", "arn": "arn:aws:logs:us-east-1:123456789123:log-group:group1"},
            {"log_group": "group2", "arn": "arn:aws:logs:us-east-1:123456789123:log-group:group2:*"},
        ], "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsFromStringResourceAttribute",
            vec![kv("aws.log.group.names", "group1")],
            json!({"cloudwatch_logs": [{"log_group": "group1"}], "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsWithAmpersandFromStringResourceAttribute (normal)",
            vec![kv("aws.log.group.names", "group1&group2")],
            json!({"cloudwatch_logs": [{"log_group": "group1"}, {"log_group": "group2"}], "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsWithAmpersandFromStringResourceAttribute (& at the end)",
            vec![kv("aws.log.group.names", "group1&group2&")],
            json!({"cloudwatch_logs": [{"log_group": "group1"}, {"log_group": "group2"}], "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsWithAmpersandFromStringResourceAttribute (&& in the middle)",
            vec![kv("aws.log.group.names", "group1&&group2")],
            json!({"cloudwatch_logs": [{"log_group": "group1"}, {"log_group": "group2"}], "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsWithAmpersandFromStringResourceAttribute (& at the start)",
            vec![kv("aws.log.group.names", "&group1&group2")],
            json!({"cloudwatch_logs": [{"log_group": "group1"}, {"log_group": "group2"}], "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsWithAmpersandFromStringResourceAttribute (only &)",
            vec![kv("aws.log.group.names", "&")],
            json!({"xray": no_sdk()}),
        ),
        (
            "TestLogGroupsInvalidType",
            vec![kv("aws.log.group.names", 1)],
            json!({"xray": no_sdk()}),
        ),
        (
            "TestLogGroupsArnsFromStringResourceAttributes",
            vec![kv(
                "aws.log.group.arns",
                "arn:aws:logs:us-east-1:123456789123:log-group:group1",
            )],
            json!({"cloudwatch_logs": [{"log_group": "group1",
                "arn": "arn:aws:logs:us-east-1:123456789123:log-group:group1"}], "xray": no_sdk()}),
        ),
        (
            "TestLogGroupsArnsWithAmpersandFromStringResourceAttributes",
            vec![kv(
                "aws.log.group.arns",
                "arn:aws:logs:us-east-1:123456789123:log-group:group1&arn:aws:logs:us-east-1:123456789123:log-group:group2",
            )],
            json!({"cloudwatch_logs": [
                {"log_group": "group1", "arn": "arn:aws:logs:us-east-1:123456789123:log-group:group1"},
                {"log_group": "group2", "arn": "arn:aws:logs:us-east-1:123456789123:log-group:group2"},
            ], "xray": no_sdk()}),
        ),
        (
            "ARNs win over names",
            vec![
                kv("aws.log.group.names", "by-name"),
                kv(
                    "aws.log.group.arns",
                    "arn:aws:logs:us-east-1:1:log-group:by-arn",
                ),
            ],
            json!({"cloudwatch_logs": [{"log_group": "by-arn",
            "arn": "arn:aws:logs:us-east-1:1:log-group:by-arn"}], "xray": no_sdk()}),
        ),
        (
            "another cloud gets no aws block",
            vec![kv("cloud.provider", "gcp"), kv("host.id", "h")],
            Value::Null,
        ),
    ];
    for (name, res, expected) in cases {
        let (aws, _) = aws_of(Vec::new(), res, &[]);
        assert_eq!(aws.unwrap_or(Value::Null), expected, "{name}");
    }
}

#[test]
fn log_groups_from_config_when_the_resource_has_none() {
    // TestLogGroupsFromConfig.
    let config = vec!["logGroup1".to_string(), "logGroup2".to_string()];
    let (aws, _) = aws_of(Vec::new(), Vec::new(), &config);
    assert_eq!(
        aws.unwrap()["cloudwatch_logs"],
        json!([{"log_group": "logGroup1"}, {"log_group": "logGroup2"}])
    );
    // The resource's names win.
    let (aws, _) = aws_of(Vec::new(), vec![kv("aws.log.group.names", "mine")], &config);
    assert_eq!(
        aws.unwrap()["cloudwatch_logs"],
        json!([{"log_group": "mine"}])
    );
}

#[test]
fn aws_blocks_from_span_attributes() {
    let sqs_url = "https://sqs.use1.amazonaws.com/Meltdown-Alerts";
    // (upstream test, span attributes, expected fields besides xray, left for metadata)
    let cases: Vec<(&str, Vec<KeyValue>, Value, &[&str])> = vec![
        (
            "TestAwsWithAwsSqsResources",
            vec![
                kv("aws.operation", "SendMessage"),
                kv("aws.account_id", "987654321"),
                kv("aws.region", "us-east-2"),
                kv("aws.queue_url", sqs_url),
                kv("employee.id", "XB477"),
            ],
            json!({"account_id": "987654321", "operation": "SendMessage", "region": "us-east-2",
                  "queue_url": sqs_url}),
            &["employee.id"],
        ),
        (
            "TestAwsWithRpcAttributes",
            vec![kv("rpc.method", "ListBuckets")],
            json!({"operation": "ListBuckets"}),
            &[],
        ),
        (
            "TestAwsWithSqsAlternateAttribute",
            vec![kv("aws.queue.url", sqs_url)],
            json!({"queue_url": sqs_url}),
            &[],
        ),
        // messaging.url wins, and stays in metadata.
        (
            "TestAwsWithAwsSqsSemConvAttributes",
            vec![
                kv("aws.queue_url", "https://other"),
                kv("messaging.url", sqs_url),
            ],
            json!({"queue_url": sqs_url}),
            &["messaging.url"],
        ),
        (
            "TestAwsWithAwsDynamoDbResources",
            vec![
                kv("rpc.method", "IncorrectAWSSDKOperation"),
                kv("aws.operation", "PutItem"),
                kv("aws.request_id", "75107C82-EC8A-4F75-883F-4440B491B0AB"),
                kv("aws.table_name", "WIDGET_TYPES"),
            ],
            json!({"operation": "PutItem", "request_id": "75107C82-EC8A-4F75-883F-4440B491B0AB",
                  "table_name": "WIDGET_TYPES"}),
            &[],
        ),
        (
            "TestAwsWithDynamoDbAlternateAttribute",
            vec![kv("aws.table.name", "MyTable")],
            json!({"table_name": "MyTable"}),
            &[],
        ),
        (
            "TestAwsWithDynamoDbSemConvAttributes",
            vec![kv("aws.dynamodb.table_names", array(["MyTable"]))],
            json!({"table_name": "MyTable"}),
            &["aws.dynamodb.table_names"],
        ),
        (
            "TestAwsWithDynamoDbSemConvAttributesString",
            vec![kv("aws.dynamodb.table_names", "MyTable")],
            json!({"table_name": "MyTable"}),
            &["aws.dynamodb.table_names"],
        ),
        (
            "TestSpanWithMultipleDynamoDBTablesHasTableNames",
            vec![
                kv("aws.table_name", "ignored"),
                kv("aws.dynamodb.table_names", array(["table1", "table2"])),
            ],
            json!({"table_names": ["table1", "table2"]}),
            &["aws.dynamodb.table_names"],
        ),
        (
            "TestAwsWithRequestIdAlternateAttribute",
            vec![kv("aws.requestId", "12345-request")],
            json!({"request_id": "12345-request"}),
            &[],
        ),
    ];
    for (name, attrs, expected, left) in cases {
        let (aws, rest) = aws_of(attrs, Vec::new(), &[]);
        let mut aws = aws.expect("an aws block");
        let obj = aws.as_object_mut().unwrap();
        assert_eq!(obj.remove("xray"), Some(no_sdk()), "{name}");
        assert_eq!(aws, expected, "{name}");
        assert_eq!(rest, left, "{name}: left for metadata");
    }
}

#[test]
fn service_version_from_the_resource() {
    // service.go: service.version, else container.image.tag.
    let cases: Vec<(Vec<KeyValue>, Option<Value>)> = vec![
        (
            vec![
                kv("service.version", "semver:1.1.4"),
                kv("container.image.tag", "v1"),
            ],
            Some(json!({"version": "semver:1.1.4"})),
        ),
        (
            vec![kv("container.image.tag", "v1")],
            Some(json!({"version": "v1"})),
        ),
        (vec![kv("service.name", "x")], None),
    ];
    for (attrs, expected) in cases {
        let res = resource(attrs);
        let got = make_service(Some(&res)).map(|s| serde_json::to_value(s).unwrap());
        assert_eq!(got, expected);
    }
    assert_eq!(make_service(None), None);
}

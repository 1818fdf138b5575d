//! The `aws` block and `service`.
//!
//! Upstream `internal/translator/aws.go` `makeAws` and `service.go` `makeService`:
//! - from the resource: account, EC2 (`cloud.platform: aws_ec2` or a `host.id`), ECS
//!   (`aws_ecs`), Elastic Beanstalk (`aws_elastic_beanstalk` with a
//!   `service.instance.id`), EKS (`aws_eks` or a `k8s.cluster.name`), the SDK
//!   (`<telemetry.sdk.name> for <telemetry.sdk.language>`), and CloudWatch log groups
//!   from `aws.log.group.arns`, else `aws.log.group.names` (a list, or one string
//!   with `&` between names), else the exporter's `aws_log_groups`;
//! - from the span: `aws.operation` (else `rpc.method`), `aws.account_id`,
//!   `aws.region`, `aws.request_id`/`aws.requestId`, `aws.queue_url`/`aws.queue.url`
//!   (`messaging.url` wins), `aws.table_name`/`aws.table.name`
//!   (`aws.dynamodb.table_names` wins: one name, or `table_names` for several).
//!
//! The block is left out when `cloud.provider` is set to something other than `aws`.

use stratus_core::pdata::common::{AnyValue, any_value::Value};
use stratus_core::pdata::resource::Resource;

use crate::attrs::{Pool, SpanView, get, non_empty, resource_attrs, str_of, value_of};
use crate::model::{Aws, Beanstalk, Ec2, Ecs, Eks, LogGroup, Service, XRay};

/// Builds the `aws` block, claiming the span's AWS attributes from `pool`.
pub(crate) fn make_aws<'a>(
    view: &SpanView<'a>,
    pool: &mut Pool,
    resource: Option<&'a Resource>,
    config_log_groups: &'a [String],
) -> Option<Aws<'a>> {
    #[derive(Default)]
    struct Res<'a> {
        cloud: &'a str,
        platform: &'a str,
        account: &'a str,
        zone: &'a str,
        host_id: &'a str,
        host_type: &'a str,
        ami_id: &'a str,
        container: &'a str,
        namespace: &'a str,
        deploy_id: &'a str,
        version_label: &'a str,
        sdk_name: &'a str,
        sdk_language: &'a str,
        sdk_version: &'a str,
        auto_version: &'a str,
        container_id: &'a str,
        cluster_name: &'a str,
        pod: &'a str,
        cluster_arn: &'a str,
        container_arn: &'a str,
        task_arn: &'a str,
        task_family: &'a str,
        launch_type: &'a str,
        log_groups: Option<&'a AnyValue>,
        log_group_arns: Option<&'a AnyValue>,
    }
    let mut r = Res::default();
    for kv in resource_attrs(resource) {
        let v = value_of(kv);
        let s = str_of(v);
        match kv.key.as_str() {
            "cloud.provider" => r.cloud = s,
            "cloud.platform" => r.platform = s,
            "cloud.account.id" => r.account = s,
            "cloud.availability_zone" => r.zone = s,
            "host.id" => r.host_id = s,
            "host.type" => r.host_type = s,
            "host.image.id" => r.ami_id = s,
            // The first container name wins.
            "container.name" if r.container.is_empty() => r.container = s,
            "k8s.pod.name" => r.pod = s,
            "service.namespace" => r.namespace = s,
            "service.instance.id" => r.deploy_id = s,
            "service.version" => r.version_label = s,
            "telemetry.sdk.name" => r.sdk_name = s,
            "telemetry.sdk.language" => r.sdk_language = s,
            "telemetry.sdk.version" => r.sdk_version = s,
            "telemetry.auto.version" | "telemetry.distro.version" => r.auto_version = s,
            "container.id" => r.container_id = s,
            "k8s.cluster.name" => r.cluster_name = s,
            "aws.ecs.cluster.arn" => r.cluster_arn = s,
            "aws.ecs.container.arn" => r.container_arn = s,
            "aws.ecs.task.arn" => r.task_arn = s,
            "aws.ecs.task.family" => r.task_family = s,
            "aws.ecs.launchtype" => r.launch_type = s,
            "aws.log.group.names" => r.log_groups = Some(v),
            "aws.log.group.arns" => r.log_group_arns = Some(v),
            _ => {}
        }
    }

    let span = view.span;
    let mut account = r.account;
    let operation = pool
        .find(span, "aws.operation")
        .or_else(|| pool.find(span, "rpc.method"))
        .map_or("", |i| str_of(value_of(&span.attributes[i])));
    let (mut region, mut request_id, mut queue_url, mut table_name) = ("", "", "", "");
    let mut messaging_url = None;
    let mut dynamodb_tables = None;
    for i in 0..span.attributes.len() {
        if !pool.is_free(i) {
            continue;
        }
        let kv = &span.attributes[i];
        let v = value_of(kv);
        match kv.key.as_str() {
            // Read above, deterministically: aws.operation before rpc.method.
            "rpc.method" | "aws.operation" => {}
            "aws.account_id" => {
                if v.value.is_some() {
                    account = str_of(v);
                }
            }
            "aws.region" => region = str_of(v),
            "aws.request_id" | "aws.requestId" => request_id = str_of(v),
            "aws.queue_url" | "aws.queue.url" => queue_url = str_of(v),
            "aws.table_name" | "aws.table.name" => table_name = str_of(v),
            // Read, but left in the pool for metadata.
            "messaging.url" => {
                messaging_url = Some(v);
                continue;
            }
            "aws.dynamodb.table_names" => {
                dynamodb_tables = Some(v);
                continue;
            }
            _ => continue,
        }
        pool.take(i);
    }
    if r.cloud != "aws" && !r.cloud.is_empty() {
        // Not AWS: no block.
        return None;
    }

    // The semantic conventions win for SQS and DynamoDB.
    if let Some(v) = messaging_url {
        queue_url = str_of(v);
    }
    let mut table_names = Vec::new();
    if let Some(v) = dynamodb_tables {
        match &v.value {
            Some(Value::ArrayValue(a)) if a.values.len() == 1 => table_name = str_of(&a.values[0]),
            Some(Value::ArrayValue(a)) if a.values.len() > 1 => {
                table_name = "";
                table_names = a.values.iter().map(str_of).collect();
            }
            Some(Value::StringValue(s)) => table_name = s,
            _ => {}
        }
    }

    let ec2 = (r.platform == "aws_ec2" || !r.host_id.is_empty()).then(|| Ec2 {
        instance_id: non_empty(r.host_id),
        availability_zone: non_empty(r.zone),
        instance_size: non_empty(r.host_type),
        ami_id: non_empty(r.ami_id),
    });
    let ecs = (r.platform == "aws_ecs").then(|| Ecs {
        container: non_empty(r.container),
        container_id: non_empty(r.container_id),
        task_arn: non_empty(r.task_arn),
        task_family: non_empty(r.task_family),
        cluster_arn: non_empty(r.cluster_arn),
        container_arn: non_empty(r.container_arn),
        availability_zone: non_empty(r.zone),
        launch_type: non_empty(r.launch_type),
    });
    let elastic_beanstalk = (r.platform == "aws_elastic_beanstalk" && !r.deploy_id.is_empty())
        .then(|| Beanstalk {
            environment_name: non_empty(r.namespace),
            version_label: non_empty(r.version_label),
            deployment_id: r.deploy_id.parse().unwrap_or(0),
        });
    let eks = (r.platform == "aws_eks" || !r.cluster_name.is_empty()).then(|| Eks {
        cluster_name: non_empty(r.cluster_name),
        pod: non_empty(r.pod),
        container_id: non_empty(r.container_id),
    });

    // Log group ARNs and names go in one list: names from the ARNs first, else the
    // names, else the config's.
    let from_arns = r.log_group_arns.map(log_group_list).unwrap_or_default();
    let from_names = r.log_groups.map(log_group_list).unwrap_or_default();
    let cloudwatch_logs = if !from_arns.is_empty() {
        from_arns
            .into_iter()
            .map(|arn| LogGroup {
                log_group: non_empty(log_group_of_arn(arn)),
                arn: non_empty(arn),
            })
            .collect()
    } else if !from_names.is_empty() {
        from_names.into_iter().map(log_group_named).collect()
    } else {
        config_log_groups
            .iter()
            .map(|n| log_group_named(n.as_str()))
            .collect()
    };

    let sdk = if !r.sdk_name.is_empty() && !r.sdk_language.is_empty() {
        // X-Ray's own SDKs say `X-Ray SDK for Java`; this gives `opentelemetry for java`.
        Some(format!("{} for {}", r.sdk_name, r.sdk_language).into())
    } else {
        non_empty(r.sdk_name).map(Into::into)
    };

    Some(Aws {
        elastic_beanstalk,
        cloudwatch_logs,
        ecs,
        ec2,
        eks,
        xray: XRay {
            sdk,
            sdk_version: non_empty(r.sdk_version),
            auto_instrumentation: !r.auto_version.is_empty(),
        },
        account_id: non_empty(account),
        operation: non_empty(operation),
        region: non_empty(region),
        request_id: non_empty(request_id),
        queue_url: non_empty(queue_url),
        table_name: non_empty(table_name),
        table_names,
    })
}

fn log_group_named(name: &str) -> LogGroup<'_> {
    LogGroup {
        log_group: non_empty(name),
        arn: None,
    }
}

/// `normalizeToSlice`: a list as it is, one string split at `&` (empty parts
/// dropped: `OTEL_RESOURCE_ATTRIBUTES` cannot hold a list), anything else nothing.
fn log_group_list(v: &AnyValue) -> Vec<&str> {
    match &v.value {
        Some(Value::StringValue(s)) => s.split('&').filter(|p| !p.is_empty()).collect(),
        Some(Value::ArrayValue(a)) => a.values.iter().map(str_of).collect(),
        _ => Vec::new(),
    }
}

/// `parseLogGroup`: the group name is the 7th `:`-separated part of its ARN
/// (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`); anything shorter is
/// taken as the name.
fn log_group_of_arn(arn: &str) -> &str {
    arn.split(':').nth(6).unwrap_or(arn)
}

/// Builds `service`: `service.version`, else `container.image.tag`.
pub(crate) fn make_service(resource: Option<&Resource>) -> Option<Service<'_>> {
    let attrs = resource_attrs(resource);
    get(attrs, "service.version")
        .or_else(|| get(attrs, "container.image.tag"))
        .map(|v| Service {
            version: non_empty(str_of(v)),
        })
}

#[cfg(test)]
mod tests;

//! The `ecs` detector: the ECS task metadata endpoint, version 4 (version 3 as a
//! fallback), at `ECS_CONTAINER_METADATA_URI_V4` (`ECS_CONTAINER_METADATA_URI`).
//!
//! `GET ${uri}/task` gives the task (ARN, family, revision, cluster, zone, launch type,
//! containers); `GET ${uri}` gives the collector's own container, which is left out of
//! the `aws.log.*` lists (the collector is assumed to run as a sidecar): those list
//! the CloudWatch log groups and streams of the task's other running `awslogs`
//! containers.
//!
//! Neither variable set: not on ECS, nothing added (an error with
//! `fail_on_missing_metadata`). The task request failing fails detection; the
//! container request failing keeps the task attributes and logs a warning (an error
//! with `fail_on_missing_metadata`).

use async_trait::async_trait;
use http::{Method, StatusCode};
use serde::Deserialize;

use super::{
    AttrSpec, DetectContext, DetectError, DetectedResource, Detector, ResourceBuilder,
    SCHEMA_1_39_0, Toggles, attr,
};
use crate::config::EcsConfig;

/// Upstream's attributes for `ecs`, all on by default.
pub(crate) const ATTRIBUTES: &[AttrSpec] = &[
    attr("aws.ecs.cluster.arn", true),
    attr("aws.ecs.launchtype", true),
    attr("aws.ecs.task.arn", true),
    attr("aws.ecs.task.family", true),
    attr("aws.ecs.task.id", true),
    attr("aws.ecs.task.revision", true),
    attr("aws.log.group.arns", true),
    attr("aws.log.group.names", true),
    attr("aws.log.stream.arns", true),
    attr("aws.log.stream.names", true),
    attr("cloud.account.id", true),
    attr("cloud.availability_zone", true),
    attr("cloud.platform", true),
    attr("cloud.provider", true),
    attr("cloud.region", true),
];

/// The v4 endpoint variable.
pub(crate) const V4_VAR: &str = "ECS_CONTAINER_METADATA_URI_V4";
/// The v3 endpoint variable.
pub(crate) const V3_VAR: &str = "ECS_CONTAINER_METADATA_URI";

/// The task metadata fields used.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TaskMetadata {
    #[serde(rename = "AvailabilityZone")]
    pub availability_zone: String,
    #[serde(rename = "Cluster")]
    pub cluster: String,
    #[serde(rename = "Containers")]
    pub containers: Vec<ContainerMetadata>,
    #[serde(rename = "Family")]
    pub family: String,
    #[serde(rename = "LaunchType")]
    pub launch_type: String,
    #[serde(rename = "Revision")]
    pub revision: String,
    #[serde(rename = "TaskARN")]
    pub task_arn: String,
}

/// The container metadata fields used.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContainerMetadata {
    #[serde(rename = "DockerId")]
    pub docker_id: String,
    #[serde(rename = "KnownStatus")]
    pub known_status: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "LogDriver")]
    pub log_driver: String,
    #[serde(rename = "LogOptions")]
    pub log_options: LogOptions,
}

/// The `awslogs` options of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct LogOptions {
    #[serde(rename = "awslogs-group")]
    pub group: String,
    #[serde(rename = "awslogs-region")]
    pub region: String,
    #[serde(rename = "awslogs-stream")]
    pub stream: String,
}

/// Detects the ECS task.
#[derive(Debug)]
pub(crate) struct EcsDetector {
    toggles: Toggles,
    fail_on_missing: bool,
}

impl EcsDetector {
    pub(crate) fn new(config: &EcsConfig, fail_on_missing: bool) -> Self {
        EcsDetector {
            toggles: Toggles::new("ecs", ATTRIBUTES, &config.resource_attributes),
            fail_on_missing,
        }
    }
}

/// The task metadata endpoint from the environment: v4, else v3; `None` when neither
/// holds an absolute URL.
pub(crate) fn endpoint(env: &dyn crate::environment::Environment) -> Option<String> {
    [V4_VAR, V3_VAR].iter().find_map(|var| {
        let v = env.var(var)?.trim().trim_end_matches('/').to_string();
        let uri: http::Uri = v.parse().ok()?;
        (uri.scheme().is_some() && uri.authority().is_some()).then_some(v)
    })
}

async fn fetch<T: serde::de::DeserializeOwned>(
    cx: &DetectContext,
    url: &str,
    what: &str,
) -> Result<T, DetectError> {
    let answer = cx
        .http
        .send(Method::GET, url, &[], cx.deadline, None)
        .await
        .map_err(|e| DetectError::http(what, &e))?;
    if answer.status != StatusCode::OK {
        return Err(DetectError::new(
            "http_status",
            format!("{what}: {url} answered {}", answer.status),
        ));
    }
    serde_json::from_slice(&answer.body).map_err(|e| {
        DetectError::new(
            "invalid_response",
            format!("{what}: unexpected answer from {url}: {e}"),
        )
    })
}

#[async_trait]
impl Detector for EcsDetector {
    fn name(&self) -> &'static str {
        "ecs"
    }

    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError> {
        let Some(base) = endpoint(cx.env.as_ref()) else {
            if self.fail_on_missing {
                return Err(DetectError::new(
                    "not_detected",
                    format!(
                        "ECS task metadata endpoint not detected: neither {V4_VAR} nor {V3_VAR} holds a URL"
                    ),
                ));
            }
            tracing::debug!("no ECS task metadata endpoint; ecs detector adds nothing");
            return Ok(DetectedResource::default());
        };
        let task: TaskMetadata =
            fetch(cx, &format!("{base}/task"), "unable to fetch task metadata").await?;
        let mut rb = ResourceBuilder::new(&self.toggles);
        rb.put_str("cloud.provider", "aws");
        rb.put_str("cloud.platform", "aws_ecs");
        rb.put_str("aws.ecs.task.arn", task.task_arn.clone());
        rb.put_str("aws.ecs.task.family", task.family.clone());
        rb.put_str("aws.ecs.task.revision", task.revision.clone());
        let (region, account, task_id) = parse_task_arn(&task.task_arn);
        if !account.is_empty() {
            rb.put_str("cloud.account.id", account.clone());
        }
        if !region.is_empty() {
            rb.put_str("cloud.region", region.clone());
        }
        if !task_id.is_empty() {
            rb.put_str("aws.ecs.task.id", task_id);
        }
        rb.put_str(
            "aws.ecs.cluster.arn",
            cluster_arn(&task.cluster, &region, &account),
        );
        if !task.availability_zone.is_empty() {
            rb.put_str("cloud.availability_zone", task.availability_zone.clone());
        }
        match task.launch_type.to_ascii_lowercase().as_str() {
            "ec2" => rb.put_str("aws.ecs.launchtype", "ec2"),
            "fargate" => rb.put_str("aws.ecs.launchtype", "fargate"),
            _ => {}
        }
        let own: Result<ContainerMetadata, DetectError> =
            fetch(cx, &base, "unable to fetch container metadata").await;
        match own {
            Ok(own) => add_log_data(&mut rb, &task.containers, &own, &account),
            Err(e) if self.fail_on_missing => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "ecs detector: no container metadata; aws.log.* left out");
            }
        }
        Ok(rb.finish(SCHEMA_1_39_0))
    }
}

/// Region, account and task id from a task ARN (old `task/<id>` and new
/// `task/<cluster>/<id>` forms); empty strings when it is not an ARN.
pub(crate) fn parse_task_arn(arn: &str) -> (String, String, String) {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() >= 6 {
        let task_id = parts[5].rsplit('/').next().unwrap_or("");
        return (
            parts[3].to_string(),
            parts[4].to_string(),
            task_id.to_string(),
        );
    }
    (String::new(), String::new(), String::new())
}

/// The cluster ARN: the endpoint gives a short name or an ARN.
pub(crate) fn cluster_arn(cluster: &str, region: &str, account: &str) -> String {
    if cluster.contains(':') {
        cluster.to_string()
    } else {
        format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}")
    }
}

/// The log groups and streams of the task's running `awslogs` containers, other than
/// the collector's own.
fn add_log_data(
    rb: &mut ResourceBuilder<'_>,
    containers: &[ContainerMetadata],
    own: &ContainerMetadata,
    account: &str,
) {
    let mut groups = Vec::new();
    let mut group_arns = Vec::new();
    let mut streams = Vec::new();
    let mut stream_arns = Vec::new();
    for c in containers {
        let log = &c.log_options;
        if c.kind == "NORMAL"
            && c.known_status == "RUNNING"
            && c.log_driver == "awslogs"
            && c.docker_id != own.docker_id
            && *log != LogOptions::default()
        {
            let group_arn = format!(
                "arn:aws:logs:{}:{account}:log-group:{}",
                log.region, log.group
            );
            stream_arns.push(format!("{group_arn}:log-stream:{}", log.stream));
            group_arns.push(group_arn);
            groups.push(log.group.clone());
            streams.push(log.stream.clone());
        }
    }
    if !groups.is_empty() {
        rb.put_strs("aws.log.group.names", groups);
        rb.put_strs("aws.log.group.arns", group_arns);
        rb.put_strs("aws.log.stream.names", streams);
        rb.put_strs("aws.log.stream.arns", stream_arns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_arns_both_forms() {
        assert_eq!(
            parse_task_arn(
                "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c"
            ),
            (
                "us-west-2".into(),
                "111122223333".into(),
                "158d1c8083dd49d6b527399fd6414f5c".into()
            )
        );
        assert_eq!(
            parse_task_arn("arn:aws:ecs:eu-west-1:123:task/abc"),
            ("eu-west-1".into(), "123".into(), "abc".into())
        );
        assert_eq!(
            parse_task_arn("not-an-arn"),
            (String::new(), String::new(), String::new())
        );
        assert_eq!(
            cluster_arn("default", "us-west-2", "1"),
            "arn:aws:ecs:us-west-2:1:cluster/default"
        );
        assert_eq!(
            cluster_arn("arn:aws:ecs:x:1:cluster/c", "y", "2"),
            "arn:aws:ecs:x:1:cluster/c"
        );
    }

    #[test]
    fn endpoint_prefers_v4_and_needs_a_url() {
        use crate::environment::FixedEnvironment;
        let both = FixedEnvironment::new()
            .with_var(V4_VAR, " http://169.254.170.2/v4/abc/ ")
            .with_var(V3_VAR, "http://169.254.170.2/v3/abc");
        assert_eq!(
            endpoint(&both).as_deref(),
            Some("http://169.254.170.2/v4/abc")
        );
        let v3 = FixedEnvironment::new()
            .with_var(V4_VAR, "")
            .with_var(V3_VAR, "http://169.254.170.2/v3/abc");
        assert_eq!(
            endpoint(&v3).as_deref(),
            Some("http://169.254.170.2/v3/abc")
        );
        assert_eq!(
            endpoint(&FixedEnvironment::new().with_var(V4_VAR, "nope")),
            None
        );
    }
}

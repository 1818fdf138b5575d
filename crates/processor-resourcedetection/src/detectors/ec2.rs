//! The `ec2` detector: the instance identity document and host name from the EC2
//! instance metadata service (see [`super::imds`] for the protocol and the endpoint).
//!
//! Not on EC2 (the token request or the `instance-id` probe fails): nothing is added
//! and a debug line says why, unless `fail_on_missing_metadata` is set. Once the probe
//! answered, failing to read the document or the host name fails detection.

use async_trait::async_trait;
use regex::Regex;

use super::imds::Session;
use super::{
    AttrSpec, DetectContext, DetectError, DetectedResource, Detector, ResourceBuilder,
    SCHEMA_1_6_1, Toggles, attr, string_value,
};
use crate::config::Ec2Config;

/// Upstream's attributes for `ec2`, all on by default.
pub(crate) const ATTRIBUTES: &[AttrSpec] = &[
    attr("cloud.provider", true),
    attr("cloud.platform", true),
    attr("cloud.region", true),
    attr("cloud.account.id", true),
    attr("cloud.availability_zone", true),
    attr("host.id", true),
    attr("host.image.id", true),
    attr("host.type", true),
    attr("host.name", true),
];

/// Prefix of the attributes made from instance tags.
pub(crate) const TAG_PREFIX: &str = "ec2.tag.";

/// Detects the EC2 instance.
#[derive(Debug)]
pub(crate) struct Ec2Detector {
    toggles: Toggles,
    tags: Vec<Regex>,
    attempts: u32,
    max_backoff: std::time::Duration,
    fail_on_missing: bool,
}

impl Ec2Detector {
    pub(crate) fn new(config: &Ec2Config, fail_on_missing: bool) -> Self {
        Ec2Detector {
            toggles: Toggles::new("ec2", ATTRIBUTES, &config.resource_attributes),
            // Validation checked every pattern.
            tags: config
                .tags
                .iter()
                .filter_map(|t| Regex::new(t).ok())
                .collect(),
            attempts: config.max_attempts,
            max_backoff: config.max_backoff,
            fail_on_missing: fail_on_missing || config.fail_on_missing_metadata,
        }
    }
}

#[async_trait]
impl Detector for Ec2Detector {
    fn name(&self) -> &'static str {
        "ec2"
    }

    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError> {
        super::imds::check_endpoint(cx.env.as_ref())?;
        let session = match Session::open(cx, self.attempts, self.max_backoff).await {
            Ok(s) => s,
            Err(reason) => {
                if self.fail_on_missing {
                    return Err(DetectError::new(
                        "unreachable",
                        format!("EC2 metadata unavailable: {reason}"),
                    ));
                }
                tracing::debug!(%reason, "EC2 metadata unavailable; ec2 detector adds nothing");
                return Ok(DetectedResource::default());
            }
        };
        let doc = session.document().await?;
        let hostname = session.hostname().await?;
        let mut rb = ResourceBuilder::new(&self.toggles);
        rb.put_str("cloud.provider", "aws");
        rb.put_str("cloud.platform", "aws_ec2");
        rb.put_str("cloud.region", doc.region);
        rb.put_str("cloud.account.id", doc.account_id);
        rb.put_str("cloud.availability_zone", doc.availability_zone);
        rb.put_str("host.id", doc.instance_id);
        rb.put_str("host.image.id", doc.image_id);
        rb.put_str("host.type", doc.instance_type);
        rb.put_str("host.name", hostname);
        if !self.tags.is_empty() {
            let tags = session
                .tags(|key| self.tags.iter().any(|re| re.is_match(key)))
                .await?;
            for (key, value) in tags {
                rb.put(format!("{TAG_PREFIX}{key}"), string_value(value));
            }
        }
        Ok(rb.finish(SCHEMA_1_6_1))
    }
}

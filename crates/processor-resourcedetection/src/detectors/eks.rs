//! The `eks` detector: `cloud.provider: aws`, `cloud.platform: aws_eks`, and (when
//! enabled) the node's attributes from the EC2 instance metadata service.
//!
//! Upstream decides "this is EKS" when `KUBERNETES_SERVICE_HOST` is set and the
//! Kubernetes API server's version contains `-eks-`. stratus does not call the
//! Kubernetes API (it would need TLS and RBAC): it reads the pod's service-account
//! token (`/var/run/secrets/kubernetes.io/serviceaccount/token`, a JWT) and decides
//! EKS when its issuer is an EKS OIDC issuer, `https://oidc.eks.<region>.amazonaws.com/id/…`
//! (every EKS cluster issues such tokens). The token itself is never logged.
//!
//! Off by default upstream and here: `cloud.region`, `cloud.account.id`,
//! `cloud.availability_zone`, `host.*` (from IMDS, like `ec2`) and `k8s.cluster.name`
//! (the node's `eks:cluster-name` instance tag, read from IMDS; upstream reads it with
//! `ec2:DescribeInstances`). When IMDS cannot be reached (EKS Auto Mode, pods off the
//! host network), upstream falls back to the Kubernetes and EC2 APIs; stratus takes
//! `cloud.region` from the token issuer and fails detection for the other enabled
//! attributes, as upstream fails when its fallback does.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use async_trait::async_trait;

use super::imds::Session;
use super::{
    AttrSpec, DetectContext, DetectError, DetectedResource, Detector, ResourceBuilder,
    SCHEMA_1_6_1, Toggles, attr,
};
use crate::config::EksConfig;
use crate::environment::Environment;

/// Upstream's attributes for `eks`, with their defaults.
pub(crate) const ATTRIBUTES: &[AttrSpec] = &[
    attr("cloud.provider", true),
    attr("cloud.platform", true),
    attr("cloud.account.id", false),
    attr("cloud.availability_zone", false),
    attr("cloud.region", false),
    attr("host.id", false),
    attr("host.image.id", false),
    attr("host.name", false),
    attr("host.type", false),
    attr("k8s.cluster.name", false),
];

/// Set in every Kubernetes pod.
pub(crate) const KUBERNETES_SERVICE_HOST: &str = "KUBERNETES_SERVICE_HOST";
/// The pod's service-account token.
pub(crate) const TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// The instance tag EKS puts on its nodes.
pub(crate) const CLUSTER_NAME_TAG: &str = "eks:cluster-name";

/// Attributes that come from IMDS (all but the provider, platform and region).
const FROM_IMDS: &[&str] = &[
    "cloud.account.id",
    "cloud.availability_zone",
    "host.id",
    "host.image.id",
    "host.name",
    "host.type",
    "k8s.cluster.name",
];

/// Detects EKS.
#[derive(Debug)]
pub(crate) struct EksDetector {
    toggles: Toggles,
    attempts: u32,
    max_backoff: std::time::Duration,
    fail_on_missing: bool,
}

impl EksDetector {
    pub(crate) fn new(config: &EksConfig, fail_on_missing: bool) -> Self {
        EksDetector {
            toggles: Toggles::new("eks", ATTRIBUTES, &config.resource_attributes),
            attempts: config.max_attempts,
            max_backoff: config.max_backoff,
            fail_on_missing,
        }
    }

    fn wants_imds(&self) -> bool {
        FROM_IMDS.iter().any(|a| self.toggles.on(a)) || self.toggles.on("cloud.region")
    }
}

/// The issuer of the service-account token, if the file holds a JWT.
pub(crate) fn token_issuer(env: &dyn Environment) -> Option<String> {
    let token = env.read_file(TOKEN_FILE)?;
    let payload = token.trim().split('.').nth(1)?;
    let engine = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}

/// The region of an EKS OIDC issuer (`https://oidc.eks.us-west-2.amazonaws.com/id/X`),
/// `None` when the issuer is not EKS's.
pub(crate) fn eks_issuer_region(issuer: &str) -> Option<&str> {
    let host = issuer
        .strip_prefix("https://")
        .unwrap_or(issuer)
        .split('/')
        .next()?;
    let rest = host.strip_prefix("oidc.eks.")?;
    let (region, domain) = rest.split_once('.')?;
    (domain.starts_with("amazonaws.com") && !region.is_empty()).then_some(region)
}

#[async_trait]
impl Detector for EksDetector {
    fn name(&self) -> &'static str {
        "eks"
    }

    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError> {
        let env = cx.env.as_ref();
        let on_k8s = env
            .var(KUBERNETES_SERVICE_HOST)
            .is_some_and(|v| !v.trim().is_empty());
        let issuer = if on_k8s { token_issuer(env) } else { None };
        let region = issuer.as_deref().and_then(eks_issuer_region);
        let Some(region) = region.map(str::to_string) else {
            let why = if !on_k8s {
                format!("{KUBERNETES_SERVICE_HOST} is not set")
            } else if issuer.is_none() {
                format!("no service-account token at {TOKEN_FILE}")
            } else {
                "the service-account token was not issued by EKS".to_string()
            };
            if self.fail_on_missing {
                return Err(DetectError::new(
                    "not_detected",
                    format!("EKS not detected: {why}"),
                ));
            }
            tracing::debug!(reason = %why, "not on EKS; eks detector adds nothing");
            return Ok(DetectedResource::default());
        };
        let mut rb = ResourceBuilder::new(&self.toggles);
        rb.put_str("cloud.provider", "aws");
        rb.put_str("cloud.platform", "aws_eks");
        if !self.wants_imds() {
            return Ok(rb.finish(SCHEMA_1_6_1));
        }
        super::imds::check_endpoint(env)?;
        let session = match Session::open(cx, self.attempts, self.max_backoff).await {
            Ok(s) => s,
            Err(reason) => {
                rb.put_str("cloud.region", region);
                let missing: Vec<&str> = FROM_IMDS
                    .iter()
                    .copied()
                    .filter(|a| self.toggles.on(a))
                    .collect();
                if missing.is_empty() {
                    return Ok(rb.finish(SCHEMA_1_6_1));
                }
                return Err(DetectError::new(
                    "unavailable_attribute",
                    format!(
                        "EKS node attributes {} need the EC2 instance metadata service, which \
                         did not answer ({reason}); stratus has no Kubernetes/EC2 API fallback: \
                         disable them or give the pod access to IMDS",
                        missing.join(", ")
                    ),
                ));
            }
        };
        let doc = session.document().await?;
        rb.put_str("host.id", doc.instance_id);
        rb.put_str("cloud.availability_zone", doc.availability_zone);
        rb.put_str("cloud.region", doc.region);
        rb.put_str("cloud.account.id", doc.account_id);
        rb.put_str("host.image.id", doc.image_id);
        rb.put_str("host.type", doc.instance_type);
        if self.toggles.on("host.name") {
            rb.put_str("host.name", session.hostname().await?);
        }
        if self.toggles.on("k8s.cluster.name") {
            match session.tag(CLUSTER_NAME_TAG).await? {
                Some(name) => rb.put_str("k8s.cluster.name", name),
                None => {
                    return Err(DetectError::new(
                        "unavailable_attribute",
                        format!(
                            "k8s.cluster.name: the node's `{CLUSTER_NAME_TAG}` tag is not in the \
                             instance metadata (enable InstanceMetadataTags on the node group's \
                             launch template), and stratus does not call ec2:DescribeInstances"
                        ),
                    ));
                }
            }
        }
        Ok(rb.finish(SCHEMA_1_6_1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::FixedEnvironment;

    #[test]
    fn issuer_regions() {
        assert_eq!(
            eks_issuer_region(
                "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
            ),
            Some("us-west-2")
        );
        assert_eq!(
            eks_issuer_region("https://oidc.eks.cn-north-1.amazonaws.com.cn/id/X"),
            Some("cn-north-1")
        );
        assert_eq!(
            eks_issuer_region("https://kubernetes.default.svc.cluster.local"),
            None
        );
        assert_eq!(
            eks_issuer_region("https://oidc.prod-aks.azure.com/x/"),
            None
        );
    }

    #[test]
    fn reads_the_issuer_from_the_token() {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = engine
            .encode(br#"{"iss":"https://oidc.eks.eu-west-1.amazonaws.com/id/ABC","sub":"x"}"#);
        let env = FixedEnvironment::new()
            .with_file(TOKEN_FILE, format!("eyJhbGciOiJSUzI1NiJ9.{claims}.sig\n"));
        assert_eq!(
            token_issuer(&env).as_deref(),
            Some("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC")
        );
        let garbage = FixedEnvironment::new().with_file(TOKEN_FILE, "not a jwt");
        assert_eq!(token_issuer(&garbage), None);
    }
}

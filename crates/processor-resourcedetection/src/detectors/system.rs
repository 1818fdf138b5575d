//! The `system` detector: `host.name` and `os.type` (and, when enabled, `host.id`,
//! `host.arch`).
//!
//! `host.name` comes from the first `hostname_sources` entry that yields one:
//! - `dns`: the fully qualified name from the hosts file (`/etc/hosts`): the canonical
//!   name of the first line listing the kernel's host name. Upstream also tries a CNAME
//!   and a reverse lookup; stratus has no DNS resolver, so `dns` falls through to the
//!   next source when the hosts file does not name the host.
//! - `os`: the kernel's host name (`/proc/sys/kernel/hostname`, else `/etc/hostname`).
//!
//! `host.id` is the machine id (`/etc/machine-id`, else `/var/lib/dbus/machine-id`).

use async_trait::async_trait;

use super::{
    AttrSpec, DetectContext, DetectError, DetectedResource, Detector, ResourceBuilder,
    SCHEMA_1_6_1, Toggles, attr, undetected,
};
use crate::config::SystemConfig;
use crate::environment::Environment;

/// Upstream's attributes for `system`, with their defaults.
pub(crate) const ATTRIBUTES: &[AttrSpec] = &[
    attr("host.name", true),
    attr("os.type", true),
    attr("host.id", false),
    attr("host.arch", false),
    undetected("host.cpu.cache.l2.size"),
    undetected("host.cpu.family"),
    undetected("host.cpu.model.id"),
    undetected("host.cpu.model.name"),
    undetected("host.cpu.stepping"),
    undetected("host.cpu.vendor.id"),
    undetected("host.interface"),
    undetected("host.ip"),
    undetected("host.mac"),
    undetected("os.build.id"),
    undetected("os.description"),
    undetected("os.name"),
    undetected("os.version"),
];

/// Where the kernel's host name is read, in order.
const HOSTNAME_FILES: &[&str] = &["/proc/sys/kernel/hostname", "/etc/hostname"];
/// The hosts file `dns` reads.
pub(crate) const HOSTS_FILE: &str = "/etc/hosts";
/// Where the machine id is read, in order.
const MACHINE_ID_FILES: &[&str] = &["/etc/machine-id", "/var/lib/dbus/machine-id"];

/// Detects the host.
#[derive(Debug)]
pub(crate) struct SystemDetector {
    sources: Vec<String>,
    toggles: Toggles,
}

impl SystemDetector {
    pub(crate) fn new(config: &SystemConfig) -> Self {
        let sources = if config.hostname_sources.is_empty() {
            vec!["dns".to_string(), "os".to_string()]
        } else {
            config.hostname_sources.clone()
        };
        SystemDetector {
            sources,
            toggles: Toggles::new("system", ATTRIBUTES, &config.resource_attributes),
        }
    }
}

#[async_trait]
impl Detector for SystemDetector {
    fn name(&self) -> &'static str {
        "system"
    }

    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError> {
        let env = cx.env.as_ref();
        let mut hostname = None;
        for source in &self.sources {
            let found = match source.as_str() {
                "os" => os_hostname(env),
                "dns" => os_hostname(env).and_then(|h| fqdn_from_hosts(env, &h)),
                _ => None,
            };
            match found {
                Some(h) => {
                    hostname = Some(h);
                    break;
                }
                None => tracing::debug!(source = %source, "hostname source found no host name"),
            }
        }
        let Some(hostname) = hostname else {
            return Err(DetectError::new(
                "not_detected",
                "all hostname sources failed to get hostname",
            ));
        };
        let mut rb = ResourceBuilder::new(&self.toggles);
        rb.put_str("host.name", hostname);
        rb.put_str("os.type", os_type());
        if self.toggles.on("host.id") {
            match first_file(env, MACHINE_ID_FILES) {
                Some(id) => rb.put_str("host.id", id),
                None => tracing::warn!("failed to get host ID: no machine id file"),
            }
        }
        rb.put_str("host.arch", host_arch());
        Ok(rb.finish(SCHEMA_1_6_1))
    }
}

fn first_file(env: &dyn Environment, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| {
        env.read_file(p)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    })
}

/// The kernel's host name.
pub(crate) fn os_hostname(env: &dyn Environment) -> Option<String> {
    first_file(env, HOSTNAME_FILES)
}

/// The canonical name of the first hosts-file line that lists `host` (as its canonical
/// name or an alias), if it is not `host` itself or a loopback-only name.
pub(crate) fn fqdn_from_hosts(env: &dyn Environment, host: &str) -> Option<String> {
    let hosts = env.read_file(HOSTS_FILE)?;
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let (Some(_address), Some(canonical)) = (fields.next(), fields.next()) else {
            continue;
        };
        if canonical.eq_ignore_ascii_case(host)
            || fields.any(|alias| alias.eq_ignore_ascii_case(host))
        {
            return Some(canonical.trim_end_matches('.').to_string());
        }
    }
    None
}

/// `os.type` in semantic-conventions spelling.
pub(crate) fn os_type() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "illumos" => "solaris",
        other => other,
    }
}

/// `host.arch` in semantic-conventions spelling.
pub(crate) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AttributeToggle, ResourceAttributes};
    use crate::environment::FixedEnvironment;
    use crate::http::MetadataClient;
    use std::sync::Arc;
    use std::time::Duration;

    fn cx(env: FixedEnvironment) -> DetectContext {
        DetectContext {
            env: Arc::new(env),
            http: MetadataClient::new(),
            deadline: tokio::time::Instant::now() + Duration::from_secs(5),
        }
    }

    fn host() -> FixedEnvironment {
        FixedEnvironment::new()
            .with_file("/proc/sys/kernel/hostname", "node-7\n")
            .with_file(
                HOSTS_FILE,
                "127.0.0.1 localhost\n# 10.0.0.7 wrong.example.com node-7\n\
                 10.0.0.7\tnode-7.prod.example.com node-7   # the node\n",
            )
            .with_file("/etc/machine-id", "4c2c1a2b3d\n")
    }

    fn config(sources: &[&str], attrs: &[(&str, bool)]) -> SystemConfig {
        SystemConfig {
            hostname_sources: sources.iter().map(|s| s.to_string()).collect(),
            resource_attributes: attrs
                .iter()
                .map(|(k, on)| (k.to_string(), AttributeToggle { enabled: Some(*on) }))
                .collect::<ResourceAttributes>(),
        }
    }

    #[tokio::test]
    async fn dns_then_os_by_default() {
        let d = SystemDetector::new(&SystemConfig::default());
        let got = d.detect(&cx(host())).await.unwrap();
        assert_eq!(got.get_str("host.name"), Some("node-7.prod.example.com"));
        assert_eq!(got.get_str("os.type"), Some(os_type()));
        assert_eq!(
            got.attributes.len(),
            2,
            "host.id and host.arch are off by default"
        );
        assert_eq!(got.schema_url, SCHEMA_1_6_1);

        // No hosts-file entry: dns finds nothing and os answers.
        let bare = FixedEnvironment::new().with_file("/etc/hostname", "bare\n");
        let got = d.detect(&cx(bare)).await.unwrap();
        assert_eq!(got.get_str("host.name"), Some("bare"));
    }

    #[tokio::test]
    async fn os_only_and_toggles() {
        let d = SystemDetector::new(&config(
            &["os"],
            &[("host.id", true), ("host.arch", true), ("os.type", false)],
        ));
        let got = d.detect(&cx(host())).await.unwrap();
        assert_eq!(got.get_str("host.name"), Some("node-7"));
        assert_eq!(got.get_str("host.id"), Some("4c2c1a2b3d"));
        assert_eq!(got.get_str("host.arch"), Some(host_arch()));
        assert_eq!(got.get_str("os.type"), None);
    }

    #[tokio::test]
    async fn fails_when_no_source_yields_a_name() {
        let d = SystemDetector::new(&config(&["dns"], &[]));
        let only_kernel = FixedEnvironment::new().with_file("/etc/hostname", "x");
        let err = d.detect(&cx(only_kernel)).await.unwrap_err();
        assert_eq!(err.message, "all hostname sources failed to get hostname");
    }
}

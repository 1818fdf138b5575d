//! TLS versions, cipher suites and key-exchange groups by the names the collector's
//! configs use, mapped onto what rustls with the aws-lc-rs provider implements.

use rustls::SupportedCipherSuite;
use rustls::crypto::SupportedKxGroup;
use rustls::crypto::aws_lc_rs::{cipher_suite as cs, kx_group};

/// A TLS version rustls speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Version {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl Version {
    /// The rustls versions from `min` to `max`, highest first.
    pub(crate) fn range(
        min: Version,
        max: Version,
    ) -> Vec<&'static rustls::SupportedProtocolVersion> {
        let mut versions = Vec::new();
        if min <= Version::Tls13 && Version::Tls13 <= max {
            versions.push(&rustls::version::TLS13);
        }
        if min <= Version::Tls12 && Version::Tls12 <= max {
            versions.push(&rustls::version::TLS12);
        }
        versions
    }
}

/// Parses `min_version` / `max_version` (`"1.2"`, `"1.3"`); empty is `default`.
pub(crate) fn version(text: &str, default: Version) -> Result<Version, String> {
    match text.trim() {
        "" => Ok(default),
        "1.2" => Ok(Version::Tls12),
        "1.3" => Ok(Version::Tls13),
        old @ ("1.0" | "1.1") => Err(format!(
            "TLS {old} is not supported: rustls speaks only TLS 1.2 and 1.3; use `1.2` or `1.3`"
        )),
        other => Err(format!("unknown TLS version `{other}`: use `1.2` or `1.3`")),
    }
}

/// Every cipher suite rustls with aws-lc-rs implements, by its IANA name (which is
/// also Go's `crypto/tls` name).
fn suites() -> [(&'static str, SupportedCipherSuite); 9] {
    [
        ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
        ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
        (
            "TLS_CHACHA20_POLY1305_SHA256",
            cs::TLS13_CHACHA20_POLY1305_SHA256,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ]
}

/// The names `cipher_suites` accepts, for error messages.
fn suite_names() -> String {
    suites()
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks a cipher suite up by name. Takes the IANA/Go names, Go's older names of the
/// ChaCha20 suites (`TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305`) and rustls' own spelling of
/// the TLS 1.3 ones (`TLS13_AES_128_GCM_SHA256`).
pub(crate) fn cipher_suite(name: &str) -> Result<SupportedCipherSuite, String> {
    let name = name.trim();
    let canonical = match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None if name.ends_with("_CHACHA20_POLY1305") => format!("{name}_SHA256"),
        None => name.to_string(),
    };
    if let Some((_, suite)) = suites().into_iter().find(|(n, _)| *n == canonical) {
        return Ok(suite);
    }
    let legacy = name.starts_with("TLS_RSA_WITH_")
        || ["_CBC_", "_RC4_", "_3DES_"]
            .iter()
            .any(|part| name.contains(part));
    if legacy {
        Err(format!(
            "cipher suite `{name}` is not supported: rustls implements only AEAD suites with \
             forward secrecy; use one of {}",
            suite_names()
        ))
    } else {
        Err(format!(
            "unknown cipher suite `{name}`: use one of {}",
            suite_names()
        ))
    }
}

/// The provider's suites for `cipher_suites`: empty keeps rustls' defaults. Naming
/// suites of one TLS version restricts that version to them, in the order given; a
/// version none of the names belongs to keeps its defaults (Go, too, leaves TLS 1.3
/// alone when only TLS 1.2 suites are listed).
pub(crate) fn select_suites(names: &[String]) -> Result<Vec<SupportedCipherSuite>, String> {
    let defaults = rustls::crypto::aws_lc_rs::DEFAULT_CIPHER_SUITES;
    if names.is_empty() {
        return Ok(defaults.to_vec());
    }
    let mut chosen: Vec<SupportedCipherSuite> = Vec::new();
    for name in names {
        let suite = cipher_suite(name)?;
        if !chosen.iter().any(|s| s.suite() == suite.suite()) {
            chosen.push(suite);
        }
    }
    let has13 = chosen.iter().any(|s| s.tls13().is_some());
    let has12 = chosen.iter().any(|s| s.tls13().is_none());
    for suite in defaults {
        let is13 = suite.tls13().is_some();
        if (is13 && !has13) || (!is13 && !has12) {
            chosen.push(*suite);
        }
    }
    Ok(chosen)
}

/// Looks a key-exchange group up by the collector's `curve_preferences` name.
pub(crate) fn kx_group(name: &str) -> Result<&'static dyn SupportedKxGroup, String> {
    match name.trim() {
        "X25519MLKEM768" => Ok(kx_group::X25519MLKEM768),
        "X25519" => Ok(kx_group::X25519),
        "P256" => Ok(kx_group::SECP256R1),
        "P384" => Ok(kx_group::SECP384R1),
        "P521" => Err(
            "curve `P521` is not supported by rustls: use X25519MLKEM768, X25519, P256 or P384"
                .to_string(),
        ),
        other => Err(format!(
            "unknown curve `{other}`: use X25519MLKEM768, X25519, P256 or P384"
        )),
    }
}

/// The provider's key-exchange groups for `curve_preferences`, in preference order:
/// empty keeps rustls' defaults.
pub(crate) fn select_kx_groups(
    names: &[String],
) -> Result<Vec<&'static dyn SupportedKxGroup>, String> {
    if names.is_empty() {
        return Ok(rustls::crypto::aws_lc_rs::DEFAULT_KX_GROUPS.to_vec());
    }
    let mut chosen: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for name in names {
        let group = kx_group(name)?;
        if !chosen.iter().any(|g| g.name() == group.name()) {
            chosen.push(group);
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_by_every_accepted_name() {
        for (name, id) in [
            ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
            ("TLS13_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
            (
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ),
            (
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            ),
        ] {
            let suite = cipher_suite(name).unwrap();
            assert_eq!(format!("{:?}", suite.suite()), id, "{name}");
        }
        let err = cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA").unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        let err = cipher_suite("TLS_RSA_WITH_AES_128_GCM_SHA256").unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        let err = cipher_suite("AES").unwrap_err();
        assert!(err.starts_with("unknown cipher suite `AES`"), "{err}");
        assert!(err.contains("TLS_AES_128_GCM_SHA256"), "{err}");
    }

    #[test]
    fn naming_tls12_suites_keeps_tls13_defaults() {
        let chosen = select_suites(&["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into()]).unwrap();
        let tls12: Vec<_> = chosen.iter().filter(|s| s.tls13().is_none()).collect();
        assert_eq!(tls12.len(), 1);
        assert_eq!(
            format!("{:?}", tls12[0].suite()),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        );
        assert_eq!(chosen.iter().filter(|s| s.tls13().is_some()).count(), 3);
        let chosen = select_suites(&["TLS_AES_256_GCM_SHA384".into()]).unwrap();
        assert_eq!(chosen.iter().filter(|s| s.tls13().is_some()).count(), 1);
        assert_eq!(chosen.iter().filter(|s| s.tls13().is_none()).count(), 6);
    }

    #[test]
    fn versions_and_curves() {
        assert_eq!(version("", Version::Tls12), Ok(Version::Tls12));
        assert_eq!(version("1.3", Version::Tls12), Ok(Version::Tls13));
        assert!(
            version("1.1", Version::Tls12)
                .unwrap_err()
                .contains("rustls")
        );
        assert!(
            version("TLS1.2", Version::Tls12)
                .unwrap_err()
                .contains("unknown")
        );
        assert_eq!(Version::range(Version::Tls13, Version::Tls13).len(), 1);
        assert_eq!(Version::range(Version::Tls12, Version::Tls13).len(), 2);
        let groups = select_kx_groups(&["P384".into(), "X25519".into()]).unwrap();
        assert_eq!(
            groups
                .iter()
                .map(|g| format!("{:?}", g.name()))
                .collect::<Vec<_>>(),
            ["secp384r1", "X25519"]
        );
        assert!(kx_group("P521").unwrap_err().contains("not supported"));
    }
}

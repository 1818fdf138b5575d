//! JSON Web Tokens and keys, verified with aws-lc-rs (the crypto provider rustls
//! already uses): parsing a compact JWS, reading a JWK Set, checking a signature with
//! a key that fits the token's algorithm, and checking the registered claims.
//! Everything here is pure.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::Deserialize;
use serde_json::{Map, Value};
use stratus_core::auth::{AuthError, AuthInfo};

use crate::config::ProviderConfig;

/// Base64url, with or without padding (JWS uses none; some issuers pad JWK values).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest token accepted, in bytes: far above what issuers produce, and a bound on
/// the work an unauthenticated client can cause.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Clock skew allowed on `exp`, in seconds.
pub const EXP_LEEWAY_SECS: f64 = 60.0;

/// Clock skew allowed on `nbf`, in seconds (upstream's, through go-oidc: 5 minutes).
pub const NBF_LEEWAY_SECS: f64 = 300.0;

/// A JWS signature algorithm this extension verifies. `none` and the HMAC
/// algorithms are never accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// Ed25519.
    EdDSA,
}

impl Alg {
    /// Every algorithm, as go-oidc (upstream) supports them.
    pub const ALL: [Alg; 10] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
    ];

    /// The algorithm named `name` (`RS256`), if supported.
    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }
}

/// An elliptic curve of an `EC` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// `P-256`.
    P256,
    /// `P-384`.
    P384,
    /// `P-521`.
    P521,
}

impl Curve {
    fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// A public key's material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An RSA key: big-endian modulus and exponent.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// An EC key as an uncompressed point (`0x04 || x || y`).
    Ec {
        /// The curve.
        curve: Curve,
        /// The uncompressed point.
        point: Vec<u8>,
    },
    /// An Ed25519 key.
    Ed25519 {
        /// The 32-byte public key.
        x: Vec<u8>,
    },
}

/// One verification key of a JWK Set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`, when the key has one.
    pub kid: Option<String>,
    /// `alg`, when the key is restricted to one algorithm.
    pub alg: Option<Alg>,
    /// The key.
    pub key: KeyMaterial,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

fn b64(field: &str, value: Option<&String>) -> Result<Vec<u8>, String> {
    let value = value.ok_or_else(|| format!("missing `{field}`"))?;
    B64.decode(value)
        .map_err(|_| format!("`{field}` is not base64url"))
}

impl Jwk {
    fn from_raw(raw: &RawJwk) -> Result<Jwk, String> {
        let alg = match raw.alg.as_deref() {
            None | Some("") => None,
            Some(name) => {
                Some(Alg::parse(name).ok_or_else(|| format!("unsupported alg `{name}`"))?)
            }
        };
        let key = match raw.kty.as_str() {
            "RSA" => KeyMaterial::Rsa {
                n: b64("n", raw.n.as_ref())?,
                e: b64("e", raw.e.as_ref())?,
            },
            "EC" => {
                let curve = match raw.crv.as_deref() {
                    Some("P-256") => Curve::P256,
                    Some("P-384") => Curve::P384,
                    Some("P-521") => Curve::P521,
                    other => return Err(format!("unsupported EC curve {other:?}")),
                };
                let (x, y) = (b64("x", raw.x.as_ref())?, b64("y", raw.y.as_ref())?);
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err("EC coordinates have the wrong length".into());
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                KeyMaterial::Ec { curve, point }
            }
            "OKP" => match raw.crv.as_deref() {
                Some("Ed25519") => {
                    let x = b64("x", raw.x.as_ref())?;
                    if x.len() != 32 {
                        return Err("Ed25519 key has the wrong length".into());
                    }
                    KeyMaterial::Ed25519 { x }
                }
                other => return Err(format!("unsupported OKP curve {other:?}")),
            },
            other => return Err(format!("unsupported kty `{other}`")),
        };
        let jwk = Jwk {
            kid: raw.kid.clone(),
            alg,
            key,
        };
        if let Some(alg) = alg
            && !jwk.key_fits(alg)
        {
            return Err(format!("alg `{}` does not fit the key type", alg.name()));
        }
        Ok(jwk)
    }

    /// Whether the key's type and curve fit `alg` (ignoring the key's own `alg`).
    fn key_fits(&self, alg: Alg) -> bool {
        use Alg::*;
        match &self.key {
            KeyMaterial::Rsa { .. } => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyMaterial::Ec { curve, .. } => matches!(
                (curve, alg),
                (Curve::P256, ES256) | (Curve::P384, ES384) | (Curve::P521, ES512)
            ),
            KeyMaterial::Ed25519 { .. } => alg == EdDSA,
        }
    }

    /// Whether this key may verify a token signed with `alg`: its type fits, and its
    /// own `alg`, when it has one, is `alg`. The algorithm comes from the key, never
    /// from the token alone.
    pub fn fits(&self, alg: Alg) -> bool {
        self.key_fits(alg) && self.alg.is_none_or(|a| a == alg)
    }

    /// The algorithms this key may verify.
    pub fn algorithms(&self) -> Vec<Alg> {
        Alg::ALL.into_iter().filter(|a| self.fits(*a)).collect()
    }

    /// Whether `signature` is a valid `alg` signature of `message` by this key.
    pub fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        if !self.fits(alg) {
            return false;
        }
        match &self.key {
            KeyMaterial::Rsa { n, e } => {
                let params: &signature::RsaParameters = match alg {
                    Alg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Alg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Alg::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Alg::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .is_ok()
            }
            KeyMaterial::Ec { point, .. } => {
                let params: &'static signature::EcdsaVerificationAlgorithm = match alg {
                    Alg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Alg::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
                    Alg::ES512 => &signature::ECDSA_P521_SHA512_FIXED,
                    _ => return false,
                };
                UnparsedPublicKey::new(params, point)
                    .verify(message, signature)
                    .is_ok()
            }
            KeyMaterial::Ed25519 { x } => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

/// A JWK Set: the keys that could be used, and how many entries were skipped
/// (encryption keys, unsupported types).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    /// The usable verification keys.
    pub keys: Vec<Jwk>,
    /// Entries skipped, for the log.
    pub skipped: usize,
}

impl KeySet {
    /// Parses a JWK Set document (`{"keys": [...]}`). Fails when it is not one or
    /// when no key in it can be used.
    pub fn parse(bytes: &[u8]) -> Result<KeySet, String> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<Value>,
        }
        let doc: Doc = serde_json::from_slice(bytes).map_err(|e| format!("not a JWK Set: {e}"))?;
        let mut set = KeySet::default();
        for entry in doc.keys {
            let parsed = serde_json::from_value::<RawJwk>(entry)
                .map_err(|e| e.to_string())
                .and_then(|raw| {
                    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
                        Err("not a signing key".to_string())
                    } else {
                        Jwk::from_raw(&raw)
                    }
                });
            match parsed {
                Ok(k) => set.keys.push(k),
                Err(_) => set.skipped += 1,
            }
        }
        if set.keys.is_empty() {
            return Err(
                "the JWK Set has no usable key (supported: RSA, EC P-256/P-384/P-521, Ed25519)"
                    .into(),
            );
        }
        Ok(set)
    }

    /// The keys that may verify a token with `kid` (every key when the token names
    /// none) signed with `alg`.
    pub fn candidates(&self, kid: Option<&str>, alg: Alg) -> Vec<&Jwk> {
        self.keys
            .iter()
            .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)) && k.fits(alg))
            .collect()
    }

    /// Every algorithm some key of the set may verify.
    pub fn algorithms(&self) -> Vec<Alg> {
        Alg::ALL
            .into_iter()
            .filter(|a| self.keys.iter().any(|k| k.fits(*a)))
            .collect()
    }
}

/// A compact JWS, parsed but not verified.
#[derive(Debug)]
pub struct Token {
    /// The header's `alg`, as written.
    pub alg: String,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The payload's claims.
    pub claims: Map<String, Value>,
    /// `header.payload`, what the signature covers.
    pub signing_input: String,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl Token {
    /// Parses `raw` (`header.payload.signature`, each base64url). Every failure is
    /// [`AuthFailure::Malformed`](stratus_core::auth::AuthFailure::Malformed).
    pub fn parse(raw: &str) -> Result<Token, AuthError> {
        #[derive(Deserialize)]
        struct Header {
            alg: String,
            #[serde(default)]
            kid: Option<String>,
            #[serde(default)]
            crit: Option<Value>,
        }
        if raw.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::malformed(format!(
                "token longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let mut parts = raw.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::malformed(
                "not a JWT (three dot-separated parts)",
            ));
        };
        let decode = |part: &str, what: &str| {
            B64.decode(part)
                .map_err(|_| AuthError::malformed(format!("the JWT {what} is not base64url")))
        };
        let header: Header = serde_json::from_slice(&decode(h, "header")?)
            .map_err(|_| AuthError::malformed("the JWT header is not a JSON object with `alg`"))?;
        if header.crit.is_some() {
            return Err(AuthError::invalid(
                "the JWT header has `crit` extensions, which are not supported",
            ));
        }
        let claims: Map<String, Value> = serde_json::from_slice(&decode(p, "payload")?)
            .map_err(|_| AuthError::malformed("the JWT payload is not a JSON object"))?;
        let signature = decode(s, "signature")?;
        Ok(Token {
            alg: header.alg,
            kid: header.kid,
            claims,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// The unverified `iss`, to pick the provider by.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }
}

/// A value safe to put in a message: short, printable.
pub fn shown(value: &str) -> String {
    let mut s: String = value
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if value.chars().count() > 64 {
        s.push('…');
    }
    s
}

fn numeric(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| AuthError::invalid(format!("the `{name}` claim is not a number"))),
    }
}

/// Checks a verified token's claims against `provider` at `now` (seconds since the
/// Unix epoch): `iss`, `aud`, `exp`, `nbf`; then reads the subject and groups.
pub fn check_claims(
    claims: &Map<String, Value>,
    provider: &ProviderConfig,
    now: f64,
) -> Result<AuthInfo, AuthError> {
    if !provider.ignore_issuer {
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if iss != provider.issuer_url {
            return Err(AuthError::invalid(format!(
                "the token's issuer `{}` is not `{}`",
                shown(iss),
                provider.issuer_url
            )));
        }
    }
    if !provider.ignore_audience {
        let matches = match claims.get("aud") {
            Some(Value::String(a)) => *a == provider.audience,
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str() == Some(provider.audience.as_str())),
            _ => false,
        };
        if !matches {
            return Err(AuthError::invalid(format!(
                "the token's audience does not include `{}`",
                provider.audience
            )));
        }
    }
    match numeric(claims, "exp")? {
        None => return Err(AuthError::invalid("the token has no `exp` claim")),
        Some(exp) if now > exp + EXP_LEEWAY_SECS => {
            return Err(AuthError::expired("the token has expired"));
        }
        Some(_) => {}
    }
    if let Some(nbf) = numeric(claims, "nbf")?
        && now + NBF_LEEWAY_SECS < nbf
    {
        return Err(AuthError::invalid("the token is not valid yet (`nbf`)"));
    }
    let subject = if provider.username_claim.is_empty() {
        claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    } else {
        match claims.get(&provider.username_claim) {
            None => {
                return Err(AuthError::invalid(format!(
                    "the token has no `{}` claim (username_claim)",
                    provider.username_claim
                )));
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(AuthError::invalid(format!(
                    "the `{}` claim (username_claim) is not a string",
                    provider.username_claim
                )));
            }
        }
    };
    let groups = if provider.groups_claim.is_empty() {
        Vec::new()
    } else {
        match claims.get(&provider.groups_claim) {
            None => {
                return Err(AuthError::invalid(format!(
                    "the token has no `{}` claim (groups_claim)",
                    provider.groups_claim
                )));
            }
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            // Upstream: a claim of another type gives no groups.
            Some(_) => Vec::new(),
        }
    };
    Ok(AuthInfo { subject, groups })
}

/// Encodes bytes as unpadded base64url (for tests and tools that build tokens).
pub fn base64url(bytes: &[u8]) -> String {
    general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::auth::AuthFailure;

    fn provider() -> ProviderConfig {
        ProviderConfig {
            issuer_url: "https://idp".into(),
            audience: "otel".into(),
            ..ProviderConfig::default()
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn failure(v: Value, p: &ProviderConfig) -> AuthFailure {
        check_claims(&claims(v), p, 1000.0).unwrap_err().failure
    }

    #[test]
    fn claims_table() {
        let p = provider();
        let ok = json!({"iss": "https://idp", "aud": "otel", "exp": 2000, "sub": "alice"});
        let info = check_claims(&claims(ok), &p, 1000.0).unwrap();
        assert_eq!(info.subject.as_deref(), Some("alice"));
        assert!(info.groups.is_empty());
        // aud as a list
        check_claims(
            &claims(json!({"iss": "https://idp", "aud": ["a", "otel"], "exp": 2000})),
            &p,
            1000.0,
        )
        .unwrap();
        use AuthFailure::*;
        let cases = [
            (
                json!({"iss": "https://other", "aud": "otel", "exp": 2000}),
                Invalid,
            ),
            (json!({"aud": "otel", "exp": 2000}), Invalid),
            (
                json!({"iss": "https://idp", "aud": "nope", "exp": 2000}),
                Invalid,
            ),
            (
                json!({"iss": "https://idp", "aud": ["nope"], "exp": 2000}),
                Invalid,
            ),
            (json!({"iss": "https://idp", "exp": 2000}), Invalid),
            (json!({"iss": "https://idp", "aud": "otel"}), Invalid),
            (
                json!({"iss": "https://idp", "aud": "otel", "exp": "2000"}),
                Invalid,
            ),
            (
                json!({"iss": "https://idp", "aud": "otel", "exp": 900}),
                Expired,
            ),
            (
                json!({"iss": "https://idp", "aud": "otel", "exp": 2000, "nbf": 1400}),
                Invalid,
            ),
        ];
        for (c, want) in cases {
            assert_eq!(failure(c.clone(), &p), want, "{c}");
        }
        // within the leeways
        check_claims(
            &claims(json!({"iss": "https://idp", "aud": "otel", "exp": 950, "nbf": 1200})),
            &p,
            1000.0,
        )
        .unwrap();
    }

    #[test]
    fn ignore_flags_skip_their_checks() {
        let p = ProviderConfig {
            ignore_audience: true,
            ignore_issuer: true,
            ..provider()
        };
        check_claims(&claims(json!({"iss": "x", "exp": 2000})), &p, 1000.0).unwrap();
    }

    #[test]
    fn username_and_groups_claims() {
        let p = ProviderConfig {
            username_claim: "email".into(),
            groups_claim: "groups".into(),
            ..provider()
        };
        let base = json!({"iss": "https://idp", "aud": "otel", "exp": 2000, "sub": "s"});
        let with = |extra: Value| {
            let mut c = claims(base.clone());
            c.extend(claims(extra));
            c
        };
        let info = check_claims(
            &with(json!({"email": "a@b", "groups": ["ops", "dev", 7]})),
            &p,
            1000.0,
        )
        .unwrap();
        assert_eq!(info.subject.as_deref(), Some("a@b"));
        assert_eq!(info.groups, ["ops", "dev", "7"]);
        let info =
            check_claims(&with(json!({"email": "a@b", "groups": "ops"})), &p, 1000.0).unwrap();
        assert_eq!(info.groups, ["ops"]);
        let info = check_claims(&with(json!({"email": "a@b", "groups": 3})), &p, 1000.0).unwrap();
        assert!(info.groups.is_empty());
        for bad in [
            json!({"groups": "ops"}),
            json!({"email": 1, "groups": "ops"}),
            json!({"email": "a"}),
        ] {
            let err = check_claims(&with(bad.clone()), &p, 1000.0).unwrap_err();
            assert_eq!(err.failure, AuthFailure::Invalid, "{bad}");
        }
    }

    #[test]
    fn malformed_tokens() {
        let h = base64url(br#"{"alg":"RS256"}"#);
        let p = base64url(br#"{"iss":"x"}"#);
        for raw in [
            "".to_string(),
            "abc".to_string(),
            format!("{h}.{p}"),
            format!("{h}.{p}.sig.extra"),
            format!("{h}.!!!.sig"),
            format!("{}.{p}.c2ln", base64url(b"not json")),
            format!("{}.{p}.c2ln", base64url(br#"{"kid":"k"}"#)),
            format!("{h}.{}.c2ln", base64url(b"[1,2]")),
            "a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            let err = Token::parse(&raw).unwrap_err();
            assert_eq!(err.failure, AuthFailure::Malformed, "{}", shown(&raw));
        }
        let t = Token::parse(&format!("{h}.{p}.c2ln")).unwrap();
        assert_eq!(t.alg, "RS256");
        assert_eq!(t.issuer(), Some("x"));
        assert_eq!(t.signature, b"sig");
        let crit = base64url(br#"{"alg":"RS256","crit":["exp"]}"#);
        assert_eq!(
            Token::parse(&format!("{crit}.{p}.c2ln"))
                .unwrap_err()
                .failure,
            AuthFailure::Invalid
        );
    }

    #[test]
    fn jwks_parsing_skips_what_it_cannot_use() {
        let x = base64url(&[1u8; 32]);
        let y = base64url(&[2u8; 32]);
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "r", "alg": "RS256", "n": base64url(&[0xc0; 256]), "e": "AQAB"},
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": x, "y": y},
            {"kty": "OKP", "kid": "d", "crv": "Ed25519", "x": x},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-256", "x": x, "y": base64url(&[2u8; 31])},
            {"kty": "RSA", "alg": "ES256", "n": "AQAB", "e": "AQAB"},
        ]});
        let set = KeySet::parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.keys.len(), 3);
        assert_eq!(set.skipped, 4);
        assert_eq!(set.candidates(Some("r"), Alg::RS256).len(), 1);
        // the key's own alg wins: r is RS256 only
        assert!(set.candidates(Some("r"), Alg::PS256).is_empty());
        assert_eq!(set.candidates(None, Alg::ES256).len(), 1);
        assert!(set.candidates(Some("e"), Alg::ES384).is_empty());
        assert_eq!(set.candidates(Some("d"), Alg::EdDSA).len(), 1);
        assert!(set.candidates(Some("nope"), Alg::RS256).is_empty());
        assert_eq!(set.algorithms(), [Alg::RS256, Alg::ES256, Alg::EdDSA]);
        assert!(KeySet::parse(br#"{"keys": []}"#).is_err());
        assert!(KeySet::parse(b"[]").is_err());
    }

    #[test]
    fn alg_names_round_trip_and_unsafe_ones_are_unknown() {
        for a in Alg::ALL {
            assert_eq!(Alg::parse(a.name()), Some(a));
        }
        for name in ["none", "HS256", "rs256", ""] {
            assert_eq!(Alg::parse(name), None);
        }
    }
}

//! The JWT assertion of the `jwt-bearer` grant (RFC 7523), signed with aws-lc-rs.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value, json};

use crate::config::OAuth2ClientConfig;

/// How long an assertion is valid (upstream's: 30 minutes).
pub const LIFETIME_SECS: u64 = 30 * 60;

/// Signs the assertion for `client_id` with the PEM RSA key `key_pem` at `now` (Unix
/// seconds): `iss` (`iss` or the client id), `sub` (the client id), `aud` (`audience`
/// or `token_url`), `jti`, `iat`, `exp`, `scope` when scopes are set, then `claims`.
pub fn sign(
    config: &OAuth2ClientConfig,
    client_id: &str,
    key_pem: &str,
    now: u64,
) -> Result<String, String> {
    let key = match PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| "the client certificate key is not a PEM private key".to_string())?
    {
        PrivateKeyDer::Pkcs1(k) => KeyPair::from_der(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => KeyPair::from_pkcs8(k.secret_pkcs8_der()),
        _ => return Err("the client certificate key must be an RSA key".into()),
    }
    .map_err(|_| "the client certificate key is not a usable RSA key".to_string())?;
    let (alg, params): (&str, &'static dyn signature::RsaEncoding) =
        match config.signature_algorithm.as_str() {
            "RS384" => ("RS384", &signature::RSA_PKCS1_SHA384),
            "RS512" => ("RS512", &signature::RSA_PKCS1_SHA512),
            _ => ("RS256", &signature::RSA_PKCS1_SHA256),
        };
    let rng = SystemRandom::new();
    let mut jti = [0u8; 16];
    rng.fill(&mut jti)
        .map_err(|_| "no randomness for the assertion id".to_string())?;
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if !config.client_certificate_key_id.is_empty() {
        header["kid"] = json!(config.client_certificate_key_id);
    }
    let mut claims = Map::new();
    let iss = if config.iss.is_empty() {
        client_id
    } else {
        &config.iss
    };
    let aud = if config.audience.is_empty() {
        &config.token_url
    } else {
        &config.audience
    };
    claims.insert("iss".into(), json!(iss));
    claims.insert("sub".into(), json!(client_id));
    claims.insert("jti".into(), json!(hex::encode(jti)));
    claims.insert("aud".into(), json!(aud));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + LIFETIME_SECS));
    if !config.scopes.is_empty() {
        claims.insert("scope".into(), json!(config.scopes.join(" ")));
    }
    for (k, v) in &config.claims {
        claims.insert(k.clone(), v.clone());
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
    );
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(params, &rng, input.as_bytes(), &mut sig)
        .map_err(|_| "signing the assertion failed".to_string())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

//! A local OpenID Connect issuer for the tests: keys made here (aws-lc-rs), tokens
//! signed here, discovery and JWKS served from a recording HTTP server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // test code

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use http::HeaderMap;
use serde_json::{Value, json};
use stratus_extension_oidc::jwt::base64url;
use stratus_testkit::http::{RecordingHttpServer, Response};

/// A signing key with its `kid`.
pub enum Signer {
    /// RS256.
    Rsa(RsaKeyPair, String),
    /// ES256.
    Ec(EcdsaKeyPair, String),
}

impl Signer {
    pub fn rsa(kid: &str) -> Signer {
        Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap(), kid.into())
    }

    pub fn ec(kid: &str) -> Signer {
        Signer::Ec(
            EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            kid.into(),
        )
    }

    pub fn kid(&self) -> &str {
        match self {
            Signer::Rsa(_, k) | Signer::Ec(_, k) => k,
        }
    }

    pub fn alg(&self) -> &'static str {
        match self {
            Signer::Rsa(..) => "RS256",
            Signer::Ec(..) => "ES256",
        }
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        match self {
            Signer::Rsa(kp, kid) => {
                let (n, e) = rsa_components(kp.public_key().as_ref());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                       "n": base64url(n), "e": base64url(e)})
            }
            Signer::Ec(kp, kid) => {
                let point = kp.public_key().as_ref();
                json!({"kty": "EC", "kid": kid, "crv": "P-256",
                       "x": base64url(&point[1..33]), "y": base64url(&point[33..65])})
            }
        }
    }

    fn raw_sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(kp, _) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .unwrap();
                sig
            }
            Signer::Ec(kp, _) => kp.sign(&rng, message).unwrap().as_ref().to_vec(),
        }
    }

    /// A compact JWS of `claims` with header `{"alg", "kid"}` (`header` overrides).
    pub fn sign_with_header(&self, header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let sig = self.raw_sign(input.as_bytes());
        format!("{input}.{}", base64url(&sig))
    }

    /// A compact JWS of `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            json!({"alg": self.alg(), "kid": self.kid(), "typ": "JWT"}),
            claims,
        )
    }
}

/// Reads one DER TLV: (tag, content, rest).
fn der(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, skip) = match input[1] {
        l if l < 0x80 => (l as usize, 2),
        0x81 => (input[2] as usize, 3),
        0x82 => (((input[2] as usize) << 8) | input[3] as usize, 4),
        other => panic!("unexpected DER length byte {other:#x}"),
    };
    (tag, &input[skip..skip + len], &input[skip + len..])
}

/// Modulus and exponent of a PKCS#1 `RSAPublicKey`, without leading zero bytes.
fn rsa_components(pkcs1: &[u8]) -> (&[u8], &[u8]) {
    let (tag, seq, _) = der(pkcs1);
    assert_eq!(tag, 0x30);
    let (_, n, rest) = der(seq);
    let (_, e, _) = der(rest);
    let trim = |b: &[u8]| -> usize { b.iter().take_while(|x| **x == 0).count() };
    (&n[trim(n)..], &e[trim(e)..])
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims a provider with `issuer` and audience `otel` accepts.
pub fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer, "aud": "otel", "sub": "svc-1", "email": "svc@example.com",
        "groups": ["ingest", "ops"], "iat": now(), "exp": now() + 600,
    })
}

/// `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    h
}

/// An issuer serving discovery and a JWKS.
pub struct Issuer {
    pub server: RecordingHttpServer,
}

impl Issuer {
    pub async fn start(keys: &[&Signer]) -> Issuer {
        let server = RecordingHttpServer::start().await;
        let issuer = Issuer { server };
        let url = issuer.url();
        issuer.server.route(
            "GET",
            "/.well-known/openid-configuration",
            Response::ok().json(&json!({
                "issuer": url,
                "jwks_uri": format!("{url}/jwks"),
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            })),
        );
        issuer.set_keys(keys);
        issuer
    }

    /// The issuer URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Serves these public keys from now on.
    pub fn set_keys(&self, keys: &[&Signer]) {
        let jwks: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
        self.server.route(
            "GET",
            "/jwks",
            Response::ok().json(&json!({ "keys": jwks })),
        );
    }

    /// Makes the JWKS endpoint fail.
    pub fn jwks_down(&self) {
        self.server.route("GET", "/jwks", Response::status(503));
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path == "/jwks")
            .count()
    }
}

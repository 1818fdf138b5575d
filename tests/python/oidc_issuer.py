"""A small OpenID Connect issuer for stratus's end-to-end auth tests.

It stands in for the identity provider a gateway trusts (Keycloak, Entra ID, Hydra):
it serves OIDC discovery and a JWKS, and issues RS256 access tokens by the OAuth 2.0
client-credentials grant. Signing uses the `cryptography` package, so the tokens
stratus checks are made by code that is not stratus's.

Endpoints (all on 127.0.0.1):
  GET  /.well-known/openid-configuration   discovery: issuer, jwks_uri, token_endpoint
  GET  /jwks                               the signing key (RSA, kid "k1")
  POST /oauth2/token                       client_credentials; client auth by HTTP Basic
                                           or by client_id/client_secret in the form
  GET  /mint?aud=A&ttl=S&sub=U             a token minted directly (negative tests:
                                           ttl may be negative, aud anything)
  GET  /stats                              {"token_requests": n, "jwks_requests": n}

The chosen port is written to --port-file once the server listens.
"""

import argparse
import base64
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KID = "k1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint_b64url(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Issuer:
    def __init__(self, args):
        self.args = args
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.lock = threading.Lock()
        self.stats = {"token_requests": 0, "jwks_requests": 0}
        self.base = None

    def count(self, what):
        with self.lock:
            self.stats[what] += 1

    def jwks(self):
        pub = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": KID,
                    "use": "sig",
                    "alg": "RS256",
                    "n": uint_b64url(pub.n),
                    "e": uint_b64url(pub.e),
                }
            ]
        }

    def token(self, sub, aud, ttl, scope=""):
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": KID}
        claims = {
            "iss": self.base,
            "sub": sub,
            "aud": aud,
            "iat": now,
            "nbf": now - 1,
            "exp": now + ttl,
            "email": f"{sub}@example.com",
            "groups": ["telemetry-writers"],
        }
        if scope:
            claims["scope"] = scope
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)


def handler(issuer: Issuer):
    args = issuer.args

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet: the test reads its own results
            pass

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path == "/.well-known/openid-configuration":
                self.send_json(
                    200,
                    {
                        "issuer": issuer.base,
                        "jwks_uri": issuer.base + "/jwks",
                        "token_endpoint": issuer.base + "/oauth2/token",
                        "response_types_supported": ["token"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    },
                )
            elif url.path == "/jwks":
                issuer.count("jwks_requests")
                self.send_json(200, issuer.jwks())
            elif url.path == "/mint":
                aud = query.get("aud", [args.client_id])[0]
                ttl = int(query.get("ttl", ["300"])[0])
                sub = query.get("sub", [args.client_id])[0]
                self.send_json(200, {"access_token": issuer.token(sub, aud, ttl)})
            elif url.path == "/stats":
                with issuer.lock:
                    self.send_json(200, dict(issuer.stats))
            else:
                self.send_json(404, {"error": "not_found"})

        def do_POST(self):
            url = urllib.parse.urlparse(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            if url.path != "/oauth2/token":
                self.send_json(404, {"error": "not_found"})
                return
            issuer.count("token_requests")
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
            client_id = form.get("client_id")
            client_secret = form.get("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                client_id = urllib.parse.unquote_plus(user)
                client_secret = urllib.parse.unquote_plus(password)
            if form.get("grant_type") != "client_credentials":
                self.send_json(400, {"error": "unsupported_grant_type"})
                return
            if client_id != args.client_id or client_secret != args.client_secret:
                self.send_json(401, {"error": "invalid_client"})
                return
            aud = form.get("audience", args.client_id)
            self.send_json(
                200,
                {
                    "access_token": issuer.token(
                        client_id, aud, args.ttl, form.get("scope", "")
                    ),
                    "token_type": "Bearer",
                    "expires_in": args.ttl,
                },
            )

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--client-id", default="tenant1-oidc-client")
    p.add_argument("--client-secret", default="ZXhhbXBsZS1hcHAtc2VjcmV0")
    p.add_argument("--ttl", type=int, default=3600, help="token lifetime, seconds")
    args = p.parse_args()
    issuer = Issuer(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(issuer))
    port = server.server_address[1]
    issuer.base = f"http://127.0.0.1:{port}"
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    import os

    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()

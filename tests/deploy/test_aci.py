"""The ACI ARM template exposes stratus publicly only over TLS with bearer-token
authentication, and keeps every secret in secure parameters."""

import copy
import re

import yaml

from conftest import DEPLOY, REPO, load_json

TEMPLATE = DEPLOY / "aci/azuredeploy.json"
SECRETISH = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CONNECTION_STRING|CREDENTIAL", re.I)


def problems(template):
    out = []
    params = template["parameters"]
    (group,) = [r for r in template["resources"] if r["type"] == "Microsoft.ContainerInstance/containerGroups"]
    props = group["properties"]
    (container,) = props["containers"]
    c = container["properties"]
    for name, p in params.items():
        if SECRETISH.search(name) or name.lower().startswith("tls"):
            if p["type"].lower() != "securestring":
                out.append(f"parameter {name} is not a securestring")
            if "defaultValue" in p:
                out.append(f"parameter {name} has a default value")
    config = None
    for e in c["environmentVariables"]:
        if e["name"] == "STRATUS_CONFIG_YAML":
            config = e["value"]
        elif "value" in e:
            out.append(f"environment variable {e['name']} is a plain value, not a secureValue")
        elif not e.get("secureValue", "").startswith("[parameters("):
            out.append(f"environment variable {e['name']} does not come from a parameter")
    if config is None:
        return out + ["no STRATUS_CONFIG_YAML"]
    if c.get("command", [])[:3] != ["/usr/local/bin/stratus", "--config", "env:STRATUS_CONFIG_YAML"]:
        out.append(f"command {c.get('command')}")
    cfg = yaml.safe_load(config)
    exts = cfg.get("service", {}).get("extensions", [])
    tls_dirs = {m["mountPath"] for m in c.get("volumeMounts", [])}
    secret_volumes = {v["name"] for v in props.get("volumes", []) if "secret" in v}
    for m in c.get("volumeMounts", []):
        if m["name"] not in secret_volumes:
            out.append(f"mount {m['mountPath']} is not a secret volume")
    for proto in ["grpc", "http"]:
        p = cfg["receivers"]["otlp"]["protocols"].get(proto) or {}
        tls = p.get("tls") or {}
        for f in ["cert_file", "key_file"]:
            if not any(str(tls.get(f, "")).startswith(d + "/") for d in tls_dirs):
                out.append(f"{proto}: tls.{f} is not in a mounted secret volume")
        auth = (p.get("auth") or {}).get("authenticator")
        if not auth or not str(auth).split("/")[0] == "bearertokenauth" or auth not in exts:
            out.append(f"{proto}: no bearertokenauth authenticator")
    public = sorted(x["port"] for x in props["ipAddress"]["ports"])
    if public != [4317, 4318]:
        out.append(f"public ports {public}")
    req = c["resources"]["requests"]
    if (req["cpu"], req["memoryInGB"]) != (2, 4):
        out.append(f"resources {req}")
    for probe in ["livenessProbe", "readinessProbe"]:
        if c.get(probe, {}).get("exec", {}).get("command") != ["/usr/local/bin/stratus", "healthcheck"]:
            out.append(f"{probe} is not `stratus healthcheck`")
    return out


def test_the_template_is_safe_to_expose():
    assert problems(load_json(TEMPLATE)) == []


def test_the_config_is_the_config_file_byte_for_byte():
    t = load_json(TEMPLATE)
    env = t["resources"][0]["properties"]["containers"][0]["properties"]["environmentVariables"]
    (value,) = [e["value"] for e in env if e["name"] == "STRATUS_CONFIG_YAML"]
    assert value == (REPO / "config/aci-gateway.yaml").read_text()


def test_the_example_parameters_hold_no_secret_value():
    p = load_json(DEPLOY / "aci/azuredeploy.parameters.example.json")["parameters"]
    for name, v in p.items():
        if SECRETISH.search(name) or name.lower().startswith("tls"):
            assert "reference" in v and "value" not in v, name


def test_a_plain_token_or_an_open_receiver_is_caught():
    t = copy.deepcopy(load_json(TEMPLATE))
    c = t["resources"][0]["properties"]["containers"][0]["properties"]
    for e in c["environmentVariables"]:
        if e["name"] == "STRATUS_BEARER_TOKEN":
            e.pop("secureValue")
            e["value"] = "hunter2"
        if e["name"] == "STRATUS_CONFIG_YAML":
            cfg = yaml.safe_load(e["value"])
            del cfg["receivers"]["otlp"]["protocols"]["http"]["auth"]
            del cfg["receivers"]["otlp"]["protocols"]["grpc"]["tls"]
            e["value"] = yaml.safe_dump(cfg)
    t["parameters"]["bearerToken"]["type"] = "string"
    found = problems(t)
    assert "environment variable STRATUS_BEARER_TOKEN is a plain value, not a secureValue" in found
    assert "http: no bearertokenauth authenticator" in found
    assert "grpc: tls.cert_file is not in a mounted secret volume" in found
    assert "parameter bearerToken is not a securestring" in found

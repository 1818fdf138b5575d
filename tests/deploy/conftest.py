"""Shared helpers for the deployment-file checks (run by scripts/test with pytest).

The linters come from this virtualenv (tests/deploy/requirements.txt); kubectl is
Debian's `kubernetes-client`, whose path scripts/test passes in STRATUS_KUBECTL.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent


def tool(name):
    path = BIN / name
    assert path.exists(), f"{name} is not installed in {BIN}: run scripts/test"
    return str(path)


def run(args, **kw):
    """Runs a command; returns the CompletedProcess with text output."""
    return subprocess.run(args, capture_output=True, text=True, **kw)


def yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomization_dirs():
    return sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))


def patch_files():
    """Files a kustomization uses as patches: partial objects, checked after rendering."""
    out = set()
    for d in kustomization_dirs():
        (k,) = yaml_docs(d / "kustomization.yaml")
        for p in k.get("patchesStrategicMerge", []) or []:
            out.add((d / p).resolve())
        for p in k.get("patchesJson6902", []) or []:
            out.add((d / p["path"]).resolve())
        for p in k.get("patches", []) or []:
            if isinstance(p, dict) and "path" in p:
                out.add((d / p["path"]).resolve())
    return out


def is_kubernetes(doc):
    api = str(doc.get("apiVersion", ""))
    return (
        isinstance(doc, dict)
        and "kind" in doc
        and api
        and not api.startswith("eksctl.io/")
        and not api.startswith("kustomize.config.k8s.io/")
    )


def kubernetes_manifests():
    """Every YAML file under deploy/ that holds Kubernetes objects (not eksctl, Kustomize,
    SAM or patch files)."""
    patches = patch_files()
    out = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        if path.resolve() in patches or path.name == "kustomization.yaml":
            continue
        docs = yaml_docs(path)
        if docs and all(isinstance(d, dict) and is_kubernetes(d) for d in docs):
            out.append(path)
    return out


@pytest.fixture(scope="session")
def kubectl():
    path = os.environ.get("STRATUS_KUBECTL")
    assert path, "STRATUS_KUBECTL names Debian's kubectl (scripts/test fetches it)"
    out = run([path, "version", "--client"])
    assert out.returncode == 0, out.stderr
    return path


def render(kubectl, directory):
    out = run([kubectl, "kustomize", str(directory)])
    assert out.returncode == 0, f"kubectl kustomize {directory}: {out.stderr}"
    return out.stdout


def load_json(path):
    with open(path) as f:
        return json.load(f)

"""Every Kubernetes manifest, and what each kustomization renders with Debian's
kubectl, validates strictly against the Kubernetes 1.28 schemas."""

import pytest
import yaml

from conftest import (
    DEPLOY,
    REPO,
    kubernetes_manifests,
    kustomization_dirs,
    render,
    run,
    tool,
)

K8S_VERSION = "1.28"


def validate(paths):
    out = run([tool("kubernetes-validate"), "--strict", "-k", K8S_VERSION, *map(str, paths)])
    text = out.stdout + out.stderr
    # A WARN means a schema was missing, so the object was not checked at all.
    assert out.returncode == 0 and "WARN" not in text and "ERROR" not in text, text
    return text


def test_the_manifests_are_found():
    names = {p.relative_to(DEPLOY).as_posix() for p in kubernetes_manifests()}
    for want in [
        "eks/daemonset.yaml",
        "eks/service.yaml",
        "eks/configmap.yaml",
        "aks/deployment.yaml",
        "aks/hpa.yaml",
        "aks/pdb.yaml",
        "aks/service-headless.yaml",
        "kubernetes/base/namespace.yaml",
    ]:
        assert want in names, sorted(names)


@pytest.mark.parametrize("path", kubernetes_manifests(), ids=lambda p: str(p.relative_to(REPO)))
def test_manifest_validates_strictly(path):
    validate([path])


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=lambda p: str(p.relative_to(REPO)))
def test_kustomization_renders_and_validates(kubectl, directory, tmp_path):
    rendered = render(kubectl, directory)
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    assert docs, f"{directory} renders nothing"
    out = tmp_path / "rendered.yaml"
    out.write_text(rendered)
    validate([out])


def test_overlays_render_the_workloads(kubectl):
    kinds = {}
    for name in ["eks-agent", "aks-gateway"]:
        rendered = render(kubectl, DEPLOY / "kubernetes/overlays" / name)
        kinds[name] = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(rendered) if d}
    assert ("DaemonSet", "stratus-agent") in kinds["eks-agent"], kinds
    assert ("Deployment", "stratus-gateway") in kinds["aks-gateway"], kinds
    assert ("HorizontalPodAutoscaler", "stratus-gateway") in kinds["aks-gateway"], kinds


def test_a_bad_manifest_fails_validation(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {ports: [{port: 4317}], internalTraficPolicy: Local}\n"
    )
    out = run([tool("kubernetes-validate"), "--strict", "-k", K8S_VERSION, str(bad)])
    assert out.returncode != 0 and "internalTraficPolicy" in out.stdout + out.stderr

"""checkov, offline: no failed check on the Dockerfile, the Kubernetes manifests (as
written and as the overlays render them), the ARM templates and the SAM template;
every skip says why;
and no secret anywhere in deploy/, config/ or the Dockerfile.

Offline (`--skip-download`) checkov has no severities, so this is stricter than the
"no HIGH or CRITICAL" bar: any failed check fails the test."""

import json

from conftest import DEPLOY, REPO, kustomization_dirs, render, run, tool


def checkov(*args):
    out = run([tool("checkov"), "--skip-download", "--quiet", "-o", "json", *args])
    assert out.returncode in (0, 1), out.stderr
    reports = json.loads(out.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    return reports


def failed(reports):
    return [
        (c["check_id"], c["check_name"], c["file_path"], c["resource"])
        for r in reports
        if "results" in r
        for c in r["results"]["failed_checks"]
    ]


def skips_without_reason(reports):
    out = []
    for r in reports:
        for c in r.get("results", {}).get("skipped_checks", []):
            reason = (c.get("check_result") or {}).get("suppress_comment") or ""
            if len(reason.strip()) < 10 or reason == "No comment provided":
                out.append((c["check_id"], c["file_path"]))
    return out


def passed(reports):
    return sum(r.get("summary", {}).get("passed", 0) for r in reports)


def test_the_dockerfile_passes():
    reports = checkov("-f", str(REPO / "Dockerfile"), "--framework", "dockerfile")
    assert failed(reports) == []
    assert skips_without_reason(reports) == []
    assert passed(reports) > 10, reports


def test_the_manifests_and_the_arm_and_sam_templates_pass():
    reports = checkov("-d", str(DEPLOY), "--framework", "kubernetes", "arm", "cloudformation")
    assert failed(reports) == []
    assert skips_without_reason(reports) == []
    assert passed(reports) > 100, [r.get("summary") for r in reports]


def test_the_rendered_overlays_pass(kubectl, tmp_path):
    for d in kustomization_dirs():
        name = d.relative_to(DEPLOY).as_posix().replace("/", "-")
        (tmp_path / f"{name}.yaml").write_text(render(kubectl, d))
    reports = checkov("-d", str(tmp_path), "--framework", "kubernetes")
    assert failed(reports) == []
    assert passed(reports) > 100


def test_no_secret_in_what_we_ship():
    for target in [["-d", str(DEPLOY)], ["-d", str(REPO / "config")], ["-f", str(REPO / "Dockerfile")]]:
        reports = checkov(*target, "--framework", "secrets")
        assert failed(reports) == [], target


def test_a_planted_secret_and_a_root_container_are_caught(tmp_path):
    (tmp_path / "leak.yaml").write_text(
        "env:\n  AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLF\n"
        "  AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ\n"
    )
    assert failed(checkov("-d", str(tmp_path), "--framework", "secrets"))
    (tmp_path / "leak.yaml").unlink()
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\n"
        "spec:\n  containers:\n  - name: c\n    image: busybox\n"
        "    securityContext: {privileged: true}\n"
    )
    ids = {f[0] for f in failed(checkov("-d", str(tmp_path), "--framework", "kubernetes"))}
    assert "CKV_K8S_16" in ids, ids  # privileged container

"""hadolint on the Dockerfile, shellcheck on every shell script we ship."""

from conftest import REPO, run, tool


def shell_scripts():
    out = []
    for d in ["scripts", ".ci", "deploy", "benches"]:
        for path in sorted((REPO / d).rglob("*")):
            if not path.is_file() or "results" in path.parts:
                continue
            try:
                first = path.open("rb").readline()
            except OSError:
                continue
            if first.startswith(b"#!") and (b"bash" in first or b"/sh" in first):
                out.append(path)
    return out


def test_hadolint_passes_on_the_dockerfile():
    out = run([tool("hadolint"), "--failure-threshold", "info", str(REPO / "Dockerfile")])
    assert out.returncode == 0, out.stdout + out.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\n")
    out = run([tool("hadolint"), str(bad)])
    assert out.returncode != 0 and "DL3008" in out.stdout, out.stdout  # unpinned apt


def test_shellcheck_passes_on_every_script():
    scripts = shell_scripts()
    names = {p.relative_to(REPO).as_posix() for p in scripts}
    for want in ["scripts/test", ".ci/run", "scripts/lambda-layer", "deploy/aks/create-cluster.sh"]:
        assert want in names, sorted(names)
    out = run([tool("shellcheck"), "--severity", "style", *map(str, scripts)])
    assert out.returncode == 0, out.stdout + out.stderr


def test_shellcheck_catches_an_unquoted_variable(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text('#!/usr/bin/env bash\nrm -rf $1/build\n')
    out = run([tool("shellcheck"), str(bad)])
    assert out.returncode != 0 and "SC2086" in out.stdout, out.stdout

"""Reproducible images: no image floats (every ``FROM`` and ``image:`` names an exact version
or a digest), the Dockerfile installs Python packages from the lock only, its build context
holds what it copies (and no secrets), ``scripts/pin-images.sh`` writes digests, and the
Dockerfile's build-stage commands, run here on a copy of its build context, produce a working
virtualenv of exactly the locked runtime packages."""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.helpers import REPO, SCRIPTS
from tests.ops.test_compose import COMPOSE, resolved

pytestmark = pytest.mark.ops

DOCKERFILE = REPO / "Dockerfile"
EXACT = re.compile(r"^[a-z0-9][a-z0-9._/-]*:\d+\.\d+\.\d+[A-Za-z0-9._-]*(@sha256:[0-9a-f]{64})?$")
# PostgreSQL numbers its releases MAJOR.MINOR since version 10: 15.13 is one exact release.
EXACT_POSTGRES = re.compile(r"^postgres:1\d\.\d+(-[a-z0-9]+)?(@sha256:[0-9a-f]{64})?$")
DIGEST = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$")
PROJECT_VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def from_images(dockerfile: Path) -> list[str]:
    return re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.MULTILINE)


def compose_images(folder: Path | None = None) -> dict[str, str]:
    services = resolved()["services"] if folder is None else resolved_in(folder)["services"]
    return {name: service["image"] for name, service in services.items()}


def resolved_in(folder: Path) -> dict[str, Any]:
    result = subprocess.run(
        [COMPOSE, "-f", str(folder / "docker-compose.prod.yml"), "config"],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=60,
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def floating(images: list[str]) -> list[str]:
    return [i for i in images if not (EXACT.match(i) or EXACT_POSTGRES.match(i) or DIGEST.match(i))]


def test_no_image_floats() -> None:
    images = from_images(DOCKERFILE)
    assert images and floating(images) == []
    built = f"sms-gateway:{PROJECT_VERSION}"
    for name, image in compose_images().items():
        if name in ("web", "gatewayd", "logrotate"):
            assert image == built, name  # built here, tagged with the project's version
        else:
            assert floating([image]) == [], f"{name}: {image}"
    assert f"SMSGW_IMAGE={built}\n" in (REPO / ".env.example").read_text()
    # what the rule refuses
    moving = [
        "postgres:15",
        "postgres:15-bookworm",
        "redis:7-alpine",
        "nginx:1.26-alpine",
        "python:3.11-slim",
        "nginx:latest",
        "nginx",
    ]
    assert floating(moving) == moving


def test_dockerfile_installs_python_packages_from_the_lock_only() -> None:
    text = DOCKERFILE.read_text()
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    assert "UV_PROJECT_ENVIRONMENT=/opt/sms-gateway/venv" in joined
    assert "UV_PYTHON_DOWNLOADS=never" in joined
    runs = re.findall(r"^RUN (.*)$", joined, flags=re.MULTILINE)
    pip = [r for r in runs if re.search(r"\bpip install\b", r) and "uv pip" not in r]
    assert pip == [
        "pip install --require-hashes --only-binary=:all: --target /opt/uv "
        "-r scripts/uv-requirements.txt"
    ]
    assert any(
        "uv sync --locked --no-editable --no-install-project" in r and "--extra" not in r
        for r in runs
    )
    build = next(r for r in runs if "uv build" in r)
    assert "--build-constraints docker/build-constraints.txt --require-hashes" in build
    assert "uv pip install --python /opt/sms-gateway/venv/bin/python --no-deps" in build
    assert "pip install ." not in joined


def test_build_constraints_pin_the_backend_with_hashes() -> None:
    lines = [
        line
        for line in (REPO / "docker/build-constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    pinned = {}
    for line in lines:
        match = re.fullmatch(r"([a-z0-9-]+)==([0-9.]+) --hash=sha256:[0-9a-f]{64}", line)
        assert match, line
        pinned[match[1]] = match[2]
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in requires:
        name = re.match(r"[a-z0-9-]+", requirement)
        assert name is not None and name[0] in pinned, requirement


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or one of its parent
    folders decides; ``!`` patterns bring paths back."""
    parts = path.split("/")
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!").rstrip("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if "**/" in glob:
            candidates += [p for c in candidates for p in (c.split("/")[-1],)]
            glob = glob.replace("**/", "")
        if any(fnmatch.fnmatchcase(c, glob) for c in candidates):
            verdict = not negated
    return verdict


def dockerignore() -> list[str]:
    return [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def copied_sources() -> list[str]:
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            sources += line.split()[1:-1]
    return sources


def test_build_context_holds_what_is_copied_and_no_secret() -> None:
    patterns = dockerignore()
    for source in copied_sources():
        assert (REPO / source).exists(), source
        assert not ignored(source, patterns), source
    assert not ignored("gatewayd/store/migrations/env.py", patterns)
    assert not ignored("webui/templates/base.html", patterns)
    for private in (
        ".env",
        "secrets/database_url",
        ".git/config",
        ".venv/bin/python",
        "data/gateway.db",
        "logs/app.log",
        "ssl/key.pem",
        "backups/x.sql.gz",
        "scripts/backup.sh",
        "tests/conftest.py",
        "gatewayd/__pycache__/x.pyc",
    ):
        assert ignored(private, patterns), private


OWN_IMAGE_SERVICES = ("web", "gatewayd", "logrotate", "smpp", "smtp")
"""Services that run the gateway's own image (built here, never pinned by digest)."""


def test_pin_images_writes_digests_and_check_tells_what_is_missing(tmp_path: Path) -> None:
    for name in ("Dockerfile", "docker-compose.prod.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    pin = str(SCRIPTS / "pin-images.sh")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pin, "--dir", str(tmp_path), *args], capture_output=True, text=True, timeout=60
        )

    unpinned = run("--check")
    assert unpinned.returncode == 1
    refs = sorted(
        set(from_images(tmp_path / "Dockerfile"))
        | {i for n, i in compose_images(tmp_path).items() if n not in OWN_IMAGE_SERVICES}
    )
    assert unpinned.stdout.splitlines() == [f"pin-images: {r} has no digest" for r in refs]

    for digit in "ab":
        digest = "sha256:" + digit * 64
        written = run(*[arg for r in refs for arg in ("--set", f"{r}={digest}")])
        assert written.returncode == 0, written.stderr
        for ref in refs:
            assert (
                f"{ref}@{digest}"
                in (tmp_path / "Dockerfile").read_text()
                + (tmp_path / "docker-compose.prod.yml").read_text()
            )
    pinned_images = from_images(tmp_path / "Dockerfile") + [
        i for n, i in compose_images(tmp_path).items() if n not in OWN_IMAGE_SERVICES
    ]
    assert all(DIGEST.match(i) and i.endswith("b" * 64) for i in pinned_images), pinned_images
    assert run("--check").returncode == 0
    # without --set it needs a Docker engine, and says so in one line
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        engine = run()
        assert engine.returncode == 1
        assert engine.stderr.strip().count("\n") == 0
        assert "no Docker engine" in engine.stderr
    bad = run("--set", "nginx:1.26.3-alpine=sha256:xyz")
    assert bad.returncode == 2


def test_the_dockerfiles_build_stage_installs_exactly_the_lock(tmp_path: Path) -> None:
    """The build stage's RUN commands, in order, on a copy of the build context (what
    .dockerignore lets through), with this machine's paths for the image's."""
    context = tmp_path / "context"
    patterns = dockerignore()
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO).as_posix()
        if path.is_file() and not ignored(relative, patterns):
            (context / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, context / relative)
    text = re.sub(r"\s*\\\n\s*", " ", DOCKERFILE.read_text())
    stage = text.split("\nFROM ")[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    for line in stage.splitlines():
        if line.startswith("ENV "):
            env |= dict(pair.split("=", 1) for pair in shlex.split(line[4:]))
    venv, uv_dir = tmp_path / "venv", tmp_path / "uv"
    here = {
        "/opt/sms-gateway/venv": str(venv),
        "/opt/uv": str(uv_dir),
        "/tmp/dist": str(tmp_path / "dist"),
        # the interpreter behind this virtualenv (it has pip, as the image's python has)
        "/usr/local/bin/python3": os.path.realpath(sys.executable),
    }
    for key, value in env.items():
        env[key] = here.get(value, value)
    # The image builds without caches (nothing to keep in a layer); here pip and uv use this
    # machine's caches, which `make venv` filled from the same lock: the downloads are
    # skipped, every package is still checked against the lock's hashes and installed.
    del env["PIP_NO_CACHE_DIR"], env["UV_NO_CACHE"]
    for command in re.findall(r"^RUN (.*)$", stage, flags=re.MULTILINE):
        for old, new in here.items():
            command = command.replace(old, new)
        command = re.sub(
            r"^pip install", f"{here['/usr/local/bin/python3']} -m pip install", command
        )
        result = subprocess.run(
            ["sh", "-c", command],
            cwd=context,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"

    wheel = next((tmp_path / "dist").glob("sms_gateway-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "gatewayd/store/alembic.ini" in names
    assert any(n.startswith("webui/templates/") for n in names)
    # exactly the locked runtime packages: uv, asked to sync the environment to the lock
    # without the project, would change nothing but remove the project's own wheel
    check = subprocess.run(
        [
            str(uv_dir / "bin" / "uv"),
            "sync",
            "--locked",
            "--no-editable",
            "--no-install-project",
            "--check",
        ],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    changes = [line.strip() for line in check.stderr.splitlines() if line.startswith(" ")]
    assert "Would uninstall 1 package" in check.stderr, check.stderr
    assert len(changes) == 1 and changes[0].startswith("- sms-gateway==0.1.0"), check.stderr
    version = subprocess.run(
        [str(venv / "bin" / "gatewayd"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.stdout.strip() == f"gatewayd {PROJECT_VERSION}"

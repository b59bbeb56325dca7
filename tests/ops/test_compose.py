"""docker-compose.prod.yml validated by Debian's docker-compose 1.29 (no Docker engine needed),
and the image's helpers — the entrypoint, the ``flask`` shim and the logrotate
configuration — run here as they would in the container."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.helpers import REPO, require

pytestmark = pytest.mark.ops

COMPOSE = require("docker-compose")
COMPOSE_FILE = REPO / "docker-compose.prod.yml"
# Secrets once lived in .env; none of these may be needed (or used) any more.
OLD_SECRET_VARIABLES = ("POSTGRES_PASSWORD", "SMSGW_SECRET_KEY")


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in OLD_SECRET_VARIABLES and not k.startswith(("SMSGW_", "COMPOSE_"))
    }
    return subprocess.run(
        [COMPOSE, "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=REPO,
        timeout=60,
    )


def resolved(*profile: str) -> dict[str, Any]:
    result = compose(*profile, "config")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_config_is_valid_for_docker_compose_1_29() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_env_example_names_every_variable_the_compose_file_uses() -> None:
    import re

    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    example = (REPO / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert used - listed == set()


def test_four_services_and_gatewayd_behind_the_modems_profile() -> None:
    listed = compose("config", "--services")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == {"web", "db", "redis", "nginx", "gatewayd"}
    services = resolved()["services"]
    # `up` without --profile modems starts the four; gatewayd only with the profile
    assert services["gatewayd"]["profiles"] == ["modems"]
    assert all("profiles" not in services[name] for name in ("web", "db", "redis", "nginx"))


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """target -> source of a service's volumes (short syntax, as `config` prints them)."""
    found = {}
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        found[target] = source
    return found


def test_services_as_the_runbook_uses_them() -> None:
    services = resolved("--profile", "modems")["services"]
    db = services["db"]
    assert db["image"].startswith("postgres:15")
    assert db["environment"]["POSTGRES_USER"] == "user"  # psql -U user -d sms_gateway
    assert db["environment"]["POSTGRES_DB"] == "sms_gateway"
    web = services["web"]
    assert web["environment"]["SMSGW_LOG_FILE"] == "/app/logs/app.log"
    assert web["environment"]["SMSGW_DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert mounts(web)["/app/logs"] == str(REPO / "logs")
    nginx_mounts = mounts(services["nginx"])
    assert nginx_mounts["/var/log/nginx"].endswith("/logs/nginx")
    assert nginx_mounts["/etc/nginx/ssl"].endswith("/ssl")
    assert mounts(db)["/backups"] == str(REPO / "backups")
    assert mounts(db)["/var/lib/postgresql/data"] == "pgdata"
    for name in ("web", "db", "redis", "nginx", "gatewayd"):
        assert services[name]["restart"] == "unless-stopped"
        assert "healthcheck" in services[name]
    gatewayd = services["gatewayd"]
    assert gatewayd["group_add"] == ["dialout"]
    assert gatewayd["devices"]
    assert gatewayd["stop_grace_period"] == "90s"


def test_dockerfile_copies_what_exists_and_installs_ops_tools() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert text.splitlines()[2].startswith("FROM python:3.11-slim")
    for line in text.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source
    for package in ("logrotate", "procps", "curl"):
        assert package in text
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored and "gatewayd" not in ignored and "webui" not in ignored


def test_flask_shim_maps_to_webui(tmp_path: Path) -> None:
    fake_webui = tmp_path / "webui"
    fake_webui.write_text('#!/bin/sh\necho "webui $*"\n')
    fake_webui.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    shim = str(REPO / "docker/flask-shim.sh")
    for command in ("list-users", "security-check"):
        result = subprocess.run([shim, command], capture_output=True, text=True, env=env)
        assert result.returncode == 0
        assert result.stdout == f"webui {command}\n"
    unknown = subprocess.run([shim, "db", "upgrade"], capture_output=True, text=True, env=env)
    assert unknown.returncode == 2
    assert "webui --help" in unknown.stderr


def test_entrypoint_ignores_a_missing_config_file_and_runs_the_command(tmp_path: Path) -> None:
    env = {**os.environ, "SMSGW_CONFIG": str(tmp_path / "absent.toml"), "SMSGW_RUN_AS_ROOT": "1"}
    script = REPO / "docker/entrypoint.sh"
    # outside the image there is no /app: run as a non-root user's view of the script
    text = script.read_text().replace('[ "$(id -u)" = 0 ]', "false")
    copy = tmp_path / "entrypoint.sh"
    copy.write_text(text)
    copy.chmod(0o755)
    result = subprocess.run(
        [str(copy), "sh", "-c", 'echo "config=${SMSGW_CONFIG:-unset}"'],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "config=unset\n"
    assert "absent.toml not found" in result.stderr


def test_logrotate_configuration_rotates_app_logs(tmp_path: Path) -> None:
    logrotate = require("logrotate")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text('{"event": "Slow request"}\n')
    (logs / "nginx").mkdir()
    (logs / "nginx" / "access.log").write_text("x\n")
    conf = (REPO / "docker/logrotate.conf").read_text()
    conf = conf.replace("/app/logs/", f"{logs}/").replace("smsgw smsgw", "root root")
    (tmp_path / "sms-gateway").write_text(conf)
    os.chmod(tmp_path / "sms-gateway", 0o644)
    result = subprocess.run(
        [logrotate, "-f", "-s", str(tmp_path / "state"), str(tmp_path / "sms-gateway")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in logs.iterdir())
    assert "app.log" in names  # recreated empty for the application
    assert (logs / "app.log").read_text() == ""
    assert any(name.startswith("app.log-") for name in names)
    assert (logs / "nginx" / "access.log").read_text() == "x\n"  # nginx rotates its own
    shutil.rmtree(logs)


def test_command_wrapper_ignores_a_missing_config_for_exec_commands(tmp_path: Path) -> None:
    wrapper_text = (REPO / "docker/command-wrapper.sh").read_text()
    fake_venv = tmp_path / "venv"
    fake_venv.mkdir()
    (fake_venv / "webui").write_text('#!/bin/sh\necho "config=${SMSGW_CONFIG:-unset} args=$*"\n')
    (fake_venv / "webui").chmod(0o755)
    wrapper = tmp_path / "bin" / "webui"
    wrapper.parent.mkdir()
    wrapper.write_text(wrapper_text.replace("/opt/sms-gateway/venv/bin", str(fake_venv)))
    wrapper.chmod(0o755)
    present = tmp_path / "gatewayd.toml"
    present.write_text("")
    for config, expected in ((tmp_path / "absent.toml", "unset"), (present, str(present))):
        result = subprocess.run(
            [str(wrapper), "list-users"],
            capture_output=True,
            text=True,
            env={**os.environ, "SMSGW_CONFIG": str(config)},
        )
        assert result.stdout == f"config={expected} args=list-users\n"

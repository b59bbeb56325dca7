"""docker-compose.prod.yml validated by Debian's docker-compose 1.29 (no Docker engine needed),
and the image's helpers — the entrypoint, the ``flask`` shim and the logrotate
configuration — run here as they would in the container."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
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


STARTED_BY_UP = """
import json, sys
from compose.cli.command import get_config_from_options, get_profiles_from_options
from compose.config.environment import Environment
from compose.service import Service

options = {"--file": [sys.argv[1]]}
config = get_config_from_options(".", options)
profiles = get_profiles_from_options(options, Environment.from_env_file("."))
started = []
for spec in config.services:
    spec = dict(spec)
    name = spec.pop("name")
    if Service(name, client=None, project="stack", **spec).enabled_for_profiles(profiles):
        started.append(name)
print(json.dumps(sorted(started)))
"""


def started_by_up(tmp_path: Path, env_text: str) -> list[str]:
    """The services `docker-compose -f docker-compose.prod.yml up -d` starts with this .env,
    decided by docker-compose 1.29's own code (the Debian package's Python modules)."""
    (tmp_path / ".env").write_text(env_text)
    result = subprocess.run(
        ["/usr/bin/python3", "-c", STARTED_BY_UP, str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    started: list[str] = json.loads(result.stdout)
    return started


EVERY_SERVICE = ["db", "gatewayd", "logrotate", "nginx", "redis", "web"]
"""What ``up -d`` starts with the shipped .env; the SMPP server (profile ``smpp``) and the
email-to-SMS server (profile ``smtp``) only when asked."""


def test_up_with_the_shipped_env_starts_the_whole_product(tmp_path: Path) -> None:
    listed = compose("config", "--services")
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted([*EVERY_SERVICE, "smpp", "smtp"])
    # `down` then `up -d`, as the runbook writes them, bring gatewayd back
    assert started_by_up(tmp_path, (REPO / ".env.example").read_text()) == EVERY_SERVICE
    # a host whose gatewayd runs under systemd leaves the profile out of .env
    without = "\n".join(
        line
        for line in (REPO / ".env.example").read_text().splitlines()
        if not line.startswith("COMPOSE_PROFILES=")
    )
    assert started_by_up(tmp_path, without) == [s for s in EVERY_SERVICE if s != "gatewayd"]
    # so nothing else may depend on gatewayd (docker-compose refuses a disabled dependency)
    services = resolved()["services"]
    assert services["gatewayd"]["profiles"] == ["modems"]
    for name, service in services.items():
        assert "gatewayd" not in service.get("depends_on", {}), name
    with_smpp = (
        (REPO / ".env.example")
        .read_text()
        .replace("COMPOSE_PROFILES=modems\n", "COMPOSE_PROFILES=modems,smpp\n")
    )
    assert started_by_up(tmp_path, with_smpp) == sorted([*EVERY_SERVICE, "smpp"])
    smpp = resolved("--profile", "smpp")["services"]["smpp"]
    assert smpp["command"] == ["webui", "smpp"]
    assert smpp["environment"]["SMSGW_SMPP_LISTEN"] == "0.0.0.0:2775"
    with_smtp = (
        (REPO / ".env.example")
        .read_text()
        .replace("COMPOSE_PROFILES=modems\n", "COMPOSE_PROFILES=modems,smtp\n")
    )
    assert started_by_up(tmp_path, with_smtp) == sorted([*EVERY_SERVICE, "smtp"])
    smtp = resolved("--profile", "smtp")["services"]["smtp"]
    assert smtp["command"] == ["webui", "smtp"]
    assert smtp["environment"]["SMSGW_SMTP_LISTEN"] == "0.0.0.0:2525"


def test_gatewayd_migrates_when_it_starts_and_web_waits_for_the_schema() -> None:
    services = resolved()["services"]
    gatewayd = services["gatewayd"]["environment"]
    web = services["web"]["environment"]
    assert gatewayd["SMSGW_MIGRATE_ON_START"] == "1"
    assert "SMSGW_WAIT_FOR_SCHEMA" not in gatewayd
    assert "SMSGW_MIGRATE_ON_START" not in web
    assert int(web["SMSGW_WAIT_FOR_SCHEMA"]) >= 60


def test_every_service_has_resource_limits() -> None:
    for name, service in resolved()["services"].items():
        assert service.get("mem_limit"), name
        assert 0 < float(service.get("cpus", 0)) <= 4, name
        assert 0 < int(service.get("pids_limit", 0)) <= 1024, name


def test_logs_are_rotated_on_schedule_with_state_on_a_volume() -> None:
    services = resolved()["services"]
    rotation = services["logrotate"]
    assert rotation["entrypoint"] == ["/usr/local/lib/sms-gateway/logrotate-loop"]
    assert rotation["image"] == services["web"]["image"]
    assert mounts(rotation)["/app/logs"] == str(REPO / "logs")
    # nginx writes logs/nginx, which the logrotate service sees under /app/logs/nginx
    assert mounts(services["nginx"])["/var/log/nginx"] == str(REPO / "logs" / "nginx")
    # one state, kept across recreated containers, for the schedule and the runbook's command
    assert mounts(rotation)["/var/lib/logrotate"] == "logrotate-state"
    assert mounts(services["web"])["/var/lib/logrotate"] == "logrotate-state"
    assert "logrotate-state" in resolved()["volumes"]


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


def test_dockerfile_is_python_3_11_and_installs_ops_tools() -> None:
    text = (REPO / "Dockerfile").read_text()
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert froms and all(image.startswith("python:3.11.") for image in froms)
    for package in ("logrotate", "procps", "curl"):
        assert package in text


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


def logrotate_configuration(tmp_path: Path, logs: Path) -> Path:
    """The image's two logrotate files, for ``logs`` instead of /app/logs (and root, as the
    test runs, instead of smsgw)."""
    conf = tmp_path / "logrotate.conf"
    text = "".join(
        (REPO / "docker" / name).read_text() for name in ("logrotate.conf", "logrotate-nginx.conf")
    )
    conf.write_text(text.replace("/app/logs/", f"{logs}/").replace("smsgw smsgw", "root root"))
    conf.chmod(0o644)
    return conf


def test_logrotate_configuration_rotates_app_and_nginx_logs(tmp_path: Path) -> None:
    logrotate = require("logrotate")
    logs = tmp_path / "logs"
    (logs / "nginx").mkdir(parents=True)
    (logs / "app.log").write_text('{"event": "Slow request"}\n')
    access = logs / "nginx" / "access.log"
    access.write_text('203.0.113.7 - - "GET / HTTP/1.1" 429 Rate limit exceeded (nginx)\n')
    (logs / "nginx" / "error.log").write_text("an error\n")
    inode = access.stat().st_ino
    conf = logrotate_configuration(tmp_path, logs)
    result = subprocess.run(
        [logrotate, "-f", "-s", str(tmp_path / "state"), str(conf)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in logs.iterdir())
    assert "app.log" in names  # recreated empty for the application
    assert (logs / "app.log").read_text() == ""
    assert any(name.startswith("app.log-") for name in names)
    # nginx keeps writing to the same open file: copied, then truncated in place
    assert access.stat().st_ino == inode and access.read_text() == ""
    rotated = [p for p in (logs / "nginx").iterdir() if p.name.startswith("access.log-")]
    assert len(rotated) == 1 and "Rate limit exceeded" in rotated[0].read_text()
    assert any(p.name.startswith("error.log-") for p in (logs / "nginx").iterdir())
    shutil.rmtree(logs)


def test_logrotate_loop_rotates_on_schedule_and_stops_at_once(tmp_path: Path) -> None:
    require("logrotate")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("x" * 200)
    conf = logrotate_configuration(tmp_path, logs)
    # rotate by size here, so that each pass of the loop has work only when there is some
    conf.write_text(conf.read_text().replace("maxsize 100M", "size 100"))
    loop = tmp_path / "logrotate-loop"
    loop.write_text(
        (REPO / "docker/logrotate-loop.sh")
        .read_text()
        .replace("logrotate /etc/logrotate.conf", f"logrotate -s {tmp_path / 'state'} {conf}")
    )
    loop.chmod(0o755)
    process = subprocess.Popen(
        [str(loop)],
        env={**os.environ, "SMSGW_LOGROTATE_INTERVAL": "0.1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(p.name.startswith("app.log-") for p in logs.iterdir()):
            assert time.monotonic() < deadline, "no rotation"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        # the next pass finds a new big log and rotates it too
        (logs / "app.log").write_text("y" * 200)
        while len([p for p in logs.iterdir() if p.name.startswith("app.log-")]) < 2:
            assert time.monotonic() < deadline, "no second rotation"
            time.sleep(0.05)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert (tmp_path / "state").exists()


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
            env={**os.environ, "SMSGW_CONFIG": str(config), "SMSGW_RUN_AS_ROOT": "1"},
        )
        assert result.stdout == f"config={expected} args=list-users\n"

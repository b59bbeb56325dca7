"""scripts/monitor.sh's services check: which containers it expects, from the compose file as
docker-compose reads it (``docker-compose config``) and the enabled profiles. A plain Docker
host without the ``modems`` profile does not expect gatewayd (no false CRITICAL); a host whose
gatewayd runs under systemd checks that unit and still every container of the stack, and says
when gatewayd runs twice.

The functions are the script's own, sourced. systemd and a Docker engine do not run on the
machines that run these tests, so the last test answers for the three functions that ask them
(``host_units``, ``unit_report``, ``running_containers``); all the deciding is the script's."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ops.helpers import REPO, SCRIPTS

pytestmark = pytest.mark.ops

STACK = ["db", "gatewayd", "logrotate", "nginx", "redis", "web"]
OPTIONAL = {"smpp": "smpp", "smtp": "smtp"}
"""Front doors of their own profile (off unless asked): service -> profile."""
NOT_ASKED = "".join(
    f"{name}: not started by this stack (profile {profile}, COMPOSE_PROFILES={{}})\n"
    for name, profile in OPTIONAL.items()
)


def sourced(snippet: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "COMPOSE_PROFILES"}
    return subprocess.run(
        ["bash", "-c", f'source "$MONITOR" --no-color\n{snippet}'],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={**base, "MONITOR": str(SCRIPTS / "monitor.sh"), **env},
    )


def test_profiles_come_from_the_compose_file() -> None:
    result = sourced("service_profiles")
    assert result.returncode == 0, result.stderr
    profiles = {name: "modems" if name == "gatewayd" else "-" for name in STACK} | OPTIONAL
    assert result.stdout.splitlines() == [f"{name} {profiles[name]}" for name in sorted(profiles)]


def expected(profiles: str, units: str = "") -> tuple[list[str], str]:
    result = sourced(f'expected_containers "$(service_profiles)" "{profiles}" "{units}"')
    assert result.returncode == 0, result.stderr
    return result.stdout.split(), result.stderr


def test_a_plain_docker_host_without_the_profile_does_not_expect_gatewayd() -> None:
    containers, skipped = expected("")
    assert containers == [s for s in STACK if s != "gatewayd"]
    assert skipped == (
        "gatewayd: not started by this stack (profile modems, COMPOSE_PROFILES=)\n"
        + NOT_ASKED.format("", "")
    )
    assert expected("modems")[0] == STACK
    assert expected("other,modems")[0] == STACK


def test_gatewayd_under_systemd_is_not_expected_as_a_container() -> None:
    containers, skipped = expected("modems", "gatewayd\nwebui")
    assert containers == [s for s in STACK if s != "gatewayd"]
    assert skipped == "gatewayd: a systemd unit on this host\n" + NOT_ASKED.format(
        "modems", "modems"
    )


def test_active_profiles_as_docker_compose_reads_them(tmp_path: Path) -> None:
    shutil.copy(REPO / "docker-compose.prod.yml", tmp_path)
    snippet = f'compose_file="{tmp_path}/docker-compose.prod.yml"; active_profiles'
    assert sourced(snippet).stdout.strip() == ""
    (tmp_path / ".env").write_text("TZ=UTC\nCOMPOSE_PROFILES='modems'\n")
    assert sourced(snippet).stdout == "modems\n"
    # the shell's COMPOSE_PROFILES wins over .env, as with docker-compose, even when empty
    assert sourced(snippet, COMPOSE_PROFILES="").stdout.strip() == ""


CHECK_WITH_STAND_INS = """
tmp=$(mktemp -d)
host_units() { echo gatewayd; }
unit_report() { ok "$1.service active"; }
compose_usable() { true; }
running_containers() { printf '%s\\n' $RUNNING; }
check_services
echo "worst=$worst"
"""


def test_with_gatewayd_under_systemd_every_container_is_still_checked() -> None:
    running = "db logrotate nginx redis web"
    result = sourced(CHECK_WITH_STAND_INS, RUNNING=running, COMPOSE_PROFILES="")
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "[ OK ] gatewayd.service active" in lines
    for name in running.split():
        assert f"[ OK ] container {name} running" in lines
    assert "[INFO] gatewayd: a systemd unit on this host" in lines
    assert lines[-1] == "worst=0"

    stopped = sourced(CHECK_WITH_STAND_INS, RUNNING="db nginx redis", COMPOSE_PROFILES="")
    assert "[CRIT] container web not running" in stopped.stdout
    assert stopped.stdout.rstrip().endswith("worst=2")

    twice = sourced(CHECK_WITH_STAND_INS, RUNNING=f"{running} gatewayd", COMPOSE_PROFILES="modems")
    assert (
        "[CRIT] gatewayd runs twice: as a systemd unit and as a container (one must go)"
        in twice.stdout
    )

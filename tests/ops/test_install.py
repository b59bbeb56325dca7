"""scripts/install.sh into a DESTDIR (the running system untouched): the files land where the
units and the runbook expect them, secrets are private and new, a second run keeps what is
there, --dry-run changes nothing, and the installed settings load."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from gatewayd.config import load_settings
from tests.ops.helpers import SCRIPTS

pytestmark = pytest.mark.ops

INSTALL = SCRIPTS / "install.sh"


def install(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DESTDIR"}
    return subprocess.run(
        [str(INSTALL), "--no-venv", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_destdir_install_lays_out_the_host(tmp_path: Path) -> None:
    root = tmp_path / "root"
    result = install("--destdir", str(root))
    assert result.returncode == 0, result.stderr
    for path in (
        "etc/systemd/system/gatewayd.service",
        "etc/systemd/system/webui.service",
        "etc/systemd/system/sms-gateway-backup.timer",
        "etc/udev/rules.d/90-sms-gateway-modems.rules",
        "etc/logrotate.d/sms-gateway",
        "opt/sms-gateway/scripts/backup.sh",
        "opt/sms-gateway/scripts/monitor.sh",
        "opt/sms-gateway/ops/alerts.yml",
        "var/lib/sms-gateway",
        "var/backups/sms-gateway",
    ):
        assert (root / path).exists(), path
    assert os.readlink(root / "opt/sms-gateway/logs") == "/var/log/sms-gateway"
    assert os.access(root / "opt/sms-gateway/scripts/backup.sh", os.X_OK)
    logrotate = (root / "etc/logrotate.d/sms-gateway").read_text()
    assert "/var/log/sms-gateway/*.log" in logrotate

    env_file = root / "etc/sms-gateway/env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert len(values["SMSGW_SECRET_KEY"]) == 64
    assert values["SMSGW_DATABASE_URL"].endswith("/sms_gateway")

    settings = load_settings(str(root / "etc/sms-gateway/gatewayd.toml"), env={})
    assert str(settings.gateway.data_dir) == "/var/lib/sms-gateway"

    # a second run keeps the secrets and the settings the operator may have edited
    config = root / "etc/sms-gateway/gatewayd.toml"
    config.write_text(config.read_text() + "\n# edited\n")
    again = install("--destdir", str(root))
    assert again.returncode == 0, again.stderr
    assert "keeping" in again.stdout
    assert env_file.read_text().count(values["SMSGW_SECRET_KEY"]) == 1
    assert config.read_text().endswith("# edited\n")


def test_units_point_at_the_chosen_prefix(tmp_path: Path) -> None:
    root = tmp_path / "root"
    result = install("--destdir", str(root), "--prefix", "/srv/smsgw")
    assert result.returncode == 0, result.stderr
    unit = (root / "etc/systemd/system/gatewayd.service").read_text()
    assert "ExecStart=/srv/smsgw/venv/bin/gatewayd run" in unit
    assert "/opt/sms-gateway" not in unit


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    result = install("--destdir", str(root), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would run: install -d" in result.stdout
    assert "would write:" in result.stdout
    assert not root.exists()


def test_unknown_argument_is_one_line() -> None:
    result = install("--frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0


def system_packages() -> list[str]:
    text = INSTALL.read_text()
    match = re.search(r"^system_packages=\(([^)]*)\)", text, flags=re.MULTILINE)
    assert match, "install.sh lists its Debian packages in system_packages=(...)"
    return match[1].split()


# The programs backup.sh and monitor.sh (and the runbook's `curl ... | jq .`) run that a
# minimal Debian does not carry, and the Debian package each comes from. docker and
# docker-compose are left out: the scripts use them only beside a Docker stack.
PROGRAMS = {
    "pg_dump": "postgresql-client-common",
    "psql": "postgresql-client-common",
    "curl": "curl",
    "jq": "jq",
    "gzip": "gzip",
    "gunzip": "gzip",
    "pgrep": "procps",
    "python3": "python3",
    "logrotate": "logrotate",
}


def test_installs_what_backup_and_monitor_need() -> None:
    scripts = (SCRIPTS / "backup.sh").read_text() + (SCRIPTS / "monitor.sh").read_text()
    for program in ("pg_dump", "psql", "curl", "gzip", "pgrep", "python3"):
        assert re.search(rf"\b{program}\b", scripts), program
    listed = system_packages()
    closure = subprocess.run(
        [
            "apt-cache",
            "depends",
            "--recurse",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            *listed,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    reachable = {line.strip() for line in closure.splitlines() if not line.startswith(" ")}
    for program, package in PROGRAMS.items():
        assert package in reachable, f"{program}: {package} is not installed by install.sh"
    assert "postgresql-client" in listed


def test_dry_run_installs_packages_and_the_locked_virtualenv() -> None:
    result = install_with_venv("--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    packages = re.search(r"would run: env DEBIAN_FRONTEND=noninteractive apt-get .*", out)
    present = re.search(r"install: Debian packages present: (.*)", out)
    assert packages or present, out
    if present:
        assert present[1].split() == system_packages()
    sync = next(line for line in out.splitlines() if " sync " in line)
    assert "UV_PROJECT_ENVIRONMENT=/opt/sms-gateway/venv" in sync
    assert "--locked --no-editable --no-install-project" in sync
    # The services cannot write compiled modules on a read-only /opt: compiled at install.
    assert "--compile-bytecode" in sync
    assert "--compile-bytecode" in next(line for line in out.splitlines() if "pip install" in line)
    build = next(line for line in out.splitlines() if " build " in line)
    assert "--build-constraints" in build and "--require-hashes" in build
    assert "--no-deps" in next(line for line in out.splitlines() if "pip install" in line)
    assert not re.search(r"pip install --quiet \S*$", out, flags=re.MULTILINE)


def install_with_venv(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DESTDIR"}
    return subprocess.run(
        [str(INSTALL), *args], capture_output=True, text=True, env=env, timeout=120
    )

"""scripts/install.sh into a DESTDIR (the running system untouched): the files land where the
units and the runbook expect them, secrets are private and new, a second run keeps what is
there, --dry-run changes nothing, and the installed settings load."""

from __future__ import annotations

import os
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

"""systemd/: every unit passes ``systemd-analyze verify`` with no output at all (it exits 0
on unknown keys and bad values, so the output is what counts). The units are verified as
written except for the program paths, pointed at this checkout's virtualenv and scripts
(verify insists that ExecStart exists)."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest

from tests.ops.helpers import REPO, VENV_BIN, require

pytestmark = pytest.mark.ops

SYSTEMD_ANALYZE = require("systemd-analyze")
UNITS = sorted((REPO / "systemd").glob("*.service")) + sorted((REPO / "systemd").glob("*.timer"))


def installed_copy(tmp_path: Path, text: str) -> str:
    return text.replace("/opt/sms-gateway/venv/bin/", f"{VENV_BIN}/").replace(
        "/opt/sms-gateway/scripts/", f"{REPO}/scripts/"
    )


def verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def copies(tmp_path: Path) -> list[Path]:
    out = []
    for unit in UNITS:
        target = tmp_path / unit.name
        target.write_text(installed_copy(tmp_path, unit.read_text()))
        out.append(target)
    return out


def test_units_exist() -> None:
    names = {unit.name for unit in UNITS}
    assert {
        "gatewayd.service",
        "webui.service",
        "webui-smpp.service",
        "webui-smtp.service",
    } <= names


def test_all_units_verify_without_a_word(tmp_path: Path) -> None:
    result = verify(copies(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_verify_does_speak_up_about_mistakes(tmp_path: Path) -> None:
    unit = tmp_path / "gatewayd.service"
    text = installed_copy(tmp_path, (REPO / "systemd/gatewayd.service").read_text())
    unit.write_text(text.replace("Restart=on-failure", "Restart=sometimes\nWatchdogSecs=60"))
    result = verify([unit])
    assert "Unknown key 'WatchdogSecs'" in result.stderr
    assert "restart specifier" in result.stderr


def service_section(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(REPO / "systemd" / name)
    return parser["Service"]


def test_gatewayd_unit_contract() -> None:
    service = service_section("gatewayd.service")
    text = (REPO / "systemd/gatewayd.service").read_text()
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "60"
    assert service["Restart"] == "on-failure"
    assert service["User"] == "smsgw"
    assert service["SupplementaryGroups"] == "dialout"
    assert service["TimeoutStopSec"] == "90"
    assert service["ProtectSystem"] == "strict"
    assert service["DevicePolicy"] == "closed"
    assert "DeviceAllow=char-ttyUSB rw" in text and "DeviceAllow=char-ttyACM rw" in text
    assert service["EnvironmentFile"] == "/etc/sms-gateway/env"
    assert service["ExecStart"] == (
        "/opt/sms-gateway/venv/bin/gatewayd run --config /etc/sms-gateway/gatewayd.toml"
    )
    assert "/var/lib/sms-gateway" in service["ReadWritePaths"]
    # an update's schema change happens when the old gatewayd has stopped
    assert service["ExecStartPre"] == (
        "/opt/sms-gateway/venv/bin/gatewayd migrate --config /etc/sms-gateway/gatewayd.toml"
    )


def test_webui_unit_has_no_devices_and_logs_where_the_runbook_greps() -> None:
    service = service_section("webui.service")
    assert service["ExecStart"].endswith("webui run --config /etc/sms-gateway/gatewayd.toml")
    assert service["PrivateDevices"] == "yes"
    assert service["ExecStartPre"] == (
        "/opt/sms-gateway/venv/bin/gatewayd migrate --check --config /etc/sms-gateway/gatewayd.toml"
    )
    assert service["Environment"] == "SMSGW_LOG_FILE=/var/log/sms-gateway/app.log"


def test_the_smpp_unit_runs_webui_smpp_without_devices() -> None:
    service = service_section("webui-smpp.service")
    assert service["ExecStart"].endswith("webui smpp --config /etc/sms-gateway/gatewayd.toml")
    assert service["PrivateDevices"] == "yes" and service["User"] == "smsgw"
    assert service["ExecStartPre"] == service_section("webui.service")["ExecStartPre"]
    assert service["EnvironmentFile"] == "/etc/sms-gateway/env"


def test_the_smtp_unit_runs_webui_smtp_without_devices() -> None:
    service = service_section("webui-smtp.service")
    assert service["ExecStart"].endswith("webui smtp --config /etc/sms-gateway/gatewayd.toml")
    assert service["PrivateDevices"] == "yes" and service["User"] == "smsgw"
    assert service["ExecStartPre"] == service_section("webui.service")["ExecStartPre"]
    assert service["EnvironmentFile"] == "/etc/sms-gateway/env"

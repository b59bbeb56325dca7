"""Pure parts of the hardware work: [[modem]] identity and balance keys, amounts in operator
answers, CPMS usage and CNUM answers, the scan's TOML output, profile lookup."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gatewayd.cli.modem_scan import render_tables
from gatewayd.config import SettingsError, load_settings
from gatewayd.modem.identity import ModemIdentity
from gatewayd.modem.locate import PortProbe
from gatewayd.modem.maintenance import parse_cnum, parse_cpms_usage
from gatewayd.modem.transport import HELD_BY_OTHER
from gatewayd.simulator.profiles import PROFILES, profile_named
from gatewayd.worker.sim_care import parse_amount, parse_balance

IMEI = "358752061000018"


def settings_with(tmp_path: Path, modem_toml: str) -> object:
    path = tmp_path / "gatewayd.toml"
    path.write_text('[[modem]]\nname = "m1"\ndevice = "/dev/ttyUSB0"\n' + modem_toml)
    return load_settings(path, env={"SMSGW_DATA_DIR": str(tmp_path)})


def test_identity_and_balance_keys_are_read(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        f'imei = "{IMEI}"\niccid = "8955050000000000001"\n'
        'device_globs = ["/dev/serial/by-id/*"]\nbalance_ussd = "*100#"\n'
        'balance_pattern = "R\\\\$ (?P<balance>[0-9,]+)"\n'
        "balance_interval = 3600\nlow_balance = 5\n",
    )
    modem = settings.modems[0]  # type: ignore[attr-defined]
    assert (modem.imei, modem.iccid) == (IMEI, "8955050000000000001")
    assert modem.device_globs == ("/dev/serial/by-id/*",)
    assert (modem.balance_ussd, modem.balance_interval, modem.low_balance) == ("*100#", 3600, 5)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('imei = "12345"', "15 digits"),
        ('iccid = "12ab"', "ICCID"),
        ('device_globs = ["ttyUSB*"]', "absolute"),
        ('balance_ussd = "saldo"', "USSD code"),
        ('balance_pattern = "([0-9]+)"', "named group"),
        ('balance_pattern = "(["', "not a valid regex"),
    ],
)
def test_bad_hardware_keys_are_one_line_errors(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_with(tmp_path, line + "\n")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("12,34", 12.34),
        ("12.34", 12.34),
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        ("1 234,56", 1234.56),
        ("12,34.", 12.34),
        ("-3,50", -3.5),
        ("7", 7.0),
        ("abc", None),
    ],
)
def test_amounts_in_local_formats(text: str, amount: float | None) -> None:
    assert parse_amount(text) == amount


def test_balance_found_in_answers() -> None:
    assert parse_balance("Saldo: R$ 12,34. Validade: 31/12/2030.") == 12.34
    assert parse_balance("Your balance is 1,234.56 USD") == 1234.56
    assert parse_balance("Bonus 3 GB, saldo 9,90", r"saldo (?P<balance>[\d,]+)") == 9.9
    assert parse_balance("no credit info") is None


def test_cpms_usage_and_cnum() -> None:
    usage = parse_cpms_usage('"SM",27,30,"SM",27,30,"ME",0,100')
    assert [(u.storage, u.used, u.total) for u in usage] == [("SM", 27, 30), ("ME", 0, 100)]
    assert usage[0].fraction == 0.9
    assert parse_cpms_usage("3,30,3,30,3,30") == []
    assert parse_cnum(['"","5511990000001",145']) == "+5511990000001"
    assert parse_cnum(['"Own","11990000001",129']) == "11990000001"
    assert parse_cnum(['"",""']) is None


def test_scan_output_is_valid_toml_with_one_table_per_modem() -> None:
    identity = ModemIdentity("Quectel", "EC25", "r1", IMEI, "724050000000001", None)
    probes = [
        PortProbe("/dev/serial/by-id/usb-Quectel-if02", identity=identity),
        PortProbe("/dev/serial/by-id/usb-Quectel-if03", identity=identity),  # same modem
        PortProbe("/dev/ttyUSB9", error=f"/dev/ttyUSB9 {HELD_BY_OTHER}"),
        PortProbe("/dev/ttyUSB1", error="no answer within 8s"),
    ]
    text = render_tables(probes)
    tables = tomllib.loads(text)["modem"]
    assert tables == [
        {"name": "modem1", "device": "/dev/serial/by-id/usb-Quectel-if02", "imei": IMEI}
    ]
    assert "# /dev/ttyUSB9 is held by another process (ModemManager?)" in text
    assert "ttyUSB1" not in text


def test_profiles_by_name() -> None:
    assert profile_named("EC25") is PROFILES["ec25"]
    with pytest.raises(ValueError, match="choose generic"):
        profile_named("nokia3310")

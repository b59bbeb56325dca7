"""The ``[[modem]]`` tables: one per GSM modem this gatewayd host owns."""

from __future__ import annotations

import re
from typing import Any

from gatewayd.config.model import DEFAULT_BAUDRATE, MODEM_DRIVERS, ModemSettings
from gatewayd.config.reader import SettingsError, TableReader

MODEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
PIN = re.compile(r"^\d{4,8}$")
PREFIX = re.compile(r"^\+\d{1,15}$")
SOCKET_DEVICE = re.compile(
    r"^socket://(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(?P<port>\d{1,5})$"
)
IMEI = re.compile(r"^\d{15}$")
ICCID = re.compile(r"^\d{18,22}F?$")
USSD_CODE = re.compile(r"^[0-9*#+]{1,182}$")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


def read_modems(value: Any, where: str) -> tuple[ModemSettings, ...]:
    """Validate the ``modem`` array of tables; ``where`` is the file prefix for messages."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SettingsError(f"{where} [modem] must be written [[modem]] (one table per modem)")
    modems: list[ModemSettings] = []
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise SettingsError(f"{where} [[modem]] #{index} must be a table")
        label = f"'{item['name']}'" if isinstance(item.get("name"), str) else f"#{index}"
        modems.append(_read_modem(TableReader(item, f"{where} [[modem]] {label}")))
    _reject_duplicates(modems, where)
    return tuple(modems)


def _read_modem(table: TableReader) -> ModemSettings:
    name = table.string("name", None)
    if name is None:
        raise table.error("name", "is required")
    if not MODEM_NAME.match(name):
        raise table.error("name", f"must be 1-32 letters, digits, '.', '_' or '-', got {name!r}")
    device = table.string("device", None)
    if device is None:
        raise table.error("device", "is required (a device path or socket://host:port)")
    problem = device_problem(device)
    if problem:
        raise table.error("device", problem)
    driver = table.string("driver", "at")
    if driver not in MODEM_DRIVERS:
        choices = " or ".join(f'"{d}"' for d in MODEM_DRIVERS)
        raise table.error("driver", f"must be {choices}, got {driver!r}")
    baudrate = table.integer("baudrate", DEFAULT_BAUDRATE)
    if baudrate not in BAUDRATES:
        rates = ", ".join(map(str, BAUDRATES))
        raise table.error("baudrate", f"must be a standard rate ({rates}), got {baudrate}")
    if isinstance(table.data.get("pin"), int):
        raise table.error("pin", 'must be a quoted string such as "0123" (leading zeros matter)')
    pin = table.string("pin", None)
    if pin is not None and not PIN.match(pin):
        raise table.error("pin", "must be 4 to 8 digits")
    prefixes = table.string_list("prefixes", ())
    for prefix in prefixes:
        if not PREFIX.match(prefix):
            problem = f"each must be an E.164 prefix such as +5511, got {prefix!r}"
            raise table.error("prefixes", problem)
    modem = ModemSettings(
        name=name,
        device=device,
        driver=driver,
        baudrate=baudrate,
        pin=pin,
        per_minute=table.integer("per_minute", None, minimum=1),
        per_day=table.integer("per_day", None, minimum=1),
        prefixes=prefixes,
        enabled=table.boolean("enabled", True),
        **_read_hardware_keys(table),
    )
    table.finish()
    return modem


def _read_hardware_keys(table: TableReader) -> dict[str, Any]:
    """Stable identity (``imei``, ``iccid``, ``device_globs``) and balance checks."""
    imei = table.string("imei", None)
    if imei is not None and not IMEI.match(imei):
        raise table.error("imei", f"must be the 15 digits of an IMEI, got {imei!r}")
    iccid = table.string("iccid", None)
    if iccid is not None and not ICCID.match(iccid):
        raise table.error("iccid", f"must be the 18-22 digits of an ICCID, got {iccid!r}")
    device_globs = table.string_list("device_globs", ())
    for pattern in device_globs:
        if not pattern.startswith("/"):
            problem = f"each must be an absolute path glob, got {pattern!r}"
            raise table.error("device_globs", problem)
    balance_ussd = table.string("balance_ussd", None)
    if balance_ussd is not None and not USSD_CODE.match(balance_ussd):
        problem = f"must be a USSD code such as *100#, got {balance_ussd!r}"
        raise table.error("balance_ussd", problem)
    balance_pattern = table.string("balance_pattern", None)
    if balance_pattern is not None:
        try:
            compiled = re.compile(balance_pattern)
        except re.error as error:
            raise table.error("balance_pattern", f"is not a valid regex ({error})") from None
        if "balance" not in compiled.groupindex:
            raise table.error("balance_pattern", "needs a named group (?P<balance>...)")
    low_balance = None
    if table.has("low_balance"):
        low_balance = table.number("low_balance", 0.0, positive=False)
    return {
        "imei": imei,
        "iccid": iccid,
        "device_globs": device_globs,
        "balance_ussd": balance_ussd,
        "balance_pattern": balance_pattern,
        "balance_interval": table.number("balance_interval", 86400.0),
        "low_balance": low_balance,
    }


def device_problem(device: str) -> str | None:
    """Why ``device`` cannot name a modem, or None when it can."""
    if "://" in device:
        match = SOCKET_DEVICE.match(device)
        if not match:
            return f"must be a path such as /dev/ttyUSB0 or socket://host:port, got {device!r}"
        if not 1 <= int(match["port"]) <= 65535:
            return f"port must be 1-65535, got {match['port']}"
        return None
    if not device.strip() or device != device.strip() or "\0" in device:
        return f"must be a device path such as /dev/ttyUSB0, got {device!r}"
    return None


def _reject_duplicates(modems: list[ModemSettings], where: str) -> None:
    seen_names: set[str] = set()
    seen_devices: dict[str, str] = {}
    for modem in modems:
        if modem.name in seen_names:
            raise SettingsError(f"{where} [[modem]] name {modem.name!r} is used twice")
        seen_names.add(modem.name)
        if modem.device in seen_devices:
            raise SettingsError(
                f"{where} [[modem]] '{modem.name}' device {modem.device!r} is already "
                f"used by '{seen_devices[modem.device]}'"
            )
        seen_devices[modem.device] = modem.name

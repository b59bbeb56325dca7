"""``gatewayd modems``: probe the configured modems and print what they say about themselves."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict, dataclass
from typing import Any

from gatewayd.cli.modem_scan import scan
from gatewayd.config import ModemSettings
from gatewayd.config.command_line import add_config_argument, add_parser, settings_from_args
from gatewayd.logging_setup import configure_logging
from gatewayd.modem.errors import ModemError
from gatewayd.modem.factory import open_driver

PROBE_TIMEOUT = 30.0


def register(subparsers: Any) -> None:
    parser = add_parser(
        subparsers,
        "modems",
        "probe the configured modems: manufacturer, model, IMEI, IMSI, signal, operator",
    )
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per modem")
    parser.add_argument(
        "--scan",
        action="store_true",
        help="probe the serial ports instead and print [[modem]] tables to paste",
    )
    parser.add_argument(
        "--glob",
        action="append",
        metavar="PATTERN",
        help="with --scan: ports to probe (repeatable; default /dev/serial/by-id/*, "
        "/dev/ttyUSB*, /dev/ttyACM*)",
    )
    parser.set_defaults(handler=probe_modems)


@dataclass
class ProbeResult:
    name: str
    device: str
    ok: bool
    error: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None
    imei: str | None = None
    imsi: str | None = None
    iccid: str | None = None
    signal_dbm: int | None = None
    operator: str | None = None
    registration: str | None = None


def probe_modems(args: argparse.Namespace) -> int:
    if args.scan:
        text, code = scan(args.glob)
        print(text, end="")
        return code
    settings = settings_from_args(args)
    configure_logging(settings.log.file, "WARNING")
    if not settings.modems:
        print("no modem is configured: add [[modem]] tables to the settings file")
        return 1
    results = asyncio.run(_probe_all(settings.modems))
    if args.json:
        for result in results:
            print(json.dumps(asdict(result), ensure_ascii=False))
    else:
        print_table(results)
    return 0 if all(r.ok for r in results) else 1


async def _probe_all(modems: tuple[ModemSettings, ...]) -> list[ProbeResult]:
    return list(await asyncio.gather(*(_probe(m) for m in modems)))


async def _probe(config: ModemSettings) -> ProbeResult:
    modem = open_driver(config)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await modem.open()
            try:
                await modem.prepare()
                identity = await modem.identity()
                health = await modem.health()
            finally:
                await modem.close()
    except TimeoutError:
        return ProbeResult(config.name, config.device, False, "no answer within 30 s")
    except ModemError as error:
        return ProbeResult(config.name, config.device, False, str(error))
    return ProbeResult(
        config.name,
        config.device,
        True,
        manufacturer=identity.manufacturer,
        model=identity.model,
        revision=identity.revision,
        imei=identity.imei,
        imsi=identity.imsi,
        iccid=identity.iccid,
        signal_dbm=health.signal.dbm,
        operator=health.operator,
        registration=health.registration.state,
    )


def print_table(results: list[ProbeResult]) -> None:
    columns = (
        "name",
        "device",
        "manufacturer",
        "model",
        "imei",
        "imsi",
        "signal_dbm",
        "operator",
        "registration",
    )
    rows = []
    for result in results:
        values = asdict(result)
        if not result.ok:
            rows.append([result.name, result.device, f"ERROR: {result.error}"])
            continue
        rows.append(["" if values[c] is None else str(values[c]) for c in columns])
    full = [r for r in rows if len(r) == len(columns)]
    widths = [max(len(c), *(len(r[i]) for r in full)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip())

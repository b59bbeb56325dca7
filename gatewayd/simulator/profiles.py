"""Modem dialects for the simulator: how real modem families answer the same 3GPP commands.

A `ModemProfile` is data only: identity answers (`AT+CGMI`, `AT+CGMM`, `AT+CGMR`, `ATI`), the
command that reads the SIM's ICCID and its answer format, the `AT+CNMI=?` and `AT+CPMS=?`
offers with the memories a modem accepts and starts with, the final result for commands it
lacks, the codes it sends when it boots, and vendor noise (Huawei `^RSSI` / `^MODE` / `^BOOT`)
that arrives between answers. `SimNetwork(profile=...)` / `gatewayd simulate --profile NAME`
pick one per modem.

Sources (public manuals and captures; values reduced to what the gateway touches):
- SIM800: SIMCom "SIM800 Series AT Command Manual" V1.09 (2015): AT+CNMI, AT+CPMS (memories
  "SM", "ME", "SM_P", "ME_P", "MT"), AT+CCID, URCs "RDY", "Call Ready", "SMS Ready".
- SIM7600: SIMCom "SIM7500_SIM7600 Series AT Command Manual" V1.08 (2018) / V2.00 (2020):
  ATI layout, AT+CICCID (`+ICCID:`), URCs "RDY", "SMS DONE", "PB DONE".
- EC25: Quectel "EC25&EC21 AT Commands Manual": AT+QCCID, AT+CPMS memories, URCs "RDY",
  "+QIND: SMS DONE", "+QIND: PB DONE".
- E3372 (stick mode, not HiLink): Huawei "MU709 / ME909s AT Command Interface Specification"
  (same firmware family): ^RSSI, ^MODE, ^BOOT, ^SRVST unsolicited codes, AT^ICCID?, unknown
  commands answered "COMMAND NOT SUPPORT".
- MC7455: ATI as captured from the module (Sierra Wireless forum, "MC7455 Stuck in low power
  mode"): Manufacturer / Model / Revision SWI9X30C / IMEI / IMEI SV / FSN / +GCAP; AT!ICCID?.
"""

from __future__ import annotations

from dataclasses import dataclass

CNMI_3GPP = ((0, 1, 2), (0, 1, 2, 3), (0, 2), (0, 1, 2), (0, 1))


@dataclass(frozen=True)
class ModemProfile:
    name: str
    manufacturer: str
    model: str
    revision: str
    ati: tuple[str, ...]
    """`ATI` lines; `{manufacturer}`, `{model}`, `{revision}`, `{imei}` are filled in."""
    iccid_commands: tuple[str, ...]
    """Canonical names of the commands that read the ICCID (`+CCID`, `^ICCID`...)."""
    iccid_format: str
    """The answer line, `{iccid}` filled in."""
    cnmi_test: str
    cnmi_ranges: tuple[tuple[int, ...], ...]
    """What `AT+CNMI=` accepts per position (mode, mt, bm, ds, bfr)."""
    read_storages: tuple[str, ...]
    write_storages: tuple[str, ...]
    default_storage: str
    unknown_command: str = "ERROR"
    boot_urcs: tuple[str, ...] = ()
    """Sent when the modem (re)starts: power-on, re-plug, `AT+CFUN=1,1`."""
    noise_urcs: tuple[str, ...] = ()
    noise_every: int = 0
    """One noise code after every n-th answered command line (0: never)."""
    csms_service: int = 0
    hidden_storages: tuple[str, ...] = ()
    """Memories accepted by `AT+CPMS=` although `AT+CPMS=?` does not offer them."""
    noise_switch: str | None = None
    """The vendor command that turns the noise on and off (`^CURC`, `+QINDCFG`)."""
    noise_at_boot: bool = True
    """Whether the noise is on after power-on (Huawei: yes; Quectel's +QIND "csq": no)."""
    vendor_commands: tuple[str, ...] = ()
    """Vendor commands answered OK (`^PORTSEL`), besides `noise_switch`."""

    @property
    def storages(self) -> tuple[str, ...]:
        """Every memory the modem has, each once."""
        names = (*self.read_storages, *self.write_storages, *self.hidden_storages)
        return tuple(dict.fromkeys(names))

    @property
    def cpms_test(self) -> str:
        read = ",".join(f'"{name}"' for name in self.read_storages)
        write = ",".join(f'"{name}"' for name in self.write_storages)
        return f"+CPMS: ({read}),({write}),({write})"

    def ati_lines(self, imei: str) -> list[str]:
        values = {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "revision": self.revision,
            "imei": imei,
        }
        return [line.format(**values) for line in self.ati]


GENERIC = ModemProfile(
    name="generic",
    manufacturer="Gatewayd",
    model="SimModem GSM",
    revision="SimModem_1.0",
    ati=("{manufacturer} {model}", "Revision: {revision}"),
    iccid_commands=("+CCID", "+ICCID", "^ICCID"),
    iccid_format="+CCID: {iccid}",
    # The report setting offers 0-1 only: gammu-smsd then chooses direct +CDS reports, the
    # form it decodes (with 2 it asks for +CDSI and loses the report).
    cnmi_test="+CNMI: (0-2),(0-3),(0,2),(0,1),(0,1)",
    cnmi_ranges=((0, 1, 2), (0, 1, 2, 3), (0, 2), (0, 1, 2), (0, 1)),
    read_storages=("SM", "ME", "SR"),
    write_storages=("SM", "ME"),
    default_storage="SM",
    hidden_storages=("MT",),
)

SIM800 = ModemProfile(
    name="sim800",
    manufacturer="SIMCOM_Ltd",
    model="SIMCOM_SIM800",
    revision="Revision:1418B04SIM800C24",
    ati=("SIM800 R14.18",),
    iccid_commands=("+CCID",),
    iccid_format="{iccid}",  # bare digits
    cnmi_test="+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)",
    cnmi_ranges=((0, 1, 2, 3), (0, 1, 2, 3), (0, 2), (0, 1, 2), (0, 1)),
    read_storages=("SM", "ME", "SM_P", "ME_P", "MT"),  # no "SR": reports go to SM/ME
    write_storages=("SM", "ME", "SM_P", "ME_P", "MT"),
    default_storage="SM",
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
)

SIM7600 = ModemProfile(
    name="sim7600",
    manufacturer="SIMCOM INCORPORATED",
    model="SIMCOM_SIM7600E-H",
    revision="LE20B04SIM7600M22",
    ati=(
        "Manufacturer: {manufacturer}",
        "Model: {model}",
        "Revision: {revision}",
        "IMEI: {imei}",
        "+GCAP: +CGSM",
    ),
    iccid_commands=("+CICCID",),
    iccid_format="+ICCID: {iccid}",
    cnmi_test="+CNMI: (0-2),(0-3),(0,2),(0-2),(0-1)",
    cnmi_ranges=CNMI_3GPP,
    read_storages=("ME", "MT", "SM", "SR"),
    write_storages=("ME", "MT", "SM", "SR"),
    default_storage="SM",
    boot_urcs=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
)

EC25 = ModemProfile(
    name="ec25",
    manufacturer="Quectel",
    model="EC25",
    revision="EC25EFAR06A06M4G",
    ati=("{manufacturer}", "{model}", "Revision: {revision}"),
    iccid_commands=("+QCCID",),
    iccid_format="+QCCID: {iccid}",
    cnmi_test="+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)",
    cnmi_ranges=CNMI_3GPP,
    read_storages=("SM", "ME", "MT"),
    write_storages=("SM", "ME", "MT"),
    default_storage="SM",
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    noise_urcs=('+QIND: "csq",20,99',),
    noise_every=7,
    noise_switch="+QINDCFG",  # AT+QINDCFG="csq",1 turns the signal reports on
    noise_at_boot=False,
)

E3372 = ModemProfile(
    name="e3372",
    manufacturer="huawei",
    model="E3372",
    revision="22.315.01.00.00",
    ati=(
        "Manufacturer: {manufacturer}",
        "Model: {model}",
        "Revision: {revision}",
        "IMEI: {imei}",
        "+GCAP: +CGSM,+DS,+ES",
    ),
    iccid_commands=("^ICCID",),
    iccid_format="^ICCID: {iccid}",
    cnmi_test="+CNMI: (0,1,2),(0,1,2,3),(0,2),(0,1,2),(0,1)",
    cnmi_ranges=CNMI_3GPP,
    read_storages=("ME", "MT", "SM", "SR"),
    write_storages=("ME", "MT", "SM", "SR"),
    default_storage="ME",
    unknown_command="COMMAND NOT SUPPORT",
    boot_urcs=("^SIMST: 1", "^SRVST: 2", "^MODE: 5,4"),
    noise_urcs=(
        "^RSSI: 20",
        "^MODE: 5,4",
        "^BOOT: 20273077,0,0,0,75",
        "^SRVST: 2",
        '^HCSQ: "WCDMA",40,38,50',
    ),
    noise_every=2,
    noise_switch="^CURC",  # AT^CURC=0 silences the periodic ^ reports (gammu sends it)
    vendor_commands=("^PORTSEL",),
)

MC7455 = ModemProfile(
    name="mc7455",
    manufacturer="Sierra Wireless, Incorporated",
    model="MC7455",
    revision="SWI9X30C_02.24.05.06 r7040 CARMD-EV-FRMWR2 2017/05/19 23:43:13",
    ati=(
        "Manufacturer: {manufacturer}",
        "Model: {model}",
        "Revision: {revision}",
        "IMEI: {imei}",
        "IMEI SV: 16",
        "FSN: LQ818512830210",
        "+GCAP: +CGSM",
    ),
    iccid_commands=("!ICCID",),
    iccid_format="ICCID: {iccid}",
    cnmi_test="+CNMI: (0-2),(0-3),(0,2),(0-2),(0-1)",
    cnmi_ranges=CNMI_3GPP,
    read_storages=("SM", "ME", "SR"),
    write_storages=("SM", "ME"),
    default_storage="SM",
    csms_service=1,  # phase 2+: direct deliveries want AT+CNMA
)

PROFILES: dict[str, ModemProfile] = {
    profile.name: profile for profile in (GENERIC, SIM800, SIM7600, EC25, E3372, MC7455)
}


def profile_named(name: str) -> ModemProfile:
    """The profile called `name` (case-insensitive); ValueError naming the choices."""
    try:
        return PROFILES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown modem profile {name!r}; choose {', '.join(PROFILES)}") from None

"""Simulated GSM modems on pseudo-terminals, sharing one simulated network.

Used by ``gatewayd simulate`` (SPEC §3.3), by ``gatewayd run --simulate N`` and by tests::

    network = SimNetwork(first_number="+5511990000001", latency_ms=50, report_delay_ms=200,
                         ledger_path=None)
    handles = await network.start(2, directory)   # directory/modem0, directory/modem1
    handles[0].device, handles[0].number, handles[0].imei, handles[0].imsi, handles[0].index
    network.inject_incoming(1, "+5511987654321", "hello")    # -> number of parts
    network.fault(0, "cms_error", code=38, count=1)          # kinds: see faults.py
    network.fault(0, "disconnect"); network.fault(0, "clear")
    await network.wait_for_ledger(1, timeout=5)              # -> ledger entries
    network.ledger                                           # list of dicts, as in the file
    await network.close()

``network.add_modems(n)`` makes modems without ptys: feed ``modem.feed(bytes)`` and collect the
output given to ``modem.attach(writer)``. ``create_control_app(network)`` /
``start_control_server(network, host, port)`` serve the HTTP control API.

The modems speak the AT dialect that gammu, gammu-smsd, smstools and Kannel expect: echo on
until ATE0, the exact ``> `` prompt, PDU mode with TPDU-length checking, storages SM/ME/SR with
AT+CPMS/+CMGL/+CMGR/+CMGD, and +CMT/+CMTI/+CDS/+CDSI per AT+CNMI.
"""

from gatewayd.simulator.control import create_control_app, start_control_server
from gatewayd.simulator.device import SimulatedModem
from gatewayd.simulator.faults import FAULT_KINDS, FaultError
from gatewayd.simulator.network import DEFAULT_FIRST_NUMBER, ModemHandle, SimNetwork
from gatewayd.simulator.state import DEFAULT_PIN, DEFAULT_SMSC

__all__ = [
    "DEFAULT_FIRST_NUMBER",
    "DEFAULT_PIN",
    "DEFAULT_SMSC",
    "FAULT_KINDS",
    "FaultError",
    "ModemHandle",
    "SimNetwork",
    "SimulatedModem",
    "create_control_app",
    "start_control_server",
]

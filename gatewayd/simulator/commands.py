"""The command table of a simulated modem: canonical command name -> handler.

Anything not in the table is answered ``ERROR``, as a real modem answers commands it lacks
(gammu probes AT+MODE, AT+CPROT, AT+SYNCML, AT$TSSPCSW and AT+CHUP and expects that).
"""

from __future__ import annotations

from gatewayd.simulator.commands_basic import BASIC_COMMANDS, Handler
from gatewayd.simulator.commands_network import NETWORK_COMMANDS
from gatewayd.simulator.commands_sms import SMS_COMMANDS

COMMANDS: dict[str, Handler] = {**BASIC_COMMANDS, **NETWORK_COMMANDS, **SMS_COMMANDS}

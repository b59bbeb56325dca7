"""The command set of a simulated modem: canonical command name -> handler, the end of a
``> `` prompt and the registration codes, handed to each `SimulatedModem` by the network.

Anything not in the table is answered ``ERROR``, as a real modem answers commands it lacks
(gammu probes AT+MODE, AT+CPROT, AT+SYNCML, AT$TSSPCSW and AT+CHUP and expects that).
"""

from __future__ import annotations

from gatewayd.simulator.commands_basic import BASIC_COMMANDS
from gatewayd.simulator.commands_network import NETWORK_COMMANDS, registration_urcs
from gatewayd.simulator.commands_sms import SMS_COMMANDS
from gatewayd.simulator.device import CommandSet
from gatewayd.simulator.sending import finish_prompt

COMMAND_SET = CommandSet(
    handlers={**BASIC_COMMANDS, **NETWORK_COMMANDS, **SMS_COMMANDS},
    finish_prompt=finish_prompt,
    registration_urcs=registration_urcs,
)

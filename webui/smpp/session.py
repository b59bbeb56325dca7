"""The bind state machine of one SMPP connection (SMPP 3.4 §2.2 - §2.3), with no I/O.

A connection starts ``OPEN``; a bind makes it a transmitter, a receiver or a transceiver;
``unbind`` (from either side) makes it ``UNBINDING`` and then ``CLOSED``. :func:`refusal`
says which ``command_status`` a request gets in the state it arrives in (None: allowed), so
the connection answers before doing any work.
"""

from __future__ import annotations

from enum import Enum

from gatewayd.smpp.constants import CommandId, CommandStatus


class BindState(Enum):
    OPEN = "open"
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"
    UNBINDING = "unbinding"
    CLOSED = "closed"

    @property
    def bound(self) -> bool:
        return self in _BOUND

    @property
    def transmits(self) -> bool:
        """The client may submit (transmitter, transceiver)."""
        return self in (BindState.TRANSMITTER, BindState.TRANSCEIVER)

    @property
    def receives(self) -> bool:
        """The server may send it deliver_sm (receiver, transceiver)."""
        return self in (BindState.RECEIVER, BindState.TRANSCEIVER)


_BOUND = frozenset({BindState.TRANSMITTER, BindState.RECEIVER, BindState.TRANSCEIVER})

BIND_STATES: dict[int, BindState] = {
    CommandId.BIND_TRANSMITTER: BindState.TRANSMITTER,
    CommandId.BIND_RECEIVER: BindState.RECEIVER,
    CommandId.BIND_TRANSCEIVER: BindState.TRANSCEIVER,
}
"""What each bind request makes of an open connection."""

SUBMITTING = frozenset(
    {CommandId.SUBMIT_SM, CommandId.SUBMIT_MULTI, CommandId.QUERY_SM, CommandId.CANCEL_SM}
)
"""Requests of a transmitter (or transceiver): they work on messages the client sent."""

SERVED = frozenset({*BIND_STATES, *SUBMITTING, CommandId.UNBIND, CommandId.ENQUIRE_LINK})
"""The requests this server carries out; other known requests are refused with
ESME_RINVCMDID (data_sm, replace_sm) or, having no response, with generic_nack."""


def refusal(state: BindState, command_id: int) -> CommandStatus | None:
    """The status a request ``command_id`` gets in ``state``; None when it may proceed."""
    if command_id == CommandId.ENQUIRE_LINK:
        return None  # any state: the link check never depends on a bind
    if command_id in BIND_STATES:
        return None if state is BindState.OPEN else CommandStatus.ESME_RALYBND
    if state is BindState.OPEN or state is BindState.CLOSED:
        return CommandStatus.ESME_RINVBNDSTS
    if command_id == CommandId.UNBIND:
        return None  # bound, or crossing our own unbind
    if state is BindState.UNBINDING:
        return CommandStatus.ESME_RINVBNDSTS
    if command_id in SUBMITTING:
        return None if state.transmits else CommandStatus.ESME_RINVBNDSTS
    if command_id == CommandId.DELIVER_SM:
        return CommandStatus.ESME_RINVBNDSTS  # a server is sent no deliver_sm
    return CommandStatus.ESME_RINVCMDID


def after_bind(state: BindState, command_id: int) -> BindState:
    """The state after a successful bind ``command_id``."""
    if state is not BindState.OPEN or command_id not in BIND_STATES:
        raise ValueError(f"no bind from {state.value} with command 0x{command_id:08x}")
    return BIND_STATES[command_id]

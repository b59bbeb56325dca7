"""The codec's exceptions. Each carries the ``command_status`` a server should answer with;
``str()`` is always one line."""

from __future__ import annotations

from gatewayd.smpp.constants import CommandStatus


def _one_line(message: str) -> str:
    return " ".join(message.split())


class StatusError(Exception):
    """Something an SMPP peer sent is wrong; ``status`` is the answer it deserves."""

    def __init__(self, status: CommandStatus, message: str) -> None:
        super().__init__(_one_line(message))
        self.status = status


class PduError(StatusError):
    """A malformed frame or PDU.

    ``command_id`` and ``sequence_number`` are those of the header when it could be read
    (None otherwise): with them a server answers the request's own response, or a
    ``generic_nack`` when the command id is unknown or the frame could not be delimited.
    """

    def __init__(
        self,
        status: CommandStatus,
        message: str,
        *,
        command_id: int | None = None,
        sequence_number: int | None = None,
    ) -> None:
        super().__init__(status, message)
        self.command_id = command_id
        self.sequence_number = sequence_number


class TextError(StatusError):
    """A short message that does not hold valid text for its data_coding, or whose user data
    header, concatenation TLVs or message_payload are inconsistent."""


class TimeError(StatusError):
    """An SMPP time string that is not valid; ``status`` is the one the caller chose
    (ESME_RINVSCHED for schedule_delivery_time, ESME_RINVEXPIRY for validity_period)."""


class EncodeError(ValueError):
    """A PDU that cannot be put on the wire (a field too long, a number out of range): a
    defect of the caller, never of the peer."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))

"""A ``submit_sm`` or ``submit_multi`` read into what the sending service takes: one message
template (text, schedule, validity, receipt wish, the part of a client-split message), the
destinations, and the SMPP fields the side table keeps. Pure: no I/O.

Refusals raise :class:`Refused` with the ``command_status`` to answer (the codec's own errors
already carry theirs). Destination numbers: TON 1 (international) gets a ``+`` in front; any
other TON is read as written, with the installation's default region for national numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from gatewayd.queue import NewMessage
from gatewayd.queue.enqueue import MAX_VALIDITY_MINUTES
from gatewayd.smpp.constants import (
    ESM_TYPE_MASK,
    RECEIPT_NONE,
    CommandStatus,
    Ton,
    receipt_requested,
)
from gatewayd.smpp.errors import StatusError
from gatewayd.smpp.pdu import DistributionList, SmeAddress, SubmitMulti, SubmitSm
from gatewayd.smpp.text import DefaultAlphabet, message_content
from gatewayd.smpp.times import parse_time

S = CommandStatus
MIN_VALIDITY_MINUTES = 5
"""The shortest validity a message can carry (the queue's own minimum); a client asking for
less gets this."""
FLASH_CODING = 0xF0
"""data_coding of a GSM class 0 (flash) message."""
HIGHEST_PRIORITY_FLAG = 3


class Refused(StatusError):
    """A submission refused before the service sees it."""


@dataclass(frozen=True)
class Address:
    """An SMPP address as the client gave it."""

    ton: int
    npi: int
    address: str

    @property
    def number(self) -> str:
        """The number for the queue: international ones with their ``+``."""
        digits = self.address.strip()
        if self.ton == Ton.INTERNATIONAL and not digits.startswith("+"):
            return "+" + digits
        return digits


@dataclass(frozen=True)
class Extras:
    """What ``smpp_submits`` keeps beside each message."""

    registered_delivery: int
    source: Address
    data_coding: int
    esm_class: int
    service_type: str
    user_message_reference: int | None


@dataclass(frozen=True)
class Submission:
    template: NewMessage
    """``to`` empty: the destinations are below."""
    destinations: tuple[Address | str, ...]
    """SME addresses; a distribution list's name (a str) is refused per destination."""
    extras: Extras


def read_submission(
    pdu: SubmitSm | SubmitMulti, *, now: datetime, default_alphabet: DefaultAlphabet = "gsm"
) -> Submission:
    """The submission in ``pdu``; :class:`Refused` (or the codec's ``TextError`` /
    ``TimeError``) with the status to answer."""
    if pdu.esm_class & ESM_TYPE_MASK:
        raise Refused(S.ESME_RINVESMCLASS, "esm_class asks for a message type a client cannot send")
    if pdu.priority_flag > HIGHEST_PRIORITY_FLAG:
        raise Refused(S.ESME_RINVPRTFLG, f"priority_flag {pdu.priority_flag} is not 0 to 3")
    if pdu.registered_delivery > 0x1F:
        raise Refused(S.ESME_RINVREGDLVFLG, f"registered_delivery 0x{pdu.registered_delivery:02X}")
    content = message_content(pdu, default_alphabet=default_alphabet)
    send_at = parse_time(pdu.schedule_delivery_time, now=now, status=S.ESME_RINVSCHED)
    expires = parse_time(pdu.validity_period, now=now, status=S.ESME_RINVEXPIRY)
    concat = content.concat
    template = NewMessage(
        to="",
        text=content.text,
        priority=10 * pdu.priority_flag,
        send_at=send_at,
        flash=pdu.data_coding == FLASH_CODING,
        status_report=receipt_requested(pdu.registered_delivery) != RECEIPT_NONE,
        validity_minutes=validity_minutes(expires, start=max(now, send_at or now)),
        part_of=concat if concat is not None and concat.total > 1 else None,
    )
    extras = Extras(
        registered_delivery=pdu.registered_delivery,
        source=Address(pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr),
        data_coding=pdu.data_coding,
        esm_class=pdu.esm_class,
        service_type=pdu.service_type,
        user_message_reference=pdu.user_message_reference,
    )
    return Submission(template, destinations_of(pdu), extras)


def destinations_of(pdu: SubmitSm | SubmitMulti) -> tuple[Address | str, ...]:
    if isinstance(pdu, SubmitSm):
        return (Address(pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr),)
    if not pdu.destinations:
        raise Refused(S.ESME_RINVNUMDESTS, "submit_multi without destinations")
    found: list[Address | str] = []
    for destination in pdu.destinations:
        if isinstance(destination, SmeAddress):
            found.append(Address(destination.ton, destination.npi, destination.address))
        else:
            assert isinstance(destination, DistributionList)
            found.append(destination.name)
    return tuple(found)


def validity_minutes(expires: datetime | None, *, start: datetime) -> int | None:
    """Whole minutes from ``start`` (now, or the scheduled time) to ``expires``, within what a
    message can carry; :class:`Refused` when it expires before it could be sent."""
    if expires is None:
        return None
    seconds = (expires - start).total_seconds()
    if seconds <= 0:
        raise Refused(S.ESME_RINVEXPIRY, "validity_period ends before the message can be sent")
    return min(MAX_VALIDITY_MINUTES, max(MIN_VALIDITY_MINUTES, math.ceil(seconds / 60)))

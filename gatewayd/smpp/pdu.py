"""The SMPP 3.4 PDUs as frozen dataclasses, each declaring its body as a table of fields
(:class:`Field`) that :mod:`gatewayd.smpp.codec` reads and writes.

Every PDU has ``sequence_number`` and ``command_status``; every PDU with a body also has
``tlvs``, its optional parameters in wire order (unknown tags are kept: the specification asks
receivers to ignore rather than refuse them). Construct with keywords; body fields default
to NULL / 0, so a response with an error status is just ``SubmitSmResp(sequence_number=n,
command_status=...)``. C-octet strings are ``str`` (octets read as Latin-1, so any octet
survives a round trip); ``short_message`` is ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from gatewayd.smpp.constants import (
    INTERFACE_VERSION,
    RESPONSE_BIT,
    CommandId,
    CommandStatus,
)
from gatewayd.smpp.errors import PduError
from gatewayd.smpp.tlv import Tlv, TlvReaders

S = CommandStatus

# Field kinds of a body table.
U8 = 0  # one octet, unsigned
CSTR = 1  # C-octet string: octets up to a NUL, at most max_length octets with the NUL
SHORT_MESSAGE = 2  # sm_length (one octet) then that many octets
DESTINATIONS = 3  # submit_multi: number_of_dests then dest_address structures
UNSUCCESSFUL = 4  # submit_multi_resp: no_unsuccess then unsuccess_sme structures


class Field(NamedTuple):
    """One mandatory body field: name, kind, longest C-octet string (NUL included), and the
    status to answer when it is malformed."""

    name: str
    kind: int
    max_length: int = 0
    status: CommandStatus = S.ESME_RINVCMDLEN


def u8(name: str) -> Field:
    return Field(name, U8)


def cstr(name: str, max_length: int, status: CommandStatus = S.ESME_RINVCMDLEN) -> Field:
    return Field(name, CSTR, max_length, status)


class SmeAddress(NamedTuple):
    """A submit_multi destination that is an SME address (dest_flag 1)."""

    ton: int
    npi: int
    address: str


class DistributionList(NamedTuple):
    """A submit_multi destination that is a distribution list name (dest_flag 2)."""

    name: str


Destination = SmeAddress | DistributionList


class UnsuccessSme(NamedTuple):
    """A submit_multi destination the SMSC refused, with the status it refused it with."""

    ton: int
    npi: int
    address: str
    error_status: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """The header every PDU has. ``command_status`` is 0 in requests."""

    command_id: ClassVar[CommandId]
    fields: ClassVar[tuple[Field, ...]] = ()
    has_body: ClassVar[bool] = False

    sequence_number: int
    command_status: int = 0

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyPdu(Pdu):
    """A PDU with a body: mandatory fields (its ``fields`` table) then optional parameters."""

    has_body: ClassVar[bool] = True

    tlvs: tuple[Tlv, ...] = ()


# --- session management -------------------------------------------------------------------

_BIND_FIELDS = (
    cstr("system_id", 16, S.ESME_RINVSYSID),
    cstr("password", 9, S.ESME_RINVPASWD),
    cstr("system_type", 13, S.ESME_RINVSYSTYP),
    u8("interface_version"),
    u8("addr_ton"),
    u8("addr_npi"),
    cstr("address_range", 41),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bind(TlvReaders, BodyPdu):
    fields: ClassVar[tuple[Field, ...]] = _BIND_FIELDS

    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(_Bind):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(_Bind):
    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(_Bind):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp(TlvReaders, BodyPdu):
    """A bind response: the SMSC's system_id, and ``sc_interface_version`` as a TLV."""

    fields: ClassVar[tuple[Field, ...]] = (cstr("system_id", 16, S.ESME_RINVSYSID),)

    system_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind(TlvReaders, BodyPdu):
    command_id: ClassVar[CommandId] = CommandId.OUTBIND
    fields: ClassVar[tuple[Field, ...]] = (
        cstr("system_id", 16, S.ESME_RINVSYSID),
        cstr("password", 9, S.ESME_RINVPASWD),
    )

    system_id: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    command_id: ClassVar[CommandId] = CommandId.UNBIND


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id: ClassVar[CommandId] = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    """The answer to a PDU that could not be read: its status says why."""

    command_id: ClassVar[CommandId] = CommandId.GENERIC_NACK


# --- messages -----------------------------------------------------------------------------

_SOURCE = (
    u8("source_addr_ton"),
    u8("source_addr_npi"),
    cstr("source_addr", 21, S.ESME_RINVSRCADR),
)
_DESTINATION = (
    u8("dest_addr_ton"),
    u8("dest_addr_npi"),
    cstr("destination_addr", 21, S.ESME_RINVDSTADR),
)
_MESSAGE_TAIL = (
    u8("esm_class"),
    u8("protocol_id"),
    u8("priority_flag"),
    cstr("schedule_delivery_time", 17, S.ESME_RINVSCHED),
    cstr("validity_period", 17, S.ESME_RINVEXPIRY),
    u8("registered_delivery"),
    u8("replace_if_present_flag"),
    u8("data_coding"),
    u8("sm_default_msg_id"),
    Field("short_message", SHORT_MESSAGE, 0, S.ESME_RINVMSGLEN),
)
_SERVICE_TYPE = cstr("service_type", 6, S.ESME_RINVSERTYP)
_MESSAGE_ID = cstr("message_id", 65, S.ESME_RINVMSGID)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShortMessage(TlvReaders, BodyPdu):
    """The body submit_sm and deliver_sm share (§4.4.1, §4.6.1)."""

    fields: ClassVar[tuple[Field, ...]] = (_SERVICE_TYPE, *_SOURCE, *_DESTINATION, *_MESSAGE_TAIL)

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(_ShortMessage):
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(_ShortMessage):
    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class _MessageIdResp(TlvReaders, BodyPdu):
    fields: ClassVar[tuple[Field, ...]] = (_MESSAGE_ID,)

    message_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(_MessageIdResp):
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(_MessageIdResp):
    """``message_id`` is unused in 3.4 (NULL), though some SMSCs fill it."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(_MessageIdResp):
    command_id: ClassVar[CommandId] = CommandId.DATA_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMulti(TlvReaders, BodyPdu):
    """A message to up to 254 SME addresses and distribution lists (§4.5.1)."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT_MULTI
    fields: ClassVar[tuple[Field, ...]] = (
        _SERVICE_TYPE,
        *_SOURCE,
        Field("destinations", DESTINATIONS, 0, S.ESME_RINVNUMDESTS),
        *_MESSAGE_TAIL,
    )

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    destinations: tuple[Destination, ...] = ()
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMultiResp(TlvReaders, BodyPdu):
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_MULTI_RESP
    fields: ClassVar[tuple[Field, ...]] = (
        _MESSAGE_ID,
        Field("unsuccess_smes", UNSUCCESSFUL, 0, S.ESME_RINVCMDLEN),
    )

    message_id: str = ""
    unsuccess_smes: tuple[UnsuccessSme, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(TlvReaders, BodyPdu):
    """A message whose text travels in the ``message_payload`` TLV (§4.7.1)."""

    command_id: ClassVar[CommandId] = CommandId.DATA_SM
    fields: ClassVar[tuple[Field, ...]] = (
        _SERVICE_TYPE,
        u8("source_addr_ton"),
        u8("source_addr_npi"),
        cstr("source_addr", 65, S.ESME_RINVSRCADR),
        u8("dest_addr_ton"),
        u8("dest_addr_npi"),
        cstr("destination_addr", 65, S.ESME_RINVDSTADR),
        u8("esm_class"),
        u8("registered_delivery"),
        u8("data_coding"),
    )

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0


# --- message management -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm(TlvReaders, BodyPdu):
    command_id: ClassVar[CommandId] = CommandId.QUERY_SM
    fields: ClassVar[tuple[Field, ...]] = (_MESSAGE_ID, *_SOURCE)

    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp(BodyPdu):
    """``final_date`` is an absolute SMPP time (see :mod:`gatewayd.smpp.times`) or empty."""

    command_id: ClassVar[CommandId] = CommandId.QUERY_SM_RESP
    fields: ClassVar[tuple[Field, ...]] = (
        _MESSAGE_ID,
        cstr("final_date", 17),
        u8("message_state"),
        u8("error_code"),
    )

    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSm(TlvReaders, BodyPdu):
    command_id: ClassVar[CommandId] = CommandId.CANCEL_SM
    fields: ClassVar[tuple[Field, ...]] = (_SERVICE_TYPE, _MESSAGE_ID, *_SOURCE, *_DESTINATION)

    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSmResp(Pdu):
    command_id: ClassVar[CommandId] = CommandId.CANCEL_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSm(TlvReaders, BodyPdu):
    command_id: ClassVar[CommandId] = CommandId.REPLACE_SM
    fields: ClassVar[tuple[Field, ...]] = (
        _MESSAGE_ID,
        *_SOURCE,
        cstr("schedule_delivery_time", 17, S.ESME_RINVSCHED),
        cstr("validity_period", 17, S.ESME_RINVEXPIRY),
        u8("registered_delivery"),
        u8("sm_default_msg_id"),
        Field("short_message", SHORT_MESSAGE, 0, S.ESME_RINVMSGLEN),
    )

    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSmResp(Pdu):
    command_id: ClassVar[CommandId] = CommandId.REPLACE_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertNotification(TlvReaders, BodyPdu):
    """The SMSC tells an ESME that a mobile became available (§4.12.1)."""

    command_id: ClassVar[CommandId] = CommandId.ALERT_NOTIFICATION
    fields: ClassVar[tuple[Field, ...]] = (
        u8("source_addr_ton"),
        u8("source_addr_npi"),
        cstr("source_addr", 65, S.ESME_RINVSRCADR),
        u8("esme_addr_ton"),
        u8("esme_addr_npi"),
        cstr("esme_addr", 65, S.ESME_RINVDSTADR),
    )

    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""


PDU_TYPES: dict[int, type[Pdu]] = {
    cls.command_id: cls
    for cls in (
        BindTransmitter,
        BindTransmitterResp,
        BindReceiver,
        BindReceiverResp,
        BindTransceiver,
        BindTransceiverResp,
        Outbind,
        Unbind,
        UnbindResp,
        EnquireLink,
        EnquireLinkResp,
        GenericNack,
        SubmitSm,
        SubmitSmResp,
        DeliverSm,
        DeliverSmResp,
        DataSm,
        DataSmResp,
        SubmitMulti,
        SubmitMultiResp,
        QuerySm,
        QuerySmResp,
        CancelSm,
        CancelSmResp,
        ReplaceSm,
        ReplaceSmResp,
        AlertNotification,
    )
}
"""Command id → PDU class, for all 27 SMPP 3.4 operations."""


def response_for(request: Pdu, status: int = S.ESME_ROK, **fields: Any) -> Pdu:
    """The response to ``request`` with its sequence number: ``status`` and body ``fields``.

    ValueError for a PDU that has no response (a response itself, outbind, alert_notification).
    """
    response_type = PDU_TYPES.get(request.command_id | RESPONSE_BIT)
    if request.is_response or response_type is None:
        raise ValueError(f"{type(request).__name__} has no response")
    return response_type(sequence_number=request.sequence_number, command_status=status, **fields)


def error_response(error: PduError) -> Pdu:
    """The answer to a frame that failed to decode: the request's own response carrying
    ``error.status`` when the header named a request that has one, else a ``generic_nack``
    (unknown command, a malformed response or outbind, a frame that could not be delimited;
    sequence number 0 when it could not be read)."""
    command_id = error.command_id
    sequence_number = error.sequence_number or 0
    response_type = None
    if command_id is not None and not command_id & RESPONSE_BIT and command_id in PDU_TYPES:
        response_type = PDU_TYPES.get(command_id | RESPONSE_BIT)
    if response_type is None:
        return GenericNack(sequence_number=sequence_number, command_status=error.status)
    return response_type(sequence_number=sequence_number, command_status=error.status)

"""SMPP PDUs for tests: one filled-in example of every PDU type (:data:`SAMPLES`), and
hypothesis strategies that build any valid PDU of any type (:func:`pdus`).

Shared by the codec's unit tests, the smpplib cross-check and the fuzz targets' seed corpus.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from gatewayd.smpp import (
    PDU_TYPES,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    BodyPdu,
    CancelSm,
    CancelSmResp,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DistributionList,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    MessageState,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SmeAddress,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Unbind,
    UnbindResp,
    UnsuccessSme,
    encode,
)
from gatewayd.smpp.constants import FIXED_TLV_LENGTHS, is_response
from gatewayd.smpp.pdu import CSTR, DESTINATIONS, SHORT_MESSAGE, U8, UNSUCCESSFUL, Field

RECEIPT_TEXT = (
    b"id:7f3a sub:001 dlvrd:001 submit date:2601020304 done date:2601020305 stat:DELIVRD "
    b"err:000 text:hello"
)

SAMPLES: tuple[Pdu, ...] = (
    BindTransmitter(
        sequence_number=1, system_id="esme1", password="secret", system_type="VMA", addr_ton=1
    ),
    BindReceiver(sequence_number=2, system_id="esme1", password="secret", address_range="^55"),
    BindTransceiver(sequence_number=3, system_id="kannel", password="k4nn3l", addr_npi=1),
    BindTransmitterResp(
        sequence_number=1,
        system_id="gateway",
        tlvs=(Tlv.u8(Tag.SC_INTERFACE_VERSION, 0x34),),
    ),
    BindReceiverResp(sequence_number=2, command_status=CommandStatus.ESME_RINVPASWD),
    BindTransceiverResp(sequence_number=3, system_id="gateway"),
    Outbind(sequence_number=4, system_id="gateway", password="pw"),
    Unbind(sequence_number=5),
    UnbindResp(sequence_number=5),
    EnquireLink(sequence_number=6),
    EnquireLinkResp(sequence_number=6),
    GenericNack(sequence_number=7, command_status=CommandStatus.ESME_RINVCMDID),
    SubmitSm(
        sequence_number=8,
        source_addr_ton=5,
        source_addr="GATEWAY",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="5511987654321",
        registered_delivery=1,
        validity_period="000001000000000R",
        short_message=b"Hello from the gateway",
        tlvs=(Tlv.u16(Tag.USER_MESSAGE_REFERENCE, 42),),
    ),
    SubmitSmResp(sequence_number=8, message_id="0197e3c2-7a4b-7cc1-9d1e-35a3f4b8e2aa"),
    DeliverSm(
        sequence_number=9,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="5511987654321",
        destination_addr="GATEWAY",
        esm_class=0x04,
        short_message=RECEIPT_TEXT,
        tlvs=(
            Tlv.cstr(Tag.RECEIPTED_MESSAGE_ID, "7f3a"),
            Tlv.u8(Tag.MESSAGE_STATE, MessageState.DELIVERED),
        ),
    ),
    DeliverSmResp(sequence_number=9),
    DataSm(
        sequence_number=10,
        source_addr="5511987654321",
        dest_addr_ton=1,
        destination_addr="5511900000000",
        data_coding=8,
        tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, "olá".encode("utf-16-be")),),
    ),
    DataSmResp(sequence_number=10, message_id="abc"),
    SubmitMulti(
        sequence_number=11,
        source_addr="GATEWAY",
        destinations=(
            SmeAddress(1, 1, "5511987654321"),
            DistributionList("staff"),
            SmeAddress(1, 1, "5511900000000"),
        ),
        data_coding=0,
        short_message=b"To all",
    ),
    SubmitMultiResp(
        sequence_number=11,
        message_id="m11",
        unsuccess_smes=(UnsuccessSme(1, 1, "5511900000000", CommandStatus.ESME_RINVDSTADR),),
    ),
    QuerySm(sequence_number=12, message_id="m11", source_addr="GATEWAY"),
    QuerySmResp(
        sequence_number=12,
        message_id="m11",
        final_date="260102030405000+",
        message_state=MessageState.DELIVERED,
        error_code=0,
    ),
    CancelSm(sequence_number=13, message_id="m11", source_addr="GATEWAY", destination_addr="55"),
    CancelSmResp(sequence_number=13),
    ReplaceSm(
        sequence_number=14,
        message_id="m11",
        source_addr="GATEWAY",
        schedule_delivery_time="260102030405004+",
        short_message=b"replaced",
    ),
    ReplaceSmResp(sequence_number=14),
    AlertNotification(
        sequence_number=15,
        source_addr="5511987654321",
        esme_addr="GATEWAY",
        tlvs=(Tlv.u8(Tag.MS_AVAILABILITY_STATUS, 0),),
    ),
)

SAMPLE_FRAMES: tuple[bytes, ...] = tuple(encode(pdu) for pdu in SAMPLES)


# --- hypothesis strategies ----------------------------------------------------------------

octet = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)


def c_string(max_length: int) -> st.SearchStrategy[str]:
    """Strings whose Latin-1 octets fit a C-octet string field of ``max_length`` (NUL included)."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=max_length - 1)


def tlv() -> st.SearchStrategy[Tlv]:
    def build(tag: int, data: bytes) -> Tlv:
        fixed = FIXED_TLV_LENGTHS.get(tag)
        return Tlv(tag, data if fixed is None else (data * fixed + bytes(fixed))[:fixed])

    tags = st.one_of(st.sampled_from(sorted(set(Tag))), st.integers(0, 0xFFFF))
    return st.builds(build, tags, st.binary(max_size=40))


destination = st.one_of(
    st.builds(SmeAddress, octet, octet, c_string(21)),
    st.builds(DistributionList, c_string(21)),
)
unsuccess = st.builds(UnsuccessSme, octet, octet, c_string(21), u32)


def _field_strategy(field: Field) -> st.SearchStrategy[Any]:
    if field.kind == U8:
        return octet
    if field.kind == CSTR:
        return c_string(field.max_length)
    if field.kind == SHORT_MESSAGE:
        return st.binary(max_size=255)
    if field.kind == DESTINATIONS:
        return st.lists(destination, max_size=6).map(tuple)
    assert field.kind == UNSUCCESSFUL
    return st.lists(unsuccess, max_size=4).map(tuple)


def pdu_of(pdu_type: type[Pdu]) -> st.SearchStrategy[Pdu]:
    """Any valid PDU of ``pdu_type``. An error response without TLVs is drawn with NULL body
    fields, since its body is not written (its round trip is tested on its own)."""
    response = is_response(pdu_type.command_id)
    header = {"sequence_number": u32, "command_status": u32 if response else st.just(0)}
    if not issubclass(pdu_type, BodyPdu):
        return st.fixed_dictionaries(header).map(lambda values: pdu_type(**values))
    body = {field.name: _field_strategy(field) for field in pdu_type.fields}
    body["tlvs"] = st.lists(tlv(), max_size=4).map(tuple)

    def build(values: dict[str, Any]) -> Pdu:
        pdu = pdu_type(**values)
        if response and pdu.command_status and not values["tlvs"]:
            pdu = pdu_type(sequence_number=pdu.sequence_number, command_status=pdu.command_status)
        return pdu

    return st.fixed_dictionaries({**header, **body}).map(build)


def pdus() -> st.SearchStrategy[Pdu]:
    """Any valid PDU of any SMPP 3.4 type."""
    return st.sampled_from(sorted(PDU_TYPES.values(), key=lambda cls: cls.__name__)).flatmap(pdu_of)

"""Every PDU type written and read back: a filled-in example of each, then hypothesis over
any valid PDU of any type; the rules for error responses; TLV readers; responses built
from requests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from gatewayd.smpp import (
    PDU_TYPES,
    BindTransceiver,
    BindTransceiverResp,
    CommandId,
    CommandStatus,
    DataSmResp,
    DeliverSm,
    EncodeError,
    EnquireLink,
    GenericNack,
    Outbind,
    Pdu,
    QuerySmResp,
    SmeAddress,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    UnsuccessSme,
    decode,
    encode,
    response_for,
)
from tests.support.smpp_samples import SAMPLES, pdus


def test_samples_cover_every_command() -> None:
    assert {type(pdu) for pdu in SAMPLES} == set(PDU_TYPES.values())
    assert {pdu.command_id for pdu in SAMPLES} == set(CommandId)
    assert len(CommandId) == 27


@pytest.mark.parametrize("pdu", SAMPLES, ids=lambda pdu: type(pdu).__name__)
def test_every_pdu_type_round_trips(pdu: Pdu) -> None:
    frame = encode(pdu)
    assert int.from_bytes(frame[:4], "big") == len(frame)
    assert int.from_bytes(frame[4:8], "big") == pdu.command_id
    assert int.from_bytes(frame[12:16], "big") == pdu.sequence_number
    assert decode(frame) == pdu


@settings(max_examples=1000, deadline=None)
@given(pdus())
def test_any_valid_pdu_round_trips(pdu: Pdu) -> None:
    frame = encode(pdu)
    assert decode(frame) == pdu
    assert encode(decode(frame)) == frame


def test_submit_sm_octet_by_octet() -> None:
    pdu = SubmitSm(
        sequence_number=2,
        service_type="CMT",
        source_addr_ton=5,
        source_addr="GW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="5511",
        esm_class=0x40,
        registered_delivery=1,
        data_coding=8,
        short_message=b"\x00h\x00i",
        tlvs=(Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, 2),),
    )
    assert encode(pdu).hex() == (
        "00000033" "00000004" "00000000" "00000002"
        "434d5400" "05" "00" "475700" "01" "01" "3535313100" "40" "00" "00" "00" "00"
        "01" "00" "08" "00" "04" "00680069" "020e" "0001" "02"
    )  # fmt: skip


def test_error_response_without_tlvs_is_written_header_only() -> None:
    """§4.4.2: no body on an error response; its fields read back as NULL."""
    refused = SubmitSmResp(
        sequence_number=9, command_status=CommandStatus.ESME_RTHROTTLED, message_id="ignored"
    )
    frame = encode(refused)
    assert frame.hex() == "00000010800000040000005800000009"
    assert decode(frame) == SubmitSmResp(
        sequence_number=9, command_status=CommandStatus.ESME_RTHROTTLED
    )


def test_error_response_with_tlvs_keeps_its_body() -> None:
    """data_sm_resp reports a failure's reason in TLVs, after its (NULL) message_id."""
    refused = DataSmResp(
        sequence_number=3,
        command_status=CommandStatus.ESME_RDELIVERYFAILURE,
        tlvs=(Tlv.u8(Tag.DELIVERY_FAILURE_REASON, 1),),
    )
    frame = encode(refused)
    assert frame[16:] == b"\x00\x04\x25\x00\x01\x01"
    decoded = decode(frame)
    assert decoded == refused
    assert isinstance(decoded, DataSmResp) and decoded.delivery_failure_reason == 1


def test_empty_body_of_a_successful_response_reads_as_null_fields() -> None:
    frame = bytes.fromhex("00000010800000210000000000000004")
    assert decode(frame) == SubmitMultiResp(sequence_number=4)


def test_tlv_readers() -> None:
    pdu = DeliverSm(
        sequence_number=1,
        tlvs=(
            Tlv.cstr(Tag.RECEIPTED_MESSAGE_ID, "m-1"),
            Tlv.u8(Tag.MESSAGE_STATE, 5),
            Tlv(Tag.NETWORK_ERROR_CODE, b"\x03\x00\x22"),
            Tlv.u16(Tag.SAR_MSG_REF_NUM, 0x1234),
            Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, 3),
            Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, 2),
            Tlv.u8(Tag.MORE_MESSAGES_TO_SEND, 1),
            Tlv.u16(Tag.SOURCE_PORT, 2948),
            Tlv.u16(Tag.DESTINATION_PORT, 9200),
            Tlv.cstr(Tag.ADDITIONAL_STATUS_INFO_TEXT, "absent subscriber"),
            Tlv(Tag.MESSAGE_PAYLOAD, b"payload"),
        ),
    )
    decoded = decode(encode(pdu))
    assert isinstance(decoded, DeliverSm)
    assert decoded.receipted_message_id == "m-1"
    assert decoded.message_state == 5
    assert decoded.network_error_code == (3, 0x22)
    assert (decoded.sar_msg_ref_num, decoded.sar_total_segments) == (0x1234, 3)
    assert decoded.sar_segment_seqnum == 2
    assert decoded.more_messages_to_send == 1
    assert (decoded.source_port, decoded.destination_port) == (2948, 9200)
    assert decoded.additional_status_info_text == "absent subscriber"
    assert decoded.message_payload == b"payload"
    assert decoded.user_message_reference is None
    assert decoded.tlv(0x1400) is None


def test_receipted_message_id_without_nul_is_read_too() -> None:
    pdu = DeliverSm(sequence_number=1, tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, b"abc"),))
    assert pdu.receipted_message_id == "abc"


def test_bind_resp_carries_sc_interface_version() -> None:
    pdu = BindTransceiverResp(
        sequence_number=1, system_id="gw", tlvs=(Tlv.u8(Tag.SC_INTERFACE_VERSION, 0x34),)
    )
    decoded = decode(encode(pdu))
    assert isinstance(decoded, BindTransceiverResp) and decoded.sc_interface_version == 0x34


def test_submit_multi_destinations_and_unsuccessful_smes() -> None:
    request = SubmitMulti(
        sequence_number=1, destinations=(SmeAddress(1, 1, "551"),), short_message=b"x"
    )
    frame = encode(request)
    assert frame[16 + 4 : 16 + 4 + 9] == b"\x01\x01\x01\x01551\x00\x00"
    answer = SubmitMultiResp(
        sequence_number=1, message_id="m", unsuccess_smes=(UnsuccessSme(1, 1, "551", 0x0B),)
    )
    assert encode(answer)[16:] == b"m\x00\x01\x01\x01551\x00\x00\x00\x00\x0b"


def test_response_for_a_request() -> None:
    request = SubmitSm(sequence_number=77, destination_addr="5511")
    assert response_for(request, message_id="m") == SubmitSmResp(sequence_number=77, message_id="m")
    assert response_for(
        BindTransceiver(sequence_number=2), CommandStatus.ESME_RINVPASWD
    ) == BindTransceiverResp(sequence_number=2, command_status=CommandStatus.ESME_RINVPASWD)
    assert encode(response_for(EnquireLink(sequence_number=5))) == bytes.fromhex(
        "00000010800000150000000000000005"
    )


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSmResp(sequence_number=1),
        Outbind(sequence_number=1),
        GenericNack(sequence_number=1),
    ],
    ids=lambda pdu: type(pdu).__name__,
)
def test_no_response_for_responses_outbind_or_nacks(pdu: Pdu) -> None:
    with pytest.raises(ValueError, match="has no response"):
        response_for(pdu)


@pytest.mark.parametrize(
    ("pdu", "message"),
    [
        (SubmitSm(sequence_number=1, source_addr="x" * 21), "longer than 20 octets"),
        (SubmitSm(sequence_number=1, destination_addr="55\x0011"), "contains a NUL"),
        (SubmitSm(sequence_number=1, source_addr="Gateway €"), "outside Latin-1"),
        (SubmitSm(sequence_number=1, esm_class=256), "does not fit in one octet"),
        (SubmitSm(sequence_number=1, short_message=bytes(256)), "use message_payload"),
        (SubmitSm(sequence_number=1, tlvs=(Tlv(0x10000, b""),)), "does not fit"),
        (SubmitSm(sequence_number=1, tlvs=(Tlv(1, bytes(65536)),)), "does not fit"),
        (EnquireLink(sequence_number=1 << 32), "out of range"),
        (QuerySmResp(sequence_number=1, final_date="2601020304050000+"), "longer than 16"),
        (
            SubmitMultiResp(sequence_number=1, unsuccess_smes=(UnsuccessSme(1, 1, "5", -1),)),
            "four octets",
        ),
        (
            SubmitMulti(sequence_number=1, destinations=(SmeAddress(1, 1, "5"),) * 256),
            "number_of_dests 256",
        ),
    ],
)
def test_fields_that_cannot_be_written_raise_encode_error(pdu: Pdu, message: str) -> None:
    with pytest.raises(EncodeError, match=message) as raised:
        encode(pdu)
    assert isinstance(raised.value, ValueError)

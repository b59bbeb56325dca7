"""Malformed frames: each class is answered with its status, carrying the header's command id
and sequence number, and nothing but PduError ever leaves decode().

Frames marked CLOUDHOPPER come from twitter-archive/cloudhopper-smpp
src/test/java/com/cloudhopper/smpp/transcoder/PduDecoderTest.java
@ 0bbe117f25bcf4de0795a107b3b34bb5b210b923; SMPP_PDU from jookies/jasmin
jasmin/vendor/smpp/pdu/tests/test_pdu_encoding.py @ 29f4222be5232c6323c53a6844bbaca58ae12c6a
(where smpp.pdu answers ESME_RINVMSGLEN for a frame whose command_length disagrees with its
size, we answer ESME_RINVCMDLEN: the frame, not the message, has the wrong length).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewayd.smpp import (
    BindTransceiverResp,
    CommandStatus,
    GenericNack,
    Pdu,
    PduError,
    SubmitSmResp,
    decode,
    error_response,
)
from tests.support.smpp_samples import SAMPLE_FRAMES

S = CommandStatus


def header(length: int, command_id: int, sequence: int = 0x01020304, status: int = 0) -> bytes:
    return b"".join(n.to_bytes(4, "big") for n in (length, command_id, status, sequence))


def frame(command_id: int, body: bytes, sequence: int = 0x01020304) -> bytes:
    return header(16 + len(body), command_id, sequence) + body


def submit_sm_body(
    *,
    service_type: bytes = b"\0",
    source: bytes = b"GW\0",
    destination: bytes = b"5511\0",
    schedule: bytes = b"\0",
    validity: bytes = b"\0",
    message: bytes = b"\x02hi",
    tail: bytes = b"",
) -> bytes:
    return (
        service_type
        + b"\x05\x00"
        + source
        + b"\x01\x01"
        + destination
        + b"\x00\x00\x00"
        + schedule
        + validity
        + b"\x01\x00\x00\x00"
        + message
        + tail
    )


def bind_body(
    system_id: bytes = b"esme\0",
    password: bytes = b"pw\0",
    system_type: bytes = b"\0",
    address_range: bytes = b"\0",
) -> bytes:
    return system_id + password + system_type + b"\x34\x00\x00" + address_range


MALFORMED: list[tuple[str, bytes, CommandStatus]] = [
    (
        "CLOUDHOPPER decodeLessThan16Bytes",
        bytes.fromhex("0000001000000015000000000a342e"),
        S.ESME_RINVCMDLEN,
    ),
    (
        "SMPP_PDU command_length 15",
        bytes.fromhex("0000000f000000060000000000000000"),
        S.ESME_RINVCMDLEN,
    ),
    (
        "SMPP_PDU unbind with a body",
        bytes.fromhex("00000011000000060000000000000000ff"),
        S.ESME_RINVCMDLEN,
    ),
    (
        "SMPP_PDU command_length past the frame",
        bytes.fromhex("000000fd80000009000000000000000154534937353838000210000134"),
        S.ESME_RINVCMDLEN,
    ),
    (
        "SMPP_PDU command_length short of the frame",
        bytes.fromhex("0000001c80000009000000000000000154534937353838000210000134"),
        S.ESME_RINVCMDLEN,
    ),
    (
        "CLOUDHOPPER decodeUnsupportedRequestCommandId",
        bytes.fromhex("0000001000000110000000000a342ee7"),
        S.ESME_RINVCMDID,
    ),
    (
        "CLOUDHOPPER decodeUnsupportedResponseCommandId",
        bytes.fromhex("0000001080000110000000000a342ee7"),
        S.ESME_RINVCMDID,
    ),
    ("SMPP_PDU command id 0xf0000009", header(16, 0xF0000009), S.ESME_RINVCMDID),
    ("SMPP 5.0 broadcast_sm is not 3.4", frame(0x111, b"\0"), S.ESME_RINVCMDID),
    (
        "CLOUDHOPPER decodeSubmitSmRespWithNoNullByteForMessageId",
        bytes.fromhex("0000001180000004000000000a342ee139"),
        S.ESME_RINVMSGID,
    ),
    (
        "CLOUDHOPPER MX nextel: sm_length 16, 8 octets left",
        bytes.fromhex(
            "00000039000000050000000000000001000101393939393139393134353933000000363436340000"
            "000000000000080010c1e1e9edf3faf1fc"
        ),
        S.ESME_RINVMSGLEN,
    ),
    (
        "CLOUDHOPPER Netfors receipt: receipted_message_id claims 0x41 octets, 5 left",
        bytes.fromhex(
            "000000a40000000500000000000000050001013233343830333337363831353100050056414e534f00"
            "0400000000040000006369643a30303030303033303035207375623a30303120646c7672643a303031"
            "207375626d697420646174653a3130303131383134333120646f6e6520646174653a31303031313831"
            "34333120737461743a44454c49565244206572723a3030302074650427000102001e00413330303500"
        ),
        S.ESME_RINVOPTPARSTREAM,
    ),
    (
        "SMPP_PDU bind_resp ends in the middle of a TLV header",
        bytes.fromhex("0000001b8000000900000000000000015453493735383800021000"),
        S.ESME_RINVOPTPARSTREAM,
    ),
    (
        "bind system_id longer than 15",
        frame(9, bind_body(system_id=b"s" * 16 + b"\0")),
        S.ESME_RINVSYSID,
    ),
    (
        "bind password longer than 8",
        frame(2, bind_body(password=b"p" * 9 + b"\0")),
        S.ESME_RINVPASWD,
    ),
    (
        "bind system_type longer than 12",
        frame(1, bind_body(system_type=b"t" * 13 + b"\0")),
        S.ESME_RINVSYSTYP,
    ),
    (
        "bind address_range without NUL",
        frame(9, bind_body(address_range=b"^55")),
        S.ESME_RINVCMDLEN,
    ),
    ("bind without a body", frame(9, b""), S.ESME_RINVCMDLEN),
    ("bind cut after system_type", frame(9, bind_body()[:-4]), S.ESME_RINVCMDLEN),
    (
        "submit_sm service_type longer than 5",
        frame(4, submit_sm_body(service_type=b"SERVICE\0")),
        S.ESME_RINVSERTYP,
    ),
    (
        "submit_sm source_addr longer than 20",
        frame(4, submit_sm_body(source=b"1" * 21 + b"\0")),
        S.ESME_RINVSRCADR,
    ),
    (
        "submit_sm destination_addr longer than 20",
        frame(4, submit_sm_body(destination=b"5" * 21 + b"\0")),
        S.ESME_RINVDSTADR,
    ),
    (
        "submit_sm schedule_delivery_time of 17",
        frame(4, submit_sm_body(schedule=b"2" * 17 + b"\0")),
        S.ESME_RINVSCHED,
    ),
    (
        "submit_sm validity_period of 17",
        frame(4, submit_sm_body(validity=b"0" * 17 + b"\0")),
        S.ESME_RINVEXPIRY,
    ),
    (
        "submit_sm destination_addr without NUL",
        frame(4, b"\0\x01\x01GW\0\x01\x01" + b"5511"),
        S.ESME_RINVDSTADR,
    ),
    ("submit_sm without sm_length", frame(4, submit_sm_body(message=b"")), S.ESME_RINVCMDLEN),
    (
        "submit_sm sm_length past the body",
        frame(4, submit_sm_body(message=b"\x05hi")),
        S.ESME_RINVMSGLEN,
    ),
    (
        "submit_sm 3 stray octets after the message",
        frame(4, submit_sm_body(tail=b"\x02\x04\x00")),
        S.ESME_RINVOPTPARSTREAM,
    ),
    (
        "submit_sm message_payload longer than the body",
        frame(4, submit_sm_body(message=b"\x00", tail=b"\x04\x24\x00\x10hello")),
        S.ESME_RINVOPTPARSTREAM,
    ),
    (
        "submit_sm sar_total_segments of two octets",
        frame(4, submit_sm_body(tail=b"\x02\x0e\x00\x02\x00\x03")),
        S.ESME_RINVPARLEN,
    ),
    (
        "submit_sm user_message_reference of one octet",
        frame(4, submit_sm_body(tail=b"\x02\x04\x00\x01\x07")),
        S.ESME_RINVPARLEN,
    ),
    (
        "submit_multi dest_flag 3",
        frame(0x21, b"\0\x00\x00GW\0" + b"\x01\x03\x01\x015511\0" + b"\0" * 11),
        S.ESME_RINVDESTFLAG,
    ),
    (
        "submit_multi dl_name longer than 20",
        frame(0x21, b"\0\x00\x00GW\0" + b"\x01\x02" + b"d" * 21 + b"\0" + b"\0" * 11),
        S.ESME_RINVDLNAME,
    ),
    (
        "submit_multi two destinations announced, one there",
        frame(0x21, b"\0\x00\x00GW\0" + b"\x02\x01\x01\x015511\0"),
        S.ESME_RINVCMDLEN,
    ),
    (
        "submit_multi_resp error_status_code cut short",
        frame(0x80000021, b"m\0\x01\x01\x015511\0\x00\x00"),
        S.ESME_RINVCMDLEN,
    ),
    ("query_sm message_id longer than 64", frame(3, b"m" * 65 + b"\0\0\0\0"), S.ESME_RINVMSGID),
    (
        "query_sm_resp final_date without NUL",
        frame(0x80000003, b"m\0" + b"2601020304050000"),
        S.ESME_RINVCMDLEN,
    ),
    (
        "data_sm source_addr longer than 64",
        frame(0x103, b"\0\0\0" + b"1" * 65 + b"\0"),
        S.ESME_RINVSRCADR,
    ),
    ("enquire_link_resp with a body", frame(0x80000015, b"\0"), S.ESME_RINVCMDLEN),
    ("generic_nack with a body", frame(0x80000000, b"\0\0\0\0"), S.ESME_RINVCMDLEN),
]


@pytest.mark.parametrize(("case", "data", "status"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_frame_is_answered_with_its_status(
    case: str, data: bytes, status: CommandStatus
) -> None:
    with pytest.raises(PduError) as raised:
        decode(data)
    error = raised.value
    assert error.status == status, (case, str(error))
    assert "\n" not in str(error)
    if len(data) >= 16:  # the header was read: the server can answer the request itself
        assert error.command_id == int.from_bytes(data[4:8], "big")
        assert error.sequence_number == int.from_bytes(data[12:16], "big")


def test_frame_shorter_than_a_header_has_no_command_id() -> None:
    with pytest.raises(PduError) as raised:
        decode(b"\x00\x00\x00\x10\x00\x00")
    assert raised.value.status == S.ESME_RINVCMDLEN
    assert raised.value.command_id is None and raised.value.sequence_number is None


def test_unknown_command_carries_what_a_generic_nack_needs() -> None:
    with pytest.raises(PduError) as raised:
        decode(bytes.fromhex("0000001000000110000000000a342ee7"))
    assert (raised.value.command_id, raised.value.sequence_number) == (0x110, 0x0A342EE7)
    assert "unknown command_id 0x00000110" in str(raised.value)


def _mutate(base: bytes, at: int, patch: bytes, cut: int) -> bytes:
    mutated = base[:at] + patch + base[at + len(patch) :]
    mutated = mutated[: max(cut, 16)] if cut < len(mutated) else mutated
    # Most mutations keep the length right, so the body parser (not only the header) is hit.
    return len(mutated).to_bytes(4, "big") + mutated[4:]


mutated_frames = st.builds(
    _mutate,
    st.sampled_from(SAMPLE_FRAMES),
    st.integers(0, 200),
    st.binary(min_size=1, max_size=6),
    st.integers(0, 300),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), mutated_frames))
def test_decode_raises_only_pdu_error(data: bytes) -> None:
    try:
        pdu = decode(data)
    except PduError as error:
        assert isinstance(error.status, CommandStatus)
        assert "\n" not in str(error)
    else:
        assert pdu.sequence_number == int.from_bytes(data[12:16], "big")


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        (  # a malformed submit_sm is answered with a submit_sm_resp carrying the status
            frame(4, submit_sm_body(source=b"1" * 21 + b"\0"), sequence=9),
            SubmitSmResp(sequence_number=9, command_status=S.ESME_RINVSRCADR),
        ),
        (
            frame(9, bind_body(password=b"p" * 9 + b"\0"), sequence=1),
            BindTransceiverResp(sequence_number=1, command_status=S.ESME_RINVPASWD),
        ),
        (  # an unknown command gets a generic_nack with its sequence number
            bytes.fromhex("0000001000000110000000000a342ee7"),
            GenericNack(sequence_number=0x0A342EE7, command_status=S.ESME_RINVCMDID),
        ),
        (  # so does a malformed response
            frame(0x80000004, b"no NUL", sequence=3),
            GenericNack(sequence_number=3, command_status=S.ESME_RINVMSGID),
        ),
        (  # and a frame too short to have a sequence number
            b"\x00\x00\x00\x10",
            GenericNack(sequence_number=0, command_status=S.ESME_RINVCMDLEN),
        ),
    ],
)
def test_error_response_answers_a_malformed_frame(data: bytes, answer: Pdu) -> None:
    with pytest.raises(PduError) as raised:
        decode(data)
    assert error_response(raised.value) == answer

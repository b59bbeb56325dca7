"""Cross-check with smpplib (the PyPI SMPP client): frames its own PDU classes build decode
with our codec to what smpplib meant, and our frames parse with smpplib's parser to the same
fields, for every PDU type smpplib knows (it has no outbind, submit_multi, cancel_sm or
replace_sm).

smpplib is used as ESMEs use it: ``smpplib.smpp.make_pdu`` / ``parse_pdu`` with a
``smpplib.client.Client`` (constructed only; nothing connects) for sequence numbers, and
``smpplib.gsm.make_parts`` to cut long texts as callers of its ``Client.send_message`` do.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.smpp import (
    PDU_TYPES,
    BindTransceiver,
    BodyPdu,
    CommandStatus,
    DataSm,
    DeliverSmResp,
    GenericNack,
    Pdu,
    QuerySm,
    SubmitSm,
    Tag,
    Tlv,
    decode,
    decode_text,
    encode,
    message_content,
)
from gatewayd.smpp.pdu import CSTR, SHORT_MESSAGE
from gatewayd.sms import Concat
from tests.support.smpp_samples import SAMPLES, pdu_of
from tests.support.tools import require_module

require_module("smpplib")
import smpplib.command  # noqa: E402
import smpplib.consts  # noqa: E402
import smpplib.exceptions  # noqa: E402
import smpplib.gsm  # noqa: E402
import smpplib.smpp  # noqa: E402
from smpplib.client import Client  # noqa: E402

CLIENT = Client("127.0.0.1", 9, allow_unknown_opt_params=True)
TAG_NAMES = {code: name for name, code in smpplib.consts.OPTIONAL_PARAMS.items()}


def smpplib_knows(pdu_type: type[Pdu]) -> bool:
    """smpplib has a PDU class for it (query_sm wants a message_id to be built)."""
    try:
        smpplib.command.factory(pdu_type.command_id.name.lower(), client=CLIENT, message_id="x")
    except smpplib.exceptions.UnknownCommandError:
        return False
    return True


def parse_with_smpplib(frame: bytes) -> Any:
    return smpplib.smpp.parse_pdu(frame, client=CLIENT, allow_unknown_opt_params=True)


def assert_same(pdu: Pdu, parsed: Any) -> None:
    """Our decoded ``pdu`` and smpplib's ``parsed`` object of one frame agree field by field."""
    assert parsed.command == pdu.command_id.name.lower()
    assert (parsed.sequence, parsed.status) == (pdu.sequence_number, pdu.command_status)
    if not isinstance(pdu, BodyPdu):
        return
    has_body = len(encode(pdu)) > 16
    for field in pdu.fields:
        ours = getattr(pdu, field.name)
        if field.kind == CSTR:
            ours = ours.encode("latin-1")
        theirs = getattr(parsed, field.name)
        if field.kind == SHORT_MESSAGE and theirs is None and ours == b"":
            continue  # smpplib stops before an empty short_message that ends the body
        # smpplib leaves the fields of a body-less (error) response unset
        assert theirs == (ours if has_body else None), field.name
    params = type(parsed).params
    for tag, value in pdu.tlvs:
        name = TAG_NAMES[tag]
        kind = params[name].type
        if kind is int:
            expected: Any = int.from_bytes(value, "big")
        elif kind is str:
            expected = value.rstrip(b"\0")
        else:
            expected = value
        assert getattr(parsed, name) == expected, name


@pytest.mark.parametrize(
    "pdu",
    [pdu for pdu in SAMPLES if smpplib_knows(type(pdu))],
    ids=lambda pdu: type(pdu).__name__,
)
def test_our_frames_parse_the_same_in_smpplib(pdu: Pdu) -> None:
    frame = encode(pdu)
    assert_same(decode(frame), parse_with_smpplib(frame))


def test_smpplib_knows_the_types_we_expect() -> None:
    unknown = {cls.__name__ for cls in PDU_TYPES.values() if not smpplib_knows(cls)}
    assert unknown == {
        "Outbind",
        "SubmitMulti",
        "SubmitMultiResp",
        "CancelSm",
        "CancelSmResp",
        "ReplaceSm",
        "ReplaceSmResp",
    }


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        sorted((cls for cls in PDU_TYPES.values() if smpplib_knows(cls)), key=lambda c: c.__name__)
    ).flatmap(pdu_of)
)
def test_any_pdu_without_tlvs_parses_the_same_in_smpplib(pdu: Pdu) -> None:
    if isinstance(pdu, BodyPdu) and pdu.tlvs:  # smpplib refuses TLVs its PDU class lacks
        pdu = dataclasses.replace(pdu, tlvs=())
    frame = encode(pdu)
    assert_same(decode(frame), parse_with_smpplib(frame))


def smpplib_frame(command: str, sequence: int, **fields: Any) -> bytes:
    pdu = smpplib.smpp.make_pdu(command, client=CLIENT, **fields)
    pdu.sequence = sequence
    frame: bytes = pdu.generate()
    return frame


def test_smpplib_bind_transceiver() -> None:
    frame = smpplib_frame(
        "bind_transceiver",
        1,
        system_id="esme",
        password="secret",
        system_type="",
        addr_ton=1,
        addr_npi=1,
        address_range="",
    )
    pdu = decode(frame)
    assert pdu == BindTransceiver(
        sequence_number=1, system_id="esme", password="secret", addr_ton=1, addr_npi=1
    )
    assert_same(pdu, parse_with_smpplib(frame))


def test_smpplib_session_pdus() -> None:
    assert decode(smpplib_frame("enquire_link", 2)).command_id == 0x15
    assert decode(smpplib_frame("unbind", 3)).command_id == 0x06
    assert decode(smpplib_frame("deliver_sm_resp", 4)) == DeliverSmResp(
        sequence_number=4, message_id=""
    )
    nack = smpplib_frame("generic_nack", 5, status=CommandStatus.ESME_RINVCMDID)
    assert decode(nack) == GenericNack(
        sequence_number=5, command_status=CommandStatus.ESME_RINVCMDID
    )
    query = smpplib_frame("query_sm", 6, message_id="m-6", source_addr="GW")
    assert decode(query) == QuerySm(sequence_number=6, message_id="m-6", source_addr="GW")


@pytest.mark.parametrize(
    ("text", "data_coding", "parts"),
    [
        ("short and sweet", 0, 1),
        ("GSM text {with} escapes € " * 8, 0, 2),  # smpplib may cut an escape pair
        ("Жизнь " * 20, 8, 2),
        ("😀" * 40, 8, 2),  # 160 octets cut at 134: inside a surrogate pair
    ],
)
def test_smpplib_long_messages_reassemble(text: str, data_coding: int, parts: int) -> None:
    encoded_parts, encoding_flag, esm_class = smpplib.gsm.make_parts(text)
    assert (len(encoded_parts), encoding_flag) == (parts, data_coding)
    octets = []
    for seq, part in enumerate(encoded_parts, start=1):
        frame = smpplib_frame(
            "submit_sm",
            seq,
            source_addr_ton=5,
            source_addr="GW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="5511987654321",
            short_message=part,
            data_coding=encoding_flag,
            esm_class=esm_class,
            registered_delivery=1,
        )
        pdu = decode(frame)
        assert isinstance(pdu, SubmitSm) and pdu.destination_addr == "5511987654321"
        assert_same(pdu, parse_with_smpplib(frame))
        content = message_content(pdu)
        if parts > 1:
            assert content.concat is not None
            assert (content.concat.total, content.concat.seq) == (parts, seq)
        octets.append(content.octets)
    assert decode_text(b"".join(octets), data_coding) == text


def test_smpplib_sar_segments() -> None:
    """smpplib without UDHI: the caller adds sar_* TLVs (smpplib's params for them)."""
    encoded_parts, encoding_flag, esm_class = smpplib.gsm.make_parts("x" * 200, use_udhi=False)
    assert esm_class == 0
    texts = []
    for seq, part in enumerate(encoded_parts, start=1):
        frame = smpplib_frame(
            "submit_sm",
            seq,
            destination_addr="5511",
            short_message=part,
            data_coding=encoding_flag,
            sar_msg_ref_num=0x1234,
            sar_total_segments=len(encoded_parts),
            sar_segment_seqnum=seq,
        )
        pdu = decode(frame)
        assert isinstance(pdu, SubmitSm)
        content = message_content(pdu)
        assert content.concat == Concat(0x1234, 2, seq)
        texts.append(content.text)
    assert "".join(texts) == "x" * 200


def test_smpplib_data_sm_with_payload() -> None:
    payload = "ñ".encode("utf-16-be") * 150
    frame = smpplib_frame(
        "data_sm", 9, destination_addr="5511", data_coding=8, message_payload=payload
    )
    pdu = decode(frame)
    assert isinstance(pdu, DataSm)
    assert pdu.tlvs == (Tlv(Tag.MESSAGE_PAYLOAD, payload),)
    assert message_content(pdu).text == "ñ" * 150

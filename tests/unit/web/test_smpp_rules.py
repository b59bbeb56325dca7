"""The SMPP server's pure parts: the bind state machine, the status and state mappings, a
submit_sm read into a send, and the deliver_sm it sends (receipts, incoming SMS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gatewayd.queue.enqueue import MAX_VALIDITY_MINUTES
from gatewayd.smpp.codec import decode
from gatewayd.smpp.constants import CommandId, CommandStatus, MessageState, Tag
from gatewayd.smpp.errors import StatusError
from gatewayd.smpp.pdu import DeliverSm, DistributionList, SmeAddress, SubmitMulti, SubmitSm
from gatewayd.smpp.receipt import ReceiptStat, parse_receipt
from gatewayd.smpp.text import message_content
from gatewayd.smpp.tlv import Tlv
from gatewayd.sms import Concat
from gatewayd.sms.gsm7 import text_to_septets
from gatewayd.sms.udh import concat_udh
from gatewayd.store import MessageStatus
from webui.services.errors import BindRefused, QuotaExceeded, ServiceError, Throttled
from webui.smpp.deliveries import incoming_pdus, receipt_pdu, sender_address
from webui.smpp.session import BindState, after_bind, refusal
from webui.smpp.statuses import (
    BIND_STATUS,
    MESSAGE_STATE,
    bind_status,
    message_state,
    receipt_stat,
    send_status,
    wants_receipt,
)
from webui.smpp.submission import Address, Refused, read_submission, validity_minutes

S = CommandStatus
C = CommandId
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "command", "expected"),
    [
        (BindState.OPEN, C.SUBMIT_SM, S.ESME_RINVBNDSTS),
        (BindState.OPEN, C.UNBIND, S.ESME_RINVBNDSTS),
        (BindState.OPEN, C.ENQUIRE_LINK, None),
        (BindState.OPEN, C.BIND_TRANSCEIVER, None),
        (BindState.TRANSMITTER, C.BIND_RECEIVER, S.ESME_RALYBND),
        (BindState.TRANSMITTER, C.SUBMIT_SM, None),
        (BindState.TRANSMITTER, C.QUERY_SM, None),
        (BindState.RECEIVER, C.SUBMIT_SM, S.ESME_RINVBNDSTS),
        (BindState.RECEIVER, C.CANCEL_SM, S.ESME_RINVBNDSTS),
        (BindState.RECEIVER, C.UNBIND, None),
        (BindState.TRANSCEIVER, C.SUBMIT_MULTI, None),
        (BindState.TRANSCEIVER, C.DELIVER_SM, S.ESME_RINVBNDSTS),
        (BindState.TRANSCEIVER, C.DATA_SM, S.ESME_RINVCMDID),
        (BindState.TRANSCEIVER, C.REPLACE_SM, S.ESME_RINVCMDID),
        (BindState.UNBINDING, C.SUBMIT_SM, S.ESME_RINVBNDSTS),
        (BindState.UNBINDING, C.UNBIND, None),
    ],
)
def test_the_state_machine(state: BindState, command: int, expected: int | None) -> None:
    assert refusal(state, command) == expected


def test_binds_make_their_modes() -> None:
    assert after_bind(BindState.OPEN, C.BIND_RECEIVER) is BindState.RECEIVER
    assert after_bind(BindState.OPEN, C.BIND_TRANSCEIVER).receives
    assert after_bind(BindState.OPEN, C.BIND_TRANSMITTER).transmits
    assert not BindState.RECEIVER.transmits and not BindState.TRANSMITTER.receives
    with pytest.raises(ValueError):
        after_bind(BindState.RECEIVER, C.BIND_RECEIVER)


def test_every_bind_refusal_and_message_status_has_a_mapping() -> None:
    for reason in BindRefused.MESSAGES:
        assert reason in BIND_STATUS
    assert bind_status(BindRefused("wrong_password")) == S.ESME_RINVPASWD
    assert bind_status(BindRefused("unknown_system_id")) == S.ESME_RINVSYSID
    assert bind_status(BindRefused("locked_out")) == S.ESME_RBINDFAIL
    assert set(MESSAGE_STATE) == {status.value for status in MessageStatus}
    for state in MessageState:
        receipt_stat(state)


def test_send_errors_map_to_statuses() -> None:
    assert send_status(Throttled(1.5)) == S.ESME_RTHROTTLED
    assert send_status(QuotaExceeded("day", NOW, 10, 0)) == S.ESME_RMSGQFUL
    assert send_status(ServiceError("invalid_number", "x")) == S.ESME_RINVDSTADR
    assert send_status(ServiceError("modem_not_allowed", "x")) == S.ESME_RSUBMITFAIL
    assert send_status(ServiceError("something new", "x")) == S.ESME_RSUBMITFAIL


def test_states_and_receipt_wishes() -> None:
    assert message_state("failed", ever_sent=False) is MessageState.REJECTED
    assert message_state("failed", ever_sent=True) is MessageState.UNDELIVERABLE
    assert message_state("unknown", ever_sent=True) is MessageState.UNKNOWN
    assert message_state("queued", ever_sent=False) is MessageState.ENROUTE
    assert wants_receipt(1, MessageState.DELIVERED)
    assert not wants_receipt(2, MessageState.DELIVERED)
    assert wants_receipt(2, MessageState.EXPIRED)
    assert not wants_receipt(0, MessageState.UNDELIVERABLE)
    assert not wants_receipt(3, MessageState.UNDELIVERABLE)  # 3 is reserved


def submit(**fields: object) -> SubmitSm:
    values: dict[str, object] = {
        "sequence_number": 1,
        "dest_addr_ton": 1,
        "destination_addr": "5511987654321",
        "short_message": text_to_septets("hello"),
    }
    values.update(fields)
    return SubmitSm(**values)  # type: ignore[arg-type]


def test_a_submit_read_into_a_send() -> None:
    read = read_submission(
        submit(
            registered_delivery=1,
            priority_flag=2,
            schedule_delivery_time="000000010000000R",
            validity_period="000000030000000R",
            tlvs=(Tlv.u16(Tag.USER_MESSAGE_REFERENCE, 77),),
        ),
        now=NOW,
    )
    template = read.template
    assert (template.text, template.status_report, template.priority) == ("hello", True, 20)
    assert template.send_at == NOW + timedelta(hours=1)
    assert template.validity_minutes == 120  # from the scheduled time
    assert read.destinations == (Address(1, 0, "5511987654321"),)
    assert read.extras.user_message_reference == 77


def test_udh_and_sar_parts_become_part_of() -> None:
    by_udh = read_submission(
        submit(esm_class=0x40, short_message=concat_udh(9, 2, 2) + text_to_septets("b")), now=NOW
    )
    by_sar = read_submission(
        submit(
            tlvs=(
                Tlv.u16(Tag.SAR_MSG_REF_NUM, 300),
                Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, 3),
                Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, 1),
            )
        ),
        now=NOW,
    )
    single = read_submission(
        submit(esm_class=0x40, short_message=concat_udh(9, 1, 1) + text_to_septets("one")),
        now=NOW,
    )
    assert by_udh.template.part_of == Concat(9, 2, 2) and by_udh.template.text == "b"
    assert by_sar.template.part_of == Concat(300, 3, 1)
    assert single.template.part_of is None


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"esm_class": 0x04}, S.ESME_RINVESMCLASS),
        ({"priority_flag": 4}, S.ESME_RINVPRTFLG),
        ({"registered_delivery": 0x20}, S.ESME_RINVREGDLVFLG),
        ({"schedule_delivery_time": "garbage"}, S.ESME_RINVSCHED),
        ({"validity_period": "261206110000000+"}, S.ESME_RINVEXPIRY),
        ({"data_coding": 2}, S.ESME_RSUBMITFAIL),
        ({"short_message": b"\x80"}, S.ESME_RSUBMITFAIL),
    ],
)
def test_submits_refused_with_their_status(fields: dict[str, object], status: int) -> None:
    with pytest.raises(StatusError) as refused:
        read_submission(submit(**fields), now=NOW)
    assert refused.value.status == status


def test_validity_is_kept_within_what_a_message_can_carry() -> None:
    assert validity_minutes(None, start=NOW) is None
    assert validity_minutes(NOW + timedelta(seconds=30), start=NOW) == 5
    assert validity_minutes(NOW + timedelta(days=9999), start=NOW) == MAX_VALIDITY_MINUTES
    with pytest.raises(Refused):
        validity_minutes(NOW, start=NOW)


def test_submit_multi_destinations() -> None:
    multi = SubmitMulti(
        sequence_number=1,
        destinations=(SmeAddress(1, 1, "5511"), DistributionList("staff")),
        short_message=b"hi",
    )
    assert read_submission(multi, now=NOW).destinations == (Address(1, 1, "5511"), "staff")
    with pytest.raises(Refused):
        read_submission(SubmitMulti(sequence_number=1, short_message=b"hi"), now=NOW)
    assert Address(1, 1, "+5511").number == "+5511" and Address(2, 8, "011").number == "011"


def test_a_receipt_pdu() -> None:
    frame = receipt_pdu(
        message_id=42,
        recipient=(1, 1, "5511987654321"),
        client=(5, 0, "ERP"),
        state=MessageState.UNDELIVERABLE,
        submitted_at=NOW,
        done_at=NOW + timedelta(minutes=3),
        error=70,
        text="ünïcode text that is longer than twenty",
    )
    assert frame[12:16] == b"\0\0\0\0"
    pdu = decode(frame)
    assert isinstance(pdu, DeliverSm) and pdu.esm_class == 0x04
    receipt = parse_receipt(pdu.short_message.decode("ascii"))
    assert (receipt.message_id, receipt.stat, receipt.err) == ("42", ReceiptStat.UNDELIV, "070")
    assert receipt.done_date == NOW + timedelta(minutes=3)
    assert receipt.text == "?n?code text that is"
    assert pdu.receipted_message_id == "42" and pdu.message_state == MessageState.UNDELIVERABLE
    assert pdu.network_error_code == (3, 70)
    assert (pdu.source_addr, pdu.destination_addr, pdu.dest_addr_ton) == ("5511987654321", "ERP", 5)


def test_incoming_pdus_whole_or_in_parts() -> None:
    text = "ação " * 30  # UCS-2: three parts
    [whole] = map(
        decode,
        incoming_pdus(sender="+5511", modem="m1", text=text, as_parts=False, concat_ref=None),
    )
    parts = [
        decode(f)
        for f in incoming_pdus(sender="+5511", modem="m1", text=text, as_parts=True, concat_ref=513)
    ]
    assert isinstance(whole, DeliverSm) and message_content(whole).text == text
    assert whole.message_payload is not None and whole.short_message == b""
    contents = [message_content(p) for p in parts if isinstance(p, DeliverSm)]
    assert [c.concat for c in contents] == [Concat(513, 3, n) for n in (1, 2, 3)]
    assert "".join(c.text for c in contents) == text
    [short] = map(
        decode,
        incoming_pdus(
            sender="Bank",
            modem="modem-with-a-long-name-x",
            text="hi",
            as_parts=False,
            concat_ref=None,
        ),
    )
    assert isinstance(short, DeliverSm)
    assert (short.source_addr, short.source_addr_ton, short.destination_addr) == (
        "Bank",
        5,
        "modem-with-a-long-na",
    )
    assert sender_address("+5511") == (1, 1, "5511") and sender_address("190") == (0, 1, "190")

"""Delivery receipt texts (SMPP 3.4 Appendix B) written and read back, and receipts as SMSCs
in the wild write them.

Receipts marked SMPP_PDU come from jookies/jasmin
jasmin/vendor/smpp/pdu/tests/test_pdu_encoding.py @ 29f4222be5232c6323c53a6844bbaca58ae12c6a;
CLOUDHOPPER from twitter-archive/cloudhopper-smpp
src/test/java/com/cloudhopper/smpp/transcoder/PduDecoderTest.java
@ 0bbe117f25bcf4de0795a107b3b34bb5b210b923.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.smpp import (
    STATE_OF_STAT,
    MessageState,
    ReceiptStat,
    format_receipt,
    parse_receipt,
)

SUBMITTED = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
DONE = datetime(2026, 1, 2, 3, 9, 30, tzinfo=UTC)


def test_format_receipt() -> None:
    text = format_receipt(
        "0197e3c2", submit_date=SUBMITTED, done_date=DONE, stat=ReceiptStat.DELIVRD, text="Hi"
    )
    assert text == (
        "id:0197e3c2 sub:001 dlvrd:001 submit date:2601020304 done date:2601020309"
        " stat:DELIVRD err:000 text:Hi"
    )


def test_failed_receipt_with_error_and_long_text() -> None:
    text = format_receipt(
        "m-9",
        submit_date=SUBMITTED,
        done_date=DONE,
        stat=ReceiptStat.UNDELIV,
        err=34,
        delivered=0,
        text="Olá, this is longer than twenty characters",
    )
    assert text.endswith("dlvrd:000 submit date:2601020304 done date:2601020309 stat:UNDELIV "
                         "err:034 text:Ol?, this is longer ")  # fmt: skip


def test_out_of_range_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="three digits"):
        format_receipt(
            "m", submit_date=SUBMITTED, done_date=DONE, stat=ReceiptStat.DELIVRD, err=1000
        )


def test_every_stat_has_a_message_state() -> None:
    assert set(STATE_OF_STAT) == set(ReceiptStat)
    assert sorted(STATE_OF_STAT.values()) == sorted(MessageState)
    assert STATE_OF_STAT[ReceiptStat.REJECTD] is MessageState.REJECTED


@pytest.mark.parametrize(
    ("text", "message_id", "stat", "err", "rest"),
    [
        (  # SMPP_PDU test_DeliverSM_handset_ack_conversion: "Text:" capitalised, NUL ending
            "id:1891273321 sub:001 dlvrd:001 submit date:1305050826 done date:1305050826 "
            "stat:DELIVRD err:000 Text:DLVRD TO MOBILE\x00",
            "1891273321",
            ReceiptStat.DELIVRD,
            "000",
            "DLVRD TO MOBILE\x00",
        ),
        (  # CLOUDHOPPER decodeDeliveryReceipt0: a long id, text padded with spaces
            "id:126e85a6edeac1a02020099312479564 sub:001 dlvrd:001 submit date:1002191630 done "
            "date:1002191630 stat:DELIVRD err:000 Text:Hello               ",
            "126e85a6edeac1a02020099312479564",
            ReceiptStat.DELIVRD,
            "000",
            "Hello               ",
        ),
        (  # no text: at all, lower-case stat
            "id:42 sub:001 dlvrd:000 submit date:2601020304 done date:2601020305 stat:expired "
            "err:0",
            "42",
            ReceiptStat.EXPIRED,
            "0",
            "",
        ),
    ],
)
def test_receipts_from_the_wild(
    text: str, message_id: str, stat: ReceiptStat, err: str, rest: str
) -> None:
    receipt = parse_receipt(text)
    assert (receipt.message_id, receipt.stat, receipt.err, receipt.text) == (
        message_id,
        stat,
        err,
        rest,
    )


@pytest.mark.parametrize(
    "text",
    [
        "hello there",
        "id:1 sub:001 dlvrd:001 submit date:2601020304 done date:2601020305 stat:GONE err:0",
        "id:1 sub:001 dlvrd:001 submit date:2601020304 done date:2601020305 stat:LOSTMSG err:0",
        "id:1 sub:001 dlvrd:001 submit date:2613020304 done date:2601020305 stat:DELIVRD err:0",
    ],
)
def test_not_a_receipt(text: str) -> None:
    with pytest.raises(ValueError):
        parse_receipt(text)


@given(
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=64),
    st.sampled_from(list(ReceiptStat)),
    st.integers(0, 999),
    st.text(max_size=40),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
)
def test_written_receipts_read_back(
    message_id: str, stat: ReceiptStat, err: int, text: str, when: datetime
) -> None:
    local = timezone(timedelta(hours=-3))
    moment = when.replace(second=0, microsecond=0, tzinfo=local)
    written = format_receipt(
        message_id, submit_date=moment, done_date=moment, stat=stat, err=err, text=text
    )
    assert written.isascii()
    receipt = parse_receipt(written, local)
    assert receipt.message_id == message_id
    assert (receipt.stat, receipt.err, receipt.submitted, receipt.delivered) == (
        stat,
        f"{err:03d}",
        1,
        1,
    )
    assert receipt.done_date == moment
    assert receipt.text == "".join(c if " " <= c <= "~" else "?" for c in text[:20])
    assert receipt.message_state is STATE_OF_STAT[stat]

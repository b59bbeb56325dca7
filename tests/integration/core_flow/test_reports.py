"""Delivery reports on a real database: matching (MR wrap-around, national numbers, duplicates,
strangers), reports racing the +CMGS answer, and expiry of parts whose report never comes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gatewayd.queue import NewMessage, enqueue, prepare
from gatewayd.queue.reports import (
    ArrivedReport,
    ReportOutcome,
    apply_status_report,
    apply_status_reports,
)
from gatewayd.simulator.state import IncomingPart
from gatewayd.sms import StatusReport, decode_pdu, encode_status_report
from gatewayd.store import Database, message_parts, messages, utc_now
from gatewayd.worker import incoming
from tests.integration.core_flow.harness import EXTERNAL, eventually, flow, ledger_counts
from tests.support.sending import answered, claim, hand_over

IMSI = "724050000000001"
DELIVERED, FAILED = 0x00, 0x41


def report(recipient: str, mr: int, status: int = DELIVERED) -> StatusReport:
    now = utc_now().replace(microsecond=0)
    part = encode_status_report(recipient, mr, scts=now, discharge_time=now, status=status)
    decoded = decode_pdu(part.pdu)
    assert isinstance(decoded, StatusReport)
    return decoded


async def sent_message(db: Database, to: str, mr: int) -> int:
    """A one-part message handed to modem sim0 and answered with ``mr``; its part id."""
    async with db.begin() as conn:
        [message_id], _ = await enqueue(conn, [prepare(NewMessage(to, f"mr {mr}"))], created_by="t")
    async with db.begin() as conn:
        [claimed] = await claim(conn, host="h", modem="sim0", now=utc_now())
        assert claimed.id == message_id
        [part] = claimed.parts
        now = utc_now()
        slot = await hand_over(conn, claimed, 0, modem="sim0", imsi=IMSI, now=now)
        await answered(conn, slot, mr, modem="sim0", now=now)
    return part.id


async def apply(db: Database, decoded: StatusReport) -> object:
    async with db.begin() as conn:
        return await apply_status_report(conn, decoded, modem="sim0", imsi=IMSI, now=utc_now())


async def test_report_matching_rules(db: Database) -> None:
    older = await sent_message(db, EXTERNAL, 7)
    newer = await sent_message(db, EXTERNAL, 7)  # the MR came round again
    other = await sent_message(db, "+5521987650000", 7)
    first = await apply(db, report(EXTERNAL, 7))
    second = await apply(db, report("11987650000", 7))  # national form of the same line
    third = await apply(db, report(EXTERNAL, 7))
    stranger = await apply(db, report("+5511911112222", 7))
    unknown_mr = await apply(db, report(EXTERNAL, 99))
    failed = await apply(db, report("+5521987650000", 7, FAILED))
    assert (first.part_id, first.duplicate) == (older, False)  # type: ignore[attr-defined]
    assert (second.part_id, second.duplicate) == (newer, False)  # type: ignore[attr-defined]
    assert third.matched and third.duplicate  # type: ignore[attr-defined]
    assert not stranger.matched  # type: ignore[attr-defined]
    assert not unknown_mr.matched  # type: ignore[attr-defined]
    assert failed.part_id == other  # type: ignore[attr-defined]
    assert failed.change.status == "failed"  # type: ignore[attr-defined]
    assert "0x41" in failed.change.error  # type: ignore[attr-defined]


async def apply_together(db: Database, *decoded: StatusReport) -> list[ReportOutcome]:
    now = utc_now()
    arrived = [ArrivedReport(d, "sim0", IMSI, now) for d in decoded]
    async with db.begin() as conn:
        return await apply_status_reports(conn, arrived)


async def message_of(db: Database, part_id: int) -> tuple[str, str | None]:
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(messages.c.status, messages.c.error)
                .join(message_parts, message_parts.c.message_id == messages.c.id)
                .where(message_parts.c.id == part_id)
            )
        ).one()
    return row.status, row.error


async def test_reports_applied_together_match_as_one_by_one(db: Database) -> None:
    """The rules of :func:`test_report_matching_rules`, the reports in one transaction."""
    older = await sent_message(db, EXTERNAL, 7)
    newer = await sent_message(db, EXTERNAL, 7)
    other = await sent_message(db, "+5521987650000", 7)
    first, second, third, stranger, unknown_mr, failed = await apply_together(
        db,
        report(EXTERNAL, 7),
        report("11987650000", 7),
        report(EXTERNAL, 7),
        report("+5511911112222", 7),
        report(EXTERNAL, 99),
        report("+5521987650000", 7, FAILED),
    )
    assert (first.part_id, first.duplicate, first.matched) == (older, False, True)
    assert (second.part_id, second.duplicate) == (newer, False)
    assert third.matched and third.duplicate
    assert not stranger.matched and not unknown_mr.matched
    assert failed.part_id == other and failed.change is not None
    assert failed.change.status == "failed" and "0x41" in (failed.change.error or "")
    assert first.change is not None and first.change.status == "delivered"
    assert await message_of(db, older) == ("delivered", None)
    assert await message_of(db, newer) == ("delivered", None)
    status, error = await message_of(db, other)
    assert status == "failed" and "0x41" in (error or "")


async def test_a_pending_report_then_the_verdict_in_one_transaction(db: Database) -> None:
    part = await sent_message(db, EXTERNAL, 12)
    twice = await sent_message(db, "+5511987651111", 13)
    pending, verdict, repeated, duplicate = await apply_together(
        db,
        report(EXTERNAL, 12, 0x20),  # SMSC still trying
        report(EXTERNAL, 12),
        report("+5511987651111", 13),
        report("+5511987651111", 13),
    )
    assert (pending.part_id, pending.change) == (part, None)
    assert verdict.part_id == part and verdict.change is not None
    assert verdict.change.status == "delivered"
    assert (repeated.part_id, repeated.duplicate) == (twice, False)
    assert duplicate.matched and duplicate.duplicate and duplicate.change is None
    assert await message_of(db, part) == ("delivered", None)


async def test_mr_wraps_around_on_one_modem(db_url: str, tmp_path: Path) -> None:
    count = 300
    async with flow(db_url, tmp_path, modems=1, latency_ms=2, report_delay_ms=100) as f:
        ids = await f.send(*(NewMessage(EXTERNAL, f"wrap {i}") for i in range(count)))
        await f.network.wait_for_ledger(count, timeout=40)
        await f.wait_status(ids, "delivered", timeout=20)
        mrs = {}
        for message_id in (ids[0], ids[1], ids[256], ids[257]):
            [part] = await f.parts(message_id)
            mrs[message_id] = part.mr
    entries = f.network.ledger
    assert ledger_counts(entries) == {(EXTERNAL, f"wrap {i}"): 1 for i in range(count)}
    assert Counter(e["mr"] for e in entries)[0] == 2, "the MR wrapped"
    assert [mrs[i] for i in (ids[0], ids[1], ids[256], ids[257])] == [0, 1, 0, 1]


async def test_report_racing_the_cmgs_answer(db_url: str, tmp_path: Path) -> None:
    """With no report delay the +CDSI follows the +CMGS answer at once, before the MR is
    committed: every part must still end delivered."""
    async with flow(db_url, tmp_path, modems=1, latency_ms=5, report_delay_ms=0) as f:
        ids = await f.send(*(NewMessage(EXTERNAL, f"race {i}") for i in range(30)))
        await f.network.wait_for_ledger(30, timeout=20)
        await f.wait_status(ids, "delivered", timeout=20)
    assert len(f.network.ledger) == 30


async def test_unknown_report_through_the_modem_is_dropped(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged: list[tuple[str, dict[str, object]]] = []

    class Recorder:
        def info(self, event: str, **fields: object) -> None:
            logged.append((event, fields))

        warning = info

    monkeypatch.setattr(incoming, "log", Recorder())
    async with flow(db_url, tmp_path, modems=1) as f:
        [message_id] = await f.send(NewMessage(EXTERNAL, "known"))
        await f.wait_status([message_id], "delivered")
        modem = f.handles[0].modem
        stray = encode_status_report(
            "+5511911112222",
            200,
            scts=utc_now().replace(microsecond=0),
            discharge_time=utc_now().replace(microsecond=0),
            status=DELIVERED,
        )
        assert modem.receive(IncomingPart("report", stray.pdu, stray.tpdu_length))

        async def dropped() -> list[dict[str, object]] | None:
            found = [e for name, e in logged if name == "Status report matches no message"]
            return found or None

        [fields] = await eventually(dropped, timeout=10, what="the stray report dropped")
        assert all(store.used == 0 for store in modem.storages.values())
        assert (await f.statuses([message_id]))[message_id] == "delivered"
    assert fields["mr"] == 200 and fields["recipient"] == "+5511911112222"


async def test_parts_without_report_expire_and_late_reports_still_count(
    db_url: str, tmp_path: Path
) -> None:
    async with flow(db_url, tmp_path, modems=1, report_delay_ms=600_000) as f:
        [message_id] = await f.send(NewMessage(EXTERNAL, "no report", validity_minutes=5))
        [kept] = await f.send(NewMessage("+5511987650001", "still waiting", validity_minutes=60))
        await f.wait_status([message_id, kept], "sent")
        async with f.db.begin() as conn:
            await conn.execute(
                update(message_parts)
                .where(message_parts.c.message_id.in_([message_id, kept]))
                .values(sent_at=utc_now() - timedelta(minutes=10))
            )
        await f.gateway.sweep(timedelta(hours=1))
        assert await f.statuses([message_id, kept]) == {message_id: "expired", kept: "sent"}
        [part] = await f.parts(message_id)
        assert part.status == "expired" and "validity" in part.error
        late = encode_status_report(
            EXTERNAL,
            part.mr,
            scts=utc_now().replace(microsecond=0),
            discharge_time=utc_now().replace(microsecond=0),
            status=0,
        )
        f.handles[0].modem.receive(IncomingPart("report", late.pdu, late.tpdu_length))
        await f.wait_status([message_id], "delivered")

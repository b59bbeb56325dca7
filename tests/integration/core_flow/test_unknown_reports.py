"""Parts left ``unknown`` settled by the network's status report
(:mod:`gatewayd.queue.unknown_parts`): by recipient and time when the MR was never heard, only
when one part fits; by MR when it was recorded; never in place of a part the report names by its
MR. One report at a time and several together, on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from gatewayd.queue import NewMessage, enqueue, prepare, recover_after_crash
from gatewayd.queue.reports import (
    ArrivedReport,
    ReportOutcome,
    apply_status_report,
    apply_status_reports,
)
from gatewayd.sms import StatusReport, decode_pdu, encode_status_report
from gatewayd.store import Database, audit_log, message_events, message_parts, messages, utc_now
from tests.integration.core_flow.harness import EXTERNAL, eventually, flow
from tests.support.sending import answered, claim, hand_over

IMSI = "724050000000001"
HOST = "h"
DELIVERED, PENDING, FAILED = 0x00, 0x20, 0x41


def report(
    recipient: str, mr: int, *, scts: datetime | None = None, status: int = DELIVERED
) -> StatusReport:
    taken = (scts or utc_now()).replace(microsecond=0)
    part = encode_status_report(recipient, mr, scts=taken, discharge_time=taken, status=status)
    decoded = decode_pdu(part.pdu)
    assert isinstance(decoded, StatusReport)
    return decoded


async def left_unknown(
    db: Database,
    to: str,
    *,
    handed_over: datetime | None = None,
    imsi: str = IMSI,
    host: str = HOST,
) -> tuple[int, int]:
    """A one-part message handed to modem sim0 (committed ``sending``), then gatewayd died and
    recovery made the part ``unknown``: (message id, part id)."""
    async with db.begin() as conn:
        [message_id], _ = await enqueue(
            conn, [prepare(NewMessage(to, f"doubt {to}"))], created_by="t"
        )
        [claimed] = await claim(conn, host=host, modem="sim0", now=utc_now())
        assert claimed.id == message_id
        [part] = claimed.parts
        await hand_over(conn, claimed, 0, modem="sim0", imsi=imsi, now=handed_over or utc_now())
    async with db.begin() as conn:
        recovery = await recover_after_crash(conn, host=host, now=utc_now())
    assert message_id in recovery.unknown_message_ids
    return message_id, part.id


async def sent_with(db: Database, to: str, mr: int) -> tuple[int, int]:
    """A one-part message sent through sim0 and answered ``+CMGS: mr``."""
    async with db.begin() as conn:
        [message_id], _ = await enqueue(
            conn, [prepare(NewMessage(to, f"sent {mr}"))], created_by="t"
        )
        [claimed] = await claim(conn, host=HOST, modem="sim0", now=utc_now())
        [part] = claimed.parts
        now = utc_now()
        slot = await hand_over(conn, claimed, 0, modem="sim0", imsi=IMSI, now=now)
        await answered(conn, slot, mr, modem="sim0", now=now)
    return message_id, part.id


async def apply(db: Database, *decoded: StatusReport) -> list[ReportOutcome]:
    """One report alone (:func:`apply_status_report`) or several together."""
    now = utc_now()
    async with db.begin() as conn:
        if len(decoded) == 1:
            return [await apply_status_report(conn, decoded[0], modem="sim0", imsi=IMSI, now=now)]
        return await apply_status_reports(
            conn, [ArrivedReport(d, "sim0", IMSI, now) for d in decoded]
        )


async def state(db: Database, message_id: int) -> tuple[str, str, int | None, str | None]:
    """(message status, part status, part MR, part error) of a one-part message."""
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(
                    messages.c.status,
                    message_parts.c.status.label("part"),
                    message_parts.c.mr,
                    message_parts.c.error,
                )
                .join(message_parts, message_parts.c.message_id == messages.c.id)
                .where(messages.c.id == message_id)
            )
        ).one()
    return row.status, row.part, row.mr, row.error


async def events(db: Database, message_id: int) -> list[Any]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(message_events.c.status, message_events.c.detail)
            .where(message_events.c.message_id == message_id)
            .order_by(message_events.c.id)
        )
        return list(rows.all())


async def test_the_only_unknown_part_to_the_recipient_takes_its_report(db: Database) -> None:
    message_id, part_id = await left_unknown(db, EXTERNAL)
    [outcome] = await apply(db, report(EXTERNAL, 42))
    assert (outcome.matched, outcome.part_id, outcome.duplicate) == (True, part_id, False)
    assert outcome.resolved_by == "recipient and time"
    assert outcome.change is not None and outcome.change.status == "delivered"
    assert await state(db, message_id) == ("delivered", "delivered", 42, None)
    timeline = [(e.status, e.detail) for e in await events(db, message_id)]
    assert ("report:delivered", "TP-ST 0x00") in timeline
    resolved = [detail for status, detail in timeline if status == "resolved"]
    assert resolved and "matched by recipient and time" in resolved[0]
    assert timeline[-1][0] == "delivered"
    async with db.read() as conn:
        [entry] = (await conn.execute(select(audit_log))).all()
    assert (entry.actor, entry.action, entry.target) == (
        "system",
        "message.resolved",
        f"message:{message_id}",
    )
    assert entry.detail["matched_by"] == "recipient and time" and entry.detail["mr"] == 42
    # The same report again is a duplicate of the part it settled (found by its MR now).
    [again] = await apply(db, report(EXTERNAL, 42))
    assert again.matched and again.duplicate and again.part_id == part_id


async def test_two_unknown_parts_that_fit_stay_unknown(db: Database) -> None:
    first, _ = await left_unknown(db, EXTERNAL)
    second, _ = await left_unknown(db, EXTERNAL)
    alone, _ = await left_unknown(db, "+5511987651111")
    ambiguous, clear = await apply(db, report(EXTERNAL, 9), report("+5511987651111", 10))
    assert not ambiguous.matched
    assert (await state(db, first))[:2] == ("unknown", "unknown")
    assert (await state(db, second))[:2] == ("unknown", "unknown")
    assert clear.resolved_by == "recipient and time"
    assert (await state(db, alone))[:2] == ("delivered", "delivered")
    async with db.read() as conn:
        targets = (await conn.execute(select(audit_log.c.target))).scalars().all()
    assert targets == [f"message:{alone}"]


async def test_a_part_being_sent_to_the_number_makes_the_report_ambiguous(
    db: Database,
) -> None:
    """A report can overtake the record of its part's ``+CMGS`` answer: while a part to the
    same number is ``sending``, the report may be that part's."""
    doubtful, _ = await left_unknown(db, EXTERNAL)
    async with db.begin() as conn:
        [in_flight_id], _ = await enqueue(
            conn, [prepare(NewMessage(EXTERNAL, "in flight"))], created_by="t"
        )
        [claimed] = await claim(conn, host="live", modem="sim0", now=utc_now())
        assert claimed.id == in_flight_id
        [in_flight] = claimed.parts
        sending = await hand_over(conn, claimed, 0, modem="sim0", imsi=IMSI, now=utc_now())
    [early] = await apply(db, report(EXTERNAL, 30))
    assert not early.matched
    assert (await state(db, doubtful))[:2] == ("unknown", "unknown")
    async with db.begin() as conn:
        await answered(conn, sending, 30, modem="sim0", now=utc_now())
    # The overtaking report comes again once the answer is recorded, then the other's report.
    mine, other = await apply(db, report(EXTERNAL, 30), report(EXTERNAL, 31))
    assert (mine.part_id, mine.resolved_by) == (in_flight.id, None)
    assert other.resolved_by == "recipient and time"
    assert await state(db, doubtful) == ("delivered", "delivered", 31, None)


async def test_the_time_the_recipient_and_the_sim_must_fit(db: Database) -> None:
    now = utc_now()
    long_before, _ = await left_unknown(db, EXTERNAL, handed_over=now - timedelta(minutes=30))
    other_sim, _ = await left_unknown(db, "+5511987651111", imsi="724050000000002")
    national, _ = await left_unknown(db, "+5511987652222")
    outcomes = await apply(
        db,
        report(EXTERNAL, 1, scts=now),
        report("+5511987651111", 2),
        report("+5511987653333", 3),
        report("11987652222", 4),
    )
    assert [o.matched for o in outcomes] == [False, False, False, True]
    assert (await state(db, long_before))[:2] == ("unknown", "unknown")
    assert (await state(db, other_sim))[:2] == ("unknown", "unknown")
    assert await state(db, national) == ("delivered", "delivered", 4, None)
    # Half an hour after it was handed over, the report of the first part does fit.
    [late] = await apply(db, report(EXTERNAL, 1, scts=now - timedelta(minutes=29)))
    assert late.resolved_by == "recipient and time"
    assert (await state(db, long_before))[:2] == ("delivered", "delivered")


async def test_a_report_naming_a_sent_part_by_its_mr_is_that_parts(db: Database) -> None:
    doubtful, _ = await left_unknown(db, EXTERNAL)
    sent, sent_part = await sent_with(db, EXTERNAL, 7)
    [outcome] = await apply(db, report(EXTERNAL, 7))
    assert (outcome.part_id, outcome.resolved_by) == (sent_part, None)
    assert await state(db, sent) == ("delivered", "delivered", 7, None)
    assert (await state(db, doubtful))[:2] == ("unknown", "unknown")
    # Another MR to the same number is not the sent part's: it settles the unknown one.
    [other] = await apply(db, report(EXTERNAL, 8))
    assert other.resolved_by == "recipient and time"
    assert await state(db, doubtful) == ("delivered", "delivered", 8, None)


async def test_an_unknown_part_whose_mr_was_recorded_is_found_by_it(db: Database) -> None:
    first, first_part = await left_unknown(db, EXTERNAL)
    second, _ = await left_unknown(db, EXTERNAL)
    async with db.begin() as conn:
        await conn.execute(
            update(message_parts).where(message_parts.c.id == first_part).values(mr=5)
        )
    [outcome] = await apply(db, report(EXTERNAL, 5, scts=utc_now() - timedelta(hours=2)))
    assert (outcome.part_id, outcome.resolved_by) == (first_part, "reference")
    assert (await state(db, first))[:2] == ("delivered", "delivered")
    assert (await state(db, second))[:2] == ("unknown", "unknown")


async def test_pending_then_final_and_failed_reports(db: Database) -> None:
    pending, _ = await left_unknown(db, EXTERNAL)
    refused, _ = await left_unknown(db, "+5511987651111")
    first = await apply(
        db, report(EXTERNAL, 20, status=PENDING), report("+5511987651111", 21, status=FAILED)
    )
    assert [o.resolved_by for o in first] == ["recipient and time"] * 2
    assert await state(db, pending) == ("sent", "sent", 20, None)
    status, part_status, mr, error = await state(db, refused)
    assert (status, part_status, mr) == ("failed", "failed", 21) and "0x41" in (error or "")
    async with db.read() as conn:
        message_error = (
            await conn.execute(select(messages.c.error).where(messages.c.id == refused))
        ).scalar_one()
    assert "0x41" in (message_error or "")
    [final] = await apply(db, report(EXTERNAL, 20))
    assert final.resolved_by is None and final.change is not None
    assert await state(db, pending) == ("delivered", "delivered", 20, None)


async def test_a_stored_report_read_at_start_settles_the_part_recovery_made_unknown(
    db_url: str, tmp_path: Path
) -> None:
    """gatewayd died with a part handed to the modem; the report came while it was down and
    waits in the modem's report storage. At the next start, recovery makes the part
    ``unknown`` and the sweep of the storage then settles it."""
    async with flow(db_url, tmp_path, modems=1, start=False, profile="sim7600") as f:
        handle = f.handles[0]
        message_id, _ = await unknown_after_restart(f.db, f.settings.gateway.host, handle.imsi)
        stored = encode_status_report(
            EXTERNAL,
            77,
            scts=utc_now().replace(microsecond=0),
            discharge_time=utc_now().replace(microsecond=0),
            status=DELIVERED,
        )
        assert handle.modem.storages["SR"].store(stored.pdu, stored.tpdu_length) is not None
        await f.start()
        await f.wait_status([message_id], "delivered", timeout=20)
        assert await state(f.db, message_id) == ("delivered", "delivered", 77, None)

        async def storage_emptied() -> bool:
            return handle.modem.storages["SR"].used == 0

        await eventually(storage_emptied, timeout=10, what="the stored report deleted")


async def unknown_after_restart(db: Database, host: str, imsi: str) -> tuple[int, int]:
    """A message whose part was committed ``sending`` by ``host``, which then died: the part is
    ``sending`` until that host's recovery runs."""
    async with db.begin() as conn:
        [message_id], _ = await enqueue(
            conn, [prepare(NewMessage(EXTERNAL, "in doubt"))], created_by="t"
        )
        [claimed] = await claim(conn, host=host, modem="sim0", now=utc_now())
        [part] = claimed.parts
        await hand_over(conn, claimed, 0, modem="sim0", imsi=imsi, now=utc_now())
    return message_id, part.id

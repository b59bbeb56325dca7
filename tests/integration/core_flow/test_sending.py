"""Sending through the whole core on simulated modems: every message delivered, each part on
the network exactly once, multipart reports, refusals, retries, order, schedule, limits."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gatewayd.queue import NewMessage, cancel
from gatewayd.store import message_events, utc_now
from tests.integration.core_flow.harness import EXTERNAL, flow, ledger_counts


def numbered(i: int) -> str:
    return f"+55119876{50000 + i:05d}"


async def test_every_message_delivered_once(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, latency_ms=20, report_delay_ms=100) as f:
        count = 40
        started = time.monotonic()
        ids = await f.send(*(NewMessage(numbered(i), f"bulk {i}") for i in range(count)))
        entries = await f.network.wait_for_ledger(count, timeout=30)
        elapsed = time.monotonic() - started
        await f.wait_status(ids, "delivered")
        assert ledger_counts(f.network.ledger) == {
            (numbered(i), f"bulk {i}"): 1 for i in range(count)
        }
        assert {e["modem"] for e in entries} == {0, 1}, "both modems share the queue"
        for message_id in ids:
            [part] = await f.parts(message_id)
            assert part.status == "delivered" and part.mr is not None
            assert part.delivered_at is not None
        print(
            f"\n{count} parts on 2 modems in {elapsed:.2f} s: "
            f"{count / elapsed / 2:.1f} SMS/s per modem (simulator limit 50/s)"
        )


async def test_multipart_delivered_after_its_last_report(db_url: str, tmp_path: Path) -> None:
    text = "".join(f"{i:04d} " for i in range(110))  # 550 GSM-7 characters: 4 parts
    async with flow(db_url, tmp_path, latency_ms=20, report_delay_ms=150) as f:
        [message_id] = await f.send(NewMessage(EXTERNAL, text))
        await f.wait_status([message_id], "delivered")
        parts = await f.parts(message_id)
        async with f.db.read() as conn:
            events = (
                await conn.execute(
                    select(message_events.c.status, message_events.c.part_seq)
                    .where(message_events.c.message_id == message_id)
                    .order_by(message_events.c.id)
                )
            ).all()
    entries = f.network.ledger
    assert [e["concat"]["seq"] for e in entries] == [1, 2, 3, 4]
    assert len({e["concat"]["ref"] for e in entries}) == 1
    assert len({e["modem"] for e in entries}) == 1, "all parts leave through one modem"
    assert "".join(e["text"] for e in entries) == text
    assert [p.mr for p in parts] == [e["mr"] for e in entries]
    assert len({p.mr for p in parts}) == 4
    assert all(p.status == "delivered" for p in parts)
    reports = [seq for status, seq in events if status == "report:delivered"]
    assert sorted(reports) == [1, 2, 3, 4]
    statuses = [status for status, _ in events]
    assert statuses.count("delivered") == 1
    last_report = max(i for i, s in enumerate(statuses) if s == "report:delivered")
    assert statuses.index("delivered") > last_report, "delivered only after the 4th report"


async def test_permanent_refusal_fails_that_message_only(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, start=False) as f:
        f.network.fault(0, "cms_error", code=21, count=1)  # short message transfer rejected
        first, *rest = await f.send(*(NewMessage(numbered(i), f"m{i}") for i in range(5)))
        await f.start()
        assert (await f.wait_status([first], "failed"))[first] == "failed"
        await f.wait_status(rest, "delivered")
        failed = await f.message(first)
        [part] = await f.parts(first)
    assert "21" in failed.error and "rejected" in failed.error.lower(), failed.error
    assert part.status == "failed"
    assert failed.attempts == 1
    assert ledger_counts(f.network.ledger) == {(numbered(i), f"m{i}"): 1 for i in range(1, 5)}


async def test_temporary_refusals_are_retried(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, start=False) as f:
        f.network.fault(0, "cms_error", code=38, count=2)  # network out of order
        [message_id] = await f.send(NewMessage(EXTERNAL, "try again"))
        await f.start()
        await f.wait_status([message_id], "delivered")
        message = await f.message(message_id)
    assert message.attempts == 3
    assert message.error is None
    assert ledger_counts(f.network.ledger) == {(EXTERNAL, "try again"): 1}


async def test_higher_priority_goes_first(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, start=False) as f:
        low = await f.send(*(NewMessage(numbered(i), f"low {i}") for i in range(4)))
        high = await f.send(*(NewMessage(numbered(i), f"high {i}", priority=50) for i in range(4)))
        await f.start()
        await f.wait_status(low + high, "delivered")
    texts = [e["text"] for e in f.network.ledger]
    assert texts == [f"high {i}" for i in range(4)] + [f"low {i}" for i in range(4)]


async def test_scheduled_message_waits_for_send_at(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1) as f:
        send_at = utc_now() + timedelta(seconds=2)
        [later] = await f.send(NewMessage(EXTERNAL, "later", send_at=send_at))
        [now] = await f.send(NewMessage(numbered(1), "now"))
        await f.wait_status([now], "delivered")
        assert [e["text"] for e in f.network.ledger] == ["now"]
        await f.network.wait_for_ledger(2, timeout=10)
        assert utc_now() >= send_at
        await f.wait_status([later], "delivered")
    assert ledger_counts(f.network.ledger)[(EXTERNAL, "later")] == 1


async def test_cancelled_message_never_leaves(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, start=False) as f:
        ids = await f.send(*(NewMessage(numbered(i), f"c{i}") for i in range(3)))
        async with f.db.begin() as conn:
            await cancel(conn, ids[1], by="test")
        await f.start()
        await f.wait_status([ids[0], ids[2]], "delivered")
        assert (await f.statuses([ids[1]]))[ids[1]] == "cancelled"
    assert ledger_counts(f.network.ledger) == {(numbered(0), "c0"): 1, (numbered(2), "c2"): 1}


async def test_per_minute_limit_holds_the_rest(db_url: str, tmp_path: Path) -> None:
    async with flow(db_url, tmp_path, modems=1, modem_options={"per_minute": 5}) as f:
        ids = await f.send(*(NewMessage(numbered(i), f"r{i}") for i in range(8)))
        await f.network.wait_for_ledger(5, timeout=10)
        with pytest.raises(TimeoutError):
            await f.network.wait_for_ledger(6, timeout=2.0)
        statuses = await f.statuses(ids)
    assert len(f.network.ledger) == 5
    assert sorted(statuses.values()).count("queued") == 3


async def test_multipart_reports_arriving_together(db_url: str, tmp_path: Path) -> None:
    """With no report delay the reports of a message's parts reach gatewayd together and are
    settled by concurrent transactions: each message must still roll up to delivered."""
    async with flow(db_url, tmp_path, modems=1, latency_ms=5, report_delay_ms=0) as f:
        texts = [f"{i:02d} " + "two parts " * 20 for i in range(15)]
        ids = await f.send(*(NewMessage(numbered(i), text) for i, text in enumerate(texts)))
        await f.network.wait_for_ledger(30, timeout=20)
        await f.wait_status(ids, "delivered", timeout=20)
    assert len(f.network.ledger) == 30

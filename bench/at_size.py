"""Benchmark 5: delivery-report matching and status queries with a million messages stored.

A throwaway PostgreSQL database gets the real schema (migrations), then 1,000,000 messages
(about 1.1 million parts) of the last 30 days through eight modems, loaded with COPY. Their
shape follows a busy gateway: most delivered, some failed or expired, the last day's partly
still awaiting their report; message references count 0..255 per SIM; each message has two
events. Then, each timed alone: ``apply_status_report`` for reports of parts awaiting theirs,
one message by id with its timeline (as ``GET /api/v1/messages/{id}`` loads it), and pages of 50
by status, newest first, first and deep (the query of ``GET /api/v1/messages?status=&cursor=``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import select

from bench.common import Result, say, summary_ms, write_result
from bench.stack import migrated, recipient, throwaway_database, work_directory
from bench.verdict import MIN_RUNS
from gatewayd.queue.reports import apply_status_report
from gatewayd.queue.view import load_message, messages_json
from gatewayd.sms import StatusReport, decode_pdu, encode_status_report
from gatewayd.store import Database, messages

P95_TARGET_MS = 10.0
MODEMS = 8
DAYS = 30
PAGE = 50
PDU = "0031000B915511897600F00000A71254747A0E4ACF41E4B0BB5C76B3C3F2B20C"

MESSAGE_COLUMNS = (
    "id",
    "recipient",
    "text",
    "encoding",
    "segments",
    "status",
    "priority",
    "assigned_modem",
    "status_report",
    "flash",
    "attempts",
    "error",
    "created_at",
    "updated_at",
    "sent_at",
    "delivered_at",
    "created_by",
)
PART_COLUMNS = (
    "id",
    "message_id",
    "seq",
    "total",
    "pdu",
    "tpdu_length",
    "status",
    "mr",
    "modem",
    "modem_imsi",
    "submitted_at",
    "sent_at",
    "delivered_at",
    "report_status",
    "attempts",
)


def imsi(modem: int) -> str:
    return f"72405{modem:010d}"


def _fate(age: timedelta, rng: random.Random) -> str:
    roll = rng.random()
    if age < timedelta(minutes=2):
        return "queued" if roll < 0.5 else "sent"
    if age < timedelta(days=1):
        return "delivered" if roll < 0.70 else "sent" if roll < 0.97 else "failed"
    return "delivered" if roll < 0.95 else "failed" if roll < 0.99 else "expired"


def generate(
    count: int, now: datetime, seed: int = 7
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(message row, its part rows) in id order, oldest first."""
    rng = random.Random(seed)
    span = timedelta(days=DAYS)
    next_mr = [0] * MODEMS
    part_id = 0
    for index in range(count):
        created = now - span + span * (index + 1) / count
        status = _fate(now - created, rng)
        modem = index % MODEMS
        segments = 2 if rng.random() < 0.1 else 1
        handed = status != "queued"
        sent_at = created + timedelta(seconds=1) if handed else None
        delivered_at = created + timedelta(seconds=6) if status == "delivered" else None
        error = "the network could not deliver it (TP-ST 0x41)" if status == "failed" else None
        message = (
            index + 1,
            recipient(rng.randrange(100_000)),
            f"Benchmark message {index}",
            "gsm7",
            segments,
            status,
            0,
            f"m{modem}" if handed else None,
            True,
            False,
            1 if handed else 0,
            error,
            created,
            sent_at or created,
            sent_at,
            delivered_at,
            "bench",
        )
        parts = []
        for seq in range(1, segments + 1):
            part_id += 1
            mr = None
            if handed:
                mr = next_mr[modem]
                next_mr[modem] = (mr + 1) % 256
            parts.append(
                (
                    part_id,
                    index + 1,
                    seq,
                    segments,
                    PDU,
                    len(PDU) // 2 - 1,
                    status,
                    mr,
                    f"m{modem}" if handed else None,
                    imsi(modem) if handed else None,
                    created + timedelta(milliseconds=500) if handed else None,
                    sent_at,
                    delivered_at,
                    0 if status == "delivered" else None,
                    1 if handed else 0,
                )
            )
        yield message, parts


async def bulk_load(url: str, count: int, now: datetime) -> float:
    """COPY ``count`` messages and their parts in; return the seconds it took (with ANALYZE)."""
    started = time.monotonic()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        chunk = 100_000
        batch_messages: list[tuple[Any, ...]] = []
        batch_parts: list[tuple[Any, ...]] = []
        for message, parts in generate(count, now):
            batch_messages.append(message)
            batch_parts += parts
            if len(batch_messages) >= chunk:
                await _copy(conn, batch_messages, batch_parts)
                batch_messages, batch_parts = [], []
        if batch_messages:
            await _copy(conn, batch_messages, batch_parts)
        for table in ("messages", "message_parts", "message_events"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
        for table in ("messages", "message_parts", "message_events"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return time.monotonic() - started


async def _copy(conn: Any, rows: list[tuple[Any, ...]], parts: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table("messages", records=rows, columns=MESSAGE_COLUMNS)
    await conn.copy_records_to_table("message_parts", records=parts, columns=PART_COLUMNS)
    events = [(row[0], "queued", row[12]) for row in rows]
    events += [(row[0], row[5], row[13]) for row in rows if row[5] != "queued"]
    await conn.copy_records_to_table(
        "message_events", records=events, columns=("message_id", "status", "at")
    )


async def _awaiting_reports(db: Database, how_many: int) -> list[tuple[str, StatusReport]]:
    """Reports (with the modem they come on) for parts still awaiting theirs."""
    async with db.read() as conn:
        rows = (
            await conn.exec_driver_sql(
                "SELECT p.modem, p.mr, m.recipient, p.submitted_at FROM message_parts p "
                "JOIN messages m ON m.id = p.message_id WHERE p.status = 'sent' "
                f"ORDER BY random() LIMIT {int(how_many)}"
            )
        ).all()
    reports = []
    for row in rows:
        encoded = encode_status_report(
            row.recipient,
            row.mr,
            scts=row.submitted_at,
            discharge_time=row.submitted_at + timedelta(seconds=5),
            status=0,
        )
        decoded = decode_pdu(encoded.pdu)
        assert isinstance(decoded, StatusReport)
        reports.append((str(row.modem), decoded))
    return reports


async def measure(db: Database, count: int, samples: int) -> dict[str, Any]:
    rng = random.Random(11)
    report_times: list[float] = []
    matched = 0
    for modem, report in await _awaiting_reports(db, samples):
        started = time.perf_counter()
        async with db.begin() as conn:
            outcome = await apply_status_report(
                conn, report, modem=modem, imsi=imsi(int(modem[1:])), now=datetime.now(UTC)
            )
        report_times.append(time.perf_counter() - started)
        matched += outcome.matched
    by_id: list[float] = []
    for _ in range(samples):
        started = time.perf_counter()
        async with db.read() as conn:
            found = await load_message(conn, rng.randrange(1, count + 1), with_timeline=True)
        by_id.append(time.perf_counter() - started)
        assert found is not None
    pages: dict[str, list[float]] = {}
    for status in ("delivered", "failed", "sent", "queued"):
        for depth, cursor in (("first", None), ("deep", count // 2)):
            timings: list[float] = []
            for _ in range(max(samples // 10, 20)):
                started = time.perf_counter()
                async with db.read() as conn:
                    await _page(conn, status, cursor)
                timings.append(time.perf_counter() - started)
            pages[f"{status}, {depth} page"] = timings
    return {
        "apply_status_report": {**summary_ms(report_times), "matched": matched},
        "get_by_id": summary_ms(by_id),
        "list_by_status": {name: summary_ms(t) for name, t in pages.items()},
    }


async def _page(conn: Any, status: str, cursor: int | None) -> list[dict[str, Any]]:
    """One page as ``GET /api/v1/messages?status=&cursor=`` needs it: newest first."""
    query = select(messages).where(messages.c.status == status)
    if cursor is not None:
        query = query.where(messages.c.id < cursor)
    rows = list(await conn.execute(query.order_by(messages.c.id.desc()).limit(PAGE)))
    return await messages_json(conn, rows)


async def bench_at_size(quick: bool, repeats: int = MIN_RUNS) -> Result:
    """One load, then ``repeats`` rounds of the timed queries on it (each round applies reports
    to parts no earlier round touched)."""
    count = 100_000 if quick else 1_000_000
    samples = 200 if quick else 1000
    runs = []
    with work_directory("at-size") as work:
        async with throwaway_database("postgresql", work, "atsize") as url:
            db = await migrated(url)
            try:
                say(f"at size: loading {count:,} messages with COPY")
                load_s = await bulk_load(url, count, datetime.now(UTC))
                say(f"  loaded in {load_s:.1f} s; measuring")
                for repeat in range(repeats):
                    figures = await measure(db, count, samples)
                    say(
                        f"  run {repeat + 1}: report p95 "
                        f"{figures['apply_status_report']['p95_ms']:.2f} ms, by id p95 "
                        f"{figures['get_by_id']['p95_ms']:.2f} ms"
                    )
                    runs.append({"repeat": repeat, **figures})
            finally:
                await db.close()
    result = {
        "title": "At size: reports and status queries with 1,000,000 messages (PostgreSQL)",
        "target": f"median p95 < {P95_TARGET_MS:g} ms",
        "messages": count,
        "modems": MODEMS,
        "days": DAYS,
        "load_s": load_s,
        "runs": runs,
    }
    write_result("at_size", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    args = parser.parse_args()
    asyncio.run(bench_at_size(args.quick, args.runs))


if __name__ == "__main__":
    main()

"""The send pipeline: the next part is prepared while the modem holds the current one
(``prepare_ahead``), or once it has answered.

What is prepared ahead and then cannot go out (the current part failed, the modem needs
attention, gatewayd is stopping) goes back to the queue as if it had never been prepared:
no try counted, no modem kept, never ``unknown``, never sent twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gatewayd.config import PrepareAhead
from gatewayd.queue import NewMessage
from tests.integration.core_flow.harness import EXTERNAL, Flow, eventually, flow, ledger_counts

AHEAD_AND_IN_TURN = pytest.mark.parametrize("ahead", ["always", "never"])
"""Each part prepared while the one before is on the wire, or after its answer."""


def numbered(i: int) -> str:
    return f"+55119877{60000 + i:05d}"


async def part_states(f: Flow, ids: list[int]) -> dict[int, list[str]]:
    return {i: [part.status for part in await f.parts(i)] for i in ids}


@AHEAD_AND_IN_TURN
async def test_a_permanent_error_keeps_the_prepared_message(
    db_url: str, tmp_path: Path, ahead: PrepareAhead
) -> None:
    async with flow(
        db_url, tmp_path, modems=1, latency_ms=100, start=False, prepare_ahead=ahead
    ) as f:
        f.network.fault(0, "cms_error", code=21, count=1)
        ids = await f.send(NewMessage(EXTERNAL, "refused"), NewMessage(numbered(1), "next"))
        await f.start()
        statuses = await f.wait_status(ids, {"failed", "delivered"}, timeout=20)
        second = await f.message(ids[1])
        second_parts = await f.parts(ids[1])
    assert statuses == {ids[0]: "failed", ids[1]: "delivered"}
    assert second.attempts == 1
    assert [p.attempts for p in second_parts] == [1]
    assert ledger_counts(f.network.ledger) == {(numbered(1), "next"): 1}


@AHEAD_AND_IN_TURN
async def test_a_modem_fault_gives_the_prepared_message_back(
    db_url: str, tmp_path: Path, ahead: PrepareAhead
) -> None:
    """CMS 330 (no SMSC address) leaves the failed message to other modems and re-initialises
    this one; the message prepared behind it is unclaimed: one try, no modem kept."""
    async with flow(
        db_url, tmp_path, modems=1, latency_ms=100, start=False, prepare_ahead=ahead
    ) as f:
        f.network.fault(0, "cms_error", code=330, count=1)
        ids = await f.send(NewMessage(numbered(1), "first"), NewMessage(numbered(2), "second"))
        await f.start()
        await f.wait_status(ids[1:], "delivered", timeout=30)
        first, second = [await f.message(i) for i in ids]
        parts = [await f.parts(i) for i in ids]
    assert (first.status, first.attempts, first.avoid_modem) == ("queued", 1, "sim0")
    assert second.attempts == 1
    assert [[p.attempts for p in ps] for ps in parts] == [[1], [1]]
    assert ledger_counts(f.network.ledger) == {(numbered(2), "second"): 1}


@AHEAD_AND_IN_TURN
async def test_stopping_leaves_nothing_prepared(
    db_url: str, tmp_path: Path, ahead: PrepareAhead
) -> None:
    count = 40
    async with flow(
        db_url, tmp_path, modems=1, latency_ms=50, report_delay_ms=20, prepare_ahead=ahead
    ) as f:
        ids = await f.send(*(NewMessage(numbered(i), f"s{i}") for i in range(count)))
        await f.network.wait_for_ledger(5, timeout=20)
        await f.stop()
        states = await part_states(f, ids)
        statuses = await f.statuses(ids)
        rows = [await f.message(i) for i in ids]
    counts = ledger_counts(f.network.ledger)
    assert 5 <= len(counts) < count
    for i, message_id in enumerate(ids):
        seen = counts[(numbered(i), f"s{i}")]
        assert states[message_id] in (["sent"], ["delivered"], ["queued"]), states[message_id]
        if states[message_id] == ["queued"]:
            assert (statuses[message_id], seen, rows[i].attempts) == ("queued", 0, 0)
            assert rows[i].assigned_modem is None and rows[i].claimed_by is None
        else:
            assert seen == 1


@AHEAD_AND_IN_TURN
async def test_multipart_messages_back_to_back(
    db_url: str, tmp_path: Path, ahead: PrepareAhead
) -> None:
    """Parts of one message and of the next follow each other without a gap in the order."""
    text = "x" * 400  # three parts
    async with flow(
        db_url, tmp_path, modems=1, latency_ms=30, report_delay_ms=50, prepare_ahead=ahead
    ) as f:
        ids = await f.send(*(NewMessage(numbered(i), f"{i}{text}") for i in range(4)))
        await f.wait_status(ids, "delivered", timeout=30)
        states = await part_states(f, ids)
    assert all(s == ["delivered"] * 3 for s in states.values()), states
    order = [e["to"] for e in f.network.ledger]
    assert order == [numbered(i) for i in range(4) for _ in range(3)]


@AHEAD_AND_IN_TURN
async def test_reports_overtaking_their_answers_still_match(
    db_url: str, tmp_path: Path, ahead: PrepareAhead
) -> None:
    """A report delay of 0 ms puts the report right behind the ``+CMGS`` answer, before the
    part's MR can be committed."""
    async with flow(
        db_url, tmp_path, modems=1, latency_ms=10, report_delay_ms=0, prepare_ahead=ahead
    ) as f:
        ids = await f.send(*(NewMessage(numbered(i), f"r{i}") for i in range(30)))

        async def all_delivered() -> bool:
            return set((await f.statuses(ids)).values()) == {"delivered"}

        await eventually(all_delivered, timeout=30, what="every report matched")


async def test_a_wake_up_for_one_message_wakes_one_idle_modem(db_url: str, tmp_path: Path) -> None:
    """Every idle modem claiming for one new message is a burst of empty claims; busy
    modems and named ones are always woken (for them it costs nothing or is required)."""
    async with flow(db_url, tmp_path, modems=4) as f:
        workers = list(f.gateway.workers.values())

        async def all_idle() -> bool:
            return all(w.idle for w in workers)

        await eventually(all_idle, timeout=10, what="every modem idle")
        f.gateway.wake_for(1, [])
        first = [w.name for w in workers if w.wake.is_set()]
        for worker in workers:
            worker.wake.clear()
        f.gateway.wake_for(1, [])
        second = [w.name for w in workers if w.wake.is_set()]
        for worker in workers:
            worker.wake.clear()
        f.gateway.wake_for(1, ["sim3"])
        named = sorted(w.name for w in workers if w.wake.is_set())
        for worker in workers:
            worker.wake.clear()
        workers[0].idle = False
        f.gateway.wake_for(0, [])
        busy = [w.name for w in workers if w.wake.is_set()]
    assert len(first) == 1 and len(second) == 1 and first != second
    assert len(named) == 2 and "sim3" in named
    assert busy == ["sim0"]


async def test_the_gateway_vacuums_its_tables_when_autovacuum_is_off(
    db_url: str, tmp_path: Path
) -> None:
    async with flow(db_url, tmp_path, modems=1) as f:
        autovacuum = await f.db.setting("autovacuum")
        own = await f.gateway._needs_own_vacuum()
    assert own is (autovacuum == "off")


async def test_modems_claim_together_and_bound_messages_keep_their_modem(
    db_url: str, tmp_path: Path
) -> None:
    """Six modems share transactions (group commit, claims together); messages bound to one
    modem go through it only; every message leaves once. The parts are prepared ahead (the
    simulated modems' direct reports would otherwise have them sent in turn, each modem's
    pace then set by its own transactions, and the modem of the bound messages may find the
    others done before it is free)."""
    async with flow(
        db_url, tmp_path, modems=6, latency_ms=30, report_delay_ms=20, prepare_ahead="always"
    ) as f:
        bound = await f.send(*(NewMessage(numbered(i), f"b{i}", modem="sim2") for i in range(12)))
        free = await f.send(*(NewMessage(numbered(100 + i), f"f{i}") for i in range(120)))
        await f.wait_status(bound + free, "delivered", timeout=60)
        bound_modems = {part.modem for i in bound for part in await f.parts(i)}
        free_modems = {part.modem for i in free for part in await f.parts(i)}
        recorder = f.gateway.send_recorder
        reports = f.gateway.report_recorder
    assert bound_modems == {"sim2"}
    # several modems shared the free messages (which ones is the scheduler's business: with
    # SQLite's single writer on a loaded machine, one modem can go a short run without a claim)
    assert len(free_modems) >= 3
    counts = ledger_counts(f.network.ledger)
    assert len(counts) == 132 and set(counts.values()) == {1}
    assert recorder.items > recorder.batches  # steps of several modems shared transactions
    assert reports.items == 132 and reports.items > reports.batches


@pytest.mark.parametrize(
    ("profile", "ahead", "report", "expected"),
    [
        ("sim7600", "auto", True, True),  # reports stored (+CDSI), the part asks for one
        ("generic", "auto", True, False),  # direct reports (+CDS): lost while gatewayd is down
        ("sim7600", "auto", False, False),  # no report will ever settle the part on the wire
        ("generic", "always", True, True),
        ("sim7600", "never", True, False),
    ],
)
async def test_when_the_next_part_is_prepared_ahead(
    db_url: str, tmp_path: Path, profile: str, ahead: PrepareAhead, report: bool, expected: bool
) -> None:
    """Prepared ahead, a part is committed ``sending`` before the modem answers the one on the
    wire; otherwise only after that answer."""
    latency = timedelta(milliseconds=400)
    async with flow(
        db_url,
        tmp_path,
        modems=1,
        latency_ms=400,
        report_delay_ms=20,
        profile=profile,
        prepare_ahead=ahead,
    ) as f:
        ids = await f.send(
            *(NewMessage(numbered(i), f"a{i}", status_report=report) for i in range(3))
        )
        await f.wait_status(ids, "delivered" if report else "sent", timeout=30)
        handed_over = [(await f.parts(i))[0].submitted_at for i in ids]
    accepted = [datetime.fromisoformat(e["at"]) for e in f.network.ledger]
    assert [e["to"] for e in f.network.ledger] == [numbered(i) for i in range(3)]
    answered = [at + latency for at in accepted]
    before_the_answer = [handed_over[i + 1] < answered[i] - latency / 8 for i in range(2)]
    assert before_the_answer == [expected, expected], (handed_over, answered)

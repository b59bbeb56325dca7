"""Traffic and audits for in-process scenarios built on the core-flow harness
(:mod:`tests.integration.core_flow.harness`): numbered messages with texts of their own, and
the ledger audit of :mod:`tests.support.audit` applied to a running ``Flow``."""

from __future__ import annotations

from collections.abc import Iterable

from gatewayd.queue import NewMessage
from tests.integration.core_flow.harness import Flow, eventually
from tests.support.audit import SETTLED_MESSAGE, Audit, audit_database
from tests.support.daemons import external_number

LONG_TAIL = " and a tail long enough to need a second part" * 4


def traffic(prefix: str, count: int, *, start: int = 0, long_every: int = 7) -> list[NewMessage]:
    """``count`` messages to numbers outside the network; every ``long_every``-th is two parts."""
    news = []
    for i in range(start, start + count):
        text = f"{prefix}-{i}" + (LONG_TAIL if long_every and i % long_every == 0 else "")
        news.append(NewMessage(external_number(i), text))
    return news


async def audit_flow(f: Flow) -> Audit:
    return await audit_database(f.db, f.network.ledger)


async def settle(
    f: Flow,
    *,
    timeout: float = 60,
    allowed: Iterable[str] = SETTLED_MESSAGE,
    still_sent: int = 0,
) -> Audit:
    """Wait until no message is queued or sending and at most ``still_sent`` wait for a
    report; return the audit (not yet asserted)."""
    permitted = set(allowed)

    async def done() -> Audit | None:
        audit = await audit_flow(f)
        if audit.unsettled or audit.statuses.get("sent", 0) > still_sent:
            return None
        return audit if set(audit.statuses) <= permitted | {"sent"} else None

    try:
        return await eventually(done, timeout=timeout, what="every message settled")
    except AssertionError as timed_out:
        last = await audit_flow(f)
        raise AssertionError(
            f"{timed_out}: {last.figures()} unsettled {last.unsettled[:10]}"
        ) from None


def sent_by(f: Flow, modem_index: int, *, after: int = 0) -> int:
    """Ledger lines from modem ``modem_index`` past the first ``after`` lines."""
    return sum(1 for e in f.network.ledger[after:] if e["modem"] == modem_index)


__all__ = ["audit_flow", "external_number", "sent_by", "settle", "traffic"]

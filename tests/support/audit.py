"""The end-of-scenario check: every message in the database against the simulator's ledger.

Each ledger line is one SMS part the simulated network accepted. A part is matched to its
message by (recipient, part text), so scenarios give every message a text of its own. The
rules, per part status:

- ``sent``, ``delivered``, ``expired``: on the ledger exactly once;
- ``unknown`` (visible to the operator): at most once;
- ``queued``, ``failed``: never (a refused part did not leave);
- ``sending`` once the run is over: unsettled.

A message whose text needs more parts than it has rows counts each missing part as lost, and
a ledger line that matches no part is a phantom send. A ``sent`` part whose ledger line asked
for a status report is listed in ``sent_with_report``: the network sends that report, so once
reports have settled it was lost (allowed by :meth:`Audit.assert_clean`; scenarios that can
know every report assert it is empty). :func:`audit_database` returns the figures;
:meth:`Audit.assert_clean` fails with a one-paragraph description.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from gatewayd.sms import split_text
from gatewayd.store import Database, message_parts, messages

ONCE = frozenset({"sent", "delivered", "expired"})
NEVER = frozenset({"queued", "failed"})
SETTLED_MESSAGE = frozenset({"sent", "delivered", "failed", "expired", "cancelled", "unknown"})


@dataclass
class Audit:
    messages: int = 0
    parts: int = 0
    ledger_lines: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    unknown_parts: int = 0
    unknown_parts_sent: int = 0
    sent_with_report: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    sent_while_refused: list[str] = field(default_factory=list)
    unsettled: list[int] = field(default_factory=list)
    phantom: list[dict[str, Any]] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "parts": self.parts,
            "ledger_lines": self.ledger_lines,
            "statuses": dict(self.statuses),
            "unknown_parts": self.unknown_parts,
            "unknown_parts_on_ledger": self.unknown_parts_sent,
            "sent_with_report": len(self.sent_with_report),
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "sent_while_refused": len(self.sent_while_refused),
            "unsettled": len(self.unsettled),
            "phantom": len(self.phantom),
        }

    def problems(self, *, allowed_statuses: Iterable[str] = SETTLED_MESSAGE) -> list[str]:
        allowed = set(allowed_statuses)
        found = []
        odd = {s: n for s, n in self.statuses.items() if s not in allowed}
        if odd:
            found.append(f"messages in unexpected states {odd}")
        for name in ("lost", "duplicated", "sent_while_refused", "unsettled", "phantom"):
            items = getattr(self, name)
            if items:
                found.append(f"{len(items)} {name}: {items[:5]}")
        return found

    def assert_clean(self, *, allowed_statuses: Iterable[str] = SETTLED_MESSAGE) -> None:
        problems = self.problems(allowed_statuses=allowed_statuses)
        assert not problems, "; ".join(problems) + f" — figures {self.figures()}"


def part_texts(text: str, encoding: str) -> list[str]:
    return split_text(text, encoding)[1]


def check(
    rows: Sequence[Mapping[str, Any]],
    parts: Sequence[Mapping[str, Any]],
    ledger: Sequence[Mapping[str, Any]],
) -> Audit:
    """The audit from message rows, part rows and ledger lines (pure, for reuse anywhere)."""
    result = Audit(messages=len(rows), parts=len(parts), ledger_lines=len(ledger))
    on_ledger = Counter((str(e["to"]), e.get("text")) for e in ledger)
    reported = {(str(e["to"]), e.get("text")) for e in ledger if e.get("status_report")}
    by_message = {row["id"]: row for row in rows}
    known: set[tuple[str, str]] = set()
    seen_seqs: dict[Any, set[int]] = {row["id"]: set() for row in rows}
    texts = {row["id"]: part_texts(str(row["text"]), str(row["encoding"])) for row in rows}
    for row in rows:
        result.statuses[str(row["status"])] += 1
        if row["status"] not in SETTLED_MESSAGE:
            result.unsettled.append(int(row["id"]))
    for part in parts:
        message = by_message.get(part["message_id"])
        if message is None:
            continue
        seq = int(part["seq"])
        seen_seqs[message["id"]].add(seq)
        message_texts = texts[message["id"]]
        text = message_texts[seq - 1] if seq <= len(message_texts) else ""
        key = (str(message["recipient"]), text)
        known.add(key)
        seen = on_ledger[key]
        label = f"message {message['id']} part {seq} ({part['status']}) on ledger {seen}x"
        status = str(part["status"])
        if status == "unknown":
            result.unknown_parts += 1
            result.unknown_parts_sent += min(seen, 1)
            if seen > 1:
                result.duplicated.append(label)
        elif status in ONCE:
            if seen == 0:
                result.lost.append(label)
            elif seen > 1:
                result.duplicated.append(label)
            if status == "sent" and key in reported:
                result.sent_with_report.append(label)
        elif status in NEVER:
            if seen:
                result.sent_while_refused.append(label)
        elif int(message["id"]) not in result.unsettled:
            result.unsettled.append(int(message["id"]))
    for row in rows:
        for seq in range(1, len(texts[row["id"]]) + 1):
            if seq not in seen_seqs[row["id"]]:
                result.lost.append(f"message {row['id']} part {seq} ({row['status']}) has no row")
    for entry in ledger:
        if (str(entry["to"]), entry.get("text")) not in known:
            result.phantom.append(dict(entry))
    return result


async def audit_database(
    db: Database, ledger: Sequence[Mapping[str, Any]], *, created_by: str | None = None
) -> Audit:
    """Read every message (or those ``created_by``) and its parts; check them against ``ledger``."""
    query = select(
        messages.c.id,
        messages.c.recipient,
        messages.c.text,
        messages.c.encoding,
        messages.c.status,
    )
    if created_by is not None:
        query = query.where(messages.c.created_by == created_by)
    async with db.read() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(query)]
        ids = [r["id"] for r in rows]
        part_query = select(message_parts.c.message_id, message_parts.c.seq, message_parts.c.status)
        parts = [dict(r._mapping) for r in await conn.execute(part_query)]
    wanted = set(ids)
    return check(rows, [p for p in parts if p["message_id"] in wanted], ledger)

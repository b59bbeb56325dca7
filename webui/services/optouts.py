"""The opt-out, block and allow lists as operators manage them: list with search, add,
remove, CSV import and export. Every change is audited in its own transaction.

Numbers are stored in E.164 (``+5511987654321``); a prefix entry is ``+`` and 1 to 15 digits.
Opt-out entries are numbers only (a person opts out, not a range). Adding what is already
listed changes nothing and is not an error (importing the same file twice is harmless).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue.suppression import SETTINGS_NAME, OptOutSettings, fold, load_settings
from gatewayd.store import Database, SuppressionKind, suppressions, utc_now, web_settings
from gatewayd.store.upsert import insert_ignoring_duplicates, upsert
from webui.audit import record
from webui.services.caller import Caller
from webui.services.errors import Invalid, NotFound

MAX_IMPORT_ROWS = 100_000
MAX_WORDS = 50
MAX_WORD = 32
MAX_REPLY = 480
MAX_NOTE = 200
PAGE_LIMIT = 500
MAX_SEARCH = 64
MAX_OFFSET = 10_000_000
_PREFIX = re.compile(r"\+[0-9]{1,15}")
KINDS = tuple(kind.value for kind in SuppressionKind)


@dataclass(frozen=True)
class Entry:
    number: str
    kind: str
    prefix: bool
    source: str
    note: str | None
    created_at: datetime
    created_by: str

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "kind": self.kind,
            "prefix": self.prefix,
            "source": self.source,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


def parse_kind(value: str) -> SuppressionKind:
    try:
        return SuppressionKind(value)
    except ValueError:
        raise Invalid("invalid_kind", f"kind must be one of {', '.join(KINDS)}", "kind") from None


def entry_number(value: str, *, prefix: bool, kind: SuppressionKind, region: str | None) -> str:
    """``value`` as stored: E.164 for a number, ``+digits`` for a prefix; else ``Invalid``."""
    if prefix:
        if kind is SuppressionKind.OPT_OUT:
            raise Invalid("invalid_prefix", "opt-out entries are numbers, not prefixes", "prefix")
        given = value.strip().replace(" ", "")
        if not _PREFIX.fullmatch(given):
            raise Invalid("invalid_prefix", "a prefix is + and 1 to 15 digits", "number")
        return given
    try:
        return normalise(value, region)
    except InvalidNumber as exc:
        raise Invalid("invalid_number", str(exc), "number") from None


@dataclass(frozen=True)
class OptOuts:
    """The lists of one installation: its database and default region."""

    db: Database
    region: str | None

    async def list(
        self, *, search: str = "", kind: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[Entry], int]:
        """Entries whose number or note contains ``search``, newest first; and how many."""
        s = suppressions.c
        where = []
        if search.strip():
            pattern = "%" + search.strip().replace("\\", "").replace("%", "").replace("_", "") + "%"
            where.append(or_(s.number.like(pattern), s.note.like(pattern)))
        if kind:
            where.append(s.kind == parse_kind(kind).value)
        async with self.db.read() as conn:
            total = int(
                await conn.scalar(select(func.count()).select_from(suppressions).where(*where)) or 0
            )
            rows = await conn.execute(
                select(suppressions)
                .where(*where)
                .order_by(s.created_at.desc(), s.id.desc())
                .limit(min(max(limit, 1), PAGE_LIMIT))
                .offset(max(offset, 0))
            )
            return [_entry(row) for row in rows], total

    async def add(
        self,
        caller: Caller,
        number: str,
        *,
        kind: str = SuppressionKind.OPT_OUT.value,
        prefix: bool = False,
        note: str | None = None,
        source: str = "api",
    ) -> tuple[Entry, bool]:
        """Put ``number`` on the list ``kind``; (the entry, whether it is new)."""
        chosen = parse_kind(kind)
        stored = entry_number(number, prefix=prefix, kind=chosen, region=self.region)
        async with self.db.begin() as conn:
            new = await _insert(conn, caller, stored, chosen, prefix, note, source)
            row = (await conn.execute(_select_one(stored, chosen, prefix))).one()
        return _entry(row), new

    async def remove(
        self, caller: Caller, number: str, *, kind: str = SuppressionKind.OPT_OUT.value
    ) -> None:
        """Take ``number`` (a number or a prefix, as listed) off the list ``kind``."""
        chosen = parse_kind(kind)
        given = number.strip()
        candidates = [given, given.rstrip("*")]
        with contextlib.suppress(InvalidNumber):
            candidates.append(normalise(given, self.region))
        s = suppressions.c
        async with self.db.begin() as conn:
            done = await conn.execute(
                delete(suppressions).where(s.number.in_(candidates), s.kind == chosen.value)
            )
            if done.rowcount == 0:
                raise NotFound("not_found", f"{given} is not on the {chosen.value} list", "number")
            await record(
                conn,
                caller.actor,
                f"{chosen.value.replace('_', '')}.remove",
                given,
                {"kind": chosen.value},
                caller.client_address,
            )

    async def import_csv(self, caller: Caller, data: str, *, kind: str) -> dict[str, Any]:
        """Rows ``number[,note]`` (a header row is allowed; a number ending in ``*`` is a
        prefix) added to ``kind``: how many were added, already listed, and refused."""
        chosen = parse_kind(kind)
        try:
            rows = list(csv.reader(io.StringIO(data, newline="")))
        except csv.Error as exc:  # e.g. a lone carriage return inside a field
            raise Invalid("invalid_csv", f"the CSV cannot be read: {exc}", "file") from None
        if len(rows) > MAX_IMPORT_ROWS:
            raise Invalid("too_many_rows", f"at most {MAX_IMPORT_ROWS} rows per file", "file")
        wanted: list[tuple[str, bool, str | None]] = []
        problems: list[dict[str, Any]] = []
        for index, row in enumerate(rows):
            if not row or not row[0].strip() or (index == 0 and row[0].strip().lower() == "number"):
                continue
            raw = row[0].strip()
            prefix = raw.endswith("*")
            note = row[1].strip()[:MAX_NOTE] if len(row) > 1 and row[1].strip() else None
            try:
                stored = entry_number(
                    raw.rstrip("*"), prefix=prefix, kind=chosen, region=self.region
                )
            except Invalid as exc:
                problems.append({"row": index + 1, "number": raw[:64], "message": exc.message})
                continue
            wanted.append((stored, prefix, note))
        added = 0
        async with self.db.begin() as conn:
            for stored, prefix, note in wanted:
                row_id = await insert_ignoring_duplicates(
                    conn, suppressions, _row(caller, stored, chosen, prefix, note, "import")
                )
                added += row_id is not None
            await record(
                conn,
                caller.actor,
                f"{chosen.value.replace('_', '')}.import",
                None,
                {"kind": chosen.value, "added": added, "refused": len(problems)},
                caller.client_address,
            )
        return {
            "added": added,
            "already_listed": len(wanted) - added,
            "refused": len(problems),
            "problems": problems[:1000],
        }

    async def words(self) -> OptOutSettings:
        """The opt-out and opt-in words and their confirmations."""
        async with self.db.read() as conn:
            return await load_settings(conn)

    async def save_words(self, caller: Caller, chosen: OptOutSettings) -> OptOutSettings:
        """Store the words (at least one stop word; each at most 32 characters, 50 words)
        and the confirmations (at most 480 characters; empty: none is sent)."""
        stop = _words(chosen.stop_words, "stop_words")
        if not stop:
            raise Invalid("invalid_words", "at least one opt-out word is needed", "stop_words")
        start = _words(chosen.start_words, "start_words")
        if {fold(w) for w in stop} & {fold(w) for w in start}:
            raise Invalid("invalid_words", "a word cannot both opt out and opt in", "start_words")
        for name, reply in (("stop_reply", chosen.stop_reply), ("start_reply", chosen.start_reply)):
            if len(reply) > MAX_REPLY:
                raise Invalid("invalid_reply", f"at most {MAX_REPLY} characters", name)
        saved = OptOutSettings(stop, start, chosen.stop_reply.strip(), chosen.start_reply.strip())
        async with self.db.begin() as conn:
            await upsert(
                conn,
                web_settings,
                {"name": SETTINGS_NAME, "value": saved.as_json(), "updated_at": utc_now()},
                key=("name",),
            )
            await record(
                conn, caller.actor, "optout.words", None, saved.as_json(), caller.client_address
            )
        return saved

    async def export_csv(self) -> str:
        """Every entry as CSV: number (prefixes end in ``*``), kind, note, source, created."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["number", "kind", "note", "source", "created_at", "created_by"])
        async with self.db.read() as conn:
            rows = await conn.execute(select(suppressions).order_by(suppressions.c.id))
            for row in rows:
                entry = _entry(row)
                writer.writerow(
                    [
                        entry.number + ("*" if entry.prefix else ""),
                        entry.kind,
                        _csv_safe(entry.note or ""),
                        entry.source,
                        entry.created_at.isoformat(),
                        _csv_safe(entry.created_by),
                    ]
                )
        return out.getvalue()


def _words(given: tuple[str, ...], name: str) -> tuple[str, ...]:
    words = tuple(dict.fromkeys(w.strip() for w in given if w.strip()))
    if len(words) > MAX_WORDS or any(len(w) > MAX_WORD for w in words):
        raise Invalid("invalid_words", f"at most {MAX_WORDS} words of {MAX_WORD} characters", name)
    return words


def _csv_safe(value: str) -> str:
    """No formula injection when the file is opened in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _row(
    caller: Caller, number: str, kind: SuppressionKind, prefix: bool, note: str | None, source: str
) -> dict[str, Any]:
    return {
        "number": number,
        "kind": kind.value,
        "prefix": prefix,
        "source": source,
        "note": note.replace("\x00", "")[:MAX_NOTE] if note else None,  # no column holds NUL
        "created_at": utc_now(),
        "created_by": caller.actor[:100],
    }


async def _insert(
    conn: AsyncConnection,
    caller: Caller,
    number: str,
    kind: SuppressionKind,
    prefix: bool,
    note: str | None,
    source: str,
) -> bool:
    row_id = await insert_ignoring_duplicates(
        conn, suppressions, _row(caller, number, kind, prefix, note, source)
    )
    if row_id is None:
        return False
    await record(
        conn,
        caller.actor,
        f"{kind.value.replace('_', '')}.add",
        number + ("*" if prefix else ""),
        {"kind": kind.value, "source": source},
        caller.client_address,
    )
    return True


def _select_one(number: str, kind: SuppressionKind, prefix: bool) -> Any:
    s = suppressions.c
    return select(suppressions).where(
        s.number == number, s.kind == kind.value, s.prefix.is_(prefix)
    )


def _entry(row: Any) -> Entry:
    return Entry(
        row.number, row.kind, bool(row.prefix), row.source, row.note, row.created_at, row.created_by
    )

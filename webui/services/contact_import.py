"""Contacts from a CSV file: read and checked row by row for a preview (what would be added,
renamed, left as it is, or refused and why), then written in one transaction.

The file is UTF-8 (a byte-order mark is fine), comma- or semicolon-separated (spreadsheets in
Portuguese save with semicolons). A header row naming the columns (``name``/``nome``,
``number``/``número``/``phone``/``telefone``/``celular``) says which is which; without one the
columns are ``name,number``, or ``number,name`` when the first cell is a number and the second
is not. A leading ``'`` on a number (what our own CSV export adds against formula injection)
is dropped. A number already in the book renames that contact. Numbers are checked by
:func:`webui.services.numbers.check_number`: one wording with compose and the API.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from gatewayd.store import Database, contacts, utc_now
from webui.audit import record
from webui.services.addressbook import MAX_NAME
from webui.services.caller import Caller
from webui.services.errors import Invalid, ServiceError
from webui.services.numbers import check_number

MAX_ROWS = 5000
MAX_BYTES = 1024 * 1024
NAME_HEADERS = frozenset({"name", "nome", "contact", "contato"})
NUMBER_HEADERS = frozenset(
    {"number", "numero", "número", "phone", "telefone", "celular", "mobile", "msisdn"}
)
NUMBER_LIKE = re.compile(r"'?[\s+()\-.\d]+")


@dataclass(frozen=True)
class ImportRow:
    line: int
    """1-based line of the file."""
    name: str
    typed: str
    """The number as the file has it."""
    number: str | None
    """E.164, None when refused."""
    action: str
    """``new``, ``rename`` (the number is in the book under another name), ``same`` (already
    there as it is) or ``error``."""
    code: str | None = None
    """Why a row is refused: ``invalid_number``, ``missing_name``, ``duplicate``."""
    message: str | None = None
    reason: str | None = None
    """For ``invalid_number``: the kind (see :data:`~webui.services.numbers.NUMBER_PROBLEMS`)."""


@dataclass(frozen=True)
class ImportPlan:
    rows: list[ImportRow]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def writable(self) -> list[ImportRow]:
        return [row for row in self.rows if row.action in ("new", "rename")]


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise Invalid("file_too_large", f"the file is over {MAX_BYTES // 1024} KiB", "file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("invalid_csv", "the CSV must be UTF-8", "file") from None


def _looks_like_number(cell: str) -> bool:
    return bool(NUMBER_LIKE.fullmatch(cell.strip())) and sum(c.isdigit() for c in cell) >= 3


def _columns(header: list[str]) -> tuple[int, int] | None:
    names = [cell.strip().lower() for cell in header]
    name = next((i for i, cell in enumerate(names) if cell in NAME_HEADERS), None)
    number = next((i for i, cell in enumerate(names) if cell in NUMBER_HEADERS), None)
    return (name, number) if name is not None and number is not None else None


def _rows(text: str) -> list[tuple[int, str, str]]:
    """``(line, name, number)`` of every non-empty row, the header left out."""
    first = text.split("\n", 1)[0]
    dialect = "excel" if first.count(",") >= first.count(";") else _Semicolon
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        return _read(reader)
    except csv.Error as exc:  # e.g. a lone carriage return inside a field
        raise Invalid("invalid_csv", f"the CSV cannot be read: {exc}", "file") from None


def _read(reader: Any) -> list[tuple[int, str, str]]:
    found: list[tuple[int, str, str]] = []
    columns: tuple[int, int] | None = None
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        if not found and columns is None:
            columns = _columns(cells)
            if columns is not None:
                continue
            columns = (0, 1)
        assert columns is not None
        name_at, number_at = columns
        padded = [*cells, "", ""]
        name, number = padded[name_at].strip(), padded[number_at].strip()
        if columns == (0, 1) and _looks_like_number(name) and not _looks_like_number(number):
            name, number = number, name
        found.append((line, name, number))
        if len(found) > MAX_ROWS:
            raise Invalid("too_many_rows", f"at most {MAX_ROWS} contacts per file", "file")
    return found


class _Semicolon(csv.excel):
    delimiter = ";"


async def plan_import(db: Database, data: bytes, region: str | None) -> ImportPlan:
    """What importing ``data`` would do, row by row; nothing is written."""
    rows = _rows(decode(data))
    if not rows:
        raise Invalid("empty_csv", "the CSV has no rows", "file")
    async with db.read() as conn:
        existing = {r.number: r.name for r in await conn.execute(select(contacts))}
    planned: list[ImportRow] = []
    seen: set[str] = set()
    for line, name, typed in rows:
        cleaned = typed[1:] if typed.startswith("'") else typed
        try:
            name = " ".join(name.split())[:MAX_NAME]
            if not name:
                raise Invalid("missing_name", "the row has no name", "name")
            number = check_number(cleaned, region)
            if number in seen:
                raise Invalid("duplicate", f"{number} is on an earlier row too", "number")
        except ServiceError as exc:
            planned.append(
                ImportRow(
                    line,
                    name,
                    typed,
                    None,
                    "error",
                    exc.code,
                    exc.message,
                    exc.detail.get("reason"),
                )
            )
            continue
        seen.add(number)
        before = existing.get(number)
        action = "new" if before is None else "same" if before == name else "rename"
        planned.append(ImportRow(line, name, typed, number, action))
    return ImportPlan(planned)


async def apply_import(db: Database, caller: Caller, plan: ImportPlan) -> tuple[int, int]:
    """Write the plan's new contacts and renames in one transaction; (added, renamed)."""
    new = [row for row in plan.writable if row.action == "new" and row.number]
    renamed = [row for row in plan.writable if row.action == "rename" and row.number]
    async with db.begin() as conn:
        existing = {r.number for r in await conn.execute(select(contacts.c.number))}
        now = utc_now()
        fresh = [
            {"name": row.name, "number": row.number, "created_at": now}
            for row in new
            if row.number not in existing
        ]
        if fresh:
            await conn.execute(insert(contacts), fresh)
        for row in [*renamed, *(r for r in new if r.number in existing)]:
            await conn.execute(
                update(contacts).where(contacts.c.number == row.number).values(name=row.name)
            )
        await record(
            conn,
            caller.actor,
            "contact.import",
            None,
            {"added": len(fresh), "renamed": len(renamed) + len(new) - len(fresh)},
            caller.client_address,
        )
    return len(fresh), len(renamed) + len(new) - len(fresh)

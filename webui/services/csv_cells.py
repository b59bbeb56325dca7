"""CSV cells that a spreadsheet shows as text, never runs.

Text that arrives by SMS (or that anyone typed) can start with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, which spreadsheets read as the start of a formula (CSV injection,
e.g. ``=HYPERLINK(...)`` or ``=cmd|...``). Such a cell gets a leading ``'`` (OWASP's advice);
numbers, times and ``None`` are written as values. The contact import drops that ``'`` again
from a number, so an export reads back as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> str | int | float:
    """``value`` as a CSV cell a spreadsheet cannot take for a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    text = str(value)
    if text.startswith(FORMULA_STARTS) or text.lstrip().startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV text (``\\r\\n`` line ends, as RFC 4180 says), every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()

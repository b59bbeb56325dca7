"""Streamed CSV downloads for the pages and the API: a header row, then the rows of each batch
written as it is read (:func:`webui.services.listing.batches`), so an export of any size holds
neither the whole list in memory nor a transaction open. Cells are made safe for spreadsheets
by :mod:`webui.services.csv_cells`. The file starts with a UTF-8 byte-order mark, which is how
spreadsheets recognise UTF-8 in a CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from aiohttp import web

from webui.services.csv_cells import csv_text

BOM = "\ufeff"


async def stream_csv(
    request: web.Request,
    filename: str,
    header: Sequence[str],
    batches: AsyncIterator[list[Any]],
    row: Callable[[Any], Sequence[Any]],
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    await response.prepare(request)
    await response.write((BOM + csv_text([header])).encode())
    async for found in batches:
        await response.write(csv_text(row(item) for item in found).encode("utf-8", "replace"))
    await response.write_eof()
    return response

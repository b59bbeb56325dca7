"""Benchmark 4: API ingest — single-message POSTs per second while p95 stays under 200 ms, and
recipients per second through one request with many recipients, on PostgreSQL and SQLite.

Runs ``webui run`` against a throwaway database with an operator API key from
``webui create-api-key``, and drives ``POST /api/v1/messages`` from an asyncio aiohttp load
generator on loopback, bounded in requests and time. When this installation has no messages
API yet, the result says "not measured: API not available".
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util

from bench.common import Result, say, write_result
from bench.verdict import MIN_RUNS

SINGLE_TARGET_PER_S = 2000.0
SINGLE_P95_TARGET_MS = 200.0
BATCH_TARGET_PER_S = 20000.0


def api_available() -> bool:
    """Whether the web API's message routes exist in this installation."""
    try:
        return importlib.util.find_spec("webui.api.messages") is not None
    except ImportError:
        return False


async def bench_ingest(quick: bool, runs: int = MIN_RUNS) -> Result:
    if not api_available():
        say("ingest: not measured: API not available")
        result: Result = {
            "title": "API ingest",
            "measured": False,
            "note": "not measured: API not available (no POST /api/v1/messages in webui yet)",
            "target": f">= {SINGLE_TARGET_PER_S:,.0f} POST/s with p95 < "
            f"{SINGLE_P95_TARGET_MS:g} ms; >= {BATCH_TARGET_PER_S:,.0f} recipients/s",
        }
        write_result("ingest", result)
        return result
    from bench.ingest_load import run_ingest

    measured: Result = await run_ingest(quick, runs)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    args = parser.parse_args()
    asyncio.run(bench_ingest(args.quick, args.runs))


if __name__ == "__main__":
    main()

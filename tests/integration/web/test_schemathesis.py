"""Property-based API testing with schemathesis: generated requests (valid and invalid) against
the OpenAPI document must never get a 5xx, an undocumented status, or a response that breaks
the documented schema. Bounded so it finishes well under two minutes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.integration.web.conftest import WebEnv

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


async def test_no_server_errors_and_responses_match_the_schema(web: WebEnv, tmp_path: Path) -> None:
    url = str(web.client.make_url("/api/openapi.json"))
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        url,
        "--checks",
        CHECKS,
        "--max-examples",
        "15",
        "--seed",
        "1",
        "--header",
        f"Authorization: Bearer {web.keys['operator']}",
        "--request-timeout",
        "20",
        "--exclude-path",
        "/api/v1/modems/{name}/ussd",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 110)
    finally:
        if process.returncode is None:  # past the deadline: never leave it running
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    assert "passed" in text.lower()


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: one run is enough and keeps the suite short."""
    return pg_url

"""Property-based API testing with schemathesis, every check on (``--checks all``): generated
requests, valid and invalid, against the OpenAPI document, once with an operator's API key and
once as an admin signed in (session cookie and CSRF token). Nothing may come back as a 5xx, an
undocumented status, a response that breaks its schema, a valid request refused (see
``schemathesis.toml`` for the refusals no schema can express), an invalid one accepted, or a
wrong ``Allow`` header. Each run is bounded to about a minute and a half."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.web.conftest import WebEnv, csrf_from, login, make_web_env, settings_for
from webui.options import options_from_settings

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
SESSION_COOKIE = "smsgw_session"


@pytest.fixture
async def web(pg_url: str) -> AsyncIterator[WebEnv]:
    """PostgreSQL only (one run is enough); modem commands answer at once (no gatewayd:
    a documented 504) instead of after the usual 30 s."""

    def options(settings):  # type: ignore[no-untyped-def]
        return options_from_settings(settings, run_dispatcher=False, command_timeout=0.05)

    async for env in make_web_env(settings_for(pg_url), options):
        yield env


async def credentials(web: WebEnv, who: str, folder: Path) -> tuple[Path, list[str]]:
    """The run's configuration (the shared one, plus the credentials as the document names
    their scheme, so the authentication checks know what to leave out) and extra headers."""
    if who == "operator":
        auth = f'[auth.openapi.bearerAuth]\nbearer = "{web.keys["operator"]}"\n'
        headers: list[str] = []
    else:
        assert (await login(web.client, "admin")).status == 303
        token = csrf_from(await (await web.client.get("/account")).text())
        cookie = next(c.value for c in web.client.session.cookie_jar if c.key == SESSION_COOKIE)
        auth = f'[auth.openapi.sessionCookie]\napi_key = "{cookie}"\n'
        headers = ["--header", f"X-CSRF-Token: {token}"]
    config = folder / "schemathesis.toml"
    config.write_text(auth + "\n" + CONFIG.read_text())
    return config, headers


@pytest.mark.timeout(180)
@pytest.mark.parametrize("who", ["operator", "admin"])
async def test_every_check_passes(web: WebEnv, tmp_path: Path, who: str) -> None:
    url = str(web.client.make_url("/api/openapi.json"))
    config, headers = await credentials(web, who, tmp_path)
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        url,
        "--checks",
        "all",
        "--max-examples",
        "15",
        "--seed",
        "1",
        *headers,
        # The admin's own password and session: changing it would end the run's session.
        "--exclude-operation-id",
        "changeOwnPassword",
        "--request-timeout",
        "20",
        # A bound on the run's time (seconds) that cuts the generated phases short: runs of
        # 200 s for each role found nothing these did not.
        "--max-time",
        "60",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 150)
    finally:
        if process.returncode is None:  # past the deadline: never leave it running
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-8000:]
    assert "passed" in text.lower()

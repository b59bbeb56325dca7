"""An app with every request "slow" and no metrics allow-list."""

from __future__ import annotations

from typing import Any

import pytest

from gatewayd.config import Settings
from tests.integration.web.conftest import LogCapture, WebEnv
from webui.options import WebOptions, options_from_settings


@pytest.fixture
def web_options() -> Any:
    def make(settings: Settings) -> WebOptions:
        return options_from_settings(
            settings, run_dispatcher=False, slow_request_ms=0, metrics_allow=()
        )

    return make


async def test_metrics_need_login_outside_the_allow_list(web: WebEnv) -> None:
    assert (await web.client.get("/metrics")).status == 401
    assert (await web.client.get("/api/metrics")).status == 401
    assert (await web.client.get("/api/metrics", headers=web.bearer("viewer"))).status == 200


async def test_slow_request_is_logged(web: WebEnv, log_capture: LogCapture) -> None:
    await web.client.get("/api/health")
    slow = log_capture.events("Slow request")
    assert slow and slow[-1]["path"] == "/api/health"
    assert {"method", "status", "duration_ms"} <= set(slow[-1])

"""A test that turns the product's JSON logging on leaves nothing behind: a module logger used
meanwhile still reaches ``capture_logs`` in the tests after it, even when another test turned
the logging on again in between (each time with a new processor list)."""

from __future__ import annotations

import json
from pathlib import Path

import structlog
from structlog.testing import capture_logs

from tests.support.json_logs import json_logs

module_log = structlog.get_logger("tests.json_logs_probe")


def test_a_logger_used_while_json_logs_were_on_is_captured_afterwards(tmp_path: Path) -> None:
    with json_logs(tmp_path / "first.log") as path:
        module_log.bind(modem="m0").warning("During")
    assert json.loads(path.read_text())["event"] == "During"
    with json_logs(tmp_path / "second.log"):
        pass
    with capture_logs() as logs:
        module_log.bind(modem="m0").warning("After")
    assert [entry["event"] for entry in logs] == ["After"]

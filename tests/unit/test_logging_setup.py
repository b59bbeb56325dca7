"""Logging: one JSON object per line, stable event texts, stdlib records included, a file that
is appended to and reopened after rotation."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from gatewayd.logging_setup import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    structlog_config = structlog.get_config()
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    structlog.configure(**structlog_config)
    logging.captureWarnings(False)


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_structlog_and_stdlib_records_are_json_lines_in_the_file(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "app.log"
    configure_logging(log_file)

    structlog.get_logger("gatewayd.web").warning("Slow request", path="/api/v1/messages", ms=812)
    logging.getLogger("aiohttp.access").info("GET %s %d", "/login", 200)
    structlog.get_logger("gatewayd.web").debug("Not shown at INFO")

    first, second = read_lines(log_file)
    assert list(first)[:4] == ["timestamp", "level", "logger", "event"]
    assert first["event"] == "Slow request" and first["ms"] == 812
    assert first["level"] == "warning" and first["logger"] == "gatewayd.web"
    assert first["timestamp"].endswith("Z") and "T" in first["timestamp"]
    assert second["event"] == "GET /login 200" and second["logger"] == "aiohttp.access"


def test_file_is_appended_and_exceptions_stay_on_one_line(tmp_path: Path) -> None:
    log_file = tmp_path / "app.log"
    log_file.write_text('{"event": "earlier"}\n', encoding="utf-8")
    configure_logging(str(log_file), level="debug")
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        structlog.get_logger("t").exception("Failed login", username="ana", client="10.0.0.5")

    earlier, failed = read_lines(log_file)
    assert earlier == {"event": "earlier"}
    assert failed["event"] == "Failed login" and failed["username"] == "ana"
    assert "ValueError: bad\nthing" in failed["exception"]


def test_file_moved_by_logrotate_is_reopened(tmp_path: Path) -> None:
    log_file = tmp_path / "app.log"
    configure_logging(log_file)
    structlog.get_logger("t").info("Before rotation")
    log_file.rename(tmp_path / "app.log.1")

    structlog.get_logger("t").info("After rotation")

    assert [line["event"] for line in read_lines(log_file)] == ["After rotation"]
    assert [line["event"] for line in read_lines(tmp_path / "app.log.1")] == ["Before rotation"]


def test_stderr_when_no_file(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(None)
    structlog.get_logger("t").info("Started", modems=2)
    err = capsys.readouterr().err
    assert json.loads(err.strip())["event"] == "Started"


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log level must be one of"):
        configure_logging(None, level="chatty")

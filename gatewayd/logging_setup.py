"""Logging for every gatewayd and webui process: JSON lines through structlog.

:func:`configure_logging` is called once, in ``main()``. Each line is one JSON object with
``timestamp`` (ISO 8601, UTC), ``level``, ``logger`` and ``event`` — a stable text such as
``"Slow request"`` or ``"Failed login"`` that operators grep for — plus the call's key/values.
Records from the standard ``logging`` module (asyncio, aiohttp, alembic…) are rendered the same
way. With a file, lines are appended and the file is reopened when logrotate moves it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import structlog
from structlog.types import Processor

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LEADING_KEYS = ("timestamp", "level", "logger", "event")


def configure_logging(log_file: str | Path | None, level: str = "INFO") -> None:
    """Send all logs, as JSON lines, to ``log_file`` (appended) or to stderr when None."""
    level_name = level.upper()
    if level_name not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.stdlib.ExtraAdder(),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _leading_keys_first,
            structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
        ],
    )
    handler = _handler(Path(log_file) if log_file else None)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_name)
    logging.captureWarnings(True)


def _leading_keys_first(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Put ``timestamp``, ``level``, ``logger`` and ``event`` first on every line."""
    leading = {key: event_dict.pop(key) for key in LEADING_KEYS if key in event_dict}
    return {**leading, **event_dict}


def _handler(log_file: Path | None) -> logging.Handler:
    if log_file is None:
        return logging.StreamHandler(sys.stderr)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.WatchedFileHandler(log_file, mode="a", encoding="utf-8")

"""The product's JSON logging turned on for one test, and everything it changed put back.

:func:`gatewayd.logging_setup.configure_logging` caches each logger on first use (right for a
process that configures logging once). In a test worker that runs many tests, a module's
logger cached while one test's logging was on would keep that test's processors for the rest
of the worker, and ``structlog.testing.capture_logs`` in a later test would no longer see its
lines. So here the loggers are not cached, and structlog, the root handlers and the level are
restored afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from gatewayd.logging_setup import configure_logging


@contextmanager
def json_logs(path: Path, level: str = "INFO") -> Iterator[Path]:
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    before = structlog.get_config()
    configure_logging(path, level)
    structlog.configure(cache_logger_on_first_use=False)
    try:
        yield path
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(root_level)
        structlog.configure(**before)
        logging.captureWarnings(False)

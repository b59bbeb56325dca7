"""No garbage collection while pytest writes a test's report (a pytest plugin, loaded by
``tests/conftest.py``).

On Python 3.11 the AST constructor keeps its recursion depth in state shared by every call,
so an ``ast.parse`` that runs inside another one (from a finalizer, which the collector may run
at any allocation) makes the outer one raise ``SystemError: AST constructor recursion depth
mismatch``. pytest parses the test's source to show a failure; a test that failed on a
deadline often leaves an asyncio subprocess transport behind, whose finalizer reports "Event
loop is closed", and formatting that report parses too. The ``SystemError`` then escapes from
the report and ends the whole run (under xdist: ``INTERNALERROR``, the worker's tests lost).
With the collector paused while the report is made, the finalizers run after it instead.
"""

from __future__ import annotations

import gc
from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport() -> Generator[None, pytest.TestReport, pytest.TestReport]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        return (yield)
    finally:
        if enabled:
            gc.enable()

"""The only skips the suite allows: :mod:`tests.skip_guard` fails the run on any other.

A test may skip only where what it checks cannot exist on that platform (a PostgreSQL-only
setting when the same test runs on SQLite); never because a tool, a server or a package is
missing (that fails, naming the package: :mod:`tests.support.tools`). Each entry names the
test exactly (its node id, parameters included) and the skip's reason exactly, so another
skip of the same test still fails. docs/testing.md lists these entries; keep both in step.

An expected failure is allowed only as ``pytest.mark.xfail(strict=True, reason=...)`` with a
reason naming where the gap is written down: it fails the run as soon as the test passes, so
it cannot hide anything. A non-strict xfail, an xfail without a reason or a ``pytest.xfail()``
call inside a test fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AllowedSkip:
    node: str
    """The test's node id, relative to the repository (``path::name[params]``)."""
    reason: str
    """The skip's reason, as the test gives it."""
    why: str
    """Why skipping there is right."""


ALLOWED_SKIPS: tuple[AllowedSkip, ...] = (
    AllowedSkip(
        node="tests/integration/store/test_migrations.py::"
        "test_queue_tables_are_vacuumed_after_a_fixed_number_of_changes[sqlite]",
        reason="autovacuum settings exist on PostgreSQL only",
        why="SQLite has no autovacuum settings per table; the same test runs on PostgreSQL",
    ),
)

"""The schema head every command checks against is the one Alembic finds in the scripts (the
check itself reads it without loading Alembic)."""

from __future__ import annotations

from gatewayd.store import migrate as migrations


def test_the_head_revision_named_in_code_is_alembics_head() -> None:
    assert migrations.scripts_head_revision() == migrations.HEAD_REVISION
    assert migrations.head_revision() == migrations.HEAD_REVISION

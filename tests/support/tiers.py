"""The tier markers: every test is marked with its tier, the name of its folder under ``tests/``.

:data:`TIERS` are the folders that hold tests, fastest first; ``pyproject.toml`` declares a
marker for each, so ``pytest -m unit`` or ``pytest -m "not browser"`` select by tier.
:func:`mark_by_folder` (called by ``tests/conftest.py`` before pytest deselects by marker)
adds the marker and refuses a test outside a tier folder or marked with another tier, so the
tiers split the suite with no overlap. Under pytest-xdist (``--dist loadgroup``) the tests of a
tier in :data:`ONE_WORKER` all run on one worker, so that the servers they share for the whole
tier start once. docs/testing.md describes the tiers.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

TIERS = ("unit", "integration", "acceptance", "faults", "peers", "browser", "ops")
ONE_WORKER = frozenset({"browser"})
"""Tiers whose tests share package-scoped servers (the product and Chromium)."""


def tier_of(path: Path, tests: Path) -> str | None:
    """The tier folder ``path`` lies in under ``tests``, or None."""
    try:
        folder = path.relative_to(tests).parts[0]
    except (ValueError, IndexError):
        return None
    return folder if folder in TIERS else None


def mark_by_folder(items: Iterable[pytest.Item], tests: Path) -> None:
    """Mark each item with its folder's tier; a usage error names every test that is not in
    a tier folder or carries another tier's marker."""
    problems = []
    for item in items:
        tier = tier_of(item.path, tests)
        if tier is None:
            problems.append(f"{item.nodeid}: not in a tier folder ({', '.join(TIERS)})")
            continue
        others = sorted({m.name for m in item.iter_markers() if m.name in TIERS} - {tier})
        if others:
            problems.append(f"{item.nodeid}: in tests/{tier} but marked {', '.join(others)}")
        item.add_marker(getattr(pytest.mark, tier))
        if tier in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(tier))
    if problems:
        raise pytest.UsageError("tier markers:\n" + "\n".join(problems))

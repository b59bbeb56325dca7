"""How the pytest-xdist workers share the tests (``--dist loadgroup``, ``scripts/test.sh``).

**One worker for a tier in** :data:`tests.support.tiers.ONE_WORKER` (the browser tier: one
product and one Chromium for all its tests). xdist groups the tests marked ``xdist_group(name)``
by writing ``@name`` into their node ids, which pytest 9.2's structured node ids silently
ignore (pytest-xdist issue #1386): the browser tests went to every worker, and each worker
started its own product and Chromium. :class:`TierGroupScheduling` groups them by their folder
instead, and keeps xdist's grouping for everything else.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling

from tests.support.tiers import ONE_WORKER, TIERS


def tier_of_node_id(node_id: str) -> str | None:
    """The tier folder of a node id such as ``tests/browser/test_x.py::test_y``."""
    parts = node_id.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" and parts[1] in TIERS else None


class TierGroupScheduling(LoadGroupScheduling):
    """xdist's ``loadgroup``, with each tier of :data:`ONE_WORKER` one unit of work."""

    def _split_scope(self, nodeid: str) -> str:
        tier = tier_of_node_id(nodeid)
        if tier in ONE_WORKER:
            return f"tier:{tier}"
        return super()._split_scope(nodeid)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") == "loadgroup":
        return TierGroupScheduling(config, log)
    return None

"""The image's entrypoint and schema changes, with the real ``gatewayd migrate`` on SQLite:
gatewayd's container migrates before it runs (``SMSGW_MIGRATE_ON_START=1``); web's waits for a
current schema (``SMSGW_WAIT_FOR_SCHEMA``) and, when it never comes, exits 1 with one line
instead of running on a schema older than its code."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.ops.helpers import REPO, VENV_BIN

pytestmark = pytest.mark.ops


def entrypoint(
    tmp_path: Path, command: list[str], **settings: str
) -> subprocess.CompletedProcess[str]:
    # outside the image: no root-only steps (chown, switching to smsgw)
    script = tmp_path / "entrypoint.sh"
    script.write_text(
        (REPO / "docker/entrypoint.sh").read_text().replace('[ "$(id -u)" = 0 ]', "false")
    )
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    env |= {
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "SMSGW_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "SMSGW_DATA_DIR": str(tmp_path / "data"),
        **settings,
    }
    return subprocess.run(
        [str(script), *command], capture_output=True, text=True, env=env, timeout=180
    )


def test_web_waits_for_the_schema_and_gatewayd_migrates_it(tmp_path: Path) -> None:
    started = ["sh", "-c", "echo started"]
    waited = entrypoint(tmp_path, started, SMSGW_WAIT_FOR_SCHEMA="1")
    assert waited.returncode == 1
    assert waited.stdout == ""
    assert waited.stderr.strip().endswith(
        "schema not current after 1s: gatewayd migrates it when it starts "
        "(is it running, and as new as this image?)"
    )

    migrated = entrypoint(tmp_path, started, SMSGW_MIGRATE_ON_START="1")
    assert migrated.returncode == 0, migrated.stderr
    assert "schema created at revision" in migrated.stdout
    assert migrated.stdout.endswith("started\n")

    ready = entrypoint(tmp_path, started, SMSGW_WAIT_FOR_SCHEMA="1")
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout == "started\n"

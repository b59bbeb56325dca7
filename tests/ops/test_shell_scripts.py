"""The operations shell scripts pass shellcheck and answer --help."""

from __future__ import annotations

import subprocess

import pytest

from tests.ops.helpers import REPO, SCRIPTS, require

pytestmark = pytest.mark.ops

OPS_SCRIPTS = [
    SCRIPTS / "backup.sh",
    SCRIPTS / "monitor.sh",
    SCRIPTS / "install.sh",
    SCRIPTS / "make-self-signed-cert.sh",
    SCRIPTS / "make-secrets.sh",
    SCRIPTS / "pin-images.sh",
]
CONTAINER_SCRIPTS = sorted((REPO / "docker").glob("*.sh"))


def test_shellcheck_is_clean() -> None:
    shellcheck = require("shellcheck")
    result = subprocess.run(
        [shellcheck, *map(str, OPS_SCRIPTS + CONTAINER_SCRIPTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", OPS_SCRIPTS, ids=lambda p: p.name)
def test_help(script: object) -> None:
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "scripts/" in result.stdout
    assert "set -" not in result.stdout  # the header comment only, not the code after it

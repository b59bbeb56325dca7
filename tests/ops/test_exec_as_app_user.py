"""``docker-compose exec web webui …`` starts as root; the image's command wrapper runs it as
the application's user, so a log file it (re)creates stays the service's and "Failed login"
lines keep reaching ``logs/app.log``. Run here as root with the wrapper pointing at this
checkout's virtualenv and ``nobody`` standing in for the image's ``smsgw``."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.helpers import REPO, VENV_BIN

pytestmark = pytest.mark.ops

APP_USER = "nobody"


@pytest.fixture
def deployment() -> Iterator[Path]:
    """A folder the stand-in user can reach (pytest's own tmp folders are root's alone)."""
    if os.geteuid() != 0:
        pytest.fail("this test plays docker-compose exec, which runs commands as root")
    folder = Path(tempfile.mkdtemp(prefix="smsgw-exec-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        app = pwd.getpwnam(APP_USER)
        for name in ("logs", "data"):
            (folder / name).mkdir()
            os.chown(folder / name, app.pw_uid, app.pw_gid)
        wrapper = folder / "bin" / "gatewayd"
        wrapper.parent.mkdir()
        text = (REPO / "docker/command-wrapper.sh").read_text()
        wrapper.write_text(text.replace("/opt/sms-gateway/venv/bin", str(VENV_BIN)))
        wrapper.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_command_run_as_root_leaves_the_log_file_to_the_app_user(deployment: Path) -> None:
    log = deployment / "logs" / "app.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    env |= {
        "SMSGW_APP_USER": APP_USER,
        "SMSGW_LOG_FILE": str(log),
        "SMSGW_DATA_DIR": str(deployment / "data"),
        "SMSGW_DATABASE_URL": f"sqlite:///{deployment / 'data' / 'gateway.db'}",
    }
    result = subprocess.run(
        [str(deployment / "bin" / "gatewayd"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert log.stat().st_uid == pwd.getpwnam(APP_USER).pw_uid
    assert '"Schema migrated"' in log.read_text()
    # the service, running as the app user, still appends its lines
    appended = subprocess.run(
        [
            "setpriv",
            f"--reuid={APP_USER}",
            f"--regid={pwd.getpwnam(APP_USER).pw_gid}",
            "--init-groups",
            "sh",
            "-c",
            f'echo \'{{"event": "Failed login"}}\' >> {log}',
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert appended.returncode == 0, appended.stderr
    assert log.read_text().endswith('{"event": "Failed login"}\n')

    # SMSGW_RUN_AS_ROOT=1 is the deliberate way to stay root
    as_root = subprocess.run(
        [str(deployment / "bin" / "gatewayd"), "migrate", "--check"],
        env={**env, "SMSGW_RUN_AS_ROOT": "1", "SMSGW_LOG_FILE": str(deployment / "root.log")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert as_root.returncode == 0, as_root.stderr
    assert (deployment / "root.log").stat().st_uid == 0

"""ops/alerts.yml: valid for promtool, and its unit tests (tests/ops/alerts_test.yml) fire
each runbook alert on made-up series and stay quiet below the thresholds."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.ops.helpers import REPO, require

pytestmark = pytest.mark.ops

PROMTOOL = require("promtool")
RULES = REPO / "ops" / "alerts.yml"


def test_rules_pass_promtool_check() -> None:
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rules_fire_as_the_unit_tests_expect() -> None:
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(REPO / "tests/ops/alerts_test.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_runbook_alert_is_there_with_its_severity() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    severity = {rule["alert"]: rule["labels"]["severity"] for g in groups for rule in g["rules"]}
    critical = {
        "SmsGatewayAppDown",
        "SmsGatewayDatabaseDown",
        "HostDiskAlmostFull",
        "HostMemoryCritical",
    }
    warning = {"SmsGatewaySlowResponses", "SmsGatewayErrorRate", "HostCpuHigh", "HostMemoryHigh"}
    assert {name for name in critical if severity.get(name) == "critical"} == critical
    assert {name for name in warning if severity.get(name) == "warning"} == warning

"""Prometheus metrics that gatewayd itself counts (the web process exposes its own figures).

Registered on the default registry, so `prometheus_client.generate_latest()` in the process
that runs the modem workers includes them.
"""

from __future__ import annotations

from prometheus_client import Counter

MODEM_RECOVERY_STEPS = Counter(
    "smsgw_modem_recovery_steps_total",
    "Recovery steps taken per modem (probe, reinit, restart, usb_reset, quarantine).",
    ["modem", "step"],
)
LOW_BALANCE_ALERTS = Counter(
    "smsgw_low_balance_alerts_total",
    "Balance checks that found the SIM's credit below its configured threshold.",
    ["modem"],
)


def recovery_step_count(modem: str, step: str) -> float:
    """The current value of the recovery counter for one modem and step (for tests and CLI)."""
    return float(MODEM_RECOVERY_STEPS.labels(modem=modem, step=step)._value.get())

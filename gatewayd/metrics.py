"""Prometheus metrics that gatewayd itself counts (the web process exposes its own figures).

Registered on the default registry, so `prometheus_client.generate_latest()` in the process
that runs the modem workers includes them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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


GROUP_COMMIT_ITEMS = Histogram(
    "smsgw_group_commit_items",
    "Items done per group transaction (send steps of all modems; status reports).",
    ["group"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
GROUP_COMMIT_SECONDS = Histogram(
    "smsgw_group_commit_seconds",
    "Duration of group transactions.",
    ["group"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
)


def observe_group_commit(group: str, items: int, seconds: float) -> None:
    """A committed group transaction (the ``observe`` of gatewayd's group commits)."""
    GROUP_COMMIT_SECONDS.labels(group).observe(seconds)
    GROUP_COMMIT_ITEMS.labels(group).observe(items)


LEASE_RENEWAL_FAILURES = Counter(
    "smsgw_lease_renewal_failures_total",
    "Renewals of this gatewayd host's lease that failed (database unavailable or too slow).",
)
LEASE_LOSSES = Counter(
    "smsgw_lease_losses_total",
    "Times this gatewayd host found its lease taken over by another host and rejoined.",
)
TAKEOVERS = Counter(
    "smsgw_lease_takeovers_total",
    "Hosts whose work this gatewayd host took over after their lease expired.",
    ["host"],
)
TAKEOVER_PARTS_UNKNOWN = Counter(
    "smsgw_lease_takeover_unknown_parts_total",
    "Parts made unknown by this host's takeovers (the dead host may have sent them).",
)
TAKEOVER_MESSAGES_REQUEUED = Counter(
    "smsgw_lease_takeover_requeued_messages_total",
    "Messages given back to the queue by this host's takeovers.",
)

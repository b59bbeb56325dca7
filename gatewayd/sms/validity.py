"""Relative validity period (TS 23.040 §9.2.3.12.1): minutes <-> the one-octet TP-VP."""

from __future__ import annotations

from bisect import bisect_left


def _minutes_of(vp: int) -> int:
    if vp <= 143:
        return (vp + 1) * 5
    if vp <= 167:
        return 12 * 60 + (vp - 143) * 30
    if vp <= 196:
        return (vp - 166) * 24 * 60
    return (vp - 192) * 7 * 24 * 60


VP_MINUTES: tuple[int, ...] = tuple(_minutes_of(vp) for vp in range(256))
MAX_VALIDITY_MINUTES = VP_MINUTES[-1]


def relative_vp(minutes: int) -> int:
    """The smallest TP-VP lasting at least ``minutes`` (so a message never expires early)."""
    if not 1 <= minutes <= MAX_VALIDITY_MINUTES:
        raise ValueError(
            f"validity of {minutes} minutes is outside 1-{MAX_VALIDITY_MINUTES} (63 weeks)"
        )
    return bisect_left(VP_MINUTES, minutes)


def vp_minutes(vp: int) -> int:
    """Minutes a relative TP-VP octet stands for."""
    return VP_MINUTES[vp]

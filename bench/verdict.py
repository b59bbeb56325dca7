"""Verdicts against the targets, from repeated runs: the median of the unrounded per-run figures
(at least :data:`MIN_RUNS` of them), with their spread (min..max) shown beside it.

Nothing here rounds: a figure is rounded only where it is printed, after the verdict was taken.
Fewer runs than :data:`MIN_RUNS` give no verdict (``None``), whatever the figure.

::

    spread = Spread.of([0.981, 0.979, 0.983])
    spread.text(3)                       # "0.981 (0.979..0.983, 3 runs)"
    at_least([0.981, 0.979, 0.983], 0.98)  # True: the median 0.981 is >= 0.98
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIN_RUNS = 3
"""Fewest runs a verdict is taken from."""


@dataclass(frozen=True)
class Spread:
    """The per-run values of one figure: their median and their range."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        kept = tuple(float(v) for v in values)
        if not kept:
            raise ValueError("no runs")
        if any(math.isnan(v) for v in kept):
            raise ValueError("a run has no figure (NaN)")
        return cls(kept)

    @property
    def runs(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def text(self, digits: int = 3, *, thousands: bool = False, unit: str = "") -> str:
        """``median<unit> (min..max, n runs)``, each with ``digits`` decimals (``1,234`` style
        with ``thousands``)."""
        form = f",.{digits}f" if thousands else f".{digits}f"
        if self.runs == 1:
            return f"{self.median:{form}}{unit} (1 run)"
        return (
            f"{self.median:{form}}{unit} ({self.low:{form}}..{self.high:{form}}, {self.runs} runs)"
        )


def at_least(values: Sequence[float], target: float) -> bool | None:
    """Whether the median of ``values`` reaches ``target``; None under :data:`MIN_RUNS` runs."""
    if len(values) < MIN_RUNS:
        return None
    return Spread.of(values).median >= target


def below(values: Sequence[float], limit: float) -> bool | None:
    """Whether the median of ``values`` stays under ``limit``; None under :data:`MIN_RUNS`."""
    if len(values) < MIN_RUNS:
        return None
    return Spread.of(values).median < limit


def above(values: Sequence[float], floor: float) -> bool | None:
    """Whether the median of ``values`` is strictly over ``floor`` (e.g. "faster than": a ratio
    over 1); None under :data:`MIN_RUNS` runs."""
    if len(values) < MIN_RUNS:
        return None
    return Spread.of(values).median > floor


def all_of(verdicts: Iterable[bool | None]) -> bool | None:
    """Several verdicts as one: None if any is None, else whether all are met."""
    collected = list(verdicts)
    if any(v is None for v in collected):
        return None
    return all(collected)


def verdict_text(met: bool | None, runs: int) -> str:
    """How the report prints a verdict."""
    if met is None:
        return f"no verdict ({runs} run{'s' if runs != 1 else ''}; {MIN_RUNS} needed)"
    return "**met**" if met else "**missed**"

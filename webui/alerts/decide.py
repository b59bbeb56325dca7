"""What to do with one alert now, from its state and whether its condition holds: pure.

- The condition holds and the alert is not active: with a hold time (``modem_offline``: the
  seconds a modem may be down before it counts), the first sighting only marks it pending
  and it is raised once it has held that long; otherwise it is raised at once.
- It holds and the alert is active: it is sent again (``repeat``) once the quiet period since
  the last notification is over, else nothing.
- It does not hold: an active alert is cleared; a pending one forgets its start.

A raise is notified unless the same alert was notified within the quiet period (a flapping
modem gives one mail per quiet period, not one per flap); a clear is notified only when the
raise it ends (or a repeat of it) was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Step(StrEnum):
    NONE = "none"
    PENDING = "pending"
    """The condition is seen for the first time: remember since when."""
    FORGET = "forget"
    """A pending condition no longer holds."""
    RAISE = "raised"
    REPEAT = "repeated"
    CLEAR = "cleared"


@dataclass(frozen=True)
class AlertState:
    active: bool = False
    pending_since: datetime | None = None
    raised_at: datetime | None = None
    notified_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    step: Step
    notify: bool = False


NOTHING = Decision(Step.NONE)


def quiet_over(state: AlertState, quiet: float, now: datetime) -> bool:
    return state.notified_at is None or now - state.notified_at >= timedelta(seconds=quiet)


def decide(state: AlertState, holds: bool, *, hold: float, quiet: float, now: datetime) -> Decision:
    if holds and not state.active:
        if hold > 0:
            if state.pending_since is None:
                return Decision(Step.PENDING)
            if now - state.pending_since < timedelta(seconds=hold):
                return NOTHING
        return Decision(Step.RAISE, notify=quiet_over(state, quiet, now))
    if holds:
        return Decision(Step.REPEAT, notify=True) if quiet_over(state, quiet, now) else NOTHING
    if state.active:
        notified = (
            state.notified_at is not None
            and state.raised_at is not None
            and state.notified_at >= state.raised_at
        )
        return Decision(Step.CLEAR, notify=notified)
    if state.pending_since is not None:
        return Decision(Step.FORGET)
    return NOTHING

"""The send queue: enqueue and cancel (:mod:`.enqueue`), claims and crash recovery
(:mod:`.claim`), and the progress of claimed messages through their parts (:mod:`.progress`).

All functions take an open ``AsyncConnection`` inside the caller's transaction, so the caller
decides what commits together.
"""

from gatewayd.queue.claim import (
    ClaimedMessage,
    ClaimedPart,
    ClaimedRow,
    Claimer,
    GroupClaim,
    Recovery,
    claim_due,
    claim_for_modems,
    recover_after_crash,
    with_parts,
)
from gatewayd.queue.enqueue import (
    CannotCancel,
    InvalidMessage,
    NewMessage,
    PreparedMessage,
    cancel,
    enqueue,
    prepare,
)
from gatewayd.queue.progress import StatusChange, roll_up

__all__ = [
    "CannotCancel",
    "ClaimedMessage",
    "ClaimedPart",
    "ClaimedRow",
    "Claimer",
    "GroupClaim",
    "InvalidMessage",
    "NewMessage",
    "PreparedMessage",
    "Recovery",
    "StatusChange",
    "cancel",
    "claim_due",
    "claim_for_modems",
    "enqueue",
    "prepare",
    "recover_after_crash",
    "roll_up",
    "with_parts",
]

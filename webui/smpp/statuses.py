"""The SMPP server's mappings, as tables: refused binds and refused sends to ``command_status``,
our message statuses to ``message_state`` and receipt ``stat:`` words. docs/smpp.md prints
them; a test checks every service error code and message status has an entry.
"""

from __future__ import annotations

from gatewayd.smpp.constants import CommandStatus, MessageState
from gatewayd.smpp.receipt import ReceiptStat
from gatewayd.store import MessageStatus
from webui.services.errors import BindRefused, QuotaExceeded, ServiceError, Throttled

S = CommandStatus

BIND_STATUS: dict[str, CommandStatus] = {
    "unknown_system_id": S.ESME_RINVSYSID,
    "wrong_password": S.ESME_RINVPASWD,
    "revoked": S.ESME_RBINDFAIL,
    "network_not_allowed": S.ESME_RBINDFAIL,
    "locked_out": S.ESME_RBINDFAIL,
}
"""A refused bind (:class:`~webui.services.errors.BindRefused` reason) to its status."""

SEND_STATUS: dict[str, CommandStatus] = {
    "rate_limited": S.ESME_RTHROTTLED,
    "quota_exceeded": S.ESME_RMSGQFUL,
    "invalid_number": S.ESME_RINVDSTADR,
    "invalid_recipients": S.ESME_RINVDSTADR,
    "no_recipients": S.ESME_RINVNUMDESTS,
    "too_many_recipients": S.ESME_RINVNUMDESTS,
    "empty_text": S.ESME_RINVMSGLEN,
    "text_too_long": S.ESME_RINVMSGLEN,
    "invalid_text": S.ESME_RSUBMITFAIL,
    "invalid_part": S.ESME_RINVOPTPARAMVAL,
    "invalid_send_at": S.ESME_RINVSCHED,
    "invalid_validity": S.ESME_RINVEXPIRY,
    "invalid_priority": S.ESME_RINVPRTFLG,
    "unknown_modem": S.ESME_RSUBMITFAIL,
    "modem_not_allowed": S.ESME_RSUBMITFAIL,
    "opted_out": S.ESME_RX_R_APPN,
}
"""A refused send (the service error's ``code``, the public API's error codes) to its status;
a code not listed is ``ESME_RSUBMITFAIL``."""


def bind_status(refused: BindRefused) -> CommandStatus:
    return BIND_STATUS.get(refused.reason, S.ESME_RBINDFAIL)


def send_status(error: ServiceError) -> CommandStatus:
    """The status a submit refused by the sending service is answered with."""
    if isinstance(error, Throttled):
        return S.ESME_RTHROTTLED
    if isinstance(error, QuotaExceeded):
        return S.ESME_RMSGQFUL
    return SEND_STATUS.get(error.code, S.ESME_RSUBMITFAIL)


MESSAGE_STATE: dict[str, MessageState] = {
    MessageStatus.QUEUED: MessageState.ENROUTE,
    MessageStatus.SENDING: MessageState.ENROUTE,
    MessageStatus.SENT: MessageState.ENROUTE,
    MessageStatus.DELIVERED: MessageState.DELIVERED,
    MessageStatus.FAILED: MessageState.UNDELIVERABLE,
    MessageStatus.EXPIRED: MessageState.EXPIRED,
    MessageStatus.CANCELLED: MessageState.DELETED,
    MessageStatus.UNKNOWN: MessageState.UNKNOWN,
}
"""Our message status to SMPP's ``message_state`` (query_sm_resp, receipts). A failed message
no modem ever got out (the network refused it at submit, or it ran out of attempts) is
``REJECTED`` instead: see :func:`message_state`."""

RECEIPT_STAT: dict[MessageState, ReceiptStat] = {
    MessageState.ENROUTE: ReceiptStat.ENROUTE,
    MessageState.DELIVERED: ReceiptStat.DELIVRD,
    MessageState.EXPIRED: ReceiptStat.EXPIRED,
    MessageState.DELETED: ReceiptStat.DELETED,
    MessageState.UNDELIVERABLE: ReceiptStat.UNDELIV,
    MessageState.ACCEPTED: ReceiptStat.ACCEPTD,
    MessageState.UNKNOWN: ReceiptStat.UNKNOWN,
    MessageState.REJECTED: ReceiptStat.REJECTD,
}

FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.CANCELLED,
        MessageStatus.UNKNOWN,
    }
)
"""Statuses a receipt is sent for. ``unknown`` is final as far as the client can know (the
part may still be settled by a late status report, which then sends a second receipt)."""


def message_state(status: str, *, ever_sent: bool) -> MessageState:
    """``message_state`` of a message in ``status``; ``ever_sent``: some part of it reached
    the network (its ``sent_at`` is set)."""
    if status == MessageStatus.FAILED and not ever_sent:
        return MessageState.REJECTED
    return MESSAGE_STATE.get(status, MessageState.UNKNOWN)


def receipt_stat(state: MessageState) -> ReceiptStat:
    return RECEIPT_STAT[state]


def wants_receipt(registered_delivery: int, state: MessageState) -> bool:
    """Whether a client that sent ``registered_delivery`` gets a receipt for ``state``:
    1 any final state, 2 only a failure (anything but delivered)."""
    wanted = registered_delivery & 0x03
    if wanted == 1:
        return True
    return wanted == 2 and state is not MessageState.DELIVERED

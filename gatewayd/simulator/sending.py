"""What happens after Ctrl-Z: checking the PDU of AT+CMGS / AT+CMGW and handing it on.

``AT+CMGS=<n>`` counts the TPDU octets only; the SMSC field in front (``00`` or a full address)
is not counted, and a wrong ``n`` is ``+CMS ERROR: 304``. A good SMS-SUBMIT goes to the network,
which answers after the modem's latency with ``+CMGS: <mr>``; the message reference counts
0..255 per modem.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

from gatewayd.simulator.state import PromptRequest, Submission, SubmissionRejected
from gatewayd.sms import Concat, PduError, Submit, choose_encoding, decode_pdu

if TYPE_CHECKING:
    from gatewayd.simulator.device import SimulatedModem

OPERATION_NOT_SUPPORTED = 303
INVALID_PDU = 304
SIM_PIN_REQUIRED = 311
MEMORY_FULL = 322
NO_NETWORK = 331
_HEX_DIGITS = frozenset(string.hexdigits)
_PDU_WHITESPACE = str.maketrans("", "", " \r\n\t")


def _tpdu_length_matches(octets: bytes, declared: int) -> bool:
    if not octets:
        return False
    smsc_octets = octets[0]
    return len(octets) - 1 - smsc_octets == declared


def _pdu_text(payload: bytes) -> str | None:
    text = payload.decode("latin-1").translate(_PDU_WHITESPACE).upper()
    if not text or len(text) % 2 or not set(text) <= _HEX_DIGITS:
        return None
    return text


def finish_prompt(modem: SimulatedModem, prompt: PromptRequest, payload: bytes) -> None:
    """Ctrl-Z arrived after ``payload``: store, send, or refuse."""
    if modem.settings.cmgf == 1:
        _finish_text(modem, prompt, payload)
        return
    pdu = _pdu_text(payload)
    if pdu is None or not _tpdu_length_matches(bytes.fromhex(pdu), prompt.length):
        modem.final_now(f"+CMS ERROR: {INVALID_PDU}")
        return
    if prompt.command == "+CMGW":
        index = modem.storages[modem.settings.mem2].store(pdu, prompt.length, prompt.store_status)
        if index is None:
            modem.final_now(f"+CMS ERROR: {MEMORY_FULL}")
        else:
            modem.respond_now([f"+CMGW: {index}"], "OK")
        return
    try:
        decoded = decode_pdu(pdu)
    except PduError:
        modem.final_now(f"+CMS ERROR: {INVALID_PDU}")
        return
    if not isinstance(decoded, Submit):
        modem.final_now(f"+CMS ERROR: {INVALID_PDU}")
        return
    _send(
        modem,
        recipient=decoded.recipient,
        text=decoded.text,
        concat=decoded.concat,
        status_report=decoded.status_report_requested,
        encoding=decoded.encoding,
    )


def _finish_text(modem: SimulatedModem, prompt: PromptRequest, payload: bytes) -> None:
    text = payload.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    if prompt.command == "+CMGW":
        modem.final_now(f"+CMS ERROR: {OPERATION_NOT_SUPPORTED}")
        return
    _send(
        modem,
        recipient=prompt.recipient,
        text=text,
        concat=None,
        status_report=bool(modem.settings.csmp[0] & 0x20),
        encoding=choose_encoding(text),
    )


def _send(
    modem: SimulatedModem,
    *,
    recipient: str,
    text: str | None,
    concat: Concat | None,
    status_report: bool,
    encoding: str,
) -> None:
    if modem.sim_locked:
        modem.final_now(f"+CMS ERROR: {SIM_PIN_REQUIRED}")
        return
    if not modem.registered:
        modem.final_now(f"+CMS ERROR: {NO_NETWORK}")
        return
    faults = modem.faults
    if faults.cms_error_count > 0:
        faults.cms_error_count -= 1
        modem.answer_later([], f"+CMS ERROR: {faults.cms_error_code}")
        return
    submission = Submission(
        recipient=recipient,
        text=text,
        concat=concat,
        status_report=status_report,
        encoding=encoding,
        mr=modem.next_mr,
        submitted_at=modem.now(),
    )
    try:
        modem.uplink.accept_submission(modem, submission)
    except SubmissionRejected as rejected:
        modem.answer_later([], f"+CMS ERROR: {rejected.code}")
        return
    modem.take_mr()
    modem.answer_later(
        [f"+CMGS: {submission.mr}"],
        "OK",
        then=lambda: modem.uplink.submission_answered(modem, submission),
    )

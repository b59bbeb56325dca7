"""The ``deliver_sm`` PDUs the server sends: delivery receipts and incoming SMS, encoded with
sequence number 0 (the connection numbers each send). Pure: no I/O.

A receipt comes *from* the number the message went to and goes *to* the address the client
sent it from (with the TON/NPI the client used), ``esm_class`` 0x04, the customary text
(:mod:`gatewayd.smpp.receipt`, dates in UTC) and the TLVs ``receipted_message_id`` and
``message_state`` (plus ``network_error_code`` when a status report gave one).

An incoming SMS comes from its sender and goes to the name of the modem that received it.
Its text goes whole: in ``short_message`` when it fits one SMS, else in ``message_payload``;
or, for accounts that want parts, as parts with a concatenation header (``esm_class`` UDHI)
cut as the codec cuts any text, with the reference the message arrived with.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from gatewayd.smpp.codec import encode
from gatewayd.smpp.constants import ESM_TYPE_DELIVERY_RECEIPT, MessageState, Npi, Tag, Ton
from gatewayd.smpp.pdu import DeliverSm
from gatewayd.smpp.receipt import format_receipt
from gatewayd.smpp.text import DefaultAlphabet, encode_text
from gatewayd.smpp.tlv import Tlv
from webui.smpp.statuses import receipt_stat

ADDRESS_LENGTH = 20
"""Characters of an SMPP address (a C-octet string of 21 with its NUL)."""
GSM_NETWORK = 3
"""network_error_code's network type for GSM."""


def receipt_pdu(
    *,
    message_id: int,
    recipient: tuple[int, int, str],
    client: tuple[int, int, str],
    state: MessageState,
    submitted_at: datetime,
    done_at: datetime,
    error: int,
    text: str,
) -> bytes:
    """The receipt of message ``message_id``; ``recipient`` and ``client`` are (TON, NPI,
    address) of where it went and where it came from, as the client wrote them."""
    body = format_receipt(
        str(message_id),
        submit_date=submitted_at.astimezone(UTC),
        done_date=done_at.astimezone(UTC),
        stat=receipt_stat(state),
        err=min(max(error, 0), 999),
        text=text,
    )
    tlvs = [
        Tlv.cstr(Tag.RECEIPTED_MESSAGE_ID, str(message_id)),
        Tlv.u8(Tag.MESSAGE_STATE, int(state)),
    ]
    if error:
        tlvs.append(Tlv(Tag.NETWORK_ERROR_CODE, bytes((GSM_NETWORK,)) + error.to_bytes(2, "big")))
    pdu = DeliverSm(
        sequence_number=0,
        source_addr_ton=recipient[0],
        source_addr_npi=recipient[1],
        source_addr=recipient[2][:ADDRESS_LENGTH],
        dest_addr_ton=client[0],
        dest_addr_npi=client[1],
        destination_addr=client[2][:ADDRESS_LENGTH],
        esm_class=ESM_TYPE_DELIVERY_RECEIPT,
        data_coding=0,
        short_message=body.encode("ascii", "replace"),
        tlvs=tuple(tlvs),
    )
    return encode(pdu)


def sender_address(sender: str) -> tuple[int, int, str]:
    """(TON, NPI, address) of an incoming SMS's sender as our inbox keeps it: ``+`` digits
    international, digits alone unknown, anything else alphanumeric."""
    if sender.startswith("+") and sender[1:].isdigit():
        return Ton.INTERNATIONAL, Npi.ISDN, sender[1:]
    if sender.isascii() and sender.isdigit():
        return Ton.UNKNOWN, Npi.ISDN, sender
    name = sender.encode("latin-1", "replace").decode("latin-1")
    return Ton.ALPHANUMERIC, Npi.UNKNOWN, name[:ADDRESS_LENGTH]


def incoming_pdus(
    *,
    sender: str,
    modem: str,
    text: str,
    as_parts: bool,
    concat_ref: int | None,
    default_alphabet: DefaultAlphabet = "gsm",
) -> list[bytes]:
    """The deliver_sm of one incoming SMS (several when ``as_parts`` and it is long)."""
    if concat_ref is not None:
        ref = concat_ref & 0xFFFF
    else:
        ref = zlib.crc32(f"{sender}\0{text}".encode("utf-8", "surrogatepass")) & 0xFF
    encoded = encode_text(text, concat_ref=ref, default_alphabet=default_alphabet)
    if len(encoded.parts) > 1 and not as_parts:
        encoded = encode_text(text, concatenation="payload", default_alphabet=default_alphabet)
    ton, npi, address = sender_address(sender)
    destination = modem.encode("latin-1", "replace").decode("latin-1")[:ADDRESS_LENGTH]
    return [
        encode(
            DeliverSm(
                sequence_number=0,
                source_addr_ton=ton,
                source_addr_npi=npi,
                source_addr=address,
                dest_addr_ton=Ton.UNKNOWN,
                dest_addr_npi=Npi.UNKNOWN,
                destination_addr=destination,
                esm_class=part.esm_class,
                data_coding=encoded.data_coding,
                short_message=part.short_message,
                tlvs=part.tlvs,
            )
        )
        for part in encoded.parts
    ]

"""PDUs to bytes and back: :func:`encode` and :func:`decode`, driven by each PDU's field table.

:func:`decode` takes one whole frame (see :mod:`gatewayd.smpp.frames` for cutting a byte
stream into frames) and either returns a PDU or raises :class:`PduError` with the status to
answer; nothing else escapes it. A response whose body is empty decodes with NULL / 0 fields
(SMSCs omit the body of error responses, as §4.4.2 asks). :func:`encode` writes such a response
(non-zero status, no TLVs) without its body, as the specification asks.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from gatewayd.smpp.constants import (
    DEST_FLAG_DISTRIBUTION_LIST,
    DEST_FLAG_SME,
    FIXED_TLV_LENGTHS,
    HEADER_LENGTH,
    RESPONSE_BIT,
    CommandStatus,
)
from gatewayd.smpp.errors import EncodeError, PduError
from gatewayd.smpp.pdu import (
    CSTR,
    DESTINATIONS,
    PDU_TYPES,
    SHORT_MESSAGE,
    U8,
    BodyPdu,
    Destination,
    DistributionList,
    Field,
    Pdu,
    SmeAddress,
    UnsuccessSme,
)
from gatewayd.smpp.tlv import Tlv

S = CommandStatus
_HEADER = struct.Struct(">IIII")
_TLV_HEADER = struct.Struct(">HH")
_U32 = struct.Struct(">I")
_SME_ADDRESS_MAX = 21


class _Reader:
    """Reads one body; every failure becomes a PduError carrying the header's id and
    sequence number."""

    __slots__ = ("command_id", "data", "end", "pos", "sequence_number")

    def __init__(self, data: bytes, command_id: int, sequence_number: int) -> None:
        self.data = data
        self.pos = HEADER_LENGTH
        self.end = len(data)
        self.command_id = command_id
        self.sequence_number = sequence_number

    def fail(self, status: CommandStatus, message: str) -> PduError:
        return PduError(
            status,
            f"0x{self.command_id:08X}: {message}",
            command_id=self.command_id,
            sequence_number=self.sequence_number,
        )

    def u8(self, name: str) -> int:
        if self.pos >= self.end:
            raise self.fail(S.ESME_RINVCMDLEN, f"body ends before {name}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def octets(self, names: tuple[str, ...]) -> bytes:
        """One octet for each of ``names``."""
        pos = self.pos
        if pos + len(names) > self.end:
            raise self.fail(S.ESME_RINVCMDLEN, f"body ends before {names[self.end - pos]}")
        self.pos = pos + len(names)
        return self.data[pos : self.pos]

    def cstr(self, name: str, max_length: int, status: CommandStatus) -> str:
        pos, end = self.pos, self.end
        if pos >= end:
            raise self.fail(S.ESME_RINVCMDLEN, f"body ends before {name}")
        nul = self.data.find(0, pos, min(end, pos + max_length))
        if nul < 0:
            if pos + max_length <= end:
                raise self.fail(status, f"{name} is longer than {max_length - 1} octets")
            raise self.fail(status, f"{name} has no terminating NUL before the end of the body")
        self.pos = nul + 1
        return self.data[pos:nul].decode("latin-1")

    def short_message(self) -> bytes:
        length = self.u8("sm_length")
        start = self.pos
        if start + length > self.end:
            raise self.fail(
                S.ESME_RINVMSGLEN,
                f"sm_length {length} runs past the body ({self.end - start} octets left)",
            )
        self.pos = start + length
        return self.data[start : self.pos]

    def destinations(self) -> tuple[Destination, ...]:
        found: list[Destination] = []
        for _ in range(self.u8("number_of_dests")):
            flag = self.u8("dest_flag")
            if flag == DEST_FLAG_SME:
                ton, npi = self.u8("dest_addr_ton"), self.u8("dest_addr_npi")
                address = self.cstr("destination_addr", _SME_ADDRESS_MAX, S.ESME_RINVDSTADR)
                found.append(SmeAddress(ton, npi, address))
            elif flag == DEST_FLAG_DISTRIBUTION_LIST:
                found.append(DistributionList(self.cstr("dl_name", 21, S.ESME_RINVDLNAME)))
            else:
                raise self.fail(S.ESME_RINVDESTFLAG, f"dest_flag {flag} is neither 1 nor 2")
        return tuple(found)

    def unsuccessful(self) -> tuple[UnsuccessSme, ...]:
        found: list[UnsuccessSme] = []
        for _ in range(self.u8("no_unsuccess")):
            ton, npi = self.u8("dest_addr_ton"), self.u8("dest_addr_npi")
            address = self.cstr("destination_addr", _SME_ADDRESS_MAX, S.ESME_RINVDSTADR)
            if self.pos + 4 > self.end:
                raise self.fail(S.ESME_RINVCMDLEN, "body ends inside error_status_code")
            (status,) = _U32.unpack_from(self.data, self.pos)
            self.pos += 4
            found.append(UnsuccessSme(ton, npi, address, status))
        return tuple(found)

    def tlvs(self) -> tuple[Tlv, ...]:
        data, pos, end = self.data, self.pos, self.end
        found: list[Tlv] = []
        while pos < end:
            if pos + 4 > end:
                raise self.fail(
                    S.ESME_RINVOPTPARSTREAM, f"{end - pos} stray octets where a TLV should start"
                )
            tag, length = _TLV_HEADER.unpack_from(data, pos)
            pos += 4
            if pos + length > end:
                raise self.fail(
                    S.ESME_RINVOPTPARSTREAM,
                    f"TLV 0x{tag:04X} claims {length} octets, {end - pos} left",
                )
            fixed = FIXED_TLV_LENGTHS.get(tag)
            if fixed is not None and fixed != length:
                raise self.fail(
                    S.ESME_RINVPARLEN, f"TLV 0x{tag:04X} has {length} octets instead of {fixed}"
                )
            found.append(Tlv(tag, data[pos : pos + length]))
            pos += length
        self.pos = pos
        return tuple(found)


class _Step(NamedTuple):
    """One step of a compiled field table: a field, or a run of one-octet fields read and
    written at once."""

    kind: int
    names: tuple[str, ...]
    field: Field


def _compile(fields: tuple[Field, ...]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for field in fields:
        if field.kind == U8 and steps and steps[-1].kind == U8:
            steps[-1] = steps[-1]._replace(names=(*steps[-1].names, field.name))
        else:
            steps.append(_Step(field.kind, (field.name,), field))
    return tuple(steps)


_STEPS: dict[type[Pdu], tuple[_Step, ...]] = {
    pdu_type: _compile(pdu_type.fields) for pdu_type in PDU_TYPES.values()
}


def _read_body(reader: _Reader, steps: tuple[_Step, ...], values: dict[str, Any]) -> None:
    for kind, names, field in steps:
        if kind == U8:
            values.update(zip(names, reader.octets(names), strict=True))
        elif kind == CSTR:
            values[field.name] = reader.cstr(field.name, field.max_length, field.status)
        elif kind == SHORT_MESSAGE:
            values[field.name] = reader.short_message()
        elif kind == DESTINATIONS:
            values[field.name] = reader.destinations()
        else:
            values[field.name] = reader.unsuccessful()
    values["tlvs"] = reader.tlvs()


def decode(frame: bytes | bytearray | memoryview) -> Pdu:
    """The PDU in one whole frame; PduError (with the status to answer) for anything else."""
    data = bytes(frame)
    if len(data) < HEADER_LENGTH:
        raise PduError(S.ESME_RINVCMDLEN, f"frame of {len(data)} octets is shorter than a header")
    command_length, command_id, command_status, sequence_number = _HEADER.unpack_from(data)
    if command_length != len(data):
        raise PduError(
            S.ESME_RINVCMDLEN,
            f"command_length {command_length} but the frame has {len(data)} octets",
            command_id=command_id,
            sequence_number=sequence_number,
        )
    pdu_type = PDU_TYPES.get(command_id)
    if pdu_type is None:
        raise PduError(
            S.ESME_RINVCMDID,
            f"unknown command_id 0x{command_id:08X}",
            command_id=command_id,
            sequence_number=sequence_number,
        )
    reader = _Reader(data, command_id, sequence_number)
    if not pdu_type.has_body:
        if len(data) != HEADER_LENGTH:
            raise reader.fail(S.ESME_RINVCMDLEN, "this PDU has no body")
        return pdu_type(sequence_number=sequence_number, command_status=command_status)
    values: dict[str, Any] = {}
    if len(data) > HEADER_LENGTH or not command_id & RESPONSE_BIT:
        _read_body(reader, _STEPS[pdu_type], values)
    return pdu_type(sequence_number=sequence_number, command_status=command_status, **values)


# --- encoding -----------------------------------------------------------------------------


def _cstr_octets(name: str, value: str, max_length: int) -> bytes:
    try:
        octets = value.encode("latin-1")
    except UnicodeEncodeError:
        raise EncodeError(f"{name} {value!r} has characters outside Latin-1") from None
    if b"\0" in octets:
        raise EncodeError(f"{name} {value!r} contains a NUL")
    if len(octets) >= max_length:
        raise EncodeError(f"{name} {value!r} is longer than {max_length - 1} octets")
    return octets + b"\0"


def _u8(name: str, value: int) -> bytes:
    if not 0 <= value <= 0xFF:
        raise EncodeError(f"{name} {value} does not fit in one octet")
    return bytes((value,))


def _short_message(value: bytes) -> bytes:
    if len(value) > 0xFF:
        raise EncodeError(f"short_message of {len(value)} octets: use message_payload")
    return bytes((len(value),)) + value


def _destinations(value: tuple[Destination, ...]) -> bytes:
    parts = [_u8("number_of_dests", len(value))]
    for destination in value:
        if isinstance(destination, SmeAddress):
            parts.append(bytes((DEST_FLAG_SME,)))
            parts.append(_u8("dest_addr_ton", destination.ton))
            parts.append(_u8("dest_addr_npi", destination.npi))
            parts.append(_cstr_octets("destination_addr", destination.address, _SME_ADDRESS_MAX))
        else:
            parts.append(bytes((DEST_FLAG_DISTRIBUTION_LIST,)))
            parts.append(_cstr_octets("dl_name", destination.name, 21))
    return b"".join(parts)


def _unsuccessful(value: tuple[UnsuccessSme, ...]) -> bytes:
    parts = [_u8("no_unsuccess", len(value))]
    for sme in value:
        parts.append(_u8("dest_addr_ton", sme.ton))
        parts.append(_u8("dest_addr_npi", sme.npi))
        parts.append(_cstr_octets("destination_addr", sme.address, _SME_ADDRESS_MAX))
        parts.append(_u32("error_status_code", sme.error_status))
    return b"".join(parts)


def _u32(name: str, value: int) -> bytes:
    if not 0 <= value <= 0xFFFFFFFF:
        raise EncodeError(f"{name} {value} does not fit in four octets")
    return _U32.pack(value)


def _write_body(pdu: BodyPdu, parts: list[bytes]) -> None:
    for kind, names, field in _STEPS[type(pdu)]:
        if kind == U8:
            parts.append(_u8_run(pdu, names))
        elif kind == CSTR:
            parts.append(_cstr_octets(field.name, getattr(pdu, field.name), field.max_length))
        elif kind == SHORT_MESSAGE:
            parts.append(_short_message(getattr(pdu, field.name)))
        elif kind == DESTINATIONS:
            parts.append(_destinations(getattr(pdu, field.name)))
        else:
            parts.append(_unsuccessful(getattr(pdu, field.name)))
    parts.extend(_tlv_octets(pdu.tlvs))


def _u8_run(pdu: BodyPdu, names: tuple[str, ...]) -> bytes:
    values = [getattr(pdu, name) for name in names]
    try:
        return bytes(values)
    except (ValueError, TypeError):
        for name, value in zip(names, values, strict=True):
            _u8(name, value)
        raise


def _tlv_octets(tlvs: tuple[Tlv, ...]) -> list[bytes]:
    parts = []
    for tag, value in tlvs:
        if not 0 <= tag <= 0xFFFF or len(value) > 0xFFFF:
            raise EncodeError(f"TLV 0x{tag:X} of {len(value)} octets does not fit")
        parts.append(_TLV_HEADER.pack(tag, len(value)))
        parts.append(value)
    return parts


def encode(pdu: Pdu) -> bytes:
    """The frame of ``pdu``; EncodeError when a field cannot be written (too long, out of range).

    A response with a non-zero ``command_status`` and no TLVs is written header-only.
    """
    if not isinstance(pdu, BodyPdu) or (
        pdu.command_status and not pdu.tlvs and pdu.command_id & RESPONSE_BIT
    ):
        return _header(HEADER_LENGTH, pdu)
    parts: list[bytes] = []
    _write_body(pdu, parts)
    body = b"".join(parts)
    return _header(HEADER_LENGTH + len(body), pdu) + body


def _header(length: int, pdu: Pdu) -> bytes:
    status, sequence = pdu.command_status, pdu.sequence_number
    if not (0 <= status <= 0xFFFFFFFF and 0 <= sequence <= 0xFFFFFFFF):
        raise EncodeError(f"command_status {status} or sequence_number {sequence} out of range")
    return _HEADER.pack(length, pdu.command_id, status, sequence)

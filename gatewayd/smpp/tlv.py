"""Optional parameters (TLVs): the ``Tlv`` pair, builders for its value types, and the typed
readers the PDUs that carry message TLVs share (:class:`TlvReaders`)."""

from __future__ import annotations

from typing import NamedTuple

from gatewayd.smpp.constants import Tag


class Tlv(NamedTuple):
    """One optional parameter as it is on the wire: a tag and its raw value."""

    tag: int
    value: bytes

    @classmethod
    def u8(cls, tag: int, number: int) -> Tlv:
        return cls(tag, number.to_bytes(1, "big"))

    @classmethod
    def u16(cls, tag: int, number: int) -> Tlv:
        return cls(tag, number.to_bytes(2, "big"))

    @classmethod
    def u32(cls, tag: int, number: int) -> Tlv:
        return cls(tag, number.to_bytes(4, "big"))

    @classmethod
    def cstr(cls, tag: int, text: str) -> Tlv:
        """A C-octet string value (``receipted_message_id``, ``additional_status_info_text``)."""
        return cls(tag, text.encode("latin-1") + b"\0")


def find_tlv(tlvs: tuple[Tlv, ...], tag: int) -> bytes | None:
    """Value of the first TLV with ``tag``, or None."""
    for found in tlvs:
        if found.tag == tag:
            return found.value
    return None


def as_int(value: bytes | None) -> int | None:
    """A big-endian unsigned integer value (None stays None)."""
    return None if value is None else int.from_bytes(value, "big")


def as_str(value: bytes | None) -> str | None:
    """A C-octet string value; the terminating NUL is optional, as senders differ."""
    if value is None:
        return None
    end = value.find(0)
    return (value if end < 0 else value[:end]).decode("latin-1")


class TlvReaders:
    """Typed readers of the common TLVs, for PDUs with a ``tlvs`` tuple. A reader answers
    None when the PDU does not carry the TLV."""

    __slots__ = ()
    tlvs: tuple[Tlv, ...]

    def tlv(self, tag: int) -> bytes | None:
        return find_tlv(self.tlvs, tag)

    @property
    def message_payload(self) -> bytes | None:
        return find_tlv(self.tlvs, Tag.MESSAGE_PAYLOAD)

    @property
    def receipted_message_id(self) -> str | None:
        return as_str(find_tlv(self.tlvs, Tag.RECEIPTED_MESSAGE_ID))

    @property
    def message_state(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.MESSAGE_STATE))

    @property
    def network_error_code(self) -> tuple[int, int] | None:
        """``(network_type, error_code)``: 1 ANSI-136, 2 IS-95, 3 GSM, 4-8 others (§5.3.2.31)."""
        value = find_tlv(self.tlvs, Tag.NETWORK_ERROR_CODE)
        if value is None or len(value) != 3:
            return None
        return value[0], int.from_bytes(value[1:], "big")

    @property
    def user_message_reference(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.USER_MESSAGE_REFERENCE))

    @property
    def sar_msg_ref_num(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.SAR_MSG_REF_NUM))

    @property
    def sar_total_segments(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.SAR_TOTAL_SEGMENTS))

    @property
    def sar_segment_seqnum(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.SAR_SEGMENT_SEQNUM))

    @property
    def sc_interface_version(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.SC_INTERFACE_VERSION))

    @property
    def more_messages_to_send(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.MORE_MESSAGES_TO_SEND))

    @property
    def source_port(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.SOURCE_PORT))

    @property
    def destination_port(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.DESTINATION_PORT))

    @property
    def delivery_failure_reason(self) -> int | None:
        return as_int(find_tlv(self.tlvs, Tag.DELIVERY_FAILURE_REASON))

    @property
    def additional_status_info_text(self) -> str | None:
        return as_str(find_tlv(self.tlvs, Tag.ADDITIONAL_STATUS_INFO_TEXT))

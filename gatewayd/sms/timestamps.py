"""Service-centre time stamps (TS 23.040 §9.2.3.11): seven swapped-BCD octets with the zone
in quarter hours, bit 3 of the last octet's low nibble giving the sign.

Decoded values keep the PDU's own UTC offset. A stamp whose fields are not a real date is
returned as None: the message it comes with is worth more than the clock reading. A zone
whose units nibble is not a decimal digit (seen from real networks) is read arithmetically.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

TIMESTAMP_OCTETS = 7

# Octet value -> its swapped-BCD number, or -1 when a nibble is not a decimal digit.
_SWAPPED_BCD = tuple(
    (octet & 0x0F) * 10 + (octet >> 4) if (octet & 0x0F) < 10 and (octet >> 4) < 10 else -1
    for octet in range(256)
)
_ZONES: dict[int, timezone] = {}


def _zone(quarter_hours: int) -> timezone:
    zone = _ZONES.get(quarter_hours)
    if zone is None:
        zone = timezone(timedelta(minutes=15 * quarter_hours))
        _ZONES[quarter_hours] = zone
    return zone


def decode_timestamp(octets: bytes) -> datetime | None:
    """The instant of a 7-octet stamp, in its own offset; None if it names no real instant."""
    year, month, day, hour, minute, second = (_SWAPPED_BCD[octet] for octet in octets[:6])
    zone_octet = octets[6]
    zone_tens, zone_units = zone_octet & 0x07, zone_octet >> 4
    if min(year, month, day, hour, minute, second) < 0:
        return None
    quarter_hours = zone_tens * 10 + zone_units
    if zone_octet & 0x08:
        quarter_hours = -quarter_hours
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=_zone(quarter_hours))
    except ValueError:
        return None


def _swapped(value: int) -> int:
    return (value % 10) << 4 | (value // 10)


def encode_timestamp(moment: datetime) -> bytes:
    """Seven octets for an aware datetime whose offset is a whole number of quarter hours."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("time stamp needs a timezone-aware datetime")
    quarter_hours, remainder = divmod(int(offset.total_seconds()), 15 * 60)
    if remainder or not -79 <= quarter_hours <= 79:
        raise ValueError(f"UTC offset {offset} is not whole quarter hours within ±19:45")
    if not 2000 <= moment.year <= 2099:
        raise ValueError(f"year {moment.year} cannot be written in a time stamp (2000-2099)")
    zone = _swapped(abs(quarter_hours)) | (0x08 if quarter_hours < 0 else 0)
    fields = (moment.year - 2000, moment.month, moment.day, moment.hour, moment.minute)
    return bytes([*(_swapped(value) for value in fields), _swapped(moment.second), zone])

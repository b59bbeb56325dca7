"""The codec's building blocks: alphabet, packing, addresses, time stamps, DCS, UDH, validity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gatewayd.sms import Concat, PduError, decode_pdu, encode_deliver, encode_status_report
from gatewayd.sms.address import decode_address, encode_address
from gatewayd.sms.dcs import describe_dcs
from gatewayd.sms.gsm7 import pack_septets, septets_to_text, text_to_septets, unpack_septets
from gatewayd.sms.reader import OctetReader
from gatewayd.sms.timestamps import decode_timestamp, encode_timestamp
from gatewayd.sms.udh import concat_udh, parse_udh
from gatewayd.sms.validity import relative_vp, vp_minutes

# python-gsmmodem test/test_pdu.py TestGsm7: text, septets, packed octets
GSM7_CASES = [
    ("123", [49, 217, 12]),
    ("Hello World!", [200, 50, 155, 253, 6, 93, 223, 114, 54, 57, 4]),
    ("[{abc}]~", [27, 222, 6, 21, 22, 143, 55, 169, 141, 111, 211, 3]),
    ("{åΦΓΛΩΠΨΣΘ€}", [27, 212, 67, 50, 161, 84, 44, 23, 76, 102, 83, 222, 164, 0]),
    ("a[]{}€", [225, 13, 111, 227, 219, 160, 54, 169, 77, 25]),
]


@pytest.mark.parametrize(("text", "packed"), GSM7_CASES)
def test_gsm7_packing_matches_python_gsmmodem(text: str, packed: list[int]) -> None:
    septets = text_to_septets(text)
    assert pack_septets(septets) == bytes(packed)
    assert septets_to_text(unpack_septets(bytes(packed), len(septets))) == text


def test_fill_bits_shift_the_text_to_a_septet_boundary() -> None:
    packed = pack_septets(b"\x41", fill_bits=1)
    assert packed == bytes([0x82])
    assert unpack_septets(packed, 1, fill_bits=1) == b"\x41"


def test_escape_rules() -> None:
    assert septets_to_text(bytes([0x1B, 0x1B])) == " "  # double escape
    assert septets_to_text(bytes([0x1B, 0x41])) == "A"  # unmapped extension code
    assert septets_to_text(bytes([0x41, 0x1B])) == "A "  # dangling escape


def test_non_gsm_character_is_named() -> None:
    with pytest.raises(ValueError, match="'ó'"):
        text_to_septets("Helló worłd!")


# python-gsmmodem TestSmsPduAddressFields, smspdudecoder fields.py doctests
@pytest.mark.parametrize(
    ("field", "address"),
    [
        ("0A918967452301", "+9876543210"),
        ("099189674523F1", "+987654321"),
        ("0B917228195339F4", "+27829135934"),
        ("06D061F118", "abc"),
        ("0ED04669D0397C26A7", "FRANCOIS"),
        ("14D0E10D6FE3DBA036A94D19", "a[]{}€"),
        ("0AA11092997856", "0129998765"),
        ("0B915155214365F7", "+15551234567"),
        ("0BD0CDE6DB5DCE03", "MMoney"),
        ("14D0C4F23C7D760390EF7619", "Design@Home"),
    ],
)
def test_published_address_fields(field: str, address: str) -> None:
    assert decode_address(OctetReader(bytes.fromhex(field)), "address") == address


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ("+9876543210", "0A918967452301"),
        ("+987654321", "099189674523F1"),
        ("abc", "06D061F118"),
        ("FRANCOIS", "0ED04669D0397C26A7"),
        ("a[]{}€", "14D0E10D6FE3DBA036A94D19"),
        ("Design@Home", "14D0C4F23C7D760390EF7619"),
        ("0129998765", "0A811092997856"),  # digits alone: type 0x81
    ],
)
def test_address_encoding(address: str, field: str) -> None:
    assert encode_address(address, role="sender", allow_alphanumeric=True).hex().upper() == field


@pytest.mark.parametrize("bad", ["", "+", "12a4", "+55 11", "123456789012345678901", "++1"])
def test_recipient_numbers_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid recipient"):
        encode_address(bad, role="recipient")


def test_alphanumeric_sender_longer_than_eleven_septets_is_refused() -> None:
    with pytest.raises(ValueError, match="1-11"):
        encode_address("ABCDEFGHIJKL", role="sender", allow_alphanumeric=True)


# python-gsmmodem TestTimestamp
@pytest.mark.parametrize(
    ("moment", "octets"),
    [
        (datetime(2015, 11, 27, tzinfo=UTC), "51117200000000"),
        (datetime(2015, 11, 27, tzinfo=timezone(timedelta(hours=2))), "51117200000080"),
        (datetime(2007, 4, 12, 23, 25, 42, tzinfo=timezone(timedelta(hours=8))), "70402132522423"),
        (datetime(2007, 4, 12, 23, 25, 42, tzinfo=timezone(timedelta(hours=-8))), "7040213252242B"),
    ],
)
def test_published_timestamps(moment: datetime, octets: str) -> None:
    assert encode_timestamp(moment).hex().upper() == octets
    decoded = decode_timestamp(bytes.fromhex(octets))
    assert decoded == moment
    assert decoded is not None and decoded.utcoffset() == moment.utcoffset()


def test_quarter_hour_negative_zone_round_trips() -> None:
    moment = datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone(-timedelta(hours=3, minutes=30)))
    decoded = decode_timestamp(encode_timestamp(moment))
    assert decoded is not None and decoded.isoformat() == "2024-02-29T23:59:59-03:30"


def test_impossible_date_decodes_as_none() -> None:
    assert decode_timestamp(bytes.fromhex("21314000000000")) is None  # month 13
    assert decode_timestamp(bytes.fromhex("2A010100000000")) is None  # BCD nibble A


def test_encode_timestamp_refuses_naive_and_odd_offsets() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        encode_timestamp(datetime(2020, 1, 1))
    with pytest.raises(ValueError, match="quarter hours"):
        encode_timestamp(datetime(2020, 1, 1, tzinfo=timezone(timedelta(minutes=10))))


@pytest.mark.parametrize(
    ("dcs", "encoding", "message_class"),
    [
        (0x00, "gsm7", None),
        (0x08, "ucs2", None),
        (0x04, "8bit", None),
        (0x10, "gsm7", 0),
        (0x18, "ucs2", 0),
        (0x11, "gsm7", 1),
        (0x16, "8bit", 2),
        (0x1B, "ucs2", 3),
        (0x0C, "gsm7", None),  # reserved alphabet
        (0x24, "8bit", None),  # compressed
        (0x5A, "ucs2", 2),  # automatic deletion group
        (0xF0, "gsm7", 0),
        (0xF5, "8bit", 1),
        (0xF3, "gsm7", 3),
        (0xC8, "gsm7", None),
        (0xE0, "ucs2", None),
        (0x80, "gsm7", None),  # reserved group
    ],
)
def test_data_coding_scheme(dcs: int, encoding: str, message_class: int | None) -> None:
    assert describe_dcs(dcs) == (encoding, message_class)


def test_concat_information_elements() -> None:
    # python-gsmmodem TestUdhConcatenation: 8-bit ref 23, 16-bit ref 384
    assert parse_udh(bytes.fromhex("0003170301")) == Concat(ref=23, total=3, seq=1)
    assert parse_udh(bytes.fromhex("080401800402")) == Concat(ref=384, total=4, seq=2)
    assert concat_udh(23, 3, 1).hex() == "050003170301"
    assert concat_udh(384, 4, 2).hex() == "06080401800402"


def test_other_information_elements_are_skipped() -> None:
    header = bytes.fromhex("05040B8423F000032A0201")
    assert parse_udh(header) == Concat(ref=42, total=2, seq=1)
    assert parse_udh(bytes.fromhex("05040B8423F0")) is None


@pytest.mark.parametrize("element", ["00030A0000", "00030A0203", "00030A0001"])
def test_concat_with_impossible_numbers_is_ignored(element: str) -> None:
    assert parse_udh(bytes.fromhex(element)) is None


@pytest.mark.parametrize("header", ["00", "0003170301FF", "000517"])
def test_broken_udh_is_a_pdu_error(header: str) -> None:
    with pytest.raises(PduError, match="user data header"):
        parse_udh(bytes.fromhex(header))


# python-gsmmodem TestRelativeValidityPeriod
@pytest.mark.parametrize(
    ("minutes", "vp"), [(30, 5), (16 * 60, 151), (3 * 24 * 60, 169), (5 * 7 * 24 * 60, 197)]
)
def test_relative_validity(minutes: int, vp: int) -> None:
    assert relative_vp(minutes) == vp
    assert vp_minutes(vp) == minutes


def test_relative_validity_rounds_up_and_has_limits() -> None:
    assert relative_vp(1) == 0
    assert vp_minutes(relative_vp(721)) >= 721
    assert relative_vp(63 * 7 * 24 * 60) == 255
    with pytest.raises(ValueError, match="63 weeks"):
        relative_vp(63 * 7 * 24 * 60 + 1)
    with pytest.raises(ValueError):
        relative_vp(0)


def test_status_report_states() -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=-3)))
    states = {}
    for status in (0x00, 0x1F, 0x20, 0x3F, 0x40, 0x46, 0x60, 0x7F):
        part = encode_status_report(
            "+5511990000001", 7, scts=moment, discharge_time=moment, status=status
        )
        decoded = decode_pdu(part.pdu)
        states[status] = getattr(decoded, "state", None)
    assert states == {
        0x00: "delivered",
        0x1F: "delivered",
        0x20: "pending",
        0x3F: "pending",
        0x40: "failed",
        0x46: "failed",
        0x60: "failed",
        0x7F: "failed",
    }


def test_deliver_flash_and_alphanumeric_sender() -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    decoded = decode_pdu(encode_deliver("MyBank", "Olá 🙂", scts=moment, flash=True)[0].pdu)
    assert getattr(decoded, "sender", None) == "MyBank"
    assert getattr(decoded, "dcs", None) == 0x18
    assert getattr(decoded, "message_class", None) == 0
    assert getattr(decoded, "text", None) == "Olá 🙂"

"""Encoding to PDUs published by other projects, byte for byte.

- GSMMODEM = faucamp/python-gsmmodem test/test_pdu.py @ df20a9a2960883fbb454bc73c8c5a13f044ef8d4
  (TestSmsPdu.test_encodeSmsSubmit, test_encodeSmsSubmit_concatenated; note that its test passes
  ``rejectDuplicates``/``sendFlash`` positionally into the status-report / reject-duplicates
  parameters, so its "Flash SMS" PDU is really a TP-RD one)
- OFONO = sailfishos-native/ofono-mirror unit/test-sms.c @ 8fa1fdfcb54e1edb588c6a5e2688880b065a39c9
  (simple_submit, test_prepare_7bit)
- WARTHOG = warthog618/sms encode_test.go @ 1d41ea71753332d2e30718973f82f47bbc51e525
  ("single segment grin", "two segment 7bit")
"""

from __future__ import annotations

from gatewayd.sms import Submit, decode_pdu, encode_submit, split_text

LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua.Ut enim ad minim veniam, quinostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat.Duis aute irure dolor in reprehenderit in "
    "voluptate velit esse cillum doloe eu fugiat nulla pariatur.Excepteur sint occaecat "
    "cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum"
)
LOREM_PDUS = [
    "0045000B915121551532F40000A0050003000301986F79B90D4AC3E7F53688FC66BFE5A0799A0E0AB7CB7416"
    "68FC76CFCB637A995E9783C2E4343C3D4F8FD3EE33A8CC4ED359A079990C22BF41E5747DDE7E9341F4721B"
    "FE9683D2EE719A9C26D7DD74509D0E6287C56F791954A683C86FF65B5E06B5C36777181466A7E3F5B0AB4A"
    "0795DDE936284C06B5D3EE741B642FBBD3E1360B14AFA7DD",
    "0045000B915121551532F40000A0050003000302DE73BABC4E0695F165F9384D0FD3D36F37A8CE6687DBE3"
    "37881D16BFE5E939C89D9EA741753A28CC4EC7EB6938A88C0795C3A0F1BBDD7E93DFA0F1DB3D2FC7EB61BA"
    "8B584FCF41E13ABD0C4ACBEBF23288FC66BFE5A0B41B242FC3E56574D94D2ECBD37450DA0DB2BFD975383D"
    "4C2F83EC65769A0E2ACFE765D038CD66D7DB20F29BFD2E83CA",
    "0045000B915121551532F400008C050003000303EA2073FD9C0ED341EE3A9B1D06C1C3F274985E97BB8AF871"
    "194E2FD7E5A079DA4D07BDC7E370791CA683C675789A1CA687E920F7DB0D82CBDF6972D94D6781E675371D"
    "947683C675363C0C8AD7D3A0B7D99C1EA7C32072795E96D7DD7450FBCD66A7E9A0B03BDD06A5C9A0F29C0E"
    "6287C56F79BD0D",
]


def _pdus(parts: list[object]) -> list[str]:
    return [part.pdu for part in parts]  # type: ignore[attr-defined]


def test_gsmmodem_hello_world() -> None:
    assert _pdus(encode_submit("+27820001111", "Hello World!")) == [
        "0001000B917228001011F100000CC8329BFD065DDF72363904"
    ]


def test_gsmmodem_reject_duplicates() -> None:
    assert _pdus(encode_submit("+27820001111", "Flash SMS", reject_duplicates=True)) == [
        "0005000B917228001011F10000094676788E064D9B53"
    ]


def test_gsmmodem_ucs2_with_validity_and_smsc() -> None:
    parts = encode_submit(
        "+123456789", "世界您好！", validity_minutes=52 * 7 * 24 * 60, smsc="+44000000000"
    )
    assert _pdus(parts) == ["07914400000000F01100099121436587F90008F40A4E16754C60A8597DFF01"]
    assert parts[0].tpdu_length == 23


def test_ofono_simple_submit_relative_validity() -> None:
    parts = encode_submit("+46708251358", "hellohello", validity_minutes=4 * 24 * 60)
    assert _pdus(parts) == ["0011000B916407281553F80000AA0AE8329BFD4697D9EC37"]
    assert parts[0].tpdu_length == 23  # oFono asserts encoded_tpdu_len == 23


def test_ofono_prepare_7bit_with_smsc() -> None:
    parts = encode_submit(
        "+358478400241", "This is testing !", validity_minutes=24 * 60, smsc="+358405202090"
    )
    assert _pdus(parts) == [
        "079153485002020911000C915348870420140000A71154747A0E4ACF41F4F29C9E769F4121"
    ]


def test_gsmmodem_concatenated_lorem_ipsum() -> None:
    parts = encode_submit("+15125551234", LOREM, reject_duplicates=True)
    assert len(parts) == len(LOREM_PDUS)
    for index, (part, published) in enumerate(zip(parts, LOREM_PDUS, strict=True)):
        # python-gsmmodem gives every part TP-MR 0; this codec numbers parts mr, mr+1, ...
        ours = part.pdu[:4] + "00" + part.pdu[6:]
        assert ours == published
        assert int(part.pdu[4:6], 16) == index


def test_warthog_emoji_is_a_surrogate_pair() -> None:
    decoded = decode_pdu(encode_submit("+1234", "hello 😁")[0].pdu)
    assert isinstance(decoded, Submit)
    assert decoded.encoding == "ucs2"
    assert encode_submit("+1234", "hello 😁")[0].pdu.endswith("00680065006C006C006F0020D83DDE01")


def test_warthog_two_segment_split_point() -> None:
    text = (
        "this is a very long message that does not fit in a single SMS message, at least it "
        "will if I keep adding more to it as 160 characters is more than you might think"
    )
    encoding, parts = split_text(text)
    assert encoding == "gsm7"
    assert parts == [text[:-9], "ght think"]

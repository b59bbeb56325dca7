"""Decoding PDUs published by other projects, each compared with what that project asserts.

Sources (repository + path; the commit read is given once per source):

- GSMMODEM = faucamp/python-gsmmodem test/test_pdu.py @ df20a9a2960883fbb454bc73c8c5a13f044ef8d4
- OFONO = sailfishos-native/ofono-mirror unit/test-sms.c @ 8fa1fdfcb54e1edb588c6a5e2688880b065a39c9
- ANDROID = aosp-mirror/platform_frameworks_base
  telephony/tests/telephonytests/src/com/android/internal/telephony/GsmSmsTest.java
  @ 141da403c0ad2d06b8f55e737ddf5d9e2b64c536
- SMSPDUDECODER = qotto/smspdudecoder smspdudecoder/fields.py (doctests)
  @ a2781281c36ead95148106238bdb809f5380b582
- WARTHOG = warthog618/sms cmd/smsdecode/smsdecode_test.go
  @ 082392a29b00ee95cdc9717afb2aab09ec744192

Expected values are the ones the source asserts; where a source only asserts some fields the
others were read off the PDU by hand (noted "by hand").
"""

from __future__ import annotations

from typing import Any

import pytest

from gatewayd.sms import Concat, Deliver, StatusReport, Submit, decode_pdu, pdu_to_json

GSMMODEM = "faucamp/python-gsmmodem test/test_pdu.py"
OFONO = "sailfishos-native/ofono-mirror unit/test-sms.c"
ANDROID = "aosp-mirror/platform_frameworks_base .../telephony/GsmSmsTest.java"
WARTHOG = "warthog618/sms cmd/smsdecode/smsdecode_test.go"

OFONO_ASSEMBLY_PDU1 = (
    "038121F340048155550119906041001222048C0500"
    "031E0301041804420430043A002C002004100"
    "43B0435043A04410430043D04340440002000"
    "200441043B044304480430043B00200437043"
    "000200434043204350440044C044E00200020"
    "04380020002004320441043500200431043E0"
    "43B044C044804350020043F04400435043804"
    "41043F043E043B043D044F043B0441044F002"
    "000200433043D0435"
)
OFONO_UNICODE_DELIVER = (
    "04819999990414D0FBFD7EBFDFEFF77BFE1E001"
    "9512090801361807E00DC00FC00C400E400D600F600C500E500D800F800C"
    "600E600C700E700C900E900CA00EA00DF003100320033003400350036003"
    "7003800390030002000540068006900730020006D0065007300730061006"
    "7006500200069007300200036003300200075006E00690063006F0064006"
    "5002000630068006100720073002E"
)
ANDROID_WAP_PUSH_PART1 = (
    "07914140279510F6440A8111110301003BF56080207130138A8C0B05040B8423F"
    "000032A02010106276170706C69636174696F6E2F766E642E7761702E6D6D732D"
    "6D65737361676500AF848D0185B4848C8298524E453955304A6D7135514141426"
    "66C414141414D7741414236514141414141008D908918802B3135313232393737"
    "3638332F545950453D504C4D4E008A808E022B918805810306977F83687474703"
    "A2F2F36"
)
ANDROID_MULTIPART_PART1 = (
    "07916163838408F6440B816105224431F700007060217175830AA0050003"
    "00020162B1582C168BC562B1582C168BC562B1582C168BC562B1582C"
    + "168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C" * 4
    + "168BC562B1582C168BC562B1582C168BC562B1582C168BC562"
)
MEGAFON_UCS2_ALPHANUMERIC = (
    "07919762020033F1400DD0CDF2396C7EBB010008415072411084618C0500035602010053004D00530020006300"
    "6F00640065003A00200034003800350036002C00200063006F006E006600690072006D00610074006900"
    "6F006E0020006F00660020006100730073006F00630069006100740069006F006E002000620065007400"
    "7700650065006E0020006100630063006F0075006E007400200061006E00640020004D00650067"
)
LOREM_CONCAT_SENDER = (
    "0591721891F1400781721881F800003160526104848059050003C30101916536FB1DCABEEB2074D85E064941"
    "B19CAB060319A5C522289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87A7E565"
    "D0DB0D82C55EB0DB4B068BCD5C20"
)

# (id, source, pdu hex, has SMSC field, expected subset of pdu_to_json)
# fmt: off
VECTORS: list[tuple[str, str, str, bool, dict[str, Any]]] = [
    # --- SMS-DELIVER, GSM-7 -------------------------------------------------------------
    ("gsmmodem-deliver-test2", GSMMODEM,
     "06917228195339040B917228214365F700003130805120618005D4F29C2E03", True,
     {"type": "deliver", "smsc": "+2782913593", "sender": "+27821234567", "pid": 0,
      "scts": "2013-03-08T15:02:16+02:00", "text": "Test2", "encoding": "gsm7"}),
    ("gsmmodem-deliver-easy-to-read", GSMMODEM,
     "07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132"
     "885EC6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E", True,
     {"smsc": "+85290000000", "sender": "+85291234567", "scts": "2007-04-12T23:25:42+08:00",
      "text": "It is easy to read text messages via AT commands."}),
    ("gsmmodem-deliver-extension-chars", GSMMODEM,
     "06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910", True,
     {"sender": "+27821234567", "text": "@{tést}!"}),
    ("ofono-simple-deliver-negative-zone", OFONO,
     "07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07", True,
     # oFono asserts timezone == -4 quarter hours
     {"smsc": "+31624000000", "sender": "+31641600986", "pid": 0, "dcs": 0,
      "scts": "2002-08-26T19:37:41-01:00", "text": "How are you?", "tpdu_length": 30}),
    ("ofono-alphanumeric-sender", OFONO,
     "0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9", True,
     {"smsc": "+447785016005", "sender": "sipgate", "scts": "2008-08-13T12:07:22+01:00",
      "text": "Testmail", "tpdu_length": 27}),
    ("ofono-mwi-dcs-c8-empty", OFONO,
     "07913366002020F8040B913366600600F100C83180706174148000", True,
     {"sender": "+33660660001", "dcs": 200, "encoding": "gsm7", "text": "",
      "scts": "2013-08-07T16:47:41+02:00"}),
    ("android-addressing-negative-zone", ANDROID,
     "07914151551512f2040B916105551511f100006060605130308A04D4F29C0E", True,
     {"smsc": "+14155551212", "sender": "+16505551111", "text": "Test",
      "scts": "2006-06-06T15:03:03-07:00"}),  # zone by hand: 0x8A = -28 quarter hours
    ("android-subject-dcs-03", ANDROID,
     "07914151551512f2040B916105551511f100036060924180008A0DA8695DAC2E8FE9296A794E07", True,
     {"sender": "+16505551111", "dcs": 3, "message_class": None, "text": "(Subject)Test"}),
    ("android-extended-character-table", ANDROID,
     "07914151551512f2040B916105551511f100006080615131728A44D4F29C0E2AE3E96537B94C068DD16179"
     "784C2FCB41F4B0985D06B958ADD00FB0E94536AF974974DA6D281BA00E95E26D509B946FC3DBF87A25D5"
     "6A04", True,
     {"text": "Test extended character table .,-!?@~_\\/&\"';^|:()<{}>[]=%*+#"}),
    ("android-email-gateway-national-sender", ANDROID,
     "07914151551512f204038105f300007011103164638a28e6f71b50c687db7076d9357eb7412f7a794e07cd"
     "eb6275794c07bde8e5391d247e93f3", True,
     {"smsc": "+14155551212", "sender": "503",
      "text": "foo@example.com /test subject /test body"}),
    ("android-email-gateway-extension", ANDROID,
     "07914151551512f204038105f400007011103105458a29e6f71b50c687db7076d9357eb741af0d0a442fcf"
     "e9c23739bfe16d289bdee6b5f1813629", True,
     {"sender": "504", "text": "foo@example.com /{ testBody[^~\\] }"}),
    ("android-cphs-alphanumeric-sender", ANDROID,
     "07912160130310F20404D0110041006060627171118A0120", True,
     {"sender": "_@", "pid": 0x41, "text": " "}),
    ("android-cphs-alphanumeric-delta", ANDROID,
     "07912160130310F20404D0100041006060627161058A0120", True,
     {"sender": "Δ@", "text": " "}),
    ("android-cingular-mwi", ANDROID,
     "07912180958750F84401800500C87020026195702B06040102000200", True,
     {"type": "deliver", "sender": "50", "dcs": 0xC8, "text": ""}),
    # --- SMS-DELIVER, concatenated ------------------------------------------------------
    ("gsmmodem-deliver-concat-national-sender", GSMMODEM, LOREM_CONCAT_SENDER, True,
     {"smsc": "+2781191", "sender": "2781188", "concat": {"ref": 0xC3, "total": 1, "seq": 1},
      "text": "Hello!You have R 19.50 FREE airtime available. R 19.50 will expire on "
              "01/07/2013. "}),
    ("android-multipart-7bit-part1", ANDROID, ANDROID_MULTIPART_PART1, True,
     {"sender": "16502244137", "concat": {"ref": 0, "total": 2, "seq": 1}, "text": "1" * 153}),
    ("android-multipart-7bit-part2", ANDROID,
     "07916163838408F6440B816105224431F700007060217185000A2305000300020262B1582C168BC9643299"
     "4C2693C96432994C2693C96432990C", True,
     {"concat": {"ref": 0, "total": 2, "seq": 2}, "text": "1111111222222222222222222222"}),
    # --- SMS-DELIVER, UCS-2 ---------------------------------------------------------------
    ("android-ucs2", ANDROID,
     "07912160130300F4040B914151245584F600087010807121352B10212200A900AE00680065006C006C006F",
     True, {"encoding": "ucs2", "dcs": 8, "text": "\u2122\u00a9\u00aehello"}),
    ("gsmmodem-megafon-alphanumeric-ucs2-concat", GSMMODEM, MEGAFON_UCS2_ALPHANUMERIC, True,
     {"smsc": "+79262000331", "sender": "Megafon", "scts": "2014-05-27T14:01:48+04:00",
      "concat": {"ref": 0x56, "total": 2, "seq": 1}, "encoding": "ucs2",
      "text": "SMS code: 4856, confirmation of association between account and Meg"}),
    ("ofono-unicode-deliver-class1", OFONO, OFONO_UNICODE_DELIVER, True,
     # oFono asserts the TPDU length; class 1 from DCS 0x19 read by hand
     {"smsc": "999999", "encoding": "ucs2", "message_class": 1, "tpdu_length": 149,
      "text": "ÜüÄäÖöÅåØøÆæÇçÉéÊêß1234567890 This message is 63 unicode chars."}),
    ("ofono-assembly-ucs2-part1", OFONO, OFONO_ASSEMBLY_PDU1, True,
     {"smsc": "123", "sender": "5555", "encoding": "ucs2", "tpdu_length": 155,
      "concat": {"ref": 0x1E, "total": 3, "seq": 1}, "scts": "2009-06-14T00:21:22+10:00"}),
    # --- SMS-DELIVER, 8-bit ------------------------------------------------------------------
    ("android-wap-push-8bit-udh-ports-and-concat", ANDROID, ANDROID_WAP_PUSH_PART1, True,
     {"sender": "1111301000", "encoding": "8bit", "dcs": 0xF5, "message_class": 1,
      "text": None, "concat": {"ref": 42, "total": 2, "seq": 1}}),
    # --- SMS-SUBMIT ----------------------------------------------------------------------------
    ("gsmmodem-submit-relative-validity", GSMMODEM,
     "07911326040000F0310D0B911326880736F40000A90FF7FBDD454E87CDE1B0DB357EB701", True,
     {"type": "submit", "smsc": "+31624000000", "recipient": "+31628870634", "mr": 13,
      "validity_minutes": 3 * 24 * 60, "status_report_requested": True,
      "text": "www.diafaan.com"}),
    ("gsmmodem-submit-ucs2", GSMMODEM,
     "07914346466554F601000B914316565811F9000806304253F68449", True,
     {"recipient": "+34616585119", "smsc": "+34646456456", "text": "あ叶葉"}),
    ("gsmmodem-submit-8bit", GSMMODEM,
     "0591721891F101000B917228214365F700040C48656C6C6F20776F726C6421", True,
     {"recipient": "+27821234567", "smsc": "+2781191", "encoding": "8bit", "text": None,
      "data_hex": b"Hello world!".hex().upper()}),
    ("gsmmodem-submit-absolute-validity", GSMMODEM,
     "0019000B917228001011F100003170013193008017D474BB3CA787DB70903DCC4E93D3F43C885E9ED301",
     True, {"text": "Timestamp validity test", "validity_minutes": None}),
    ("gsmmodem-submit-national-numbers", GSMMODEM,
     "04A12143F5310D0AA110624521430000A91BD4F29C0E6A97E7F3F0B9AC03B1DFE3301BE4AEB7C565F91C",
     True, {"smsc": "12345", "recipient": "0126541234", "mr": 13,
            "status_report_requested": True, "text": "Test message: local numbers"}),
    ("ofono-simple-submit", OFONO, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37", True,
     {"smsc": None, "recipient": "+46708251358", "mr": 0, "validity_minutes": 4 * 24 * 60,
      "text": "hellohello", "tpdu_length": 23}),
    ("ofono-default-extension-table", OFONO,
     "0001000B915310101010100000151BC58602DAA036A9CD6BC3DBF436BE0D705306", True,
     {"text": "\x0c^ {}\\[~]|€"}),
    ("ofono-ems-udh-text-formatting", OFONO,
     "0041000B915121551532F40000631A0A031906200A032104100A032705040A032E05080A043807002B8ACD"
     "29A85D9ECFC3E7F21C340EBB41E3B79B1E4EBB41697A989D1EB340E2379BCC02B1C3F27399059AB7C36C"
     "3628EC2683C66FF65B5E2683E8653C1D", True,
     {"concat": None,
      "text": "EMS messages can contain italic, bold, large, small and colored text"}),
    ("warthog-submit-pdumode", WARTHOG,
     "07911614220991f1010005912143f500000bc8329bfd06dddf723619", True,
     {"recipient": "+12345", "text": "Hello world"}),
    ("warthog-submit-no-smsc", WARTHOG, "010005912143f500000bc8329bfd06dddf723619", False,
     {"smsc": None, "recipient": "+12345", "text": "Hello world"}),
    # --- SMS-STATUS-REPORT --------------------------------------------------------------------
    ("gsmmodem-status-report", GSMMODEM,
     "0006D60B911326880736F4111011719551401110117195714000", True,
     {"type": "status_report", "recipient": "+31628870634", "mr": 214, "status": 0,
      "state": "delivered", "scts": "2011-01-11T17:59:15+01:00",
      "discharge_time": "2011-01-11T17:59:17+01:00"}),
    ("gsmmodem-zte-semi-invalid-status-report", GSMMODEM,
     "0297F1061C0F910B487228297020F5317062419272803170624192138000", True,
     {"mr": 28, "scts": "2013-07-26T14:29:27+02:00",
      "discharge_time": "2013-07-26T14:29:31+02:00"}),
    ("ofono-status-report-international-negative-zone", OFONO,
     "06040D91945152991136F00160124130340A0160124130940A00", False,
     {"recipient": "+4915259911630", "mr": 4, "state": "delivered",
      "scts": "2010-06-21T14:03:43-05:00", "discharge_time": "2010-06-21T14:03:49-05:00"}),
    ("ofono-status-report-mr5", OFONO,
     "06050D91945152991136F00160124130640A0160124130450A00", False,
     {"recipient": "+4915259911630", "mr": 5, "status": 0}),
    ("ofono-status-report-national", OFONO,
     "0606098121436587F9019012413064A0019012413045A000", False,
     {"recipient": "123456789", "mr": 6, "tpdu_length": 24}),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "pdu", "has_smsc", "expected"),
    [pytest.param(*vector[1:], id=vector[0]) for vector in VECTORS],
)
def test_published_vector_decodes_as_its_source_asserts(
    source: str, pdu: str, has_smsc: bool, expected: dict[str, Any]
) -> None:
    view = pdu_to_json(decode_pdu(pdu, smsc=has_smsc))
    assert {key: view.get(key, "<missing>") for key in expected} == expected, source


def test_there_are_at_least_thirty_published_vectors() -> None:
    assert len(VECTORS) >= 30


def test_ofono_assembly_part_starts_with_the_russian_text() -> None:
    decoded = decode_pdu(OFONO_ASSEMBLY_PDU1)
    assert isinstance(decoded, Deliver)
    assert decoded.text is not None and decoded.text.startswith("Итак, Але")


def test_android_wap_push_keeps_the_octets_after_the_header() -> None:
    decoded = decode_pdu(ANDROID_WAP_PUSH_PART1)
    assert isinstance(decoded, Deliver)
    assert decoded.data is not None
    assert decoded.data.startswith(bytes.fromhex("010627") + b"application/vnd.wap.mms-message")


def test_submit_fields_beyond_the_json_view() -> None:
    decoded = decode_pdu("0005000B917228001011F10000094676788E064D9B53")  # GSMMODEM, RD set
    assert isinstance(decoded, Submit)
    assert decoded.reject_duplicates is True
    assert decoded.text == "Flash SMS"


def test_status_report_dataclass_matches_json() -> None:
    decoded = decode_pdu("0006D60B911326880736F4111011719551401110117195714000")  # GSMMODEM
    assert isinstance(decoded, StatusReport)
    assert decoded.scts is not None and decoded.discharge_time is not None
    assert (decoded.discharge_time - decoded.scts).total_seconds() == 2


def test_concat_dataclass_of_a_vector() -> None:
    decoded = decode_pdu(LOREM_CONCAT_SENDER)
    assert isinstance(decoded, Deliver)
    assert decoded.concat == Concat(ref=0xC3, total=1, seq=1)

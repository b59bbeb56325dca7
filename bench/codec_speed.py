"""How fast the PDU codec runs: decodes a mix of real PDUs, then encodes a mix of texts,
each for a few seconds, and prints operations per second.

Run: .venv/bin/python bench/codec_speed.py [--seconds N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from gatewayd.sms import decode_pdu, encode_deliver, encode_submit, pdu_to_json

MIX = [
    # SMS-DELIVER GSM-7 (oFono unit/test-sms.c), alphanumeric sender (oFono)
    "07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07",
    "0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9",
    # UCS-2 concatenated from an alphanumeric sender (python-gsmmodem test_pdu.py)
    "07919762020033F1400DD0CDF2396C7EBB010008415072411084618C0500035602010053004D005300200063"
    "006F00640065003A00200034003800350036002C00200063006F006E006600690072006D00610074006900"
    "6F006E0020006F00660020006100730073006F00630069006100740069006F006E00200062006500740077"
    "00650065006E0020006100630063006F0075006E007400200061006E00640020004D00650067",
    # SMS-SUBMIT with validity (python-gsmmodem), SMS-STATUS-REPORT (python-gsmmodem)
    "07911326040000F0310D0B911326880736F40000A90FF7FBDD454E87CDE1B0DB357EB701",
    "0006D60B911326880736F4111011719551401110117195714000",
]
LONG_GSM = "The quick brown fox jumps over the lazy dog {€}. " * 8
STAMP = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MIX.extend(part.pdu for part in encode_deliver("+5511990000001", LONG_GSM, scts=STAMP))


def _rate(operation: Callable[[], int], seconds: float) -> float:
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        done += operation()
    return done / (time.perf_counter() - started)


def _decode_mix() -> int:
    for pdu in MIX:
        decode_pdu(pdu)
    return len(MIX)


def _decode_to_json_mix() -> int:
    for pdu in MIX:
        pdu_to_json(decode_pdu(pdu))
    return len(MIX)


def _encode_mix() -> int:
    encode_submit("+5511990000001", "Hello, your code is 123456", mr=7, status_report=True)
    encode_submit("+5511990000001", "Olá! Código: 4321 😀", mr=8)
    encode_submit("0129998765", LONG_GSM, mr=9)  # three parts
    return 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    print(f"decode:          {_rate(_decode_mix, args.seconds):>10,.0f} PDUs/s")
    print(f"decode + JSON:   {_rate(_decode_to_json_mix, args.seconds):>10,.0f} PDUs/s")
    print(f"encode_submit:   {_rate(_encode_mix, args.seconds):>10,.0f} messages/s")


if __name__ == "__main__":
    main()

"""`gatewayd pdu decode` / `gatewayd pdu encode` (SPEC §3.1, §3.4): a few runs of the real
console script, the rest through main() in-process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayd.cli import main
from gatewayd.sms import Concat, decode_pdu

GATEWAYD = Path(sys.executable).parent / "gatewayd"
# sailfishos-native/ofono-mirror unit/test-sms.c simple_deliver
SIMPLE_DELIVER = "07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07"
# faucamp/python-gsmmodem test/test_pdu.py, SMS-STATUS-REPORT
STATUS_REPORT = "0006D60B911326880736F4111011719551401110117195714000"
# faucamp/python-gsmmodem test/test_pdu.py, 8-bit SMS-SUBMIT
EIGHT_BIT_SUBMIT = "0591721891F101000B917228214365F700040C48656C6C6F20776F726C6421"


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GATEWAYD), "pdu", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_console_script_decodes_one_pdu() -> None:
    result = _run("decode", SIMPLE_DELIVER)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["type"] == "deliver"
    assert view["sender"] == "+31641600986"
    assert view["scts"] == "2002-08-26T19:37:41-01:00"
    assert view["text"] == "How are you?"


def test_console_script_malformed_pdu_is_one_line_exit_1() -> None:
    result = _run("decode", "07911326040000F0040B91")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "truncated" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_stdin_mode_goes_on_after_errors() -> None:
    result = _run("decode", "-", stdin=f"{SIMPLE_DELIVER}\nnot-hex\n\n{STATUS_REPORT}\n")
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("type") for line in lines] == ["deliver", None, "status_report"]
    assert lines[1] == {"error": "PDU is not hexadecimal"}


def test_console_script_encode() -> None:
    result = _run("encode", "--to", "+5511990000001", "--status-report", "Olá mundo")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["encoding"] == "ucs2"  # "á" is not in the GSM alphabet
    assert len(out["parts"]) == 1


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["pdu", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_decode_keys_for_each_type(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _main(capsys, "decode", SIMPLE_DELIVER)
    assert set(json.loads(out)) == {
        "type",
        "smsc",
        "sender",
        "pid",
        "dcs",
        "encoding",
        "message_class",
        "scts",
        "concat",
        "text",
        "tpdu_length",
    }
    _, out, _ = _main(capsys, "decode", STATUS_REPORT)
    view = json.loads(out)
    assert set(view) == {
        "type",
        "smsc",
        "recipient",
        "mr",
        "scts",
        "discharge_time",
        "status",
        "state",
        "tpdu_length",
    }
    assert (view["mr"], view["state"]) == (214, "delivered")
    _, out, _ = _main(capsys, "decode", EIGHT_BIT_SUBMIT)
    view = json.loads(out)
    assert {"recipient", "mr", "status_report_requested", "data_hex"} <= set(view)
    assert "sender" not in view and "scts" not in view
    assert (view["text"], view["data_hex"]) == (None, "48656C6C6F20776F726C6421")


def test_decode_no_smsc(capsys: pytest.CaptureFixture[str]) -> None:
    # sailfishos-native/ofono-mirror unit/test-sms.c test_sr_assembly sr_pdu1 (no SMSC field)
    code, out, _ = _main(
        capsys, "decode", "--no-smsc", "06040D91945152991136F00160124130340A0160124130940A00"
    )
    assert code == 0
    assert json.loads(out)["recipient"] == "+4915259911630"
    code, _, err = _main(capsys, "decode", "06040D91945152991136F00160124130340A0160124130940A00")
    assert code == 1 and err.startswith("gatewayd pdu: error:")


def test_decode_stdin_all_good_exits_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{SIMPLE_DELIVER}\r\n{STATUS_REPORT}"))
    code, out, _ = _main(capsys, "decode", "-")
    assert code == 0
    assert len(out.splitlines()) == 2


def test_encode_parts_and_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(
        capsys,
        "encode",
        "--to",
        "+5511990000001",
        "--ref",
        "7",
        "--flash",
        "--reject-duplicates",
        "--validity",
        "60",
        "x" * 200,
    )
    assert code == 0
    result = json.loads(out)
    assert result["encoding"] == "gsm7"
    assert [part["pdu"][:2] for part in result["parts"]] == ["00", "00"]
    decoded = [decode_pdu(part["pdu"]) for part in result["parts"]]
    assert [getattr(item, "mr", None) for item in decoded] == [7, 8]
    assert [getattr(item, "concat", None) for item in decoded] == [Concat(7, 2, 1), Concat(7, 2, 2)]
    assert {getattr(item, "dcs", None) for item in decoded} == {0x10}
    assert all(part["tpdu_length"] == len(part["pdu"]) // 2 - 1 for part in result["parts"])


def test_encode_concat_ref_and_smsc(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(
        capsys,
        "encode",
        "--to",
        "0129998765",
        "--ref",
        "3",
        "--concat-ref",
        "700",
        "--smsc",
        "+5511999999999",
        "--encoding",
        "ucs2",
        "y" * 80,
    )
    assert code == 0
    result = json.loads(out)
    assert result["encoding"] == "ucs2"
    first = decode_pdu(result["parts"][0]["pdu"])
    assert getattr(first, "smsc", None) == "+5511999999999"
    assert getattr(first, "concat", None) == Concat(700, 2, 1)
    assert getattr(first, "status_report_requested", None) is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "+55 11", "hi"], "invalid recipient number"),
        (["--to", "abc", "hi"], "invalid recipient number"),
        (["--to", "+1", "--encoding", "gsm7", "łódź"], "GSM 7-bit"),
        (["--to", "+1", "--ref", "256", "hi"], "message reference"),
        (["--to", "+1", "--concat-ref", "70000", "hi"], "concat ref"),
        (["--to", "+1", "--validity", "0", "hi"], "validity"),
        (["--to", "+1", "a" * (153 * 255 + 1)], "at most 255"),
    ],
)
def test_encode_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = _main(capsys, "encode", *args)
    assert code != 0
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1

"""Arbitrary bytes into the PDU decoder, the AT line functions, the transport's line
splitter and the SMPP codec: with hypothesis in-process, then with atheris (coverage-guided)
in a subprocess for a bounded number of runs. The targets live in
:mod:`tests.support.fuzz_targets`."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewayd.sms import encode_deliver, encode_status_report, encode_submit
from tests.support.fuzz_smpp_server import fuzz_smpp_server
from tests.support.fuzz_targets import TARGETS, fuzz_decode, fuzz_lines, fuzz_smpp, fuzz_transport
from tests.support.smpp_samples import SAMPLE_FRAMES
from tests.support.tools import require_module

REPO = Path(__file__).resolve().parents[2]
ATHERIS_RUNS = int(os.environ.get("SMSGW_FUZZ_RUNS", "8000"))
AT_WORDS = [
    b"OK",
    b"ERROR",
    b"+CMS ERROR: 500",
    b"+CME ERROR: 10",
    b"> ",
    b"\r\n",
    b"\r",
    b"\x1a",
    b"\x1b",
    b'+CMTI: "SM",1',
    b"+CDS: 25",
    b"+CMT: ,23",
    b"+CMGS: 12",
    b"RING",
    b"\xff\xfe",
    b"0791551100000000",
]
at_streams = st.lists(
    st.one_of(st.binary(max_size=48), st.sampled_from(AT_WORDS)), max_size=40
).map(b"".join)


def real_pdus() -> list[bytes]:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    found = [bytes.fromhex(p.pdu) for p in encode_submit("+5511987654321", "hello Ж" * 30)]
    found += [bytes.fromhex(p.pdu) for p in encode_deliver("+5511987654321", "hi", scts=now)]
    report = encode_status_report("+5511987654321", 7, scts=now, discharge_time=now, status=0)
    return [*found, bytes.fromhex(report.pdu)]


mutated_pdus = st.tuples(
    st.sampled_from(real_pdus()), st.integers(0, 200), st.binary(max_size=8)
).map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]) :])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), mutated_pdus))
def test_decoder_takes_any_bytes(data: bytes) -> None:
    fuzz_decode(data)


def _mutate_smpp(frame: bytes, at: int, patch: bytes, keep_length: bool) -> bytes:
    mutated = frame[:at] + patch + frame[at + len(patch) :]
    if keep_length:  # past the framing check, into the body parser
        mutated = len(mutated).to_bytes(4, "big") + mutated[4:]
    return mutated


mutated_smpp = st.builds(
    _mutate_smpp,
    st.sampled_from(SAMPLE_FRAMES),
    st.integers(0, 160),
    st.binary(min_size=1, max_size=8),
    st.booleans(),
)
smpp_streams = st.lists(
    st.one_of(st.sampled_from(SAMPLE_FRAMES), mutated_smpp, st.binary(max_size=24)), max_size=6
).map(b"".join)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), mutated_smpp, smpp_streams))
def test_smpp_codec_takes_any_bytes(data: bytes) -> None:
    fuzz_smpp(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), mutated_smpp, smpp_streams))
def test_smpp_server_connection_takes_any_bytes(data: bytes) -> None:
    fuzz_smpp_server(data)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.binary(max_size=300), at_streams))
def test_line_functions_take_any_bytes(data: bytes) -> None:
    fuzz_lines(data)


@settings(max_examples=400, deadline=None)
@given(at_streams)
def test_transport_splits_any_stream(data: bytes) -> None:
    fuzz_transport(data)


@pytest.mark.parametrize("target", sorted(TARGETS))
async def test_atheris_bounded_run(target: str, tmp_path: Path) -> None:
    require_module("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, pdu in enumerate(real_pdus()):
        (corpus / f"seed{n}").write_bytes(pdu)
    for n, frame in enumerate(SAMPLE_FRAMES):
        (corpus / f"smpp{n}").write_bytes(frame)
    (corpus / "at").write_bytes(b'\r\n+CMTI: "SM",3\r\n\r\n+CDS: 25\r\n0791\r\n> OK\r\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.fuzz_targets",
        target,
        f"-runs={ATHERIS_RUNS}",
        "-max_total_time=12",
        "-rss_limit_mb=1024",
        f"-artifact_prefix={tmp_path}/",
        str(corpus),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 90)
    finally:  # a run past the deadline must not outlive the test (nor its event loop)
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    assert "Done" in text or "DONE" in text, text[-2000:]


@pytest.mark.parametrize("line", ["+CDS: ³", "+CMT: ,²", "+CMS ERROR: ¹", '+CMTI: "SM",٣'])
def test_unicode_digits_from_a_modem_are_not_numbers(line: str) -> None:
    """Found by atheris: ``"³".isdigit()`` is true and ``int("³")`` raises ValueError."""
    fuzz_lines(line.encode())
    fuzz_transport(b"\x01\r\n" + line.encode() + b"\r\n0791\r\nOK\r\n")


def test_bytes_after_an_unbind_are_not_answered() -> None:
    """A bind, an unbind, then a header too short to be one: the session ended at the unbind."""
    fuzz_smpp_server(
        bytes.fromhex(
            "00000025000000010000000000000000000000000000010101010101010101010101010100"
            "0000001000000006000000000000000000000000"
        )
    )

"""Cutting a byte stream into frames: whole frames however the stream is chunked, and
ESME_RINVCMDLEN at a command_length that cannot be right.

Streams marked CLOUDHOPPER come from twitter-archive/cloudhopper-smpp
src/test/java/com/cloudhopper/smpp/transcoder/PduDecoderTest.java
@ 0bbe117f25bcf4de0795a107b3b34bb5b210b923.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.smpp import (
    CommandStatus,
    EnquireLinkResp,
    FrameBuffer,
    PduError,
    decode,
    split_frame,
)
from tests.support.smpp_samples import SAMPLE_FRAMES

STREAM = b"".join(SAMPLE_FRAMES)


@pytest.mark.parametrize("partial", ["000000", "00000010", "0000001000000015000000000a342e"])
def test_incomplete_header_or_frame_waits(partial: str) -> None:
    """CLOUDHOPPER decodeLessThan4Bytes, decodeOnly4Bytes, decodeLessThan16Bytes."""
    assert split_frame(bytes.fromhex(partial), 4096) == (None, 0)


def test_two_frames_the_second_completed_later() -> None:
    """CLOUDHOPPER decodeTwoEnquireLinkRespButWithReadRequiredInBetween."""
    frames = FrameBuffer()
    first = list(
        frames.feed(bytes.fromhex("0000001080000015000000000a342eed0000001080000015000000000a342e"))
    )
    assert [decode(frame) for frame in first] == [EnquireLinkResp(sequence_number=171192045)]
    assert frames.pending == 15
    second = list(frames.feed(b"\xf1"))
    assert [decode(frame) for frame in second] == [EnquireLinkResp(sequence_number=171192049)]
    assert frames.pending == 0


def test_unknown_command_is_one_frame_and_the_next_still_reads() -> None:
    """CLOUDHOPPER decodeBadPduButSkipAllDataInBuffer: framing is by length alone."""
    stream = bytes.fromhex("0000001100000110000000000a342ee70F0000001000000015000000000a342ee7")
    frames = list(FrameBuffer().feed(stream))
    assert len(frames) == 2
    with pytest.raises(PduError) as raised:
        decode(frames[0])
    assert raised.value.status == CommandStatus.ESME_RINVCMDID
    assert decode(frames[1]).sequence_number == 171192039


@pytest.mark.parametrize(
    ("stream", "command_id", "sequence"),
    [
        # CLOUDHOPPER decodeSignedIntLength: 0xF0000011 octets
        ("F000001100000110000000000a342ee7", 0x110, 0x0A342EE7),
        ("0000000f000000150000000000000007", 0x15, 7),
        ("00000000", None, None),
        ("0001000100000004", None, None),
    ],
)
def test_impossible_command_length_is_rinvcmdlen(
    stream: str, command_id: int | None, sequence: int | None
) -> None:
    with pytest.raises(PduError) as raised:
        split_frame(bytes.fromhex(stream), 65536)
    error = raised.value
    assert error.status == CommandStatus.ESME_RINVCMDLEN
    assert (error.command_id, error.sequence_number) == (command_id, sequence)


def test_frames_before_a_bad_length_come_out_then_the_buffer_stays_broken() -> None:
    frames = FrameBuffer(max_length=1024)
    got = []
    with pytest.raises(PduError) as raised:
        for frame in frames.feed(SAMPLE_FRAMES[0] + (2048).to_bytes(4, "big") + bytes(12)):
            got.append(frame)
    assert got == [SAMPLE_FRAMES[0]]
    assert "command_length 2048 outside 16..1024" in str(raised.value)
    with pytest.raises(PduError):
        list(frames.feed(SAMPLE_FRAMES[1]))


def test_max_length_below_a_header_is_refused() -> None:
    with pytest.raises(ValueError, match="shorter than a header"):
        FrameBuffer(max_length=15)


def test_split_frame_from_an_offset() -> None:
    frame, consumed = split_frame(STREAM, 65536, start=len(SAMPLE_FRAMES[0]))
    assert (frame, consumed) == (SAMPLE_FRAMES[1], len(SAMPLE_FRAMES[1]))


def test_leaving_the_loop_early_keeps_the_rest() -> None:
    frames = FrameBuffer()
    for frame in frames.feed(STREAM):
        assert frame == SAMPLE_FRAMES[0]
        break
    assert list(frames.feed(b"")) == list(SAMPLE_FRAMES[1:])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=200))
def test_any_chunking_gives_the_same_frames(sizes: list[int]) -> None:
    frames = FrameBuffer(max_length=4096)
    got: list[bytes] = []
    position = 0
    for size in sizes * (len(STREAM) // sum(sizes) + 1):
        got.extend(frames.feed(STREAM[position : position + size]))
        position += size
        if position >= len(STREAM):
            break
    assert got == list(SAMPLE_FRAMES)
    assert frames.pending == 0


def test_one_octet_at_a_time() -> None:
    frames = FrameBuffer()
    got = [frame for octet in STREAM for frame in frames.feed(bytes((octet,)))]
    assert got == list(SAMPLE_FRAMES)

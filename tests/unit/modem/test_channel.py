"""The AT channel against a scripted device on a real pty."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gatewayd.modem.channel import AtChannel
from gatewayd.modem.errors import (
    AtCommandError,
    AtTimeout,
    ErrorAction,
    ModemDisconnected,
    NotFollowed,
    PromptTimeout,
    SendFenced,
)

from .conftest import Recorder
from .fake_device import FakeDevice, final, ok

CMT_PDU = "07915892000000F0040B915121551532F400003290220161650003C16010"
NOTHING_WINDOW = 0.1
"""Seconds a test waits for something that must not happen (a command is written within
a millisecond when the line is free)."""


async def test_command_returns_its_answer_lines(device: FakeDevice, channel: AtChannel) -> None:
    device.answers["AT+CSQ"] = ok("+CSQ: 21,99")
    response = await channel.command("AT+CSQ")
    assert response.values("+CSQ") == ["21,99"]
    assert device.commands == ["AT+CSQ"]


async def test_echo_of_the_command_is_ignored(device: FakeDevice, channel: AtChannel) -> None:
    device.echo = True
    device.answers["AT+CGMI"] = ok("ACME Wireless")
    response = await channel.command("AT+CGMI")
    assert response.lines == ("ACME Wireless",)


async def test_unsolicited_in_the_middle_of_an_answer_reaches_listeners(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    device.answers["AT+CSQ"] = b'\r\n+CSQ: 18,99\r\n\r\n+CMTI: "SM",4\r\n\r\nOK\r\n'
    response = await channel.command("AT+CSQ")
    assert response.lines == ("+CSQ: 18,99",)
    events = await recorder.wait_for(1)
    assert events[0].name == "+CMTI"
    assert events[0].args == '"SM",4'


async def test_cmt_header_and_pdu_line_arrive_as_one_event(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    tpdu_length = len(CMT_PDU) // 2 - 8
    device.send(f"\r\n+CMT: ,{tpdu_length}\r\n{CMT_PDU}\r\n")
    events = await recorder.wait_for(1)
    assert (events[0].name, events[0].pdu) == ("+CMT", CMT_PDU)


async def test_cmt_during_a_command_does_not_leak_its_pdu_into_the_answer(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    tpdu_length = len(CMT_PDU) // 2 - 8
    device.answers["AT+CGSN"] = (
        f"\r\n+CMT: ,{tpdu_length}\r\n{CMT_PDU}\r\n\r\n356938035643809\r\n\r\nOK\r\n"
    )
    response = await channel.command("AT+CGSN")
    assert response.lines == ("356938035643809",)
    events = await recorder.wait_for(1)
    assert events[0].pdu == CMT_PDU


async def test_cds_header_and_pdu(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    report = "0006D60B911326880736F4111011719551401110117195714000"
    device.send(f"\r\n+CDS: {len(report) // 2 - 1}\r\n{report}\r\n")
    events = await recorder.wait_for(1)
    assert (events[0].name, events[0].pdu) == ("+CDS", report)


async def test_header_without_a_valid_pdu_line_keeps_the_next_line(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    device.answers["AT+CSQ"] = b"\r\n+CMT: ,20\r\n+CSQ: 9,99\r\n\r\nOK\r\n"
    response = await channel.command("AT+CSQ")
    assert response.values("+CSQ") == ["9,99"]
    events = await recorder.wait_for(1)
    assert (events[0].name, events[0].pdu) == ("+CMT", None)


async def test_garbage_is_skipped_and_vendor_codes_go_to_listeners(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    device.answers["AT+CSQ"] = (
        b"\x00\xff\xfe\x81junk\r\n^RSSI:12\r\n^BOOT:1,0,0,4,0\r\n\r\n+CSQ: 5,99\r\n\r\nOK\r\n"
    )
    response = await channel.command("AT+CSQ")
    assert response.lines == ("+CSQ: 5,99",)
    assert channel.garbage_bytes >= 8
    events = await recorder.wait_for(2)
    assert [event.name for event in events] == ["^RSSI", "^BOOT"]


async def test_unterminated_junk_is_bounded_and_dropped(
    device: FakeDevice, channel: AtChannel
) -> None:
    device.send(b"Z" * 10_000)
    device.answers["AT+CSQ"] = ok("+CSQ: 7,99")
    response = await channel.command("AT+CSQ")
    assert response.values("+CSQ") == ["7,99"]
    assert channel.garbage_bytes >= 4096


async def test_hang_times_out_then_next_command_works(
    device: FakeDevice, channel: AtChannel
) -> None:
    device.answers["AT+CIMI"] = None
    with pytest.raises(AtTimeout) as caught:
        await channel.command("AT+CIMI", timeout=0.2)
    assert caught.value.action is ErrorAction.REINITIALISE
    device.answers["AT+CSQ"] = ok("+CSQ: 10,99")
    response = await channel.command("AT+CSQ")
    assert response.values("+CSQ") == ["10,99"]
    assert "AT" in device.commands
    assert device.escapes >= 1


async def test_disconnect_fails_the_waiter_and_tells_listeners(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    device.answers["AT+COPS?"] = None
    waiter = asyncio.create_task(channel.command("AT+COPS?"))
    await device.wait_for_command(lambda cmd: cmd == "AT+COPS?")
    device.disconnect()
    with pytest.raises(ModemDisconnected):
        await asyncio.wait_for(waiter, 5)
    error = await recorder.wait_disconnect()
    assert error.action is ErrorAction.REINITIALISE
    with pytest.raises(ModemDisconnected):
        await channel.command("AT")
    assert not channel.is_open


@pytest.mark.parametrize(
    ("reply", "kind", "code", "action"),
    [
        ("+CMS ERROR: 330", "CMS", 330, ErrorAction.TRY_OTHER_MODEM),
        ("+CMS ERROR: 42", "CMS", 42, ErrorAction.RETRY_LATER),
        ("+CMS ERROR: 1", "CMS", 1, ErrorAction.FAIL_MESSAGE),
        ("+CMS ERROR: 331", "CMS", 331, ErrorAction.TRY_OTHER_MODEM),
        ("+CME ERROR: 11", "CME", 11, ErrorAction.TRY_OTHER_MODEM),
        ("+CMS ERROR: 777", "CMS", 777, ErrorAction.RETRY_LATER),
        ("ERROR", "ERROR", None, ErrorAction.RETRY_LATER),
    ],
)
async def test_error_results_are_classified(
    device: FakeDevice,
    channel: AtChannel,
    reply: str,
    kind: str,
    code: int | None,
    action: ErrorAction,
) -> None:
    device.answers["AT+CMGR=1"] = final(reply)
    with pytest.raises(AtCommandError) as caught:
        await channel.command("AT+CMGR=1")
    assert (caught.value.kind, caught.value.code, caught.value.action) == (kind, code, action)
    assert caught.value.meaning


async def test_prompt_never_arriving_sends_esc_and_recovers(
    device: FakeDevice, channel: AtChannel
) -> None:
    device.send_prompt = False
    with pytest.raises(PromptTimeout):
        await channel.command_with_prompt("AT+CMGS=20", "00" * 21, prompt_timeout=0.2)
    device.answers["AT+CSQ"] = ok("+CSQ: 3,99")
    assert (await channel.command("AT+CSQ")).values("+CSQ") == ["3,99"]
    assert device.escapes >= 1  # read by the device before the commands that follow
    assert device.payloads == []


async def test_error_instead_of_prompt(device: FakeDevice, channel: AtChannel) -> None:
    device.answers["AT+CMGS=5"] = final("+CMS ERROR: 304")
    with pytest.raises(AtCommandError) as caught:
        await channel.command_with_prompt("AT+CMGS=5", "0011")
    assert caught.value.code == 304
    assert caught.value.action is ErrorAction.FAIL_MESSAGE


async def test_prompt_exchange_with_echo(device: FakeDevice, channel: AtChannel) -> None:
    device.echo = True
    response = await channel.command_with_prompt("AT+CMGS=3", "00010203")
    assert response.values("+CMGS") == ["7"]
    assert device.payloads == ["00010203"]


async def test_cancelled_send_still_completes_and_channel_stays_usable(
    device: FakeDevice, channel: AtChannel
) -> None:
    answer_now: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def slow_reply(_command: str, _pdu: str) -> None:
        answer_now.add_done_callback(lambda _: device.send(ok("+CMGS: 99")))

    device.prompt_reply = slow_reply
    sender = asyncio.create_task(channel.command_with_prompt("AT+CMGS=3", "00AABBCC"))
    await device.wait_for_command(lambda cmd: cmd.startswith("AT+CMGS"))
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    device.answers["AT+CSQ"] = ok("+CSQ: 30,99")
    follow_up = asyncio.create_task(channel.command("AT+CSQ"))
    # Still queued behind the shielded exchange: nothing reaches the device for a while.
    with pytest.raises(TimeoutError):
        await device.wait_for_command(lambda cmd: cmd == "AT+CSQ", timeout=NOTHING_WINDOW)
    assert not follow_up.done()
    answer_now.set_result(None)
    response = await asyncio.wait_for(follow_up, 5)
    assert response.values("+CSQ") == ["30,99"]
    assert device.payloads == ["00AABBCC"]
    assert device.escapes == 0


async def test_one_byte_at_a_time(
    device: FakeDevice, channel: AtChannel, recorder: Recorder
) -> None:
    device.one_byte_at_a_time = True
    device.answers["AT+CSQ"] = b'\r\n+CSQ: 12,99\r\n\r\n+CMTI: "ME",1\r\n\r\nOK\r\n'
    response = await channel.command("AT+CSQ")
    assert response.values("+CSQ") == ["12,99"]
    response = await channel.command_with_prompt("AT+CMGS=2", "000102")
    assert response.values("+CMGS") == ["7"]
    events = await recorder.wait_for(1)
    assert events[0].args == '"ME",1'


async def test_commands_are_serialised(device: FakeDevice, channel: AtChannel) -> None:
    device.handler = lambda cmd: ok(f"+CMGR: {cmd.split('=')[1]},,0", "00")
    results = await asyncio.gather(*(channel.command(f"AT+CMGR={i}") for i in range(5)))
    assert [r.values("+CMGR") for r in results] == [[f"{i},,0"] for i in range(5)]
    assert device.commands == [f"AT+CMGR={i}" for i in range(5)]


async def test_socket_url_and_remote_close(recorder: Recorder) -> None:
    connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                if (await reader.readuntil(b"\r")).strip() == b"AT+CSQ":
                    writer.write(b"\r\n+CSQ: 11,99\r\n\r\nOK\r\n")

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    channel = AtChannel("socket", settle_time=0.01)
    channel.add_disconnect_listener(recorder.disconnected)
    try:
        await channel.open(f"socket://127.0.0.1:{port}")
        assert (await channel.command("AT+CSQ")).values("+CSQ") == ["11,99"]
        connections[0].close()
        await recorder.wait_disconnect()
        with pytest.raises(ModemDisconnected):
            await channel.command("AT+CSQ")
    finally:
        await channel.close()
        server.close()
        await server.wait_closed()


async def test_opening_a_missing_device_is_a_disconnect() -> None:
    with pytest.raises(ModemDisconnected):
        await AtChannel("missing").open("/dev/does-not-exist-modem")


class HeldAnswers:
    """The device answers each PDU only when the test says so, with what it says."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.due: list[asyncio.Future[str]] = []
        device.prompt_reply = self._reply

    def _reply(self, _command: str, _pdu: str) -> None:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        answer.add_done_callback(lambda f: self.device.send(f.result()))
        self.due.append(answer)

    async def answer(self, index: int, text: str) -> None:
        async def arrived() -> None:
            while len(self.due) <= index:
                await self.device.wait_for_command(lambda _c: True)
                await asyncio.sleep(0)

        await asyncio.wait_for(arrived(), 5)
        self.due[index].set_result(text)


async def wait_payloads(device: FakeDevice, count: int) -> None:
    async def enough() -> None:
        while len(device.payloads) < count:
            await device.wait_for_command(lambda _c: True)
            await asyncio.sleep(0)

    await asyncio.wait_for(enough(), 5)


async def test_a_send_follows_the_one_in_flight_on_its_own(
    device: FakeDevice, channel: AtChannel
) -> None:
    held = HeldAnswers(device)
    first = asyncio.create_task(channel.command_with_prompt("AT+CMGS=3", "00AABBCC"))
    await wait_payloads(device, 1)
    follow = channel.follow_with_prompt("AT+CMGS=3", "00DDEEFF")
    assert follow is not None
    started, answer = follow
    assert not started.done()
    await held.answer(0, ok("+CMGS: 1"))
    assert (await asyncio.wait_for(first, 5)).values("+CMGS") == ["1"]
    assert started.done()  # written by the handler of the first answer, nobody asked again
    await held.answer(1, ok("+CMGS: 2"))
    assert (await asyncio.wait_for(answer, 5)).values("+CMGS") == ["2"]
    assert device.payloads == ["00AABBCC", "00DDEEFF"]
    device.answers["AT+CSQ"] = ok("+CSQ: 9,99")
    assert (await asyncio.wait_for(channel.command("AT+CSQ"), 5)).values("+CSQ") == ["9,99"]


async def test_no_follower_after_a_failed_send(device: FakeDevice, channel: AtChannel) -> None:
    held = HeldAnswers(device)
    first = asyncio.create_task(channel.command_with_prompt("AT+CMGS=3", "00AABBCC"))
    await wait_payloads(device, 1)
    follow = channel.follow_with_prompt("AT+CMGS=3", "00DDEEFF")
    assert follow is not None
    await held.answer(0, final("+CMS ERROR: 500"))
    with pytest.raises(AtCommandError):
        await asyncio.wait_for(first, 5)
    with pytest.raises(NotFollowed):
        await asyncio.wait_for(follow[1], 5)
    device.answers["AT+CSQ"] = ok("+CSQ: 9,99")
    assert (await asyncio.wait_for(channel.command("AT+CSQ"), 5)).values("+CSQ") == ["9,99"]
    assert device.payloads == ["00AABBCC"]
    assert [c for c in device.commands if c.startswith("AT+CMGS")] == ["AT+CMGS=3"]


async def test_a_follower_gives_way_to_a_waiting_command(
    device: FakeDevice, channel: AtChannel
) -> None:
    held = HeldAnswers(device)
    first = asyncio.create_task(channel.command_with_prompt("AT+CMGS=3", "00AABBCC"))
    await wait_payloads(device, 1)
    follow = channel.follow_with_prompt("AT+CMGS=3", "00DDEEFF")
    assert follow is not None
    device.answers["AT+CMGR=4"] = ok("+CMGR: 0,,3", "00010203")
    read = asyncio.create_task(channel.command("AT+CMGR=4"))
    await asyncio.sleep(0)  # the read now waits for the line
    await held.answer(0, ok("+CMGS: 1"))
    await asyncio.wait_for(first, 5)
    with pytest.raises(NotFollowed):
        await asyncio.wait_for(follow[1], 5)
    assert (await asyncio.wait_for(read, 5)).values("+CMGR") == ["0,,3"]
    assert device.payloads == ["00AABBCC"]


async def test_a_follower_needs_an_answer_it_accepts(
    device: FakeDevice, channel: AtChannel
) -> None:
    held = HeldAnswers(device)
    first = asyncio.create_task(channel.command_with_prompt("AT+CMGS=3", "00AABBCC"))
    await wait_payloads(device, 1)
    follow = channel.follow_with_prompt("AT+CMGS=3", "00DDEEFF", when=lambda lines: False)
    assert follow is not None
    await held.answer(0, ok("+CMGS: 1"))
    await asyncio.wait_for(first, 5)
    with pytest.raises(NotFollowed):
        await asyncio.wait_for(follow[1], 5)
    assert device.payloads == ["00AABBCC"]


async def test_a_withdrawn_follower_is_never_written(
    device: FakeDevice, channel: AtChannel
) -> None:
    held = HeldAnswers(device)
    first = asyncio.create_task(channel.command_with_prompt("AT+CMGS=3", "00AABBCC"))
    await wait_payloads(device, 1)
    follow = channel.follow_with_prompt("AT+CMGS=3", "00DDEEFF")
    assert follow is not None
    follow[0].cancel()
    await held.answer(0, ok("+CMGS: 1"))
    await asyncio.wait_for(first, 5)
    device.answers["AT+CSQ"] = ok("+CSQ: 9,99")
    assert (await asyncio.wait_for(channel.command("AT+CSQ"), 5)).values("+CSQ") == ["9,99"]
    assert device.payloads == ["00AABBCC"]


async def test_nothing_to_follow_when_the_line_is_idle(channel: AtChannel) -> None:
    assert channel.follow_with_prompt("AT+CMGS=3", "00DDEEFF") is None


async def test_a_guard_that_says_no_writes_nothing(device: FakeDevice, channel: AtChannel) -> None:
    with pytest.raises(SendFenced, match="not written"):
        await channel.command_with_prompt("AT+CMGS=3", "00AABBCC", guard=lambda: False)
    assert [c for c in device.commands if c.startswith("AT+CMGS")] == []
    assert device.payloads == []


async def test_a_guard_that_says_no_at_the_prompt_cancels_with_esc(
    device: FakeDevice, channel: AtChannel
) -> None:
    """Allowed when the command is written, refused when the PDU would be: ESC instead of the
    PDU (the point of no return), and the line is usable again."""
    verdicts = iter([True, False])
    with pytest.raises(SendFenced, match="ESC sent"):
        await channel.command_with_prompt("AT+CMGS=3", "00AABBCC", guard=lambda: next(verdicts))
    assert device.payloads == []
    device.answers["AT+CSQ"] = ok("+CSQ: 9,99")
    assert (await asyncio.wait_for(channel.command("AT+CSQ"), 5)).values("+CSQ") == ["9,99"]
    assert device.escapes >= 1


async def test_a_follower_is_not_started_when_its_guard_says_no(
    device: FakeDevice, channel: AtChannel
) -> None:
    held = HeldAnswers(device)
    allowed = True
    first = asyncio.create_task(channel.command_with_prompt("AT+CMGS=3", "00AABBCC"))
    await wait_payloads(device, 1)
    follow = channel.follow_with_prompt("AT+CMGS=3", "00DDEEFF", guard=lambda: allowed)
    assert follow is not None
    allowed = False  # the lease lapsed while the first part was on the wire
    await held.answer(0, ok("+CMGS: 1"))
    await asyncio.wait_for(first, 5)
    with pytest.raises(NotFollowed, match="guard"):
        await asyncio.wait_for(follow[1], 5)
    assert device.payloads == ["00AABBCC"]
    assert [c for c in device.commands if c.startswith("AT+CMGS")] == ["AT+CMGS=3"]

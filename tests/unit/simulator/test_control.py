"""The HTTP control API of the simulated network."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gatewayd.simulator import SimNetwork, create_control_app
from gatewayd.sms import encode_submit
from tests.unit.simulator.conftest import Wire


@pytest.fixture
async def client(network: SimNetwork) -> AsyncIterator[TestClient[object, object]]:
    network.add_modems(2)
    async with TestClient(TestServer(create_control_app(network))) as test_client:
        yield test_client


async def test_incoming_long_text_arrives_in_parts(
    client: TestClient[object, object], network: SimNetwork
) -> None:
    wire = Wire(network.modems[1])
    wire.send("ATE0;+CNMI=2,1,0,1,0\r")
    wire.output.clear()
    response = await client.post("/modems/1/incoming", json={"from": "+5521987", "text": "a" * 300})
    assert response.status == 202
    assert await response.json() == {"modem": 1, "parts": 2}
    assert bytes(wire.output) == b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n'


async def test_fault_and_modem_state(
    client: TestClient[object, object], network: SimNetwork
) -> None:
    response = await client.post("/modems/0/fault", json={"kind": "cms_error", "code": 38})
    assert response.status == 200
    state = await (await client.get("/modems")).json()
    assert state[0]["cms_error"] == {"code": 38, "count": 1}
    assert state[1]["cms_error"] is None


async def test_ledger_lists_accepted_parts(
    client: TestClient[object, object], network: SimNetwork
) -> None:
    assert await (await client.get("/ledger")).json() == []
    wire = Wire(network.modems[0])
    [part] = encode_submit("+5521987654321", "to the ledger")
    wire.send(f"ATE0;+CMGS={part.tpdu_length}\r")
    assert wire.send(part.pdu.encode() + b"\x1a") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    [entry] = await (await client.get("/ledger")).json()
    assert (entry["modem"], entry["text"], entry["mr"]) == (0, "to the ledger", 0)


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/modems/0/fault", {"kind": "explode"}, 400, "invalid_fault"),
        ("/modems/0/fault", {"kind": "hang"}, 400, "invalid_fault"),
        ("/modems/0/fault", [1, 2], 400, "invalid_json"),
        ("/modems/9/fault", {"kind": "clear"}, 404, "unknown_modem"),
        ("/modems/0/incoming", {"from": "+55", "text": ""}, 400, "invalid_text"),
        ("/modems/0/incoming", {"text": "x"}, 400, "invalid_from"),
        ("/modems/0/incoming", {"from": "not a number!", "text": "x"}, 400, "invalid_message"),
    ],
)
async def test_bad_requests_get_json_errors(
    client: TestClient[object, object], path: str, body: object, status: int, code: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code

"""A Python client generated from the OpenAPI document (openapi-python-client) sends a message
and reads it back: the document is precise enough for a program to be written from it alone
(the answer's ``kind`` picks the right model, ``Location`` names the new message)."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.web.conftest import WebEnv

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
NUMBER = "+5511987654321"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == "smsgw_client"]:
            del sys.modules[name]


async def generate(web: WebEnv, folder: Path) -> None:
    document = await (await web.client.get("/api/openapi.json")).json()
    source = folder / "openapi.json"
    source.write_text(json.dumps(document))
    process = await asyncio.create_subprocess_exec(
        str(GENERATOR),
        "generate",
        "--path",
        str(source),
        "--meta",
        "none",
        "--output-path",
        str(folder / "smsgw_client"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PATH": f"{GENERATOR.parent}:{os.environ.get('PATH', '')}"},
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, output.decode()
    assert (folder / "smsgw_client" / "api" / "messages" / "send_message.py").exists()


def load(name: str) -> ModuleType:
    return importlib.import_module(f"smsgw_client.{name}")


async def test_a_generated_client_sends_a_message_and_reads_it_back(
    web: WebEnv, importable: Path
) -> None:
    await generate(web, importable)
    client_module = load("client")
    send_message = load("api.messages.send_message")
    get_message = load("api.messages.get_message")
    list_messages = load("api.messages.list_messages")
    models = load("models")

    base_url = str(web.client.make_url("/")).rstrip("/")
    client = client_module.AuthenticatedClient(base_url=base_url, token=web.keys["operator"])
    body = models.SendRequest(to=NUMBER, text="Olá do cliente gerado")
    sent = await send_message.asyncio_detailed(client=client, body=body)
    assert sent.status_code == 202
    message = sent.parsed
    assert isinstance(message, models.Message), type(message)
    assert message.kind == "message" and message.to == NUMBER
    assert sent.headers["Location"] == f"/api/v1/messages/{message.id}"

    batch = await send_message.asyncio(
        client=client, body=models.SendRequest(to=[NUMBER, "+5521987654321"], text="a dois")
    )
    assert isinstance(batch, models.MessageBatch)
    assert batch.kind == "batch" and len(batch.messages) == 2

    again = await get_message.asyncio(client=client, id=message.id)
    assert isinstance(again, models.Message)
    assert (again.id, again.text, again.status) == (message.id, "Olá do cliente gerado", "queued")
    assert again.timeline is not None and again.timeline[0].status == "queued"

    found = await list_messages.asyncio(client=client, q="cliente gerado")
    assert isinstance(found, models.MessagePage)
    assert [m.id for m in found.messages] == [message.id]

    refused = await send_message.asyncio_detailed(
        client=client, body=models.SendRequest(to="12345", text="x")
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.ErrorBody)
    assert refused.parsed.error.code == "invalid_number"

"""The opt-out page through its forms, on PostgreSQL and SQLite: add, search, import pasted
CSV, export (formula-safe), remove, words saved by an admin and refused to an operator."""

from __future__ import annotations

from sqlalchemy import select

from gatewayd.queue.suppression import load_settings
from gatewayd.store import audit_log
from tests.integration.web.conftest import WebEnv, csrf_from, login

NUMBER = "+5511987650001"


async def form_post(web: WebEnv, path: str, data: dict[str, str]) -> int:
    page = await web.client.get("/optouts")
    token = csrf_from(await page.text())
    answer = await web.client.post(path, data={**data, "csrf_token": token}, allow_redirects=False)
    return answer.status


async def test_operator_adds_imports_searches_exports_removes(web: WebEnv) -> None:
    await login(web.client, "operator")
    assert (
        await form_post(web, "/optouts", {"number": NUMBER, "kind": "opt_out", "note": "phone"})
        == 303
    )
    rows = "number,note\n+5511987650002,=HYPERLINK(1)\n+55219*,\nnonsense,x\n"
    assert await form_post(web, "/optouts/import", {"csv": rows, "kind": "block"}) == 303
    page = await (await web.client.get("/optouts")).text()
    assert "1 refused" in page and "3 entries" in page
    found = await (await web.client.get("/optouts?q=phone")).text()
    assert NUMBER in found and "+5511987650002" not in found
    exported = await (await web.client.get("/optouts/export.csv")).text()
    assert "+55219*,block" in exported and "'=HYPERLINK(1)" in exported
    assert await form_post(web, "/optouts/remove", {"number": NUMBER, "kind": "opt_out"}) == 303
    after = await (await web.client.get("/optouts")).text()
    assert f'data-number="{NUMBER}"' not in after and "removed." in after
    async with web.db.read() as conn:
        actions = [row[0] for row in await conn.execute(select(audit_log.c.action))]
    assert {"optout.add", "block.import", "optout.remove"} <= set(actions)


async def test_words_admin_only(web: WebEnv) -> None:
    await login(web.client, "operator")
    words = {
        "stop_words": "BASTA STOP",
        "start_words": "VOLTAR",
        "stop_reply": "",
        "start_reply": "ok",
    }
    assert await form_post(web, "/optouts/words", words) == 403
    await web.client.post(
        "/logout", data={"csrf_token": csrf_from(await (await web.client.get("/optouts")).text())}
    )
    await login(web.client, "admin")
    assert await form_post(web, "/optouts/words", words) == 303
    clash = {**words, "start_words": "stop"}
    assert await form_post(web, "/optouts/words", clash) == 303
    async with web.db.read() as conn:
        saved = await load_settings(conn)
    assert saved.stop_words == ("BASTA", "STOP") and saved.stop_reply == ""
    assert saved.word_of("básta") is not None


async def test_pages_in_portuguese(web: WebEnv) -> None:
    await login(web.client, "viewer")
    page = await web.client.get("/optouts", headers={"Accept-Language": "pt-BR"})
    text = await page.text()
    assert page.status == 200
    assert "Descadastros" in text and "Exportar CSV" in text


async def test_a_page_number_past_any_offset_is_an_empty_page(web: WebEnv) -> None:
    """The fuzzer's case: a page whose offset does not fit a 64-bit integer answered 500."""
    await login(web.client, "viewer")
    for page in ("1152921504606846975", "144115188075855869", "92233720368547758"):
        answer = await web.client.get(f"/optouts?page={page}&q=")
        assert answer.status == 200, page
        assert "data-number=" not in await answer.text()

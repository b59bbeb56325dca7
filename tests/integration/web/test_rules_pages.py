"""The rules page through its forms, on PostgreSQL and SQLite: a rule made from the form,
the test box (JSON and without script), turning off and deleting, refusals shown, Portuguese."""

from __future__ import annotations

from tests.integration.web.conftest import WebEnv, csrf_from, login


async def form_post(web: WebEnv, path: str, data: dict[str, str] | list[tuple[str, str]]) -> int:
    token = csrf_from(await (await web.client.get("/rules")).text())
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    answer = await web.client.post(
        path, data=[*pairs, ("csrf_token", token)], allow_redirects=False
    )
    return answer.status


async def test_rule_from_the_form_and_the_test_box(web: WebEnv) -> None:
    await login(web.client, "operator")
    form = [
        ("name", "prices"),
        ("keyword", "preço"),
        ("reply", "Prices for {from}"),
        ("tag", "sales"),
        ("start", "00:00"),
        ("end", "23:59"),
        ("tz", "America/Sao_Paulo"),
        *[("weekday", str(d)) for d in range(1, 8)],
    ]
    assert await form_post(web, "/rules", form) == 303
    answer = await (
        await web.client.get("/rules/test.json?text=PRECO%20agora&from=%2B5511987654321")
    ).json()
    assert [m["name"] for m in answer["matched"]] == ["prices"]
    assert answer["matched"][0]["actions"][0]["text"] == "Prices for +5511987654321"
    page = await (await web.client.get("/rules?text=nothing&from=ACME")).text()
    assert "No rule matches." in page and "short code" in page
    rules = await (await web.client.get("/api/v1/rules", headers=web.bearer("viewer"))).json()
    rule_id = rules["rules"][0]["id"]
    assert await form_post(web, f"/rules/{rule_id}/toggle", {}) == 303
    off = await (await web.client.get("/rules/test.json?text=preco")).json()
    assert off["matched"] == []
    assert await form_post(web, f"/rules/{rule_id}/delete", {}) == 303
    assert "No rules yet." in await (await web.client.get("/rules")).text()


async def test_refusals_are_shown(web: WebEnv) -> None:
    await login(web.client, "operator")
    assert await form_post(web, "/rules", {"name": "slow", "regex": "(a|aa)+$", "tag": "x"}) == 303
    page = await (await web.client.get("/rules")).text()
    assert "backtracks too much" in page
    assert await form_post(web, "/rules", {"name": "nothing to do"}) == 303
    assert "actions" in await (await web.client.get("/rules")).text()


async def test_viewer_reads_and_portuguese(web: WebEnv) -> None:
    await login(web.client, "viewer")
    assert await form_post(web, "/rules", {"name": "x", "tag": "t"}) == 403
    page = await web.client.get("/rules", headers={"Accept-Language": "pt-BR"})
    text = await page.text()
    assert page.status == 200 and "Regras" in text and "Testar esta mensagem" in text

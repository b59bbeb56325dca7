"""The recurring sends page through its forms, on PostgreSQL and SQLite: weekly and cron
sends made, their next runs shown, paused and resumed, deleted; refusals shown."""

from __future__ import annotations

from tests.integration.web.conftest import WebEnv, csrf_from, login


async def form_post(web: WebEnv, path: str, pairs: list[tuple[str, str]]) -> int:
    token = csrf_from(await (await web.client.get("/recurring")).text())
    answer = await web.client.post(
        path, data=[*pairs, ("csrf_token", token)], allow_redirects=False
    )
    return answer.status


async def test_weekly_send_paused_resumed_deleted(web: WebEnv) -> None:
    await login(web.client, "operator")
    weekly = [
        ("name", "monday news"),
        ("text", "Hello"),
        ("to", "+5511987650001, +5511987650002"),
        ("every", "week"),
        ("at", "08:30"),
        ("weekday", "1"),
        ("tz", "America/Sao_Paulo"),
    ]
    assert await form_post(web, "/recurring", weekly) == 303
    page = await (await web.client.get("/recurring")).text()
    assert "Recurring send monday news saved." in page and "11:30:00 UTC" in page
    items = await (await web.client.get("/api/v1/recurring", headers=web.bearer("viewer"))).json()
    item = items["recurring"][0]
    assert item["to"] == ["+5511987650001", "+5511987650002"] and len(item["next_runs"]) == 5
    assert await form_post(web, f"/recurring/{item['id']}/pause", []) == 303
    assert "paused" in await (await web.client.get("/recurring")).text()
    assert await form_post(web, f"/recurring/{item['id']}/resume", []) == 303
    again = await (
        await web.client.get(f"/api/v1/recurring/{item['id']}", headers=web.bearer("viewer"))
    ).json()
    assert again["paused"] is False and again["next_run_at"] is not None
    assert await form_post(web, f"/recurring/{item['id']}/delete", []) == 303
    assert "No recurring sends yet." in await (await web.client.get("/recurring")).text()


async def test_cron_and_refusals(web: WebEnv) -> None:
    await login(web.client, "operator")
    bad = [
        ("name", "x"),
        ("text", "t"),
        ("to", "+5511987650001"),
        ("every", "cron"),
        ("cron", "99 * * * *"),
    ]
    assert await form_post(web, "/recurring", bad) == 303
    assert "outside 0-59" in await (await web.client.get("/recurring")).text()
    good = [*bad[:4], ("cron", "*/30 9-17 * * 1-5"), ("tz", "UTC")]
    assert await form_post(web, "/recurring", good) == 303
    assert "cron=*/30 9-17 * * 1-5" in await (await web.client.get("/recurring")).text()


async def test_viewer_reads_and_portuguese(web: WebEnv) -> None:
    await login(web.client, "viewer")
    assert await form_post(web, "/recurring", [("name", "x")]) == 403
    page = await web.client.get("/recurring", headers={"Accept-Language": "pt-BR"})
    text = await page.text()
    assert page.status == 200 and "Envios recorrentes" in text

"""Alerts in the web tier, on PostgreSQL and SQLite: the settings API is for admins only (the
server refuses operators and viewers, sessions and keys), absurd values are 422 naming the
field, a webhook URL to a private address is refused, every change is audited with what
changed; the page saves through its form; the banner shows active alerts on every page with
their SMS-derived text escaped, and ``/ui/alerts`` gives it alone; the OpenAPI document lists
the endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select

from gatewayd.store import alert_states, audit_log, utc_now
from tests.integration.web.conftest import WebEnv, csrf_from, login

HOSTILE = '<img src=x onerror="alert(1)">'


async def put(web: WebEnv, document: Any) -> Any:
    """As the signed-in admin's browser sends it (the page's CSRF token in the header)."""
    token = csrf_from(await (await web.client.get("/admin/alerts")).text())
    return await web.client.put(
        "/api/v1/alerts/settings", json=document, headers={"X-CSRF-Token": token}
    )


async def test_only_admins_read_and_change_alert_settings(web: WebEnv) -> None:
    for headers in (web.bearer("operator"), web.bearer("viewer")):
        read = await web.client.get("/api/v1/alerts/settings", headers=headers)
        assert read.status == 403
        assert (
            await web.client.put("/api/v1/alerts/settings", json={}, headers=headers)
        ).status == 403
    await login(web.client, "operator")
    assert (await web.client.get("/api/v1/alerts/settings")).status == 403
    assert (await web.client.get("/admin/alerts")).status == 403
    listed = await web.client.get("/api/v1/alerts")
    assert listed.status == 200 and await listed.json() == {"active": [], "recent": []}


async def test_settings_round_trip_and_are_audited(web: WebEnv) -> None:
    await login(web.client, "admin")
    before = await (await web.client.get("/api/v1/alerts/settings")).json()
    assert before["kinds"]["disk_full"]["threshold"] == 90 and before["email_to"] == []
    document = {
        "email_to": ["ops@example.com"],
        "webhook_url": "https://hooks.example.com/alerts?token=abc",
        "kinds": {"disk_full": {"threshold": 85, "quiet": 600, "channels": ["email"]}},
    }
    saved = await put(web, document)
    assert saved.status == 200, await saved.text()
    body = await saved.json()
    assert body["kinds"]["disk_full"] == {
        "enabled": True,
        "threshold": 85,
        "quiet": 600,
        "channels": ["email"],
    }
    assert body["kinds"]["modem_offline"]["threshold"] == 300
    assert await (await web.client.get("/api/v1/alerts/settings")).json() == body
    async with web.db.read() as conn:
        [entry] = (
            await conn.execute(select(audit_log).where(audit_log.c.action == "alerts.settings"))
        ).all()
    assert entry.actor == "user:admin"
    assert entry.detail["changed"]["kinds.disk_full.threshold"] == [90, 85]
    assert entry.detail["changed"]["email_to"] == [[], ["ops@example.com"]]


ABSURD = [
    ({"kinds": {"disk_full": {"threshold": 150}}}, "kinds.disk_full.threshold"),
    ({"kinds": {"disk_full": {"threshold": -1}}}, "kinds.disk_full.threshold"),
    ({"kinds": {"modem_offline": {"threshold": 1}}}, "kinds.modem_offline.threshold"),
    ({"kinds": {"queue_stuck": {"quiet": 10**12}}}, "kinds.queue_stuck.quiet"),
    ({"kinds": {"queue_stuck": {"threshold": "soon"}}}, "kinds.queue_stuck.threshold"),
    ({"kinds": {"low_credit": {"threshold": 10}}}, "kinds.low_credit.threshold"),
    ({"kinds": {"low_credit": {"channels": ["sms"]}}}, "kinds.low_credit.channels.0"),
    ({"kinds": {"volcano": {}}}, "kinds.volcano"),
    ({"email_to": ["ops@example.com\r\nBcc: x@evil.example"]}, "email_to.0"),
    ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
    ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url"),
]


@pytest.mark.parametrize(("document", "field"), ABSURD)
async def test_absurd_settings_are_422_naming_the_field(
    web: WebEnv, document: Any, field: str
) -> None:
    await login(web.client, "admin")
    response = await put(web, document)
    assert response.status == 422, await response.text()
    error = (await response.json())["error"]
    assert error["field"] == field and error["message"]
    unchanged = await (await web.client.get("/api/v1/alerts/settings")).json()
    assert unchanged["kinds"]["disk_full"]["threshold"] == 90


async def test_the_page_saves_through_its_form(web: WebEnv) -> None:
    await login(web.client, "admin")
    page = await web.client.get("/admin/alerts")
    assert page.status == 200
    html = await page.text()
    form = {
        "csrf_token": csrf_from(html),
        "email_to": "ops@example.com, noc@example.com",
        "webhook_url": "",
        "disk_full.enabled": "on",
        "disk_full.threshold": "80",
        "disk_full.quiet": "60",
        "disk_full.channels": "webhook",
        "modem_offline.threshold": "120",
        "modem_offline.quiet": "3600",
    }
    done = await web.client.post("/admin/alerts", data=form)
    assert done.status == 200 and "Alert settings saved." in await done.text()
    saved = await (await web.client.get("/api/v1/alerts/settings")).json()
    assert saved["email_to"] == ["ops@example.com", "noc@example.com"]
    assert saved["kinds"]["disk_full"]["threshold"] == 80
    assert saved["kinds"]["disk_full"]["channels"] == ["webhook"]
    assert saved["kinds"]["modem_offline"]["enabled"] is False  # its box was not ticked
    refused = await web.client.post("/admin/alerts", data={**form, "disk_full.threshold": "101"})
    assert "kinds.disk_full.threshold" in await refused.text()


async def raise_alert(web: WebEnv) -> None:
    detail = {
        "count": 2,
        "window": 3600,
        "last_id": 7,
        "last_to": "+5511987654321",
        "last_error": HOSTILE,
        "last_text": f"</li></ul><script>alert(2)</script>{HOSTILE}",
    }
    async with web.db.begin() as conn:
        await conn.execute(
            insert(alert_states).values(
                kind="message_failed",
                subject="messages",
                active=True,
                raised_at=utc_now(),
                text="2 messages failed",
                detail=detail,
            )
        )


async def test_the_banner_shows_active_alerts_escaped_on_every_page(web: WebEnv) -> None:
    await raise_alert(web)
    await login(web.client, "viewer")
    for path in ("/", "/outbox", "/inbox", "/modems"):
        html = await (await web.client.get(path)).text()
        assert 'data-alert-kind="message_failed"' in html, path
        assert "2 messages failed in the last 60 min." in html
        assert "<script>alert(2)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    fragment = await (await web.client.get("/ui/alerts")).text()
    assert fragment.strip().startswith('<div class="alert-banner"')
    assert "&lt;img src=x" in fragment and "<img" not in fragment
    listed = await (await web.client.get("/api/v1/alerts")).json()
    assert [a["kind"] for a in listed["active"]] == ["message_failed"]


async def test_the_openapi_document_lists_the_alert_endpoints(web: WebEnv) -> None:
    document = await (await web.client.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert paths["/api/v1/alerts"]["get"]["operationId"] == "listAlerts"
    put_op = paths["/api/v1/alerts/settings"]["put"]
    assert put_op["operationId"] == "replaceAlertSettings" and "422" in put_op["responses"]
    assert "Needs the admin role" in put_op["description"]


async def test_a_put_without_a_body_is_refused_not_a_reset(web: WebEnv) -> None:
    await login(web.client, "admin")
    assert (await put(web, {"kinds": {"disk_full": {"threshold": 85}}})).status == 200
    token = csrf_from(await (await web.client.get("/admin/alerts")).text())
    empty = await web.client.put(
        "/api/v1/alerts/settings",
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert empty.status == 422 and (await empty.json())["error"]["code"] == "missing_body"
    kept = await (await web.client.get("/api/v1/alerts/settings")).json()
    assert kept["kinds"]["disk_full"]["threshold"] == 85


@pytest.mark.parametrize("address", ["ops\x1c@example.com", "o\x00ps@example.com", "a b@x.org"])
async def test_addresses_with_controls_or_spaces_inside_are_refused(
    web: WebEnv, address: str
) -> None:
    await login(web.client, "admin")
    response = await put(web, {"email_to": [address]})
    assert response.status == 422, await response.text()
    assert (await response.json())["error"]["field"].startswith("email_to")


async def test_whole_numbers_written_with_a_point_are_numbers(web: WebEnv) -> None:
    """JSON Schema counts 85.0 as an integer, so the document allows it."""
    await login(web.client, "admin")
    saved = await put(web, {"kinds": {"disk_full": {"threshold": 85.0, "quiet": 600.0}}})
    assert saved.status == 200, await saved.text()
    assert (await saved.json())["kinds"]["disk_full"]["threshold"] == 85
    assert (await put(web, {"kinds": {"disk_full": {"threshold": 85.5}}})).status == 422

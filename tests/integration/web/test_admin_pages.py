"""The administration pages as an admin uses them: users (create with a chosen or a generated
password, change role, lock, unlock), API keys (created and shown once, revoked), the webhook
delivery log (filter, replay) and the audit log (filter, older entries). Each action is read
back from the database and the page; operators are refused; ids no row can have are 404."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import insert, select

from gatewayd.store import api_keys, audit_log, users, utc_now, webhook_deliveries
from tests.integration.web.conftest import WebEnv, csrf_from, login
from webui.auth.passwords import verify_password

CHOSEN = "a chosen passphrase 42"


class Admin:
    """An admin's browser on the administration pages."""

    def __init__(self, web: WebEnv) -> None:
        self.web = web
        self.token = ""

    async def get(self, path: str) -> str:
        page = await self.web.client.get(path)
        assert page.status == 200, (path, page.status)
        html = await page.text()
        self.token = csrf_from(html)
        return html

    async def post(self, path: str, form: dict[str, str], *, follow: bool = True) -> Any:
        if not self.token:
            await self.get("/admin/users")
        response = await self.web.client.post(
            path, data={"csrf_token": self.token, **form}, allow_redirects=False
        )
        if follow and response.status == 303:
            return await self.get(response.headers["Location"])
        return response


async def admin(web: WebEnv) -> Admin:
    assert (await login(web.client, "admin")).status == 303
    return Admin(web)


def notice(html: str) -> tuple[str, str] | None:
    found = re.search(r'<div class="notice notice-(\w+)" role="status">([^<]*)</div>', html)
    return (found.group(1), unescape(found.group(2))) if found else None


async def user(web: WebEnv, username: str) -> Any:
    async with web.db.read() as conn:
        return (await conn.execute(select(users).where(users.c.username == username))).one()


async def actions(web: WebEnv) -> list[tuple[str, str | None]]:
    async with web.db.read() as conn:
        rows = await conn.execute(
            select(audit_log.c.action, audit_log.c.target)
            .where(audit_log.c.action.not_like("login%"))
            .order_by(audit_log.c.id)
        )
        return [(row.action, row.target) for row in rows]


# ---- users ----


async def test_admin_creates_users_with_a_chosen_or_a_generated_password(web: WebEnv) -> None:
    page = await admin(web)
    html = await page.post(
        "/admin/users", {"username": "ana", "role": "viewer", "locale": "pt_BR", "password": CHOSEN}
    )
    assert notice(html) == ("ok", "User ana created.")
    ana = await user(web, "ana")
    assert (ana.role, ana.locale, ana.must_change_password) == ("viewer", "pt_BR", False)
    assert verify_password(ana.password_hash, CHOSEN)
    assert 'data-user="ana"' in html

    # No password: one is generated, shown once on the answer, and must be changed.
    response = await page.post(
        "/admin/users",
        {"username": "bruno", "role": "operator", "locale": "auto", "password": ""},
        follow=False,
    )
    assert response.status == 200
    html = await response.text()
    shown = re.search(r'<code class="secret" id="new-password">([^<]+)</code>', html)
    assert shown is not None
    bruno = await user(web, "bruno")
    assert verify_password(bruno.password_hash, unescape(shown.group(1)))
    assert (bruno.role, bruno.locale, bruno.must_change_password) == ("operator", "en", True)
    again = await page.get("/admin/users")
    assert 'id="new-password"' not in again and shown.group(1) not in again
    assert "temporary password" in again
    assert actions_of(await actions(web)) == ["user.create", "user.create"]


def actions_of(entries: list[tuple[str, str | None]]) -> list[str]:
    return [action for action, _ in entries]


async def test_user_creation_mistakes_are_shown_and_create_nothing(web: WebEnv) -> None:
    page = await admin(web)
    for form, reason in (
        ({"username": "operator", "role": "viewer", "password": CHOSEN}, "already exists"),
        ({"username": "bad name!", "role": "viewer", "password": CHOSEN}, "user name"),
        ({"username": "carla", "role": "root", "password": CHOSEN}, "role must be"),
        ({"username": "carla", "role": "viewer", "password": "short"}, "at least 10"),
    ):
        html = await page.post("/admin/users", form)
        found = notice(html)
        assert found is not None and found[0] == "error", form
        assert found[1].startswith("The user was not created:") and reason in found[1], found
    async with web.db.read() as conn:
        names = {row[0] for row in await conn.execute(select(users.c.username))}
    assert names == {"admin", "operator", "viewer"}
    assert await actions(web) == []


async def test_admin_changes_role_locks_and_unlocks_a_user(web: WebEnv) -> None:
    page = await admin(web)
    target = await user(web, "operator")
    path = f"/admin/users/{target.id}"
    html = await page.post(path, {"action": "role", "role": "viewer"})
    assert notice(html) == ("ok", "User operator updated.")
    assert (await user(web, "operator")).role == "viewer"

    await page.post(path, {"action": "lock"})
    locked = await user(web, "operator")
    assert locked.locked_until is not None and locked.locked_until > utc_now()
    html = await page.get("/admin/users")
    row = re.search(r'<tr data-user="operator">.*?</tr>', html, re.S)
    assert row is not None and "locked" in row.group(0) and 'value="unlock"' in row.group(0)
    assert (await login(web.client, "operator")).status == 403  # locked: said after the password

    await page.post(path, {"action": "unlock"})
    unlocked = await user(web, "operator")
    assert (unlocked.locked_until, unlocked.failed_logins) == (None, 0)
    assert actions_of(await actions(web)) == ["user.role", "user.lock", "user.unlock"]
    async with web.db.read() as conn:
        detail = (
            await conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "user.role"))
        ).scalar_one()
    assert detail == {"role": "viewer"}


async def test_admin_cannot_lock_or_demote_themselves_on_the_page(web: WebEnv) -> None:
    page = await admin(web)
    me = await user(web, "admin")
    for form in ({"action": "role", "role": "viewer"}, {"action": "lock"}):
        html = await page.post(f"/admin/users/{me.id}", form)
        assert notice(html) == ("error", "You cannot lock yourself out or change your own role.")
    row = await user(web, "admin")
    assert (row.role, row.locked_until) == ("admin", None)


async def test_bad_user_changes_are_4xx(web: WebEnv) -> None:
    page = await admin(web)
    target = await user(web, "operator")
    for form in ({"action": "explode"}, {"action": "role", "role": "root"}, {}):
        response = await page.post(f"/admin/users/{target.id}", form, follow=False)
        assert response.status == 400, form
    assert (await user(web, "operator")).role == "operator"
    for user_id in ("999999", str(2**70)):
        for form in ({"action": "lock"}, {"action": "reset_password"}):
            response = await page.post(f"/admin/users/{user_id}", form, follow=False)
            assert response.status == 404, (user_id, form)
    assert await actions(web) == []


# ---- API keys ----


async def test_a_key_made_on_the_page_is_shown_once_and_stops_at_once_when_revoked(
    web: WebEnv,
) -> None:
    page = await admin(web)
    await page.get("/admin/api-keys")
    response = await page.post(
        "/admin/api-keys", {"name": "monitoring", "role": "viewer"}, follow=False
    )
    assert response.status == 200
    html = await response.text()
    shown = re.search(r'<code class="secret" id="new-key">([^<]+)</code>', html)
    assert shown is not None
    key = unescape(shown.group(1))
    async with web.db.read() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.name == "monitoring"))).one()
    assert (row.role, row.revoked_at) == ("viewer", None)
    assert key.startswith(row.key_prefix) and key not in str(row)  # only a hash is kept
    assert (
        await web.client.get("/api/v1/messages", headers={"Authorization": f"Bearer {key}"})
    ).status == 200
    listing = await page.get("/admin/api-keys")
    assert 'id="new-key"' not in listing and key not in listing
    assert f"{row.key_prefix}…" in listing

    html = await page.post(f"/admin/api-keys/{row.id}/revoke", {})
    assert notice(html) == ("ok", "Key revoked.")
    assert "revoked" in html
    assert (
        await web.client.get("/api/v1/messages", headers={"Authorization": f"Bearer {key}"})
    ).status == 401
    html = await page.post(f"/admin/api-keys/{row.id}/revoke", {})
    assert notice(html) == ("error", "Not found.")  # already revoked: nothing to do
    html = await page.post("/admin/api-keys/999999/revoke", {})
    assert notice(html) == ("error", "Not found.")
    beyond = await page.post(f"/admin/api-keys/{2**70}/revoke", {}, follow=False)
    assert beyond.status == 404
    assert await actions(web) == [
        ("api_key.create", f"api_key:{row.id}"),
        ("api_key.revoke", f"api_key:{row.id}"),
    ]


async def test_key_creation_mistakes_are_shown(web: WebEnv) -> None:
    page = await admin(web)
    await page.get("/admin/api-keys")
    for form in ({"name": "", "role": "viewer"}, {"name": "x", "role": "admin"}):
        html = await page.post("/admin/api-keys", form)
        found = notice(html)
        assert found is not None and found[0] == "error", form
        assert found[1].startswith("The key was not created:"), found
    async with web.db.read() as conn:
        names = {row[0] for row in await conn.execute(select(api_keys.c.name))}
    assert names == {"operator-key", "viewer-key"}


# ---- webhooks and audit ----


async def test_webhook_log_filters_by_status_and_replays(web: WebEnv) -> None:
    async with web.db.begin() as conn:
        for n, status in enumerate(("delivered", "failed", "failed", "pending")):
            await conn.execute(
                insert(webhook_deliveries).values(
                    event="message.received",
                    url=f"https://erp.lan/hook/{n}",
                    payload={"n": n},
                    status=status,
                    attempts=8 if status == "failed" else 1,
                    last_error="HTTP 500" if status == "failed" else None,
                    created_at=utc_now(),
                )
            )
    page = await admin(web)
    shown = "https://<wbr>erp.lan/<wbr>hook/<wbr>{}"  # breaks between the parts only
    every = await page.get("/admin/webhooks")
    assert all(shown.format(n) in every for n in range(4))
    failed = await page.get("/admin/webhooks?status=failed")
    assert [n for n in range(4) if shown.format(n) in failed] == [1, 2]
    unknown = await page.get("/admin/webhooks?status=bogus")
    assert all(shown.format(n) in unknown for n in range(4))
    # A pending delivery is already on its way: no replay offered; the others have one.
    assert every.count("/replay") == 3

    async with web.db.read() as conn:
        target = (
            await conn.execute(
                select(webhook_deliveries.c.id).where(webhook_deliveries.c.url.like("%/hook/1"))
            )
        ).scalar()
    html = await page.post(f"/admin/webhooks/{target}/replay", {})
    assert notice(html) == ("ok", "Delivery queued again.")
    async with web.db.read() as conn:
        row = (
            await conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.id == target))
        ).one()
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    html = await page.post("/admin/webhooks/999999/replay", {})
    assert notice(html) == ("error", "Not found.")
    beyond = await page.post(f"/admin/webhooks/{2**70}/replay", {}, follow=False)
    assert beyond.status == 404
    assert await actions(web) == [("webhook.replay", f"delivery:{target}")]


async def test_audit_log_filters_by_actor_and_pages_back(web: WebEnv) -> None:
    page = await admin(web)  # audited first: the 150 entries below are the newest
    async with web.db.begin() as conn:
        await conn.execute(
            insert(audit_log),
            [
                {
                    "at": utc_now(),
                    "actor": "user:ana" if n % 2 else "api_key:7",
                    "action": "message.cancel",
                    "target": f"message:{n}",
                }
                for n in range(150)
            ],
        )
    first = await page.get("/admin/audit")
    # Targets read as words with a link: "Message #149", not "message:149".
    targets = re.findall(r'<a href="/outbox/(\d+)">Message #\1</a>', first)
    assert [int(t) for t in targets] == list(range(149, 49, -1))
    older = re.search(r'href="/admin/audit\?before=(\d+)"', first)
    assert older is not None
    second = await page.get(f"/admin/audit?before={older.group(1)}")
    shown = re.findall(r'<a href="/outbox/(\d+)">Message #\1</a>', second)
    assert [int(t) for t in shown] == list(range(49, -1, -1))
    assert ">admin</td>" in second and "Older entries" not in second

    ana = await page.get("/admin/audit?actor=user:ana")
    shown = re.findall(r'<a href="/outbox/(\d+)">Message #\1</a>', ana)
    assert [int(t) for t in shown] == list(range(149, -1, -2))
    assert "API key" not in ana.split("<tbody>")[1]
    odd = await page.get("/admin/audit?before=¹&actor=nobody")
    assert "Nothing matches." in odd


# ---- who may ----


async def test_operators_cannot_use_the_admin_pages(web: WebEnv) -> None:
    assert (await login(web.client, "operator")).status == 303
    token = csrf_from(await (await web.client.get("/compose")).text())
    target = await user(web, "viewer")
    for path in ("/admin/users", "/admin/api-keys", "/admin/webhooks", "/admin/audit"):
        assert (await web.client.get(path)).status == 403, path
    for path, form in (
        ("/admin/users", {"username": "x", "role": "admin"}),
        (f"/admin/users/{target.id}", {"action": "role", "role": "admin"}),
        ("/admin/api-keys", {"name": "x", "role": "operator"}),
    ):
        response = await web.client.post(
            path, data={"csrf_token": token, **form}, allow_redirects=False
        )
        assert response.status == 403, path
    assert (await user(web, "viewer")).role == "viewer"
    assert await actions(web) == []


async def test_outbox_ids_beyond_any_row_are_404(web: WebEnv) -> None:
    assert (await login(web.client, "operator")).status == 303
    token = csrf_from(await (await web.client.get("/compose")).text())
    for path in (f"/outbox/{2**70}", "/outbox/999999"):
        response = await web.client.get(path)
        assert response.status == 404, path
        assert 'id="error-page" data-status="404"' in await response.text(), path
    response = await web.client.get(f"/outbox/{2**70}.json")
    assert (response.status, await response.text()) == (404, "Not found.")
    response = await web.client.post(
        f"/outbox/{2**70}/cancel", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 404

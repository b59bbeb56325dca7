"""Audit and received-message exports: the audit CSV (admins only) says who and what in words,
takes the page's filters and is safe to open in a spreadsheet; ``GET /api/v1/inbox.csv`` needs
a key, takes the list's filters (``since``, ``until``, ``q``, ``modem``) and is safe too."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import insert

from gatewayd.store import audit_log, contacts, incoming_messages, utc_now
from tests.integration.web.conftest import WebEnv, login

ANA = "+5511987650001"
BRUNO = "+5521987650002"


def read_csv(body: bytes) -> list[dict[str, str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def audited(web: WebEnv, at: datetime, actor: str, action: str, target: str) -> int:
    async with web.db.begin() as conn:
        result = await conn.execute(
            insert(audit_log)
            .values(at=at, actor=actor, action=action, target=target, client_address="10.0.0.9")
            .returning(audit_log.c.id)
        )
        return int(result.scalar_one())


async def test_audit_csv_in_words_filtered_safe_and_for_admins_only(web: WebEnv) -> None:
    now = utc_now()
    old = await audited(web, now - timedelta(days=10), "user:admin", "user.create", "user:velho")
    key = await audited(web, now, "api_key:1", "message.cancel", '=HYPERLINK("x")')
    refused = await audited(web, now, "user:admin", "login.failed", "user:admin")

    assert (await login(web.client, "operator")).status == 303
    assert (await web.client.get("/admin/audit.csv")).status == 403
    web.client.session.cookie_jar.clear()
    assert (await login(web.client, "admin")).status == 303

    everything = await web.client.get("/admin/audit.csv")
    assert everything.status == 200
    assert everything.headers["Content-Type"].startswith("text/csv")
    rows = {int(row["id"]): row for row in read_csv(await everything.read())}
    assert {old, key, refused} <= set(rows)
    assert rows[key]["actor"] == "api_key:1"
    assert rows[key]["actor_words"] == "API key “operator-key”"
    assert rows[key]["action"] == "message.cancel"
    assert rows[key]["action_words"] == "Message cancelled"
    assert rows[refused]["actor_words"] == "nobody signed in"
    assert rows[old]["actor_words"] == "admin"
    # A target starting with "=" is text for a spreadsheet, not a formula.
    assert rows[key]["target"] == '\'=HYPERLINK("x")'

    # The page's filters: days (both included, in the browser's zone), actor, action, text.
    day = (now - timedelta(days=10)).date().isoformat()
    query = urlencode({"from": day, "until": day, "tz": "0"})
    assert [
        int(r["id"])
        for r in read_csv(await (await web.client.get(f"/admin/audit.csv?{query}")).read())
    ] == [old]
    since = (now - timedelta(days=1)).date().isoformat()
    recent = read_csv(await (await web.client.get(f"/admin/audit.csv?from={since}")).read())
    assert old not in {int(r["id"]) for r in recent}
    assert {key, refused} <= {int(r["id"]) for r in recent}
    by_action = read_csv(await (await web.client.get("/admin/audit.csv?action=message")).read())
    assert [int(r["id"]) for r in by_action] == [key]
    by_actor = read_csv(await (await web.client.get("/admin/audit.csv?actor=api_key:1")).read())
    assert [int(r["id"]) for r in by_actor] == [key]
    by_text = read_csv(await (await web.client.get("/admin/audit.csv?q=velho")).read())
    assert [int(r["id"]) for r in by_text] == [old]


async def received(web: WebEnv, sender: str, text: str, modem: str, at: datetime) -> int:
    async with web.db.begin() as conn:
        result = await conn.execute(
            insert(incoming_messages)
            .values(
                sender=sender,
                text=text,
                modem=modem,
                received_at=at,
                dedupe_key=f"{sender}-{text}-{at.timestamp()}",
            )
            .returning(incoming_messages.c.id)
        )
        return int(result.scalar_one())


async def inbox_csv(web: WebEnv, **query: str) -> list[dict[str, str]]:
    response = await web.client.get(
        f"/api/v1/inbox.csv?{urlencode(query)}", headers=web.bearer("viewer")
    )
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/csv")
    return read_csv(await response.read())


async def test_api_inbox_csv_rows_filters_and_safety(web: WebEnv) -> None:
    now = utc_now()
    week_ago = now - timedelta(days=7)
    old = await received(web, ANA, "boleto de novembro", "claro1", week_ago)
    formula = await received(web, ANA, "=cmd|' /C calc'!A0", "claro1", now)
    other = await received(web, BRUNO, "reunião amanhã", "vivo1", now)
    async with web.db.begin() as conn:
        await conn.execute(insert(contacts).values(name="Bruno Lima", number=BRUNO))

    unsigned = await web.client.get("/api/v1/inbox.csv")
    assert unsigned.status == 401
    assert "text/csv" not in unsigned.headers.get("Content-Type", "")

    rows = await inbox_csv(web)
    assert list(rows[0]) == ["id", "from", "name", "text", "modem", "received_at", "read_at"]
    assert [int(r["id"]) for r in rows] == [other, formula, old]
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[other]["from"] == "'" + BRUNO
    assert by_id[other]["name"] == "Bruno Lima"
    assert by_id[other]["text"] == "reunião amanhã"
    assert by_id[other]["modem"] == "vivo1"
    assert by_id[formula]["text"] == "'=cmd|' /C calc'!A0"
    assert by_id[old]["received_at"] == iso(week_ago)
    assert by_id[old]["read_at"] == ""

    day_ago = iso(now - timedelta(days=1))
    assert [int(r["id"]) for r in await inbox_csv(web, since=day_ago)] == [other, formula]
    assert [int(r["id"]) for r in await inbox_csv(web, until=day_ago)] == [old]
    assert [int(r["id"]) for r in await inbox_csv(web, modem="vivo1")] == [other]
    assert [int(r["id"]) for r in await inbox_csv(web, q="boleto")] == [old]
    assert [int(r["id"]) for r in await inbox_csv(web, q="lima")] == [other]  # contact name
    assert [int(r["id"]) for r in await inbox_csv(web, q="boleto", since=day_ago)] == []
    bad = await web.client.get("/api/v1/inbox.csv?since=", headers=web.bearer("viewer"))
    assert bad.status == 422

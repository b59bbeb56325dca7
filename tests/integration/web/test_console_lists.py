"""The operator's lists through the API and the pages: filters by modem, dates, text, batch and
status select the same rows in the JSON list, its CSV and the page; CSV exports are streamed
whole and safe to open in a spreadsheet; received messages are read or unread for everyone;
bulk cancel, send again (``unknown`` ones only when confirmed) and delete do what they say,
audited; contacts come in from a CSV after a preview; the default country set on the page
is the one the API reads numbers with."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape
from typing import Any

from sqlalchemy import insert, select, update

from gatewayd.store import audit_log, contacts, incoming_messages, messages, utc_now
from tests.integration.web.conftest import WebEnv, csrf_from, login

ANA = "+5511987650001"
BRUNO = "+5521987650002"


async def send(web: WebEnv, body: dict[str, Any]) -> dict[str, Any]:
    response = await web.client.post("/api/v1/messages", json=body, headers=web.bearer("operator"))
    assert response.status == 202, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def listed(web: WebEnv, query: str) -> list[int]:
    response = await web.client.get(f"/api/v1/messages?{query}", headers=web.bearer("viewer"))
    assert response.status == 200, await response.text()
    return [m["id"] for m in (await response.json())["messages"]]


def read_csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


async def set_rows(web: WebEnv, ids: list[int], **values: Any) -> None:
    async with web.db.begin() as conn:
        await conn.execute(update(messages).where(messages.c.id.in_(ids)).values(**values))


async def test_api_filters_select_the_same_rows_as_the_csv(web: WebEnv) -> None:
    first = await send(web, {"to": ANA, "text": "boleto de dezembro"})
    second = await send(web, {"to": BRUNO, "text": "reunião amanhã"})
    batch = await send(web, {"to": [ANA, BRUNO], "text": "aviso geral"})
    batch_ids = [m["id"] for m in batch["messages"]]
    await set_rows(web, [first["id"]], assigned_modem="claro1", status="delivered")
    week_ago = utc_now() - timedelta(days=7)
    await set_rows(web, [second["id"]], created_at=week_ago)

    assert await listed(web, "modem=claro1") == [first["id"]]
    assert await listed(web, "q=reuni") == [second["id"]]
    assert await listed(web, f"batch={batch_ids[0]}") == sorted(batch_ids, reverse=True)
    since = (utc_now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert second["id"] not in await listed(web, f"since={since}")
    until = (utc_now() - timedelta(days=6)).isoformat().replace("+00:00", "Z")
    assert await listed(web, f"until={until}") == [second["id"]]
    assert await listed(web, "status=delivered&modem=claro1") == [first["id"]]
    # A contact's name finds its messages too.
    async with web.db.begin() as conn:
        await conn.execute(insert(contacts).values(name="Bruno Lima", number=BRUNO))
    assert await listed(web, "q=bruno") == [batch_ids[1], second["id"]]

    exported = await web.client.get("/api/v1/messages.csv?q=bruno", headers=web.bearer("viewer"))
    assert exported.status == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = read_csv(await exported.read())
    assert rows[0][:4] == ["id", "to", "name", "text"]
    assert [int(row[0]) for row in rows[1:]] == [batch_ids[1], second["id"]]
    # Numbers start with +: a spreadsheet must read them as text, not as a formula.
    assert {row[1] for row in rows[1:]} == {"'" + BRUNO}
    assert {row[2] for row in rows[1:]} == {"Bruno Lima"}


async def test_schema_valid_but_meaningless_filters_are_422(web: WebEnv) -> None:
    for query, field in (
        ("since=", "since"),
        ("until=yesterday", "until"),
        ("batch=0", "batch"),
        ("batch=abc", "batch"),
        ("q=", "q"),
        ("modem=" + "m" * 33, "modem"),
        ("to=" + "1" * 65, "to"),
        ("cursor=abc", "cursor"),
        ("cursor=0", "cursor"),
        ("status=", "status"),
    ):
        response = await web.client.get(f"/api/v1/messages?{query}", headers=web.bearer("viewer"))
        assert response.status == 422, query
        assert (await response.json())["error"]["field"] == field, query


async def test_forgiving_filters_match_nothing_instead_of_failing(web: WebEnv) -> None:
    await send(web, {"to": ANA, "text": "x"})
    # A number this gateway cannot read (no default country) is no recipient: no message.
    assert await listed(web, "to=11 98765-4321") == []
    assert await listed(web, "to=abc") == []
    # A cursor above any id continues from the newest; a leap second is the second before.
    assert len(await listed(web, "cursor=9999999999999999999")) == 1
    assert len(await listed(web, "since=2016-12-31T23:59:60Z")) == 1
    assert await listed(web, "since=9999-12-31T23:59:59-23:59") == []


async def test_a_large_export_streams_every_row(web: WebEnv) -> None:
    body = {"to": [f"+55119{n:08d}" for n in range(1200)], "text": "=1+1 lote grande"}
    batch = await send(web, body)
    assert len(batch["messages"]) == 1200
    exported = await web.client.get("/api/v1/messages.csv", headers=web.bearer("viewer"))
    rows = read_csv(await exported.read())
    assert len(rows) == 1 + 1200
    assert {row[3] for row in rows[1:]} == {"'=1+1 lote grande"}


async def received(web: WebEnv, sender: str, text: str, *, read: bool = False) -> int:
    now = utc_now()
    async with web.db.begin() as conn:
        result = await conn.execute(
            insert(incoming_messages)
            .values(
                sender=sender,
                text=text,
                modem="claro1",
                received_at=now,
                dedupe_key=f"{sender}-{text}-{now.timestamp()}",
                read_at=now if read else None,
            )
            .returning(incoming_messages.c.id)
        )
        return int(result.scalar_one())


async def unread_shown(web: WebEnv) -> int:
    html = await (await web.client.get("/contacts")).text()
    found = re.search(r'id="inbox-new" title="[^"]*" (hidden)?>(\d*)<', html)
    assert found is not None
    return int(found.group(2) or 0)


async def test_inbox_read_unread_and_delete_are_kept(web: WebEnv) -> None:
    await received(web, ANA, "=cmd|' /C calc'!A0", read=True)
    await received(web, ANA, "segunda")
    await received(web, BRUNO, "oi")
    assert (await login(web.client, "viewer")).status == 303
    assert await unread_shown(web) == 2
    assert (await (await web.client.get("/ui/counts.json")).json()) == {"unread": 2}
    unread = await (
        await web.client.get("/api/v1/inbox?unread=true", headers=web.bearer("viewer"))
    ).json()
    assert [m["from"] for m in unread["messages"]] == [BRUNO, ANA]

    # Opening a conversation reads it; the count (kept in the database) follows.
    thread = await web.client.get(f"/inbox/{ANA.replace('+', '%2B')}")
    assert thread.status == 200
    assert await unread_shown(web) == 1
    token = csrf_from(await (await web.client.get("/inbox")).text())
    marked = await web.client.post(
        "/inbox/bulk",
        data={"csrf_token": token, "action": "unread", "sender": ANA},
        allow_redirects=False,
    )
    assert marked.status == 303
    assert await unread_shown(web) == 3
    # A viewer reads but does not delete.
    refused = await web.client.post(
        "/inbox/bulk", data={"csrf_token": token, "action": "delete", "sender": ANA}
    )
    assert refused.status == 403

    exported = await web.client.get("/inbox.csv")
    rows = read_csv(await exported.read())
    assert rows[0] == ["id", "from", "name", "text", "modem", "received_at", "read_at"]
    assert "'=cmd|' /C calc'!A0" in [row[3] for row in rows[1:]]

    await web.client.post("/logout", data={"csrf_token": token})
    assert (await login(web.client, "operator")).status == 303
    token = csrf_from(await (await web.client.get("/inbox")).text())
    gone = await web.client.post(
        "/inbox/bulk",
        data={"csrf_token": token, "action": "delete", "sender": ANA},
        allow_redirects=False,
    )
    assert gone.status == 303
    async with web.db.read() as conn:
        left = [row.sender for row in await conn.execute(select(incoming_messages.c.sender))]
        audited = (
            await conn.execute(select(audit_log).where(audit_log.c.action == "inbox.delete"))
        ).one()
    assert left == [BRUNO]
    assert audited.detail == {"senders": [ANA], "messages": 2}


async def bulk(web: WebEnv, token: str, action: str, ids: list[int], **extra: Any) -> Any:
    fields = [("csrf_token", token), ("action", action), *(("id", str(i)) for i in ids)]
    fields += [(k, str(v)) for k, values in extra.items() for v in values]
    return await web.client.post("/outbox/bulk", data=fields, allow_redirects=False)


async def test_bulk_cancel_send_again_and_delete(web: WebEnv) -> None:
    later = (utc_now() + timedelta(days=1)).isoformat()
    ids = [
        (await send(web, {"to": n, "text": "agendada", "send_at": later}))["id"]
        for n in (ANA, BRUNO)
    ]
    done = await send(web, {"to": ANA, "text": "já foi"})
    await set_rows(web, [done["id"]], status="delivered")
    assert (await login(web.client, "operator")).status == 303
    token = csrf_from(await (await web.client.get("/outbox")).text())

    cancelled = await bulk(web, token, "cancel", [*ids, done["id"]])
    assert cancelled.status == 303
    page = await (await web.client.get(cancelled.headers["Location"])).text()
    assert "2 messages cancelled. 1 left as it was (its status does not allow it)." in unescape(
        page
    )

    # One of them turns out to be unknown: sending it again needs a confirmation.
    await set_rows(web, [ids[1]], status="unknown")
    asked = await bulk(web, token, "resend", ids)
    assert asked.status == 409
    question = await asked.text()
    assert "These messages may have reached the phone already" in question
    assert f'name="confirm_unknown" value="{ids[1]}"' in question
    async with web.db.read() as conn:
        count = len((await conn.execute(select(messages.c.id))).all())
    assert count == 3  # nothing was queued by asking

    confirmed = await bulk(web, token, "resend", ids, confirm_unknown=[ids[1]])
    assert confirmed.status == 303
    assert confirmed.headers["Location"].startswith("/outbox?batch=")
    async with web.db.read() as conn:
        fresh = (
            await conn.execute(
                select(messages).where(messages.c.id > done["id"]).order_by(messages.c.id)
            )
        ).all()
        resend = (
            await conn.execute(select(audit_log).where(audit_log.c.action == "message.resend"))
        ).one()
    assert [(m.recipient, m.text, m.status) for m in fresh] == [
        (ANA, "agendada", "queued"),
        (BRUNO, "agendada", "queued"),
    ]
    assert resend.detail == {
        "from": ids,
        "as": [m.id for m in fresh],
        "unknown_confirmed": 1,
    }
    # Delivered and cancelled ones can go; queued ones stay (cancel them first).
    deleted = await bulk(web, token, "delete", [done["id"], ids[0], fresh[0].id])
    assert deleted.status == 303
    async with web.db.read() as conn:
        left = {row.id for row in await conn.execute(select(messages.c.id))}
    assert left == {ids[1], fresh[0].id, fresh[1].id}

    # A viewer gets none of it.
    await web.client.post("/logout", data={"csrf_token": token})
    assert (await login(web.client, "viewer")).status == 303
    token = csrf_from(await (await web.client.get("/outbox")).text())
    assert (await bulk(web, token, "delete", [ids[1]])).status == 403


async def test_contacts_import_previews_then_saves_the_good_rows(web: WebEnv) -> None:
    async with web.db.begin() as conn:
        await conn.execute(insert(contacts).values(name="Ana", number=ANA))
    assert (await login(web.client, "operator")).status == 303
    token = csrf_from(await (await web.client.get("/contacts")).text())
    upload = (
        "nome;telefone\n"
        f"Ana Souza;{ANA}\n"
        "Bruno;'+55 21 98765-0002\n"
        "Sem número;\n"
        "Carla;11 98765-0003\n"
        f"Bruno de novo;{BRUNO}\n"
    ).encode()
    preview = await web.client.post(
        "/contacts/import", data={"csrf_token": token, "file": io.BytesIO(upload)}
    )
    html = await preview.text()
    assert preview.status == 200
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', html))
    assert counts == {"new": "1", "rename": "1", "same": "0", "error": "3"}
    assert "“11 98765-0003” has no country code" in unescape(html)
    assert "This number is on an earlier row too." in html
    async with web.db.read() as conn:
        assert len((await conn.execute(select(contacts))).all()) == 1  # nothing saved yet
    text = unescape(re.search(r'<textarea name="csv" hidden>([^<]*)</textarea>', html).group(1))
    saved = await web.client.post(
        "/contacts/import",
        data={"csrf_token": token, "csv": text, "confirm": "yes"},
        allow_redirects=False,
    )
    assert saved.status == 303
    async with web.db.read() as conn:
        book = {(r.name, r.number) for r in await conn.execute(select(contacts))}
    assert book == {("Ana Souza", ANA), ("Bruno", BRUNO)}
    # The export reads back.
    exported = read_csv(await (await web.client.get("/contacts.csv")).read())
    assert exported[0] == ["name", "number", "groups"]
    assert sorted(exported[1:]) == [["Ana Souza", "'" + ANA, ""], ["Bruno", "'" + BRUNO, ""]]


async def test_the_default_country_chosen_on_the_page_reads_numbers_everywhere(
    web: WebEnv,
) -> None:
    refused = await web.client.post(
        "/api/v1/messages",
        json={"to": "11 98765-4321", "text": "x"},
        headers=web.bearer("operator"),
    )
    error = (await refused.json())["error"]
    assert (refused.status, error["code"], error["reason"]) == (
        422,
        "invalid_number",
        "no_country_code",
    )
    assert (await login(web.client, "admin")).status == 303
    dashboard = await (await web.client.get("/")).text()
    assert 'id="ask-country"' in dashboard  # first run: asked on the dashboard
    token = csrf_from(dashboard)
    chosen = await web.client.post(
        "/admin/settings",
        data={"csrf_token": token, "default_region": "BR", "next": "/"},
        allow_redirects=False,
    )
    assert (chosen.status, chosen.headers["Location"]) == (303, "/")
    assert 'id="ask-country"' not in await (await web.client.get("/")).text()
    accepted = await send(web, {"to": "11 98765-4321", "text": "x"})
    assert accepted["to"] == "+5511987654321"
    odd = await web.client.post(
        "/admin/settings", data={"csrf_token": token, "default_region": "XX"}, allow_redirects=False
    )
    assert odd.status == 303
    async with web.db.read() as conn:
        changes = (
            await conn.execute(
                select(audit_log.c.detail).where(audit_log.c.action == "settings.default_region")
            )
        ).all()
    assert [row.detail for row in changes] == [{"region": "BR"}]

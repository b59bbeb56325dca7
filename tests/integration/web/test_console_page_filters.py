"""The pages' filters select the right rows: the inbox by days (in the browser's time zone),
modem and text or contact name; the audit log by days; the outbox by modem."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import insert

from gatewayd.store import audit_log, contacts, incoming_messages, messages, utc_now
from tests.integration.web.conftest import WebEnv, login

ANA = "+5511987650001"
BRUNO = "+5521987650002"
CARLA = "+5531987650003"
BRAZIL = "180"  # getTimezoneOffset() in São Paulo: UTC-3


def day_at(days_ago: int, hour: int) -> datetime:
    day = (utc_now() - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def day_of(days_ago: int) -> str:
    return (utc_now() - timedelta(days=days_ago)).date().isoformat()


async def received(web: WebEnv, sender: str, text: str, modem: str, at: datetime) -> None:
    async with web.db.begin() as conn:
        await conn.execute(
            insert(incoming_messages).values(
                sender=sender,
                text=text,
                modem=modem,
                received_at=at,
                dedupe_key=f"{sender}-{text}-{at.timestamp()}",
            )
        )


async def senders_shown(web: WebEnv, **query: str) -> list[str]:
    page = await web.client.get(f"/inbox?{urlencode(query)}")
    assert page.status == 200
    return re.findall(r'<li data-sender="([^"]+)"', await page.text())


async def test_inbox_page_filters_by_days_modem_and_text(web: WebEnv) -> None:
    # 02:00 UTC is 23:00 the evening before in São Paulo; 12:00 UTC is the same day there.
    await received(web, ANA, "boleto de dezembro", "claro1", day_at(3, 2))
    await received(web, BRUNO, "reunião amanhã", "vivo1", day_at(3, 12))
    await received(web, CARLA, "oi", "claro1", utc_now())
    async with web.db.begin() as conn:
        await conn.execute(insert(contacts).values(name="Carla Dias", number=CARLA))
    assert (await login(web.client, "operator")).status == 303

    assert await senders_shown(web) == [CARLA, BRUNO, ANA]
    that_day = {"from": day_of(3), "until": day_of(3)}
    assert await senders_shown(web, **that_day, tz=BRAZIL) == [BRUNO]
    assert await senders_shown(web, **that_day, tz="0") == [BRUNO, ANA]
    assert await senders_shown(web, **{"from": day_of(1)}) == [CARLA]
    assert await senders_shown(web, until=day_of(1)) == [BRUNO, ANA]
    assert await senders_shown(web, modem="claro1") == [CARLA, ANA]
    assert await senders_shown(web, modem="claro1", until=day_of(1)) == [ANA]
    assert await senders_shown(web, q="boleto") == [ANA]
    assert await senders_shown(web, q="dias") == [CARLA]  # the contact's name
    assert await senders_shown(web, q="nada disso") == []


async def test_audit_page_filters_by_days(web: WebEnv) -> None:
    ids: dict[str, int] = {}
    async with web.db.begin() as conn:
        for label, at in (
            ("evening", day_at(3, 2)),
            ("midday", day_at(3, 12)),
            ("today", utc_now() - timedelta(minutes=1)),
        ):
            result = await conn.execute(
                insert(audit_log)
                .values(at=at, actor="user:admin", action="user.create", target=f"user:{label}")
                .returning(audit_log.c.id)
            )
            ids[label] = int(result.scalar_one())
    assert (await login(web.client, "admin")).status == 303

    async def shown(**query: str) -> set[int]:
        page = await web.client.get(f"/admin/audit?{urlencode(query)}")
        assert page.status == 200
        return {int(n) for n in re.findall(r'data-audit-id="(\d+)"', await page.text())}

    that_day = {"from": day_of(3), "until": day_of(3)}
    assert await shown(**that_day, tz=BRAZIL) == {ids["midday"]}
    assert await shown(**that_day, tz="0") == {ids["evening"], ids["midday"]}
    recent = await shown(**{"from": day_of(1)})
    assert ids["today"] in recent
    assert not {ids["evening"], ids["midday"]} & recent
    assert await shown(until=day_of(1)) == {ids["evening"], ids["midday"]}


async def test_outbox_page_filters_by_modem(web: WebEnv) -> None:
    ids: dict[str, int] = {}
    async with web.db.begin() as conn:
        for label, number, assigned, used in (
            ("claro", ANA, "claro1", "claro1"),
            ("vivo", BRUNO, "vivo1", "vivo1"),
            ("queued", CARLA, "claro1", None),
            ("nowhere", CARLA, None, None),
        ):
            result = await conn.execute(
                insert(messages)
                .values(
                    recipient=number,
                    text=label,
                    encoding="gsm7",
                    segments=1,
                    assigned_modem=assigned,
                    modem=used,
                )
                .returning(messages.c.id)
            )
            ids[label] = int(result.scalar_one())
    assert (await login(web.client, "operator")).status == 303

    async def shown(**query: str) -> list[int]:
        page = await web.client.get(f"/outbox?{urlencode(query)}")
        assert page.status == 200
        return [int(n) for n in re.findall(r'data-message-id="(\d+)"', await page.text())]

    assert await shown() == sorted(ids.values(), reverse=True)
    assert await shown(modem="claro1") == [ids["queued"], ids["claro"]]
    assert await shown(modem="vivo1") == [ids["vivo"]]
    assert await shown(modem="tim9") == []

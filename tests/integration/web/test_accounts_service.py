"""The client accounts' domain on real databases: quotas that concurrent batches cannot
overshoot (PostgreSQL), admission given back when nothing was queued, messages written with
their account, allowed modems, and SMPP binds (wrong password, unknown system_id, revoked,
network, brute force locked out and logged)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert, select

from gatewayd.bus import InProcessBus
from gatewayd.queue import NewMessage, prepare
from gatewayd.store import Database, accounts, messages, utc_now
from tests.integration.web.conftest import LogCapture, settings_for
from webui.auth.passwords import UNLIMITED, hash_password
from webui.auth.throttle import ThrottlePolicy
from webui.services.accounts import Account, Accounts
from webui.services.caller import Caller
from webui.services.errors import BindRefused, Invalid, QuotaExceeded, Throttled
from webui.services.group_commit import SendGroup
from webui.services.sending import Prepared, Sending
from webui.services.throughput import LocalBuckets
from webui.services.validation_pool import ValidationPool

NUMBER = "+5511987654321"


async def add_account(db: Database, name: str, **values: Any) -> Account:
    row = {"name": name, "name_key": name.lower(), "created_at": utc_now(), "created_by": "test"}
    async with db.begin() as conn:
        new_id = (
            await conn.execute(insert(accounts).values(**row, **values).returning(accounts.c.id))
        ).scalar_one()
    return await service(db).get(new_id)


def service(db: Database) -> Accounts:
    return Accounts(db, UNLIMITED, ThrottlePolicy(pair_limit=3), LocalBuckets())


@pytest.fixture
async def sending(db: Database, db_url: str) -> AsyncIterator[Sending]:
    bus = InProcessBus()
    pool = ValidationPool()
    try:
        yield Sending(db, bus, settings_for(db_url), SendGroup(db, bus), pool, service(db))
    finally:
        pool.close()


async def test_a_quota_refuses_what_does_not_fit_and_counts_nothing_then(db: Database) -> None:
    account = await add_account(db, "erp", daily_quota=10, monthly_quota=12)
    accounts_ = service(db)

    await accounts_.admit(account, 6)
    with pytest.raises(QuotaExceeded) as day:
        await accounts_.admit(account, 5)
    assert day.value.period == "day" and day.value.remaining == 4

    await accounts_.admit(account, 4)
    assert (await accounts_.usage(account.id)).day == 10
    refund = await accounts_.admit(await add_account(db, "other", monthly_quota=1), 1)
    await refund.give_back()
    assert (await accounts_.usage(refund.account.id)).month == 0  # type: ignore[union-attr]


async def test_the_month_refusing_undoes_the_day(db: Database) -> None:
    account = await add_account(db, "erp", daily_quota=100, monthly_quota=5)
    accounts_ = service(db)
    with pytest.raises(QuotaExceeded) as month:
        await accounts_.admit(account, 6)
    assert month.value.period == "month"
    usage = await accounts_.usage(account.id)
    assert (usage.day, usage.month) == (0, 0)


async def test_concurrent_batches_never_overshoot_a_quota(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        account = await add_account(db, "bulk", daily_quota=30)
        services = [service(db) for _ in range(4)]

        async def one(n: int) -> bool:
            try:
                await services[n % 4].admit(account, 3)
            except QuotaExceeded:
                return False
            return True

        outcomes = await asyncio.gather(*(one(n) for n in range(40)))
        assert sum(outcomes) == 10
        assert (await services[0].usage(account.id)).day == 30
    finally:
        await db.close()


async def test_throughput_is_refused_with_the_wait(db: Database) -> None:
    account = await add_account(db, "fast", tps=2.0)
    accounts_ = service(db)
    await accounts_.admit(account, 2)
    with pytest.raises(Throttled) as refused:
        await accounts_.admit(account, 1)
    assert 0 < refused.value.retry_after <= 0.5


async def test_messages_carry_their_account_and_users_are_unlimited(
    sending: Sending, db: Database
) -> None:
    account = await add_account(db, "erp", daily_quota=2, allowed_modems=["gsm1"])
    template = NewMessage(to="", text="hello")
    batch = await sending.validate(template, [NUMBER, "+5511987654322"], skip_invalid=False)
    ids, _ = await sending.queue_prepared(Caller("api_key:1", None, account), batch, key=None)
    one = await sending.validate(template, [NUMBER], skip_invalid=False)
    with pytest.raises(QuotaExceeded):
        await sending.queue_prepared(Caller("api_key:1", None, account), one, key="k")
    user_ids, _ = await sending.queue_prepared(Caller("user:admin", None), one, key=None)

    async with db.read() as conn:
        rows = (
            await conn.execute(
                select(messages.c.id, messages.c.account_id, messages.c.modem).order_by("id")
            )
        ).all()
    assert [(r.id, r.account_id, r.modem) for r in rows] == [
        (ids[0], account.id, "gsm1"),
        (ids[1], account.id, "gsm1"),
        (user_ids[0], None, None),
    ]
    other = Prepared([prepare(NewMessage(to=NUMBER, text="hi", modem="gsm2"))])
    with pytest.raises(Invalid, match="gsm1 only"):
        await sending.queue_prepared(Caller("api_key:1", None, account), other, key=None)


async def test_a_repeated_idempotency_key_costs_no_quota(sending: Sending, db: Database) -> None:
    account = await add_account(db, "erp", daily_quota=5)
    caller = Caller("api_key:1", None, account)
    batch = await sending.validate(
        NewMessage(to="", text="hi"),
        [NUMBER, "+5511987654322", "+5511987654323"],
        skip_invalid=False,
    )
    first, created = await sending.queue_prepared(caller, batch, key="same")
    again, created_again = await sending.queue_prepared(caller, batch, key="same")
    assert created and not created_again and first == again
    assert (await sending.accounts.usage(account.id)).day == 3


async def test_smpp_binds(db: Database, log_capture: LogCapture) -> None:
    accounts_ = service(db)
    good = await add_account(
        db, "smpp", system_id="esme1", smpp_password_hash=hash_password("secret1")
    )
    await add_account(
        db,
        "closed",
        system_id="esme2",
        smpp_password_hash=hash_password("secret2"),
        revoked_at=utc_now(),
    )
    await add_account(
        db,
        "lan",
        system_id="esme3",
        smpp_password_hash=hash_password("secret3"),
        allowed_networks=["10.0.0.0/8"],
    )

    assert (await accounts_.authenticate_smpp("esme1", "secret1", "127.0.0.1")).id == good.id

    async def reason(system_id: str, password: str, address: str = "127.0.0.2") -> str:
        with pytest.raises(BindRefused) as refused:
            await accounts_.authenticate_smpp(system_id, password, address)
        return refused.value.reason

    assert await reason("nobody", "x") == "unknown_system_id"
    assert await reason("esme2", "secret2") == "revoked"
    assert await reason("esme3", "secret3") == "network_not_allowed"
    assert (await accounts_.authenticate_smpp("esme3", "secret3", "10.1.2.3")).name == "lan"
    assert [await reason("esme1", "guess") for _ in range(3)] == ["wrong_password"] * 3
    assert await reason("esme1", "secret1") == "locked_out"
    assert (await accounts_.authenticate_smpp("esme1", "secret1", "127.0.0.3")).id == good.id
    failed = log_capture.events("Failed SMPP bind")
    assert {
        "system_id": "esme1",
        "client_address": "127.0.0.2",
        "reason": "locked_out",
    }.items() <= (failed[-1].items())


@pytest.mark.parametrize(
    ("system_id", "password"),
    [("esme\x00", "x"), ("x" * 300, "x"), ("\ud800", "x"), ("esme1", "\x00" * 20), ("", "")],
)
async def test_hostile_binds_are_refused_not_crashed(
    db: Database, system_id: str, password: str, log_capture: LogCapture
) -> None:
    await add_account(db, "smpp", system_id="esme1", smpp_password_hash=hash_password("secret1"))
    with pytest.raises(BindRefused) as refused:
        await service(db).authenticate_smpp(system_id, password, "127.0.0.1")
    assert refused.value.reason in ("unknown_system_id", "wrong_password")
    assert log_capture.events("Failed SMPP bind")

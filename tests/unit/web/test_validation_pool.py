"""The validation pool joins its two halves exactly as one prepare_many call would answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gatewayd.queue import InvalidMessage, NewMessage
from gatewayd.queue.enqueue import prepare_many
from webui.services import validation_pool
from webui.services.validation_pool import ValidationPool


@pytest.fixture
async def pool(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ValidationPool]:
    monkeypatch.setattr(validation_pool, "PARALLEL_ABOVE", 4)
    started = ValidationPool()
    await started.prepare(
        NewMessage(to="", text="warm"),
        ["+5511987654321"] * 5,
        default_region=None,
        known_modems=None,
    )  # starts the worker
    warm = started._warm
    assert warm is not None
    await asyncio.wait_for(asyncio.wrap_future(warm), 60)
    try:
        yield started
    finally:
        started.close()


def numbers(count: int) -> list[str]:
    return [f"+55119{i:08d}" for i in range(count)]


async def test_halves_join_like_one_call(pool: ValidationPool) -> None:
    recipients = [*numbers(6), "123", *numbers(3), "bad", "+14155552671"]
    template = NewMessage(to="", text="x" * 200)
    messages, problems = await pool.prepare(
        template, recipients, default_region=None, known_modems=None
    )
    alone, alone_problems = prepare_many(template, recipients)
    assert [m.recipient for m in messages] == [m.recipient for m in alone]
    assert [len(m.pdus) for m in messages] == [2] * len(alone)
    assert (
        [(p.index, p.to, p.error.code, p.error.field) for p in problems]
        == [(p.index, p.to, p.error.code, p.error.field) for p in alone_problems]
        == [(6, "123", "invalid_number", "to"), (10, "bad", "invalid_number", "to")]
    )


async def test_a_shared_mistake_found_only_in_the_second_half_is_raised(
    pool: ValidationPool,
) -> None:
    recipients = ["1", "2", "3", "4", "+5511987654321", "+14155552671", "+4915112345678"]
    with pytest.raises(InvalidMessage) as raised:
        await pool.prepare(
            NewMessage(to="", text="hi", modem="nope"),
            recipients,
            default_region=None,
            known_modems={"m1"},
        )
    assert (raised.value.code, raised.value.field) == ("unknown_modem", "modem")


async def test_a_dead_worker_costs_nothing_but_speed(pool: ValidationPool) -> None:
    executor = pool._executor
    assert executor is not None
    for process in list(executor._processes.values()):
        process.kill()
        process.join(10)
    recipients = [*numbers(5), "bad", *numbers(4)]
    messages, problems = await pool.prepare(
        NewMessage(to="", text="hi"), recipients, default_region=None, known_modems=None
    )
    assert len(messages) == 9
    assert [(p.index, p.error.code) for p in problems] == [(5, "invalid_number")]
    assert pool._executor is None  # a new worker starts with the next large batch

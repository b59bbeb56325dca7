"""Validating a large batch on two cores: half in this process, half in a worker process.

Checking phone numbers (phonenumbers, pure Python) is half the CPU of a 10,000-recipient send,
and while it runs the database has nothing to do. Above :data:`PARALLEL_ABOVE` recipients the
list is split in two and both halves go through the same :func:`prepare_many` at once, one in a
thread here and one in a spawned worker process; the results are joined as if one call had
made them (problem indexes continue, and a mistake shared by every recipient is reported from
the first half that found a valid number, as a single call would).

The worker starts with the first large batch, which is validated here alone meanwhile: a
server that never gets one never starts it. It is stopped with the application.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from gatewayd.queue.enqueue import NewMessage, PreparedMessage, RecipientProblem, prepare_many

PARALLEL_ABOVE = 4000
"""Batches with more recipients than this are split between two processes."""

Outcome = tuple[list[PreparedMessage], list[RecipientProblem]]


def _ready() -> bool:
    return True


class ValidationPool:
    """One worker process, started on first need."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._warm: Future[bool] | None = None

    def _worker(self) -> ProcessPoolExecutor | None:
        """The executor once its process is up; None (and starting it) before that."""
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
            self._warm = self._executor.submit(_ready)
        assert self._warm is not None
        if not self._warm.done() or self._warm.exception() is not None:
            return None
        return self._executor

    async def prepare(
        self,
        template: NewMessage,
        recipients: Sequence[str],
        *,
        default_region: str | None,
        known_modems: Collection[str] | None,
    ) -> Outcome:
        """:func:`prepare_many`, on two cores when the list is long and the worker is up."""
        worker = self._worker() if len(recipients) > PARALLEL_ABOVE else None
        if worker is None:
            return await _here(template, recipients, default_region, known_modems)
        half = len(recipients) // 2
        known = set(known_modems) if known_modems is not None else None
        try:
            there = asyncio.get_running_loop().run_in_executor(
                worker, _prepare_half, template, list(recipients[half:]), default_region, known
            )
        except BrokenProcessPool:  # the worker died: a new one starts with the next batch
            self.close()
            return await _here(template, recipients, default_region, known_modems)
        first, second = await asyncio.gather(
            _here(template, recipients[:half], default_region, known_modems),
            there,
            return_exceptions=True,
        )
        if isinstance(first, BaseException):
            raise first
        if isinstance(second, BrokenProcessPool):
            self.close()
            second = await _here(template, recipients[half:], default_region, known_modems)
        if isinstance(second, BaseException):
            raise second
        messages = first[0] + second[0]
        problems = first[1] + [RecipientProblem(p.index + half, p.to, p.error) for p in second[1]]
        return messages, problems

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


async def _here(
    template: NewMessage,
    recipients: Sequence[str],
    region: str | None,
    known: Collection[str] | None,
) -> Outcome:
    return await asyncio.to_thread(
        prepare_many, template, recipients, default_region=region, known_modems=known
    )


def _prepare_half(
    template: NewMessage, recipients: list[str], region: str | None, known: set[str] | None
) -> Outcome:
    return prepare_many(template, recipients, default_region=region, known_modems=known)

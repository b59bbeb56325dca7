"""The fast reading of ``MAIL FROM`` / ``RCPT TO`` paths gives what aiosmtpd's parser gives."""

from __future__ import annotations

import random

import pytest
from aiosmtpd.smtp import SMTP

from webui.smtp.server import PLAIN_PATH, GatewaySmtp

EVERYDAY = [
    "<a@b.c>",
    "<a@b.c> SIZE=100",
    "<A.B-c+d@ex-ample.com>  BODY=8BITMIME SMTPUTF8",
    "<5511987654321@sms.bench.example>",
    "  <ops@example.com>\tSIZE=5",
    "<a@b.c>   ",
    "<x!#$%&'*+/=?^_`{|}~-y@b>",
]
UNUSUAL = [
    "",
    "<>",
    '<"x y"@b>',
    "a@b.c",
    "<@route:a@b>",
    "<a@[1.2.3.4]>",
    "<a..b@c>",
    "<.a@c>",
    "<a@b.c>x",
    "<a @b.c>",
    "<ção@x.com>",
    "<a@b.c",
    "<a@-b>",
    "<" + "l" * 70 + "@b.c>",
]


def aiosmtpd_reads(arg: str) -> tuple[str | None, str | None]:
    return SMTP._getaddr(SMTP.__new__(SMTP), arg)  # type: ignore[no-any-return]


def ours(arg: str) -> tuple[str | None, str | None]:
    session = GatewaySmtp.__new__(GatewaySmtp)
    session.local_part_limit = 64
    return session._getaddr(arg)


@pytest.mark.parametrize("arg", EVERYDAY)
def test_the_everyday_form_is_read_fast_and_alike(arg: str) -> None:
    assert PLAIN_PATH.fullmatch(arg) is not None
    assert ours(arg) == aiosmtpd_reads(arg)


@pytest.mark.parametrize("arg", UNUSUAL)
def test_other_forms_are_read_by_aiosmtpd(arg: str) -> None:
    limited = SMTP.__new__(SMTP)
    limited.local_part_limit = 64
    assert ours(arg) == SMTP._getaddr(limited, arg)


def test_random_paths_read_alike() -> None:
    """Paths shaped like the everyday form with random characters mixed in: whenever the fast
    reading takes one, aiosmtpd reads it the same."""
    chars = ["a", "Z", "9", "-", "+", ".", "@", " ", "\t", '"', "[", "]", ":", "ç", "=", "<", ">"]
    chance = random.Random(16)

    def some(count: int) -> str:
        return "".join(
            chance.choice(chars[:5] if chance.random() < 0.8 else chars) for _ in range(count)
        )

    taken = 0
    for _ in range(20_000):
        local, domain = some(chance.randint(1, 6)), some(chance.randint(1, 6))
        arg = f"{some(1)[: chance.randint(0, 1)]}<{local}@{domain}>{some(chance.randint(0, 8))}"
        if PLAIN_PATH.fullmatch(arg):
            taken += 1
            assert ours(arg) == aiosmtpd_reads(arg), arg
    assert taken > 200, taken

"""Every place that honours ``next`` (sign-in, the password form, the language menu) sends the
browser back to this site only, whatever hostile value ``next`` holds."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import update
from yarl import URL

from gatewayd.store import users
from tests.integration.web.conftest import PASSWORD, WebEnv, csrf_from, login
from tests.support.redirects import HOSTILE_NEXT

SITE = URL("https://gw.example/")


def assert_same_site(location: str) -> None:
    """What a browser makes of ``location`` stays on this site."""
    resolved = SITE.join(URL(location))
    assert resolved.host == "gw.example" and resolved.scheme == "https", location
    assert not str(URL(location)).startswith("//"), location


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite: the redirects do not depend on the database."""
    return sqlite_url


async def test_login_never_redirects_off_site(web: WebEnv) -> None:
    for hostile in HOSTILE_NEXT:
        page = await web.client.get(f"/login?next={quote(hostile, safe='')}")
        assert page.status == 200
        html = await page.text()
        assert 'name="next" value="/"' in html, hostile
        for data in ({"next": hostile}, {}):
            page = await web.client.get(f"/login?next={quote(hostile, safe='')}")
            answer = await web.client.post(
                f"/login?next={quote(hostile, safe='')}",
                data={
                    "username": "viewer",
                    "password": PASSWORD,
                    "csrf_token": csrf_from(await page.text()),
                    **data,
                },
                allow_redirects=False,
            )
            assert answer.status == 303, hostile
            assert answer.headers["Location"] == "/", hostile
            assert_same_site(answer.headers["Location"])
            home = await web.client.get("/")
            await web.client.post(
                "/logout", data={"csrf_token": csrf_from(await home.text())}, allow_redirects=False
            )


async def test_the_password_form_never_redirects_off_site(web: WebEnv) -> None:
    passwords = [PASSWORD, "a brand new passphrase"]
    assert (await login(web.client, "operator")).status == 303
    for turn, hostile in enumerate(HOSTILE_NEXT):
        async with web.db.begin() as conn:
            await conn.execute(
                update(users)
                .where(users.c.username == "operator")
                .values(must_change_password=True)
            )
        page = await web.client.get(f"/account?next={quote(hostile, safe='')}")
        assert page.status == 200
        html = await page.text()
        assert 'name="next" value="/"' in html, hostile
        current, new = passwords[turn % 2], passwords[(turn + 1) % 2]
        answer = await web.client.post(
            f"/account?next={quote(hostile, safe='')}",
            data={
                "csrf_token": csrf_from(html),
                "current_password": current,
                "new_password": new,
                "confirm_password": new,
                "next": hostile,
            },
            allow_redirects=False,
        )
        assert answer.status == 303, hostile
        assert answer.headers["Location"] == "/", hostile


async def test_the_language_menu_never_redirects_off_site(web: WebEnv) -> None:
    assert (await login(web.client, "viewer")).status == 303
    page = await web.client.get("/")
    token = csrf_from(await page.text())
    for hostile in HOSTILE_NEXT:
        answer: Any = await web.client.post(
            "/settings/language",
            data={"csrf_token": token, "language": "pt_BR", "next": hostile},
            allow_redirects=False,
        )
        assert answer.status == 303, hostile
        assert answer.headers["Location"] == "/", hostile


async def test_a_local_next_is_kept(web: WebEnv) -> None:
    page = await web.client.get("/login?next=%2Foutbox%3Fstatus%3Dfailed")
    assert 'name="next" value="/outbox?status=failed"' in await page.text()
    answer = await web.client.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORD,
            "csrf_token": csrf_from(await page.text()),
            "next": "/outbox?status=failed",
        },
        allow_redirects=False,
    )
    assert answer.headers["Location"] == "/outbox?status=failed"

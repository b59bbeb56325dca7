"""Translations: locale choice, catalog completeness, compiled catalogs in step with sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from webui import i18n

LOCALE_DIR = Path(i18n.__file__).parent / "locale"
PO = LOCALE_DIR / "pt_BR" / "LC_MESSAGES" / "messages.po"
MO = LOCALE_DIR / "pt_BR" / "LC_MESSAGES" / "messages.mo"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt_BR"),
        ("pt", "pt_BR"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,pt-PT;q=0.5", "pt_BR"),
        ("de;q=1.0, en;q=0.1", "en"),
        ("en;q=0.2, pt-BR;q=0.8", "pt_BR"),
        ("", "en"),
        ("garbage;;q=x", "en"),
    ],
)
def test_accept_language(header: str, expected: str) -> None:
    assert i18n.from_accept_language(header) == expected


def test_user_setting_wins_unless_it_is_the_follow_the_browser_default() -> None:
    assert i18n.choose_locale("pt_BR", "en-US") == "pt_BR"
    assert i18n.choose_locale("en_US", "pt-BR") == "en"
    assert i18n.choose_locale(i18n.FOLLOW_BROWSER, "pt-BR") == "pt_BR"
    assert i18n.choose_locale(None, "pt-BR") == "pt_BR"


def test_every_string_is_translated_to_portuguese() -> None:
    template = read_po((LOCALE_DIR / "messages.pot").open("rb"))
    catalog = read_po(PO.open("rb"), locale="pt_BR")
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    missing = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert missing == []
    assert wanted <= have


def test_compiled_catalog_matches_its_source() -> None:
    source = read_po(PO.open("rb"), locale="pt_BR")
    compiled = read_mo(MO.open("rb"))

    def table(catalog: object) -> dict[object, object]:
        return {
            tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id: tuple(m.string)
            if isinstance(m.string, (list, tuple))
            else m.string
            for m in catalog  # type: ignore[attr-defined]
            if m.id
        }

    assert table(source) == table(compiled)


def test_gettext_follows_the_active_locale() -> None:
    i18n.activate("pt_BR")
    try:
        assert i18n.gettext("Dashboard") == "Painel"
        assert i18n.ngettext("%(num)d part", "%(num)d parts", 2) % {"num": 2} == "2 partes"
    finally:
        i18n.activate("en")
    assert i18n.gettext("Dashboard") == "Dashboard"

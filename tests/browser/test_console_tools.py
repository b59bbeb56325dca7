"""The operator's daily tools in Chromium: contacts imported from a CSV after a preview and shown
by name in the outbox and the inbox; a contact edited and found again by search (in Portuguese,
at phone width); the outbox filtered by text, status and date, exported to a CSV that a
spreadsheet cannot run, and acted on in bulk (cancel, send again, where the ``unknown`` ones
need a confirmation, delete); the inbox read and unread with a count that survives a reload;
messages queued through the API appearing in an open outbox; a conversation's replies changing
status live."""

from __future__ import annotations

import csv
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SECOND_MODEM_NUMBER, Product
from tests.browser.console import (
    FIRST_MODEM_NUMBER,
    api,
    no_sideways_scroll,
    shot,
    signed_in,
    sql,
    unique_number,
)

pytestmark = pytest.mark.browser


def download_csv(page: Page, link: str, tmp_path: Path) -> list[list[str]]:
    with page.expect_download() as download:
        page.locator(link).click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(text[1:].splitlines()))


def test_contacts_import_with_preview_and_names_in_every_list(
    product: Product, browser: Browser, tmp_path: Path
) -> None:
    tag = secrets.token_hex(3)
    upload = tmp_path / "contatos.csv"
    upload.write_text(
        "nome;celular\n"
        f"Modem Dois {tag};{SECOND_MODEM_NUMBER}\n"
        f"Modem Um {tag};+55 11 99000-0001\n"
        f'=HYPERLINK("http://x") {tag};{unique_number()}\n'
        f"Ninguém {tag};+55 123\n"
        f"Repetido {tag};{SECOND_MODEM_NUMBER}\n",
        encoding="utf-8",
    )
    with signed_in(browser, product, "operator", language="pt-BR", phone=True) as (_, page):
        page.goto(f"{product.base_url}/contacts")
        page.locator("#import-file").set_input_files(str(upload))
        page.locator("#contact-import button").click()
        expect(page.locator("h1")).to_have_text("Importar contatos")
        counts = page.locator("#import-counts")
        expect(counts.locator('[data-count="error"]')).to_have_text("2")
        errors = page.locator('#import-rows tr[data-action="error"]')
        expect(errors).to_have_count(2)
        expect(errors.nth(0)).to_contain_text("não é um número de telefone válido")
        expect(errors.nth(1)).to_contain_text("Este número também está numa linha anterior.")
        no_sideways_scroll(page)
        shot(page, "contacts-import-preview-pt-BR-phone")
        page.locator("#import-confirm button[type=submit]").click()
        expect(page.locator(".notice-ok")).to_contain_text("adicionado")
        expect(page.locator("#contact-list")).to_contain_text(f"Modem Dois {tag}")

    with signed_in(browser, product, "operator") as (_, page):
        page.goto(f"{product.base_url}/compose")
        page.locator("#to").fill(SECOND_MODEM_NUMBER)
        page.locator("#text").fill(f"names {tag}")
        page.locator("#send-button").click()
        page.wait_for_url(re.compile(r"/outbox/\d+$"))
        expect(page.locator("h1 .contact-name")).to_have_text(f"Modem Dois {tag}")
        page.goto(f"{product.base_url}/outbox?q={tag}")
        expect(page.locator("#outbox-table .contact-name").first).to_have_text(f"Modem Dois {tag}")
        # Search by the contact's name finds every message to that number.
        page.goto(f"{product.base_url}/outbox?q=Modem+Dois+{tag}")
        expect(page.locator("#outbox-table tbody tr", has_text=f"names {tag}")).to_have_count(1)
        names = page.locator("#outbox-table .contact-name").all_inner_texts()
        assert names and set(names) == {f"Modem Dois {tag}"}, names
        page.goto(f"{product.base_url}/inbox")
        thread = page.locator(f'#threads li[data-sender="{FIRST_MODEM_NUMBER}"]')
        expect(thread.locator(".thread-name")).to_have_text(f"Modem Um {tag}", timeout=30_000)
        page.goto(f"{product.base_url}/contacts")
        rows = download_csv(page, "#contacts-export", tmp_path)
        assert rows[0] == ["name", "number", "groups"]
        formula = [row for row in rows if tag in row[0] and "HYPERLINK" in row[0]]
        assert formula and formula[0][0].startswith("'="), formula
        numbers = {row[1] for row in rows if tag in row[0]}
        assert f"'{SECOND_MODEM_NUMBER}" in numbers


def test_outbox_filters_export_and_bulk_actions(
    product: Product, browser: Browser, tmp_path: Path
) -> None:
    tag = secrets.token_hex(3)
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    with signed_in(browser, product, "operator") as (_, page):
        ids = [
            api(
                page,
                product,
                "POST",
                "/api/v1/messages",
                to=unique_number(),
                text=f"=SUM(1,2) agendada {tag} {n}",
                send_at=later,
            )["id"]
            for n in range(3)
        ]
        page.goto(f"{product.base_url}/outbox?q={tag}")
        expect(page.locator("#outbox-table tbody tr")).to_have_count(3)
        bulk = page.locator("#bulk-bar")
        expect(bulk.get_by_role("button", name="Cancel")).to_be_disabled()
        page.locator("#select-all").check()
        expect(bulk.get_by_role("button", name="Cancel")).to_be_enabled()
        bulk.get_by_role("button", name="Cancel").click()
        expect(page.locator(".notice-ok")).to_have_text("3 messages cancelled.")
        expect(page.locator('#outbox-table .badge[data-status="cancelled"]')).to_have_count(3)
        assert f"q={tag}" in page.url  # the filter is kept

        # Filters: status and dates (today is in, yesterday is not).
        today = datetime.now().date()
        page.goto(f"{product.base_url}/outbox?q={tag}")
        page.locator("#from").fill(today.isoformat())
        page.locator("#until").fill(today.isoformat())
        page.locator("#outbox-filters button[type=submit]").click()
        expect(page.locator("#outbox-table tbody tr")).to_have_count(3)
        page.locator("#until").fill((today - timedelta(days=1)).isoformat())
        page.locator("#from").fill((today - timedelta(days=1)).isoformat())
        page.locator("#outbox-filters button[type=submit]").click()
        expect(page.locator("#outbox-empty")).to_be_visible()

        # The export holds what the filter shows, safe for a spreadsheet.
        page.goto(f"{product.base_url}/outbox?q={tag}&status=cancelled")
        rows = download_csv(page, "#outbox-export", tmp_path)
        assert rows[0][:5] == ["id", "to", "name", "text", "status"]
        assert sorted(int(row[0]) for row in rows[1:]) == ids
        assert all(row[3].startswith("'=SUM(1,2)") for row in rows[1:])
        assert all(row[1].startswith("'+55") for row in rows[1:])

        # One turns out unknown: sending again asks first, naming it.
        sql(product, "UPDATE messages SET status = 'unknown' WHERE id = ?", ids[0])
        page.goto(f"{product.base_url}/outbox?q={tag}")
        page.locator("#select-all").check()
        page.locator("#bulk-bar").get_by_role("button", name="Send again").click()
        expect(page.locator("h1")).to_have_text("These messages may have reached the phone already")
        expect(page.locator("#unknown-rows tbody tr")).to_have_count(1)
        shot(page, "outbox-resend-unknown-asks-en-US-desktop")
        page.locator("#resend-confirmed").click()
        page.wait_for_url(re.compile(r"/outbox\?batch=\d+$"))
        expect(page.locator(".notice-ok")).to_have_text("3 messages queued again.")
        expect(page.locator("#outbox-table tbody tr")).to_have_count(3)

        # Delete the old ones (the cancelled and the unknown): the new ones stay.
        page.goto(f"{product.base_url}/outbox?q={tag}")
        expect(page.locator("#outbox-table tbody tr")).to_have_count(6)
        for message_id in ids:
            page.locator(f"#pick-{message_id}").check()
        page.locator("#bulk-bar").get_by_role("button", name="Delete").click()
        expect(page.locator(".notice-ok")).to_have_text("3 messages deleted.")
        expect(page.locator("#outbox-table tbody tr")).to_have_count(3)

    with signed_in(browser, product, "operator", language="pt-BR", phone=True) as (_, page):
        page.goto(f"{product.base_url}/outbox?q={tag}")
        expect(page.locator("#bulk-bar")).to_be_visible()
        no_sideways_scroll(page)
        shot(page, "outbox-bulk-pt-BR-phone")


def unread(page: Page) -> int:
    badge = page.locator("#inbox-new")
    return int(badge.text_content() or 0) if badge.is_visible() else 0


def test_inbox_unread_count_survives_a_reload_and_lists_update_live(
    product: Product, browser: Browser, tmp_path: Path
) -> None:
    tag = secrets.token_hex(3)
    hostile = f"@SUM(1) {tag}"
    with signed_in(browser, product, "operator") as (context, page):
        # Everything from the first modem read first, so the count below is ours.
        page.goto(f"{product.base_url}/inbox/{FIRST_MODEM_NUMBER.replace('+', '%2B')}")
        outbox = context.new_page()
        outbox.goto(f"{product.base_url}/outbox")
        expect(outbox.locator("#live-dot")).to_have_attribute("data-state", "open")
        outbox.evaluate("window.__notReloaded = true")
        page.goto(f"{product.base_url}/inbox")
        expect(page.locator("#live-dot")).to_have_attribute("data-state", "open")
        before = unread(page)

        sent = api(page, product, "POST", "/api/v1/messages", to=SECOND_MODEM_NUMBER, text=hostile)
        # The open outbox shows the message queued through the API, then its status.
        row = outbox.locator(f'tr[data-message-id="{sent["id"]}"]')
        expect(row).to_be_visible(timeout=15_000)
        expect(row.locator(".badge")).to_have_attribute("data-status", "delivered", timeout=30_000)
        assert outbox.evaluate("window.__notReloaded") is True
        expect(row.locator(".row-text")).to_have_text(hostile)

        thread = page.locator(f'#threads li[data-sender="{FIRST_MODEM_NUMBER}"]')
        expect(thread.locator(".thread-text")).to_have_text(hostile, timeout=30_000)
        expect(page.locator("#inbox-new")).to_have_text(str(before + 1))
        page.reload()
        expect(page.locator("#inbox-new")).to_have_text(str(before + 1))  # kept, not counted anew
        shot(page, "inbox-unread-en-US-desktop")

        rows = download_csv(page, "#inbox-export", tmp_path)
        assert [r[3] for r in rows if tag in r[3]] == ["'" + hostile]

        # Opening the conversation reads it; a reply's status changes there live.
        page.locator(f'#threads li[data-sender="{FIRST_MODEM_NUMBER}"] a').click()
        if before:
            expect(page.locator("#inbox-new")).to_have_text(str(before))
        else:
            expect(page.locator("#inbox-new")).to_be_hidden()
        soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
        reply = api(
            page,
            product,
            "POST",
            "/api/v1/messages",
            to=FIRST_MODEM_NUMBER,
            text=f"re {tag}",
            send_at=soon,
        )
        page.reload()
        page.evaluate("window.__notReloaded = true")
        bubble = page.locator(f'#conversation [data-message-id="{reply["id"]}"] .badge')
        expect(bubble).to_have_attribute("data-status", "queued")
        expect(bubble).to_have_attribute("data-status", "delivered", timeout=30_000)
        assert page.evaluate("window.__notReloaded") is True

        page.get_by_role("button", name="Mark unread").click()
        expect(page.locator("h1")).to_have_text("Inbox")
        assert unread(page) > before


def test_contact_edited_then_found_by_search_in_portuguese_on_a_phone(
    product: Product, browser: Browser
) -> None:
    tag = secrets.token_hex(3)
    first, second = unique_number(), unique_number()
    typed = f"+55 11 {second[5:10]}-{second[10:]}"  # as people write it: spaces and a dash
    with signed_in(browser, product, "operator", language="pt-BR", phone=True) as (_, page):
        page.goto(f"{product.base_url}/contacts")
        page.locator("#contact-name").fill(f"Rascunho {tag}")
        page.locator("#contact-number").fill(first)
        page.locator("#contact-add button[type=submit]").click()
        row = page.locator("#contact-list li", has_text=f"Rascunho {tag}")
        expect(row).to_have_count(1)
        contact_id = row.get_attribute("data-contact-id")

        row.locator("summary", has_text="Editar").click()
        page.locator(f"#edit-name-{contact_id}").fill(f"Dona Zélia {tag}")
        page.locator(f"#edit-number-{contact_id}").fill(typed)
        no_sideways_scroll(page)
        row.get_by_role("button", name="Salvar").click()
        expect(page.locator(".notice-ok")).to_contain_text("Contato salvo.")
        edited = page.locator(f'#contact-list li[data-contact-id="{contact_id}"]')
        expect(edited.locator(".contact-name")).to_have_text(f"Dona Zélia {tag}")
        expect(edited.locator(".contact-number")).to_have_text(second)

        search = page.get_by_label("Buscar contatos")
        # By part of the new name, any case: only this contact.
        search.fill(f"zélia {tag}")
        page.get_by_role("button", name="Buscar", exact=True).click()
        expect(page.locator("#contact-list li")).to_have_count(1)
        expect(page.locator("#contact-list .contact-name")).to_have_text(f"Dona Zélia {tag}")
        no_sideways_scroll(page)
        shot(page, "contacts-edit-search-pt-BR-phone")
        # By the new number's digits.
        page.get_by_label("Buscar contatos").fill(second[-8:])
        page.get_by_role("button", name="Buscar", exact=True).click()
        expect(page.locator(f'#contact-list li[data-contact-id="{contact_id}"]')).to_have_count(1)
        # The old name and the old number find it no more.
        for gone in (f"Rascunho {tag}", first[-8:]):
            page.get_by_label("Buscar contatos").fill(gone)
            page.get_by_role("button", name="Buscar", exact=True).click()
            expect(page.locator("#contact-list li")).to_have_count(0)
            expect(page.locator("#people .empty")).to_have_text("Nenhum contato corresponde.")

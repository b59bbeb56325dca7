"""The compose page's live counter counts exactly as the server's ``segment_info``."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect

from gatewayd.sms import segment_info
from tests.browser.conftest import Product, log_in

pytestmark = pytest.mark.browser

TRICKY = [
    "",
    "hello",
    "€",
    "[",
    "ç",
    "ã",
    "😀",
    "Olá, São Paulo!",
    "Preço: R$ 10 {promo} ~hoje~ | ^_^ \\o/",
    "line one\nline two\r\nthree",
    "tab\there",
    "a" * 160,
    "a" * 161,
    "€" * 80,
    "€" * 81,
    "a" * 152 + "€" + "b" * 10,
    "a" * 153 + "[" * 4,
    "ç" * 160,
    "ã" * 70,
    "ã" * 71,
    "😀" * 35,
    "😀" * 36,
    "x" * 66 + "😀" + "y" * 5,
    "Ünïcødé ÄÖÑÜ§¿¡ àèéùìò",
    "a" * 2000,
]


def test_counter_matches_segment_info(product: Product, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, product, "operator")
    page.goto(f"{product.base_url}/compose")
    counter = page.locator("#counter")
    expect(counter).to_have_attribute("data-ready", "true")
    mismatches = []
    for text in TRICKY:
        page.locator("#text").fill(text)
        # A textarea keeps line breaks as LF, and the server normalises posted CRLF the same way.
        sent = text.replace("\r\n", "\n")
        assert page.locator("#text").input_value() == sent
        expected = segment_info(sent)
        expect(counter).to_have_attribute("data-segments", str(expected.segments))
        shown = {
            "encoding": page.locator("#counter-encoding").inner_text(),
            "units": int(page.locator("#counter-units").inner_text()),
            "segments": int(page.locator("#counter-segments").inner_text()),
            "remaining": int(page.locator("#counter-remaining").inner_text()),
        }
        wanted = {
            "encoding": "GSM-7" if expected.encoding == "gsm7" else "UCS-2",
            "units": expected.units,
            "segments": expected.segments,
            "remaining": expected.remaining,
        }
        if shown != wanted:
            mismatches.append((text[:30], shown, wanted))
    assert mismatches == []

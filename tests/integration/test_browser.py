"""The app in a real headless Chromium: ask, stream, cite, escape, reopen, shut down.

The app runs as ``python app.py`` in a subprocess on a free loopback port, with the real
MiniLM embedder and the fake LLM (which answers with the first sentence of passage [1]).

Needs ``apt-get install chromium`` and ``pip install playwright`` (never
``playwright install``: the system Chromium is used).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from assistant.testing import running_app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "data" / "articles" / "000_460c06224ffb2416.txt"
CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_URL = "https://example.org/news/zephyr-glacier?id=7&ref=test"
BBC_URL = "https://www.bbc.com/news/articles/c87dd4n4jd0o"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]

HOSTILE_ARTICLE = f"""<TITLE>{HOSTILE}</TITLE>
<PUBLISHED_DATE>2025-02-03</PUBLISHED_DATE>
<URL>{HOSTILE_URL}</URL>
<CONTENT>
The Zephyr glacier retreated 41 metres during the summer of 2025, scientists at the Alpine \
Survey said on Monday.

The survey blamed an unusually warm July for the retreat, the fastest since records began.
</CONTENT>
"""


@pytest.fixture
def app_url(tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEED, articles)
    (articles / "hostile.txt").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    args = ["--data-dir", str(tmp_path / "data"), "--llm-backend", "fake",
            "--articles", str(articles)]
    with running_app(args, tmp_path / "app.log") as url:
        yield url


@pytest.fixture
def page():
    # CI sets ASSISTANT_REQUIRE_BROWSER=1: there a missing browser fails instead of skipping.
    required = os.environ.get("ASSISTANT_REQUIRE_BROWSER") == "1"
    if required:
        import playwright.sync_api as playwright_api
    else:
        playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        message = "needs the system Chromium: apt-get install -y chromium"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=BROWSER_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def test_ask_stream_cite_and_escape_in_a_real_browser(app_url, page, tmp_path):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app_url)
    box = page.locator("#question textarea")
    box.wait_for(timeout=60_000)

    # A question the hostile article answers: its card must show the title as text.
    box.fill("How much did the Zephyr glacier retreat?")
    box.press("Enter")
    card = page.locator("#sources .source-card").first
    card.wait_for(timeout=120_000)
    bot = page.get_by_test_id("bot").last
    assert "Zephyr glacier retreated 41 metres" in bot.inner_text()
    assert page.get_by_test_id("user").last.inner_text().strip() == (
        "How much did the Zephyr glacier retreat?")
    marker = bot.get_by_role("link", name="[1]")
    assert marker.get_attribute("href") == HOSTILE_URL
    title = card.locator(".source-title")
    assert title.inner_text() == HOSTILE
    assert title.get_attribute("href") == HOSTILE_URL
    assert card.locator("mark").count() >= 2  # "Zephyr", "glacier", "retreat..."
    assert page.locator("#sources img, #chat .message-content img").count() == 0
    assert "answered in" in page.locator("#status").inner_text()
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)

    # A new conversation from an example question; the first one is listed to reopen.
    page.locator("#new-conversation").click()
    page.get_by_text("How much gas could Russia supply to Iran per year?").first.click()
    page.locator(f'#sources .source-title[href="{BBC_URL}"]').wait_for(timeout=120_000)
    assert "bbc.com" in page.get_by_test_id("bot").last.inner_text()
    from playwright.sync_api import expect

    past = page.locator("#past-conversations label")
    expect(past).to_have_count(2, timeout=30_000)  # the list updates after the answer ends
    past.filter(has_text="Zephyr").click()
    page.locator(f'#sources .source-title[href="{HOSTILE_URL}"]').wait_for(timeout=30_000)
    assert page.get_by_test_id("user").count() == 1
    page.screenshot(path=str(tmp_path / "reopened.png"), full_page=True)

    page.wait_for_timeout(300)  # a late onerror would fire by now
    assert dialogs == []

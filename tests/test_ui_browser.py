"""The chat UI in a real browser: Debian's chromium, driven by Playwright, against app.py on loopback.

Screenshots go under pytest's tmp_path, with a copy in /tmp/ui-screenshots/; their paths are printed (run
with ``-s`` to see them).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import UiApp
from gradio.utils import get_upload_folder
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
TIMEOUT_MS = 240_000  # the first answer warms up the embedder; a busy 2-core machine (load 20) is slow
expect.set_options(timeout=TIMEOUT_MS)  # expect() has its own 5 s default, too short under load
BOT = '#chat [data-testid="bot"]'
SHOTS = Path(tempfile.gettempdir()) / "ui-screenshots"  # a fixed place to look at the latest run's shots


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (Playwright's download is not used)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, ui_app: UiApp) -> Iterator[Page]:
    """A fresh session on the app; fails if the page asks for anything beyond loopback (CDN, analytics)."""
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else outside.append(r.url))
    page.goto(ui_app.url)
    page.locator("#question textarea").wait_for()
    yield page
    context.close()
    assert not outside, f"the page fetched from outside loopback: {outside}"


def ask(page: Page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def wait_for_answers(page: Page, count: int) -> str:
    """Wait until `count` answers are finished (each puts its sources in the panel); the last one's text."""
    expect(page.locator("#sources .rag-turn")).to_have_count(count)
    return page.locator(BOT).last.inner_text()


def shot(page: Page, path: Path) -> None:
    """Save a full-page screenshot, and a copy under SHOTS that outlives pytest's rotating tmp dirs."""
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SHOTS / path.name)
    print(f"screenshot: {path} (copy: {SHOTS / path.name})")


def test_cited_answer_marker_click_follow_up_and_feedback(page: Page, ui_app: UiApp, tmp_path: Path) -> None:
    ask(page, "when did the army leave Hama?")
    text = wait_for_answers(page, 1)
    assert "December 5" in text

    marker = page.locator(f"{BOT} a.rag-cite").first
    href = marker.get_attribute("href") or ""
    assert href.startswith("#src-1-")
    marker.click()
    card = page.locator(f"#sources {href}")
    expect(card).to_have_class("rag-source rag-active")
    expect(card).to_be_in_viewport()
    quote = card.locator("mark").inner_text()
    assert "December 5" in quote and quote.strip(" .") in text  # the answer quotes the marked words
    shot(page, tmp_path / "cited-answer.png")

    # Thumbs up: one JSON line with the question, answer and citations.
    feedback = ui_app.settings.feedback_file
    before = feedback.read_text().count("\n") if feedback.exists() else 0
    page.locator("#chat").get_by_role("button", name="Like", exact=True).last.click()
    record = _wait_for_line(feedback, before)
    assert record["rating"] == "up" and record["question"] == "when did the army leave Hama?"
    assert "December 5" in record["answer"] and record["citations"] and record["timestamp"]

    # A follow-up from the example buttons: rewritten with the history before retrieval, shown subtly.
    page.get_by_role("button", name="and who led the offensive?").click()
    text = wait_for_answers(page, 2)
    assert "Searched for:" in text and "Hama" in text
    # The first answer's markers still reach their own (now folded) sources.
    page.locator(f"{BOT} a.rag-cite").first.click()
    expect(page.locator(f"#sources {href}")).to_be_visible()
    shot(page, tmp_path / "follow-up.png")


def test_refusal_and_llm_error_are_shown_and_the_app_keeps_working(page: Page, tmp_path: Path) -> None:
    ask(page, "what is post-series depression?")
    wait_for_answers(page, 1)
    refusal = page.locator(f"{BOT} .rag-refusal").last
    expect(refusal).to_contain_text("No answer in the articles")
    expect(page.locator(f"{BOT} .rag-error")).to_have_count(0)
    shot(page, tmp_path / "refusal.png")

    page.locator("#mode").get_by_label("LLM", exact=True).check()
    ask(page, "when did the army leave Hama?")
    error = page.locator(f"{BOT} .rag-error").last
    expect(error).to_contain_text("Could not reach the LLM server")
    shot(page, tmp_path / "llm-error.png")

    page.locator("#mode").get_by_label("Extractive (offline quotes)").check()
    ask(page, "when did the army leave Hama?")
    assert "December 5" in wait_for_answers(page, 2)


def test_upload_an_article_then_ask_about_it(page: Page, tmp_path: Path) -> None:
    article = tmp_path / "glimmerfall.txt"
    article.write_text("Brackenmoor opens the Glimmerfall footbridge\n\nThe Glimmerfall footbridge in "
                       "Brackenmoor opened to walkers on March 3, 2025, after two years of building work, "
                       f"the town council said.\n\nRun {tmp_path.name}.\n")  # unique: Gradio's cache is shared
    wrong = tmp_path / "photo.png"
    wrong.write_bytes(b"\x89PNG\r\n" + tmp_path.name.encode())
    page.locator("#upload input[type=file]").set_input_files([str(article), str(wrong)])
    page.locator("#ingest").click()
    status = page.locator("#upload-status")
    expect(status).to_contain_text("Ingested: glimmerfall.txt")
    expect(status).to_contain_text("photo.png")
    expect(status).to_contain_text("unsupported file type .png")
    shot(page, tmp_path / "upload.png")
    # Gradio's temporary copies are gone, of the ingested file and of the rejected one alike.
    cache = Path(get_upload_folder())
    left = [p for p in cache.rglob("*") if p.name in ("glimmerfall.txt", "photo.png") and p.is_file()
            and tmp_path.name.encode() in p.read_bytes()]
    assert not left

    ask(page, "when did the Glimmerfall footbridge open?")
    text = wait_for_answers(page, 1)
    assert "March 3" in text
    expect(page.locator("#sources .rag-source").first).to_contain_text("glimmerfall.txt")
    shot(page, tmp_path / "uploaded-answer.png")


def _wait_for_line(path: Path, skip: int, timeout_s: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) > skip:
            return json.loads(lines[skip])
        time.sleep(0.1)
    raise AssertionError(f"no feedback line appeared in {path}")


def test_disagreement_answer_shows_both_sources_with_their_quotes(page: Page, tmp_path: Path) -> None:
    ask(page, "when did the militants take Aleppo?")
    text = wait_for_answers(page, 1)
    assert "Sources disagree" in text
    expect(page.locator(f"{BOT} .rag-disagree")).to_have_count(1)  # flagged, not read as one plain answer
    expect(page.locator("#sources .rag-disagree-note")).to_be_visible()
    markers = page.locator(f"{BOT} a.rag-cite")
    hrefs = list(dict.fromkeys(m.get_attribute("href") or "" for m in markers.all()))
    assert len(hrefs) == 2, hrefs  # one marker per side

    cards = page.locator("#sources .rag-turn").last.locator(".rag-source")
    expect(cards).to_have_count(2)
    for href in hrefs:
        card = page.locator(f"#sources {href}")
        expect(card).to_be_visible()
        quote = card.locator("mark").inner_text().strip()
        assert quote and quote.strip(" .") in text, href  # each side's card marks the words the answer quotes
    # The two sides are told apart by their articles: different files, and the dated outlet is named.
    first, second = (page.locator(f"#sources {href}").inner_text() for href in hrefs)
    assert first != second
    assert "Levant-Agencies" in first + second and "2024-12-02" in first + second
    shot(page, tmp_path / "disagreement.png")

"""A live server on loopback and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    sync_playwright,
)
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class PageWatch:
    """Collects what a page did that it must not: CSP violations, console errors, foreign hosts."""

    def __init__(self, page: Page, origin: str) -> None:
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.origin = origin
        page.on("console", self._on_console)
        page.on("request", self._on_request)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_request(self, request: Request) -> None:
        if not request.url.startswith((self.origin, "data:")):
            self.foreign_requests.append(request.url)


# WCAG 2.1 SC 1.4.10 (Reflow): content readable at 320 CSS pixels wide without scrolling
# sideways, the width of a small phone and of a desktop window zoomed to 400 %.
NARROW = {"width": 320, "height": 640}


def _watched_page(browser: Browser, live_server: str, **options: Any) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", **options)
    page = context.new_page()
    page.watch = PageWatch(page, live_server)  # type: ignore[attr-defined]
    yield page
    context.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    yield from _watched_page(browser, live_server)


@pytest.fixture
def narrow_page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A page 320 CSS pixels wide (see NARROW)."""
    yield from _watched_page(browser, live_server, viewport=NARROW)


@pytest.fixture(params=["wide", "narrow"])
def page_at_both_widths(request: pytest.FixtureRequest, browser: Browser,
                        live_server: str) -> Iterator[Page]:
    """The test runs twice: in a desktop window, and 320 CSS pixels wide (see NARROW)."""
    options = {"viewport": NARROW} if request.param == "narrow" else {}
    yield from _watched_page(browser, live_server, **options)


def axe_violations(page: Page) -> list[dict[str, object]]:
    """Run axe-core with the WCAG 2.1 A and AA rules on the current page."""
    # Evaluated through the DevTools protocol, so the page's strict CSP (rightly) does not apply.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))")
    assert isinstance(result, list)
    return result


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_clean(page: Page, name: str) -> None:
    """The checks every page of a journey passes: a screenshot, no CSP error in the console,
    no request to a foreign host, and no WCAG 2.1 AA violation found by axe-core."""
    page.wait_for_load_state("load")
    screenshot(page, name)
    watch: PageWatch = page.watch  # type: ignore[attr-defined]
    assert watch.foreign_requests == [], (name, watch.foreign_requests)
    csp = [e for e in watch.console_errors if "Content Security Policy" in e]
    assert csp == [], (name, csp)
    violations = axe_violations(page)
    assert violations == [], (name, page.url, violations)
    assert_reflows(page, name)


def assert_reflows(page: Page, name: str) -> None:
    """Nothing makes the page scroll sideways: what is wider than the window (a table) scrolls
    inside its own box. Axe-core does not check this (WCAG 1.4.10)."""
    width, scroll_width, wide = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const contained = (element) => {
            for (let box = element.parentElement; box; box = box.parentElement) {
                if (getComputedStyle(box).overflowX !== "visible") return true;
            }
            return false;
        };
        const wide = [...document.body.querySelectorAll("*")]
            .filter((e) => e.getBoundingClientRect().right > width + 1 && !contained(e))
            .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
        return [width, document.documentElement.scrollWidth, wide];
    }""")
    assert scroll_width <= width, (name, page.url, scroll_width, width, wide)


def pdf_file(text: str) -> bytes:
    """A small real PDF (reportlab) with ``text`` on its only page."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    document = canvas.Canvas(buffer, pagesize=A4)
    document.drawString(72, 760, text)
    document.showPage()
    document.save()
    return buffer.getvalue()


def fill_form(page: Page, answers: dict[str, str]) -> None:
    """Answer a form by field name, as a person would: type, tick, choose."""
    for name, value in answers.items():
        inputs = page.locator(f'[name="{name}"]')
        first = inputs.first
        tag = first.evaluate("el => el.tagName.toLowerCase()")
        kind = first.get_attribute("type") or ""
        if kind == "radio":
            page.locator(f'input[name="{name}"][value="{value}"]').check()
        elif kind == "checkbox":
            if value:
                first.check()
            else:
                first.uncheck()
        elif tag == "select":
            first.select_option(value)
        else:
            first.fill(value)


def click_through(page: Page, target: str | Locator) -> None:
    """Click a link or submit button and wait until the next page has loaded (a plain click
    returns before the navigation starts, and the old page would be checked again)."""
    locator = page.locator(target).first if isinstance(target, str) else target
    with page.expect_navigation(wait_until="load"):
        locator.click()

"""The shell in a real browser: KERN loads from our origin, CSP holds, nothing third-party."""

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import axe_violations, screenshot

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("path", ["/", "/intern/anmelden", "/konto/anmelden", "/gibt-es-nicht"])
def test_page_loads_clean_and_accessible(page: Page, live_server: str, path: str) -> None:
    page.goto(live_server + path)
    # KERN's stylesheet applied: the header strip has its background colour.
    background = page.eval_on_selector(".kern-kopfzeile",
                                       "el => getComputedStyle(el).backgroundColor")
    assert background not in ("", "rgba(0, 0, 0, 0)")
    screenshot(page, "layout" + path.replace("/", "_"))
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.foreign_requests == []
    assert [e for e in watch.console_errors if "Content Security Policy" in e] == []
    assert axe_violations(page) == []

"""The shell in a real browser: KERN loads from our origin, CSP holds, nothing third-party."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from amtsweg.staff.models import Role, Staff
from tests.e2e.casework_support import staff_sign_in
from tests.e2e.conftest import assert_clean, axe_violations, screenshot

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


def test_the_second_factor_setup_fits_a_narrow_window(
        narrow_page: Page, live_server: str, create_staff: Callable[..., Staff]) -> None:
    create_staff("zweifaktor", roles=(Role.CASEWORKER,), fachbereiche=("uvg",))
    staff_sign_in(narrow_page, live_server, "zweifaktor", "layout_2fa_sign_in")
    narrow_page.goto(live_server + "/intern/zwei-faktor")
    # The key for typing in is one long word: it wraps instead of widening the page.
    expect(narrow_page.locator("code.totp-secret")).to_be_visible()
    assert_clean(narrow_page, "layout_2fa_setup_narrow")

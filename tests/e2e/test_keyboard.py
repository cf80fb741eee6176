"""Keyboard only (issue 9, part 2): the citizen signs in, applies for UVG from the catalogue to
the confirmation, and sends a general request with an attachment, without touching the mouse."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from clearing.models import Eingang, EingangKind
from portal.models import Draft, Submission
from tests.conftest import PASSWORD
from tests.e2e.conftest import assert_clean, pdf_file
from tests.portal.uvg.conftest import (
    APPLICANT,
    BANK,
    DECLARATIONS,
    EARLIER,
    ORPHAN,
    OTHER_PARENT,
    child_answers,
)
from tests.storage.conftest import image_bytes

pytestmark = pytest.mark.e2e

MAX_TABS = 80


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element matching ``selector`` has the focus: it is reachable."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    pytest.fail(f"{selector} cannot be reached with the Tab key on {page.url}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def keep_intercepting_file_choosers(page: Page) -> None:
    """Playwright switches the file chooser interception on and off without waiting as listeners
    come and go, so a key pressed right after ``expect_file_chooser`` can race ahead of it and open
    the real dialog instead (seen in CI). One listener for the whole test keeps it on throughout."""
    page.on("filechooser", lambda chooser: None)


def press_and_load(page: Page, key: str) -> None:
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press(key)


def test_citizen_works_with_the_keyboard_alone(
        app: Flask, page: Page, live_server: str, tmp_path: Path,
        create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("tastatur@example.org")

    keep_intercepting_file_choosers(page)
    page.goto(live_server + "/konto/anmelden")
    type_into(page, 'input[name="email"]', "tastatur@example.org")
    type_into(page, 'input[name="password"]', PASSWORD)
    press_and_load(page, "Enter")
    assert "/konto/anmelden" not in page.url

    # The catalogue: to the application's start page by links alone.
    page.goto(live_server + "/leistungen")
    tab_to(page, 'main a[href="/leistungen/uvg"]')
    press_and_load(page, "Enter")
    tab_to(page, "main a.kern-btn--primary")
    press_and_load(page, "Enter")
    tab_to(page, "main a.kern-btn--primary")
    press_and_load(page, "Enter")

    # The first child's page: an empty submit, then the error summary leads to the field.
    tab_to(page, 'button[name="action"][value="continue"]')
    press_and_load(page, "Enter")
    expect(page).to_have_title(re.compile(r"^Fehler: "))
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#first_name"
    page.keyboard.press("Enter")
    expect(page.locator("#first_name")).to_be_focused()
    child = child_answers("Lea", 6)
    page.keyboard.type(child["first_name"])
    type_into(page, 'input[name="last_name"]', child["last_name"])
    type_into(page, 'input[name="birth_date"]', child["birth_date"])
    tab_to(page, 'input[name="nationality"]')
    # Within a radio group the arrow keys choose; Space ticks the focused one.
    for _ in range(5):
        if page.evaluate("document.activeElement.value") == "german":
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    type_into(page, 'input[name="living_since"]', child["living_since"])
    tab_to(page, 'button[name="action"][value="continue"]')
    press_and_load(page, "Enter")
    assert page.url.split("#")[0].endswith("/kinder"), page.url
    assert_clean(page, "keyboard_01_children")
    with app.app_context():
        draft = db.session.scalar(select(Draft).where(Draft.citizen_id == citizen.id))
        assert draft is not None
        assert draft.answers["children"][0]["person"]["first_name"] == "Lea"

    # A general request with an attachment chosen through the keyboard.
    page.goto(live_server + "/anfrage")
    tab_to(page, 'select[name="topic"]')
    page.keyboard.press("ArrowDown")
    type_into(page, 'input[name="subject"]', "Frage per Tastatur")
    type_into(page, 'textarea[name="message"]', "Ich schreibe ohne Maus.")
    scan = tmp_path / "brief.pdf"
    scan.write_bytes(pdf_file("Brief"))
    tab_to(page, 'input[name="attachments"]')
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(scan))
    tab_to(page, 'main form button[type="submit"]')
    press_and_load(page, "Enter")
    assert_clean(page, "keyboard_02_request_sent")
    with app.app_context():
        eingang = db.session.scalar(select(Eingang).where(
            Eingang.kind == EingangKind.NACHRICHT))
        assert eingang is not None
        assert eingang.subject.endswith("Frage per Tastatur")
        assert [d.document.filename for d in eingang.documents] == ["brief.pdf"]


def keyboard_fill(page: Page, answers: dict[str, str]) -> None:
    """Answer a form as someone without a mouse does: Tab to each field, type; arrow keys in a
    radio group or a list; Space ticks a box."""
    for name, value in answers.items():
        if not value:
            continue
        field = page.locator(f'[name="{name}"]').first
        kind = field.get_attribute("type") or field.evaluate("e => e.tagName.toLowerCase()")
        tab_to(page, f'[name="{name}"]')
        if kind in ("radio", "select"):
            for _ in range(30):
                if page.evaluate("document.activeElement.value") == value:
                    break
                page.keyboard.press("ArrowDown")
            assert page.evaluate("document.activeElement.value") == value, (name, value)
            if kind == "radio":
                page.keyboard.press("Space")
        elif kind == "checkbox":
            page.keyboard.press("Space")
        else:
            page.keyboard.type(value)


def continue_with_keyboard(page: Page, tail: str) -> None:
    tab_to(page, 'button[name="action"][value="continue"]')
    press_and_load(page, "Enter")
    assert page.url.split("#")[0].endswith(tail), (tail, page.url)


def test_citizen_applies_from_catalogue_to_confirmation_with_the_keyboard(
        app: Flask, page: Page, live_server: str, tmp_path: Path,
        create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("ohnemaus@example.org")
    keep_intercepting_file_choosers(page)
    page.goto(live_server + "/konto/anmelden")
    type_into(page, 'input[name="email"]', "ohnemaus@example.org")
    type_into(page, 'input[name="password"]', PASSWORD)
    press_and_load(page, "Enter")
    page.goto(live_server + "/leistungen")
    tab_to(page, 'main a[href="/leistungen/uvg"]')
    press_and_load(page, "Enter")
    for _ in range(2):
        tab_to(page, "main a.kern-btn--primary")
        press_and_load(page, "Enter")

    child = child_answers("Ben", 9)
    keyboard_fill(page, {key: child[key] for key in
                         ("first_name", "last_name", "birth_date", "nationality",
                          "living_since")})
    continue_with_keyboard(page, "/kinder")
    continue_with_keyboard(page, "/antragsteller")
    keyboard_fill(page, APPLICANT)
    continue_with_keyboard(page, "/anderer-elternteil")
    keyboard_fill(page, OTHER_PARENT)
    continue_with_keyboard(page, "/waisenbezuege")
    keyboard_fill(page, ORPHAN)
    continue_with_keyboard(page, "/frueherer-unterhaltsvorschuss")
    keyboard_fill(page, EARLIER)
    continue_with_keyboard(page, "/andere-leistungen")
    continue_with_keyboard(page, "/bankverbindung")
    keyboard_fill(page, BANK)
    continue_with_keyboard(page, "/unterlagen")

    # Each requested paper through its file input: Space opens the chooser, as Enter would.
    names = page.eval_on_selector_all('main input[type="file"]', "els => els.map(e => e.name)")
    assert names, page.url
    for name in names:
        scan = tmp_path / (f"{name}.png" if "melde" in name else f"{name}.pdf")
        scan.write_bytes(image_bytes("PNG") if "melde" in name else pdf_file(name))
        tab_to(page, f'input[name="{name}"]')
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(str(scan))
    tab_to(page, 'button[name="action"][value="upload"]')
    press_and_load(page, "Enter")
    continue_with_keyboard(page, "/erklaerungen")
    keyboard_fill(page, DECLARATIONS)
    continue_with_keyboard(page, "/pruefen")
    tab_to(page, 'form[action$="/absenden"] button[type="submit"]')
    press_and_load(page, "Enter")
    expect(page.locator("main")).to_contain_text(re.compile(r"AW-\d{4}-\d{7}-\d"))
    assert_clean(page, "keyboard_03_application_sent")
    with app.app_context():
        submission = db.session.scalar(select(Submission).where(
            Submission.citizen_id == citizen.id))
        assert submission is not None
        assert submission.answers["children"][0]["person"]["first_name"] == "Ben"
        assert len(submission.documents) == len(names)

"""A caseworker in Chromium: from a routed case to an issued Bescheid the citizen reads.

The citizen's UVG application was submitted in the portal and routed by a clerk into a new UVG
case assigned to the caseworker (set up in the database). The caseworker signs in, finds the case
in "Meine Fälle", reads the E-Akte and the timeline, adds a Vermerk and a Wiedervorlage, drafts a
Bewilligung and issues it. The citizen then finds the Bescheid unread in the postbox, opens it and
downloads the PDF. A caseworker of another Fachbereich is refused the case, and the auditor sees
both the view and the refusal in the access log. Every page passed is screenshotted and checked:
no CSP error, no foreign request, no WCAG 2.1 AA violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from amtsweg.citizens.models import Citizen
from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxMessage
from amtsweg.staff.models import Role, Staff
from backoffice.decisions.models import Decision, DecisionStatus
from tests.e2e.casework_support import (
    MAIN,
    RoutedCase,
    citizen_sign_in,
    pdf_text,
    routed_uvg_case,
    sign_out,
    staff_sign_in,
)
from tests.e2e.conftest import assert_clean, click_through, fill_form

pytestmark = pytest.mark.e2e

TENOR = "Für Lea Müller wird Unterhaltsvorschuss ab dem 1.12.2026 in gesetzlicher Höhe bewilligt."
BEGRUENDUNG = ("Die Voraussetzungen des § 1 Abs. 1 UVG liegen vor: Lea lebt bei der "
               "Antragstellerin und erhält vom anderen Elternteil keinen Unterhalt.")
SUBJECT = "Bescheid über Unterhaltsvorschuss für Lea Müller"
NOTE = "Geburtsurkunde liegt vor, Angaben plausibel."
FOLLOW_UP = "Zahlungseingang prüfen"


@pytest.fixture
def people(create_staff: Callable[..., Staff],
           create_citizen: Callable[..., Citizen]) -> dict[str, Staff | Citizen]:
    return {
        "citizen": create_citizen("sabine@example.org"),
        "clerk": create_staff("clearing", roles=(Role.CLEARING,), fachbereiche=("uvg",),
                              full_name="Clara Clearing"),
        "caseworker": create_staff("sachbearbeiterin", roles=(Role.CASEWORKER,),
                                   fachbereiche=("uvg",), full_name="Erika Sachbearbeiterin"),
        "stranger": create_staff("wohngeld", roles=(Role.CASEWORKER,),
                                 fachbereiche=("wohngeld",), full_name="Walter Wohngeld"),
        "auditor": create_staff("pruefer", roles=(Role.AUDITOR,), fachbereiche=(),
                                full_name="Paula Prüferin"),
    }


def _staff(people: dict[str, Staff | Citizen], key: str) -> Staff:
    person = people[key]
    assert isinstance(person, Staff)
    return person


def _citizen(people: dict[str, Staff | Citizen]) -> Citizen:
    person = people["citizen"]
    assert isinstance(person, Citizen)
    return person


def caseworker_handles_the_case(page: Page, base: str, case: RoutedCase) -> None:
    staff_sign_in(page, base, "sachbearbeiterin", "casework_01_login")

    # "Meine Fälle" lists the case; the case file opens from there.
    page.goto(base + "/intern/faelle/")
    assert_clean(page, "casework_02_my_cases")
    link = page.locator(MAIN).get_by_role("link", name=re.compile(re.escape(case.aktenzeichen)))
    if link.count() == 0:
        link = page.locator(f'{MAIN} a[href$="/intern/faelle/{case.fall_id}"]')
    click_through(page, link.first)
    assert page.url.endswith(f"/intern/faelle/{case.fall_id}"), page.url
    assert_clean(page, "casework_03_case")
    main = page.locator(MAIN)
    expect(main).to_contain_text(case.aktenzeichen)
    expect(main).to_contain_text("Lea Müller")
    expect(main).to_contain_text("Sabine Müller")
    e_akte = page.locator("#e-akte")
    expect(e_akte).to_contain_text("Geburtsurkunde")
    expect(e_akte).to_contain_text(re.compile("Eingangsbestätigung", re.IGNORECASE))
    timeline = page.locator("#verlauf")
    expect(timeline).to_contain_text(case.submission_title)

    # A Vermerk.
    page.fill('#vermerke [name="text"]', NOTE)
    click_through(page, page.locator("#vermerke form button[type=submit]"))
    assert_clean(page, "casework_04_note_saved")
    expect(page.locator("#vermerke")).to_contain_text(NOTE)
    expect(page.locator("#vermerke")).to_contain_text("Erika Sachbearbeiterin")

    # A Wiedervorlage in five working days.
    click_through(page, main.get_by_role("link", name="Wiedervorlage setzen"))
    assert_clean(page, "casework_05_follow_up_form")
    fill_form(page, {"working_days": "5", "reason": FOLLOW_UP})
    click_through(page, page.locator(f"{MAIN} form button[type=submit]").first)
    assert page.url.split("#")[0].endswith(f"/intern/faelle/{case.fall_id}"), page.url
    assert_clean(page, "casework_06_follow_up_set")
    expect(page.locator("#wiedervorlagen")).to_contain_text(FOLLOW_UP)

    # A Bewilligung with Tenor and Begründung, saved as a draft, then issued.
    click_through(page, main.get_by_role("link", name="Entscheidungen und Widersprüche"))
    assert_clean(page, "casework_07_decisions")
    click_through(page, page.locator(MAIN).get_by_role("link", name="Neue Entscheidung entwerfen"))
    assert_clean(page, "casework_08_decision_form")
    applicant = page.locator('[name="addressee"] option', has_text="Sabine Müller")
    today = berlin_today().strftime("%d.%m.%Y")
    fill_form(page, {"kind": "bewilligung",
                     "addressee": applicant.first.get_attribute("value") or "",
                     "subject": SUBJECT, "decision_date": today,
                     "tenor": TENOR, "begruendung": BEGRUENDUNG})
    click_through(page, page.locator(f"{MAIN} form button[type=submit]").first)
    assert re.search(r"/bescheide/\d+$", page.url), page.url
    assert_clean(page, "casework_09_draft_saved")
    click_through(page, page.locator(MAIN).get_by_role("button", name="Bescheid erlassen"))
    assert_clean(page, "casework_10_issued")
    expect(page.locator(MAIN)).to_contain_text("Postfach")
    expect(page.locator(MAIN)).to_contain_text("Bewilligung")

    # The case's decisions listed in a table, which scrolls in its own box when narrow.
    page.goto(f"{base}/intern/faelle/{case.fall_id}/bescheide")
    assert_clean(page, "casework_10b_decisions_listed")
    expect(page.locator(f"{MAIN} table")).to_contain_text(SUBJECT)

    # Back in the case file: the timeline shows the Bescheid, the E-Akte holds its PDF.
    page.goto(f"{base}/intern/faelle/{case.fall_id}")
    assert_clean(page, "casework_11_case_after_bescheid")
    expect(page.locator("#verlauf")).to_contain_text(
        f"Bescheid erlassen · sachbearbeiterin: {SUBJECT}")
    expect(page.locator("#e-akte")).to_contain_text(SUBJECT)


def citizen_reads_the_bescheid(page: Page, base: str, case: RoutedCase, tmp_path: Path) -> None:
    citizen_sign_in(page, base, "sabine@example.org", "casework_20_citizen_login")
    page.goto(base + "/konto/postfach")
    assert_clean(page, "casework_21_postbox_unread")
    item = page.locator(".postbox-item", has_text=SUBJECT)
    expect(item).to_have_count(1)
    expect(item).to_have_class(re.compile("postbox-item--unread"))
    expect(item).to_contain_text("neu")
    click_through(page, item.get_by_role("link"))
    assert_clean(page, "casework_22_message")
    expect(page.locator("h1")).to_contain_text(SUBJECT)

    with page.expect_download() as info:
        page.locator(MAIN).get_by_role("link", name=re.compile("PDF")).click()
    target = tmp_path / "bescheid.pdf"
    info.value.save_as(target)
    text = " ".join(pdf_text(target.read_bytes()).split())
    assert case.aktenzeichen in text
    assert " ".join(TENOR.split()) in text, text

    page.goto(base + "/konto/postfach")
    assert_clean(page, "casework_23_postbox_read")
    item = page.locator(".postbox-item", has_text=SUBJECT)
    expect(item).not_to_have_class(re.compile("postbox-item--unread"))


def test_a_caseworker_takes_a_routed_case_to_a_bescheid_the_citizen_reads(
        app: Flask, page_at_both_widths: Page, live_server: str, tmp_path: Path,
        people: dict[str, Staff | Citizen]) -> None:
    # Also 320 CSS pixels wide: a caseworker may zoom to 400 % (WCAG 1.4.10), a citizen reads
    # the Bescheid on a phone.
    page = page_at_both_widths
    case = routed_uvg_case(app, _citizen(people), _staff(people, "clerk"),
                           _staff(people, "caseworker"))
    caseworker_handles_the_case(page, live_server, case)

    with app.app_context():
        decision = db.session.scalar(select(Decision).where(Decision.fall_id == case.fall_id))
        assert decision is not None
        assert decision.status is DecisionStatus.ISSUED
        message = db.session.get(PostboxMessage, decision.postbox_message_id)
        assert message is not None
        assert message.read_at is None

    sign_out(page)
    citizen_reads_the_bescheid(page, live_server, case, tmp_path)
    with app.app_context():
        message = db.session.get_one(PostboxMessage, message.id)
        assert message.read_at is not None


def test_another_fachbereich_is_refused_and_the_auditor_sees_both(
        app: Flask, page: Page, live_server: str,
        people: dict[str, Staff | Citizen]) -> None:
    case = routed_uvg_case(app, _citizen(people), _staff(people, "clerk"),
                           _staff(people, "caseworker"))
    case_url = f"{live_server}/intern/faelle/{case.fall_id}"

    staff_sign_in(page, live_server, "sachbearbeiterin", "access_01_caseworker")
    page.goto(case_url)
    assert_clean(page, "access_02_case_viewed")
    sign_out(page)

    staff_sign_in(page, live_server, "wohngeld", "access_03_stranger")
    response = page.goto(case_url)
    assert response is not None
    assert response.status == 403
    assert_clean(page, "access_04_refused")
    expect(page.locator(MAIN)).to_contain_text("Zugriff verweigert")
    expect(page.locator(MAIN)).not_to_contain_text("Lea Müller")
    sign_out(page)

    staff_sign_in(page, live_server, "pruefer", "access_05_auditor")
    page.goto(live_server + "/intern/faelle/zugriffe")
    assert_clean(page, "access_06_log")
    fill_form(page, {"aktenzeichen": case.aktenzeichen})
    click_through(page, page.locator(f'{MAIN} form[role="search"] button[type=submit]'))
    assert_clean(page, "access_07_log_filtered")
    rows = page.locator(f"{MAIN} tbody tr")
    viewed = rows.filter(has_text="Erika Sachbearbeiterin").filter(has_text="erlaubt")
    refused = rows.filter(has_text="Walter Wohngeld").filter(has_text="abgewiesen")
    expect(viewed).to_have_count(1)
    expect(refused).to_have_count(1)
    expect(rows).to_have_count(2)
    for row in (viewed, refused):
        expect(row).to_contain_text(case.aktenzeichen)
        expect(row).to_contain_text("Fall eingesehen")

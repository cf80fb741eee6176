"""A citizen in Chromium: from the catalogue to the confirmation and back through "Meine Anträge".

Two children (Ben is 13, so the § 1 Abs. 1a pages appear), a pause in the middle, real PDFs
through the file inputs, one change from the check page, the receipt, a Nachreichung, an answer
to the office's request in the postbox, and a general request. Every page the citizen passes is
screenshotted and checked: no CSP error, no foreign request, no WCAG 2.1 AA violation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from clearing.models import Eingang, EingangKind, EingangStatus
from clearing.services import request_from_citizen
from portal.models import Submission
from storage.models import Document
from storage.services import open_document
from tests.conftest import PASSWORD
from tests.e2e.conftest import assert_clean, click_through, fill_form, pdf_file
from tests.portal.uvg.conftest import (
    APPLICANT,
    BANK,
    EARLIER,
    OTHER_PARENT,
    SGB2,
    child_answers,
)

pytestmark = pytest.mark.e2e

CONTINUE = 'button[name="action"][value="continue"]'
SAVE_LATER = 'button[name="action"][value="save_later"]'
UPLOAD = 'button[name="action"][value="upload"]'
MAIN = "main"


def _child(first_name: str, age: int) -> dict[str, str]:
    answers = child_answers(first_name, age)
    # Only what a person types or ticks; the empty follow-up questions stay hidden.
    return {key: answers[key] for key in ("first_name", "last_name", "birth_date",
                                          "nationality", "living_since")}


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/konto/anmelden")
    assert_clean(page, "citizen_01_login")
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', PASSWORD)
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]').first)
    assert "/konto/anmelden" not in page.url
    assert_clean(page, "citizen_01b_signed_in")


def write_pdf(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(pdf_file(text))
    return path


def test_citizen_applies_for_uvg_and_follows_up(
        app: Flask, page_at_both_widths: Page, live_server: str, tmp_path: Path,
        create_citizen: Callable[..., Citizen]) -> None:
    page = page_at_both_widths  # a desktop window, and a phone's 320 CSS pixels
    citizen = create_citizen("maria@example.org")
    sign_in(page, live_server, "maria@example.org")

    # The catalogue, the service page, the start page.
    page.goto(live_server + "/leistungen")
    assert_clean(page, "citizen_02_catalogue")
    click_through(page, page.get_by_role("link", name="Unterhaltsvorschuss", exact=True))
    assert_clean(page, "citizen_03_leistung")
    click_through(page, page.locator(f"{MAIN} a.kern-btn--primary"))
    assert_clean(page, "citizen_04_start")
    click_through(page, page.locator(f"{MAIN} a.kern-btn--primary"))

    # The first child; then an empty required page: the error state, focus on the summary.
    assert_clean(page, "citizen_05_child1")
    click_through(page, CONTINUE)
    expect(page).to_have_title(re.compile(r"^Fehler: "))
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    assert page.evaluate("document.activeElement && document.activeElement.id") == \
        "error-summary"
    assert_clean(page, "citizen_06_child1_errors")
    fill_form(page, _child("Lea", 6))
    click_through(page, CONTINUE)

    # The list of children; a second child, 13 years old.
    assert_clean(page, "citizen_07_children_one")
    click_through(page, page.get_by_role("link", name="Weiteres Kind hinzufügen"))
    assert_clean(page, "citizen_08_child2")
    fill_form(page, _child("Ben", 13))
    click_through(page, CONTINUE)
    assert_clean(page, "citizen_09_children_two")
    expect(page.locator(MAIN)).to_contain_text("Lea Muster")
    expect(page.locator(MAIN)).to_contain_text("Ben Muster")
    click_through(page, CONTINUE)

    assert_clean(page, "citizen_10_applicant")
    fill_form(page, APPLICANT)
    click_through(page, CONTINUE)

    # The other parent: answered, then "save and continue later".
    assert_clean(page, "citizen_11_other_parent")
    fill_form(page, OTHER_PARENT)
    click_through(page, SAVE_LATER)
    assert page.url.endswith("/konto/antraege")
    assert_clean(page, "citizen_12_saved_for_later")
    expect(page.locator(MAIN)).to_contain_text("gespeichert")

    # Back from "Meine Anträge": the application continues where it stopped.
    click_through(page, page.locator(f'{MAIN} a[href*="/antrag/unterhaltsvorschuss/"]').first)
    public_id = page.url.split("/antrag/unterhaltsvorschuss/")[1].split("/")[0]
    assert public_id
    # The other parent's page was complete, so it goes on with the next question.
    assert page.url.endswith("/waisenbezuege"), page.url
    assert_clean(page, "citizen_13_resumed_orphan")
    fill_form(page, {"receives": "no"})
    click_through(page, CONTINUE)

    # § 1 Abs. 1a UVG for Ben (13) only.
    assert page.url.endswith("/buergergeld/k2"), page.url
    assert_clean(page, "citizen_15_sgb2_ben")
    expect(page.locator("h1")).to_contain_text("Ben")
    fill_form(page, SGB2)
    click_through(page, CONTINUE)

    assert_clean(page, "citizen_16_earlier")
    fill_form(page, EARLIER)
    click_through(page, CONTINUE)
    assert_clean(page, "citizen_17_benefits")
    fill_form(page, {"buergergeld": "y", "details": "Jobcenter Regensburg"})
    click_through(page, CONTINUE)
    assert_clean(page, "citizen_18_bank")
    fill_form(page, BANK)
    click_through(page, CONTINUE)

    # The documents: real PDFs through the file inputs.
    assert page.url.endswith("/unterlagen"), page.url
    assert_clean(page, "citizen_19_documents")
    expect(page.locator(MAIN)).to_contain_text("Jobcenter")
    file_inputs = page.locator(f'{MAIN} input[type="file"]')
    names = [file_inputs.nth(i).get_attribute("name") or ""
             for i in range(file_inputs.count())]
    assert {"file_birth_certificate__k1", "file_birth_certificate__k2",
            "file_jobcenter_decision"} <= set(names), names
    for name in names:
        page.set_input_files(f'input[name="{name}"]',
                             str(write_pdf(tmp_path, f"{name[5:]}.pdf", f"Nachweis {name}")))
    click_through(page, UPLOAD)
    assert_clean(page, "citizen_20_documents_uploaded")
    expect(page.locator(MAIN)).to_contain_text("birth_certificate__k2.pdf")
    click_through(page, CONTINUE)

    assert page.url.endswith("/erklaerungen"), page.url
    assert_clean(page, "citizen_21_declarations")
    for box in ("report_changes", "repayment", "truthful", "consent"):
        page.check(f'input[name="{box}"]')
    click_through(page, CONTINUE)

    # Check the answers; change the bank account holder and come back.
    assert page.url.endswith("/pruefen"), page.url
    assert_clean(page, "citizen_22_check")
    expect(page.locator(MAIN)).to_contain_text("Kind 2: Ben Muster")
    click_through(page, page.locator(f'{MAIN} a[href*="/bankverbindung?zurueck=pruefen"]').first)
    assert_clean(page, "citizen_23_change_bank")
    page.fill('[name="account_holder"]', "Maria Muster-Neu")
    click_through(page, CONTINUE)
    assert page.url.endswith("/pruefen"), page.url
    expect(page.locator(MAIN)).to_contain_text("Maria Muster-Neu")
    click_through(page, page.locator(f'{MAIN} form[action$="/absenden"] button[type="submit"]'))

    # The confirmation with the reference number, and the receipt.
    assert page.url.endswith("/bestaetigung"), page.url
    assert_clean(page, "citizen_24_confirmation")
    with app.app_context():
        submission = db.session.scalar(select(Submission))
        assert submission is not None
        reference, submission_id = submission.reference, submission.public_id
    expect(page.locator(MAIN)).to_contain_text(reference)
    with page.expect_download() as download_info:
        page.locator(f'{MAIN} a[href$="eingangsbestaetigung.pdf"]').click()
    receipt_path = download_info.value.path()
    text = " ".join(p.extract_text() for p in PdfReader(str(receipt_path)).pages)
    assert reference in " ".join(text.split())

    # Back through "Meine Anträge" to the submission; more documents.
    page.goto(live_server + "/konto/antraege")
    assert_clean(page, "citizen_25_my_applications")
    click_through(page, page.get_by_role("link", name=re.compile("Unterhaltsvorschuss")).first)
    assert submission_id in page.url
    assert_clean(page, "citizen_26_submission")
    click_through(page, page.locator(f'{MAIN} a[href$="/nachreichen"]'))
    assert_clean(page, "citizen_27_nachreichen")
    page.set_input_files('input[name="attachments"]',
                         str(write_pdf(tmp_path, "meldung.pdf", "Meldebescheinigung")))
    page.fill('[name="note"]', "Die neue Meldebescheinigung.")
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert_clean(page, "citizen_28_nachreichen_sent")

    # The office asks for something; the citizen reads it in the postbox and answers.
    with app.app_context():
        eingang = db.session.scalar(select(Eingang).where(Eingang.reference == reference))
        assert eingang is not None
        request_from_citizen(eingang, "Bitte Kontoauszug nachreichen",
                             "Bitte senden Sie uns einen Kontoauszug.", SYSTEM)
        db.session.commit()
    page.goto(live_server + "/konto/postfach")
    assert_clean(page, "citizen_29_postbox")
    click_through(page, page.get_by_role("link", name=re.compile("Bitte Kontoauszug nachreichen")))
    assert_clean(page, "citizen_30_postbox_message")
    expect(page.locator(MAIN)).to_contain_text("Bitte senden Sie uns einen Kontoauszug.")
    page.fill('[name="message"]', "Anbei der Kontoauszug.")
    page.set_input_files('input[name="attachments"]',
                         str(write_pdf(tmp_path, "kontoauszug.pdf", "Kontoauszug")))
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert_clean(page, "citizen_31_postbox_answered")

    # A general request with an attachment.
    page.goto(live_server + "/anfrage")
    assert_clean(page, "citizen_32_general_request")
    click_through(page, page.locator(f"{MAIN} form button[type=submit]"))
    expect(page).to_have_title(re.compile(r"^Fehler: "))
    assert page.evaluate("document.activeElement && document.activeElement.id") == \
        "error-summary"
    assert_clean(page, "citizen_33_general_request_errors")
    page.locator('[name="topic"]').select_option(index=1)
    page.fill('[name="subject"]', "Frage zum Beistand")
    page.fill('[name="message"]', "Ich hätte gern einen Termin.")
    page.set_input_files('input[name="attachments"]',
                         str(write_pdf(tmp_path, "brief.pdf", "Brief")))
    click_through(page, page.locator(f"{MAIN} form button[type=submit]"))
    assert_clean(page, "citizen_34_general_request_sent")

    # In the database: one Eingang per submission, the documents in storage.
    with app.app_context():
        submissions = db.session.scalars(select(Submission).order_by(Submission.id)).all()
        eingaenge = db.session.scalars(select(Eingang).order_by(Eingang.id)).all()
        kinds = [e.kind for e in eingaenge]
        assert kinds.count(EingangKind.NEUANTRAG) == 1
        assert kinds.count(EingangKind.NACHREICHUNG) == 1
        assert kinds.count(EingangKind.ANTWORT) == 1
        assert kinds.count(EingangKind.NACHRICHT) == 1
        assert len(eingaenge) == 4
        # Exactly one queue item per submission (and none without one).
        assert len(submissions) == 4
        assert sorted(s.eingang_id for s in submissions) == [e.id for e in eingaenge]
        for item in submissions:
            assert db.session.scalar(select(func.count(Eingang.id)).where(
                Eingang.reference == item.reference)) == 1
            # Every item carries its files, stored and intact.
            eingang = db.session.get(Eingang, item.eingang_id)
            assert eingang is not None
            assert eingang.documents, item.reference
            for attached in eingang.documents:
                with open_document(attached.document) as stream:
                    assert hashlib.sha256(stream.read()).hexdigest() == \
                        attached.document.sha256
        first = submissions[0]
        assert first.citizen_id == citizen.id
        assert len(first.documents) == len(names)
        documents = db.session.scalars(select(Document)).all()
        for document in documents:
            with open_document(document) as stream:
                assert stream.read()[:5] == b"%PDF-"
        original = next(e for e in eingaenge if e.kind == EingangKind.NEUANTRAG)
        assert original.status == EingangStatus.NEW  # the answer brought it back
        assert all(e.related_eingang_id == original.id for e in eingaenge
                   if e.kind in (EingangKind.NACHREICHUNG, EingangKind.ANTWORT))

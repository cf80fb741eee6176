"""Two children, one of them 13 with the § 1 Abs. 1a questions, all the way to the confirmation."""

from __future__ import annotations

import hashlib
import io
import re
import threading

from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from amtsweg.extensions import db
from clearing.models import Eingang, EingangKind, EingangStatus
from portal.models import Draft, DraftDocument, Submission
from portal.references import is_valid_reference
from storage.models import Document
from storage.services import open_document
from tests.amtsweg.mail.support import body_of, mails_to
from tests.portal.uvg.conftest import (
    APPLICANT,
    DECLARATIONS,
    Wizard,
    child_answers,
    fill_all,
    upload_everything,
)
from tests.storage.conftest import pdf_bytes

REQUIREMENTS = ["birth_certificate:k1", "birth_certificate:k2", "meldebescheinigung",
                "separation_proof", "maintenance_title", "jobcenter_decision"]


def _two_children_ready_to_send(wizard: Wizard) -> None:
    wizard.start(child_answers("Lea", 6))
    response = wizard.page("kind/neu", child_answers("Ben", 13))
    assert response.headers["Location"].endswith(f"/{wizard.public_id}/kinder")
    children_page = wizard.client.get(wizard.url("kinder")).get_data(as_text=True)
    assert "Lea Muster" in children_page
    assert "Ben Muster" in children_page
    fill_all(wizard, child_ids=("k1", "k2"), sgb2_children=("k2",))
    documents_page = wizard.client.get(wizard.url("unterlagen")).get_data(as_text=True)
    assert "Geburtsurkunde" in documents_page
    assert "Jobcenter" in documents_page  # Ben is 13 and gets Bürgergeld
    assert "höchstens 20 MB" in documents_page  # the limit is stated beside the field
    # Each document is needed (a file now, or the box "später nachreichen"): none is "optional".
    assert "– optional" not in documents_page
    upload_everything(wizard, REQUIREMENTS)
    response = wizard.page("erklaerungen", DECLARATIONS)
    assert response.headers["Location"].endswith(f"/{wizard.public_id}/pruefen")


def _download_receipt(wizard: Wizard, confirmation: str) -> bytes:
    """The receipt as the citizen gets it: the link on the confirmation page."""
    link = re.search(r'href="([^"]+eingangsbestaetigung\.pdf)"', confirmation)
    assert link is not None
    with wizard.client.get(link.group(1)) as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        pdf: bytes = response.data
        return pdf


def test_two_children_through_to_the_confirmation(app: Flask, wizard: Wizard) -> None:
    _two_children_ready_to_send(wizard)
    # The page flow asked the § 1 Abs. 1a questions for Ben (13), not for Lea (6).
    with app.app_context():
        draft = wizard.draft()
        assert draft is not None
        assert "sgb2:k2" in draft.answers["done"]
        assert "sgb2:k1" not in draft.answers["done"]
    check = wizard.client.get(wizard.url("pruefen"))
    page = check.get_data(as_text=True)
    assert check.status_code == 200
    assert "Ihre Angaben prüfen" in page
    assert "Kind 2: Ben Muster" in page
    assert "120,50 €" in page
    assert f"/{wizard.public_id}/anderer-elternteil?zurueck=pruefen" in page
    assert f"/{wizard.public_id}/buergergeld/k2?zurueck=pruefen" in page

    response = wizard.post(wizard.url("absenden"))
    assert response.status_code == 302
    confirmation_url = response.headers["Location"]
    confirmation = wizard.client.get(confirmation_url)
    assert confirmation.status_code == 200
    with app.app_context():
        # The submission itself draws no receipt: its first download does.
        assert db.session.scalar(select(Submission.receipt_document_id)) is None
    receipt_pdf = _download_receipt(wizard, confirmation.get_data(as_text=True))
    assert _download_receipt(wizard, confirmation.get_data(as_text=True)) == receipt_pdf

    with app.app_context():
        submission = db.session.scalar(select(Submission))
        assert submission is not None
        assert is_valid_reference(submission.reference)
        # Stored once, on the first download; the second gave the same file.
        receipt = db.session.get(Document, submission.receipt_document_id)
        assert receipt is not None
        assert receipt.sha256 == hashlib.sha256(receipt_pdf).hexdigest()
        assert db.session.scalar(select(func.count(Document.id))) == len(REQUIREMENTS) + 1
        assert submission.reference in confirmation.get_data(as_text=True)
        assert submission.public_id in confirmation_url
        # The draft is gone, with its links to the files; the files now belong to the
        # submission.
        assert db.session.scalar(select(func.count(Draft.id))) == 0
        assert db.session.scalar(select(func.count(DraftDocument.id))) == 0
        eingang = db.session.scalar(select(Eingang))
        assert eingang is not None
        assert (eingang.kind, eingang.status, eingang.service_code) == (
            EingangKind.NEUANTRAG, EingangStatus.NEW, "uvg")
        assert [party["first_name"] for party in eingang.payload["parties"]] == [
            "Lea", "Ben", "Maria", "Tom"]
        assert {item.requirement for item in submission.documents} == set(REQUIREMENTS)
        for item in submission.documents:
            with open_document(item.document) as stream:
                assert hashlib.sha256(stream.read()).hexdigest() == item.document.sha256

        reader = PdfReader(io.BytesIO(receipt_pdf))
        text = " ".join(page.extract_text() for page in reader.pages)
        flat = " ".join(text.split())
        assert submission.reference in flat
        for answer in ("Lea", "Ben", "Maria", "Domplatz 1", "Regensburg", "Tom", "120,50 €",
                       "DE89 3704 0044 0532 0130 00", "Jobcenter Regensburg", "Geschieden"):
            assert answer in flat, answer
        for item in submission.documents:
            assert item.document.sha256 in flat.replace(" ", "") or \
                item.document.sha256 in text.replace("\n", "")

        mails = mails_to(app, "maria@example.org")
        assert len(mails) == 1
        body = body_of(mails[0])
        assert submission.reference in body
        assert f"/konto/antraege/{submission.public_id}" in body
        for social_data in ("Lea", "Ben", "Tom", "DE89", "Regensburg", "Maria", "Domplatz"):
            assert social_data not in body


def test_questions_asked_once_for_several_children_speak_of_all_of_them(
        wizard: Wizard) -> None:
    # One maintenance amount and one orphan answer serve every child of the application; the
    # office deducts from each child only its own share (§ 2 Abs. 3 UVG), so with several
    # children the questions ask for the total and which child gets orphan benefits.
    wizard.start(child_answers("Lea", 6))
    single = {tail: wizard.client.get(wizard.url(tail)).get_data(as_text=True)
              for tail in ("antragsteller", "anderer-elternteil", "waisenbezuege")}
    assert "Leben Sie mit dem anderen Elternteil des Kindes zusammen?" in single["antragsteller"]
    assert "Wie viel Unterhalt im Monat, in Euro?" in single["anderer-elternteil"]
    assert "Bekommt das Kind Waisenbezüge?" in single["waisenbezuege"]
    assert "alle Kinder zusammen" not in "".join(single.values())

    _two_children_ready_to_send(wizard)
    for tail, questions in (
            ("antragsteller", ("Leben Sie mit dem anderen Elternteil der Kinder zusammen?",)),
            ("anderer-elternteil", ("Zahlt der andere Elternteil Unterhalt für die Kinder?",
                                    "Wie viel Unterhalt im Monat für alle Kinder zusammen, in "
                                    "Euro?")),
            ("waisenbezuege", ("Bekommt eines der Kinder Waisenbezüge?",
                               "Welche Leistung, für welches Kind und von wem?",
                               "Betrag im Monat für alle Kinder zusammen, in Euro")),
            ("pruefen", ("Wie viel Unterhalt im Monat für alle Kinder zusammen, in Euro?",
                         "Bekommt eines der Kinder Waisenbezüge?"))):
        page = wizard.client.get(wizard.url(tail)).get_data(as_text=True)
        for question in questions:
            assert question in page, (tail, question)


def test_double_click_and_replay_make_one_submission(app: Flask, wizard: Wizard) -> None:
    _two_children_ready_to_send(wizard)
    first = wizard.post(wizard.url("absenden"))
    second = wizard.post(wizard.url("absenden"))  # the second click of a double click
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    # Later: the same form again from the browser history, and the check page itself.
    replay = wizard.post(wizard.url("absenden"))
    assert replay.headers["Location"] == first.headers["Location"]
    assert wizard.client.get(wizard.url("pruefen")).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1
        assert db.session.scalar(select(func.count(Eingang.id))) == 1
        assert len(mails_to(app, "maria@example.org")) == 1


def test_another_citizen_cannot_replay_my_submission(app: Flask, wizard: Wizard,
                                                     other_wizard: Wizard) -> None:
    _two_children_ready_to_send(wizard)
    wizard.post(wizard.url("absenden"))
    other_wizard.public_id = wizard.public_id
    assert other_wizard.post(other_wizard.url("absenden")).status_code == 404


def test_a_document_can_be_sent_later_and_is_listed_as_outstanding(app: Flask,
                                                                   wizard: Wizard) -> None:
    wizard.start(child_answers("Lea", 6))
    fill_all(wizard)
    for requirement in ("birth_certificate:k1", "separation_proof"):
        wizard.upload(requirement, pdf_bytes(), "urkunde.pdf")
    wizard.page("unterlagen", {"later_meldebescheinigung": "y",
                               "later_maintenance_title": "y"})
    wizard.page("erklaerungen", DECLARATIONS)
    sent = wizard.post(wizard.url("absenden"))
    assert sent.status_code == 302
    receipt_pdf = _download_receipt(
        wizard, wizard.client.get(sent.headers["Location"]).get_data(as_text=True))
    with app.app_context():
        submission = db.session.scalar(select(Submission))
        assert submission is not None
        assert "done" not in submission.answers
        assert sorted(submission.answers["documents_later"]) == [
            "maintenance_title", "meldebescheinigung"]
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt_pdf)).pages)
        assert "nachgereicht" in text
        assert "Meldebescheinigung" in text


def test_two_simultaneous_submits_make_one_submission(app: Flask, wizard: Wizard) -> None:
    _two_children_ready_to_send(wizard)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def send() -> None:
        client = app.test_client()
        with wizard.client.session_transaction() as source, \
                client.session_transaction() as target:
            target.update(dict(source))
        barrier.wait()
        response = client.post(wizard.url("absenden"), data={"csrf_token": wizard.csrf})
        results.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1
        assert db.session.scalar(select(func.count(Eingang.id))) == 1
        assert db.session.scalar(select(func.count(Draft.id))) == 0


def test_answers_that_rule_the_benefit_out_are_explained_but_sent(app: Flask,
                                                                  wizard: Wizard) -> None:
    wizard.start(child_answers("Lea", 6))
    fill_all(wizard, applicant={**APPLICANT, "marital_status": "married_together",
                                "lives_with_other_parent": "yes"})
    wizard.page("unterlagen", {"later_birth_certificate__k1": "y",
                               "later_meldebescheinigung": "y", "later_maintenance_title": "y"})
    wizard.page("erklaerungen", DECLARATIONS)
    page = wizard.client.get(wizard.url("pruefen")).get_data(as_text=True)
    assert "Dann gibt es meist keinen Unterhaltsvorschuss (§ 1 Abs. 3 UVG)" in page
    assert "Unterhaltsvorschuss gibt es meist nur für Eltern, die das Kind allein erziehen" in page
    assert wizard.post(wizard.url("absenden")).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1

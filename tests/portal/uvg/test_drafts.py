"""Drafts: saved after every page, resumable, only for their owner, deleted with their files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens import services as citizen_services
from amtsweg.citizens.models import Citizen
from amtsweg.db import utcnow
from amtsweg.extensions import db
from portal.cli import portal_group
from portal.drafts import expire_drafts, save_answers
from portal.models import Draft
from storage.blobstore import get_blobstore
from storage.models import Document
from tests.amtsweg.mail.support import body_of, mails_to
from tests.conftest import PASSWORD
from tests.portal.uvg.conftest import (
    APPLICANT,
    BASE,
    Wizard,
    child_answers,
    fill_all,
)
from tests.storage.conftest import pdf_bytes


def test_the_start_page_is_public_and_the_rest_needs_an_account(client: FlaskClient) -> None:
    start = client.get(f"{BASE}/")
    assert start.status_code == 200
    assert "Unterhaltsvorschuss beantragen" in start.get_data(as_text=True)
    response = client.get(f"{BASE}/neu")
    assert response.status_code == 302
    assert "/konto/anmelden" in response.headers["Location"]


def test_save_and_continue_later_keeps_what_is_valid(app: Flask, wizard: Wizard) -> None:
    response = wizard.post(f"{BASE}/neu", child_answers(birth_date="31.02.2019"),
                           action="save_later")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/konto/antraege")
    with app.app_context():
        draft = db.session.scalar(select(Draft))
        assert draft is not None
        child = draft.answers["children"][0]
        assert child["person"]["first_name"] == "Lea"
        assert "birth_date" not in child["person"]  # the impossible date is not kept
        assert "person:k1" not in draft.answers.get("done", [])
        wizard.public_id = draft.public_id
        expected_expiry = utcnow() + timedelta(days=30)
        assert abs((draft.expires_at - expected_expiry).total_seconds()) < 60
    # Resume lands on the page that is not finished, with the saved answers filled in.
    resume = wizard.client.get(f"{BASE}/{wizard.public_id}")
    assert resume.headers["Location"].endswith(f"/{wizard.public_id}/kind/k1")
    page = wizard.client.get(resume.headers["Location"]).get_data(as_text=True)
    assert 'value="Lea"' in page


def test_save_later_with_nothing_valid_keeps_what_was_typed_on_the_page(
        app: Flask, wizard: Wizard) -> None:
    response = wizard.post(f"{BASE}/neu", {"first_name": "", "birth_date": "gestern"},
                           action="save_later")
    # No draft to keep yet, but leaving would lose "gestern": the page stays, with the error.
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'value="gestern"' in page
    assert "Bisher wurde nichts gespeichert" in page
    assert "kern-error" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Draft.id))) == 0


def test_save_later_on_an_empty_first_page_says_nothing_was_saved(app: Flask,
                                                                   wizard: Wizard) -> None:
    response = wizard.post(f"{BASE}/neu", {"first_name": " "}, action="save_later")
    assert response.status_code == 302
    overview = wizard.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Es wurde nichts gespeichert" in overview
    with app.app_context():
        assert db.session.scalar(select(func.count(Draft.id))) == 0


def test_resume_goes_to_the_first_unanswered_page(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    wizard.page("kinder", {})
    wizard.page("antragsteller", APPLICANT)
    resume = wizard.client.get(f"{BASE}/{wizard.public_id}")
    assert resume.headers["Location"].endswith(f"/{wizard.public_id}/anderer-elternteil")
    # "Save and continue later" on a later page, then the check page redirects back to it.
    wizard.page("bankverbindung", {"account_holder": "Maria"}, action="save_later")
    check = wizard.client.get(wizard.url("pruefen"))
    assert check.headers["Location"].endswith("/anderer-elternteil")


def test_a_change_from_check_answers_returns_there(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    fill_all(wizard)
    response = wizard.post(wizard.url("bankverbindung?zurueck=pruefen"),
                           {"account_holder": "Maria Muster",
                            "iban": "DE89370400440532013000"})
    assert response.headers["Location"].endswith(f"/{wizard.public_id}/pruefen")
    page = wizard.client.get(wizard.url("bankverbindung?zurueck=pruefen")).get_data(
        as_text=True)
    assert f'href="/antrag/unterhaltsvorschuss/{wizard.public_id}/pruefen"' in page


def test_children_can_be_added_and_removed(app: Flask, wizard: Wizard) -> None:
    wizard.start(child_answers("Lea", 6))
    wizard.page("kind/neu", child_answers("Ben", 13))
    wizard.upload("birth_certificate:k2", pdf_bytes(), "ben.pdf")
    assert wizard.post(wizard.url("kind/k2/entfernen")).status_code == 302
    with app.app_context():
        draft = wizard.draft()
        assert draft is not None
        assert [child["id"] for child in draft.answers["children"]] == ["k1"]
        assert draft.documents == []
        assert db.session.scalar(select(func.count(Document.id))) == 0
    assert wizard.client.get(wizard.url("kind/k2")).status_code == 404
    # A third child gets a new id, never the removed one's.
    wizard.page("kind/neu", child_answers("Mia", 3))
    with app.app_context():
        draft = wizard.draft()
        assert draft is not None
        assert [child["id"] for child in draft.answers["children"]] == ["k1", "k3"]


def test_the_children_list_needs_a_complete_child(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    wizard.page("kind/neu", {"first_name": "Ben"}, action="save_later")
    response = wizard.page("kinder", {})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Vervollständigen Sie die Angaben zu Ben" in page
    assert "<title>Fehler:" in page


@pytest.mark.parametrize("tail", [
    "", "/kinder", "/kind/k1", "/antragsteller", "/buergergeld/k1", "/unterlagen", "/pruefen",
    "/loeschen"])
def test_someone_elses_draft_answers_404(app: Flask, wizard: Wizard, other_wizard: Wizard,
                                        tail: str) -> None:
    wizard.start(child_answers("Ben", 13))
    assert other_wizard.client.get(f"{BASE}/{wizard.public_id}{tail}").status_code == 404
    assert other_wizard.post(f"{BASE}/{wizard.public_id}{tail or '/kinder'}",
                             APPLICANT).status_code == 404
    for unknown in ("x" * 24, "x" * 500, "%00", "%3Cscript%3E"):
        assert wizard.client.get(f"{BASE}/{unknown}{tail}").status_code == 404
    with app.app_context():
        draft = wizard.draft()
        assert draft is not None
        assert "applicant" not in draft.answers


def test_deleting_a_draft_deletes_its_files(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    wizard.upload("birth_certificate:k1", pdf_bytes(), "urkunde.pdf")
    with app.app_context():
        key = db.session.scalars(select(Document.storage_key)).one()
    assert wizard.client.get(wizard.url("loeschen")).status_code == 200
    response = wizard.post(wizard.url("loeschen"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Draft.id))) == 0
        assert db.session.scalar(select(func.count(Document.id))) == 0
        assert not get_blobstore().exists(key)
    assert wizard.client.get(f"{BASE}/{wizard.public_id}").status_code == 404


def _age_draft(app: Flask, public_id: str, expires_in: timedelta) -> None:
    with app.app_context():
        draft = db.session.scalar(select(Draft).where(Draft.public_id == public_id))
        assert draft is not None
        draft.expires_at = utcnow() + expires_in
        db.session.commit()


def test_expire_drafts_reminds_once_then_deletes_with_files(app: Flask, wizard: Wizard,
                                                            other_wizard: Wizard) -> None:
    wizard.start()
    wizard.upload("birth_certificate:k1", pdf_bytes(), "urkunde.pdf")
    other_wizard.start(child_answers("Tim", 4))
    _age_draft(app, wizard.public_id, timedelta(days=3))
    runner = app.test_cli_runner()

    result = runner.invoke(portal_group, ["expire-drafts"])
    assert result.exit_code == 0, result.output
    assert "reminded: 1, deleted: 0" in result.output
    assert runner.invoke(portal_group, ["expire-drafts"]).output.strip() == (
        "reminded: 0, deleted: 0")
    mails = mails_to(app, "maria@example.org")
    assert len(mails) == 1
    body = body_of(mails[0])
    assert "http://127.0.0.1:5000/konto/antraege" in body
    assert "unter „Meine Anträge“ fortsetzen" in body
    for social_data in ("Lea", "nterhaltsvorschuss", wizard.public_id):
        assert social_data not in body
    # A citizen who comes back moves the expiry out and will be reminded again before it.
    assert wizard.page("kinder", {}).status_code == 302
    with app.app_context():
        draft = wizard.draft()
        assert draft is not None
        assert draft.reminder_sent_at is None

    _age_draft(app, wizard.public_id, timedelta(seconds=-1))
    with app.app_context():
        key = db.session.scalars(select(Document.storage_key)).one()
    result = runner.invoke(portal_group, ["expire-drafts"])
    assert "deleted: 1" in result.output
    assert "deleted: 0" in runner.invoke(portal_group, ["expire-drafts"]).output
    with app.app_context():
        assert [d.public_id for d in db.session.scalars(select(Draft))] == [
            other_wizard.public_id]
        assert db.session.scalar(select(func.count(Document.id))) == 0
        assert not get_blobstore().exists(key)


def test_an_expired_draft_answers_404_before_the_job_ran(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    _age_draft(app, wizard.public_id, timedelta(seconds=-1))
    assert wizard.client.get(f"{BASE}/{wizard.public_id}").status_code == 404
    with app.app_context():
        assert expire_drafts().deleted == 1


def test_deleting_the_account_deletes_drafts_and_files(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    wizard.upload("birth_certificate:k1", pdf_bytes(), "urkunde.pdf")
    with app.app_context():
        key = db.session.scalars(select(Document.storage_key)).one()
        citizen = db.session.get(Citizen, wizard.citizen.id)
        assert citizen is not None
        assert citizen_services.delete_account(citizen, PASSWORD)
        assert db.session.scalar(select(func.count(Draft.id))) == 0
        assert db.session.scalar(select(func.count(Document.id))) == 0
        assert not get_blobstore().exists(key)


def test_saving_the_drafts_own_answers_is_refused_and_a_changed_copy_is_stored(
        app: Flask, wizard: Wizard) -> None:
    wizard.post(f"{BASE}/neu", child_answers(), action="save_later")
    with app.app_context():
        draft = db.session.scalar(select(Draft))
        assert draft is not None
        draft.answers["children"][0]["person"]["first_name"] = "Mia"  # changed in place
        # The column would not see an in-place change: refused, not silently lost.
        with pytest.raises(ValueError, match="copy"):
            save_answers(draft, draft.answers, "children", SYSTEM)
        db.session.rollback()
        changed = {**draft.answers, "children": [{**draft.answers["children"][0],
                                                  "person": {"first_name": "Mia"}}]}
        save_answers(draft, changed, "children", SYSTEM)
        public_id = draft.public_id
    with app.app_context():
        stored = db.session.scalar(select(Draft).where(Draft.public_id == public_id))
        assert stored is not None
        assert stored.answers["children"][0]["person"] == {"first_name": "Mia"}
        assert stored.last_step == "children"

"""Meine Anträge: drafts and submissions, status in plain words, confirmation and downloads
only for the owner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.clock import berlin_today
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.staff.models import Role, Staff
from backoffice.decisions.models import Decision
from backoffice.decisions.services import issue_decision
from backoffice.models import Fall, Party, PartyRole
from clearing.models import Eingang, EingangStatus
from portal.models import Draft, Submission
from tests.backoffice.decisions.conftest import draft_for, submit_and_route
from tests.portal.conftest import pdf_bytes


def test_list_shows_drafts_and_submissions_with_status(
        app: Flask, signed_in: FlaskClient, citizen: Citizen,
        send_request: Callable[..., Submission]) -> None:
    with app.app_context():
        db.session.add(Draft(public_id="entwurf-1", citizen_id=citizen.id, service_code="uvg",
                             answers={}, expires_at=utcnow() + timedelta(days=30)))
        db.session.commit()
    first = send_request(subject="Erste Anfrage")
    second = send_request(subject="Zweite Anfrage")
    page = signed_in.get("/konto/antraege").get_data(as_text=True)
    assert "<title>Meine Anträge" in page
    assert "Noch nicht gesendet" in page
    assert page.index("Zweite Anfrage") < page.index("Erste Anfrage")  # newest first
    assert first.reference in page
    assert second.reference in page
    assert "eingegangen" in page
    if "uvg_antrag.resume" in app.view_functions:
        assert "/entwurf-1" in page


def test_status_words_follow_the_queue(app: Flask, signed_in: FlaskClient,
                                       send_request: Callable[..., Submission]) -> None:
    submission = send_request()
    detail = f"/konto/antraege/{submission.public_id}"
    expected = {EingangStatus.NEW: "eingegangen",
                EingangStatus.WAITING_FOR_CITIZEN: "Unterlagen angefordert"}
    for status, word in expected.items():
        with app.app_context():
            eingang = db.session.get(Eingang, submission.eingang_id)
            assert eingang is not None
            eingang.status = status
            db.session.commit()
        assert word in signed_in.get(detail).get_data(as_text=True)
        assert word in signed_in.get("/konto/antraege").get_data(as_text=True)


def test_detail_shows_reference_documents_answers_and_timeline(
        signed_in: FlaskClient, send_request: Callable[..., Submission]) -> None:
    submission = send_request(subject="Frage <b>Unterhalt</b>", message="Zeile 1\nZeile 2")
    page = signed_in.get(f"/konto/antraege/{submission.public_id}").get_data(as_text=True)
    assert submission.reference in page
    assert "brief.pdf" in page
    assert "Ihre Angaben" in page
    assert "Zeile 1\nZeile 2" in page
    assert "Frage &lt;b&gt;Unterhalt&lt;/b&gt;" in page
    assert "Verlauf" in page
    assert "Gesendet" in page
    for action in ("nachreichen", "nachricht", "veraenderung", "widerspruch"):
        assert f"/konto/antraege/{submission.public_id}/{action}" in page


def test_confirmation_works_when_bookmarked(app: Flask, citizen: Citizen,
                                            send_request: Callable[..., Submission]) -> None:
    submission = send_request()
    fresh_browser = app.test_client()
    from tests.conftest import sign_in_citizen

    sign_in_citizen(fresh_browser, citizen)
    page = fresh_browser.get(f"/konto/antraege/{submission.public_id}/bestaetigung")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert submission.reference in html
    assert "Wie es weitergeht" in html
    assert f"/konto/antraege/{submission.public_id}/eingangsbestaetigung.pdf" in html


def test_receipt_and_documents_only_for_the_owner(
        app: Flask, client: FlaskClient, signed_in: FlaskClient, other_client: FlaskClient,
        send_request: Callable[..., Submission]) -> None:
    submission = send_request(files=[(pdf_bytes(), "geburtsurkunde.pdf")])
    with app.app_context():
        item_id = db.session.scalar(select(Submission).where(
            Submission.id == submission.id)).documents[0].id  # type: ignore[union-attr]
    base = f"/konto/antraege/{submission.public_id}"
    paths = [base, f"{base}/bestaetigung", f"{base}/eingangsbestaetigung.pdf",
             f"{base}/dokumente/{item_id}", f"{base}/nachreichen", f"{base}/widerspruch"]

    with signed_in.get(f"{base}/eingangsbestaetigung.pdf") as receipt:
        assert receipt.status_code == 200
        assert receipt.mimetype == "application/pdf"
        assert receipt.headers["Cache-Control"] == "private, no-store"
        assert receipt.data.startswith(b"%PDF")
    with signed_in.get(f"{base}/dokumente/{item_id}") as document:
        assert document.status_code == 200
        assert "geburtsurkunde.pdf" in document.headers["Content-Disposition"]
        assert document.data.startswith(b"%PDF")

    for path in paths:
        assert other_client.get(path).status_code == 404, path
    anonymous = app.test_client()
    for path in paths:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert "/konto/anmelden" in response.headers["Location"]
    for wrong in ("/konto/antraege/gibt-es-nicht", f"{base}/dokumente/999999",
                  "/konto/antraege/%27%20OR%201=1--", f"{base}x/bestaetigung"):
        assert signed_in.get(wrong).status_code == 404, wrong


def test_navigation_has_my_applications_and_postbox(signed_in: FlaskClient) -> None:
    page = signed_in.get("/konto/antraege").get_data(as_text=True)
    assert 'href="/konto/antraege" aria-current="page">Meine Anträge</a>' in page
    assert 'href="/konto/postfach">Postfach</a>' in page


@pytest.fixture
def clearing_clerk(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("clearing", roles=(Role.CLEARING,), fachbereiche=("uvg",))


def test_an_application_is_decided_once_its_case_sends_this_citizen_a_bescheid(
        app: Flask, signed_in: FlaskClient, citizen: Citizen, clearing_clerk: Staff) -> None:
    with app.app_context():
        fall, submission = submit_and_route(citizen, clearing_clerk)
        fall_id, public_id, aktenzeichen = fall.id, submission.public_id, fall.aktenzeichen
    detail, overview = f"/konto/antraege/{public_id}", "/konto/antraege"
    assert "in Bearbeitung" in signed_in.get(detail).get_data(as_text=True)

    # A Bescheid of the same case to the other parent is none of this citizen's business.
    with app.app_context():
        case = db.session.get(Fall, fall_id)
        assert case is not None
        other_parent = Party(fall_id=case.id, role=PartyRole.OTHER_PARENT, first_name="Jan",
                             last_name="Schmidt", address="Lindenweg 5\n97437 Haßfurt")
        db.session.add(other_parent)
        db.session.commit()
        issue_decision(draft_for(case, addressee_party_id=other_parent.id,
                                 subject="Bescheid an Jan Schmidt"), SYSTEM,
                       today=date(2026, 11, 26))
        db.session.commit()
    page = signed_in.get(detail).get_data(as_text=True)
    assert "in Bearbeitung" in page
    assert "entschieden" not in page
    widerspruch = signed_in.get(f"{detail}/widerspruch").get_data(as_text=True)
    assert "Jan Schmidt" not in widerspruch

    with app.app_context():
        case = db.session.get(Fall, fall_id)
        assert case is not None
        decision = issue_decision(draft_for(case), SYSTEM, today=berlin_today())
        assert decision.objection_deadline is not None
        deadline, decision_id = decision.objection_deadline, decision.id
        db.session.commit()
        bescheid = db.session.scalar(select(PostboxMessage).where(
            PostboxMessage.citizen_id == citizen.id,
            PostboxMessage.kind == PostboxKind.BESCHEID))
        assert bescheid is not None
        bescheid_id = bescheid.public_id
    page = signed_in.get(detail).get_data(as_text=True)
    assert "entschieden" in page
    assert "Wir haben entschieden." in page
    assert f'href="/konto/postfach/{bescheid_id}"' in page  # "Bescheid lesen"
    assert "Bescheid über Unterhaltsvorschuss für Lea Müller" in page  # in the timeline
    assert "Jan Schmidt" not in page
    assert "entschieden" in signed_in.get(overview).get_data(as_text=True)
    # The Bescheid in the postbox says until when it can be challenged and leads to the form.
    message = signed_in.get(f"/konto/postfach/{bescheid_id}").get_data(as_text=True)
    assert f"Die Frist für einen Rechtsbehelf endet am {deadline:%d.%m.%Y}." in message
    assert f'href="{detail}/widerspruch"' in message
    # A Widerspruch names that Bescheid already; the citizen may change the text.
    widerspruch = signed_in.get(f"{detail}/widerspruch").get_data(as_text=True)
    assert ('value="Bescheid über Unterhaltsvorschuss für Lea Müller vom 20.11.2026, '
            f'Aktenzeichen {aktenzeichen}"') in widerspruch
    # Once the period is over, the Bescheid says so.
    with app.app_context():
        stored = db.session.get(Decision, decision_id)
        assert stored is not None
        stored.objection_deadline = berlin_today() - timedelta(days=1)
        db.session.commit()
    message = signed_in.get(f"/konto/postfach/{bescheid_id}").get_data(as_text=True)
    ended = f"{berlin_today() - timedelta(days=1):%d.%m.%Y}"
    assert f"Die Frist für einen Rechtsbehelf ist am {ended} abgelaufen." in message

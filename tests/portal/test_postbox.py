"""The postbox: read/unread, owner-only attachments, answers back to the queue; and what
happens to it when the account is deleted."""

from __future__ import annotations

import io
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.postbox.services import post_message
from clearing.models import Eingang, EingangKind, EingangStatus
from portal.models import Submission
from storage.services import store_upload
from tests.amtsweg.mail.support import body_of, mails_to, post_form
from tests.conftest import PASSWORD
from tests.portal.conftest import count, form_fields, pdf_bytes, post_with_files


def test_request_from_the_office_waits_for_the_citizen_and_notifies_without_content(
        app: Flask, signed_in: FlaskClient, send_request: Callable[..., Submission],
        office_asks: Callable[..., PostboxMessage]) -> None:
    submission = send_request()
    office_asks(submission.eingang_id, body="Uns fehlt die Geburtsurkunde von Lea.")
    with app.app_context():
        eingang = db.session.get(Eingang, submission.eingang_id)
        assert eingang is not None
        assert eingang.status is EingangStatus.WAITING_FOR_CITIZEN
    notice = mails_to(app, "maria@example.org")[-1]
    assert "/konto/postfach" in body_of(notice)
    assert "Geburtsurkunde" not in body_of(notice) + notice["Subject"]
    detail = signed_in.get(f"/konto/antraege/{submission.public_id}").get_data(as_text=True)
    assert "Unterlagen angefordert" in detail
    assert "Anfrage des Amtes" in detail


def test_opening_a_message_marks_it_read_and_is_audited(
        app: Flask, signed_in: FlaskClient, send_request: Callable[..., Submission],
        office_asks: Callable[..., PostboxMessage]) -> None:
    message = office_asks(send_request().eingang_id, subject="Bitte Unterlagen <senden>")
    index = signed_in.get("/konto/postfach").get_data(as_text=True)
    assert "neu" in index
    assert "Bitte Unterlagen &lt;senden&gt;" in index
    assert "Postfach (1 neu)" in index
    page = signed_in.get(f"/konto/postfach/{message.public_id}").get_data(as_text=True)
    assert "Uns fehlt die Geburtsurkunde" in page
    assert "Antwort senden" in page
    assert "Postfach (1 neu)" not in signed_in.get("/konto/postfach").get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(PostboxMessage, message.id)
        assert stored is not None
        assert stored.read_at is not None
        reads = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "postbox.read")).all()
        assert len(reads) == 1
    signed_in.get(f"/konto/postfach/{message.public_id}")
    with app.app_context():
        assert len(db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "postbox.read")).all()) == 1  # read once, logged once


def test_answer_goes_back_to_the_queue_linked_to_the_request(
        app: Flask, signed_in: FlaskClient, send_request: Callable[..., Submission],
        office_asks: Callable[..., PostboxMessage]) -> None:
    original = send_request()
    message = office_asks(original.eingang_id)
    path = f"/konto/postfach/{message.public_id}"
    fields = form_fields(signed_in, path)
    for _ in range(2):  # a double click
        response = post_with_files(signed_in, path, {"message": "Anbei die Urkunde."},
                                   [(pdf_bytes(), "urkunde.pdf")], fields=fields)
        assert response.status_code == 302
    with app.app_context():
        asking = db.session.get(Eingang, original.eingang_id)
        assert asking is not None
        assert asking.status is EingangStatus.NEW
        assert asking.answered_at is not None
        answer = db.session.scalar(select(Eingang).where(Eingang.kind == EingangKind.ANTWORT))
        assert answer is not None
        assert answer.related_eingang_id == original.eingang_id
        assert [d.document.filename for d in answer.documents] == ["urkunde.pdf"]
        assert count(Eingang) == 2
        reply = db.session.scalar(select(Submission).where(
            Submission.kind == EingangKind.ANTWORT))
        assert reply is not None
        assert reply.postbox_message_id == message.id
        assert reply.parent_id == original.id
        replied = db.session.get(PostboxMessage, message.id)
        assert replied is not None
        assert replied.replied_at is not None
    page = signed_in.get(path).get_data(as_text=True)
    assert "Sie haben am" in page


def test_answer_needs_text_or_a_file_and_keeps_the_text(
        app: Flask, signed_in: FlaskClient, send_request: Callable[..., Submission],
        office_asks: Callable[..., PostboxMessage]) -> None:
    message = office_asks(send_request().eingang_id)
    path = f"/konto/postfach/{message.public_id}"
    # One of the two is needed: neither is marked optional, the page says so instead.
    form = signed_in.get(path).get_data(as_text=True).split('id="answer-title"')[1]
    assert "Schreiben Sie eine Antwort, senden Sie Unterlagen – oder beides." in form
    assert "– optional" not in form
    page = post_with_files(signed_in, path, {"message": ""}).get_data(as_text=True)
    assert "Schreiben Sie eine Antwort oder hängen Sie mindestens eine Unterlage an." in page
    page = post_with_files(signed_in, path, {"message": "<script>x</script> Anbei"},
                           [(b"\x7fELF" + b"\x00" * 100, "virus.pdf")]).get_data(as_text=True)
    assert "virus.pdf: Es können nur PDF-, JPEG- oder PNG-Dateien" in page
    assert "&lt;script&gt;x&lt;/script&gt; Anbei" in page
    with app.app_context():
        assert count(Eingang) == 1
        eingang = db.session.scalar(select(Eingang))
        assert eingang is not None
        assert eingang.status is EingangStatus.WAITING_FOR_CITIZEN


def test_messages_without_reply_show_no_form_and_refuse_posts(
        app: Flask, signed_in: FlaskClient, citizen: Citizen) -> None:
    with app.app_context():
        owner = db.session.get(Citizen, citizen.id)
        assert owner is not None
        letter = post_message(citizen=owner, kind=PostboxKind.LETTER, subject="Ihr Termin",
                              body="Am Montag um 9 Uhr.", sender_name="Landratsamt",
                              actor=SYSTEM)
        db.session.commit()
        public_id = letter.public_id
    path = f"/konto/postfach/{public_id}"
    page = signed_in.get(path).get_data(as_text=True)
    assert "Am Montag um 9 Uhr." in page
    assert "Antwort senden" not in page
    token = form_fields(signed_in, "/anfrage")
    post_with_files(signed_in, path, {"message": "Antwort"}, fields=token)
    with app.app_context():
        assert count(Eingang) == 0


def test_attachment_download_only_for_the_owner(
        app: Flask, signed_in: FlaskClient, other_client: FlaskClient, citizen: Citizen) -> None:
    with app.app_context():
        owner = db.session.get(Citizen, citizen.id)
        assert owner is not None
        pdf = store_upload(io.BytesIO(pdf_bytes()), "Bescheid.pdf", SYSTEM)
        bescheid = post_message(citizen=owner, kind=PostboxKind.BESCHEID,
                                subject="Bescheid über Unterhaltsvorschuss", body="",
                                sender_name="Landratsamt", actor=SYSTEM, document_id=pdf.id)
        db.session.commit()
        public_id = bescheid.public_id
    base = f"/konto/postfach/{public_id}"
    with signed_in.get(f"{base}/anhang") as response:
        assert response.status_code == 200
        assert response.data.startswith(b"%PDF")
    for path in (base, f"{base}/anhang"):
        assert other_client.get(path).status_code == 404
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302
        assert "/konto/anmelden" in anonymous.headers["Location"]
    assert signed_in.get("/konto/postfach/unbekannt/anhang").status_code == 404
    with app.app_context():
        unread = db.session.get(PostboxMessage, bescheid.id)
        assert unread is not None
        assert unread.read_at is None


def test_deleting_the_account_takes_the_postbox_and_keeps_submissions(
        app: Flask, signed_in: FlaskClient, citizen: Citizen,
        send_request: Callable[..., Submission],
        office_asks: Callable[..., PostboxMessage]) -> None:
    original = send_request()
    message = office_asks(original.eingang_id)
    post_with_files(signed_in, f"/konto/postfach/{message.public_id}", {"message": "Anbei"},
                    [(pdf_bytes(), "urkunde.pdf")])
    response = post_form(signed_in, "/konto/loeschen", {"current_password": PASSWORD,
                                                        "confirm": "y"})
    assert response.status_code in {200, 302}
    with app.app_context():
        assert db.session.get(Citizen, citizen.id) is None
        assert count(PostboxMessage) == 0
        submissions = db.session.scalars(select(Submission)).all()
        assert len(submissions) == 2
        assert all(s.citizen_id is None and s.postbox_message_id is None for s in submissions)
        assert all(e.citizen_id is None for e in db.session.scalars(select(Eingang)))
        assert count(Eingang) == 2

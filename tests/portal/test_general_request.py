"""The general request: any topic, a message, up to five files; lands once in the queue."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from clearing.models import Eingang, EingangKind, EingangStatus
from portal.models import Submission
from storage.models import Document
from storage.services import open_document
from tests.amtsweg.mail.support import body_of, mails_to
from tests.portal.conftest import count, form_fields, pdf_bytes, png_bytes, post_with_files

PATH = "/anfrage"
VALID = {"topic": "leistung:beistandschaft", "subject": "Unterhalt für Lea",
         "message": "Der Vater zahlt seit März keinen Unterhalt mehr."}


def test_request_with_attachments_lands_once_in_the_queue(
        app: Flask, signed_in: FlaskClient, citizen: Citizen) -> None:
    pdf, png = pdf_bytes(), png_bytes()
    response = post_with_files(signed_in, PATH, {**VALID, "phone": "09521 123456"},
                               [(pdf, "brief.pdf"), (png, "foto.png")])
    assert response.status_code == 302
    assert "/bestaetigung" in response.headers["Location"]
    with app.app_context():
        assert count(Eingang) == 1
        eingang = db.session.scalar(select(Eingang))
        assert eingang is not None
        assert (eingang.kind, eingang.status, eingang.service_code) == (
            EingangKind.NACHRICHT, EingangStatus.NEW, "beistandschaft")
        assert eingang.citizen_id == citizen.id
        assert eingang.message == VALID["message"]
        assert eingang.payload["answers"]["phone"] == "09521 123456"
        assert eingang.payload["answers"]["fachbereich_hint"] == "beistandschaft"
        stored = [item.document for item in eingang.documents]
        assert [d.filename for d in stored] == ["brief.pdf", "foto.png"]
        with open_document(stored[0]) as stream:
            assert stream.read() == pdf
        submission = db.session.scalar(select(Submission))
        assert submission is not None
        assert submission.reference == eingang.reference
        assert submission.title == "Anfrage: Unterhalt für Lea"
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Wir haben Ihre Sendung erhalten" in page
    assert submission.reference in page
    assert "eingangsbestaetigung.pdf" in page


def test_confirmation_mail_carries_reference_and_link_but_no_content(
        app: Flask, send_request: Callable[..., Submission]) -> None:
    submission = send_request(message="Geheime Angaben zu meinem Einkommen: 1.234 Euro")
    [mail] = mails_to(app, "maria@example.org")
    body = body_of(mail)
    assert submission.reference in body
    assert f"/konto/antraege/{submission.public_id}" in body
    assert "Einkommen" not in body
    assert "1.234" not in body
    assert "Beistandschaft" not in body
    assert "Beistandschaft" not in mail["Subject"]


def test_double_post_with_the_same_key_makes_one_submission(
        app: Flask, signed_in: FlaskClient) -> None:
    fields = form_fields(signed_in, PATH)
    first = post_with_files(signed_in, PATH, VALID, [(pdf_bytes(), "a.pdf")], fields=fields)
    second = post_with_files(signed_in, PATH, VALID, [(pdf_bytes(), "a.pdf")], fields=fields)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    followed = signed_in.get(second.headers["Location"]).get_data(as_text=True)
    assert "Sie hatten das schon gesendet" in followed
    with app.app_context():
        assert count(Eingang) == 1
        assert count(Submission) == 1
        # The replay stored nothing: the one uploaded file (the receipt waits for its download).
        assert count(Document) == 1
    assert len(mails_to(app, "maria@example.org")) == 1


def test_a_fresh_form_gets_a_fresh_key(signed_in: FlaskClient) -> None:
    assert (form_fields(signed_in, PATH)["idempotency_key"]
            != form_fields(signed_in, PATH)["idempotency_key"])


def test_empty_form_shows_every_error_and_sends_nothing(
        app: Flask, signed_in: FlaskClient) -> None:
    response = post_with_files(signed_in, PATH, {"topic": "", "subject": "", "message": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Fehler:" in page
    for message in ("Wählen Sie aus, worum es in Ihrer Anfrage geht.",
                    "Geben Sie einen Betreff ein.", "Geben Sie Ihre Nachricht ein."):
        assert message in page
    with app.app_context():
        assert count(Eingang) == 0


def test_too_long_message_is_refused_and_kept(app: Flask, signed_in: FlaskClient) -> None:
    long_text = "Unterhalt " * 1000  # 10,000 characters
    page = post_with_files(signed_in, PATH, {**VALID, "message": long_text}).get_data(
        as_text=True)
    assert "Höchstens 5000 Zeichen" in page  # the limit is stated beside the field
    assert "Geben Sie höchstens 5000 Zeichen ein." in page
    assert long_text.strip() in page
    with app.app_context():
        assert count(Eingang) == 0


def test_html_in_the_request_is_shown_as_text(app: Flask, signed_in: FlaskClient) -> None:
    hostile = '<script>alert("x")</script><b>fett</b>'
    response = post_with_files(signed_in, PATH, {**VALID, "subject": hostile, "message": hostile})
    detail = signed_in.get(response.headers["Location"].replace("/bestaetigung", ""))
    page = detail.get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    # An error page shows it escaped too.
    page = post_with_files(signed_in, PATH, {**VALID, "subject": "", "message": hostile}
                           ).get_data(as_text=True)
    assert "<script>alert" not in page


def test_hostile_topic_and_phone_are_refused(app: Flask, signed_in: FlaskClient) -> None:
    page = post_with_files(signed_in, PATH, {**VALID, "topic": "fachbereich:../../etc",
                                             "phone": "<img src=x>"}).get_data(as_text=True)
    assert "Wählen Sie aus, worum es in Ihrer Anfrage geht." in page
    assert "Geben Sie eine Telefonnummer ein" in page
    assert 'value="Unterhalt für Lea"' in page
    with app.app_context():
        assert count(Eingang) == 0


def test_refused_file_shows_its_reason_and_keeps_the_text(
        app: Flask, signed_in: FlaskClient) -> None:
    cases = [(b"MZ\x90\x00" + b"\x00" * 200, "rechnung.exe", "Windows-Programm"),
             (b"", "leer.pdf", "Die Datei ist leer."),
             (b"%PDF-1.7\n1 0 obj\n", "kaputt.pdf", "beschädigt"),
             (b"<html><script>alert(1)</script></html>", "seite.pdf", "Webseite")]
    for content, name, reason in cases:
        response = post_with_files(signed_in, PATH, VALID,
                                   [(pdf_bytes(), "gut.pdf"), (content, name)])
        page = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert reason in page, name
        assert name in page
        assert 'value="Unterhalt für Lea"' in page
        assert VALID["message"] in page
    with app.app_context():
        assert count(Eingang) == 0
        assert count(Document) == 0  # the good file of each try was not kept either


def test_oversized_file_is_refused_with_the_limit(
        app_with: Callable[..., Flask]) -> None:
    from tests.conftest import sign_in_citizen

    small = app_with(max_upload_bytes=1024 * 1024)
    client = small.test_client()
    with small.app_context():
        citizen = Citizen(email="gross@example.org", password_hash="x", session_epoch=0)
        db.session.add(citizen)
        db.session.commit()
        db.session.refresh(citizen)
        db.session.expunge(citizen)
    sign_in_citizen(client, citizen)
    big = pdf_bytes(padding=1024 * 1024 + 10)
    page = post_with_files(client, PATH, VALID, [(big, "gross.pdf")]).get_data(as_text=True)
    assert "Die Datei ist zu groß. Dateien dürfen höchstens 1 MB groß sein." in page
    with small.app_context():
        assert count(Eingang) == 0


def test_more_than_five_files_are_refused(app: Flask, signed_in: FlaskClient) -> None:
    files = [(pdf_bytes(), f"seite{i}.pdf") for i in range(6)]
    page = post_with_files(signed_in, PATH, VALID, files).get_data(as_text=True)
    assert "Sie können höchstens 5 Dateien auf einmal anhängen." in page
    with app.app_context():
        assert count(Eingang) == 0


def test_five_files_together_above_one_file_limit_are_accepted(
        app: Flask, signed_in: FlaskClient) -> None:
    settings = app.config["AMTSWEG"]
    # Three scans of 12 MB: more than one file's 20 MB in one request, each under the limit.
    files = [(pdf_bytes(padding=settings.max_upload_bytes * 6 // 10), f"scan{i}.pdf")
             for i in range(3)]
    response = post_with_files(signed_in, PATH, VALID, files)
    assert response.status_code == 302
    with app.app_context():
        assert count(Eingang) == 1


def test_tampered_or_missing_key_sends_nothing(app: Flask, signed_in: FlaskClient) -> None:
    fields = form_fields(signed_in, PATH)
    for key in ("", "x", "../" * 10, "a" * 100):
        page = post_with_files(signed_in, PATH, VALID,
                               fields={**fields, "idempotency_key": key}).get_data(as_text=True)
        assert "Das Formular konnte nicht gesendet werden." in page
    with app.app_context():
        assert count(Eingang) == 0


def test_csrf_is_refused(app: Flask, signed_in: FlaskClient) -> None:
    fields = form_fields(signed_in, PATH)
    response = post_with_files(signed_in, PATH, VALID, [(pdf_bytes(), "a.pdf")],
                               fields={"idempotency_key": fields["idempotency_key"]})
    assert response.status_code == 400
    forged = post_with_files(signed_in, PATH, VALID, [(pdf_bytes(), "a.pdf")],
                             fields={**fields, "csrf_token": "forged"})
    assert forged.status_code == 400
    with app.app_context():
        assert count(Eingang) == 0


def test_anonymous_visitor_is_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get(PATH)
    assert response.status_code == 302
    assert "/konto/anmelden" in response.headers["Location"]

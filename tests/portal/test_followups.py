"""Follow-ups on a submission: each its own queue item, linked to the original's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from clearing.models import Eingang, EingangKind
from portal.models import Submission
from tests.portal.conftest import count, form_fields, pdf_bytes, post_with_files

TODAY = berlin_today()
NEXT_MONTH = (TODAY + timedelta(days=30)).strftime("%d.%m.%Y")
FOLLOW_UPS = {
    "nachreichen": ({"note": "Die Geburtsurkunde von Lea"}, EingangKind.NACHREICHUNG),
    "nachricht": ({"message": "Haben Sie meine Unterlagen bekommen?"}, EingangKind.NACHRICHT),
    "veraenderung": ({"what_changed": "umzug", "since": NEXT_MONTH,
                      "description": "Wir ziehen nach Musterstadt."}, EingangKind.VERAENDERUNG),
    "widerspruch": ({"decision": "Bescheid vom 03.03.2026",
                     "reason": "Das Einkommen ist falsch berechnet."}, EingangKind.WIDERSPRUCH),
}


@pytest.mark.parametrize("action", list(FOLLOW_UPS))
def test_follow_up_is_a_new_item_linked_to_the_original(
        app: Flask, signed_in: FlaskClient, send_request: Callable[..., Submission],
        action: str) -> None:
    original = send_request()
    data, kind = FOLLOW_UPS[action]
    path = f"/konto/antraege/{original.public_id}/{action}"
    page = signed_in.get(path).get_data(as_text=True)
    assert original.reference in page
    response = post_with_files(signed_in, path, data, [(pdf_bytes(), "nachweis.pdf")])
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        follow_up = db.session.scalar(select(Submission).where(Submission.parent_id
                                                               == original.id))
        assert follow_up is not None
        assert follow_up.kind is kind
        eingang = db.session.get(Eingang, follow_up.eingang_id)
        assert eingang is not None
        assert eingang.related_eingang_id == original.eingang_id
        assert [d.document.filename for d in eingang.documents] == ["nachweis.pdf"]
        assert count(Eingang) == 2
    detail = signed_in.get(f"/konto/antraege/{original.public_id}").get_data(as_text=True)
    assert follow_up.reference in detail  # on the original's timeline


def test_veraenderung_is_stored_with_its_date(app: Flask, signed_in: FlaskClient,
                                               send_request: Callable[..., Submission]) -> None:
    original = send_request()
    path = f"/konto/antraege/{original.public_id}/veraenderung"
    post_with_files(signed_in, path, {"what_changed": "einkommen", "since": "2026-02-01",
                                      "description": "Neue Arbeitsstelle"})
    with app.app_context():
        eingang = db.session.scalar(select(Eingang).where(
            Eingang.kind == EingangKind.VERAENDERUNG))
        assert eingang is not None
        assert eingang.payload["answers"]["since"] == "2026-02-01"
        assert eingang.payload["answers"]["what_changed"] == "einkommen"


@pytest.mark.parametrize(("since", "message"), [
    ("31.02.2026", "Geben Sie ein gültiges Datum in der Form TT.MM.JJJJ ein"),
    ("2026-13-01", "Geben Sie ein gültiges Datum in der Form TT.MM.JJJJ ein"),
    ("gestern", "Geben Sie ein gültiges Datum in der Form TT.MM.JJJJ ein"),
    ("01.01.1850", "Geben Sie ein gültiges Datum in der Form TT.MM.JJJJ ein"),
    ((TODAY + timedelta(days=400)).strftime("%d.%m.%Y"),
     "Das Datum darf höchstens ein Jahr in der Zukunft liegen."),
    ("", "Geben Sie das Datum der Änderung ein."),
])
def test_veraenderung_refuses_impossible_and_far_future_dates(
        app: Flask, signed_in: FlaskClient, send_request: Callable[..., Submission],
        since: str, message: str) -> None:
    original = send_request()
    path = f"/konto/antraege/{original.public_id}/veraenderung"
    page = post_with_files(signed_in, path, {"what_changed": "umzug", "since": since,
                                             "description": "Umzug <i>bald</i>"}
                           ).get_data(as_text=True)
    assert message in page
    assert "<title>Fehler:" in page
    assert f'value="{since}"' in page or since == ""
    assert "Umzug &lt;i&gt;bald&lt;/i&gt;" in page
    with app.app_context():
        assert count(Eingang) == 1


def test_follow_up_forms_refuse_empty_and_hostile_input(
        app: Flask, signed_in: FlaskClient, send_request: Callable[..., Submission]) -> None:
    original = send_request()
    base = f"/konto/antraege/{original.public_id}"
    expected = {
        "nachreichen": ({}, "Wählen Sie mindestens eine Datei aus."),
        "nachricht": ({"message": ""}, "Geben Sie Ihre Nachricht ein."),
        "veraenderung": ({"what_changed": "erfunden", "since": "01.01.2026",
                          "description": "x"}, "Wählen Sie aus, was sich geändert hat."),
        "widerspruch": ({"decision": "", "reason": "x" * 10_000},
                        "Nennen Sie die Entscheidung, gegen die Sie Widerspruch einlegen."),
    }
    for action, (data, message) in expected.items():
        page = post_with_files(signed_in, f"{base}/{action}", data).get_data(as_text=True)
        assert message in page, action
    page = post_with_files(signed_in, f"{base}/widerspruch",
                           {"decision": "Bescheid", "reason": "x" * 10_000}).get_data(
        as_text=True)
    assert "Geben Sie höchstens 5000 Zeichen ein." in page
    page = post_with_files(signed_in, f"{base}/nachreichen", {"note": "Lohnzettel"},
                           [(b"GIF89a" + b"\x00" * 50, "lohn.gif")]).get_data(as_text=True)
    assert "lohn.gif: Es können nur PDF-, JPEG- oder PNG-Dateien" in page
    assert "Lohnzettel" in page
    with app.app_context():
        assert count(Eingang) == 1


def test_widerspruch_page_states_the_one_month_deadline(
        signed_in: FlaskClient, send_request: Callable[..., Submission]) -> None:
    original = send_request()
    page = signed_in.get(f"/konto/antraege/{original.public_id}/widerspruch").get_data(
        as_text=True)
    assert "Frist: ein Monat" in page
    assert "§ 70 VwGO" in page


def test_replayed_follow_up_makes_one_item(app: Flask, signed_in: FlaskClient,
                                           send_request: Callable[..., Submission]) -> None:
    original = send_request()
    path = f"/konto/antraege/{original.public_id}/nachricht"
    fields = form_fields(signed_in, path)
    for _ in range(3):
        response = post_with_files(signed_in, path, {"message": "Hallo"}, fields=fields)
        assert response.status_code == 302
    with app.app_context():
        assert count(Eingang) == 2


def test_follow_up_on_someone_elses_submission_is_404(
        app: Flask, other_client: FlaskClient, send_request: Callable[..., Submission]) -> None:
    original = send_request()
    for action in FOLLOW_UPS:
        path = f"/konto/antraege/{original.public_id}/{action}"
        assert other_client.get(path).status_code == 404
        token = form_fields(other_client, "/anfrage")
        response = post_with_files(other_client, path, {"message": "x"}, fields=token)
        assert response.status_code == 404
    with app.app_context():
        assert count(Eingang) == 1

"""§ 35 SGB I on every case and document route: members of the case's Fachbereich get in,
staff of another Fachbereich get 403 and leave a trace in the access log, anonymous visitors
and citizens are sent to the staff login."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.models import AccessKind, AccessLogEntry, DocumentOrigin, Fall, Wiedervorlage
from backoffice.services import add_deadline, file_document
from storage.services import store_upload
from tests.backoffice.support import pdf
from tests.conftest import csrf_token, sign_in_citizen, sign_in_staff


@dataclass(frozen=True)
class Setup:
    fall_id: int
    party_id: int
    case_document_id: int
    deadline_id: int
    member: Staff
    outsider: Staff
    outsider_fall_id: int


@pytest.fixture
def setup(app: Flask, create_staff: Callable[..., Staff],
          create_case: Callable[..., Fall]) -> Setup:
    member = create_staff("uvg1", fachbereiche=("uvg",))
    outsider = create_staff("wg1", fachbereiche=("wohngeld",), full_name="Walter Wohngeld")
    with app.app_context():
        fall = create_case(responsible=member)
        outsider_fall = create_case(fachbereich="wohngeld", responsible=outsider)
        document = store_upload(io.BytesIO(pdf()), "urkunde.pdf", SYSTEM)
        entry = file_document(fall, document, origin=DocumentOrigin.STAFF_UPLOAD, kind="",
                              title="Urkunde", actor=SYSTEM)
        deadline = add_deadline(fall, due_date=fall.opened_at.date().replace(year=2099),
                                reason="Nachweis", owner=None, actor=SYSTEM)
        db.session.commit()
        return Setup(fall.id, fall.parties[0].id, entry.id, deadline.id, member, outsider,
                     outsider_fall.id)


GET_ROUTES = {
    "case": ("/intern/faelle/{fall}", AccessKind.CASE_VIEW),
    "party": ("/intern/faelle/{fall}/beteiligte/{party}", AccessKind.CASE_VIEW),
    "upload": ("/intern/faelle/{fall}/dokumente/neu", AccessKind.CASE_VIEW),
    "download": ("/intern/faelle/{fall}/dokumente/{doc}", AccessKind.DOCUMENT_DOWNLOAD),
    "preview": ("/intern/faelle/{fall}/dokumente/{doc}/ansicht", AccessKind.DOCUMENT_PREVIEW),
    "deadline": ("/intern/faelle/{fall}/wiedervorlagen/neu", AccessKind.CASE_VIEW),
    "assign": ("/intern/faelle/{fall}/zuweisen", AccessKind.CASE_VIEW),
}
POST_ROUTES = {
    "status": ("/intern/faelle/{fall}/status", {"status": "decided", "version": "1"}),
    "note": ("/intern/faelle/{fall}/vermerke", {"text": "Geraten"}),
    "party": ("/intern/faelle/{fall}/beteiligte/{party}", {"last_name": "X", "version": "1"}),
    "deadline": ("/intern/faelle/{fall}/wiedervorlagen/neu", {"working_days": "3",
                                                                "reason": "x"}),
    "done": ("/intern/faelle/{fall}/wiedervorlagen/{deadline}/erledigt", {}),
    "assign": ("/intern/faelle/{fall}/zuweisen", {"assignee": "pool", "version": "1"}),
    "upload": ("/intern/faelle/{fall}/dokumente/neu", {}),
}


def _path(template: str, setup: Setup) -> str:
    return template.format(fall=setup.fall_id, party=setup.party_id,
                           doc=setup.case_document_id, deadline=setup.deadline_id)


def _log(app: Flask) -> list[tuple[int | None, AccessKind, bool, int | None]]:
    with app.app_context():
        return [(entry.staff_id, entry.what, entry.granted, entry.document_id)
                for entry in db.session.scalars(select(AccessLogEntry)
                                                .order_by(AccessLogEntry.id))]


@pytest.mark.parametrize("route", sorted(GET_ROUTES))
def test_a_member_of_the_fachbereich_gets_in(app: Flask, client: FlaskClient, setup: Setup,
                                             route: str) -> None:
    sign_in_staff(client, setup.member)
    path, _ = GET_ROUTES[route]
    response = client.get(_path(path, setup))
    response.close()
    assert response.status_code == 200


@pytest.mark.parametrize("route", sorted(GET_ROUTES))
def test_another_fachbereich_gets_403_and_the_attempt_is_logged(
        app: Flask, client: FlaskClient, setup: Setup, route: str) -> None:
    sign_in_staff(client, setup.outsider)
    path, what = GET_ROUTES[route]
    response = client.get(_path(path, setup))
    assert response.status_code == 403
    assert "Müller" not in response.get_data(as_text=True)
    assert _log(app) == [(setup.outsider.id, what, False, None)]


@pytest.mark.parametrize("route", sorted(POST_ROUTES))
def test_another_fachbereich_cannot_write_either(app: Flask, client: FlaskClient,
                                                 setup: Setup, route: str) -> None:
    sign_in_staff(client, setup.outsider)
    token = csrf_token(client, f"/intern/faelle/{setup.outsider_fall_id}")
    path, data = POST_ROUTES[route]
    response = client.post(_path(path, setup), data={"csrf_token": token, **data})
    assert response.status_code == 403
    with app.app_context():
        fall = db.session.get_one(Fall, setup.fall_id)
        assert fall.status.value == "open"
        assert fall.responsible_staff_id == setup.member.id
        assert db.session.get_one(Wiedervorlage, setup.deadline_id).done_at is None
    assert (setup.outsider.id, AccessKind.CASE_VIEW, False, None) in _log(app)


@pytest.mark.parametrize("route", sorted(GET_ROUTES))
def test_anonymous_visitors_are_sent_to_the_staff_login(app: Flask, client: FlaskClient,
                                                        setup: Setup, route: str) -> None:
    response = client.get(_path(GET_ROUTES[route][0], setup))
    assert response.status_code == 302
    assert "/intern/anmelden" in response.headers["Location"]
    assert _log(app) == []


@pytest.mark.parametrize("route", sorted(GET_ROUTES))
def test_citizens_are_sent_to_the_staff_login(app: Flask, client: FlaskClient, setup: Setup,
                                              create_citizen: Callable[..., Citizen],
                                              route: str) -> None:
    sign_in_citizen(client, create_citizen())
    response = client.get(_path(GET_ROUTES[route][0], setup))
    assert response.status_code == 302
    assert "/intern/anmelden" in response.headers["Location"]


def test_views_and_downloads_are_logged_with_the_document(app: Flask, client: FlaskClient,
                                                          setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    client.get(f"/intern/faelle/{setup.fall_id}")
    download = client.get(f"/intern/faelle/{setup.fall_id}/dokumente/{setup.case_document_id}")
    preview = client.get(
        f"/intern/faelle/{setup.fall_id}/dokumente/{setup.case_document_id}/ansicht")
    assert download.get_data().startswith(b"%PDF")
    download.close()
    preview.close()
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert preview.headers["Content-Security-Policy"] == "sandbox"
    with app.app_context():
        document_id = db.session.scalar(select(AccessLogEntry.document_id).where(
            AccessLogEntry.what == AccessKind.DOCUMENT_DOWNLOAD))
    assert _log(app) == [
        (setup.member.id, AccessKind.CASE_VIEW, True, None),
        (setup.member.id, AccessKind.DOCUMENT_DOWNLOAD, True, document_id),
        (setup.member.id, AccessKind.DOCUMENT_PREVIEW, True, document_id)]


def test_a_document_of_another_case_is_not_found_through_my_case(
        app: Flask, client: FlaskClient, setup: Setup, create_case: Callable[..., Fall]) -> None:
    with app.app_context():
        mine = create_case(responsible=db.session.get_one(Staff, setup.member.id))
        mine_id = mine.id
    sign_in_staff(client, setup.member)
    response = client.get(f"/intern/faelle/{mine_id}/dokumente/{setup.case_document_id}")
    assert response.status_code == 404
    assert client.get("/intern/faelle/999999").status_code == 404


def test_staff_without_a_case_role_get_403(app: Flask, client: FlaskClient, setup: Setup,
                                           create_staff: Callable[..., Staff]) -> None:
    sign_in_staff(client, create_staff("clerk", roles=(Role.CLEARING,), fachbereiche=("uvg",)))
    assert client.get(f"/intern/faelle/{setup.fall_id}").status_code == 403
    assert client.get("/intern/faelle/").status_code == 403
    assert client.get("/intern/faelle/zugriffe").status_code == 403


def test_the_search_never_shows_another_fachbereichs_case(app: Flask, client: FlaskClient,
                                                          setup: Setup) -> None:
    with app.app_context():
        aktenzeichen = db.session.get_one(Fall, setup.fall_id).aktenzeichen
    sign_in_staff(client, setup.outsider)
    link = f'href="/intern/faelle/{setup.fall_id}"'
    for query in ("q=M%C3%BCller", "birth_date=14.03.2018"):
        page = client.get(f"/intern/faelle/suche?{query}").get_data(as_text=True)
        # Their own Wohngeld case with the same family is found; the UVG case never.
        assert link not in page
        assert f'href="/intern/faelle/{setup.outsider_fall_id}"' in page
    page = client.get(f"/intern/faelle/suche?q={aktenzeichen}").get_data(as_text=True)
    assert "0 Fälle gefunden" in page
    assert link not in client.get("/intern/faelle/pool").get_data(as_text=True)

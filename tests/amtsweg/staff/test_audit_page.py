"""The audit log page: who may read it, filters, German dates, keyset paging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from amtsweg.audit.models import ActorKind, AuditEntry
from amtsweg.audit.services import Actor, record
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from tests.conftest import sign_in_staff

PAGE = "/intern/protokoll/"


def _add(app: Flask, count: int, **fields: object) -> None:
    with app.app_context():
        for number in range(count):
            entry = record(Actor(ActorKind.STAFF, 7, str(fields.get("actor", "mueller"))),
                           str(fields.get("action", "case.viewed")),
                           str(fields.get("object_type", "case")),
                           fields.get("object_id", number),
                           before=fields.get("before"),  # type: ignore[arg-type]
                           after=fields.get("after"))  # type: ignore[arg-type]
            if "at" in fields:
                entry.at = fields["at"]  # type: ignore[assignment]
        db.session.commit()


@pytest.fixture
def auditor_client(client: FlaskClient, create_staff: Callable[..., Staff]) -> FlaskClient:
    sign_in_staff(client, create_staff("pruefer", roles=(Role.AUDITOR,)))
    return client


def test_auditor_reads_the_log_but_not_the_admin_pages(auditor_client: FlaskClient) -> None:
    page = auditor_client.get(PAGE)
    assert page.status_code == 200
    assert "<title>Protokoll" in page.get_data(as_text=True)
    assert 'href="/intern/protokoll/"' in page.get_data(as_text=True)
    assert auditor_client.get("/intern/verwaltung/mitarbeitende").status_code == 403


def test_admin_reads_the_log(admin_client: FlaskClient) -> None:
    assert admin_client.get(PAGE).status_code == 200


@pytest.mark.parametrize("roles", [(Role.CASEWORKER,), (Role.LEAD, Role.ANORDNER), ()])
def test_other_staff_get_403(client: FlaskClient, create_staff: Callable[..., Staff],
                             roles: tuple[Role, ...]) -> None:
    sign_in_staff(client, create_staff(roles=roles))
    response = client.get(PAGE)
    assert response.status_code == 403
    assert "Zugriff verweigert" in response.get_data(as_text=True)


def test_entries_newest_first_with_readable_escaped_before_and_after(
        app: Flask, auditor_client: FlaskClient) -> None:
    _add(app, 1, action="staff.updated", object_type="staff", object_id=5,
         before={"full_name": "<b>Alt</b>"}, after={"full_name": "Neu – Müller"})
    _add(app, 1, action="case.viewed", object_id=6)
    page = auditor_client.get(PAGE).get_data(as_text=True)
    assert page.index("case.viewed") < page.index("staff.updated")
    assert "&#34;full_name&#34;: &#34;&lt;b&gt;Alt&lt;/b&gt;&#34;" in page
    assert "<b>Alt</b>" not in page
    assert "Neu – Müller" in page


def test_filters_by_person_object_and_action(app: Flask, auditor_client: FlaskClient) -> None:
    _add(app, 1, actor="mueller", action="case.viewed", object_type="case", object_id=1)
    _add(app, 1, actor="schulz", action="case.viewed", object_type="case", object_id=2)
    _add(app, 1, actor="schulz", action="staff.updated", object_type="staff", object_id=2)
    page = auditor_client.get(PAGE + "?actor=SCHU").get_data(as_text=True)
    assert page.count("<td class=\"kern-table__cell\">schulz</td>") == 2
    assert "<td class=\"kern-table__cell\">mueller</td>" not in page
    page = auditor_client.get(PAGE + "?object_type=case&object_id=2").get_data(as_text=True)
    assert page.count("case.viewed") == 1
    assert "staff.updated" not in page
    page = auditor_client.get(PAGE + "?action=staff.").get_data(as_text=True)
    assert "staff.updated" in page
    assert "case.viewed" not in page
    # LIKE wildcards are taken literally.
    page = auditor_client.get(PAGE + "?actor=%25").get_data(as_text=True)
    assert "Keine Einträge entsprechen dem Filter." in page


def test_date_filter_uses_office_days_in_berlin(app: Flask, auditor_client: FlaskClient) -> None:
    # 23:30 UTC on 1 March is already 2 March in Berlin.
    _add(app, 1, action="late.evening", at=datetime(2025, 3, 1, 23, 30, tzinfo=UTC))
    _add(app, 1, action="early.morning", at=datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    page = auditor_client.get(PAGE + "?date_from=02.03.2025&date_to=02.03.2025").get_data(
        as_text=True)
    assert "late.evening" in page
    assert "early.morning" not in page
    page = auditor_client.get(PAGE + "?date_from=01.03.2025&date_to=01.03.2025").get_data(
        as_text=True)
    assert "early.morning" in page
    assert "late.evening" not in page


@pytest.mark.parametrize(("query", "message"), [
    ("date_from=31.02.2025", "Geben Sie ein gültiges Datum im Format TT.MM.JJJJ ein"),
    ("date_from=2025-03-01", "Geben Sie ein gültiges Datum im Format TT.MM.JJJJ ein"),
    ("date_to=<script>", "Geben Sie ein gültiges Datum im Format TT.MM.JJJJ ein"),
    ("date_from=02.03.2025&date_to=01.03.2025", "Das Enddatum darf nicht vor dem Anfangsdatum"),
    ("actor=" + "x" * 500, "Geben Sie höchstens 200 Zeichen ein."),
    ("object_id=" + "1" * 500, "Geben Sie höchstens 80 Zeichen ein."),
])
def test_wrong_filters_get_a_german_message_and_show_nothing(
        app: Flask, auditor_client: FlaskClient, query: str, message: str) -> None:
    _add(app, 1, action="case.viewed")
    response = auditor_client.get(f"{PAGE}?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert "<title>Fehler:" in page
    assert "case.viewed</td>" not in page
    assert "<script>" not in page.split("</head>")[1]
    # The typed value stays in the field.
    assert "value=" in page


def test_keyset_pagination_50_per_page_keeps_filters(
        app: Flask, auditor_client: FlaskClient) -> None:
    _add(app, 120, action="case.viewed")
    _add(app, 3, action="other.thing")
    with app.app_context():
        ids = sorted(e.id for e in db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "case.viewed")))
    first = auditor_client.get(PAGE + "?action=case.viewed").get_data(as_text=True)
    assert first.count("case.viewed</td>") == 50
    assert f"before={ids[-50]}" in first
    second = auditor_client.get(f"{PAGE}?action=case.viewed&before={ids[-50]}").get_data(
        as_text=True)
    assert second.count("case.viewed</td>") == 50
    assert f"<td class=\"kern-table__cell\">{ids[-51]}</td>" in second
    third = auditor_client.get(f"{PAGE}?action=case.viewed&before={ids[-100]}").get_data(
        as_text=True)
    assert third.count("case.viewed</td>") == 20
    assert "Ältere Einträge" not in third
    assert "Neueste Einträge" in third
    assert "other.thing" not in first + second + third
    # A hand-made cursor that is not a number is ignored, not an error.
    assert auditor_client.get(PAGE + "?before=abc").status_code == 200

"""The UVG case pages: the whole way from the routed application to the Bescheid and a change,
bad input kept on the page, access only for the UVG Fachbereich's caseworkers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.decisions.models import Decision, DecisionStatus
from backoffice.models import AccessLogEntry, Fall
from backoffice.uvg import case_services as services
from backoffice.uvg.models import UvgChild, UvgChildStatus, UvgConditionAssessment
from portal.services import Party
from tests.amtsweg.mail.support import post_form
from tests.backoffice.support import text
from tests.backoffice.uvg.case.conftest import APPLICANT, CHILD, IBAN, TODAY, answers
from tests.conftest import csrf_token, sign_in_citizen, sign_in_staff


@pytest.fixture
def signed_in(client: FlaskClient, caseworker: Staff) -> FlaskClient:
    sign_in_staff(client, caseworker)
    return client


def base(fall: Fall) -> str:
    return f"/intern/uvg/faelle/{fall.id}"


def the_child(fall: Fall) -> UvgChild:
    db.session.expire_all()
    child = db.session.scalar(select(UvgChild).where(UvgChild.fall_id == fall.id))
    assert child is not None
    return child


FACTS = {"birth_date": "14.03.2018", "application_date": TODAY.strftime("%d.%m.%Y"),
         "requested_from": "", "maintenance": "50", "orphan_benefit": "", "child_income": "",
         "payee_name": "Sabine Müller", "payee_iban": IBAN, "payee_bic": ""}


def test_from_the_routed_application_to_the_issued_bewilligung(
        signed_in: FlaskClient, applied_case: Callable[..., Fall]) -> None:
    fall = applied_case(with_documents=True)
    case_page = signed_in.get(f"/intern/faelle/{fall.id}")
    assert f"{base(fall)}" in text(case_page)  # the module's link on the shared case view
    start = signed_in.get(base(fall))
    assert start.status_code == 200
    assert "Take over the children" in text(start) or "Kinder übernehmen" in text(start)

    response = signed_in.post(f"{base(fall)}/kinder-uebernehmen",
                              data={"csrf_token": csrf_token(signed_in, base(fall))})
    assert response.status_code == 302
    child = the_child(fall)
    page = text(signed_in.get(base(fall)))
    assert 'data-condition="age" data-state="met"' in page
    assert "geburtsurkunde.pdf" in page  # the evidence from the E-Akte

    facts = f"{base(fall)}/kinder/{child.id}/angaben"
    form_page = text(signed_in.get(facts))
    assert "für alle Kinder zusammen" not in form_page  # one child: its own amounts
    version = re.search(r'name="version"[^>]*value="(\d+)"', form_page)
    assert version is not None
    response = post_form(signed_in, facts, {**FACTS, "version": version.group(1)})
    assert response.status_code == 302, text(response)
    assert the_child(fall).facts_confirmed

    calculate = f"{base(fall)}/kinder/{child.id}/berechnen"
    response = signed_in.post(calculate, data={
        "csrf_token": csrf_token(signed_in, base(fall)), f"c{child.id}-until": ""},
        follow_redirects=True)
    assert response.status_code == 200
    months = text(response)
    assert "249,00" in months
    assert "10/2026" in months

    response = signed_in.post(f"{base(fall)}/entscheidung", data={
        "csrf_token": csrf_token(signed_in, base(fall)), "kind": "bewilligung"})
    assert response.status_code == 302
    decision = db.session.scalar(select(Decision).where(Decision.fall_id == fall.id))
    assert decision is not None
    edit = f"/intern/faelle/{fall.id}/bescheide/{decision.id}"
    assert response.headers["Location"].endswith(edit)
    issued = signed_in.post(f"{edit}/erlassen", data={"csrf_token": csrf_token(signed_in, edit),
                                                      "posted_on": ""}, follow_redirects=True)
    assert issued.status_code == 200
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).status is DecisionStatus.ISSUED  # type: ignore[union-attr]
    assert the_child(fall).status is UvgChildStatus.GRANTED

    change_page = f"{base(fall)}/kinder/{child.id}/aenderung"
    form_page = text(signed_in.get(change_page))
    version = re.search(r'name="version"[^>]*value="(\d+)"', form_page)
    assert version is not None
    response = post_form(signed_in, change_page, {
        "version": version.group(1), "kind": "maintenance", "effective_on": "01.12.2026",
        "reported_on": TODAY.strftime("%d.%m.%Y"), "maintenance": "100", "orphan_benefit": "",
        "child_income": "", "left_school": "", "trainee": "", "end_reason": "", "note": ""})
    assert response.status_code == 302, text(response)
    assert "/bescheide/" in response.headers["Location"]
    assert len(services.changes_of(fall)) == 1


def test_taking_over_two_children_asks_to_split_the_amounts_named_for_both(
        signed_in: FlaskClient, applied_case: Callable[..., Fall]) -> None:
    values = answers(other_parent={"first_name": "Tom", "last_name": "Schmidt",
                                   "maintenance_paid": "regular", "maintenance_amount": 12_050},
                     orphan={"receives": "yes", "kind": "Halbwaisenrente für Lea",
                             "amount": 20_000})
    values["children"].append({"id": "k2", "person": {
        "first_name": "Ben", "last_name": "Müller", "birth_date": "2015-06-02",
        "nationality": "german", "living_since": "2015-06-02"}})
    fall = applied_case(values, parties=(CHILD, Party("child", "Ben", "Müller", "2015-06-02"),
                                         APPLICANT))
    response = signed_in.post(f"{base(fall)}/kinder-uebernehmen",
                              data={"csrf_token": csrf_token(signed_in, base(fall))},
                              follow_redirects=True)
    page = text(response)
    assert "2 Kind(er) aus dem Antrag übernommen" in page
    assert ("Der Antrag nennt Unterhalt von 120,50 € und Waisenbezüge von 200,00 € im Monat "
            "für alle Kinder zusammen.") in page
    assert "kern-alert--warning" in page
    db.session.expire_all()
    amounts = db.session.execute(select(UvgChild.maintenance_cents,
                                        UvgChild.orphan_benefit_cents)
                                 .where(UvgChild.fall_id == fall.id)).all()
    assert [tuple(row) for row in amounts] == [(0, 0), (0, 0)]
    # The facts page keeps saying it beside the fields, once the message is gone.
    child = db.session.scalar(select(UvgChild).where(UvgChild.fall_id == fall.id))
    assert child is not None
    facts = text(signed_in.get(f"{base(fall)}/kinder/{child.id}/angaben"))
    assert "Der Antrag nennt 120,50 € für alle Kinder zusammen." in facts
    assert "Der Antrag nennt 200,00 € für alle Kinder zusammen." in facts


@pytest.mark.parametrize(("values", "shown"), [
    ({"birth_date": "31.02.2018"}, "DD.MM.YYYY|TT.MM.JJJJ"),
    ({"birth_date": ""}, "date of birth|Geburtsdatum"),
    ({"maintenance": "-50"}, "euros|Euro"),
    ({"maintenance": "1000000"}, "100.000"),
    ({"maintenance": "<script>alert(1)</script>"}, "euros|Euro"),
    ({"payee_iban": "DE00 0000"}, "IBAN"),
    ({"payee_name": "x" * 500}, "140"),
    ({"birth_date": "01.01.2030"}, "future|Zukunft"),
    ({"version": "1"}, "meantime|Zwischenzeit"),
])
def test_bad_facts_are_shown_with_the_input_kept(
        signed_in: FlaskClient, applied_case: Callable[..., Fall],
        values: dict[str, str], shown: str) -> None:
    fall = applied_case()
    child = services.take_over_children(fall, services.SYSTEM_ACTOR)
    db.session.commit()
    facts = f"{base(fall)}/kinder/{child.created[0].id}/angaben"
    # A colleague confirms first: a form still carrying version 1 is stale.
    data = {**FACTS, "version": str(child.created[0].version), **values}
    if values.get("version"):
        post_form(signed_in, facts, {**FACTS, "version": "1"})
    response = post_form(signed_in, facts, data)
    assert response.status_code == 400
    page = text(response)
    assert re.search(shown, page), page
    assert "error-summary" in page
    typed = next(iter(values.values()))
    if typed and "<" not in typed and typed != "1":
        assert typed[:40] in page
    assert "<script>alert(1)</script>" not in page


def test_a_finding_without_a_note_is_refused_on_the_page(
        signed_in: FlaskClient, applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    created = services.take_over_children(fall, services.SYSTEM_ACTOR).created
    db.session.commit()
    path = f"{base(fall)}/kinder/{created[0].id}/pruefung/residence"
    response = post_form(signed_in, path, {"state": "met", "note": ""})
    assert response.status_code == 400
    response = post_form(signed_in, path, {"state": "erfunden", "note": "x"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(UvgConditionAssessment.id))) == 0
    response = post_form(signed_in, path, {"state": "met", "note": "Pass gesehen"})
    assert response.status_code == 302
    assert signed_in.get(f"{base(fall)}/kinder/{created[0].id}/pruefung/erfunden"
                         ).status_code == 404


def test_a_decision_without_calculation_is_refused_on_the_page(
        signed_in: FlaskClient, applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    services.take_over_children(fall, services.SYSTEM_ACTOR)
    db.session.commit()
    response = signed_in.post(f"{base(fall)}/entscheidung", data={
        "csrf_token": csrf_token(signed_in, base(fall)), "kind": "bewilligung"},
        follow_redirects=True)
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(Decision.id))) == 0
    response = signed_in.post(f"{base(fall)}/entscheidung", data={
        "csrf_token": csrf_token(signed_in, base(fall)), "kind": "aufhebung"},
        follow_redirects=True)
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(Decision.id))) == 0


def test_bad_calculation_input_and_unknown_children_never_break_the_page(
        signed_in: FlaskClient, applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    created = services.take_over_children(fall, services.SYSTEM_ACTOR).created
    db.session.commit()
    child_id = created[0].id
    for until in ("13.2026", "abc", "01.1900"):
        response = signed_in.post(f"{base(fall)}/kinder/{child_id}/berechnen", data={
            "csrf_token": csrf_token(signed_in, base(fall)), f"c{child_id}-until": until},
            follow_redirects=True)
        assert response.status_code == 200
    assert signed_in.get(f"{base(fall)}/kinder/{child_id}/berechnung").status_code == 404
    assert signed_in.get(f"{base(fall)}/kinder/999999/angaben").status_code == 404
    assert signed_in.get(f"{base(fall)}/kinder/{child_id}/aenderung").status_code == 302


def test_access_is_for_the_uvg_fachbereich_only(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff],
        create_citizen: Callable[..., Citizen], applied_case: Callable[..., Fall],
        create_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    created = services.take_over_children(fall, services.SYSTEM_ACTOR).created
    db.session.commit()
    paths = (base(fall), f"{base(fall)}/kinder/{created[0].id}/angaben",
             f"{base(fall)}/kinder/{created[0].id}/pruefung/age")
    # Anonymous: to the staff sign-in.
    with app.test_request_context():
        login = url_for("staff_auth.login")
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(login)
    # A citizen is no staff member.
    sign_in_citizen(client, create_citizen("neugierig@example.org"))
    for path in paths:
        assert client.get(path).status_code in (302, 403), path
    # Staff of another Fachbereich: 403, and the attempt is logged.
    outsider = create_staff("wohngeld", roles=(Role.CASEWORKER,), fachbereiche=("wohngeld",))
    sign_in_staff(client, outsider)
    for path in paths:
        assert client.get(path).status_code == 403, path
    assert db.session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.granted.is_(False))) == len(paths)
    # A clearing clerk of the UVG: no caseworker role.
    clerk = create_staff("clerk2", roles=(Role.CLEARING,), fachbereiche=("uvg",))
    sign_in_staff(client, clerk)
    assert client.get(base(fall)).status_code == 403
    # A case of another Fachbereich on the UVG pages: 404 for its own caseworker.
    wohngeld_case = create_case(fachbereich="wohngeld")
    sign_in_staff(client, outsider)
    assert client.get(f"/intern/uvg/faelle/{wohngeld_case.id}").status_code == 404
    assert client.get("/intern/uvg/faelle/999999").status_code == 404


@pytest.mark.parametrize(("values", "shown"), [
    ({"effective_on": "32.12.2026"}, "DD.MM.YYYY|TT.MM.JJJJ"),
    ({"effective_on": ""}, "takes effect|wirkt"),
    ({"maintenance": "-10"}, "euros|Euro"),
    ({"kind": "erfunden"}, "choice|Auswahl|valid|gültig"),
    ({"effective_on": "01.01.2020"}, "before the benefit started|vor Beginn"),
    ({"note": "x" * 2001}, "2000"),
])
def test_a_bad_change_is_shown_and_nothing_changes(
        signed_in: FlaskClient, applied_case: Callable[..., Fall],
        values: dict[str, str], shown: str) -> None:
    from tests.backoffice.uvg.case.test_changes import granted_and_paid

    fall = applied_case()
    child = granted_and_paid(fall)
    path = f"{base(fall)}/kinder/{child.id}/aenderung"
    data = {"version": str(child.version), "kind": "maintenance",
            "effective_on": "01.12.2026", "reported_on": TODAY.strftime("%d.%m.%Y"),
            "maintenance": "100", "orphan_benefit": "", "child_income": "", "left_school": "",
            "trainee": "", "end_reason": "", "note": "", **values}
    response = post_form(signed_in, path, data)
    assert response.status_code == 400
    assert re.search(shown, text(response)), text(response)
    assert services.changes_of(fall) == []

"""The decision and objection pages: thin views over the services, access by Fachbereich."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.decisions.models import Decision, DecisionStatus, Widerspruch
from backoffice.decisions.services import issue_decision
from backoffice.models import AccessLogEntry, Fall
from clearing.models import EingangKind
from portal.services import submit
from tests.amtsweg.mail.support import post_form
from tests.backoffice.decisions.conftest import applicant_of, draft_for, submit_and_route
from tests.conftest import csrf_token, sign_in_staff


@pytest.fixture
def signed_in(client: FlaskClient, caseworker: Staff) -> FlaskClient:
    sign_in_staff(client, caseworker)
    return client


def base(fall: Fall) -> str:
    return f"/intern/faelle/{fall.id}"


def test_a_caseworker_drafts_and_issues_a_bescheid(
        app: Flask, app_ctx: None, signed_in: FlaskClient,
        create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    page = signed_in.get(f"{base(fall)}/bescheide")
    assert page.status_code == 200
    assert "Entscheidungen und Widersprüche" in page.get_data(as_text=True)

    response = post_form(signed_in, f"{base(fall)}/bescheide/neu", {
        "kind": "teilbewilligung", "addressee": str(applicant_of(fall)),
        "subject": "Bescheid über Unterhaltsvorschuss", "decision_date": "20.11.2026",
        "tenor": "Bewilligt ab 1.12.2026.", "begruendung": "Teilweise, weil § 2 Abs. 3 UVG."})
    assert response.status_code == 302
    decision = db.session.scalar(select(Decision))
    assert decision is not None
    assert decision.decision_date == date(2026, 11, 20)
    edit = f"{base(fall)}/bescheide/{decision.id}"

    token = csrf_token(signed_in, edit)
    issued = signed_in.post(f"{edit}/erlassen", data={"csrf_token": token,
                                                      "posted_on": "26.11.2026"},
                            follow_redirects=True)
    assert issued.status_code == 200
    text = issued.get_data(as_text=True)
    assert "Der Bescheid wurde erlassen." in text
    assert "30.11.2026" in text  # counts as received on the 4th day after posting
    db.session.expire_all()
    decision = db.session.get(Decision, decision.id)
    assert decision is not None
    assert decision.status is DecisionStatus.ISSUED

    pdf = signed_in.get(f"{edit}/pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    pdf.close()
    assert db.session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.document_id == decision.document_id)) == 1


def test_issuing_with_a_missing_part_names_it(app_ctx: None, signed_in: FlaskClient,
                                              create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall, tenor="")
    edit = f"{base(fall)}/bescheide/{decision.id}"
    token = csrf_token(signed_in, edit)
    page = signed_in.post(f"{edit}/erlassen", data={"csrf_token": token},
                          follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "Der Bescheid kann nicht erlassen werden. Es fehlt: der Tenor." in text
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).status is DecisionStatus.DRAFT  # type: ignore[union-attr]


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "", "addressee": ""}, "Wählen Sie die Art der Entscheidung."),
    ({"kind": "schenkung"}, "Not a valid choice"),
    ({"decision_date": "31.02.2026"}, "Geben Sie ein gültiges Datum"),
    ({"subject": "x" * 201}, "Geben Sie höchstens 200 Zeichen ein."),
    ({"addressee": "999999"}, "Not a valid choice"),
])
def test_bad_input_keeps_the_input_and_changes_nothing(
        app_ctx: None, signed_in: FlaskClient, create_case: Callable[..., Fall],
        data: dict[str, str], message: str) -> None:
    fall = create_case()
    form = {"kind": "ablehnung", "addressee": str(applicant_of(fall)),
            "subject": "Bescheid", "tenor": "Abgelehnt <script>alert(1)</script>",
            "begruendung": "Weil.", **data}
    response = post_form(signed_in, f"{base(fall)}/bescheide/neu", form)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "<title>Fehler:" in text
    assert "Abgelehnt &lt;script&gt;alert(1)&lt;/script&gt;" in text
    if message != "Not a valid choice":
        assert message in text
    assert db.session.scalar(select(func.count(Decision.id))) == 0


def test_an_objection_without_a_decision_is_refused_on_the_page(
        app_ctx: None, signed_in: FlaskClient, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    page = signed_in.get(f"{base(fall)}/widersprueche/neu")
    assert "noch keinen erlassenen Bescheid" in page.get_data(as_text=True)
    response = post_form(signed_in, f"{base(fall)}/widersprueche/neu",
                         {"decision": "", "received_on": "02.01.2026", "note": "Brief"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Wählen Sie den Bescheid, gegen den sich der Widerspruch richtet." in text
    assert 'value="02.01.2026"' in text
    assert db.session.scalar(select(func.count(Widerspruch.id))) == 0


def test_an_objection_flows_through_the_pages(app_ctx: None, signed_in: FlaskClient,
                                              create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, posted_on=date(2025, 11, 28), today=date(2025, 11, 28))
    db.session.commit()
    response = post_form(signed_in, f"{base(fall)}/widersprueche/neu",
                         {"decision": str(decision.id), "received_on": "05.01.2026"})
    assert response.status_code == 302
    overview = signed_in.get(f"{base(fall)}/bescheide").get_data(as_text=True)
    assert "verspätet" in overview
    widerspruch = db.session.scalar(select(Widerspruch))
    assert widerspruch is not None
    step = f"{base(fall)}/widersprueche/{widerspruch.id}"
    bad = post_form(signed_in, f"{step}/weiterleiten", {"forwarded_on": "gestern"})
    assert bad.status_code == 400
    assert post_form(signed_in, f"{step}/weiterleiten",
                     {"forwarded_on": "06.01.2026"}).status_code == 302
    assert post_form(signed_in, f"{step}/ergebnis",
                     {"outcome": "zurueckgewiesen", "outcome_on": "01.03.2026"}
                     ).status_code == 302
    db.session.expire_all()
    widerspruch = db.session.get(Widerspruch, widerspruch.id)
    assert widerspruch is not None
    assert widerspruch.outcome is not None
    assert widerspruch.outcome.value == "zurueckgewiesen"


def test_another_fachbereich_gets_403_and_is_logged(
        app_ctx: None, client: FlaskClient, create_staff: Callable[..., Staff],
        create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    outsider = create_staff("wohngeld", roles=(Role.CASEWORKER,), fachbereiche=("wohngeld",))
    sign_in_staff(client, outsider)
    for path in (f"{base(fall)}/bescheide", f"{base(fall)}/bescheide/{decision.id}",
                 f"{base(fall)}/bescheide/{decision.id}/pdf",
                 f"{base(fall)}/widersprueche/neu"):
        assert client.get(path).status_code == 403, path
    denied = db.session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.granted.is_(False)))
    assert denied == 4


def test_unknown_and_foreign_ids_are_404(app_ctx: None, signed_in: FlaskClient,
                                         create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    other = create_case()
    foreign = draft_for(other)
    assert signed_in.get("/intern/faelle/999999/bescheide").status_code == 404
    assert signed_in.get(f"{base(fall)}/bescheide/{foreign.id}").status_code == 404
    assert signed_in.get(f"{base(fall)}/bescheide/{foreign.id}/pdf").status_code == 404
    assert signed_in.get(f"{base(fall)}/widersprueche/424242/weiterleiten").status_code == 404


def test_clerks_and_visitors_are_kept_out(app: Flask, app_ctx: None, client: FlaskClient,
                                          clerk: Staff, create_case: Callable[..., Fall]
                                          ) -> None:
    fall = create_case()
    response = client.get(f"{base(fall)}/bescheide")
    assert response.status_code == 302
    with app.test_request_context():
        login = url_for("staff_auth.login")
    assert response.headers["Location"].startswith(login)
    sign_in_staff(client, clerk)
    assert client.get(f"{base(fall)}/bescheide").status_code == 403


def test_an_online_objection_is_attached_on_the_overview(
        app_ctx: None, signed_in: FlaskClient, create_citizen: Callable[..., Citizen],
        clerk: Staff) -> None:
    citizen = create_citizen()
    fall, submission = submit_and_route(citizen, clerk)
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM)
    db.session.commit()
    objection = submit(citizen=db.session.merge(citizen), kind=EingangKind.WIDERSPRUCH,
                       title="Widerspruch gegen den Bescheid",
                       idempotency_key="widerspruch-0003-abcdef", sender_name="Sabine Müller",
                       parent=submission)
    item = objection.eingang.id
    page = signed_in.get(f"{base(fall)}/bescheide").get_data(as_text=True)
    assert "Widerspruch gegen den Bescheid" in page
    assert f'for="item{item}-decision"' in page
    token = re.search(rf'name="item{item}-csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    empty = signed_in.post(f"{base(fall)}/widersprueche/eingang/{item}",
                           data={f"item{item}-csrf_token": token.group(1),
                                 f"item{item}-decision": ""}, follow_redirects=True)
    assert "Wählen Sie den Bescheid, gegen den sich der Widerspruch richtet." in \
        empty.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Widerspruch.id))) == 0
    done = signed_in.post(f"{base(fall)}/widersprueche/eingang/{item}",
                          data={f"item{item}-csrf_token": token.group(1),
                                f"item{item}-decision": str(decision.id)},
                          follow_redirects=True)
    assert "Der Widerspruch wurde dem Bescheid zugeordnet." in done.get_data(as_text=True)
    widerspruch = db.session.scalar(select(Widerspruch))
    assert widerspruch is not None
    assert widerspruch.eingang_id == item


def test_the_case_timeline_names_decision_events(app_ctx: None, signed_in: FlaskClient,
                                                 create_case: Callable[..., Fall]) -> None:
    # Regression: the timeline showed the raw kinds "decision_drafted" and "bescheid_issued".
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, posted_on=date(2026, 11, 20), today=date(2026, 11, 20))
    db.session.commit()
    page = signed_in.get(base(fall)).get_data(as_text=True)
    assert "Entscheidung entworfen" in page
    assert "Bescheid erlassen" in page
    assert "decision_drafted" not in page
    assert "bescheid_issued" not in page
    assert "objection_period_started" not in page

"""The recovery page and the payment run report: access (§ 35 SGB I), forms with bad input,
CSRF, and the command."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.models import AccessLogEntry, Fall, Party, PartyRole
from backoffice.uvg.cli import uvg_group
from backoffice.uvg.payment_models import UvgPaymentRun
from backoffice.uvg.payments import run_payments
from backoffice.uvg.recovery_models import UvgRecovery, UvgRecoveryClaim, UvgRecoveryLetter
from ihv.models import Sollstellung
from tests.backoffice.support import post, text
from tests.backoffice.uvg.money.support import (
    APPLICANT,
    CHILD,
    OTHER_PARENT,
    grant,
    months,
    office_with_bank,
)
from tests.conftest import sign_in_citizen, sign_in_staff


@dataclass(frozen=True)
class Setup:
    fall_id: int
    parent_id: int
    applicant_id: int
    member: Staff
    outsider: Staff


@pytest.fixture
def setup(app: Flask, create_staff: Callable[..., Staff],
          create_case: Callable[..., Fall]) -> Setup:
    member = create_staff("uvg1", fachbereiche=("uvg",))
    outsider = create_staff("wg1", fachbereiche=("wohngeld",))
    with app.app_context():
        fall = create_case((CHILD, APPLICANT, OTHER_PARENT))
        fall.opened_at = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)
        grant(fall, months(date(2025, 11, 1), 5))
        office_with_bank()
        db.session.commit()
        run_payments(date(2026, 3, 1), SYSTEM, today=date(2026, 2, 20))
        db.session.commit()
        parent = next(p for p in fall.parties if p.role is PartyRole.OTHER_PARENT)
        applicant = next(p for p in fall.parties if p.role is PartyRole.APPLICANT)
        return Setup(fall.id, parent.id, applicant.id, member, outsider)


def _page(setup: Setup) -> str:
    return f"/intern/uvg/faelle/{setup.fall_id}/rueckgriff"


def _action(setup: Setup, name: str, party_id: int | None = None) -> str:
    return f"{_page(setup)}/{party_id or setup.parent_id}/{name}"


def _day(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def test_the_page_shows_the_figures_and_logs_the_look(client: FlaskClient, app: Flask,
                                                      setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    response = client.get(_page(setup))
    page = text(response)
    assert response.status_code == 200
    assert "Jan Schmidt" in page
    assert "Lindenweg 5" in page
    assert re.search(r'data-figure="paid">1\.135,00', page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccessLogEntry)
                                 .where(AccessLogEntry.granted.is_(True))) == 1


def test_the_case_links_to_the_recovery_page(client: FlaskClient, setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    assert _page(setup) in text(client.get(f"/intern/faelle/{setup.fall_id}"))


def test_staff_of_another_fachbereich_get_403_and_a_trace(client: FlaskClient, app: Flask,
                                                          setup: Setup) -> None:
    sign_in_staff(client, setup.outsider)
    assert client.get(_page(setup)).status_code == 403
    with app.app_context():
        denied = db.session.scalar(select(AccessLogEntry).where(
            AccessLogEntry.granted.is_(False)))
        assert denied is not None
        assert denied.staff_id == setup.outsider.id


@pytest.mark.parametrize("who", ["anonymous", "citizen"])
def test_no_staff_no_entry(client: FlaskClient, setup: Setup,
                           create_citizen: Callable[..., Citizen], who: str) -> None:
    if who == "citizen":
        sign_in_citizen(client, create_citizen())
    for path in (_page(setup), "/intern/uvg/zahlungslauf"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/intern/anmelden" in response.location


def test_posts_without_staff_change_nothing(client: FlaskClient, app: Flask,
                                            setup: Setup) -> None:
    response = client.post(_action(setup, "rechtswahrungsanzeige"),
                           data={"letter_date": "15.01.2026"})
    assert response.status_code in (302, 400)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UvgRecoveryLetter)) == 0


def test_a_role_without_casework_gets_403(client: FlaskClient, setup: Setup,
                                          create_staff: Callable[..., Staff]) -> None:
    clerk = create_staff("cl1", roles=(Role.CLEARING,), fachbereiche=("uvg",))
    sign_in_staff(client, clerk)
    assert client.get(_page(setup)).status_code == 403
    assert client.get("/intern/uvg/zahlungslauf").status_code == 403


def test_a_case_of_another_fachbereich_has_no_recovery_page(
        client: FlaskClient, app: Flask, create_staff: Callable[..., Staff],
        create_case: Callable[..., Fall]) -> None:
    both = create_staff("both", fachbereiche=("uvg", "wohngeld"))
    with app.app_context():
        fall = create_case(fachbereich="wohngeld")
        fall_id = fall.id
    sign_in_staff(client, both)
    assert client.get(f"/intern/uvg/faelle/{fall_id}/rueckgriff").status_code == 404


def test_a_party_that_is_no_liable_parent_is_404(client: FlaskClient, setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    assert client.get(f"{_page(setup)}?beteiligter={setup.applicant_id}").status_code == 404
    response = post(client, _page(setup), _action(setup, "rechtswahrungsanzeige",
                                                  setup.applicant_id),
                    {"letter_date": "15.01.2026"})
    assert response.status_code == 404


def test_saving_the_parent_data(client: FlaskClient, app: Flask, setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    response = post(client, _page(setup), _action(setup, "daten"), {
        "address": "Neue Straße 7\n97437 Haßfurt", "employer": "Bauhof GmbH",
        "net_income": "2.150,50", "income_note": "Lohnabrechnungen liegen vor", "version": ""})
    assert response.status_code == 302
    with app.app_context():
        file = db.session.scalar(select(UvgRecovery))
        party = db.session.get(Party, setup.parent_id)
        assert file is not None
        assert party is not None
        assert file.net_income_cents == 215_050
        assert file.employer == "Bauhof GmbH"
        assert party.address == "Neue Straße 7\n97437 Haßfurt"


@pytest.mark.parametrize(("data", "message"), [
    ({"address": ""}, "address"),
    ({"address": "Weg 1", "net_income": "viel"}, "amount in euros"),
    ({"address": "Weg 1", "net_income": "-5"}, "amount in euros"),
    ({"address": "Weg 1", "net_income": "9" * 30}, "amount in euros"),
    ({"address": "Weg 1", "income_note": "x" * 2001}, "at most 2000"),
    ({"address": "x" * 501}, "at most 500"),
    ({"address": "Weg 1\x1b<script>"}, "address"),
    ({"address": "Weg 1", "version": "7"}, "in the meantime"),
])
def test_bad_parent_data_keeps_the_input(client: FlaskClient, app: Flask, setup: Setup,
                                         data: dict[str, str], message: str) -> None:
    sign_in_staff(client, setup.member)
    with client.session_transaction() as session:
        session["locale"] = "en"
    response = post(client, _page(setup), _action(setup, "daten"), data)
    page = text(response)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert message in page
    if data.get("net_income"):
        assert f'value="{data["net_income"]}"' in page
    with app.app_context():
        assert db.session.scalar(select(UvgRecovery.employer)) in (None, "")
        party = db.session.get(Party, setup.parent_id)
        assert party is not None
        assert party.address == OTHER_PARENT.address


def test_letters_and_claim_through_the_pages(client: FlaskClient, app: Flask,
                                             setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    with client.session_transaction() as session:
        session["locale"] = "en"
    today = berlin_today()
    # The demand before the Rechtswahrungsanzeige: refused, with the reason.
    response = post(client, _page(setup), _action(setup, "zahlungsaufforderung"),
                    {"letter_date": _day(today), "due_date": _day(today + timedelta(days=21))})
    assert response.status_code == 400
    assert "Rechtswahrungsanzeige first" in text(response)

    response = post(client, _page(setup), _action(setup, "rechtswahrungsanzeige"),
                    {"letter_date": "15.01.2026"})
    assert response.status_code == 302
    response = post(client, _page(setup), _action(setup, "anhoerung"),
                    {"letter_date": _day(today), "reply_by": _day(today + timedelta(days=14))})
    assert response.status_code == 302
    response = post(client, _page(setup), _action(setup, "zahlungsaufforderung"),
                    {"letter_date": _day(today), "due_date": _day(today + timedelta(days=21)),
                     "monthly_cap": "200"})
    assert response.status_code == 302
    page = text(client.get(_page(setup)))
    with app.app_context():
        claim = db.session.scalar(select(UvgRecoveryClaim))
        assert claim is not None
        assert claim.amount_cents == 3 * 20_000
        order = db.session.get(Sollstellung, claim.sollstellung_id)
        assert order is not None
        assert order.created_by_id == setup.member.id
        assert db.session.scalar(select(func.count()).select_from(UvgRecoveryLetter)) == 3
    assert "600.00" in page
    assert "15.01.2026" in page
    # Above the cap, 27 EUR of each month stay claimable (should the parent's means grow).
    assert len(re.findall(r">27\.00\s€<", page)) == 3


@pytest.mark.parametrize(("action", "data", "message"), [
    ("rechtswahrungsanzeige", {"letter_date": ""}, "Enter the date of the letter"),
    ("rechtswahrungsanzeige", {"letter_date": "31.02.2026"}, "real date"),
    ("rechtswahrungsanzeige", {"letter_date": "01.01.2999"}, "future"),
    ("rechtswahrungsanzeige", {"letter_date": "01.01.2020"}, "before the case was opened"),
    ("rechtswahrungsanzeige", {"letter_date": "x" * 5000}, "real date"),
    ("anhoerung", {"letter_date": "15.01.2026", "reply_by": "16.01.2026"}, "at least 14"),
    ("anhoerung", {"letter_date": "15.01.2026", "reply_by": ""}, "reply"),
    ("zahlungsaufforderung", {"letter_date": "15.01.2026", "due_date": "15.02.2026",
                              "monthly_cap": "0"}, "above 0"),
    ("zahlungsaufforderung", {"letter_date": "15.01.2026", "due_date": "15.02.2026",
                              "monthly_cap": "1,2,3"}, "amount in euros"),
])
def test_bad_letter_input_is_a_400_with_the_reason(client: FlaskClient, app: Flask,
                                                   setup: Setup, action: str,
                                                   data: dict[str, str], message: str) -> None:
    sign_in_staff(client, setup.member)
    with client.session_transaction() as session:
        session["locale"] = "en"
    if action != "rechtswahrungsanzeige":
        post(client, _page(setup), _action(setup, "rechtswahrungsanzeige"),
             {"letter_date": "15.01.2026"})
    response = post(client, _page(setup), _action(setup, action), data)
    page = text(response)
    assert response.status_code == 400, page[:500]
    assert message in page
    assert "Error:" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UvgRecoveryClaim)) == 0


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, app: Flask,
                                                  setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    response = client.post(_action(setup, "rechtswahrungsanzeige"),
                           data={"letter_date": "15.01.2026"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UvgRecoveryLetter)) == 0


def test_the_payment_run_report(client: FlaskClient, setup: Setup) -> None:
    sign_in_staff(client, setup.member)
    page = text(client.get("/intern/uvg/zahlungslauf"))
    assert "03/2026" in page
    assert 'data-figure="cases">1<' in page
    assert client.get("/intern/uvg/zahlungslauf?monat=2026-03").status_code == 200
    assert client.get("/intern/uvg/zahlungslauf?monat=2026-04").status_code == 404
    assert client.get("/intern/uvg/zahlungslauf?monat=%3Cscript%3E").status_code == 404
    sign_in_staff(client, setup.outsider)
    assert client.get("/intern/uvg/zahlungslauf").status_code == 403


def test_the_report_lists_exceptions(client: FlaskClient, app: Flask,
                                     create_staff: Callable[..., Staff],
                                     create_case: Callable[..., Fall]) -> None:
    lead = create_staff("lead", roles=(Role.LEAD,), fachbereiche=("uvg",))
    with app.app_context():
        fall = create_case()
        grant(fall, [date(2026, 3, 1)], iban=None)
        aktenzeichen = fall.aktenzeichen
        db.session.commit()
        run_payments(date(2026, 3, 1), SYSTEM, today=date(2026, 2, 20))
        db.session.commit()
    sign_in_staff(client, lead)
    with client.session_transaction() as session:
        session["locale"] = "en"
    page = text(client.get("/intern/uvg/zahlungslauf"))
    assert aktenzeichen in page
    assert "No IBAN for the payee" in page


# --- the command ------------------------------------------------------------------------------


def _run(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner(mix_stderr=False).invoke(uvg_group, ["payment-run", *args]) \
        if _mix_stderr_supported() else app.test_cli_runner().invoke(uvg_group,
                                                                     ["payment-run", *args])
    return result.exit_code, result.stdout, getattr(result, "stderr", "")


def _mix_stderr_supported() -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def test_command_runs_once(app: Flask, create_case: Callable[..., Fall]) -> None:
    with app.app_context():
        grant(create_case(), [date(2026, 2, 1), date(2026, 3, 1)])
        db.session.commit()
    code, out, _err = _run(app, "--month", "2026-03", "--today", "2026-02-20")
    assert code == 0, out
    assert "cases:               1" in out
    assert "454,00 EUR" in out
    code, out, err = _run(app, "--month", "2026-03", "--today", "2026-02-20")
    assert code == 1
    assert "nothing new" in (err or out)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Sollstellung)) == 2
        assert db.session.scalar(select(func.count()).select_from(UvgPaymentRun)) == 1


@pytest.mark.parametrize("args", [
    ["--month", "2026-13"], ["--month", "März"], ["--month", ""], ["--month", "2026-03-01"],
    ["--month", "2099-01"], ["--month", "2026-03", "--today", "gestern"],
])
def test_command_refuses_bad_input(app: Flask, args: list[str]) -> None:
    code, out, err = _run(app, *args)
    assert code == 2
    assert "Traceback" not in out + err
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UvgPaymentRun)) == 0

"""The whole office in Chromium (issue 9, part 1): from a citizen's new account to the money
booked by the treasury and counted in the statistics.

Sabine registers and confirms her address with the link from the mail the test's SMTP server
received, applies for Unterhaltsvorschuss for Lea (7) and Ben (9) with their documents, saves
halfway, signs out, comes back through "Meine Anträge", submits and keeps the receipt. The
clerk claims the application and routes it to a new UVG case for the caseworker, who confirms
the facts, records a finding, calculates and grants. Sabine reads the Bescheid in her postbox.
The monthly payment run raises the orders; the Feststellerin and the Anordnungsbefugte approve
them in the Kasse; `ihv send`, the treasury simulator and `ihv receive` run as the operator
runs them; the lead sees the payments booked on the case and counted in the statistics.

Every page passed is screenshotted in order (test-artifacts/journey-NN-…) and checked: no WCAG
2.1 AA violation (axe-core), no CSP error, no request to a foreign host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from amtsweg.app import create_app
from amtsweg.clock import berlin_today
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.decisions.models import Decision, DecisionKind, DecisionStatus
from backoffice.models import Fall
from backoffice.uvg.cli import uvg_group
from backoffice.uvg.models import UvgChild, UvgChildStatus
from clearing.models import Eingang, EingangStatus
from ihv.cli import ihv_group
from ihv.models import Direction, OrderStatus, Sollstellung
from portal.models import Submission
from tests.amtsweg.mail.support import SmtpServer, body_of, smtp, smtp_server
from tests.e2e.casework_support import pdf_text
from tests.e2e.journey_support import (
    CHILDREN,
    Journey,
    apply_for_two_children,
    approve_all,
    caseworker_decides,
    clerk_routes_to_caseworker,
    command,
    euro,
    folded,
    mails_to,
    read_bescheid,
    register_and_confirm,
    resume_and_submit,
    uvg_month_cents,
)

__all__ = ["smtp", "smtp_server"]

pytestmark = pytest.mark.e2e

EMAIL = "sabine.journey@example.org"
CHILD_NAMES = [f"{first} Muster" for first, _age in CHILDREN]


@pytest.fixture
def app(app: Flask, settings_factory: Callable[..., Settings],
        smtp: SmtpServer) -> Iterator[Flask]:
    """The office's app on the test database, its mail going to the real SMTP server."""
    office = create_app(settings_factory(mail_url=smtp.url))
    yield office
    with office.app_context():  # close its connections before the database is truncated
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def office(create_staff: Callable[..., Staff]) -> dict[str, Staff]:
    """The staff accounts the administrator set up; everything else happens in the journey."""
    return {
        "clerk": create_staff("clearing", roles=(Role.CLEARING,), fachbereiche=(),
                              full_name="Clara Clearing"),
        "caseworker": create_staff("sachbearbeiterin", roles=(Role.CASEWORKER,),
                                   fachbereiche=("uvg",), full_name="Erika Sachbearbeiterin"),
        "feststeller": create_staff("feststellung", roles=(Role.FESTSTELLER,), fachbereiche=(),
                                    full_name="Frieda Feststellerin"),
        "anordner": create_staff("anordnung", roles=(Role.ANORDNER,), fachbereiche=(),
                                 full_name="Anton Anordner"),
        "lead": create_staff("leitung", roles=(Role.LEAD,), fachbereiche=("uvg",),
                             full_name="Lena Leitung"),
    }


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def test_an_application_goes_through_the_whole_office(
        app: Flask, page_at_both_widths: Page, live_server: str, tmp_path: Path,
        smtp: SmtpServer, office: dict[str, Staff]) -> None:
    page = page_at_both_widths  # a desktop window, and 320 CSS pixels wide: every page reflows
    journey = Journey(page, live_server, tmp_path)
    today = berlin_today()
    month = today.replace(day=1)

    # --- the citizen: account, application in two sittings, receipt ---------------------------
    register_and_confirm(journey, smtp, EMAIL)
    apply_for_two_children(journey)
    journey.sign_out()
    journey.citizen_sign_in(EMAIL, "citizen-back")
    reference, receipt = resume_and_submit(journey)
    assert reference in folded(pdf_text(receipt))
    with app.app_context():
        submission = db.session.scalar(select(Submission).where(
            Submission.reference == reference))
        assert submission is not None
        # Two birth certificates, the Meldebescheinigung and whatever else was asked for.
        assert len(submission.documents) >= 3
        assert submission.eingang_id is not None
        eingang_id = submission.eingang_id
    journey.sign_out()

    # --- the clerk: claim and route to a new UVG case for the caseworker ----------------------
    journey.staff_sign_in("clearing")
    clerk_routes_to_caseworker(journey, eingang_id, reference, office["caseworker"].id)
    with app.app_context():
        eingang = db.session.get_one(Eingang, eingang_id)
        assert eingang.status is EingangStatus.ROUTED
        fall = db.session.get_one(Fall, eingang.fall_id)
        assert fall.fachbereich.code == "uvg"
        assert fall.responsible_staff_id == office["caseworker"].id
        fall_id, aktenzeichen = fall.id, fall.aktenzeichen
    expect(journey.main).to_contain_text(aktenzeichen)
    journey.sign_out()

    # --- the caseworker: facts, checklist, calculation, Bewilligung ---------------------------
    journey.staff_sign_in("sachbearbeiterin")
    caseworker_decides(journey, fall_id, CHILD_NAMES, uvg_month_cents(month))
    with app.app_context():
        decision = db.session.scalar(select(Decision).where(Decision.fall_id == fall_id))
        assert decision is not None
        assert (decision.kind, decision.status) == (DecisionKind.BEWILLIGUNG,
                                                    DecisionStatus.ISSUED)
        subject = decision.subject
        children = db.session.scalars(select(UvgChild).where(UvgChild.fall_id == fall_id)).all()
        assert sorted(child.party.full_name for child in children) == sorted(CHILD_NAMES)
        assert {child.status for child in children} == {UvgChildStatus.GRANTED}
        applied_on = {child.application_date for child in children}
    journey.sign_out()

    # --- the citizen reads the Bescheid -------------------------------------------------------
    bescheid = folded(pdf_text(read_bescheid(journey, EMAIL, subject)))
    assert aktenzeichen in bescheid
    for name in CHILD_NAMES:
        assert name in bescheid
    # § 4 UVG: from the month before the application arrived.
    assert applied_on == {today}
    assert euro(uvg_month_cents(month)) in bescheid, bescheid
    # "Meine Anträge" says it in plain words, and the application's page leads to the Bescheid.
    journey.click(journey.page.locator('header a[href="/konto/antraege"]').first,
                  "my-applications-decided")
    row = journey.main.locator("tbody tr", has_text=reference)
    expect(row).to_contain_text("entschieden")
    journey.click(row.get_by_role("link"), "application-decided")
    expect(journey.main.get_by_role("link", name="Bescheid lesen")).to_have_count(1)
    journey.sign_out()
    # Mail said what happened, never what it is about (§ 35 SGB I): the link, the receipt's
    # reference, a note of a new message in the postbox.
    _verify, arrived, notice = mails_to(smtp, EMAIL, 3)
    assert reference in arrived["Subject"]
    assert "/konto/postfach" in body_of(notice)
    for mail in (arrived, notice):
        text = f"{mail['Subject']} {body_of(mail)}"
        assert not [word for word in [*CHILD_NAMES, "Unterhaltsvorschuss"] if word in text]

    # --- the monthly payment run (cron) -------------------------------------------------------
    run = command(app, uvg_group, "payment-run", "--month", f"{month:%Y-%m}")
    assert re.search(r"children:\s+2\b", run.output), run.output
    # This month for each child, and last month (§ 4 UVG) as one back payment each.
    expected = 2 * (uvg_month_cents(month) + uvg_month_cents(previous_month(month)))
    with app.app_context():
        orders = db.session.scalars(select(Sollstellung).order_by(Sollstellung.id)).all()
        assert len(orders) == 4
        assert {o.status for o in orders} == {OrderStatus.DRAFT}
        assert {o.direction for o in orders} == {Direction.AUSZAHLUNG}
        assert {o.fall_id for o in orders} == {fall_id}
        assert sum(o.amount_cents for o in orders) == expected
        order_ids = [o.id for o in orders]

    # --- four eyes in the Kasse ---------------------------------------------------------------
    approve_all(journey, "feststellung", "feststellung", expected)
    approve_all(journey, "anordnung", "anordnung", expected)
    with app.app_context():
        orders = [db.session.get_one(Sollstellung, ident) for ident in order_ids]
        assert {(o.status, o.festgestellt_by_id, o.angeordnet_by_id) for o in orders} == {
            (OrderStatus.ANGEORDNET, office["feststeller"].id, office["anordner"].id)}
        due = max(o.due_date for o in orders)

    # --- the treasury: send, simulate, receive (the operator's commands) -----------------------
    assert "sent 1" in command(app, ihv_group, "send").output
    command(app, ihv_group, "simulate", "--today", due.isoformat())
    imported = command(app, ihv_group, "receive").output
    assert "orders acknowledged 4" in imported, imported
    assert "bookings matched 4" in imported, imported
    with app.app_context():
        orders = [db.session.get_one(Sollstellung, ident) for ident in order_ids]
        assert {o.status for o in orders} == {OrderStatus.BOOKED}
        assert sum(o.booked_cents for o in orders) == expected

    # --- the lead: the case shows the payments booked, the statistics count them --------------
    journey.staff_sign_in("leitung")
    journey.goto(f"/intern/faelle/{fall_id}", "case-paid")
    rows = page.locator("#zahlungen tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator('#zahlungen td[data-status="booked"]')).to_have_count(4)
    balance = folded(page.locator("#zahlungen-saldo").inner_text())
    assert f"Soll {euro(expected)}, Ist {euro(expected)}, offen {euro(0)}" in balance, balance

    journey.click(page.locator('header a[href^="/intern/statistik"]').first, "statistics")
    with app.app_context():
        uvg_id = str(db.session.get_one(Fall, fall_id).fachbereich_id)
    page.select_option('[name="period"]', "month")
    page.fill('[name="year"]', str(due.year))
    page.select_option('[name="month"]', str(due.month))
    page.select_option('[name="fachbereich"]', uvg_id)
    journey.click(journey.main.locator('form[role="search"] button[type=submit]'),
                  "statistics-month")
    children_total = folded(page.locator("#uvg_children tbody tr").last.inner_text())
    assert children_total.endswith(" 2"), children_total
    money_total = folded(page.locator("#uvg_money tbody tr").last.inner_text())
    # Paid out (ordered), paid out (booked), recovered (booked).
    assert money_total.endswith(f"{euro(expected)} {euro(expected)} {euro(0)}"), money_total

"""A clerk drains a mixed queue in Chromium; a lead looks at the overview afterwards.

The queue holds a UVG Neuantrag sent through the portal, a general request, a spam message and a
letter scanned in at the counter (through the paper intake page); a Nachreichung of the Neuantrag
arrives once it is in its case. The clerk claims each item, opens its triage view (the document
preview loads), routes, asks, rejects and attaches. Afterwards nothing is new or in triage, every
item is in a case or at a documented end, and the audit log holds an entry for every action.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.models import Fall
from clearing.models import Eingang, EingangKind, EingangStatus, RejectionReason
from clearing.services import Sender, create_eingang
from portal.models import Submission
from tests.conftest import PASSWORD, sign_in_citizen
from tests.e2e.conftest import PageWatch, assert_clean, click_through, pdf_file
from tests.portal.conftest import post_with_files
from tests.portal.uvg.conftest import DECLARATIONS, Wizard, child_answers, fill_all

pytestmark = pytest.mark.e2e

MAIN = "main"
UVG_DOCUMENTS = ("birth_certificate:k1", "meldebescheinigung", "separation_proof",
                 "maintenance_title")


def send_uvg_application(app: Flask, citizen: Citizen) -> Submission:
    """The citizen's side through HTTP (the citizen journey drives it in the browser)."""
    client = app.test_client()
    sign_in_citizen(client, citizen)
    wizard = Wizard(client, citizen)
    with app.app_context():
        wizard.start(child_answers("Lea", 6))
        fill_all(wizard)
        for requirement in UVG_DOCUMENTS:
            response = wizard.upload(requirement, pdf_file(requirement), f"{requirement}.pdf")
            assert response.status_code == 302, response.get_data(as_text=True)
        assert wizard.page("unterlagen", {}).status_code == 302
        assert wizard.page("erklaerungen", DECLARATIONS).status_code == 302
        assert wizard.post(wizard.url("absenden")).status_code == 302
        submission: Submission | None = db.session.scalar(select(Submission))
        assert submission is not None
        db.session.expunge(submission)
        return submission


def signed_in_client(app: Flask, citizen: Citizen) -> FlaskClient:
    client = app.test_client()
    sign_in_citizen(client, citizen)
    return client


def staff_sign_in(page: Page, base: str, staff: Staff, shot: str) -> None:
    page.goto(base + "/intern/anmelden")
    assert_clean(page, shot)
    page.fill('[name="username"]', staff.username)
    page.fill('[name="password"]', PASSWORD)
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]').first)
    assert "/intern/anmelden" not in page.url, page.url
    assert_clean(page, f"{shot}_signed_in")


def eingang_id_of(app: Flask, **where: object) -> int:
    with app.app_context():
        query = select(Eingang.id)
        for name, value in where.items():
            query = query.where(getattr(Eingang, name) == value)
        ident = db.session.scalar(query)
        assert ident is not None, where
        return ident


def open_and_claim(page: Page, base: str, eingang_id: int, shot: str, *,
                   documents: bool = True) -> None:
    """From the queue: open the item, take it over, and see its triage view."""
    page.goto(base + "/intern/clearing/")
    assert_clean(page, f"{shot}_queue")
    click_through(page, page.locator(f'{MAIN} a[href="/intern/clearing/{eingang_id}"]'))
    assert_clean(page, f"{shot}_unclaimed")
    click_through(page, page.locator(f'{MAIN} form[action$="/{eingang_id}/uebernehmen"] button'))
    assert_clean(page, f"{shot}_triage")
    expect(page.locator(MAIN)).to_contain_text("In Bearbeitung bei")
    # The preview of every document loads through the authorised route, as the browser
    # opens it in a new tab.
    links = page.locator(f'{MAIN} a[href$="/ansehen"]').all()
    assert bool(links) is documents
    for link in links:
        href = link.get_attribute("href") or ""
        response = page.request.get(base + href)
        assert response.status == 200, href
        assert response.headers["content-type"].startswith("application/pdf"), href
        assert response.headers.get("content-disposition", "").startswith("inline"), href
        assert response.body()[:5] == b"%PDF-"


def test_clerk_drains_a_mixed_queue(
        app: Flask, page: Page, browser: Browser, live_server: str, tmp_path: Path,
        create_citizen: Callable[..., Citizen], create_staff: Callable[..., Staff]) -> None:
    clerk = create_staff("clerk", roles=(Role.CLEARING,), fachbereiche=(),
                         full_name="Clara Clearing")
    lead = create_staff("lead", roles=(Role.LEAD,), fachbereiche=(), full_name="Lena Leitung")
    maria = create_citizen("maria@example.org")
    paul = create_citizen("paul@example.org")

    # The queue: a Neuantrag, a general request, a spam message.
    application = send_uvg_application(app, maria)
    response = post_with_files(
        signed_in_client(app, paul), "/anfrage",
        {"topic": "leistung:beistandschaft", "subject": "Frage zur Beistandschaft",
         "message": "Ich möchte eine Beistandschaft für meinen Sohn."},
        [(pdf_file("Brief von Paul"), "brief.pdf")])
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        create_eingang(kind=EingangKind.NACHRICHT, subject="Sie haben gewonnen!!!",
                       sender=Sender("Gewinnspiel GmbH", "gewinn@example.com"), actor=SYSTEM,
                       message="Klicken Sie hier, um Ihren Preis abzuholen.")
        db.session.commit()
    neuantrag = eingang_id_of(app, reference=application.reference)
    general = eingang_id_of(app, kind=EingangKind.NACHRICHT, citizen_id=paul.id)
    spam = eingang_id_of(app, sender_name="Gewinnspiel GmbH")

    staff_sign_in(page, live_server, clerk, "drain_01_login")

    # A letter arrives at the counter: the clerk scans it in through the paper intake page.
    page.goto(live_server + "/intern/clearing/papiereingang")
    assert_clean(page, "drain_02_paper_intake")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_file("Meldebescheinigung Maria Muster (Papier)"))
    page.set_input_files('input[name="scan"]', str(scan))
    page.select_option('[name="letter_kind"]', EingangKind.PAPIEREINGANG.value)
    page.select_option('[name="service"]', "uvg")
    page.fill('[name="sender_name"]', "Maria Muster")
    page.fill('[name="sender_address"]', "Domplatz 1\n93047 Regensburg")
    page.fill('[name="received_on"]', "")
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert_clean(page, "drain_03_paper_intake_errors")  # the date of receipt is required
    page.set_input_files('input[name="scan"]', str(scan))
    with app.app_context():
        from amtsweg.clock import berlin_today
        today = berlin_today().strftime("%d.%m.%Y")
    page.fill('[name="received_on"]', today)
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert re.search(r"/intern/clearing/\d+$", page.url), page.locator(MAIN).inner_text()
    paper = int(page.url.rsplit("/", 1)[1])
    assert_clean(page, "drain_04_paper_item")

    # 1. The Neuantrag: routed to Unterhaltsvorschuss, opening a new case.
    open_and_claim(page, live_server, neuantrag, "drain_05_neuantrag")
    expect(page.locator(MAIN)).to_contain_text(application.reference)
    click_through(page, page.locator(f'{MAIN} a[href$="/{neuantrag}/weiterleiten"]'))
    assert_clean(page, "drain_06_route")
    selected = page.locator('[name="fachbereich"] option:checked').inner_text()
    assert "Unterhaltsvorschuss" in selected  # the routing rule's proposal
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert_clean(page, "drain_07_routed")
    with app.app_context():
        routed = db.session.get(Eingang, neuantrag)
        assert routed is not None
        assert routed.fall_id is not None
        fall = db.session.get(Fall, routed.fall_id)
        assert fall is not None
        aktenzeichen = fall.aktenzeichen
    expect(page.locator(MAIN)).to_contain_text(aktenzeichen)

    # 2. Meanwhile Maria sends a document more: it goes straight to the case.
    response = post_with_files(
        signed_in_client(app, maria), f"/konto/antraege/{application.public_id}/nachreichen",
        {"note": "Die Geburtsurkunde noch einmal"},
        [(pdf_file("Geburtsurkunde Lea"), "geburtsurkunde.pdf")])
    assert response.status_code == 302, response.get_data(as_text=True)
    nachreichung = eingang_id_of(app, kind=EingangKind.NACHREICHUNG)
    page.goto(f"{live_server}/intern/clearing/{nachreichung}")
    assert_clean(page, "drain_08_nachreichung_routed_automatically")
    expect(page.locator(MAIN)).to_contain_text(aktenzeichen)
    expect(page.locator("#history")).to_contain_text("Automatisch weitergeleitet")

    # 3. The general request: the clerk asks for more; the item waits for Paul.
    open_and_claim(page, live_server, general, "drain_09_general")
    click_through(page, page.locator(f'{MAIN} a[href$="/{general}/nachfordern"]'))
    assert_clean(page, "drain_10_request")
    page.fill('[name="subject"]', "Bitte Geburtsurkunde Ihres Sohnes")
    page.fill('[name="body"]', "Für die Beistandschaft brauchen wir die Geburtsurkunde.")
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert page.url.endswith("/intern/clearing/"), page.url
    assert_clean(page, "drain_11_requested")

    # 4. The spam: rejected with a reason.
    open_and_claim(page, live_server, spam, "drain_12_spam", documents=False)
    click_through(page, page.locator(f'{MAIN} a[href$="/{spam}/ablehnen"]'))
    assert_clean(page, "drain_13_reject")
    page.check(f'input[name="reason"][value="{RejectionReason.SPAM.value}"]')
    page.fill('[name="text"]', "Werbung eines Gewinnspiels")
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert_clean(page, "drain_14_rejected")

    # 5. The paper letter: attached to Maria's new case by its Aktenzeichen.
    open_and_claim(page, live_server, paper, "drain_15_paper")
    click_through(page, page.locator(f'{MAIN} a[href$="/{paper}/weiterleiten"]'))
    page.fill('[name="aktenzeichen"]', aktenzeichen)
    assert_clean(page, "drain_16_route_paper")
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]'))
    assert_clean(page, "drain_17_paper_routed")
    expect(page.locator(MAIN)).to_contain_text(aktenzeichen)

    # The queue is drained but for the item waiting for the citizen.
    page.goto(live_server + "/intern/clearing/")
    assert_clean(page, "drain_18_queue_drained")

    # The lead's view of the day.
    lead_context = browser.new_context(locale="de-DE")
    try:
        lead_page = lead_context.new_page()
        lead_page.watch = PageWatch(lead_page, live_server)  # type: ignore[attr-defined]
        staff_sign_in(lead_page, live_server, lead, "drain_19_lead_login")
        lead_page.goto(live_server + "/intern/clearing/uebersicht")
        assert_clean(lead_page, "drain_20_lead_overview")
    finally:
        lead_context.close()

    with app.app_context():
        items = {item.id: item for item in db.session.scalars(select(Eingang))}
        assert set(items) == {neuantrag, nachreichung, general, spam, paper}
        statuses = {ident: item.status for ident, item in items.items()}
        assert statuses == {
            neuantrag: EingangStatus.ROUTED, nachreichung: EingangStatus.ROUTED,
            general: EingangStatus.WAITING_FOR_CITIZEN, spam: EingangStatus.REJECTED,
            paper: EingangStatus.ROUTED}
        assert not [i for i in items.values()
                    if i.status in (EingangStatus.NEW, EingangStatus.IN_TRIAGE)]
        # Routed items share Maria's one case; the spam has its documented reason.
        assert {items[i].fall_id for i in (neuantrag, nachreichung, paper)} == {fall.id}
        assert items[spam].rejection_reason is RejectionReason.SPAM
        assert items[spam].rejection_text == "Werbung eines Gewinnspiels"
        assert all(i.claimed_by_id is None for i in items.values())

        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "eingang")).all()
        actions: dict[int, list[str]] = {}
        for entry in entries:
            actions.setdefault(int(entry.object_id or 0), []).append(entry.action)
        clerk_actions = {int(e.object_id or 0): e.action for e in entries
                         if e.actor_id == clerk.id}
        assert clerk_actions  # the clerk's own entries carry the clerk
        for ident in (neuantrag, general, spam, paper):
            assert "eingang.claimed" in actions[ident], (ident, actions[ident])
        assert "eingang.routed" in actions[neuantrag]
        assert "eingang.routed_automatically" in actions[nachreichung]
        assert "eingang.citizen_asked" in actions[general]
        assert "eingang.rejected" in actions[spam]
        assert "eingang.paper_received" in actions[paper]
        assert "eingang.routed" in actions[paper]

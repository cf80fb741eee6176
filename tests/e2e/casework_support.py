"""Helpers for the casework journey: a routed UVG case in the database, signing in, reading PDFs.

The case is set up the way the office gets it: the citizen submits in the portal (with a birth
certificate attached), a clerk claims the item in clearing and routes it to a new UVG case, and
the case is assigned to a caseworker. Only the browser part of the journey is left to the test.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask import Flask
from playwright.sync_api import Page
from pypdf import PdfReader

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.sessions import citizen_actor
from amtsweg.staff.models import Staff
from backoffice.models import Fall
from backoffice.services import assign_case
from clearing.models import EingangKind
from clearing.triage import RouteTarget, claim, route
from portal.services import AttachedDocument, Party, submit
from storage.services import store_upload
from tests.conftest import PASSWORD
from tests.e2e.conftest import assert_clean, click_through, pdf_file

MAIN = "main"
APPLICANT = Party("applicant", "Sabine", "Müller", "1990-07-01", "Hauptstraße 1\n97437 Haßfurt")
CHILD = Party("child", "Lea", "Müller", "2018-03-14")
CERTIFICATE = "Geburtsurkunde Lea Müller"


@dataclass(frozen=True)
class RoutedCase:
    fall_id: int
    aktenzeichen: str
    submission_title: str


def routed_uvg_case(app: Flask, citizen: Citizen, clerk: Staff, caseworker: Staff) -> RoutedCase:
    """The citizen's UVG application, submitted with a document, routed by ``clerk`` into a new
    UVG case that is then assigned to ``caseworker``."""
    with app.app_context():
        citizen = db.session.merge(citizen)
        document = store_upload(io.BytesIO(pdf_file(CERTIFICATE)), "Geburtsurkunde-Lea.pdf",
                                citizen_actor(citizen))
        title = "Antrag auf Unterhaltsvorschuss"
        submission = submit(
            citizen=citizen, kind=EingangKind.NEUANTRAG, title=title,
            idempotency_key="e2e-casework-0001", sender_name="Sabine Müller",
            service_code="uvg", parties=[CHILD, APPLICANT],
            documents=[AttachedDocument(document, "geburtsurkunde", "Geburtsurkunde")])
        eingang_id = submission.eingang.id
        staff = db.session.merge(clerk)
        claimed = claim(eingang_id, staff)
        uvg = fachbereich_by_code("uvg")
        assert uvg is not None
        routed = route(eingang_id, claimed.version, RouteTarget(uvg.id), staff)
        db.session.commit()
        fall = db.session.get_one(Fall, routed.fall_id)
        assign_case(fall, db.session.get_one(Staff, caseworker.id), SYSTEM)
        db.session.commit()
        return RoutedCase(fall.id, fall.aktenzeichen, title)


def staff_sign_in(page: Page, base: str, username: str, shot: str) -> None:
    """Sign in through /intern/anmelden, as a member of staff does in the morning."""
    page.goto(base + "/intern/anmelden")
    assert_clean(page, shot)
    page.fill('[name="username"]', username)
    page.fill('[name="password"]', PASSWORD)
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]').first)
    assert "/intern/anmelden" not in page.url, page.url
    assert_clean(page, f"{shot}_signed_in")


def citizen_sign_in(page: Page, base: str, email: str, shot: str) -> None:
    page.goto(base + "/konto/anmelden")
    assert_clean(page, shot)
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', PASSWORD)
    click_through(page, page.locator(f'{MAIN} form button[type="submit"]').first)
    assert "/konto/anmelden" not in page.url, page.url
    assert_clean(page, f"{shot}_signed_in")


def sign_out(page: Page) -> None:
    """A fresh start for the next person: drop the context's cookies."""
    page.context.clear_cookies()


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF"), data[:20]
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)

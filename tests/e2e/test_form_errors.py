"""Every citizen form in its error state (issue 9, part 2), in Chromium.

Each form is sent empty, and where a person can type something wrong, with wrong values. The
page must say so the way a screen reader user needs it: the title starts with "Fehler:", the
error summary is shown and has the focus (so it is read out first), every error in it links
to its field and following the link puts the focus into that field, and the page in that
state passes axe-core's WCAG 2.1 AA rules without a CSP error or a foreign request. Every page
is 320 CSS pixels wide, a small phone's width: nothing in the error state (an error beside its
question, a long word) may make it scroll sideways (WCAG 1.4.10).

The forms and their pages come from the portal's routes; the table below names each one.
The data behind the pages (a draft, a submission, a message from the office) is set up the
quick way, through the same services and HTTP posts the portal uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.tokens import Purpose, make_token
from amtsweg.extensions import db
from clearing.models import Eingang, EingangKind
from clearing.services import request_from_citizen
from portal.models import Draft, Submission
from portal.services import Party, submit
from tests.conftest import PASSWORD, sign_in_citizen
from tests.e2e.conftest import assert_clean, click_through, fill_form
from tests.e2e.test_citizen_journey import CONTINUE, UPLOAD
from tests.portal.uvg.conftest import (
    BASE,
    DECLARATIONS,
    Wizard,
    child_answers,
    fill_all,
)

pytestmark = pytest.mark.e2e

EMAIL = "fehler@example.org"
SUBMIT = "main form[method=post] button[type=submit]"
TYPED = ("main form input[type=text], main form input[type=email], "
         "main form input[type=password], main form textarea")
NOT_A_PDF = ("brief.pdf", b"Dies ist kein PDF, nur Text mit falscher Endung.\n" * 20)


@dataclass(frozen=True)
class FormCase:
    """One form: where it is, how it is sent, and what a person may get wrong on it.

    ``empty`` and ``wrong_fields`` name the fields the summary must link to after sending the
    form empty and with the ``wrong`` values (and ``files``); ``None``: the errors are about
    the whole form, not one field, and stand in the summary as text.
    """

    name: str
    path: str
    empty: Sequence[str] | None = ()
    wrong: dict[str, str] = field(default_factory=dict)
    wrong_fields: Sequence[str] | None = ()
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    submit: str = SUBMIT
    send_empty: bool = True


def error_state(page: Page, shot: str, fields: Sequence[str] | None) -> None:
    """The page shows its errors as it must (see the module docstring)."""
    expect(page).to_have_title(re.compile(r"^Fehler: "))
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    assert page.evaluate(
        "() => document.getElementById('error-summary').contains(document.activeElement)"), \
        (shot, page.evaluate("document.activeElement.outerHTML.slice(0, 200)"))
    assert_clean(page, shot)
    hrefs = [link.get_attribute("href") or "" for link in summary.locator("a").all()]
    if fields is None:
        assert summary.locator("li").count() > 0, shot
    else:
        assert sorted(href.removeprefix("#") for href in hrefs) == sorted(fields), (shot, hrefs)
    # Each link followed as a click does it (the page's own handler, else the browser's
    # default): the focus must land in the field the error is about.
    missed = page.evaluate("""() => Array.from(
        document.querySelectorAll('#error-summary a')).filter(link => {
            link.click();
            const target = document.getElementById(link.getAttribute('href').slice(1));
            return !(target && (target === document.activeElement
                                || target.contains(document.activeElement)));
        }).map(link => link.getAttribute('href'))""")
    assert missed == [], (shot, missed)


def send_and_check(page: Page, base: str, case: FormCase, tmp_path: Path) -> None:
    page.goto(base + case.path)
    if case.send_empty:
        for box in page.locator(TYPED).all():  # what the page filled in for the citizen
            box.fill("")
        click_through(page, case.submit)
        error_state(page, f"form-errors-{case.name}-empty", case.empty)
    if case.wrong or case.files:
        fill_form(page, case.wrong)
        for name, (filename, content) in case.files.items():
            path = tmp_path / filename
            path.write_bytes(content)
            page.set_input_files(f'input[name="{name}"]', str(path))
        click_through(page, case.submit)
        error_state(page, f"form-errors-{case.name}-wrong", case.wrong_fields)


# --- the account forms, before signing in ---------------------------------------------------


def test_the_account_forms_show_their_errors_accessibly(
        app: Flask, narrow_page: Page, live_server: str, tmp_path: Path,
        create_citizen: Callable[..., Citizen]) -> None:
    page = narrow_page
    citizen = create_citizen(EMAIL)
    with app.test_request_context():
        reset = make_token(citizen, Purpose.RESET_PASSWORD)
    cases = [
        FormCase("register", "/konto/registrieren",
                 empty=["email", "password", "password_repeat", "privacy_consent"],
                 wrong={"email": "kein-at-zeichen", "password": "kurz",
                        "password_repeat": "anders", "privacy_consent": "y"},
                 wrong_fields=["email", "password", "password_repeat"]),
        # Arrived through the skip link: the fragment must not take the focus from the summary.
        FormCase("login", "/konto/anmelden#main", empty=["email", "password"],
                 wrong={"email": EMAIL, "password": "falsches-Passwort-123"},
                 wrong_fields=None),
        FormCase("resend-verification", "/konto/bestaetigung-erneut", empty=["email"],
                 wrong={"email": "name@@example.org"}, wrong_fields=["email"]),
        FormCase("forgot-password", "/konto/passwort-vergessen", empty=["email"],
                 wrong={"email": "name@example"}, wrong_fields=["email"]),
        FormCase("reset-password", f"/konto/passwort-neu/{reset}",
                 empty=["password", "password_repeat"],
                 wrong={"password": PASSWORD, "password_repeat": PASSWORD + "x"},
                 wrong_fields=["password_repeat"]),
    ]
    for case in cases:
        send_and_check(page, live_server, case, tmp_path)


# --- the signed-in citizen: account, application, follow-ups ---------------------------------


@dataclass(frozen=True)
class Papers:
    """What the signed-in citizen has: two drafts, a submission, a message from the office."""

    complete_draft: str  # every question answered, no document: the check page refuses
    open_draft: str  # a 16-year-old and a second child left half-done; nothing else answered
    submission: str
    message: str


def papers(app: Flask, citizen: Citizen) -> Papers:
    client = app.test_client()
    sign_in_citizen(client, citizen)
    with app.app_context():
        complete = Wizard(client, citizen)
        complete.start(child_answers("Lea", 7))
        fill_all(complete)
        assert complete.page("unterlagen", {}).status_code == 302
        assert complete.page("erklaerungen", DECLARATIONS).status_code == 302
        half = Wizard(client, citizen, csrf=complete.csrf)
        half.start(child_answers("Tim", 16))
        response = half.post(half.url("kind/neu"), {"first_name": "Halb"}, action="save_later")
        assert response.status_code == 302, response.get_data(as_text=True)

        owner = db.session.merge(citizen)
        sent = submit(citizen=owner, kind=EingangKind.NEUANTRAG,
                      title="Antrag auf Unterhaltsvorschuss", idempotency_key="form-errors-01",
                      sender_name="Maria Muster", service_code="uvg",
                      parties=[Party("child", "Lea", "Muster", "2019-03-14")], documents=[])
        eingang = db.session.get_one(Eingang, sent.eingang.id)
        message = request_from_citizen(eingang, "Bitte Kontoauszug nachreichen",
                                       "Bitte senden Sie uns einen Kontoauszug.", SYSTEM)
        db.session.commit()
        submission = db.session.scalar(select(Submission).where(
            Submission.reference == sent.reference))
        assert submission is not None
        return Papers(complete.public_id, half.public_id, submission.public_id,
                      message.public_id)


def signed_in_cases(found: Papers) -> list[FormCase]:
    complete, half = f"{BASE}/{found.complete_draft}", f"{BASE}/{found.open_draft}"
    follow_up = f"/konto/antraege/{found.submission}"
    bad_file = {"attachments": NOT_A_PDF}
    return [
        # The account.
        FormCase("change-password", "/konto/passwort-aendern",
                 empty=["current_password", "password", "password_repeat"],
                 wrong={"current_password": "nicht-das-Passwort", "password": PASSWORD + "neu",
                        "password_repeat": PASSWORD + "neu"},
                 wrong_fields=["current_password"]),
        FormCase("change-email", "/konto/e-mail-aendern", empty=["email", "current_password"],
                 wrong={"email": EMAIL, "current_password": PASSWORD}, wrong_fields=["email"]),
        FormCase("delete-account", "/konto/loeschen", empty=["current_password", "confirm"],
                 wrong={"current_password": "nicht-das-Passwort", "confirm": "y"},
                 wrong_fields=["current_password"]),
        # The UVG application, page by page.
        FormCase("uvg-child", f"{BASE}/neu", submit=CONTINUE,
                 empty=["first_name", "last_name", "birth_date", "nationality",
                        "living_since"],
                 wrong={"first_name": "Lea", "last_name": "Muster", "birth_date": "31.02.2019",
                        "nationality": "other", "living_since": "01.13.2019"},
                 wrong_fields=["birth_date", "nationality_country", "residence_title",
                               "living_since"]),
        FormCase("uvg-children", f"{half}/kinder", submit=CONTINUE, empty=None),
        FormCase("uvg-applicant", f"{half}/antragsteller", submit=CONTINUE,
                 empty=["first_name", "last_name", "birth_date", "street", "postcode", "city",
                        "email", "marital_status", "lives_with_other_parent"],
                 wrong={"first_name": "Maria", "last_name": "Muster", "birth_date": "04.11.2090",
                        "street": "Domplatz 1", "postcode": "930", "city": "Regensburg",
                        "phone": "null-neun-vier-eins", "email": "maria(at)example.org",
                        "marital_status": "divorced", "lives_with_other_parent": "no"},
                 wrong_fields=["birth_date", "postcode", "phone", "email", "marital_since"]),
        FormCase("uvg-other-parent", f"{half}/anderer-elternteil", submit=CONTINUE,
                 empty=["first_name", "last_name", "address_known", "maintenance_paid"],
                 wrong={"first_name": "Tom", "last_name": "Vater", "address_known": "yes",
                        "maintenance_paid": "regular", "maintenance_amount": "viel"},
                 wrong_fields=["street", "postcode", "city", "maintenance_amount",
                               "maintenance_since"]),
        FormCase("uvg-orphan-benefits", f"{half}/waisenbezuege", submit=CONTINUE,
                 empty=["receives"], wrong={"receives": "yes", "amount": "-5"},
                 wrong_fields=["kind", "amount"]),
        FormCase("uvg-buergergeld", f"{half}/buergergeld/k1", submit=CONTINUE,
                 empty=["child_sgb2", "parent_income_600"]),
        FormCase("uvg-school", f"{half}/schule-und-einkommen/k1", submit=CONTINUE,
                 empty=["attends_school"],
                 wrong={"attends_school": "no", "earnings": "zwölf"},
                 wrong_fields=["earnings"]),
        FormCase("uvg-earlier", f"{half}/frueherer-unterhaltsvorschuss", submit=CONTINUE,
                 empty=["received_before"], wrong={"received_before": "yes"},
                 wrong_fields=["earlier_from", "earlier_office"]),
        FormCase("uvg-bank", f"{half}/bankverbindung", submit=CONTINUE,
                 empty=["account_holder", "iban"],
                 wrong={"account_holder": "Maria Muster", "iban": "DE00 1234 5678 9012 3456 78"},
                 wrong_fields=["iban"]),
        FormCase("uvg-declarations", f"{half}/erklaerungen", submit=CONTINUE,
                 empty=["report_changes", "repayment", "truthful", "consent"]),
        FormCase("uvg-documents", f"{complete}/unterlagen", submit=UPLOAD, send_empty=False,
                 files={"file_birth_certificate__k1": NOT_A_PDF},
                 wrong_fields=["file_birth_certificate__k1"]),
        FormCase("uvg-check-answers", f"{complete}/pruefen", empty=None,
                 submit='main form[action$="/absenden"] button[type=submit]'),
        # The general request, the office's message, and the follow-ups of a submission.
        FormCase("general-request", "/anfrage", empty=["topic", "subject", "message"],
                 wrong={"topic": "unknown", "subject": "Frage", "message": "Eine Frage.",
                        "phone": "ruf mich an"},
                 wrong_fields=["phone"]),
        FormCase("postbox-reply", f"/konto/postfach/{found.message}", empty=["message"],
                 files=bad_file, wrong_fields=["attachments"]),
        FormCase("nachreichen", f"{follow_up}/nachreichen", empty=["attachments"],
                 files=bad_file, wrong_fields=["attachments"]),
        FormCase("nachricht", f"{follow_up}/nachricht", empty=["message"],
                 wrong={"message": "Noch eine Frage."}, files=bad_file,
                 wrong_fields=["attachments"]),
        FormCase("veraenderung", f"{follow_up}/veraenderung",
                 empty=["what_changed", "since", "description"],
                 wrong={"what_changed": "umzug", "since": "31.02.2026",
                        "description": "Wir sind umgezogen."},
                 wrong_fields=["since"]),
        FormCase("widerspruch", f"{follow_up}/widerspruch", empty=["decision", "reason"],
                 wrong={"decision": "Bescheid vom 01.03.2026", "reason": "Zu wenig."},
                 files=bad_file, wrong_fields=["attachments"]),
    ]


def test_the_citizens_forms_show_their_errors_accessibly(
        app: Flask, narrow_page: Page, live_server: str, tmp_path: Path,
        create_citizen: Callable[..., Citizen]) -> None:
    page = narrow_page
    citizen = create_citizen(EMAIL)
    found = papers(app, citizen)
    page.goto(live_server + "/konto/anmelden")
    fill_form(page, {"email": EMAIL, "password": PASSWORD})
    click_through(page, SUBMIT)
    assert "/konto/anmelden" not in page.url
    for case in signed_in_cases(found):
        send_and_check(page, live_server, case, tmp_path)
    # Nothing refused was kept: no new submission or draft, no answer on the open draft, the
    # account as it was.
    with app.app_context():
        assert db.session.scalar(select(Submission.id).where(
            Submission.public_id != found.submission)) is None
        drafts = {draft.public_id: draft for draft in db.session.scalars(select(Draft))}
        assert set(drafts) == {found.complete_draft, found.open_draft}
        answered = set(drafts[found.open_draft].answers)
        assert not answered & {"applicant", "other_parent", "orphan", "earlier", "bank",
                               "declarations"}, answered
        assert db.session.get_one(Citizen, citizen.id).email == EMAIL

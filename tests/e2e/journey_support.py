"""The people of the full office journey (issue 9, part 1), each doing their part through the
pages they really use; the few steps an operator runs as a command go through the command.

Every page passed is checked with ``assert_clean`` under a numbered name (``journey-07-…``),
so the screenshots in test-artifacts/ read as the journey in order.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import click
from click.testing import Result
from flask import Flask
from playwright.sync_api import Locator, Page, expect

from backoffice.uvg.amounts import amount_row_for
from tests.amtsweg.mail.support import SmtpServer, link_in, path_of
from tests.conftest import PASSWORD
from tests.e2e.conftest import assert_clean, click_through, fill_form, pdf_file
from tests.e2e.test_citizen_journey import CONTINUE, SAVE_LATER, UPLOAD
from tests.portal.uvg.conftest import APPLICANT, BANK, EARLIER, OTHER_PARENT, child_answers
from tests.storage.conftest import image_bytes

MAIN = "main"
SUBMIT = f"{MAIN} form button[type=submit]"
SIGN_OUT = 'header form[action$="/abmelden"] button'
CHILD_FIELDS = ("first_name", "last_name", "birth_date", "nationality", "living_since")
# The other parent pays 120,50 EUR now and then for both children together
# (tests.portal.uvg.conftest.OTHER_PARENT): irregular maintenance does not bar UVG (§ 1 Abs. 1
# Nr. 3 UVG), but each child's share is deducted from that child's claim (§ 2 Abs. 3 Nr. 1 UVG).
# The take-over leaves the total to the caseworker, who enters half for each child.
MAINTENANCE_CENTS = 12_050
CHILDREN = (("Lea", 7), ("Ben", 9))  # both in the age band 6–11 for the months paid
MAINTENANCE_SHARE_CENTS = MAINTENANCE_CENTS // len(CHILDREN)


def euro(cents: int) -> str:
    """German money as the pages print it (1.234,56 €), spaces folded."""
    return f"{cents / 100:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") + " €"


def folded(text: str) -> str:
    """Text with every run of white space (no-break spaces too) as one space."""
    return " ".join(text.replace("\xa0", " ").split())


def uvg_month_cents(month: date) -> int:
    """What one child of 6 to 11 gets for ``month``: the table amount less its share of the
    maintenance, rounded up to whole euros (§ 9 Abs. 3 UVG)."""
    table = amount_row_for(month).cents_for("6-11")
    return math.ceil((table - MAINTENANCE_SHARE_CENTS) / 100) * 100


@dataclass
class Journey:
    """One browser tab that different people use in turn, and the screenshot counter."""

    page: Page
    base: str
    files: Path
    step: int = 0

    @property
    def main(self) -> Locator:
        return self.page.locator(MAIN)

    def check(self, name: str) -> None:
        self.step += 1
        shot = f"journey-{self.step:02d}-{name}"
        assert_clean(self.page, shot)

    def goto(self, path: str, name: str) -> None:
        self.page.goto(self.base + path)
        self.check(name)

    def click(self, target: str | Locator, name: str) -> None:
        click_through(self.page, target)
        self.check(name)

    def file(self, name: str, content: bytes) -> str:
        path = self.files / name
        path.write_bytes(content)
        return str(path)

    def download(self, link: Locator, name: str) -> bytes:
        with self.page.expect_download() as info:
            link.click()
        target = self.files / name
        info.value.save_as(target)
        return target.read_bytes()

    def sign_out(self) -> None:
        """The header's button; the browser lands on the sign-in page of that side."""
        self.click(self.page.locator(SIGN_OUT).first, "signed-out")

    def staff_sign_in(self, username: str) -> None:
        if not self.page.url.endswith("/intern/anmelden"):
            self.goto("/intern/anmelden", f"{username}-login")
        self.page.fill('[name="username"]', username)
        self.page.fill('[name="password"]', PASSWORD)
        self.click(self.page.locator(SUBMIT).first, f"{username}-signed-in")
        assert "/intern/anmelden" not in self.page.url, self.page.url

    def citizen_sign_in(self, email: str, name: str) -> None:
        """Sign in on the page the browser is on (after signing out it is the login page)."""
        if "/konto/anmelden" not in self.page.url:
            self.goto("/konto/anmelden", f"{name}-login")
        self.page.fill('[name="email"]', email)
        self.page.fill('[name="password"]', PASSWORD)
        self.click(self.page.locator(SUBMIT).first, f"{name}-signed-in")
        assert "/konto/anmelden" not in self.page.url, self.page.url


def command(app: Flask, group: click.Group, *args: str) -> Result:
    """An operator's command (cron in the office), run in-process as ``amtsweg …``."""
    result = app.test_cli_runner().invoke(group, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result


# --- the citizen -------------------------------------------------------------------------------


def mails_to(smtp: SmtpServer, address: str, count: int) -> list[EmailMessage]:
    """The mails to ``address`` on the SMTP server once ``count`` have arrived (each is sent
    right after the commit of the request that queued it)."""
    deadline = time.monotonic() + 5
    while True:
        found = [r.message for r in smtp.received if address in r.recipients]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, [m["Subject"] for m in found]
            return found
        time.sleep(0.05)


def register_and_confirm(journey: Journey, smtp: SmtpServer, email: str) -> None:
    page = journey.page
    journey.goto("/", "home")
    journey.click(journey.main.locator('a[href="/konto/registrieren"]'), "register")
    fill_form(page, {"email": email, "password": PASSWORD, "password_repeat": PASSWORD,
                     "privacy_consent": "y"})
    journey.click(SUBMIT, "register-mail-sent")
    expect(journey.main).to_contain_text(email)

    link = link_in(mails_to(smtp, email, 1)[0])
    assert "/konto/bestaetigen/" in link, link
    journey.goto(path_of(link), "confirm-email")
    journey.click(SUBMIT, "email-confirmed")
    assert page.url.endswith("/konto/anmelden"), page.url
    expect(journey.main).to_contain_text("bestätigt")
    journey.citizen_sign_in(email, "citizen")


def _child(first_name: str, age: int) -> dict[str, str]:
    answers = child_answers(first_name, age)
    return {key: answers[key] for key in CHILD_FIELDS}


def apply_for_two_children(journey: Journey) -> None:
    """From the catalogue to the other parent's page, then "Speichern und später fortsetzen"."""
    page = journey.page
    journey.click(journey.page.locator('header a[href="/konto/antraege"]').first,
                  "my-applications-empty")
    journey.click(journey.main.locator('a[href="/leistungen"]'), "catalogue")
    journey.click(journey.main.get_by_role("link", name="Unterhaltsvorschuss", exact=True),
                  "uvg-service")
    journey.click(f"{MAIN} a.kern-btn--primary", "uvg-start")
    journey.click(f"{MAIN} a.kern-btn--primary", "child-1")
    (first, first_age), (second, second_age) = CHILDREN
    fill_form(page, _child(first, first_age))
    journey.click(CONTINUE, "children-one")
    journey.click(journey.main.get_by_role("link", name="Weiteres Kind hinzufügen"), "child-2")
    fill_form(page, _child(second, second_age))
    journey.click(CONTINUE, "children-two")
    expect(journey.main).to_contain_text(f"{first} Muster")
    expect(journey.main).to_contain_text(f"{second} Muster")
    journey.click(CONTINUE, "applicant")
    fill_form(page, APPLICANT)
    journey.click(CONTINUE, "other-parent")
    fill_form(page, OTHER_PARENT)
    journey.click(SAVE_LATER, "saved-for-later")
    assert page.url.endswith("/konto/antraege"), page.url
    expect(journey.main).to_contain_text("gespeichert")


def resume_and_submit(journey: Journey) -> tuple[str, bytes]:
    """Back from "Meine Anträge" to the open page, to the end; the receipt PDF is returned."""
    page = journey.page
    journey.click(journey.page.locator('header a[href="/konto/antraege"]').first,
                  "my-applications")
    journey.click(journey.main.locator('a[href*="/antrag/unterhaltsvorschuss/"]').first,
                  "resumed-orphan-benefits")
    assert page.url.endswith("/waisenbezuege"), page.url  # the other parent's page was done
    fill_form(page, {"receives": "no"})
    journey.click(CONTINUE, "earlier-uvg")
    fill_form(page, EARLIER)
    journey.click(CONTINUE, "other-benefits")
    journey.click(CONTINUE, "bank")  # none of the other benefits
    fill_form(page, BANK)
    journey.click(CONTINUE, "documents")

    # Real files through the file inputs: the birth certificates as PDFs, the
    # Meldebescheinigung as a photo (PNG), whatever else is asked for as a PDF.
    inputs = journey.main.locator('input[type="file"]')
    names = [inputs.nth(i).get_attribute("name") or "" for i in range(inputs.count())]
    assert {"file_birth_certificate__k1", "file_birth_certificate__k2",
            "file_meldebescheinigung"} <= set(names), names
    for name in names:
        if name == "file_meldebescheinigung":
            path = journey.file("meldebescheinigung.png", image_bytes("PNG"))
        else:
            path = journey.file(f"{name[5:]}.pdf", pdf_file(f"Nachweis {name[5:]}"))
        page.set_input_files(f'input[name="{name}"]', path)
    journey.click(UPLOAD, "documents-uploaded")
    expect(journey.main).to_contain_text("meldebescheinigung.png")
    expect(journey.main).to_contain_text("birth_certificate__k2.pdf")
    journey.click(CONTINUE, "declarations")
    for box in ("report_changes", "repayment", "truthful", "consent"):
        page.check(f'input[name="{box}"]')
    journey.click(CONTINUE, "check-answers")
    assert page.url.endswith("/pruefen"), page.url
    journey.click(journey.main.locator('form[action$="/absenden"] button[type="submit"]'),
                  "submitted")
    text = journey.main.inner_text()
    match = re.search(r"AW-\d{4}-\d{7}-\d", text)
    assert match, text
    receipt = journey.download(
        journey.main.locator('a[href$="eingangsbestaetigung.pdf"]'), "eingangsbestaetigung.pdf")
    return match.group(0), receipt


def read_bescheid(journey: Journey, email: str, subject_part: str) -> bytes:
    """The citizen finds the Bescheid unread in the postbox, opens it and downloads the PDF."""
    journey.citizen_sign_in(email, "citizen-again")
    journey.click(journey.page.locator('header a[href="/konto/postfach"]').first, "postbox")
    item = journey.page.locator(".postbox-item", has_text=subject_part)
    expect(item).to_have_count(1)
    expect(item).to_have_class(re.compile("postbox-item--unread"))
    journey.click(item.get_by_role("link"), "bescheid-message")
    return journey.download(journey.main.get_by_role("link", name=re.compile("PDF")),
                            "bescheid.pdf")


# --- the office --------------------------------------------------------------------------------


def clerk_routes_to_caseworker(journey: Journey, eingang_id: int, reference: str,
                               caseworker_id: int) -> None:
    """The clerk claims the application and routes it to a new UVG case for the caseworker."""
    journey.click(journey.page.locator('header a[href="/intern/clearing/"]').first, "queue")
    journey.click(journey.main.locator(f'a[href="/intern/clearing/{eingang_id}"]'),
                  "queue-item")
    journey.click(journey.main.locator('form[action$="/uebernehmen"] button'), "claimed")
    expect(journey.main).to_contain_text(reference)
    journey.click(journey.main.locator('a[href$="/weiterleiten"]'), "route")
    selected = journey.page.locator('[name="fachbereich"] option:checked').inner_text()
    assert "Unterhaltsvorschuss" in selected  # the routing rule's proposal
    journey.page.select_option('[name="caseworker"]', str(caseworker_id))
    journey.click(SUBMIT, "routed")


def caseworker_decides(journey: Journey, fall_id: int, child_names: list[str],
                       month_cents: int) -> None:
    """Meine Fälle, the case, the UVG page: take over, confirm, check, calculate, grant;
    ``month_cents`` is what each child gets for the current month."""
    page = journey.page
    journey.click(page.locator('header a[href="/intern/faelle/"]').first, "my-cases")
    journey.click(journey.main.locator(f'a[href$="/intern/faelle/{fall_id}"]').first, "case")
    journey.click(journey.main.locator(f'a[href$="/intern/uvg/faelle/{fall_id}"]').first,
                  "uvg-page")
    journey.click(journey.main.locator('form[action$="/kinder-uebernehmen"] button'),
                  "children-taken-over")
    # The application named the maintenance for both children together: taken over for none.
    expect(journey.main.locator(".kern-alert--warning")).to_contain_text(
        f"Unterhalt von {euro(MAINTENANCE_CENTS)}")
    for number in range(1, len(child_names) + 1):
        journey.click(journey.main.locator('a[href$="/angaben"]').nth(number - 1),
                      f"facts-{number}")
        page.fill('[name="maintenance"]', euro(MAINTENANCE_SHARE_CENTS).removesuffix(" €"))
        journey.click(SUBMIT, f"facts-{number}-confirmed")
    # One condition checked by hand: the paternity is proven by the birth certificate.
    section = journey.main.locator("section", has_text=child_names[0]).first
    row = section.locator('tr[data-condition="cooperation"]')
    journey.click(row.get_by_role("link"), "finding")
    page.select_option('[name="state"]', "met")
    page.fill('[name="note"]', "Vaterschaft durch die Geburtsurkunde belegt.")
    journey.click(SUBMIT, "finding-recorded")
    expect(journey.main.locator('tr[data-condition="cooperation"]').first).to_contain_text(
        "Vaterschaft durch die Geburtsurkunde belegt.")
    for number in range(1, len(child_names) + 1):
        form = journey.main.locator('form[action$="/berechnen"]').nth(number - 1)
        journey.click(form.locator("button[type=submit]"), f"calculation-{number}")
        assert euro(month_cents) in folded(journey.main.inner_text())
        journey.click(journey.page.get_by_role("link", name="Zurück zum Unterhaltsvorschuss"),
                      f"uvg-page-calculated-{number}")
    assert journey.main.locator('[data-overall="met"]').count() == len(child_names)
    page.select_option('[name="kind"]', "bewilligung")
    journey.click(journey.main.locator('form[action$="/entscheidung"] button'),
                  "bescheid-draft")
    journey.click(journey.main.get_by_role("button", name="Bescheid erlassen"),
                  "bescheid-issued")


def approve_all(journey: Journey, username: str, queue: str, total_cents: int) -> None:
    """Feststellung or Anordnung of every order waiting, after the confirmation page that
    shows their total."""
    journey.staff_sign_in(username)
    journey.goto(f"/intern/kasse/{queue}", f"{queue}-queue")
    journey.click(journey.main.locator('button[name="all"]'), f"{queue}-confirm")
    assert euro(total_cents) in folded(journey.main.inner_text())
    journey.click(SUBMIT, f"{queue}-done")
    journey.sign_out()

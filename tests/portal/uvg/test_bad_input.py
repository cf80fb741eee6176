"""Wrong, empty, oversized and hostile answers: a clear German message, input kept, nothing lost."""

from __future__ import annotations

import html
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from amtsweg.extensions import db
from portal.models import Draft
from tests.portal.uvg.conftest import (
    APPLICANT,
    BANK,
    OTHER_PARENT,
    Wizard,
    child_answers,
    fill_all,
    german,
    years_ago,
)


def _errors_shown(response: TestResponse, *messages: str) -> str:
    page: str = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Fehler:" in page
    assert 'id="error-summary"' in page
    for message in messages:
        assert html.escape(message, quote=True) in page or message in page, message
    return page


@pytest.mark.usefixtures("app")
def test_an_empty_child_page_names_every_missing_answer(wizard: Wizard) -> None:
    response = wizard.post("/antrag/unterhaltsvorschuss/neu", {})
    _errors_shown(response, "Geben Sie den Vornamen des Kindes ein.",
                  "Geben Sie das Geburtsdatum des Kindes ein.",
                  "Wählen Sie die Staatsangehörigkeit des Kindes.",
                  "Geben Sie ein, seit wann das Kind bei Ihnen lebt.")


@pytest.mark.parametrize(("birth_date", "message"), [
    ("31.02.2019", "Den 31.02.2019 gibt es nicht. Bitte prüfen Sie Tag und Monat."),
    ("2019-13-01", "Den 2019-13-01 gibt es nicht."),
    ("01.01.2999", "Das Datum darf nicht in der Zukunft liegen."),
    ("31.12.1899", "Geben Sie ein Datum ab dem 01.01.1900 ein."),
    ("gestern", "Geben Sie das Datum als TT.MM.JJJJ ein"),
    ("<script>alert(1)</script>", "Geben Sie das Datum als TT.MM.JJJJ ein"),
])
def test_impossible_dates_are_refused_and_kept(app: Flask, wizard: Wizard, birth_date: str,
                                               message: str) -> None:
    response = wizard.post("/antrag/unterhaltsvorschuss/neu",
                           child_answers(birth_date=birth_date))
    page = _errors_shown(response, message)
    assert f'value="{html.escape(birth_date)}"' in page  # what was typed stays in the field
    assert "<script>alert(1)</script>" not in page
    assert 'value="Lea"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Draft.id))) == 0


@pytest.mark.usefixtures("app")
def test_living_with_you_before_birth_is_refused(wizard: Wizard) -> None:
    answers = child_answers(living_since=german(years_ago(10)))
    response = wizard.post("/antrag/unterhaltsvorschuss/neu", answers)
    _errors_shown(response, "Das Datum kann nicht vor der Geburt des Kindes liegen.")


@pytest.mark.usefixtures("app")
def test_a_child_from_outside_the_eu_needs_a_residence_title(wizard: Wizard) -> None:
    response = wizard.post("/antrag/unterhaltsvorschuss/neu", child_answers(nationality="other"))
    _errors_shown(response, "Geben Sie die Staatsangehörigkeit des Kindes ein.",
                  "Geben Sie den Aufenthaltstitel des Kindes ein.")
    wizard.start(child_answers(nationality="other", nationality_country="Syrien",
                               residence_title="Aufenthaltserlaubnis"))
    page = wizard.client.get(wizard.url("unterlagen")).get_data(as_text=True)
    assert "Aufenthaltstitel von Lea Muster" in page


def test_a_child_of_18_is_explained_but_never_blocks(app: Flask, wizard: Wizard) -> None:
    wizard.start(child_answers("Jan", 18))
    page = wizard.client.get(wizard.url("kinder")).get_data(as_text=True)
    assert "Jan Muster ist 18 Jahre oder älter" in page
    assert wizard.page("kinder", {}).status_code == 302  # the office decides (§ 1 UVG)


def test_long_and_html_input_is_limited_and_escaped(app: Flask, wizard: Wizard) -> None:
    response = wizard.post("/antrag/unterhaltsvorschuss/neu",
                           child_answers(first_name="x" * 10_000))
    _errors_shown(response, "Geben Sie höchstens 100 Zeichen ein.")
    hostile = '<img src=x onerror="alert(1)">'
    wizard.start(child_answers(first_name=hostile))
    page = wizard.client.get(wizard.url("kinder")).get_data(as_text=True)
    assert hostile not in page
    assert html.escape(hostile) in page or "&lt;img src=x" in page


def test_control_characters_are_dropped(app: Flask, wizard: Wizard) -> None:
    wizard.start(child_answers(first_name="Le\x00a\r\n"))
    person = _answers(app, wizard)["children"][0]["person"]
    assert person["first_name"] == "Lea"


@pytest.mark.usefixtures("app")
def test_a_forged_choice_is_refused(wizard: Wizard) -> None:
    response = wizard.post("/antrag/unterhaltsvorschuss/neu", child_answers(nationality="mars"))
    _errors_shown(response, "Wählen Sie eine der angezeigten Antworten.")


def test_applicant_page_checks_postcode_email_and_marital_status(app: Flask,
                                                                 wizard: Wizard) -> None:
    wizard.start()
    before = _answers(app, wizard)
    response = wizard.page("antragsteller", {**APPLICANT, "postcode": "1234",
                                             "email": "keine-adresse", "marital_since": ""})
    page = _errors_shown(response, "Geben Sie eine deutsche Postleitzahl mit 5 Ziffern ein",
                         "Geben Sie eine E-Mail-Adresse wie name@example.org ein.",
                         "Geben Sie ein, seit wann Sie in diesem Familienstand sind.")
    assert 'value="Domplatz 1"' in page
    assert _answers(app, wizard) == before  # nothing saved from a refused page


def test_applicant_email_is_prefilled_from_the_account(wizard: Wizard) -> None:
    wizard.start()
    page = wizard.client.get(wizard.url("antragsteller")).get_data(as_text=True)
    assert 'value="maria@example.org"' in page


def test_other_parent_page_asks_what_the_answers_need(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    wizard.page("kinder", {})
    wizard.page("antragsteller", APPLICANT)  # divorced: paternity is not asked
    page = wizard.client.get(wizard.url("anderer-elternteil")).get_data(as_text=True)
    assert "Vaterschaft" not in page
    response = wizard.page("anderer-elternteil", {
        **OTHER_PARENT, "street": "", "maintenance_amount": "viel", "maintenance_since": ""})
    _errors_shown(response, "Geben Sie die Straße des anderen Elternteils ein.",
                  "Geben Sie einen Betrag in Euro ein, zum Beispiel 150 oder 150,50.",
                  "Geben Sie ein, seit wann Unterhalt gezahlt wird.")
    wizard.page("antragsteller", {**APPLICANT, "marital_status": "single",
                                  "marital_since": ""})
    page = wizard.client.get(wizard.url("anderer-elternteil")).get_data(as_text=True)
    assert "Ist die Vaterschaft festgestellt?" in page
    # Paternity not established: the father may be unknown, his name is not required.
    response = wizard.page("anderer-elternteil", {
        "first_name": "", "last_name": "", "address_known": "no", "paternity_established": "no",
        "maintenance_paid": "no"})
    assert response.status_code == 302


@pytest.mark.parametrize(("iban", "message"), [
    ("DE89 3704 0044 0532 0130 01", "Die Prüfziffern passen nicht"),
    ("BR18 0036 0305 0000 1000 9795 493C 1", "nur auf ein Konto im SEPA-Raum"),
    ("DE89", "Geben Sie eine gültige IBAN ein"),
    ("<b>DE89</b>", "Geben Sie eine gültige IBAN ein"),
    ("", "Geben Sie die IBAN ein."),
])
def test_wrong_ibans_are_refused(app: Flask, wizard: Wizard, iban: str, message: str) -> None:
    wizard.start()
    response = wizard.page("bankverbindung", {**BANK, "iban": iban})
    page = _errors_shown(response, message)
    assert 'value="Maria Muster"' in page


def test_a_correct_iban_is_stored_formatted(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    assert wizard.page("bankverbindung", {**BANK, "iban": "de89370400440532013000"}
                       ).status_code == 302
    assert _answers(app, wizard)["bank"]["iban"] == "DE89 3704 0044 0532 0130 00"


def test_declarations_must_all_be_ticked(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    response = wizard.page("erklaerungen", {"truthful": "y"})
    _errors_shown(response, "Bestätigen Sie, dass Sie Änderungen sofort mitteilen.",
                  "Bestätigen Sie, dass Sie die Pflicht zur Rückzahlung kennen.",
                  "Bestätigen Sie, dass Sie mit der Verarbeitung Ihrer Daten einverstanden sind.")


def test_money_is_read_the_german_way(app: Flask, wizard: Wizard) -> None:
    wizard.start()
    wizard.page("kinder", {})
    wizard.page("antragsteller", APPLICANT)
    wizard.page("anderer-elternteil", {**OTHER_PARENT, "maintenance_amount": "1.200"})
    assert _answers(app, wizard)["other_parent"]["maintenance_amount"] == 120000
    wizard.page("anderer-elternteil", {**OTHER_PARENT, "maintenance_amount": "99,9 €"})
    assert _answers(app, wizard)["other_parent"]["maintenance_amount"] == 9990
    response = wizard.page("anderer-elternteil", {**OTHER_PARENT,
                                                  "maintenance_amount": "1000000"})
    _errors_shown(response, "Geben Sie höchstens 100.000 Euro ein.")


def test_changing_an_answer_drops_questions_that_no_longer_apply(app: Flask,
                                                                 wizard: Wizard) -> None:
    wizard.start()
    wizard.page("kinder", {})
    wizard.page("antragsteller", APPLICANT)
    wizard.page("anderer-elternteil", OTHER_PARENT)
    wizard.page("anderer-elternteil", {**OTHER_PARENT, "maintenance_paid": "no"})
    stored = _answers(app, wizard)["other_parent"]
    assert "maintenance_amount" not in stored
    assert "maintenance_since" not in stored


def test_school_page_only_for_a_child_of_15_to_17(app: Flask, wizard: Wizard) -> None:
    wizard.start(child_answers("Lea", 16))
    fill_all(wizard, sgb2_children=("k1",), school_children=("k1",))
    wizard.page("schule-und-einkommen/k1", {"attends_school": "no", "earnings": "450",
                                            "training_allowance": "", "asset_income": ""})
    page = wizard.client.get(wizard.url("unterlagen")).get_data(as_text=True)
    assert "Einkommensnachweise von Lea Muster" in page
    other = Wizard(wizard.client, wizard.citizen, wizard.csrf)
    other.start(child_answers("Tim", 8))
    assert wizard.client.get(other.url("schule-und-einkommen/k1")).status_code == 302
    assert wizard.client.get(other.url("schule-und-einkommen/k9")).status_code == 404
    assert wizard.client.get(other.url("gibt-es-nicht")).status_code == 404


def _answers(app: Flask, wizard: Wizard) -> dict[str, Any]:
    with app.app_context():
        draft = wizard.draft()
        assert draft is not None
        return dict(draft.answers)

"""The case pages as a caseworker uses them: lists, search, the case file and its forms, with
wrong, empty, oversized, hostile and stale input on every form."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.deadlines import add_working_days
from backoffice.models import (
    CaseDocument,
    Fall,
    FallStatus,
    Party,
    PartyVersion,
    Vermerk,
    Wiedervorlage,
)
from backoffice.services import add_deadline
from clearing.models import EingangKind
from clearing.services import Sender, create_eingang
from ihv.codes import format_kassenzeichen
from ihv.models import Direction
from ihv.services import create_order
from tests.backoffice.support import pdf, post, text, version_on
from tests.conftest import csrf_token, sign_in_staff

# NUL never reaches a form (amtsweg.request drops it); ESC stands for the control characters.
HOSTILE = ["", "   ", "x" * 20_000, "Text\x1bmit ESC", "<script>alert(1)</script>"]


@pytest.fixture
def me(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("sachb", fachbereiche=("uvg",), full_name="Sarah Sachbearbeiterin")


@pytest.fixture
def colleague(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("kollege", fachbereiche=("uvg",), full_name="Karl Kollege")


@pytest.fixture
def fall_id(app: Flask, create_case: Callable[..., Fall], me: Staff) -> int:
    with app.app_context():
        return create_case(responsible=db.session.get_one(Staff, me.id)).id


@pytest.fixture
def signed_in(client: FlaskClient, me: Staff) -> FlaskClient:
    sign_in_staff(client, me)
    return client


def _fall(app: Flask, fall_id: int) -> Fall:
    with app.app_context():
        fall = db.session.get_one(Fall, fall_id)
        db.session.expunge(fall)
        return fall


def _count(app: Flask, model: type, **where: object) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(db.session.scalar(query) or 0)


def _table(response: object) -> str:
    """The case table of a list page (the due-today box above it lists cases too)."""
    return text(response).split("<table")[1]


# --- lists ----------------------------------------------------------------------------------


def test_my_cases_show_what_is_due_today_with_overdue_marked(
        app: Flask, signed_in: FlaskClient, fall_id: int, me: Staff,
        create_case: Callable[..., Fall]) -> None:
    today = berlin_today()
    with app.app_context():
        fall = db.session.get_one(Fall, fall_id)
        staff = db.session.get_one(Staff, me.id)
        add_deadline(fall, due_date=today, reason="Unterlagen prüfen", owner=staff, actor=SYSTEM)
        late = add_deadline(fall, due_date=today, reason="Rückruf", owner=staff, actor=SYSTEM)
        late.due_date = today - timedelta(days=3)  # set earlier, now overdue
        add_deadline(fall, due_date=today + timedelta(days=9), reason="Später", owner=staff,
                     actor=SYSTEM)
        create_case()  # in the pool, not mine
        db.session.commit()
    page = text(signed_in.get("/intern/faelle/"))
    due = page.split('id="heute"')[1].split("</section>")[0]
    assert "Unterlagen prüfen" in due
    assert "Rückruf" in due
    assert "Später" not in due
    assert due.index("Rückruf") < due.index("Unterlagen prüfen")  # overdue first
    assert "überfällig" in due
    assert page.count('href="/intern/faelle/') >= 1
    assert "Meine Fälle" in page


def test_a_follow_up_for_nobody_shows_to_whoever_holds_the_case(
        app: Flask, signed_in: FlaskClient, fall_id: int, colleague: Staff) -> None:
    with app.app_context():
        fall = db.session.get_one(Fall, fall_id)
        add_deadline(fall, due_date=berlin_today(), reason="Ohne Zuständige", owner=None,
                     actor=SYSTEM)
        add_deadline(fall, due_date=berlin_today(), reason="Für Karl",
                     owner=db.session.get_one(Staff, colleague.id), actor=SYSTEM)
        db.session.commit()
    due = text(signed_in.get("/intern/faelle/")).split('id="heute"')[1].split("</section>")[0]
    assert "Ohne Zuständige" in due
    assert "Für Karl" not in due


def test_the_pool_lists_only_unassigned_cases_of_my_fachbereiche(
        app: Flask, signed_in: FlaskClient, fall_id: int,
        create_case: Callable[..., Fall]) -> None:
    with app.app_context():
        pooled = create_case().aktenzeichen
        elsewhere = create_case(fachbereich="wohngeld").aktenzeichen
        mine = db.session.get_one(Fall, fall_id).aktenzeichen
    page = text(signed_in.get("/intern/faelle/pool"))
    assert pooled in page
    assert mine not in page
    assert elsewhere not in page


def test_lists_filter_by_status_and_deadline(app: Flask, signed_in: FlaskClient, fall_id: int,
                                              me: Staff, create_case: Callable[..., Fall]) -> None:
    with app.app_context():
        staff = db.session.get_one(Staff, me.id)
        decided = create_case(responsible=staff)
        decided.status = FallStatus.DECIDED
        add_deadline(db.session.get_one(Fall, fall_id), due_date=berlin_today(), reason="Heute",
                     owner=staff, actor=SYSTEM)
        db.session.commit()
        decided_az = decided.aktenzeichen
        open_az = db.session.get_one(Fall, fall_id).aktenzeichen
    by_status = _table(signed_in.get("/intern/faelle/?status=decided"))
    assert decided_az in by_status
    assert open_az not in by_status
    due = _table(signed_in.get("/intern/faelle/?deadline=due"))
    assert open_az in due
    assert decided_az not in due
    overdue = _table(signed_in.get("/intern/faelle/?deadline=overdue"))
    assert open_az not in overdue
    # Hostile filter values: an error on the field, the whole list, never a 500.
    for query in ("status=%00", "status=gibtsnicht", "deadline=" + "x" * 5000, "nach=-1",
                  "nach=abc", "nach=" + "9" * 40):
        response = signed_in.get(f"/intern/faelle/?{query}")
        assert response.status_code == 200


def test_built_in_form_messages_follow_the_language(signed_in: FlaskClient) -> None:
    # WTForms' own messages come from its catalogue, kept per language for the whole process.
    assert "Keine gültige Auswahl." in text(signed_in.get("/intern/faelle/?status=gibtsnicht"))
    token = csrf_token(signed_in, "/intern/faelle/")
    signed_in.post("/sprache", data={"csrf_token": token, "locale": "en", "next": "/"})
    english = text(signed_in.get("/intern/faelle/?status=gibtsnicht"))
    assert "Not a valid choice." in english
    assert "Keine gültige Auswahl." not in english


def test_lists_page_by_key(app: Flask, signed_in: FlaskClient, me: Staff,
                           create_case: Callable[..., Fall]) -> None:
    with app.app_context():
        staff = db.session.get_one(Staff, me.id)
        numbers = [create_case(responsible=staff).aktenzeichen for _ in range(53)]
    first = text(signed_in.get("/intern/faelle/"))
    assert numbers[-1] in first
    assert numbers[2] not in first
    assert "Weitere" in first or "Mehr" in first
    next_link = first.split('href="/intern/faelle/?nach=')[1].split('"')[0]
    second = text(signed_in.get(f"/intern/faelle/?nach={next_link}"))
    assert all(number in second for number in numbers[:3])
    assert numbers[-1] not in second


# --- search ---------------------------------------------------------------------------------


def test_search_by_name_birth_date_aktenzeichen_and_reference(
        app: Flask, signed_in: FlaskClient, fall_id: int) -> None:
    with app.app_context():
        eingang = create_eingang(kind=EingangKind.NEUANTRAG, subject="Antrag",
                                 sender=Sender("Sabine Müller"), actor=SYSTEM,
                                 reference="AW-2026-0000123-4")
        eingang.fall_id = fall_id
        db.session.commit()
        aktenzeichen = db.session.get_one(Fall, fall_id).aktenzeichen
    link = f'href="/intern/faelle/{fall_id}"'
    for query in ("q=MUELLER", "q=Lea+M%C3%BCller", "q=M%C3%BCller+Lea",
                  "birth_date=14.03.2018", f"q={aktenzeichen.lower()}",
                  "q=aw-2026-0000123-4", "q=M%C3%BCller&birth_date=14.03.2018"):
        page = text(signed_in.get(f"/intern/faelle/suche?{query}"))
        assert link in page, query
    assert link not in text(signed_in.get("/intern/faelle/suche?q=Schmidt"))
    assert link not in text(signed_in.get("/intern/faelle/suche?q=AW-2026-0000999-1"))


def test_search_by_kassenzeichen_finds_only_my_fachbereichs_case(
        app: Flask, signed_in: FlaskClient, fall_id: int,
        create_case: Callable[..., Fall]) -> None:
    with app.app_context():
        other_id = create_case(fachbereich="wohngeld").id
        kassenzeichen = {}
        for case_id in (fall_id, other_id):
            order = create_order(None, direction=Direction.AUSZAHLUNG, amount_cents=22_700,
                                 due_date=date(2026, 3, 1), haushaltsstelle="70 55/101 38-1",
                                 party_name="Sabine Müller", iban="DE89370400440532013000",
                                 bic="COBADEFFXXX", fall_id=case_id)
            kassenzeichen[case_id] = order.kassenzeichen
        db.session.commit()
    mine, foreign = kassenzeichen[fall_id], kassenzeichen[other_id]
    link = f'href="/intern/faelle/{fall_id}"'
    # As stored, as printed on letters (grouped), and as typed (lower case, spaces).
    for query in (mine, format_kassenzeichen(mine), " ".join(mine.lower())):
        assert link in text(signed_in.get(f"/intern/faelle/suche?q={quote(query)}")), query
    # Another Fachbereich's case stays unseen; a wrong check digit finds nothing, never fails.
    page = text(signed_in.get(f"/intern/faelle/suche?q={foreign}"))
    assert f'href="/intern/faelle/{other_id}"' not in page
    assert link not in page
    wrong = mine[:-1] + str((int(mine[-1]) + 1) % 10)
    response = signed_in.get(f"/intern/faelle/suche?q={wrong}")
    assert response.status_code == 200
    assert link not in text(response)


@pytest.mark.parametrize("query", ["q=", "q=%00%01", "q=" + "x" * 500, "birth_date=31.02.2020",
                                   "birth_date=gestern", "q=%27%3B+DROP+TABLE+faelle%3B--"])
def test_search_with_bad_input_explains_and_never_fails(signed_in: FlaskClient, fall_id: int,
                                                         query: str) -> None:
    response = signed_in.get(f"/intern/faelle/suche?{query}")
    assert response.status_code == 200
    page = text(response)
    assert f'href="/intern/faelle/{fall_id}"' not in page
    if "DROP" not in query:
        assert "Es gibt ein Problem" in page


# --- the case file --------------------------------------------------------------------------


def test_the_case_shows_parties_documents_timeline_and_notes(
        app: Flask, signed_in: FlaskClient, fall_id: int) -> None:
    page = text(signed_in.get(f"/intern/faelle/{fall_id}"))
    assert "Kind: Lea Müller" in page
    assert "14.03.2018" in page
    assert "Noch keine Dokumente." in page
    assert "Fall angelegt" in page or "Verlauf" in page
    assert 'name="version"' in page


def test_the_case_links_to_its_decisions(signed_in: FlaskClient, fall_id: int) -> None:
    # Without this link a caseworker could not reach the Bescheide from the case file.
    page = text(signed_in.get(f"/intern/faelle/{fall_id}"))
    assert f'href="/intern/faelle/{fall_id}/bescheide"' in page
    assert "Entscheidungen und Widersprüche" in page


def test_the_case_version_is_a_hidden_field_not_a_text_box(signed_in: FlaskClient,
                                                             fall_id: int) -> None:
    # Regression: VersionField's type name was not "HiddenField", so the forms macro rendered
    # an editable "Version – optional" text box on the case, assignment and party pages.
    for path in ("", "/zuweisen"):
        page = text(signed_in.get(f"/intern/faelle/{fall_id}{path}"))
        assert re.search(r'<input[^>]*name="version"[^>]*type="hidden"|'
                         r'<input[^>]*type="hidden"[^>]*name="version"', page), path
        assert 'for="version"' not in page, path


def test_the_timeline_is_paged_at_100_newest_first(app: Flask, signed_in: FlaskClient,
                                                   fall_id: int, me: Staff) -> None:
    with app.app_context():
        fall = db.session.get_one(Fall, fall_id)
        staff = db.session.get_one(Staff, me.id)
        from backoffice.services import add_note
        for number in range(120):
            add_note(fall, f"Vermerk {number}", staff, SYSTEM)
        db.session.commit()
    page = text(signed_in.get(f"/intern/faelle/{fall_id}"))
    timeline = page.split('id="verlauf"')[1]
    assert timeline.count("<li>") == 100
    older = timeline.split(f'href="/intern/faelle/{fall_id}?nach=')[1].split('"')[0]
    rest = text(signed_in.get(f"/intern/faelle/{fall_id}?nach={older}")).split('id="verlauf"')[1]
    assert rest.count("<li>") == 120 + 2 - 100  # 120 notes, case opened, assigned


def test_notes_are_appended_with_author_and_bad_notes_refused(
        app: Flask, signed_in: FlaskClient, fall_id: int) -> None:
    page = f"/intern/faelle/{fall_id}"
    response = post(signed_in, page, f"{page}/vermerke", {"text": "Mutter rief an."})
    assert response.status_code == 302
    shown = text(signed_in.get(page))
    assert "Mutter rief an." in shown
    assert "Sarah Sachbearbeiterin" in shown
    for bad in HOSTILE[:4]:
        response = post(signed_in, page, f"{page}/vermerke", {"text": bad})
        assert response.status_code == 400, bad[:20]
        assert "Es gibt ein Problem" in text(response)
    assert _count(app, Vermerk, fall_id=fall_id) == 1
    # Markup is shown as text, never run.
    post(signed_in, page, f"{page}/vermerke", {"text": HOSTILE[4]})
    assert "<script>alert(1)</script>" not in text(signed_in.get(page))


def test_status_moves_along_and_refuses_what_is_not_allowed(
        app: Flask, signed_in: FlaskClient, fall_id: int) -> None:
    page = f"/intern/faelle/{fall_id}"
    version = version_on(text(signed_in.get(page)))
    response = post(signed_in, page, f"{page}/status", {"status": "decided", "version": version})
    assert response.status_code == 302
    assert _fall(app, fall_id).status is FallStatus.DECIDED
    version = version_on(text(signed_in.get(page)))
    for bad in ("open", "closed'--", "", "resume", "x" * 5000):
        response = post(signed_in, page, f"{page}/status", {"status": bad, "version": version})
        assert response.status_code == 400, bad[:20]
    assert _fall(app, fall_id).status is FallStatus.DECIDED


def test_suspend_and_resume_through_the_page(app: Flask, signed_in: FlaskClient,
                                             fall_id: int) -> None:
    page = f"/intern/faelle/{fall_id}"
    post(signed_in, page, f"{page}/status", {"status": "suspended",
                                             "version": version_on(text(signed_in.get(page)))})
    assert _fall(app, fall_id).status is FallStatus.SUSPENDED
    shown = text(signed_in.get(page))
    assert "Fall wieder aufnehmen" in shown
    post(signed_in, page, f"{page}/status", {"status": "resume", "version": version_on(shown)})
    fall = _fall(app, fall_id)
    assert fall.status is FallStatus.OPEN
    assert fall.suspended_at is None


def test_a_stale_status_change_is_refused_and_says_so(app: Flask, signed_in: FlaskClient,
                                                      fall_id: int) -> None:
    page = f"/intern/faelle/{fall_id}"
    stale_version = version_on(text(signed_in.get(page)))
    post(signed_in, page, f"{page}/status", {"status": "decided", "version": stale_version})
    response = post(signed_in, page, f"{page}/status", {"status": "closed",
                                                        "version": stale_version})
    assert response.status_code == 409
    shown = text(response)
    assert "Der Fall wurde inzwischen geändert" in shown
    assert '<option selected value="closed">' in shown or 'value="closed" selected' in shown
    assert _fall(app, fall_id).status is FallStatus.DECIDED


# --- parties --------------------------------------------------------------------------------


def test_changing_bank_data_keeps_the_history(app: Flask, signed_in: FlaskClient,
                                              fall_id: int) -> None:
    with app.app_context():
        party_id = db.session.scalar(select(Party.id).where(Party.fall_id == fall_id,
                                                            Party.role == "applicant"))
    page = f"/intern/faelle/{fall_id}/beteiligte/{party_id}"
    form = text(signed_in.get(page))
    data = {"first_name": "Sabine", "last_name": "Müller", "address": "Marktplatz 2",
            "iban": "de89 3704 0044 0532 0130 00", "account_holder": "Sabine Müller",
            "version": version_on(form)}
    response = post(signed_in, page, page, data)
    assert response.status_code == 302
    with app.app_context():
        party = db.session.get_one(Party, party_id)
        assert party.iban == "DE89370400440532013000"
        assert _count(app, PartyVersion, party_id=party_id) == 2
    case_page = text(signed_in.get(f"/intern/faelle/{fall_id}"))
    assert "Frühere Fassungen (2)" in case_page
    assert "Hauptstraße 1, Haßfurt" in case_page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("iban", "DE89370400440532013001", "gültige IBAN"),
    ("iban", "nonsense", "gültige IBAN"),
    ("last_name", "", "Nachnamen"),
    ("last_name", "x" * 101, "höchstens 100"),
    ("email", "kein-at", "E-Mail-Adresse"),
    ("birth_date", "30.02.2018", "TT.MM.JJJJ"),
    ("address", "Straße\x1b", "Steuerzeichen"),
])
def test_bad_party_input_is_refused_with_input_kept(app: Flask, signed_in: FlaskClient,
                                                    fall_id: int, field: str, value: str,
                                                    message: str) -> None:
    with app.app_context():
        party_id = db.session.scalar(select(Party.id).where(Party.fall_id == fall_id))
    page = f"/intern/faelle/{fall_id}/beteiligte/{party_id}"
    data = {"first_name": "Lea", "last_name": "Müller", "version": version_on(
        text(signed_in.get(page))), "phone": "0951 1234", field: value}
    response = post(signed_in, page, page, data)
    assert response.status_code == 400
    shown = text(response)
    assert message in shown
    assert "Fehler:" in shown
    assert "0951 1234" in shown
    assert _count(app, PartyVersion) == 0


def test_a_stale_party_edit_keeps_the_input_and_overwrites_nothing(
        app: Flask, signed_in: FlaskClient, fall_id: int) -> None:
    with app.app_context():
        party_id = db.session.scalar(select(Party.id).where(Party.fall_id == fall_id))
    page = f"/intern/faelle/{fall_id}/beteiligte/{party_id}"
    old_version = version_on(text(signed_in.get(page)))
    post(signed_in, page, page, {"first_name": "Lea", "last_name": "Müller",
                                 "phone": "111", "version": old_version})
    response = post(signed_in, page, page, {"first_name": "Lea", "last_name": "Müller",
                                            "phone": "222", "version": old_version})
    assert response.status_code == 409
    assert "Der Fall wurde inzwischen geändert" in text(response)
    assert 'value="222"' in text(response)
    with app.app_context():
        assert db.session.get_one(Party, party_id).phone == "111"


def test_a_party_of_another_case_is_not_found(app: Flask, signed_in: FlaskClient, fall_id: int,
                                              create_case: Callable[..., Fall]) -> None:
    with app.app_context():
        other_party = create_case().parties[0].id
    assert signed_in.get(f"/intern/faelle/{fall_id}/beteiligte/{other_party}").status_code == 404


# --- the E-Akte -----------------------------------------------------------------------------


def test_staff_upload_and_a_new_version_keep_both(app: Flask, signed_in: FlaskClient,
                                                  fall_id: int) -> None:
    page = f"/intern/faelle/{fall_id}/dokumente/neu"
    response = post(signed_in, page, page, {
        "file": (io.BytesIO(pdf("alt")), "urkunde.pdf"), "title": "Geburtsurkunde",
        "kind": "Urkunde", "replaces": ""}, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        series = db.session.scalar(select(CaseDocument.series_id))
    response = post(signed_in, page, page, {
        "file": (io.BytesIO(pdf("neu")), "urkunde2.pdf"), "title": "Geburtsurkunde",
        "kind": "Urkunde", "replaces": str(series)}, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        versions = db.session.execute(select(CaseDocument.version, CaseDocument.origin)
                                      .order_by(CaseDocument.version)).all()
    assert [(v, o.value) for v, o in versions] == [(1, "staff_upload"), (2, "staff_upload")]
    shown = text(signed_in.get(f"/intern/faelle/{fall_id}"))
    assert shown.count("Geburtsurkunde") >= 2
    assert "Von Mitarbeitenden hochgeladen" in shown


@pytest.mark.parametrize(("upload", "extra", "message"), [
    (None, {}, "Datei"),
    ((b"MZ\x90\x00 kein pdf", "virus.pdf"), {}, ""),
    ((b"", "leer.pdf"), {}, ""),
    ("pdf", {"title": "x" * 201}, "höchstens 200"),
    ("pdf", {"kind": "Urkunde\x1b"}, "Steuerzeichen"),
    ("pdf", {"replaces": "99999"}, ""),
])
def test_bad_uploads_are_refused_and_nothing_is_filed(app: Flask, signed_in: FlaskClient,
                                                      fall_id: int, upload: object,
                                                      extra: dict[str, str],
                                                      message: str) -> None:
    page = f"/intern/faelle/{fall_id}/dokumente/neu"
    data: dict[str, object] = {"title": "Brief", "kind": "", "replaces": "", **extra}
    if upload == "pdf":
        data["file"] = (io.BytesIO(pdf()), "brief.pdf")
    elif isinstance(upload, tuple):
        data["file"] = (io.BytesIO(upload[0]), upload[1])
    response = post(signed_in, page, page, data, content_type="multipart/form-data")
    assert response.status_code == 400
    shown = text(response)
    assert "Es gibt ein Problem" in shown
    assert message in shown
    assert _count(app, CaseDocument) == 0


# --- deadlines ------------------------------------------------------------------------------


def test_a_deadline_in_working_days_is_computed_with_the_lands_holidays(
        app: Flask, signed_in: FlaskClient, fall_id: int, colleague: Staff) -> None:
    page = f"/intern/faelle/{fall_id}/wiedervorlagen/neu"
    response = post(signed_in, page, page, {"working_days": "10", "reason": "Nachweis Schule",
                                            "owner": str(colleague.id)})
    assert response.status_code == 302
    with app.app_context():
        deadline = db.session.scalars(select(Wiedervorlage)).one()
        assert deadline.due_date == add_working_days(berlin_today(), 10, "BY")
        assert deadline.owner_id == colleague.id


@pytest.mark.parametrize(("data", "message"), [
    # Yesterday when the module is collected: still before the day the test runs on.
    ({"due_date": (berlin_today() - timedelta(days=1)).strftime("%d.%m.%Y"),
      "reason": "Zu spät"},
     "heute oder später"),
    ({"due_date": "", "working_days": "", "reason": "Nichts"}, "Datum oder die Zahl"),
    ({"due_date": "31.02.2030", "reason": "Kein Tag"}, "TT.MM.JJJJ"),
    ({"working_days": "-3", "reason": "Negativ"}, "ganze Zahl"),
    ({"working_days": "5000", "reason": "Zu weit"}, "von 1 bis"),
    ({"working_days": "3", "due_date": "01.01.2030", "reason": "Beides"}, "nicht beides"),
    ({"working_days": "3", "reason": ""}, "Grund"),
    ({"working_days": "3", "reason": "x" * 301}, "höchstens 300"),
    ({"working_days": "3", "reason": "a\x1bb"}, "Steuerzeichen"),
    ({"working_days": "3", "reason": "Fremd", "owner": "999999"}, "Not a valid choice"),
])
def test_bad_deadlines_are_refused_with_input_kept(app: Flask, signed_in: FlaskClient,
                                                   fall_id: int, data: dict[str, str],
                                                   message: str) -> None:
    page = f"/intern/faelle/{fall_id}/wiedervorlagen/neu"
    response = post(signed_in, page, page, data)
    assert response.status_code == 400
    shown = text(response)
    assert "Es gibt ein Problem" in shown
    if message != "Not a valid choice":
        assert message in shown
    if data.get("reason") and len(data["reason"]) < 50 and "\x1b" not in data["reason"]:
        assert data["reason"] in shown
    assert _count(app, Wiedervorlage) == 0


def test_a_deadline_owner_from_another_fachbereich_is_refused(
        app: Flask, signed_in: FlaskClient, fall_id: int,
        create_staff: Callable[..., Staff]) -> None:
    stranger = create_staff("wg", fachbereiche=("wohngeld",))
    page = f"/intern/faelle/{fall_id}/wiedervorlagen/neu"
    response = post(signed_in, page, page, {"working_days": "3", "reason": "x",
                                            "owner": str(stranger.id)})
    assert response.status_code == 400
    assert _count(app, Wiedervorlage) == 0


def test_a_deadline_is_marked_done_and_reopened(app: Flask, signed_in: FlaskClient,
                                                fall_id: int) -> None:
    with app.app_context():
        deadline = add_deadline(db.session.get_one(Fall, fall_id), due_date=berlin_today(),
                                reason="Prüfen", owner=None, actor=SYSTEM)
        db.session.commit()
        deadline_id = deadline.id
    page = f"/intern/faelle/{fall_id}"
    assert post(signed_in, page, f"{page}/wiedervorlagen/{deadline_id}/erledigt",
                {}).status_code == 302
    assert "erledigt von sachb" in text(signed_in.get(page))
    post(signed_in, page, f"{page}/wiedervorlagen/{deadline_id}/offen", {})
    with app.app_context():
        assert db.session.get_one(Wiedervorlage, deadline_id).done_at is None
    assert signed_in.post(f"{page}/wiedervorlagen/{deadline_id}/weg").status_code in (400, 404)


# --- assignment -----------------------------------------------------------------------------


def test_handing_a_case_to_a_colleague_with_a_note(app: Flask, signed_in: FlaskClient,
                                                   fall_id: int, colleague: Staff) -> None:
    page = f"/intern/faelle/{fall_id}/zuweisen"
    response = post(signed_in, page, page, {
        "assignee": str(colleague.id), "note": "Bitte Einkommen prüfen.",
        "version": version_on(text(signed_in.get(page)))})
    assert response.status_code == 302
    assert _fall(app, fall_id).responsible_staff_id == colleague.id
    assert "Bitte Einkommen prüfen." in text(signed_in.get(f"/intern/faelle/{fall_id}"))
    page_version = version_on(text(signed_in.get(page)))
    post(signed_in, page, page, {"assignee": "pool", "note": "", "version": page_version})
    assert _fall(app, fall_id).responsible_staff_id is None


def test_assignment_refuses_outsiders_hostile_values_and_stale_pages(
        app: Flask, signed_in: FlaskClient, fall_id: int, me: Staff, colleague: Staff,
        create_staff: Callable[..., Staff]) -> None:
    stranger = create_staff("wg", fachbereiche=("wohngeld",))
    page = f"/intern/faelle/{fall_id}/zuweisen"
    version = version_on(text(signed_in.get(page)))
    for bad in (str(stranger.id), "", "abc", "999999", "x" * 5000):
        response = post(signed_in, page, page, {"assignee": bad, "version": version})
        assert response.status_code == 400, bad[:20]
    assert _fall(app, fall_id).responsible_staff_id == me.id
    post(signed_in, page, page, {"assignee": str(colleague.id), "version": version})
    response = post(signed_in, page, page, {"assignee": "pool", "note": "Meine Notiz",
                                            "version": version})
    assert response.status_code == 409
    assert "Der Fall wurde inzwischen geändert" in text(response)
    assert "Meine Notiz" in text(response)
    assert _fall(app, fall_id).responsible_staff_id == colleague.id


def test_a_lead_moves_all_cases_of_one_person_and_sees_what_did_not_move(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff],
        create_case: Callable[..., Fall]) -> None:
    lead = create_staff("leitung", roles=(Role.LEAD,), fachbereiche=("uvg", "wohngeld"))
    away = create_staff("urlaub", fachbereiche=("uvg", "wohngeld"))
    deputy = create_staff("vertretung", fachbereiche=("uvg",), full_name="Vera Vertretung")
    with app.app_context():
        holder = db.session.get_one(Staff, away.id)
        moved = [create_case(responsible=holder).aktenzeichen for _ in range(3)]
        stuck = create_case(fachbereich="wohngeld", responsible=holder).aktenzeichen
    sign_in_staff(client, lead)
    page = "/intern/faelle/umverteilen"
    response = post(client, page, page, {"from_staff": str(away.id),
                                         "to_staff": str(deputy.id)})
    assert response.status_code == 200
    shown = text(response)
    assert "3 Fälle übergeben" in shown
    assert all(number in shown for number in moved)
    assert f"{stuck}:" in shown
    with app.app_context():
        owners = dict(db.session.execute(
            select(Fall.aktenzeichen, Fall.responsible_staff_id)).all())
    assert {owners[number] for number in moved} == {deputy.id}
    assert owners[stuck] == away.id
    for bad in ({"from_staff": str(away.id), "to_staff": str(away.id)},
                {"from_staff": "", "to_staff": "pool"},
                {"from_staff": "abc", "to_staff": "\x00"}):
        assert post(client, page, page, bad).status_code == 400


def test_only_leads_reassign_in_bulk(signed_in: FlaskClient) -> None:
    assert signed_in.get("/intern/faelle/umverteilen").status_code == 403


# --- the access log page --------------------------------------------------------------------


def test_auditors_read_the_access_log_filtered(app: Flask, client: FlaskClient, fall_id: int,
                                               me: Staff, colleague: Staff,
                                               create_staff: Callable[..., Staff]) -> None:
    sign_in_staff(client, me)
    client.get(f"/intern/faelle/{fall_id}")
    sign_in_staff(client, colleague)
    client.get(f"/intern/faelle/{fall_id}")
    auditor = create_staff("pruefer", roles=(Role.AUDITOR,), fachbereiche=())
    sign_in_staff(client, auditor)
    aktenzeichen = _fall(app, fall_id).aktenzeichen
    everything = text(client.get("/intern/faelle/zugriffe"))
    assert "Sarah Sachbearbeiterin" in everything
    assert "Karl Kollege" in everything
    by_person = text(client.get(f"/intern/faelle/zugriffe?staff={colleague.id}"))
    assert "Karl Kollege</td>" in by_person
    assert "Sarah Sachbearbeiterin</td>" not in by_person
    by_case = text(client.get(f"/intern/faelle/zugriffe?aktenzeichen={aktenzeichen.lower()}"))
    assert by_case.count(f"<td class=\"kern-table__cell\">{aktenzeichen}</td>") == 2
    today = berlin_today()
    day = today.strftime("%d.%m.%Y")
    assert "Karl Kollege</td>" in text(client.get(
        f"/intern/faelle/zugriffe?day_from={day}&day_to={day}"))
    tomorrow = (today + timedelta(days=1)).strftime("%d.%m.%Y")
    assert "Karl Kollege</td>" not in text(client.get(
        f"/intern/faelle/zugriffe?day_from={tomorrow}"))
    for bad in ("day_from=32.13.2026", "staff=abc", "aktenzeichen=%00", "nach=x"):
        assert client.get(f"/intern/faelle/zugriffe?{bad}").status_code == 200
    # Auditors read the log; they do not open case files.
    assert client.get(f"/intern/faelle/{fall_id}").status_code == 403


def test_caseworkers_cannot_read_the_access_log(signed_in: FlaskClient) -> None:
    assert signed_in.get("/intern/faelle/zugriffe").status_code == 403


def test_oversized_uploads_are_refused_and_nothing_is_filed(
        app: Flask, settings_factory: Callable[..., object]) -> None:
    # ``app`` shares the database and cleans it afterwards (PostgreSQL truncates per test).
    from amtsweg.app import create_app
    from amtsweg.fachbereiche import seed_fachbereiche
    from tests.backoffice.conftest import case_factory

    # A small limit keeps the test's request body below the size at which Werkzeug's test
    # client spools it to a temporary file it never closes.
    small = create_app(settings_factory(max_upload_bytes=100_000))  # type: ignore[arg-type]
    with small.app_context():
        db.create_all()
        seed_fachbereiche()
        db.session.commit()
        member = Staff(username="klein", full_name="Klein", password_hash="x", active=True,
                       failed_logins=0, session_epoch=0)
        from amtsweg.fachbereiche import fachbereich_by_code
        from amtsweg.staff.models import StaffRole

        member.role_rows = [StaffRole(role=Role.CASEWORKER)]
        member.fachbereiche = [fachbereich_by_code("uvg")]  # type: ignore[list-item]
        db.session.add(member)
        db.session.commit()
        fall_id = case_factory(small)(responsible=member).id
        db.session.refresh(member)
        db.session.expunge(member)
    client = small.test_client()
    sign_in_staff(client, member)
    page = f"/intern/faelle/{fall_id}/dokumente/neu"
    padding = b"%PDF-1.4\n" + b"0" * 200_000
    response = post(client, page, page, {"file": (io.BytesIO(padding), "gross.pdf"),
                                         "title": "Groß"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Es gibt ein Problem" in text(response)
    assert 'value="Groß"' in text(response)
    with small.app_context():
        assert db.session.scalar(select(func.count()).select_from(CaseDocument)) == 0
        db.session.remove()
        db.engine.dispose()

"""The clearing pages: access, queue, triage, actions over HTTP, paper intake, rules, figures."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask import Flask
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.staff.models import Role
from clearing.models import Eingang, EingangKind, EingangStatus
from tests.amtsweg.mail.support import post_form
from tests.conftest import csrf_token, sign_in_citizen, sign_in_staff


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match.group(1)


def _urls(app: Flask) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("clearing."):
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def test_every_clearing_url_refuses_staff_without_the_role(app, client, create_staff) -> None:
    sign_in_staff(client, create_staff("cw", roles=(Role.CASEWORKER, Role.ADMIN)))
    urls = _urls(app)
    assert len(urls) >= 14
    token = csrf_token(client, "/intern/")
    for endpoint, method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (endpoint, method, url)


def test_anonymous_and_citizens_go_to_the_staff_login(app, client, create_citizen) -> None:
    for endpoint, method, url in _urls(app):
        if method == "GET":
            assert "/intern/anmelden" in client.get(url).headers["Location"], endpoint
    sign_in_citizen(client, create_citizen())
    assert "/intern/anmelden" in client.get("/intern/clearing/").headers["Location"]


def test_lead_pages_refuse_a_clerk(client, clerk) -> None:
    sign_in_staff(client, clerk)
    for url in ("/intern/clearing/regeln", "/intern/clearing/regeln/1",
                "/intern/clearing/uebersicht"):
        assert client.get(url).status_code == 403


def test_queue_lists_oldest_first_marks_overdue_and_pages_by_key(app, client, clerk,
                                                                 make_eingang) -> None:
    old = make_eingang(subject="Alter Antrag", received_at=utcnow() - timedelta(days=20))
    newer = [make_eingang(subject=f"Antrag {n}") for n in range(3)]
    sign_in_staff(client, clerk)
    page = client.get("/intern/clearing/").get_data(as_text=True)
    assert page.index("Alter Antrag") < page.index("Antrag 0")
    assert "überfällig" in page
    assert 'data-status="new">4<' in page
    with app.app_context():
        from clearing import queue

        first = queue.queue_page(queue.QueueFilter(), None, "BY", limit=2)
        second = queue.queue_page(queue.QueueFilter(), first.next_cursor, "BY", limit=2)
    assert [item.id for item in first.items] == [old, newer[0]]
    assert [item.id for item in second.items] == newer[1:]
    assert second.next_cursor is None
    filtered = client.get("/intern/clearing/?min_age=5").get_data(as_text=True)
    assert "Alter Antrag" in filtered
    assert "Antrag 0" not in filtered
    bad = client.get("/intern/clearing/?min_age=abc&nach=x'--&kind=<script>")
    assert bad.status_code == 200
    assert "Geben Sie eine ganze Zahl ein" in bad.get_data(as_text=True)


def test_clerk_claims_sees_the_answers_and_routes(app, client, clerk, make_eingang) -> None:
    item = make_eingang(message="Bitte schnell <script>alert(1)</script>")
    sign_in_staff(client, clerk)
    before = client.get(f"/intern/clearing/{item}").get_data(as_text=True)
    assert "Lea &lt;b&gt;" not in before  # claim first
    token_page = client.get(f"/intern/clearing/{item}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', token_page)
    assert token
    client.post(f"/intern/clearing/{item}/uebernehmen", data={"csrf_token": token.group(1)})
    page = client.get(f"/intern/clearing/{item}").get_data(as_text=True)
    assert "Lea &lt;b&gt;" in page
    assert "&lt;script&gt;" in page
    assert "Keine Treffer gefunden" in page
    response = _post_action(client, f"/intern/clearing/{item}/weiterleiten",
                            {"fachbereich": _uvg(app), "aktenzeichen": "", "caseworker": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get_one(Eingang, item).status is EingangStatus.ROUTED
    history = client.get(f"/intern/clearing/{item}").get_data(as_text=True)
    assert "Weitergeleitet" in history
    assert "Übernommen" in history


def _post_action(client, path: str, data: dict[str, str]):
    """Post an action form as the browser would: with the page's CSRF token and version."""
    page = client.get(path).get_data(as_text=True)
    token = _found(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    version = _found(r'name="version"[^>]*value="(\d+)"', page)
    return client.post(path, data={"csrf_token": token, "version": version, **data})


def _uvg(app: Flask) -> str:
    with app.app_context():
        from amtsweg.fachbereiche import fachbereich_by_code

        fachbereich = fachbereich_by_code("uvg")
        assert fachbereich is not None
        return str(fachbereich.id)


def _claim(app: Flask, item: int, staff) -> None:
    with app.app_context():
        from amtsweg.staff.models import Staff
        from clearing import triage

        triage.claim(item, db.session.get_one(Staff, staff.id))
        db.session.commit()


def test_stale_page_changes_nothing(app, client, clerk, make_eingang) -> None:
    item = make_eingang()
    _claim(app, item, clerk)
    sign_in_staff(client, clerk)
    page = client.get(f"/intern/clearing/{item}/weiterleiten").get_data(as_text=True)
    token = _found(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    version = _found(r'name="version"[^>]*value="(\d+)"', page)
    _claim(app, item, clerk)  # another tab acted meanwhile: the version moved on
    response = client.post(f"/intern/clearing/{item}/weiterleiten",
                           data={"csrf_token": token, "version": version,
                                 "fachbereich": _uvg(app)}, follow_redirects=True)
    assert "Jemand anderes hat" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get_one(Eingang, item).status is EingangStatus.IN_TRIAGE


def test_route_of_a_vanished_item_is_404(client, clerk) -> None:
    sign_in_staff(client, clerk)
    assert client.get("/intern/clearing/987654/weiterleiten").status_code == 404
    assert client.get("/intern/clearing/987654").status_code == 404


def test_forms_refuse_empty_oversized_and_hostile_input(app, client, clerk,
                                                        make_eingang) -> None:
    item = make_eingang()
    _claim(app, item, clerk)
    sign_in_staff(client, clerk)
    response = post_form(client, f"/intern/clearing/{item}/nachfordern",
                         {"subject": "", "body": "x" * 6000})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Fehler:" in text
    assert "Geben Sie einen Betreff ein" in text
    assert "höchstens 5000 Zeichen" in text
    response = post_form(client, f"/intern/clearing/{item}/ablehnen",
                         {"reason": "other", "text": "", "send_letter": "y", "letter": ""})
    assert response.status_code == 400
    assert "Beschreiben Sie den Grund" in response.get_data(as_text=True)
    response = post_form(client, f"/intern/clearing/{item}/ablehnen", {"reason": "'; DROP"})
    assert response.status_code == 400
    response = post_form(client, f"/intern/clearing/{item}/weiterleiten",
                         {"fachbereich": _uvg(app), "aktenzeichen": "UV-2026-99999"})
    assert response.status_code == 400
    assert "keinen Fall mit diesem Aktenzeichen" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get_one(Eingang, item).status is EingangStatus.IN_TRIAGE


def _pdf() -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Brief")
    page.save()
    return buffer.getvalue()


def test_paper_intake_creates_a_queue_item_and_its_scan_can_be_viewed(app, client,
                                                                      clerk) -> None:
    sign_in_staff(client, clerk)
    page = client.get("/intern/clearing/papiereingang").get_data(as_text=True)
    token = _found(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"csrf_token": token, "letter_kind": "widerspruch", "service": "uvg",
            "sender_name": "Max Mustermann", "sender_address": "Weg 2", "sender_email": "",
            "received_on": (utcnow() + timedelta(days=3)).strftime("%d.%m.%Y"), "note": ""}
    future = client.post("/intern/clearing/papiereingang",
                         data={**data, "scan": (io.BytesIO(_pdf()), "brief.pdf")},
                         content_type="multipart/form-data")
    assert future.status_code == 400
    assert "Max Mustermann" in future.get_data(as_text=True)
    missing = client.post("/intern/clearing/papiereingang", data={**data, "received_on": ""},
                          content_type="multipart/form-data")
    assert missing.status_code == 400
    fake = client.post("/intern/clearing/papiereingang",
                       data={**data, "received_on": "01.03.2025",
                             "scan": (io.BytesIO(b"MZ not a pdf"), "brief.pdf")},
                       content_type="multipart/form-data")
    assert fake.status_code == 400
    ok = client.post("/intern/clearing/papiereingang",
                     data={**data, "received_on": "01.03.2025",
                           "scan": (io.BytesIO(_pdf()), "brief.pdf")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    with app.app_context():
        eingang = db.session.scalar(select(Eingang))
        assert eingang is not None
        assert (eingang.kind, eingang.service_code, eingang.received_at.date().isoformat()) == (
            EingangKind.PAPIEREINGANG, "uvg", "2025-03-01")
        item, document_id = eingang.id, eingang.documents[0].document_id
    _claim(app, item, clerk)
    view = client.get(f"/intern/clearing/{item}/dokumente/{document_id}/ansehen")
    assert view.status_code == 200
    assert view.headers["Content-Disposition"].startswith("inline")
    assert view.data.startswith(b"%PDF")
    view.close()
    assert client.get(f"/intern/clearing/{item + 1}/dokumente/{document_id}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "document.read")) == 1


def test_lead_edits_a_routing_rule(app, client, lead) -> None:
    sign_in_staff(client, lead)
    page = client.get("/intern/clearing/regeln").get_data(as_text=True)
    assert "Unterhaltsvorschuss" in page
    with app.app_context():
        from clearing.rules import RoutingRule

        rule = db.session.scalar(select(RoutingRule).where(RoutingRule.service_code == "uvg"))
        assert rule is not None
        rule_id = rule.id
    response = post_form(client, f"/intern/clearing/regeln/{rule_id}",
                         {"label": "", "fachbereich": ""})
    assert response.status_code == 400
    response = post_form(client, f"/intern/clearing/regeln/{rule_id}",
                         {"label": "UVG-Antrag", "fachbereich": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "routing_rule.updated")) == 1


def test_lead_overview_shows_the_figures(app, client, lead, clerk, make_eingang) -> None:
    item = make_eingang(received_at=utcnow() - timedelta(hours=5))
    _claim(app, item, clerk)
    with app.app_context():
        from amtsweg.staff.models import Staff
        from clearing import triage

        eingang = db.session.get_one(Eingang, item)
        triage.route(item, eingang.version, triage.RouteTarget(int(_uvg(app))),
                     db.session.get_one(Staff, clerk.id))
        db.session.commit()
    sign_in_staff(client, lead)
    page = client.get("/intern/clearing/uebersicht").get_data(as_text=True)
    assert "Clara Clearing" in page
    assert re.search(r"5[,.]0 Stunden", page)


def test_paper_intake_date_is_a_text_field_a_browser_sends_as_typed(client, clerk) -> None:
    """Regression: the date of receipt was an <input type="date">, which shows no TT.MM.JJJJ
    value and sends ISO dates the field refuses, so the page failed in every browser."""
    sign_in_staff(client, clerk)
    page = client.get("/intern/clearing/papiereingang").get_data(as_text=True)
    field = _found(r'(<input[^>]*name="received_on"[^>]*>)', page)
    assert 'type="text"' in field
    assert 'type="date"' not in field

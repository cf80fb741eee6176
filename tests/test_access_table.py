"""Issue 9, part 3: every route of the app, asked by every kind of visitor, answers as the table
in tests/access_table.py says, and no id in any URL gives away anything of another person.

One office is built per module (building it takes a second; the questions take the rest): the
citizen Sabine Quastenberg (citizen A) with a draft, a submitted UVG application, a Bescheid and
a request from the office in her postbox; her application routed into a UVG case with a decided
child, a deadline, a Widerspruch and an objection waiting to be attached; two orders of the
case, one sent to the treasury; a file that came back and a booking on the Klärungsliste. The
visitors are the anonymous one, citizen A, citizen B, one member of staff per role, and a
caseworker and a lead of Wohngeld asking for UVG things. B and the Wohngeld caseworker have
things of their own too (a draft, a letter, a Wohngeld case), to try A's ids behind their own
doors.

Every answer is checked for its status (or redirect), for A's data where it must not show, and
for writes where the visitor was refused; for B and the anonymous visitor, A's ids must answer
exactly as ids that never existed.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse

from amtsweg.app import create_app
from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.tokens import Purpose, make_token
from amtsweg.clock import berlin_today
from amtsweg.db import Base, utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code, seed_fachbereiche
from amtsweg.passwords import hash_password
from amtsweg.postbox.models import PostboxMessage
from amtsweg.sessions import citizen_actor, staff_actor
from amtsweg.staff.models import Role, Staff, StaffRole
from backoffice.decisions.models import Decision, DecisionKind
from backoffice.decisions.services import issue_decision, record_objection
from backoffice.models import AccessLogEntry, CaseDocument, Fall, PartyRole
from backoffice.services import PartyData, add_deadline, assign_case, open_case
from backoffice.uvg import case_services as uvg
from clearing import rules
from clearing.models import EingangKind
from clearing.services import request_from_citizen
from clearing.triage import RouteTarget, claim, route
from ihv import services as ihv
from ihv.models import Booking, Direction, ImportedFile, Sollstellung, Transfer
from ihv.transfer import format as transfer_format
from ihv.transfer import receive, send
from portal import drafts, followups
from portal.models import Draft, Submission
from portal.services import AttachedDocument, Party, new_public_id, submit
from storage.services import store_upload
from tests.access_table import (
    ADMIN,
    ALLOWED,
    ANONYMOUS,
    ANORDNER,
    AUDITOR,
    CASEWORKER,
    CITIZEN_A,
    CITIZEN_B,
    CITIZEN_LOGIN,
    CLERK,
    FESTSTELLER,
    LEAD,
    OTHER_CASEWORKER,
    OTHER_LEAD,
    OUTSIDERS,
    STAFF_LOGIN,
    TABLE,
    VISITORS,
    Answer,
    Entry,
    Redirect,
)
from tests.backoffice.support import pdf
from tests.backoffice.uvg.money.support import office_with_bank
from tests.conftest import PASSWORD, _empty_all, make_settings, sign_in_citizen, sign_in_staff

# Whatever a page shows of A, her child, the father or her case contains one of these.
SURNAME, FATHER = "Quastenberg", "Zwirbelmann"
EMAIL = "sabine.quastenberg@example.org"
IBAN = "DE89370400440532013000"
HAUSHALTSSTELLE = "70 55/101 38-1"
APPLIED_ON = date(2026, 11, 10)
DECIDED_ON = date(2026, 11, 26)
MISSING_ID = 999_999
MISSING_CHILD = "k99"

# Each role alone (a combination would hide which role opens a door), with its Fachbereiche.
STAFF_PEOPLE: dict[str, tuple[tuple[Role, ...], tuple[str, ...]]] = {
    CLERK: ((Role.CLEARING,), ()),
    CASEWORKER: ((Role.CASEWORKER,), ("uvg",)),
    LEAD: ((Role.LEAD,), ("uvg",)),
    FESTSTELLER: ((Role.FESTSTELLER,), ("uvg",)),
    ANORDNER: ((Role.ANORDNER,), ("uvg",)),
    AUDITOR: ((Role.AUDITOR,), ()),
    ADMIN: ((Role.ADMIN,), ()),
    OTHER_CASEWORKER: ((Role.CASEWORKER,), ("wohngeld",)),
    OTHER_LEAD: ((Role.LEAD,), ("wohngeld",)),
}


@dataclass(frozen=True)
class Office:
    app: Flask
    ids: dict[str, Any]  # what the table's ``ids`` and ``@`` values name
    markers: tuple[str, ...]  # A's data, as a page would show it
    staff: dict[str, Staff]
    citizens: dict[str, Citizen]
    writes: list[str] = field(default_factory=list)  # statements of the request being asked


# --- the office -------------------------------------------------------------------------------


def _staff(username: str, roles: tuple[Role, ...], areas: tuple[str, ...]) -> Staff:
    person = Staff(username=username, full_name=f"Erika {username.title()}",
                   password_hash=hash_password(PASSWORD), active=True, failed_logins=0,
                   session_epoch=0)
    person.role_rows = [StaffRole(role=role) for role in roles]
    person.fachbereiche = [area for code in areas if (area := fachbereich_by_code(code))]
    db.session.add(person)
    return person


def _citizen(email: str) -> Citizen:
    citizen = Citizen(email=email, password_hash=hash_password(PASSWORD),
                      email_verified_at=utcnow(), session_epoch=0)
    db.session.add(citizen)
    return citizen


def _answers() -> dict[str, Any]:
    """A complete UVG application for Lea, as the portal's wizard stores it."""
    return {
        "children": [{"id": "k1", "person": {
            "first_name": "Lea", "last_name": SURNAME, "birth_date": "2018-03-14",
            "nationality": "german", "living_since": "2018-03-14"}}],
        "applicant": {"first_name": "Sabine", "last_name": SURNAME,
                      "birth_date": "1990-07-01", "street": "Hauptstraße 1",
                      "postcode": "97437", "city": "Haßfurt", "email": EMAIL,
                      "marital_status": "separated", "marital_since": "2023-01-01",
                      "lives_with_other_parent": "no"},
        "other_parent": {"first_name": "Tom", "last_name": FATHER, "address_known": "yes",
                         "maintenance_paid": "regular", "maintenance_amount": 5000},
        "orphan": {"receives": "no"},
        "earlier": {"received_before": "no"},
        "benefits": {},
        "bank": {"account_holder": f"Sabine {SURNAME}", "iban": IBAN},
        "declarations": {"report_changes": True, "repayment": True, "truthful": True,
                         "consent": True},
    }


def _draft(citizen: Citizen, surname: str = SURNAME) -> Draft:
    """An application begun: one child of 16 (so the school page applies), and a file."""
    today = berlin_today()
    born = date(today.year - 16, 1, 1).isoformat()
    actor = citizen_actor(citizen)
    draft = drafts.create_draft(citizen, "uvg", {
        "children": [{"id": "k1", "person": {"first_name": "Mia", "last_name": surname,
                                             "birth_date": born, "nationality": "german",
                                             "living_since": born}}],
        "next_child": 2, "done": ["person:k1"]}, "person:k1", actor)
    document = store_upload(io.BytesIO(pdf("Geburtsurkunde Mia")), "mia.pdf", actor)
    drafts.attach_document(draft, document, "birth_certificate:k1", actor)
    db.session.commit()
    return draft


def _submitted(citizen: Citizen) -> Submission:
    """A's application, sent from a draft (whose id became the submission's key)."""
    document = store_upload(io.BytesIO(pdf("Geburtsurkunde Lea")), "lea.pdf",
                            citizen_actor(citizen))
    return submit(citizen=citizen, kind=EingangKind.NEUANTRAG,
                  title="Antrag auf Unterhaltsvorschuss", idempotency_key=new_public_id(),
                  sender_name=f"Sabine {SURNAME}", service_code="uvg", answers=_answers(),
                  documents=[AttachedDocument(document, "birth_certificate:k1",
                                              "Geburtsurkunde")],
                  parties=[Party("child", "Lea", SURNAME, "2018-03-14"),
                           Party("applicant", "Sabine", SURNAME, "1990-07-01",
                                 "Hauptstraße 1\n97437 Haßfurt"),
                           Party("other_parent", "Tom", FATHER, "1988-01-01",
                                 "Lindenweg 5\n97437 Haßfurt")])


def _own_things(b: Citizen, other_caseworker: Staff) -> dict[str, Any]:
    """What citizen B and the Wohngeld caseworker may open: their doors, to try A's ids at."""
    own_draft = _draft(b, "Bergmann")
    letter = followups.send(b, "access-b", followups.general_request(
        "leistung:uvg", "Frage", "Eine Frage", ""),
        [FileStorage(io.BytesIO(pdf("Brief")), "brief.pdf")])
    wohngeld = fachbereich_by_code("wohngeld")
    assert wohngeld is not None
    own_case = open_case(fachbereich=wohngeld, parties=[
        PartyData("applicant", "Walter", "Wohngeld", "1970-01-01", "Ringstraße 2")],
        responsible=other_caseworker, actor=SYSTEM, source_eingang_id=None, title="Wohngeld")
    db.session.commit()
    return {"b_draft": own_draft.public_id, "b_submission": letter.public_id,
            "other_fall": own_case.id}


def _routed(eingang_id: int, clerk: Staff) -> int:
    """The clerk claims the item and routes it into a new UVG case."""
    uvg_area = fachbereich_by_code("uvg")
    assert uvg_area is not None
    taken = claim(eingang_id, clerk)
    routed = route(eingang_id, taken.version, RouteTarget(uvg_area.id), clerk)
    db.session.commit()
    assert routed.fall_id is not None
    return routed.fall_id


def _decided(fall: Fall, caseworker: Staff) -> tuple[int, int]:
    """Take Lea over, confirm, calculate and grant: (UVG child id, Bescheid id)."""
    actor = staff_actor(caseworker)
    [child] = uvg.take_over_children(fall, actor).created
    uvg.confirm_facts(child, uvg.ConfirmedFacts(
        birth_date=child.birth_date, application_date=APPLIED_ON, requested_from=None,
        maintenance_cents=child.maintenance_cents,
        orphan_benefit_cents=child.orphan_benefit_cents,
        child_income_cents=child.child_income_cents, left_school=child.left_school,
        trainee=child.trainee, payee_name=child.payee_name, payee_iban=IBAN), actor,
        today=DECIDED_ON)
    uvg.calculate_child(child, actor, today=DECIDED_ON)
    decision = uvg.prepare_decision(fall, DecisionKind.BEWILLIGUNG, actor)
    issue_decision(decision, actor, today=DECIDED_ON)
    db.session.commit()
    return child.id, decision.id


def _order(caseworker: Staff, fall: Fall) -> Sollstellung:
    return ihv.create_order(caseworker, direction=Direction.AUSZAHLUNG, amount_cents=24_900,
                            due_date=DECIDED_ON + timedelta(days=5),
                            haushaltsstelle=HAUSHALTSSTELLE, party_name=f"Sabine {SURNAME}",
                            party_street="Hauptstraße 1", party_postcode="97437",
                            party_city="Haßfurt", iban=IBAN, fall_id=fall.id)


def _treasury(app: Flask, people: dict[str, Staff], fall: Fall) -> dict[str, int]:
    """A draft order of the case, one sent to the treasury, and a booking nobody could match."""
    draft_order = _order(people[CASEWORKER], fall)
    sent = _order(people[CASEWORKER], fall)
    ihv.feststellen(people[FESTSTELLER], sent, sent.version)
    ihv.anordnen(people[ANORDNER], sent, sent.version)
    db.session.commit()
    draft_id = draft_order.id
    settings = app.config["AMTSWEG"]
    assert not send.send_transfers(settings).failed
    inbox: Path = settings.ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    record = transfer_format.BookingRecord("K1", "Unterhalt Lea", "annahme", 4_000,
                                           DECIDED_ON, f"Tom {FATHER}", "Unterhalt Lea")
    header = transfer_format.Header("LFF", "LfF", 1, datetime.now(UTC), 1, 4_000)
    with (inbox / "ist.xml").open("wb") as handle:
        transfer_format.write_bookings(handle, header, [record])
    assert not receive.receive_files(settings).rejected
    return {"order": draft_id,
            "transfer": db.session.scalars(select(Transfer.id)).one(),
            "import": db.session.scalars(select(ImportedFile.id)).one(),
            "booking": db.session.scalars(select(Booking.id)).one()}


def _build(app: Flask) -> Office:
    seed_fachbereiche()
    office_with_bank()
    people = {name: _staff(name, roles, areas) for name, (roles, areas) in STAFF_PEOPLE.items()}
    citizens = {CITIZEN_A: _citizen(EMAIL), CITIZEN_B: _citizen("fremd@example.org")}
    db.session.commit()
    a = citizens[CITIZEN_A]

    draft = _draft(a)
    submission = _submitted(a)
    fall_id = _routed(submission.eingang.id, people[CLERK])
    fall = db.session.get_one(Fall, fall_id)
    assign_case(fall, people[CASEWORKER], SYSTEM)
    db.session.commit()
    uvg_child, decision_id = _decided(fall, people[CASEWORKER])
    actor = staff_actor(people[CASEWORKER])
    deadline = add_deadline(fall, due_date=berlin_today() + timedelta(days=30),
                            reason="Nachweis", owner=None, actor=actor)
    bescheid = db.session.get_one(Decision, decision_id)
    widerspruch = record_objection(fall, bescheid, DECIDED_ON, actor, note="Zu wenig",
                                   today=DECIDED_ON)
    db.session.commit()

    # A's Widerspruch through the portal: it follows her application into the case on its
    # own, where it waits to be attached to the Bescheid.
    objection = followups.send_follow_up(
        a, submission, "access-widerspruch",
        followups.follow_up_outgoing("widerspruch", submission,
                                     {"decision": "Bescheid", "reason": "Zu wenig"}), [])
    objection_eingang = objection.eingang.id
    assert objection.eingang.fall_id == fall_id
    # A general request, on which the office asks her for a document.
    request = followups.send(a, "access-anfrage", followups.general_request(
        "leistung:uvg", "Frage", "Wie lange dauert es?", ""), [])
    message = request_from_citizen(request.eingang, "Bitte Meldebescheinigung",
                                   "Uns fehlt die Meldebescheinigung.", actor)
    db.session.commit()
    # A letter with a file, new in the queue: what the clearing pages are asked about, in the
    # state in which a claim would succeed (a refused one must change nothing).
    letter = followups.send(a, "access-brief", followups.general_request(
        "leistung:uvg", "Umzug", "Wir sind umgezogen.", ""),
        [FileStorage(io.BytesIO(pdf("Meldebescheinigung")), "meldung.pdf")])
    rules.ensure_default_rules()
    a.pending_email = "sabine.neu@example.org"
    db.session.commit()

    fall = db.session.get_one(Fall, fall_id)
    bescheid = db.session.get_one(Decision, decision_id)
    assert bescheid.postbox_message_id is not None, "the Bescheid reached no postbox"
    uvg_area = fachbereich_by_code("uvg")
    assert uvg_area is not None
    ids: dict[str, Any] = {
        "draft": draft.public_id,
        "draft_child": "k1",
        "draft_item": draft.documents[0].id,
        "submission": submission.public_id,
        "submission_item": submission.documents[0].id,
        "request": message.public_id,
        "bescheid_message": db.session.get_one(PostboxMessage,
                                               bescheid.postbox_message_id).public_id,
        "eingang": letter.eingang.id,
        "eingang_document": letter.documents[0].document_id,
        "objection_eingang": objection_eingang,
        "fall": fall_id,
        "party": next(p.id for p in fall.parties if p.role is PartyRole.APPLICANT),
        "liable_parent": next(p.id for p in fall.parties if p.role is PartyRole.OTHER_PARENT),
        # The application's birth certificate, filed in the E-Akte when it was routed.
        "case_document": db.session.scalars(select(CaseDocument.id).where(
            CaseDocument.fall_id == fall_id).order_by(CaseDocument.id).limit(1)).one(),
        "deadline": deadline.id,
        "decision": decision_id,
        "widerspruch": widerspruch.id,
        "uvg_child": uvg_child,
        "rule": rules.all_rules()[0].id,
        "staff_member": people[CASEWORKER].id,
        "fachbereich": uvg_area.id,
        "year": str(berlin_today().year),
        "submitted_draft": submission.idempotency_key,
        "verify_token": make_token(a, Purpose.VERIFY_EMAIL),
        "reset_token": make_token(a, Purpose.RESET_PASSWORD),
        "email_token": make_token(a, Purpose.CHANGE_EMAIL),
    }
    markers = (SURNAME, FATHER, EMAIL, fall.aktenzeichen, submission.reference)
    ids.update(_own_things(citizens[CITIZEN_B], people[OTHER_CASEWORKER]))
    # Sending and receiving empty the session (they stream thousands of orders): last.
    ids.update(_treasury(app, people, fall))
    people = {name: db.session.scalars(select(Staff).where(Staff.username == name)).one()
              for name in STAFF_PEOPLE}
    citizens = {CITIZEN_A: db.session.scalars(select(Citizen).where(Citizen.email == EMAIL)).one(),
                CITIZEN_B: db.session.scalars(select(Citizen).where(
                    Citizen.email == "fremd@example.org")).one()}
    db.session.expunge_all()
    return Office(app, ids, markers, people, citizens)


WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})
# Refusals write one thing: a denied look into another Fachbereich's case (§ 35 SGB I).
ACCESS_LOG = AccessLogEntry.__tablename__


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory,
           postgres_schema: str | None) -> Iterator[Office]:
    """One office for the module: the table asks some 2,500 questions of the same data."""
    app = create_app(make_settings(tmp_path_factory.mktemp("access"), postgres_schema))
    with app.app_context():
        if postgres_schema is None:
            db.create_all()
        built = _build(app)
        engine = db.engine

    def record_write(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split(None, 3)
        if words and words[0].upper() in WRITES and not (
                words[0].upper() == "INSERT" and words[2].strip('"') == ACCESS_LOG):
            built.writes.append(" ".join(words[:3]))

    event.listen(engine, "before_cursor_execute", record_write)
    yield built
    event.remove(engine, "before_cursor_execute", record_write)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if postgres_schema is not None:
        _empty_all(postgres_schema)


# --- asking ---------------------------------------------------------------------------------


def _client(office: Office, visitor: str) -> FlaskClient:
    client = office.app.test_client()
    if visitor in office.citizens:
        sign_in_citizen(client, office.citizens[visitor])
    elif visitor in office.staff:
        sign_in_staff(client, office.staff[visitor])
    return client


def _value(office: Office, value: str) -> str:
    return str(office.ids[value[1:]]) if value.startswith("@") else value


def _url(office: Office, endpoint: str, entry: Entry, *, missing: bool = False,
         own: Mapping[str, str] = MappingProxyType({})) -> str:
    """The entry's URL with A's ids, or (``missing``) with ids that name nothing at all; the
    ids named in ``own`` are replaced by the visitor's own (the door they may open)."""
    values: dict[str, Any] = {name: _value(office, value) for name, value in entry.fixed.items()}
    for name, key in entry.ids.items():
        real = office.ids[key]
        if key in own:
            values[name] = office.ids[own[key]]
        elif not missing:
            values[name] = real
        elif isinstance(real, int):
            values[name] = MISSING_ID
        elif key == "draft_child":
            values[name] = MISSING_CHILD
        else:
            values[name] = new_public_id()
    with office.app.test_request_context():
        url = url_for(endpoint, **values)
    if entry.query:
        url += "?" + entry.query.format(year=office.ids["year"],
                                        fachbereich=office.ids["fachbereich"])
    return url


@dataclass(frozen=True)
class Asked:
    """One answer: the response, what it left in the session (flashes for the next page, taken
    here, so that every page is asked with nothing pending) and what it wrote."""

    url: str
    response: TestResponse
    session: dict[str, Any]
    writes: list[str]

    @property
    def answer(self) -> str:
        if self.response.status_code in (301, 302, 303, 307, 308):
            return f"{self.response.status_code} → {self.location}"
        return str(self.response.status_code)

    @property
    def location(self) -> str:
        return urlsplit(self.response.headers.get("Location", "")).path

    def shows(self, marker: str) -> bool:
        return marker.encode() in self.response.get_data() or marker in self.response.headers.get(
            "Location", "") or marker in repr(self.session)

    def page(self) -> tuple[str, bytes, str]:
        """The answer as the visitor sees it, less the URL asked and the CSRF token."""
        body = TOKEN.sub(b"", self.response.get_data())
        for asked in (self.url, urlsplit(self.url).path):
            body = body.replace(asked.encode(), b"URL")
        return self.answer, body, repr(self.session).replace(self.url, "URL")


TOKEN = re.compile(rb'name="csrf_token"[^>]*value="[^"]+"')
# The identities are set by the test and the CSRF token differs per session: neither is news.
_NOT_NEWS = frozenset({"csrf_token", "staff", "citizen"})


def _ask(office: Office, client: FlaskClient, method: str, url: str,
         token: str | None) -> Asked:
    office.writes.clear()
    response = client.open(url, method=method,
                           data={"csrf_token": token} if method == "POST" else None)
    response.get_data()  # read (and so end) streamed bodies before the file is closed
    response.close()
    writes = list(office.writes)
    with client.session_transaction() as session:
        left = {key: value for key, value in session.items() if key not in _NOT_NEWS}
        session.pop("_flashes", None)
    return Asked(url, response, left, writes)


def _matches(expected: Answer, asked: Asked) -> bool:
    if isinstance(expected, Redirect):
        return asked.response.status_code == 302 and expected.matches(asked.location)
    return asked.response.status_code == expected


def _is_refusal(expected: Answer) -> bool:
    return (isinstance(expected, int) and expected != 200) or expected in (STAFF_LOGIN,
                                                                            CITIZEN_LOGIN)


def _token(client: FlaskClient) -> str:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the front page"
    return match.group(1)


def _check(office: Office, client: FlaskClient, visitor: str, endpoint: str, method: str,
           entry: Entry, token: str | None) -> list[str]:
    """Ask one route as one visitor; describe everything that is not as the table says."""
    expected = entry.expect[visitor]
    asked = _ask(office, client, method, _url(office, endpoint, entry), token)
    where = f"{method} {asked.url} ({endpoint})"
    problems = []
    if not _matches(expected, asked):
        problems.append(f"{where}: expected {expected} for {visitor}, got {asked.answer}")
    if visitor in OUTSIDERS or _is_refusal(expected):
        leaked = [marker for marker in office.markers if asked.shows(marker)]
        if leaked:
            problems.append(f"{where}: shows {leaked} to {visitor}")
    if _is_refusal(expected) and asked.writes:
        problems.append(f"{where}: refused {visitor}, but wrote {asked.writes}")
    if visitor in (ANONYMOUS, CITIZEN_B) and entry.ids:
        # No id in a URL tells an outsider anything: A's id answers as one that never existed.
        missing = _ask(office, client, method, _url(office, endpoint, entry, missing=True),
                       token)
        if asked.page() != missing.page():
            problems.append(f"{where}: {visitor} can tell A's ids from made-up ones "
                            f"({asked.answer} vs {missing.answer} at {missing.url})")
    return problems


# --- the tests ------------------------------------------------------------------------------


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}


def test_the_table_has_an_entry_for_every_route_and_no_other(office: Office) -> None:
    routes = _routes(office.app)
    missing = sorted(routes - set(TABLE))
    assert not missing, f"routes without an entry in tests/access_table.py: {missing}"
    stale = sorted(set(TABLE) - routes)
    assert not stale, f"entries in tests/access_table.py for routes that are gone: {stale}"
    arguments = {rule.endpoint: rule.arguments for rule in office.app.url_map.iter_rules()}
    for (endpoint, method), entry in TABLE.items():
        assert set(entry.expect) == set(VISITORS), (endpoint, method)
        assert {*entry.ids, *entry.fixed} == arguments[endpoint], (endpoint, method)
        if method == "GET":
            assert ALLOWED not in entry.expect.values(), (endpoint, "GET has an answer")


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_page_answers_each_visitor_as_the_table_says(office: Office, visitor: str) -> None:
    client = _client(office, visitor)
    logged = len(_access_log(office.app))
    problems = [problem for (endpoint, method), entry in sorted(TABLE.items())
                if method == "GET"
                for problem in _check(office, client, visitor, endpoint, method, entry, None)]
    assert not problems, "\n".join(problems)
    if visitor in (OTHER_CASEWORKER, OTHER_LEAD):
        # Each look into A's case from Wohngeld, also through an order of that case, was refused
        # and is written down, as refused.
        case_pages = [key for key, entry in TABLE.items() if key[1] == "GET"
                      and {"fall_id", "order_id"} & set(entry.ids)]
        written = _access_log(office.app)[logged:]
        assert written == [(office.staff[visitor].id, False)] * len(case_pages)


def _fingerprint(app: Flask) -> str:
    """Every row of every table but the access log, which refusals are meant to fill."""
    digest = hashlib.sha256()
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            if table.name == AccessLogEntry.__tablename__:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            for row in db.session.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _access_log(app: Flask) -> list[tuple[int | None, bool]]:
    """Who looked, and whether they were let in, oldest first."""
    with app.app_context():
        return [(staff_id, granted) for staff_id, granted in db.session.execute(
            select(AccessLogEntry.staff_id, AccessLogEntry.granted).order_by(AccessLogEntry.id))]


def test_every_refused_post_is_refused_and_changes_nothing(office: Office) -> None:
    clients = {visitor: _client(office, visitor) for visitor in VISITORS}
    tokens = {visitor: _token(client) for visitor, client in clients.items()}
    before, logged = _fingerprint(office.app), len(_access_log(office.app))
    problems = [problem for (endpoint, method), entry in sorted(TABLE.items()) if method == "POST"
                for visitor, answer in entry.expect.items() if answer is not ALLOWED
                for problem in _check(office, clients[visitor], visitor, endpoint, method, entry,
                                      tokens[visitor])]
    assert not problems, "\n".join(problems)
    # Not one statement wrote (each request above was watched); and the rows agree.
    assert _fingerprint(office.app) == before
    # The refused looks into A's case from Wohngeld, and nothing else, were written down.
    outsiders = {office.staff[OTHER_CASEWORKER].id, office.staff[OTHER_LEAD].id}
    written = _access_log(office.app)[logged:]
    assert written
    assert all(staff_id in outsiders and not granted for staff_id, granted in written)


# The doors B and the Wohngeld caseworker may open, and the ids of A's things inside that must
# not be found behind them. (A draft's child ids are the draft's own numbering, not A's.)
OWN_DOORS: dict[str, dict[str, str]] = {
    CITIZEN_B: {"draft": "b_draft", "submission": "b_submission"},
    OTHER_CASEWORKER: {"fall": "other_fall"},
}
LOCAL_IDS = frozenset({"draft_child"})


@pytest.mark.parametrize("visitor", sorted(OWN_DOORS))
def test_an_own_thing_never_opens_a_thing_of_a_inside_it(office: Office, visitor: str) -> None:
    """B's own draft with A's file's id, the Wohngeld case with A's Bescheid's id: the answer
    is the one for an id that does not exist, nothing of A shows, nothing is written."""
    client = _client(office, visitor)
    token = _token(client)
    doors = OWN_DOORS[visitor]
    tried, problems = 0, []
    for (endpoint, method), entry in sorted(TABLE.items()):
        inside = set(entry.ids.values()) - set(doors) - LOCAL_IDS
        if not set(entry.ids.values()) & set(doors) or not inside:
            continue
        tried += 1
        asked = _ask(office, client, method, _url(office, endpoint, entry, own=doors), token)
        missing = _ask(office, client, method,
                       _url(office, endpoint, entry, own=doors, missing=True), token)
        where = f"{method} {asked.url} ({endpoint})"
        if asked.page() != missing.page():
            problems.append(f"{where}: answers {asked.answer}, for a made-up id "
                            f"{missing.answer}")
        if leaked := [marker for marker in office.markers if asked.shows(marker)]:
            problems.append(f"{where}: shows {leaked} to {visitor}")
        if asked.writes:
            problems.append(f"{where}: wrote {asked.writes}")
    assert tried >= (3 if visitor == CITIZEN_B else 20)  # the doors really were tried
    assert not problems, "\n".join(problems)


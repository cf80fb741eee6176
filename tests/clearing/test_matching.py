"""Matching an intake item to existing cases and earlier items, with the reasons shown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from backoffice.models import Fall
from backoffice.queries import cases_by_party
from backoffice.services import PartyData
from clearing.matching import Match, MatchReason, find_matches
from clearing.models import Eingang, EingangKind
from clearing.services import Sender, create_eingang
from tests.backoffice.conftest import APPLICANT, CHILD, case_factory

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def create_case(app: Flask) -> Callable[..., Fall]:
    return case_factory(app)


def party(role: str, first: str, last: str, birth: str | None = None) -> dict[str, Any]:
    return {"role": role, "first_name": first, "last_name": last, "birth_date": birth,
            "address": None}


def item(*parties: dict[str, Any], subject: str = "Antrag auf Unterhaltsvorschuss",
         message: str = "", answers: Any = None, citizen_id: int | None = None,
         reference: str | None = None, payload: Any = None) -> Eingang:
    eingang = create_eingang(
        kind=EingangKind.NEUANTRAG, subject=subject, actor=SYSTEM, message=message,
        sender=Sender("Sabine Müller", citizen_id=citizen_id), reference=reference,
        payload=payload if payload is not None else {"answers": answers or {},
                                                     "parties": list(parties)})
    db.session.commit()
    return eingang


def reasons_by_case(matches: list[Match]) -> dict[str, list[MatchReason]]:
    return {m.case.aktenzeichen: m.reasons for m in matches if m.case is not None}


@pytest.mark.parametrize(("first", "last"), [
    ("Lea", "Müller"), ("LEA", "MÜLLER"), ("lea", "mueller"), ("Lea", "MUELLER"),
    (" Lea ", "Müller"),
])
def test_child_found_by_name_and_birth_date_in_any_spelling(create_case, first: str,
                                                            last: str) -> None:
    fall = create_case()
    create_case(parties=(PartyData("child", "Lea", "Müller", "2017-03-14"),))
    matches = find_matches(item(party("child", first, last, "2018-03-14")))
    assert reasons_by_case(matches) == {fall.aktenzeichen: [MatchReason.SAME_CHILD]}
    assert matches[0].reason_labels == ["gleiches Kind: Name und Geburtsdatum"]


def test_sharp_s_and_ss_are_the_same_name(create_case) -> None:
    fall = create_case(parties=(PartyData("child", "Jörg", "Weiß", "2016-01-02"),))
    matches = find_matches(item(party("child", "Joerg", "WEISS", "2016-01-02")))
    assert reasons_by_case(matches) == {fall.aktenzeichen: [MatchReason.SAME_CHILD]}


@pytest.mark.parametrize("child", [
    party("child", "Lea", "Müller", "2018-03-15"),  # another birthday
    party("child", "Lena", "Müller", "2018-03-14"),  # another child of the same family
    party("child", "Lea", "Müll", "2018-03-14"),
    party("child", "Lea", "Müller"),  # no birth date: a name alone fits too many children
    party("other_parent", "Lea", "Müller", "2018-03-14"),
])
def test_no_child_match_without_the_same_name_and_birth_date(create_case,
                                                             child: dict[str, Any]) -> None:
    create_case(parties=(CHILD,))
    assert find_matches(item(child)) == []


def test_child_of_the_item_does_not_match_an_adult_in_another_role(create_case) -> None:
    create_case(parties=(PartyData("applicant", "Lea", "Müller", "2018-03-14"),))
    assert find_matches(item(party("child", "Lea", "Müller", "2018-03-14"))) == []


def test_applicant_found_by_name_and_checked_against_birth_date(create_case) -> None:
    fall = create_case(parties=(APPLICANT,))
    other = create_case(parties=(PartyData("legal_representative", "Sabine", "Mueller"),))
    with_birth = find_matches(item(party("applicant", "SABINE", "Mueller", "1990-07-01")))
    assert reasons_by_case(with_birth) == {fall.aktenzeichen: [MatchReason.SAME_APPLICANT]}
    assert with_birth[0].reason_labels == ["gleiche antragstellende Person"]
    by_name = find_matches(item(party("applicant", "Sabine", "Müller")))
    assert set(reasons_by_case(by_name)) == {fall.aktenzeichen, other.aktenzeichen}
    assert find_matches(item(party("applicant", "Sabine", "Müller", "1991-07-01"))) == []
    assert find_matches(item(party("applicant", "Susanne", "Müller"))) == []


@pytest.mark.parametrize("where", ["subject", "message", "answers"])
def test_quoted_aktenzeichen_finds_its_case(create_case, where: str) -> None:
    fall = create_case()
    create_case()
    quoted = f"Nachreichung zum Aktenzeichen {fall.aktenzeichen.lower()}"
    fields: dict[str, dict[str, Any]] = {
        "subject": {"subject": quoted}, "message": {"message": quoted},
        "answers": {"answers": {"step": {"notes": [quoted]}}}}
    matches = find_matches(item(**fields[where]))
    assert reasons_by_case(matches) == {fall.aktenzeichen: [MatchReason.REFERENCE_QUOTED]}
    assert matches[0].reason_labels == ["Aktenzeichen/Referenz genannt"]


def test_unknown_aktenzeichen_or_reference_finds_nothing(create_case) -> None:
    create_case()
    assert find_matches(item(message="Aktenzeichen UV-2020-99999, Referenz "
                                     "AW-2026-0000999-3")) == []


def test_quoted_portal_reference_finds_the_earlier_item_and_its_case(create_case) -> None:
    earlier = item(reference="AW-2026-0000001-2", subject="Antrag")
    routed = item(reference="AW-2026-0000002-0", subject="Antrag")
    fall = create_case()
    routed.fall_id = fall.id
    db.session.commit()

    matches = find_matches(item(message="Zu aw-2026-0000001-2 und AW-2026-0000002-0"))
    assert [(m.eingang.id if m.eingang else None, m.case.fall_id if m.case else None,
             m.reasons) for m in matches] == [
        (None, fall.id, [MatchReason.REFERENCE_QUOTED]),
        (earlier.id, None, [MatchReason.REFERENCE_QUOTED])]


def test_follow_up_matches_the_item_it_follows(create_case) -> None:
    first = item(subject="Antrag")
    follow_up = create_eingang(kind=EingangKind.NACHREICHUNG, subject="Nachreichung",
                               sender=Sender("Sabine Müller"), actor=SYSTEM, related=first)
    db.session.commit()
    [match] = find_matches(follow_up)
    assert match.eingang is not None
    assert match.eingang.id == first.id
    assert match.reasons == [MatchReason.REFERENCE_QUOTED]


def test_same_account_finds_earlier_items_not_those_of_others(create_case,
                                                             create_citizen) -> None:
    sabine = create_citizen()
    stranger = create_citizen()
    earlier = item(citizen_id=sabine.id, subject="Nachricht")
    routed = item(citizen_id=sabine.id, subject="Antrag")
    fall = create_case()
    routed.fall_id = fall.id
    item(citizen_id=stranger.id, subject="fremd")
    db.session.commit()

    matches = find_matches(item(citizen_id=sabine.id, subject="Neu"))
    assert [(m.case.fall_id if m.case else None, m.eingang.id if m.eingang else None)
            for m in matches] == [(fall.id, None), (None, earlier.id)]
    assert all(m.reason_labels == ["gleiches Bürgerkonto"] for m in matches)
    assert find_matches(item(subject="ohne Konto")) == []


def test_one_case_found_several_ways_is_one_match_with_every_reason(create_case,
                                                                   create_citizen) -> None:
    sabine = create_citizen()
    fall = create_case()
    weaker = create_case(parties=(APPLICANT,))
    earlier = item(citizen_id=sabine.id)
    earlier.fall_id = fall.id
    db.session.commit()

    matches = find_matches(item(party("child", "Lea", "Müller", "2018-03-14"),
                                party("applicant", "Sabine", "Müller", "1990-07-01"),
                                citizen_id=sabine.id, message=f"Az. {fall.aktenzeichen}"))
    assert reasons_by_case(matches) == {
        fall.aktenzeichen: [MatchReason.SAME_CHILD, MatchReason.SAME_APPLICANT,
                            MatchReason.REFERENCE_QUOTED, MatchReason.SAME_ACCOUNT],
        weaker.aktenzeichen: [MatchReason.SAME_APPLICANT]}
    assert matches[0].case is not None
    assert matches[0].case.fall_id == fall.id


@pytest.mark.parametrize("payload", [
    {}, {"parties": "Lea"}, {"parties": [None, 1, [], {"role": "child"}]},
    {"answers": "AW-2026-0000001-2" * 5000}, {"answers": [[[[[[[[["UV-2026-00001"]]]]]]]]]},
    {"parties": [party("child", "Lea\x00", "Müller", "2018-03-14")]},
    {"parties": [party("child", "Lea", "Müller", "2018-02-31")]},
])
def test_hostile_payloads_match_nothing_and_break_nothing(create_case, payload: Any) -> None:
    create_case()
    assert find_matches(item(payload=payload)) == []


@contextmanager
def counted_statements() -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_matching_among_hundreds_of_cases_is_exact_and_needs_few_queries(create_case) -> None:
    surnames = ["Müller", "Mueller", "Schmidt", "Weiß", "Weiss", "Özdemir", "Nguyen", "Becker"]
    wanted = None
    for number in range(320):
        child = PartyData("child", f"Kind{number % 40}", surnames[number % len(surnames)],
                          f"20{10 + number % 8:02d}-0{1 + number % 9}-{10 + number % 17:02d}")
        fall = create_case(parties=(child, APPLICANT))
        if number == 201:
            wanted = (fall.aktenzeichen, child)
    assert wanted is not None
    aktenzeichen, child = wanted
    probe = item(party("child", child.first_name.upper(), child.last_name.upper()
                       .replace("Ü", "UE").replace("Ö", "OE").replace("ß", "SS"),
                       child.birth_date))

    with counted_statements() as statements:
        matches = find_matches(probe)
    assert reasons_by_case(matches) == {aktenzeichen: [MatchReason.SAME_CHILD]}
    # One lookup per person and per kind of number, not one per case.
    assert len(statements) <= 8


def test_person_search_uses_the_name_index(create_case) -> None:
    create_case()
    with counted_statements() as statements:
        cases_by_party("Müller", "Lea", None)
    statement, parameters = statements[0]
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        explain = "EXPLAIN QUERY PLAN "
    else:
        # A near-empty table is scanned whatever the indexes: ask which index it would take.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        explain = "EXPLAIN "
    plan = " ".join(str(row) for row in connection.exec_driver_sql(
        explain + statement, parameters))
    assert "ix_parties_last_name_key" in plan
    assert "SCAN parties" not in plan

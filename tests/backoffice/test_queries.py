"""Searching cases by person and Aktenzeichen, within the Fachbereiche a caller may see."""

from __future__ import annotations

from datetime import date

import pytest

from amtsweg.fachbereiche import fachbereich_by_code
from backoffice.models import FallStatus, PartyRole
from backoffice.queries import (
    aktenzeichen_in,
    case_by_aktenzeichen,
    case_list,
    case_rows,
    cases_by_party,
    fachbereich_scope,
    normalise_aktenzeichen,
)
from backoffice.services import PartyData
from tests.backoffice.conftest import APPLICANT, CHILD

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_cases_by_party_finds_by_folded_name_and_birth_date(create_case) -> None:
    fall = create_case()
    create_case(parties=(PartyData("child", "Lea", "Müller", "2019-03-14"),))
    create_case(parties=(PartyData("child", "Lena", "Müller", "2018-03-14"),))

    for last, first in (("Müller", "Lea"), ("MUELLER", "lea"), ("mueller", "LEA")):
        found = cases_by_party(last, first, date(2018, 3, 14))
        assert [case.aktenzeichen for case in found] == [fall.aktenzeichen]
    [case] = cases_by_party("Müller", "Lea", date(2018, 3, 14))
    assert case.matched_roles == frozenset({PartyRole.CHILD})
    assert case.fachbereich_name == "Unterhaltsvorschuss"
    assert case.status is FallStatus.OPEN
    assert [(p.role, p.first_name, p.birth_date) for p in case.parties] == [
        (PartyRole.CHILD, "Lea", date(2018, 3, 14)),
        (PartyRole.APPLICANT, "Sabine", date(1990, 7, 1))]


def test_cases_by_party_by_last_name_alone_lists_every_role(create_case) -> None:
    first = create_case()
    second = create_case(parties=(PartyData("other_parent", "Tom", "Mueller"),))
    create_case(parties=(PartyData("child", "Lea", "Maier", "2018-03-14"),))
    found = cases_by_party("Müller")
    assert {case.aktenzeichen for case in found} == {first.aktenzeichen, second.aktenzeichen}
    roles = {case.aktenzeichen: case.matched_roles for case in found}
    assert roles[first.aktenzeichen] == {PartyRole.CHILD, PartyRole.APPLICANT}
    assert cases_by_party("Müller", roles=(PartyRole.OTHER_PARENT,))[0].aktenzeichen == (
        second.aktenzeichen)


@pytest.mark.parametrize("name", ["", "  ", "---", "%", "M%", "_"])
def test_empty_or_wildcard_names_find_nothing(create_case, name: str) -> None:
    create_case()
    assert cases_by_party(name) == []


def test_caseworkers_see_only_their_fachbereiche(create_case, create_staff) -> None:
    uvg = create_case()
    wohngeld = create_case(fachbereich="wohngeld")
    worker = create_staff("uvg1", fachbereiche=("uvg",))
    scope = fachbereich_scope(worker)

    assert {c.aktenzeichen for c in cases_by_party("Müller", fachbereich_ids=scope)} == {
        uvg.aktenzeichen}
    assert case_by_aktenzeichen(wohngeld.aktenzeichen, fachbereich_ids=scope) is None
    assert case_by_aktenzeichen(uvg.aktenzeichen, fachbereich_ids=scope) is not None
    assert cases_by_party("Müller", fachbereich_ids=frozenset()) == []
    # Clearing looks across all of them (minimal facts only).
    assert len(cases_by_party("Müller")) == 2


def test_limit_stops_a_long_list(create_case) -> None:
    for _ in range(5):
        create_case(parties=(APPLICANT,))
    assert len(cases_by_party("Müller", "Sabine", limit=3)) == 3


def test_case_by_aktenzeichen_tolerates_case_and_spaces(create_case) -> None:
    fall = create_case()
    area = fachbereich_by_code("uvg")
    assert area is not None
    found = case_by_aktenzeichen(f"  {fall.aktenzeichen.lower()} ")
    assert found is not None
    assert found.fall_id == fall.id
    assert found.parties[0].last_name == CHILD.last_name


@pytest.mark.parametrize("text", ["", "UV-2026", "UV-2026-1", "2026-00001", "UV 2026 00001",
                                  "UV-2026-00001; DROP TABLE faelle", "x" * 1000])
def test_no_aktenzeichen_finds_nothing(create_case, text: str) -> None:
    create_case()
    assert normalise_aktenzeichen(text) is None
    assert case_by_aktenzeichen(text) is None


def test_aktenzeichen_in_free_text() -> None:
    text = "Betreff: Nachreichung zu uv-2026-00042 und BS-2025-00007, nochmal UV-2026-00042."
    assert aktenzeichen_in(text) == ["UV-2026-00042", "BS-2025-00007"]
    assert aktenzeichen_in("Telefon 0951-2026-12345678901") == []


def test_list_rows_name_the_children_and_the_applicant_in_recorded_order(create_case) -> None:
    fall = create_case(parties=(
        PartyData("child", "Lea", "Müller", "2018-03-14"),
        PartyData("other_parent", "Tom", "Schmidt"),
        PartyData("applicant", "Sabine", "Müller", "1990-07-01"),
        PartyData("child", "", "Ohnevorname", "2020-01-01")))
    nobody = create_case(parties=(PartyData("other_parent", "Tom", "Schmidt"),))
    # The liable parent is not named in a list; a missing first name leaves no stray space.
    expected = {fall.id: "Lea Müller, Sabine Müller, Ohnevorname", nobody.id: ""}
    rows = case_rows([nobody.id, fall.id])
    assert [(row.fall_id, row.names) for row in rows] == [
        (nobody.id, ""), (fall.id, expected[fall.id])]
    page = case_list([fall.fachbereich_id])
    assert {row.fall_id: row.names for row in page.rows} == expected

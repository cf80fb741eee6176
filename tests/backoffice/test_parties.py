"""Parties from a frozen queue payload: what a form produced is kept, anything else dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backoffice.services import MAX_PARTIES, PartyData, parties_from_payload

GOOD = {"role": "child", "first_name": " Lea ", "last_name": "Müller",
        "birth_date": "2018-03-14", "address": None}


def test_entries_as_portal_writes_them_are_read() -> None:
    payload = {"parties": [
        GOOD,
        {"role": "applicant", "first_name": "Sabine", "last_name": "Müller",
         "birth_date": None, "address": "Hauptstraße 1\n97437 Haßfurt"},
    ]}
    assert parties_from_payload(payload) == [
        PartyData("child", "Lea", "Müller", "2018-03-14", None),
        PartyData("applicant", "Sabine", "Müller", None, "Hauptstraße 1\n97437 Haßfurt"),
    ]


@pytest.mark.parametrize("payload", [
    None, "parties", 42, [], {}, {"parties": None}, {"parties": "Lea Müller"},
    {"parties": {"0": GOOD}}, {"answers": {"parties": [GOOD]}},
])
def test_payloads_without_a_party_list_give_none(payload: object) -> None:
    assert parties_from_payload(payload) == []


@pytest.mark.parametrize("broken", [
    None, "Lea Müller", 7, ["child", "Lea", "Müller"],
    {**GOOD, "role": "cousin"}, {**GOOD, "role": "CHILD"}, {**GOOD, "role": None},
    {**GOOD, "role": ["child"]},
    {**GOOD, "last_name": ""}, {**GOOD, "last_name": "   "}, {**GOOD, "last_name": None},
    {**GOOD, "last_name": 123}, {**GOOD, "first_name": None}, {**GOOD, "first_name": ["Lea"]},
    {**GOOD, "last_name": "M" * 101}, {**GOOD, "address": "x" * 501},
    {**GOOD, "last_name": "Mül\x00ler"}, {**GOOD, "first_name": "Lea\x1b[31m"},
    {**GOOD, "address": 5},
    {**GOOD, "birth_date": "14.03.2018"}, {**GOOD, "birth_date": "2018-02-30"},
    {**GOOD, "birth_date": "1850-01-01"}, {**GOOD, "birth_date": 20180314},
    {**GOOD, "birth_date": "2018-03-14T00:00:00"},
    {**GOOD, "birth_date": (datetime.now(UTC).date() + timedelta(days=400)).isoformat()},
    {"first_name": "Lea", "last_name": "Müller"},
])
def test_broken_entries_are_skipped_and_the_rest_kept(broken: object) -> None:
    parties = parties_from_payload({"parties": [broken, GOOD]})
    assert parties == [PartyData("child", "Lea", "Müller", "2018-03-14", None)]


def test_a_flood_of_entries_is_cut_off() -> None:
    parties = parties_from_payload({"parties": [GOOD] * 10_000})
    assert len(parties) == MAX_PARTIES


def test_markup_in_names_is_kept_as_text() -> None:
    # Not our job to strip it: templates escape it. It must not break anything either.
    hostile = {**GOOD, "last_name": "<script>alert(1)</script>"}
    assert parties_from_payload({"parties": [hostile]})[0].last_name == (
        "<script>alert(1)</script>")

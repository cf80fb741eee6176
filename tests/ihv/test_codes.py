"""Kassenzeichen check digits, Haushaltsstelle format and purpose texts: pure rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ihv import codes

years = st.integers(min_value=2000, max_value=9999)
numbers = st.integers(min_value=1, max_value=codes.MAX_RUNNING_NUMBER)


@given(years, numbers)
def test_every_made_kassenzeichen_is_valid_and_short(year: int, number: int) -> None:
    made = codes.make_kassenzeichen(year, number)
    assert codes.is_valid_kassenzeichen(made)
    assert len(made) <= 20
    assert codes.kassenzeichen_year(made) == year
    assert codes.is_valid_kassenzeichen(codes.format_kassenzeichen(made))
    assert codes.normalise_kassenzeichen(codes.format_kassenzeichen(made).lower()) == made


@given(years, numbers, st.integers(min_value=2, max_value=15), st.integers(1, 9))
def test_every_single_digit_error_is_caught(year: int, number: int, position: int,
                                            shift: int) -> None:
    made = codes.make_kassenzeichen(year, number)
    digit = int(made[position])
    wrong = made[:position] + str((digit + shift) % 10) + made[position + 1:]
    assert not codes.is_valid_kassenzeichen(wrong)


@given(years, numbers, st.integers(min_value=2, max_value=14))
def test_every_adjacent_swap_is_caught(year: int, number: int, position: int) -> None:
    made = codes.make_kassenzeichen(year, number)
    if made[position] == made[position + 1]:
        return  # swapping equal digits changes nothing
    swapped = made[:position] + made[position + 1] + made[position] + made[position + 2:]
    assert not codes.is_valid_kassenzeichen(swapped)


@pytest.mark.parametrize("text", [
    "", "KZ", "KZ2026", "KZ202600000123", "AW-2026-0000123-4", "KZ20260000000098",  # number 0
    "KZ2026000001237X", "XY20260000012374", "KZ 2026 00000123 75", "KZ20260000012374" * 3,
    "KZ２０２６00000123７４",  # full-width digits
])
def test_malformed_kassenzeichen_are_refused(text: str) -> None:
    assert not codes.is_valid_kassenzeichen(text)


def test_a_typed_kassenzeichen_in_any_grouping_is_accepted() -> None:
    assert codes.is_valid_kassenzeichen("kz-2026-00000123-74")
    assert codes.is_valid_kassenzeichen(" KZ 2026 00000123 74 ")
    assert codes.normalise_kassenzeichen("kz-2026-00000123-74") == "KZ20260000012374"


def test_make_kassenzeichen_refuses_numbers_out_of_range() -> None:
    with pytest.raises(ValueError, match="running number"):
        codes.make_kassenzeichen(2026, 0)
    with pytest.raises(ValueError, match="running number"):
        codes.make_kassenzeichen(2026, codes.MAX_RUNNING_NUMBER + 1)
    with pytest.raises(ValueError, match="year"):
        codes.make_kassenzeichen(1999, 1)


@pytest.mark.parametrize(("text", "canonical"), [
    ("70 55/101 38-1", "70 55/101 38-1"),
    ("7055/10138-1", "70 55/101 38-1"),
    ("7055101381", "70 55/101 38-1"),
    ("  70 55 / 101 38 - 1  ", "70 55/101 38-1"),
    ("70 55/101 38-1 ab12", "70 55/101 38-1 AB12"),
    ("70 55/101 38-1.123456", "70 55/101 38-1 123456"),
    ("05 03/682 01-7", "05 03/682 01-7"),
])
def test_haushaltsstellen_that_are_valid(text: str, canonical: str) -> None:
    assert codes.is_valid_haushaltsstelle(text)
    assert codes.normalise_haushaltsstelle(text) == canonical


@pytest.mark.parametrize("text", [
    "", "70 55/101 38", "70 55/101 38-", "70 5/101 38-1", "70 55/101 3-1", "70 55/101 38-12",
    "7O 55/101 38-1", "70 55/101 38-1 1234567", "70 55/101 38-1 ab-12", "70-55/101-38-1x",
    "70 55/101 38-1\x00", "<script>", "7" * 200,
])
def test_haushaltsstellen_that_are_not(text: str) -> None:
    assert not codes.is_valid_haushaltsstelle(text)
    with pytest.raises(ValueError, match="Haushaltsstelle"):
        codes.normalise_haushaltsstelle(text)


def test_purpose_text_starts_with_the_kassenzeichen_and_speaks_sepa() -> None:
    text = codes.purpose_text("KZ-2026-00000123-74", "UVG März 2026", "Jürgen Öß & Søn",
                              "Zoë <b>€</b>")
    assert text.startswith("KZ20260000012374 ")
    assert codes.is_sepa_text(text)
    assert "Maerz" in text
    assert "Juergen Oess + Son" in text
    assert "Zoe" in text


@given(st.text(max_size=400))
def test_purpose_text_is_always_sepa_and_at_most_140(parts: str) -> None:
    text = codes.purpose_text("KZ20260000012374", parts)
    assert len(text) <= 140
    assert codes.is_sepa_text(text)
    assert text.startswith("KZ20260000012374")

"""Reference numbers citizens quote: ``AW-2026-0000123-4``.

The last digit is a Luhn check digit over the year and the number, so a clerk who mistypes one
digit or swaps two neighbours is told at once instead of finding someone else's item.
"""

from __future__ import annotations

import re

PATTERN = re.compile(r"^AW-(\d{4})-(\d{7})-(\d)$")


def luhn_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def make_reference(year: int, number: int) -> str:
    body = f"{year:04d}{number:07d}"
    return f"AW-{year:04d}-{number:07d}-{luhn_digit(body)}"


def is_valid_reference(text: str) -> bool:
    match = PATTERN.match(text.strip().upper())
    if match is None:
        return False
    year, number, check = match.groups()
    return luhn_digit(year + number) == int(check)

"""The UVG amounts and the income allowances, as data: one row per validity period.

A new year is a new row here, never new code. Sources for every figure: DOMAIN.md §1.1.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cached_property

AGE_BANDS: tuple[str, ...] = ("0-5", "6-11", "12-17")


@dataclass(frozen=True)
class AmountRow:
    """The monthly UVG amount per age band, valid from ``valid_from`` until the next row."""

    valid_from: date
    # § 1612a Abs. 1 S. 3 Nr. 1–3 BGB with the Mindestunterhaltsverordnung, in cents
    minimum_maintenance_cents: tuple[int, int, int]
    # § 2 Abs. 2 UVG: the Kindergeld for a first child is deducted in full
    kindergeld_cents: int
    source: str

    @cached_property
    def uvg_cents(self) -> tuple[int, int, int]:
        """§ 2 Abs. 1 and 2 UVG: Mindestunterhalt minus the full Kindergeld, per age band."""
        return tuple(m - self.kindergeld_cents  # type: ignore[return-value]
                     for m in self.minimum_maintenance_cents)

    def cents_for(self, age_band: str) -> int:
        return self.uvg_cents[AGE_BANDS.index(age_band)]


AMOUNT_ROWS: tuple[AmountRow, ...] = (
    # 6. ÄndVO MindUhV (BGBl. 2023 I Nr. 330); Kindergeld 250 EUR -> UVG 230 / 301 / 395 EUR
    AmountRow(date(2024, 1, 1), (48000, 55100, 64500), 25000,
              "Mindestunterhalt 2024 (BGBl. 2023 I Nr. 330), Kindergeld 250 EUR"),
    # 7. ÄndVO MindUhV (BGBl. 2024 I Nr. 359); Kindergeld 255 EUR (BGBl. 2024 I Nr. 449)
    # -> UVG 227 / 299 / 394 EUR
    AmountRow(date(2025, 1, 1), (48200, 55400, 64900), 25500,
              "Mindestunterhalt 2025 (BGBl. 2024 I Nr. 359), Kindergeld 255 EUR"),
    # 7. ÄndVO MindUhV, second step; Kindergeld 259 EUR -> UVG unchanged 227 / 299 / 394 EUR
    AmountRow(date(2026, 1, 1), (48600, 55800, 65300), 25900,
              "Mindestunterhalt 2026 (BGBl. 2024 I Nr. 359), Kindergeld 259 EUR"),
)


@dataclass(frozen=True)
class AllowanceRow:
    """§ 9a Satz 1 Nr. 1 Buchst. a EStG: the Arbeitnehmer-Pauschbetrag per year, in cents."""

    valid_from: date
    employee_allowance_cents_per_year: int

    @property
    def monthly_cents(self) -> int:
        # § 2 Abs. 4 S. 2 UVG deducts one twelfth; 1,230 EUR / 12 = 102.50 EUR exactly
        return self.employee_allowance_cents_per_year // 12


ALLOWANCE_ROWS: tuple[AllowanceRow, ...] = (
    # raised from 1,200 to 1,230 EUR by the Jahressteuergesetz 2022, from 1 January 2023
    AllowanceRow(date(2023, 1, 1), 123000),
)

# § 2 Abs. 4 S. 2 UVG: a trainee's earnings are reduced by a further 100 EUR per month
TRAINEE_ALLOWANCE_CENTS = 10000


class NoAmountsError(LookupError):
    """No row covers the month: the table starts later."""


_AMOUNT_STARTS = [row.valid_from for row in AMOUNT_ROWS]
_ALLOWANCE_STARTS = [row.valid_from for row in ALLOWANCE_ROWS]


def _row_for(rows: tuple[AmountRow, ...] | tuple[AllowanceRow, ...], starts: list[date],
             month: date) -> AmountRow | AllowanceRow:
    index = bisect_right(starts, month) - 1
    if index < 0:
        raise NoAmountsError(month)
    return rows[index]


def amount_row_for(month: date) -> AmountRow:
    """The UVG amounts valid in ``month``; the last row stays valid until a newer row is added."""
    row = _row_for(AMOUNT_ROWS, _AMOUNT_STARTS, month)
    assert isinstance(row, AmountRow)
    return row


def allowance_row_for(month: date) -> AllowanceRow:
    row = _row_for(ALLOWANCE_ROWS, _ALLOWANCE_STARTS, month)
    assert isinstance(row, AllowanceRow)
    return row


def first_known_month() -> date:
    return AMOUNT_ROWS[0].valid_from

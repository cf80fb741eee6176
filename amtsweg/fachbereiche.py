"""The Fachbereiche an office starts with, and their retention periods.

Retention in years after the case closed, from the Bavarian StMAS recommendation
(AMS VI 5/7273/1/03 of 26.7.2004; DOMAIN.md §2): UVG, Beistandschaft 10, Vormundschaft 30.
Where the recommendation names no figure we use 10 years, the common period for social files.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from amtsweg.extensions import db
from amtsweg.staff.models import Fachbereich


class FachbereichSeed(NamedTuple):
    code: str
    name: str
    retention_years: int


DEFAULT_FACHBEREICHE: tuple[FachbereichSeed, ...] = (
    FachbereichSeed("uvg", "Unterhaltsvorschuss", 10),
    FachbereichSeed("beistandschaft", "Beistandschaft und Beurkundung", 10),
    FachbereichSeed("vormundschaft", "Vormundschaft", 30),
    FachbereichSeed("wjh", "Wirtschaftliche Jugendhilfe", 10),
    FachbereichSeed("asd", "Allgemeiner Sozialer Dienst", 10),
    FachbereichSeed("jgh", "Jugendgerichtshilfe", 10),
    FachbereichSeed("sozialhilfe", "Sozialhilfe", 10),
    FachbereichSeed("wohngeld", "Wohngeld", 10),
)


def seed_fachbereiche() -> int:
    """Insert the default Fachbereiche that are missing; return how many were added."""
    existing = set(db.session.scalars(select(Fachbereich.code)))
    missing = [seed for seed in DEFAULT_FACHBEREICHE if seed.code not in existing]
    for seed in missing:
        db.session.add(Fachbereich(code=seed.code, name=seed.name,
                                   retention_years=seed.retention_years))
    return len(missing)


def fachbereich_by_code(code: str) -> Fachbereich | None:
    return db.session.scalar(select(Fachbereich).where(Fachbereich.code == code))

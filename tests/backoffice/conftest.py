"""Factories for cases: ``create_case(...)`` opens one through the real service and commits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from flask import Flask

# Every model the app registers must be known before the session fixture builds the PostgreSQL
# schema (the app factory imports the portal's and clearing's lazily, with their blueprints).
import amtsweg.postbox.models  # noqa: F401
import backoffice.models  # noqa: F401
import clearing.models  # noqa: F401
import portal.models  # noqa: F401
from amtsweg.audit.services import SYSTEM, Actor
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.staff.models import Staff
from backoffice.models import Fall
from backoffice.services import PartyData, open_case

CHILD = PartyData("child", "Lea", "Müller", "2018-03-14")
APPLICANT = PartyData("applicant", "Sabine", "Müller", "1990-07-01", "Hauptstraße 1, Haßfurt")


def case_factory(app: Flask) -> Callable[..., Fall]:
    """Open a case and commit; use inside an app context (``app_ctx``)."""

    def factory(parties: Sequence[PartyData] = (CHILD, APPLICANT), *, fachbereich: str = "uvg",
                responsible: Staff | None = None, actor: Actor = SYSTEM,
                source_eingang_id: int | None = None,
                title: str = "Antrag auf Unterhaltsvorschuss") -> Fall:
        area = fachbereich_by_code(fachbereich)
        assert area is not None
        if responsible is not None:
            responsible = db.session.merge(responsible)
        fall = open_case(fachbereich=area, parties=parties, responsible=responsible, actor=actor,
                         source_eingang_id=source_eingang_id, title=title)
        db.session.commit()
        return fall

    return factory


@pytest.fixture
def create_case(app: Flask) -> Callable[..., Fall]:
    return case_factory(app)

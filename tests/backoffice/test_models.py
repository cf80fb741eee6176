"""The case tables keep their states honest in the database too."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError, StatementError

from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from backoffice.models import Fall, FallEvent, FallStatus, Party, name_key

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.mark.parametrize(("spelling", "key"), [
    ("Müller", "mueller"), ("MUELLER", "mueller"), ("mueller", "mueller"),
    ("Weiß", "weiss"), ("WEISS", "weiss"), ("Weiss", "weiss"),
    ("Müller-Lüdenscheidt", "muellerluedenscheidt"), ("Müller Lüdenscheidt",
                                                      "muellerluedenscheidt"),
    ("Özdemir", "oezdemir"), ("José", "jose"), ("  Anna  ", "anna"), ("O'Brien", "obrien"),
    ("", ""), ("---", ""),
])
def test_name_key_folds_case_umlauts_and_punctuation(spelling: str, key: str) -> None:
    assert name_key(spelling) == key


def test_name_keys_follow_every_name_change(create_case) -> None:
    fall = create_case()
    party = fall.parties[0]
    party.last_name = "Groß"
    party.first_name = "Jürgen"
    db.session.commit()
    stored = db.session.execute(select(Party.last_name_key, Party.first_name_key)
                                .where(Party.id == party.id)).one()
    assert tuple(stored) == ("gross", "juergen")


def _insert_fall(aktenzeichen: str, **values: object) -> None:
    area = fachbereich_by_code("uvg")
    assert area is not None
    db.session.execute(insert(Fall).values(aktenzeichen=aktenzeichen, fachbereich_id=area.id,
                                           title="", opened_at=utcnow(), version=1, **values))


def test_aktenzeichen_is_unique(create_case) -> None:
    fall = create_case()
    with pytest.raises(IntegrityError):
        _insert_fall(fall.aktenzeichen, status="open")
    db.session.rollback()


@pytest.mark.parametrize("status", ["geschlossen", "OPEN", "", "routed"])
def test_unknown_status_is_refused_by_the_database(status: str) -> None:
    with pytest.raises((IntegrityError, StatementError)):
        _insert_fall("UV-2026-99999", status=status)
    db.session.rollback()
    # Past the Python enum too: the CheckConstraint refuses a raw SQL write.
    area = fachbereich_by_code("uvg")
    assert area is not None
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Fall).values(
            aktenzeichen="UV-2026-99998", fachbereich_id=area.id, title="", opened_at=utcnow(),
            version=1, status=literal_column(f"'{status}'")))
    db.session.rollback()


def test_closed_case_needs_closed_at_and_open_case_none(create_case) -> None:
    fall = create_case()
    with pytest.raises(IntegrityError):
        db.session.execute(update(Fall).where(Fall.id == fall.id).values(status="closed"))
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(update(Fall).where(Fall.id == fall.id).values(closed_at=utcnow()))
    db.session.rollback()
    db.session.execute(update(Fall).where(Fall.id == fall.id)
                       .values(status=FallStatus.CLOSED, closed_at=utcnow()))
    db.session.commit()


def test_party_needs_a_last_name(create_case) -> None:
    fall = create_case()
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Party).values(fall_id=fall.id, role="child", first_name="Lea",
                                                last_name="", first_name_key="lea",
                                                last_name_key="", address=""))
    db.session.rollback()


def test_unknown_party_role_is_refused(create_case) -> None:
    fall = create_case()
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Party).values(
            fall_id=fall.id, role=literal_column("'cousin'"), first_name="Lea",
            last_name="Müller", first_name_key="lea", last_name_key="mueller", address=""))
    db.session.rollback()


def test_event_needs_a_kind(create_case) -> None:
    fall = create_case()
    with pytest.raises(IntegrityError):
        db.session.execute(insert(FallEvent).values(fall_id=fall.id, kind="", summary="",
                                                    actor_name="x", at=utcnow()))
    db.session.rollback()

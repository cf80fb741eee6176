"""Clerks opening cases at the same moment never get the same Aktenzeichen (PostgreSQL)."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import select

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from backoffice.models import Fall
from backoffice.services import open_case
from tests.backoffice.conftest import CHILD

# On PostgreSQL this races real row locks; on SQLite the writers queue on the database lock,
# and the numbers must come out the same.

THREADS = 12
CASES_PER_THREAD = 5


def test_concurrent_openings_get_distinct_consecutive_numbers(app: Flask) -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def clerk(index: int) -> None:
        try:
            with app.app_context():
                area = fachbereich_by_code("uvg" if index % 3 else "wohngeld")
                assert area is not None
                start.wait()
                for _ in range(CASES_PER_THREAD):
                    open_case(fachbereich=area, parties=(CHILD,), responsible=None,
                              actor=SYSTEM, source_eingang_id=None, title="parallel")
                    db.session.commit()
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []

    with app.app_context():
        numbers = db.session.scalars(select(Fall.aktenzeichen)).all()
    assert len(numbers) == THREADS * CASES_PER_THREAD == len(set(numbers))
    for prefix in ("UV", "WG"):
        running = sorted(int(n.rsplit("-", 1)[1]) for n in numbers if n.startswith(prefix))
        assert running == list(range(1, len(running) + 1))

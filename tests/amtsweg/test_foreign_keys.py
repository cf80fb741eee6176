"""Foreign keys hold on both databases: SQLite, the embedded default, refuses a reference to a
missing row and carries out ON DELETE rules as PostgreSQL does (it ignores both unless each
connection switches them on), and migrations on SQLite leave that switch on."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError

from amtsweg.app import create_app
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from clearing.models import Eingang, EingangKind, EingangStatus
from portal.models import Draft, DraftDocument
from storage.models import Document
from tests.conftest import make_settings

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


def _draft(citizen_id: int) -> Draft:
    return Draft(public_id=f"draft-{citizen_id}", citizen_id=citizen_id, service_code="uvg",
                 answers={}, last_step="person", created_at=NOW, updated_at=NOW,
                 expires_at=NOW + timedelta(days=30))


def _document(citizen_id: int) -> Document:
    return Document(filename="brief.pdf", media_type="application/pdf", size=3,
                    sha256="0" * 64, storage_key="ab/" + "c" * 40, owner_kind="citizen",
                    owner_id=citizen_id, created_at=NOW)


def test_a_reference_to_a_missing_row_is_refused(app: Flask) -> None:
    with app.app_context():
        db.session.add(DraftDocument(draft_id=987654, document_id=987654,
                                     requirement="birth_certificate:1"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(DraftDocument)) is None


def test_deleting_a_row_carries_out_cascade_and_set_null(
        app: Flask, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen()
    with app.app_context():
        draft, document = _draft(citizen.id), _document(citizen.id)
        db.session.add_all([draft, document])
        db.session.flush()
        db.session.add(DraftDocument(draft_id=draft.id, document_id=document.id,
                                     requirement="birth_certificate:1"))
        db.session.add(Eingang(kind=EingangKind.NEUANTRAG, status=EingangStatus.NEW,
                               subject="Antrag", received_at=NOW, citizen_id=citizen.id))
        db.session.commit()

        # A statement, not an ORM delete: the database alone must carry out the rules.
        db.session.execute(delete(Citizen).where(Citizen.id == citizen.id))
        db.session.commit()

        assert db.session.scalar(select(Draft)) is None  # drafts.citizen_id: CASCADE
        assert db.session.scalar(select(DraftDocument)) is None  # draft_documents: CASCADE
        eingang = db.session.scalar(select(Eingang))
        assert eingang is not None
        assert eingang.citizen_id is None  # SET NULL
        assert db.session.get(Document, document.id) is not None  # no rule: the file stays


# The switch exists only on SQLite: these tests make their own SQLite file on either run.


def test_migrations_leave_the_switch_on_and_refuse_dangling_rows(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "migrated.sqlite3"
    app = create_app(make_settings(tmp_path, f"sqlite:///{path}"))
    with app.app_context():
        upgrade()
        # The pool hands out the connection the migrations used: enforcement is on again.
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        db.session.remove()

        # Rows written while nothing was enforced (as by this app before, or by hand).
        with sqlite3.connect(path) as raw:
            raw.execute("INSERT INTO draft_documents (draft_id, document_id, requirement) "
                        "VALUES (4711, 4712, 'geheim')")
        with pytest.raises(SystemExit):  # how Flask-Migrate ends a failed upgrade
            upgrade()
        # Alembic's logging setup writes to stderr (it replaces the root logger's handlers).
        refusal = capfd.readouterr().err
        assert "draft_documents (1 row)" in refusal
        assert "geheim" not in refusal  # table names only, no content
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()


REBUILD_CITIZENS = '''"""Rebuild the citizens table, as a batch migration on SQLite does."""
import sqlalchemy as sa
from alembic import op

revision = "f0f0f0f0f0f0"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("citizens", recreate="always") as batch_op:
        batch_op.add_column(sa.Column("probe", sa.String(10), nullable=True))


def downgrade():
    with op.batch_alter_table("citizens", recreate="always") as batch_op:
        batch_op.drop_column("probe")
'''


def test_a_migration_that_rebuilds_a_table_keeps_the_rows_pointing_at_it(
        tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(Path(__file__).resolve().parents[2] / "migrations", migrations,
                    ignore=shutil.ignore_patterns("__pycache__"))
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"))
    with app.app_context():
        upgrade(directory=str(migrations))
        head = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        citizen = Citizen(email="lea@example.org", password_hash="x", session_epoch=0)
        db.session.add(citizen)
        db.session.flush()
        db.session.add(_draft(citizen.id))
        db.session.commit()
        (migrations / "versions" / "f0f0f0f0f0f0_rebuild_citizens.py").write_text(
            REBUILD_CITIZENS.replace("{head}", head))

        upgrade(directory=str(migrations))

        # The rebuild dropped the old citizens table: with enforcement on during the
        # migration, that drop would have deleted the draft (drafts.citizen_id: CASCADE).
        assert db.session.scalar(select(Draft.citizen_id)) == citizen.id
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()

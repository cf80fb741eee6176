"""Documents: row and blob stay together through commit, rollback and deletion; audited."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from amtsweg.app import create_app
from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import ANONYMOUS, SYSTEM
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.sessions import citizen_actor
from storage.blobstore import BlobStore, get_blobstore
from storage.checks import RejectedUpload
from storage.models import Document
from storage.services import (
    content_disposition,
    delete_document,
    document_response,
    open_document,
    store_generated,
    store_upload,
)
from tests.storage.conftest import image_bytes, pdf_bytes


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def stored_keys(store: BlobStore, documents: list[Document]) -> list[bool]:
    return [store.exists(d.storage_key) for d in documents]


@pytest.mark.usefixtures("app_ctx")
def test_store_upload_writes_row_blob_and_audit_entry(create_citizen: Callable[..., Any]) -> None:
    citizen = create_citizen()
    content = pdf_bytes()

    document = store_upload(io.BytesIO(content), "../Geburtsurkunde Lea.pdf",
                            citizen_actor(citizen))
    db.session.commit()

    assert document.filename == "Geburtsurkunde Lea.pdf"
    assert document.media_type == "application/pdf"
    assert document.size == len(content)
    assert (document.owner_kind, document.owner_id) == ("citizen", citizen.id)
    with open_document(document) as stream:
        assert stream.read() == content
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "document.stored")).one()
    assert entry.object_id == str(document.id)
    assert entry.actor_id == citizen.id
    assert entry.after is not None
    assert entry.after["sha256"] == document.sha256


@pytest.mark.usefixtures("app_ctx")
def test_rejected_upload_changes_nothing() -> None:
    store = get_blobstore()
    with pytest.raises(RejectedUpload):
        store_upload(io.BytesIO(b"MZ" + b"\x00" * 100), "virus.pdf", SYSTEM)
    db.session.commit()

    assert count(Document) == 0
    assert count(AuditEntry) == 0
    assert _blob_files(store) == []


def _blob_files(store: BlobStore) -> list[str]:
    root = getattr(store, "root", None)
    if root is None or not root.exists():
        return []
    return [str(p) for p in root.rglob("*") if p.is_file()]


@pytest.mark.usefixtures("app_ctx")
def test_rollback_deletes_the_blob_written_in_the_transaction() -> None:
    document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    key = document.storage_key
    assert get_blobstore().exists(key)

    db.session.rollback()

    assert not get_blobstore().exists(key)
    assert count(Document) == 0


@pytest.mark.usefixtures("app_ctx")
def test_closing_the_session_without_commit_deletes_the_blob() -> None:
    key = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM).storage_key

    db.session.remove()  # the end of a request that never committed

    assert not get_blobstore().exists(key)


@pytest.mark.usefixtures("app_ctx")
def test_a_failing_flush_rolls_back_and_leaves_no_blob() -> None:
    first = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()
    second = store_upload(io.BytesIO(pdf_bytes()), "b.pdf", SYSTEM)
    second_key = second.storage_key
    second.storage_key = first.storage_key  # a unique violation, as a bug would cause

    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()

    assert not get_blobstore().exists(second_key)
    assert get_blobstore().exists(first.storage_key)


@pytest.mark.usefixtures("app_ctx")
def test_committed_blobs_stay_after_later_transactions() -> None:
    key = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM).storage_key
    db.session.commit()
    db.session.rollback()
    db.session.remove()

    assert get_blobstore().exists(key)


@pytest.mark.usefixtures("app_ctx")
def test_failing_blob_write_adds_no_row(monkeypatch: pytest.MonkeyPatch) -> None:
    store = get_blobstore()

    def broken_put(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    # The disk itself cannot be filled in a test; the failure is injected at the store's edge.
    monkeypatch.setattr(store, "put", broken_put)
    with pytest.raises(OSError, match="disk full"):
        store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()

    assert count(Document) == 0
    assert count(AuditEntry) == 0


@pytest.mark.usefixtures("app_ctx")
def test_anonymous_visitors_cannot_own_documents() -> None:
    with pytest.raises(ValueError, match="anonymous"):
        store_upload(io.BytesIO(pdf_bytes()), "a.pdf", ANONYMOUS)


@pytest.mark.usefixtures("app_ctx")
def test_delete_removes_row_and_blob_after_commit_and_is_audited() -> None:
    document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()
    key = document.storage_key

    delete_document(document, SYSTEM)
    assert get_blobstore().exists(key)  # not before the row is gone for good
    db.session.commit()

    assert not get_blobstore().exists(key)
    assert count(Document) == 0
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["document.stored", "document.deleted"]


@pytest.mark.usefixtures("app_ctx")
def test_rolled_back_delete_keeps_the_blob() -> None:
    document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()
    key = document.storage_key

    delete_document(document, SYSTEM)
    db.session.rollback()

    assert get_blobstore().exists(key)
    assert count(Document) == 1


@pytest.mark.usefixtures("app_ctx")
def test_a_delete_in_a_released_savepoint_keeps_the_blob_until_the_outer_commit() -> None:
    document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()
    key = document.storage_key

    # A write first: SQLite's driver begins a transaction only at one, and a savepoint released
    # outside a transaction would commit.
    document.filename = "b.pdf"
    db.session.flush()
    with db.session.begin_nested():
        delete_document(document, SYSTEM)
    assert get_blobstore().exists(key)
    db.session.rollback()  # the outer transaction does not go through after all

    assert get_blobstore().exists(key)
    assert count(Document) == 1


def _begin_with_a_write(document: Document) -> None:
    # SQLite's driver begins a transaction only at a write, and a savepoint opened outside a
    # transaction would commit on its release.
    document.filename = "geaendert.pdf"
    db.session.flush()


@pytest.mark.usefixtures("app_ctx")
def test_a_delete_in_a_savepoint_rolled_back_keeps_the_blob_after_the_outer_commit() -> None:
    document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()
    key = document.storage_key

    _begin_with_a_write(document)
    savepoint = db.session.begin_nested()
    delete_document(document, SYSTEM)
    savepoint.rollback()  # one item of a bulk action failed: its delete is undone
    db.session.commit()

    # The row is back, so its file must be too.
    assert count(Document) == 1
    assert get_blobstore().exists(key)


@pytest.mark.usefixtures("app_ctx")
def test_a_file_stored_in_a_savepoint_rolled_back_is_deleted_and_the_rest_stays() -> None:
    kept = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()
    _begin_with_a_write(kept)
    before = store_upload(io.BytesIO(pdf_bytes()), "davor.pdf", SYSTEM)
    savepoint = db.session.begin_nested()
    dropped = store_upload(io.BytesIO(pdf_bytes()), "verworfen.pdf", SYSTEM)
    dropped_key = dropped.storage_key
    savepoint.rollback()

    # No row will ever name this file: it goes with its savepoint, not left behind unfindable
    # (a retention run deletes documents by their rows).
    assert not get_blobstore().exists(dropped_key)
    db.session.commit()
    assert stored_keys(get_blobstore(), [kept, before]) == [True, True]
    assert count(Document) == 2


@pytest.mark.usefixtures("app_ctx")
def test_a_file_of_a_released_inner_savepoint_goes_when_the_outer_savepoint_rolls_back() -> None:
    kept = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()
    _begin_with_a_write(kept)
    outer = db.session.begin_nested()
    with db.session.begin_nested():
        inner = store_upload(io.BytesIO(pdf_bytes()), "innen.pdf", SYSTEM)
    inner_key = inner.storage_key
    assert get_blobstore().exists(inner_key)  # released: the outer savepoint still decides
    outer.rollback()
    db.session.commit()

    assert not get_blobstore().exists(inner_key)
    assert get_blobstore().exists(kept.storage_key)
    assert count(Document) == 1


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize(("column", "value"), [
    ("size", 0), ("media_type", "text/html"), ("sha256", "g" * 64), ("sha256", "a" * 63),
    ("owner_kind", "anonymous"),
])
def test_database_constraints_keep_rows_honest(column: str, value: object) -> None:
    values: dict[str, object] = {"filename": "a.pdf", "media_type": "application/pdf",
                                 "size": 10, "sha256": "a" * 64, "storage_key": "ab/cd/x",
                                 "owner_kind": "system", "owner_id": None}
    values[column] = value
    db.session.add(Document(**values))

    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.usefixtures("app_ctx")
def test_document_response_headers() -> None:
    content = image_bytes("PNG")
    document = store_upload(io.BytesIO(content), "Ausweis Müller \"neu\".png", SYSTEM)
    db.session.commit()

    response = document_response(document)

    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Ausweis Muller neu.png\"; "
        "filename*=UTF-8''Ausweis%20M%C3%BCller%20neu.png")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.content_length == len(content)
    assert "Content-Security-Policy" not in response.headers
    assert b"".join(response.response) == content  # type: ignore[arg-type]
    response.close()


@pytest.mark.usefixtures("app_ctx")
def test_inline_preview_is_sandboxed() -> None:
    document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
    db.session.commit()

    response = document_response(document, inline=True)
    response.close()

    assert response.headers["Content-Disposition"].startswith("inline; ")
    assert response.headers["Content-Security-Policy"] == "sandbox"


def test_content_disposition_of_a_name_without_any_ascii() -> None:
    assert content_disposition("attachment", "Счёт.pdf") == (
        "attachment; filename=\".pdf\"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82.pdf")


def test_the_whole_path_works_on_s3(settings_factory: Callable[..., Settings], s3_url: str,
                                    app: Flask) -> None:
    s3_app = create_app(settings_factory(storage_url=s3_url))
    with s3_app.app_context():
        if not db.engine.url.drivername.startswith("postgresql"):
            db.create_all()
        content = pdf_bytes()
        document = store_upload(io.BytesIO(content), "a.pdf", SYSTEM)
        db.session.commit()
        with open_document(document) as stream:
            assert stream.read() == content
        rolled_back = store_upload(io.BytesIO(content), "b.pdf", SYSTEM).storage_key
        db.session.rollback()
        assert not get_blobstore().exists(rolled_back)
        db.session.remove()
        db.engine.dispose()


@pytest.mark.usefixtures("app_ctx")
def test_a_generated_file_is_stored_without_the_upload_checks_and_kept_only_on_commit() -> None:
    # Bytes no upload check would pass (not a PDF by content): what the office itself made is
    # stored as it is, with its audit entry; a rollback takes the blob away again.
    content = b"%PDF-1.7 generated by the office, not parsed again"
    document = store_generated(content, "Bescheid-UV-2026-00001-1.pdf", "application/pdf",
                               SYSTEM)
    db.session.commit()
    with open_document(document) as stream:
        assert stream.read() == content
    assert (document.size, document.media_type, document.owner_kind) == (
        len(content), "application/pdf", "system")
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.object_id == str(document.id))) == "document.stored"
    rolled_back = store_generated(content, "b.pdf", "application/pdf", SYSTEM).storage_key
    db.session.rollback()
    assert not get_blobstore().exists(rolled_back)
    with pytest.raises(ValueError, match="anonymous"):
        store_generated(content, "c.pdf", "application/pdf", ANONYMOUS)

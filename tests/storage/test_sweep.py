"""``amtsweg storage sweep``: blobs no row names are found, listed and (on request) deleted;
everything a document or an IHV transfer file names stays, and so does anything young."""

from __future__ import annotations

import io
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.db import utcnow
from amtsweg.extensions import db
from ihv.models import Transfer
from storage.blobstore import (
    BlobStore,
    FileBlobStore,
    InvalidKey,
    S3BlobStore,
    get_blobstore,
)
from storage.cli import storage_group
from storage.services import store_upload
from storage.sweep import SweepRefused, blob_key_columns, find_orphans, sweep
from tests.storage.conftest import pdf_bytes

TWO_DAYS = 2 * 24 * 3600


def sweep_cli(app: Flask, *args: str) -> Result:
    return CliRunner().invoke(storage_group, ["sweep", *args],
                              obj=ScriptInfo(create_app=lambda: app))


def age(store: BlobStore, key: str, seconds: int = TWO_DAYS) -> None:
    assert isinstance(store, FileBlobStore)
    then = time.time() - seconds
    os.utime(store.root / key, (then, then))


def orphan(store: BlobStore, old: bool = True) -> str:
    key = store.put(io.BytesIO(b"left behind by a process killed before its commit")).key
    if old:
        age(store, key)
    return key


def transfer_naming(key: str) -> Transfer:
    return Transfer(sequence_number=1, file_name="IHV-0001.xml", blob_key=key, sha256="a" * 64,
                    order_count=1, control_sum_cents=100)


@pytest.fixture
def blobs(app: Flask) -> dict[str, str]:
    """One blob of each kind, all but ``young`` written two days ago."""
    with app.app_context():
        store = get_blobstore()
        document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
        transfer_file = store.put(io.BytesIO(b"<Transfer/>")).key
        db.session.add(transfer_naming(transfer_file))
        db.session.commit()
        age(store, document.storage_key)
        age(store, transfer_file)
        return {"document": document.storage_key, "transfer": transfer_file,
                "orphan": orphan(store), "young": orphan(store, old=False)}


def test_the_columns_that_name_blobs_are_found_in_the_models() -> None:
    assert {(column.table.name, column.name) for column in blob_key_columns()} == {
        ("documents", "storage_key"), ("ihv_transfers", "blob_key")}


def test_a_dry_run_lists_only_old_blobs_no_row_names_and_deletes_nothing(
        app: Flask, blobs: dict[str, str]) -> None:
    result = sweep_cli(app)

    assert result.exit_code == 0, result.output
    assert "3 blob(s) older than 24 h, 1 named by no row." in result.output
    assert f"  {blobs['orphan']}" in result.output
    assert blobs["document"] not in result.output
    assert blobs["transfer"] not in result.output
    assert blobs["young"] not in result.output
    assert "Nothing deleted (dry run)" in result.output
    with app.app_context():
        assert all(get_blobstore().exists(key) for key in blobs.values())


def test_delete_removes_the_orphan_only_and_writes_one_audit_entry(
        app: Flask, blobs: dict[str, str]) -> None:
    result = sweep_cli(app, "--delete")

    assert result.exit_code == 0, result.output
    assert "Deleted 1." in result.output
    with app.app_context():
        store = get_blobstore()
        assert not store.exists(blobs["orphan"])
        assert [store.exists(blobs[kind]) for kind in ("document", "transfer", "young")] == [
            True, True, True]
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "storage.swept")).one()
        assert entry.after == {"deleted": 1, "unfinished_deleted": 0, "grace_hours": 24.0}
    # Run again: nothing left to do.
    assert "0 named by no row." in sweep_cli(app, "--delete").output


def test_a_shorter_grace_period_takes_younger_blobs_too(app: Flask,
                                                        blobs: dict[str, str]) -> None:
    with app.app_context():
        age(get_blobstore(), blobs["young"], seconds=3 * 3600)
    result = sweep_cli(app, "--older-than-hours", "2")
    assert "4 blob(s) older than 2 h, 2 named by no row." in result.output
    assert blobs["young"] in result.output


def test_no_row_naming_any_blob_stops_the_delete_until_forced(app: Flask) -> None:
    with app.app_context():
        store = get_blobstore()
        keys = [orphan(store), orphan(store)]

    refused = sweep_cli(app, "--delete")
    assert refused.exit_code == 1
    assert "no row names any of the 2 blob(s): is this the right database?" in refused.output
    with app.app_context():
        assert all(get_blobstore().exists(key) for key in keys)

    forced = sweep_cli(app, "--delete", "--force")
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert not any(get_blobstore().exists(key) for key in keys)


@pytest.mark.parametrize(("hours", "message"), [
    ("0", "0 is not in the range x>=1"), ("-5", "not in the range"),
    ("einen Tag", "is not a valid integer"), ("", "is not a valid integer"),
])
def test_a_bad_grace_period_is_refused_with_a_message(app: Flask, blobs: dict[str, str],
                                                      hours: str, message: str) -> None:
    result = sweep_cli(app, "--older-than-hours", hours, "--delete")
    assert result.exit_code == 2
    assert message in result.output
    with app.app_context():
        assert get_blobstore().exists(blobs["orphan"])


@pytest.mark.usefixtures("app_ctx")
def test_the_service_refuses_a_grace_period_under_an_hour() -> None:
    with pytest.raises(ValueError, match="at least one hour"):
        sweep(get_blobstore(), grace=timedelta(minutes=59), delete=True)


@pytest.mark.usefixtures("app_ctx")
def test_refusal_is_an_exception_of_its_own() -> None:
    orphan(get_blobstore())
    with pytest.raises(SweepRefused):
        sweep(get_blobstore(), delete=True)


def test_the_file_store_lists_keys_only(file_store: FileBlobStore, tmp_path: Path) -> None:
    key = file_store.put(io.BytesIO(b"eins")).key
    age(file_store, key)
    shard = (file_store.root / key).parent
    # A temp file of an interrupted write, a stray file, and a symlink named like a key.
    for stray in (shard / ".abc.part", shard / "notes.txt"):
        stray.write_bytes(b"x")
        os.utime(stray, (time.time() - TWO_DAYS,) * 2)
    outside = tmp_path / "outside"
    outside.write_bytes(b"not in the store")
    (shard / ("f" * 32)).symlink_to(outside)

    assert list(file_store.keys_written_before(utcnow())) == [key]
    assert list(file_store.keys_written_before(utcnow() - timedelta(days=3))) == []
    assert list(FileBlobStore(tmp_path / "empty").keys_written_before(utcnow())) == []


def unfinished_write(store: BlobStore, old: bool = True) -> str:
    """The temporary file a write leaves when its process dies mid-upload (as put names it)."""
    assert isinstance(store, FileBlobStore)
    shard = store.root / "ab" / "cd"
    shard.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(dir=shard, prefix=".", suffix=".part")
    os.write(handle, b"%PDF-1.7 the first half of a birth certificate")
    os.close(handle)
    if old:
        os.utime(path, (time.time() - TWO_DAYS,) * 2)
    return str(Path(path).relative_to(store.root))


def test_temporary_files_of_cut_off_writes_are_listed_and_deleted(
        app: Flask, blobs: dict[str, str]) -> None:
    with app.app_context():
        store = get_blobstore()
        assert isinstance(store, FileBlobStore)
        old, young = unfinished_write(store), unfinished_write(store, old=False)

    listed = sweep_cli(app)
    assert "1 temporary file(s) of writes cut off before they finished" in listed.output
    assert f"  {old}" in listed.output
    assert young not in listed.output
    assert (store.root / old).exists()

    deleted = sweep_cli(app, "--delete")
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted 1 and 1 temporary file(s)." in deleted.output
    assert not (store.root / old).exists()
    assert (store.root / young).exists()  # a write that may still be running
    with app.app_context():
        assert all(get_blobstore().exists(blobs[kind]) for kind in ("document", "transfer"))
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "storage.swept")).one()
        assert entry.after == {"deleted": 1, "unfinished_deleted": 1, "grace_hours": 24.0}


def test_temporary_files_go_even_when_no_blob_is_an_orphan(app: Flask) -> None:
    with app.app_context():
        store = get_blobstore()
        assert isinstance(store, FileBlobStore)
        document = store_upload(io.BytesIO(pdf_bytes()), "a.pdf", SYSTEM)
        db.session.commit()
        age(store, document.storage_key)
        left = unfinished_write(store)
        report = sweep(store, delete=True)
        assert (report.deleted, report.unfinished) == (0, [left])
        assert not (store.root / left).exists()
        assert store.exists(document.storage_key)


def test_the_file_store_lists_and_discards_only_its_temporary_files(
        file_store: FileBlobStore, tmp_path: Path) -> None:
    key = file_store.put(io.BytesIO(b"eins")).key
    age(file_store, key)
    left = unfinished_write(file_store)
    shard = file_store.root / "ab" / "cd"
    outside = tmp_path / "outside"
    outside.write_bytes(b"not in the store")
    (shard / ".symlink1.part").symlink_to(outside)

    assert list(file_store.unfinished_writes_before(utcnow())) == [left]
    assert list(file_store.unfinished_writes_before(utcnow() - timedelta(days=3))) == []
    for hostile in (key, "../outside", "ab/cd/../../../outside", "/etc/passwd", "",
                    "ab/cd/.symlink1.part"):
        with pytest.raises(InvalidKey):
            file_store.discard_unfinished_write(hostile)
    # A shard directory planted as a symlink to somewhere else: nothing there is touched.
    elsewhere = tmp_path / "elsewhere" / "gh"
    elsewhere.mkdir(parents=True)
    (elsewhere / ".abcdefgh.part").write_bytes(b"someone else's file")
    (file_store.root / "ef").symlink_to(elsewhere.parent)
    assert list(file_store.unfinished_writes_before(utcnow())) == [left]
    with pytest.raises(InvalidKey):
        file_store.discard_unfinished_write("ef/gh/.abcdefgh.part")
    assert (elsewhere / ".abcdefgh.part").exists()
    assert file_store.exists(key)
    assert outside.exists()
    file_store.discard_unfinished_write(left)
    assert not (file_store.root / left).exists()


def test_the_s3_store_leaves_cut_off_uploads_to_the_buckets_lifecycle_rule(
        s3_store: S3BlobStore) -> None:
    assert list(s3_store.unfinished_writes_before(utcnow() + timedelta(days=1))) == []
    with pytest.raises(InvalidKey):
        s3_store.discard_unfinished_write("ab/cd/.abcdefgh.part")


def test_the_s3_store_lists_its_keys_by_age(s3_store: S3BlobStore, app: Flask) -> None:
    keys = {s3_store.put(io.BytesIO(b"eins")).key, s3_store.put(io.BytesIO(b"zwei")).key}

    assert set(s3_store.keys_written_before(utcnow() + timedelta(minutes=5))) >= keys
    assert set(s3_store.keys_written_before(utcnow() - timedelta(hours=1))).isdisjoint(keys)
    with app.app_context():
        found = dict(find_orphans(s3_store, utcnow() + timedelta(minutes=5)))
    assert all(found[key] for key in keys)  # no row names them

"""Both blob stores behave the same: put, open, delete, exists; hashes right; memory flat."""

from __future__ import annotations

import gc
import hashlib
import io
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from storage.blobstore import (
    BlobNotFound,
    FileBlobStore,
    IncomingFile,
    InvalidKey,
    S3BlobStore,
    SizeMismatch,
    from_url,
)
from tests.storage.conftest import free_port, s3_url_for

MB = 1024 * 1024


class RepeatingStream(io.RawIOBase):
    """``total`` bytes of a repeated pattern, produced on demand: never held in memory."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.position = 0
        self.pattern = bytes(range(251)) * 512  # a prime period, so misplaced bytes show

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        start = self.position % 251
        count = min(len(buffer), self.remaining, len(self.pattern) - start)
        buffer[:count] = self.pattern[start:start + count]
        self.remaining -= count
        self.position += count
        return count


def expected_sha256(total: int) -> str:
    digest = hashlib.sha256()
    stream = RepeatingStream(total)
    while chunk := stream.read(MB):
        digest.update(chunk)
    return digest.hexdigest()


def test_put_open_exists_delete_round_trip(blobstore: FileBlobStore | S3BlobStore) -> None:
    content = b"%PDF-1.7 Einkommensnachweis " * 1000

    blob = blobstore.put(io.BytesIO(content))

    assert blob.size == len(content)
    assert blob.sha256 == hashlib.sha256(content).hexdigest()
    assert blobstore.exists(blob.key)
    with blobstore.open(blob.key) as stream:
        assert stream.read() == content
    blobstore.delete(blob.key)
    assert not blobstore.exists(blob.key)
    with pytest.raises(BlobNotFound):
        blobstore.open(blob.key)


def test_keys_are_random_and_sharded(blobstore: FileBlobStore | S3BlobStore) -> None:
    first = blobstore.put(io.BytesIO(b"a"))
    second = blobstore.put(io.BytesIO(b"a"))

    assert first.key != second.key
    assert first.key.split("/")[2].startswith(first.key[:2] + first.key[3:5])
    assert first.sha256 == second.sha256


def test_put_of_unknown_length_over_several_parts(blobstore: FileBlobStore | S3BlobStore) -> None:
    total = 12 * MB + 17  # three S3 parts, the last one short

    blob = blobstore.put(RepeatingStream(total))  # type: ignore[arg-type]

    assert blob.size == total
    assert blob.sha256 == expected_sha256(total)
    digest = hashlib.sha256()
    with blobstore.open(blob.key) as stream:
        while chunk := stream.read(MB):
            digest.update(chunk)
    assert digest.hexdigest() == blob.sha256


def test_announced_size_that_does_not_match_is_refused(
        blobstore: FileBlobStore | S3BlobStore) -> None:
    with pytest.raises((SizeMismatch, OSError)):
        blobstore.put(io.BytesIO(b"kurz"), size=100)


def test_a_short_stream_leaves_no_file_behind(file_store: FileBlobStore) -> None:
    with pytest.raises(SizeMismatch):
        file_store.put(io.BytesIO(b"kurz"), size=100)

    assert [p for p in file_store.root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("key", [
    "../../etc/passwd",
    "/etc/passwd",
    "ab/cd/../../../../etc/passwd",
    "ab/cd/" + "0" * 31 + "/",
    "AB/CD/" + "A" * 32,
    "ab\\cd\\" + "0" * 32,
    "ab/cd/" + "0" * 32 + "\x00",
    "",
])
def test_keys_cannot_escape_the_root(blobstore: FileBlobStore | S3BlobStore, key: str) -> None:
    for operation in (blobstore.open, blobstore.exists, blobstore.delete):
        with pytest.raises(InvalidKey):
            operation(key)


def test_a_symlinked_shard_pointing_outside_is_refused(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    outside = tmp_path / "outside"
    (outside / "cd").mkdir(parents=True)
    secret = outside / "cd" / ("0" * 32)
    secret.write_text("geheim")
    store.root.mkdir()
    (store.root / "ab").symlink_to(outside)

    with pytest.raises(InvalidKey):
        store.open("ab/cd/" + "0" * 32)


def test_a_symlinked_blob_pointing_outside_is_refused(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    secret = tmp_path / "secret.txt"
    secret.write_text("geheim")
    (store.root / "ab" / "cd").mkdir(parents=True)
    (store.root / "ab" / "cd" / ("1" * 32)).symlink_to(secret)

    with pytest.raises(InvalidKey):
        store.open("ab/cd/" + "1" * 32)


def test_file_store_writes_atomically_through_a_temp_file(file_store: FileBlobStore) -> None:
    blob = file_store.put(io.BytesIO(b"inhalt"))

    files = [p for p in file_store.root.rglob("*") if p.is_file()]
    assert files == [file_store.root / blob.key]
    assert (file_store.root / blob.key).read_bytes() == b"inhalt"


def test_s3_store_creates_its_bucket_at_first_use(s3_url: str) -> None:
    store = S3BlobStore.from_url(s3_url)
    assert not store.client.bucket_exists(store.bucket)

    store.put(io.BytesIO(b"x"))

    assert store.client.bucket_exists(store.bucket)


def test_from_url_picks_the_backend(tmp_path: Path, s3_url: str) -> None:
    assert isinstance(from_url(f"file://{tmp_path}/blobs"), FileBlobStore)
    assert isinstance(from_url(s3_url), S3BlobStore)
    with pytest.raises(ValueError, match="ftp"):
        from_url("ftp://example.org/x")


def test_check_passes_when_reachable(blobstore: FileBlobStore | S3BlobStore) -> None:
    blobstore.check()


def _peak_memory_of_put(store: FileBlobStore | S3BlobStore, total: int) -> tuple[int, str]:
    tracemalloc.start()
    try:
        blob = store.put(RepeatingStream(total))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, blob.sha256


def _lowest_peak_of_put(store: FileBlobStore | S3BlobStore, total: int) -> tuple[int, str]:
    # tracemalloc counts every thread (the in-process S3 server, finalisers of earlier tests);
    # such noise adds to one run, while buffering the upload would show in every run.
    gc.collect()
    first = _peak_memory_of_put(store, total)
    second = _peak_memory_of_put(store, total)
    return min(first, second)


def test_file_store_streams_50_mb_without_holding_it(file_store: FileBlobStore) -> None:
    peak, sha256 = _lowest_peak_of_put(file_store, 50 * MB)

    assert sha256 == expected_sha256(50 * MB)
    assert peak < 4 * MB


@pytest.fixture(scope="module")
def separate_s3_endpoint() -> Iterator[str]:
    """A moto server in its own process: tracemalloc then counts only our client's memory."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    http = urllib3.PoolManager()
    for _ in range(100):
        try:
            http.request("GET", f"http://127.0.0.1:{port}/", retries=False)
            break
        except urllib3.exceptions.HTTPError:
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def test_s3_store_streams_50_mb_without_holding_it(separate_s3_endpoint: str) -> None:
    store = S3BlobStore.from_url(s3_url_for(separate_s3_endpoint))
    store.check()

    peak, sha256 = _peak_memory_of_put(store, 50 * MB)

    assert sha256 == expected_sha256(50 * MB)
    # About three 5 MiB part buffers, independent of the object's size.
    assert peak < 20 * MB


def test_memory_of_a_put_does_not_grow_with_size(file_store: FileBlobStore) -> None:
    small, _ = _lowest_peak_of_put(file_store, 1 * MB)
    large, _ = _lowest_peak_of_put(file_store, 50 * MB)

    assert large < small + MB


def test_s3_check_fails_when_the_server_is_gone() -> None:
    port = free_port()
    store = S3BlobStore.from_url(f"s3://k:s@127.0.0.1:{port}/dokumente")
    started = time.monotonic()

    with pytest.raises(Exception):  # noqa: B017, PT011 (urllib3 names the failure, not us)
        store.check()

    assert time.monotonic() - started < 10


def test_file_store_check_fails_when_the_root_is_not_a_directory(tmp_path: Path) -> None:
    root = tmp_path / "kein-verzeichnis"
    root.write_text("eine Datei, wo das Ablageverzeichnis sein sollte")

    with pytest.raises(FileExistsError):
        FileBlobStore(root).check()


def _received(store: FileBlobStore, content: bytes) -> IncomingFile:
    incoming = store.receive()
    for start in range(0, len(content), 256 * 1024):
        incoming.write(content[start:start + 256 * 1024])
    incoming.seek(0)
    return incoming


def test_a_received_file_becomes_a_blob_where_it_was_written(file_store: FileBlobStore) -> None:
    content = bytes(range(251)) * 4000

    with _received(file_store, content) as incoming:
        assert incoming.temp_path.parent == (file_store.root / incoming.key).parent
        blob = file_store.keep(incoming, size=len(content))

    assert blob.key == incoming.key
    assert blob.sha256 == hashlib.sha256(content).hexdigest()
    assert blob.size == len(content)
    with file_store.open(blob.key) as stream:
        assert stream.read() == content
    assert [p for p in file_store.root.rglob("*") if p.is_file()] == [file_store.root / blob.key]


def test_put_of_a_received_file_keeps_it_instead_of_copying(file_store: FileBlobStore) -> None:
    content = b"%PDF-1.7\n" + b"0" * 700_000

    with _received(file_store, content) as incoming:
        blob = file_store.put(incoming, size=len(content))

    assert blob.key == incoming.key
    assert blob.sha256 == hashlib.sha256(content).hexdigest()
    assert [p for p in file_store.root.rglob("*") if p.is_file()] == [file_store.root / blob.key]


def test_a_received_file_closed_without_keeping_leaves_nothing(file_store: FileBlobStore) -> None:
    with _received(file_store, b"nie gespeichert" * 1000) as incoming:
        assert incoming.temp_path.is_file()

    assert [p for p in file_store.root.rglob("*") if p.is_file()] == []


def test_a_received_file_of_another_size_is_refused_and_leaves_nothing(
        file_store: FileBlobStore) -> None:
    with _received(file_store, b"kurz") as incoming, pytest.raises(SizeMismatch):
        file_store.keep(incoming, size=100)

    assert [p for p in file_store.root.rglob("*") if p.is_file()] == []


def test_a_received_file_is_kept_once_and_only_by_its_store(tmp_path: Path) -> None:
    store, other = FileBlobStore(tmp_path / "a"), FileBlobStore(tmp_path / "b")

    with _received(store, b"inhalt") as incoming:
        with pytest.raises(ValueError, match="not a file this store is receiving"):
            other.keep(incoming)
        blob = store.keep(incoming)
        with pytest.raises(ValueError, match="not a file this store is receiving"):
            store.keep(incoming)

    assert store.exists(blob.key)
    assert [p for p in other.root.rglob("*") if p.is_file()] == []

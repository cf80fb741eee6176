"""Document blob storage: a small interface with a filesystem and an S3/MinIO backend.

A blob is an opaque byte string under a random key. The store never sees file names or owners
(that is :mod:`storage.models`), so a key leaks nothing about the citizen or the document.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast
from urllib.parse import unquote, urlsplit

import urllib3
from flask import Flask, current_app, render_template
from flask.typing import ResponseReturnValue
from minio import Minio
from minio.error import S3Error, ServerError

from amtsweg import health
from amtsweg.config import Settings, parse_s3_url
from amtsweg.extensions import db
from amtsweg.request import RECEIVE_UPLOADS

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
# S3 needs parts of at least 5 MiB. One part in flight keeps a put at about three part buffers
# (minio reads part + 1 byte, then slices) whatever the object size; parallel parts bought no
# throughput against the server but doubled the memory (bench/README.md).
S3_PART_SIZE = 5 * 1024 * 1024
S3_PARALLEL_PARTS = 1

# Two shard levels of two hex digits, then 32 hex digits (128 random bits): unguessable, and a
# directory never holds more than a few thousand files even at national scale.
KEY_PATTERN = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")
# The temporary file of a write in progress (``FileBlobStore.receive``).
UNFINISHED_WRITE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/\.[a-z0-9_]{8}\.part")

EXTENSION_KEY = "amtsweg_blobstore"


class BlobStoreError(Exception):
    """The store could not do what was asked."""


class BlobNotFound(BlobStoreError, KeyError):
    """No blob under this key."""


class InvalidKey(BlobStoreError, ValueError):
    """A key that this store never hands out (path traversal, wrong shape)."""


class SizeMismatch(BlobStoreError):
    """The stream did not deliver the number of bytes the caller announced."""


class StorageUnavailable(BlobStoreError):
    """The store cannot be reached (down, refusing, failing): try again later."""


# What minio lets through when the server is down or answers 5xx after the retries.
_UNREACHABLE = (urllib3.exceptions.HTTPError, ServerError)


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int


class BlobStore(Protocol):
    def put(self, stream: IO[bytes], *, size: int | None = None) -> StoredBlob: ...

    def open(self, key: str) -> IO[bytes]: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def check(self) -> None: ...

    def keys_written_before(self, moment: datetime) -> Iterator[str]: ...

    def unfinished_writes_before(self, moment: datetime) -> Iterator[str]: ...

    def discard_unfinished_write(self, name: str) -> None: ...


def new_key() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


def validate_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise InvalidKey("not a key issued by this store")
    return key


class _HashingReader(io.RawIOBase):
    """Pass a stream through while counting and hashing it, so nothing is read twice."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(-1 if size is None else size)
        self._digest.update(data)
        self.size += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


class IncomingFile(io.BufferedRandom):
    """A blob being written into a :class:`FileBlobStore`, hashed and counted as it is written.

    Also what a request receives an upload into (:data:`amtsweg.request.RECEIVE_UPLOADS`): the
    upload checks and the virus scan read it where it lies, and storing it is a rename, where
    Werkzeug's temporary file had to be copied into the store. Closed before it is kept, it is
    deleted: a refused upload leaves nothing behind.
    """

    def __init__(self, handle: int, key: str, temp_path: Path, store: FileBlobStore) -> None:
        super().__init__(io.FileIO(handle, "r+"))
        self.key = key
        self.temp_path = temp_path
        self.store = store
        self.kept = False
        self.size = 0
        self._digest = hashlib.sha256()

    def write(self, data: Any, /) -> int:
        # Only ever appended to (by the multipart parser or put()), so the digest is the file's.
        written = super().write(data)
        self._digest.update(data)
        self.size += written
        return written

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if not self.kept:
                self.temp_path.unlink(missing_ok=True)


def _check_size(expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise SizeMismatch(f"expected {expected} bytes, got {actual}")


_DIRECTORY_NOFOLLOW = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


class FileBlobStore:
    """Blobs as files under ``root``; each write is atomic (temp file, fsync, rename)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self._inside_root(validate_key(key))

    def _inside_root(self, name: str) -> Path:
        path = (self.root / name).resolve()
        # Belt and braces: the name's pattern already rules out "..", but a symlink planted
        # inside the root could still point elsewhere.
        if not path.is_relative_to(self.root):
            raise InvalidKey("key resolves outside the storage root")
        return path

    def put(self, stream: IO[bytes], *, size: int | None = None) -> StoredBlob:
        if isinstance(stream, IncomingFile) and stream.store is self and stream.tell() == 0:
            # The request already wrote this upload into the store: kept where it lies.
            return self.keep(stream, size=size)
        with self.receive() as incoming:
            while chunk := stream.read(CHUNK_SIZE):
                incoming.write(chunk)
            return self.keep(incoming, size=size)

    def receive(self) -> IncomingFile:
        """A new file to write a blob into, under a temporary name beside where it will be kept:
        the rename in :meth:`keep` is atomic, and a crash mid-write leaves only a ".part" file,
        never a half blob under a real key."""
        key = new_key()
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        return IncomingFile(handle, key, Path(temp_name), self)

    def keep(self, incoming: IncomingFile, *, size: int | None = None) -> StoredBlob:
        """Make what was written into ``incoming`` a blob, durably; ``size`` is checked first."""
        if incoming.store is not self or incoming.kept:
            raise ValueError("not a file this store is receiving")
        incoming.flush()
        os.fsync(incoming.fileno())
        _check_size(size, incoming.size)
        target = self._path(incoming.key)
        os.replace(incoming.temp_path, target)
        incoming.kept = True
        _fsync_directory(target.parent)
        return StoredBlob(incoming.key, incoming.sha256, incoming.size)

    def open(self, key: str) -> IO[bytes]:
        # Walk the key component by component without following any symlink (openat with
        # O_NOFOLLOW): the same protection as resolving the path, in a few cheap syscalls, so
        # a read of a small blob costs little more than a plain open().
        *directories, name = validate_key(key).split("/")
        directory_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in directories:
                next_fd = os.open(part, _DIRECTORY_NOFOLLOW, dir_fd=directory_fd)
                os.close(directory_fd)
                directory_fd = next_fd
            file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory_fd)
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        except OSError as error:
            if error.errno in {errno.ELOOP, errno.ENOTDIR}:
                raise InvalidKey("key resolves outside the storage root") from None
            raise
        finally:
            os.close(directory_fd)
        return os.fdopen(file_fd, "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise BlobStoreError(f"{self.root} is not writable")

    def keys_written_before(self, moment: datetime) -> Iterator[str]:
        """Every blob last written before ``moment`` (temp files and anything else not named
        like a key are left alone)."""
        return self._files_before(KEY_PATTERN, moment)

    def unfinished_writes_before(self, moment: datetime) -> Iterator[str]:
        """The temporary files of writes that never finished (the process died mid-write), last
        written to before ``moment``: parts of an upload, social data no row will ever name."""
        return self._files_before(UNFINISHED_WRITE, moment)

    def discard_unfinished_write(self, name: str) -> None:
        if not UNFINISHED_WRITE.fullmatch(name):
            raise InvalidKey("not a temporary file of this store")
        self._inside_root(name).unlink(missing_ok=True)

    def _files_before(self, pattern: re.Pattern[str], moment: datetime) -> Iterator[str]:
        """Regular files two directories down, named as ``pattern`` says (relative to the root),
        last modified before ``moment``; symlinks are never followed nor listed."""
        cutoff = moment.timestamp()
        for first in _directories(self.root):
            for second in _directories(Path(first.path)):
                with os.scandir(second.path) as entries:
                    for entry in entries:
                        name = f"{first.name}/{second.name}/{entry.name}"
                        if (pattern.fullmatch(name) and entry.is_file(follow_symlinks=False)
                                and entry.stat(follow_symlinks=False).st_mtime < cutoff):
                            yield name


def _directories(parent: Path) -> list[os.DirEntry[str]]:
    if not parent.is_dir():
        return []
    with os.scandir(parent) as entries:
        return [entry for entry in entries if entry.is_dir(follow_symlinks=False)]


def _fsync_directory(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _S3Body(io.RawIOBase):
    """A GET response as a file: closing it returns the connection to the pool."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._response.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def _http_client() -> urllib3.PoolManager:
    # Short connect timeout and few retries: a storage outage must become a clear 503 within
    # seconds, not a request hanging for minutes.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=60),
        retries=urllib3.Retry(total=2, backoff_factor=0.2,
                              status_forcelist=[500, 502, 503, 504]),
        maxsize=10,
    )


class S3BlobStore:
    """Blobs as objects in one S3 bucket (MinIO in production, moto in tests)."""

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._bucket_ready = False

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        location = parse_s3_url(url)
        client = Minio(location.endpoint, access_key=location.access_key,
                       secret_key=location.secret_key, secure=location.secure,
                       region=location.region, http_client=_http_client())
        return cls(client, location.bucket)

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as error:
                # Another worker created it a moment ago: that is what we wanted.
                if error.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
        self._bucket_ready = True

    def put(self, stream: IO[bytes], *, size: int | None = None) -> StoredBlob:
        key = new_key()
        reader = _HashingReader(stream)
        try:
            self._ensure_bucket()
            # Unknown length goes up as a multipart upload of fixed parts, so memory stays at a
            # few parts whatever the size.
            self.client.put_object(self.bucket, key, cast(BinaryIO, reader),
                                   length=-1 if size is None else size, part_size=S3_PART_SIZE,
                                   num_parallel_uploads=S3_PARALLEL_PARTS,
                                   content_type="application/octet-stream")
        except _UNREACHABLE as error:
            # A named error, so an upload form can tell the person to try again later instead
            # of the request ending in a 500.
            raise StorageUnavailable(type(error).__name__) from error
        try:
            _check_size(size, reader.size)
        except SizeMismatch:
            self.delete(key)
            raise
        return StoredBlob(key, reader.sha256, reader.size)

    def open(self, key: str) -> IO[bytes]:
        validate_key(key)
        try:
            self._ensure_bucket()
            response = self.client.get_object(self.bucket, key)
        except S3Error as error:
            if error.code in {"NoSuchKey", "NoSuchObject"}:
                raise BlobNotFound(key) from None
            raise
        except _UNREACHABLE as error:
            raise StorageUnavailable(type(error).__name__) from error
        return io.BufferedReader(_S3Body(response), buffer_size=CHUNK_SIZE)

    def delete(self, key: str) -> None:
        validate_key(key)
        self._ensure_bucket()
        self.client.remove_object(self.bucket, key)

    def exists(self, key: str) -> bool:
        validate_key(key)
        self._ensure_bucket()
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as error:
            if error.code in {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}:
                return False
            raise
        return True

    def check(self) -> None:
        self._bucket_ready = False
        self._ensure_bucket()

    def keys_written_before(self, moment: datetime) -> Iterator[str]:
        try:
            self._ensure_bucket()
            for item in self.client.list_objects(self.bucket, recursive=True):
                key = item.object_name or ""
                if (KEY_PATTERN.fullmatch(key) and item.last_modified is not None
                        and item.last_modified < moment):
                    yield key
        except _UNREACHABLE as error:
            raise StorageUnavailable(type(error).__name__) from error

    def unfinished_writes_before(self, moment: datetime) -> Iterator[str]:
        # An upload cut off mid-way is a multipart upload that was never completed: invisible
        # to reads, and removed by the server (MinIO after 24 h) or the bucket's lifecycle rule
        # (AbortIncompleteMultipartUpload on S3; see the README), not by the app.
        return iter(())

    def discard_unfinished_write(self, name: str) -> None:
        raise InvalidKey("the S3 store has no temporary files")


def from_url(url: str) -> BlobStore:
    """Build the store that ``AMTSWEG_STORAGE_URL`` names (``file:///path`` or ``s3://…``)."""
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return FileBlobStore(unquote(urlsplit(url).path))
    if scheme == "s3":
        return S3BlobStore.from_url(url)
    raise ValueError(f"unsupported storage URL scheme {scheme!r}")


def init_app(app: Flask, settings: Settings) -> None:
    from storage import scanner
    from storage.services import install_session_hooks

    store = from_url(settings.storage_url)
    app.extensions[EXTENSION_KEY] = store
    if isinstance(store, FileBlobStore):
        # S3 takes an object only whole, after the checks: there uploads arrive in Werkzeug's
        # temporary files as before.
        app.extensions[RECEIVE_UPLOADS] = store.receive
    health.register_check(app, "storage", store.check)
    app.register_error_handler(StorageUnavailable, _storage_down)
    # Uploads reach the store only through the scanner, so both are set up together.
    scanner.init_app(app, settings)
    install_session_hooks()


def _storage_down(error: StorageUnavailable) -> ResponseReturnValue:
    # The office's 503 page ("try again in a few minutes") rather than a 500 with a traceback
    # in the log; the class of the cause is all the log needs.
    log.error("document storage unavailable: %s", error)
    db.session.rollback()
    return render_template("errors/503.html", status=503), 503


def get_blobstore() -> BlobStore:
    store: BlobStore = current_app.extensions[EXTENSION_KEY]
    return store

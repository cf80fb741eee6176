"""How a transfer file leaves the office: an interface, and a drop directory behind it.

Delivery must be idempotent: after a crash the same file (same name, same bytes) is delivered
again, and the receiving side must end up with exactly one copy. A transport therefore treats
"the file is already there with the same SHA-256" as success, and a different file under the
same name as an error that needs a person.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1024 * 1024
# File names we hand out (AW-IHV-00000001.xml, AW-SEPA-00000001.xml): never a path.
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")


# tests/test_faults.py kills `amtsweg ihv send` at each step of a transfer: with AMTSWEG_ENV=test
# and AMTSWEG_TEST_PAUSE_AT=<step>, the command stops at that step, says so on stderr and waits
# for the SIGKILL. Without both variables a fault point does nothing.
PAUSE_VARIABLE = "AMTSWEG_TEST_PAUSE_AT"


def fault_point(step: str) -> None:
    if os.environ.get(PAUSE_VARIABLE) != step or os.environ.get("AMTSWEG_ENV") != "test":
        return
    print(f"paused at {step}", file=sys.stderr, flush=True)
    time.sleep(120)
    os._exit(75)  # never killed: the test has gone; do not finish the step either


class TransportError(Exception):
    """Delivery failed; the message is shown beside the transfer, which can be sent again."""


class Transport(Protocol):
    name: str

    def deliver(self, file_name: str, stream: IO[bytes], sha256: str) -> None:
        """Deliver ``stream`` under ``file_name``; succeed if it is already there unchanged."""
        ...


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class DropDirectoryTransport:
    """Writes into a directory the treasury's transfer software collects from.

    The file appears under its real name only complete: it is written to a hidden temp name in
    the same directory, synced, and then hard-linked to the real name (which fails if the name
    exists, so a file is never overwritten) before the temp name is removed.
    """

    name = "drop-directory"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def deliver(self, file_name: str, stream: IO[bytes], sha256: str) -> None:
        if not SAFE_FILE_NAME.fullmatch(file_name):
            raise TransportError(f"refusing file name {file_name!r}")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / file_name
            if target.exists():
                self._check_existing(target, sha256)
                return
            temp = self.directory / f".{file_name}.{os.getpid()}.part"
            digest = hashlib.sha256()
            try:
                with temp.open("wb") as handle:
                    while chunk := stream.read(CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                fault_point("while-writing")
                if digest.hexdigest() != sha256:
                    raise TransportError("the stored file does not match its SHA-256; "
                                         "it was changed after it was built")
                try:
                    os.link(temp, target)
                except FileExistsError:
                    # Another node delivered the same transfer a moment ago.
                    self._check_existing(target, sha256)
            finally:
                temp.unlink(missing_ok=True)
            _fsync_directory(self.directory)
        except OSError as error:
            raise TransportError(f"{type(error).__name__}: {error.strerror or error}") from None

    @staticmethod
    def _check_existing(target: Path, sha256: str) -> None:
        if file_sha256(target) != sha256:
            raise TransportError(f"{target.name} already exists in the drop directory with "
                                 "different content; it must be checked by hand")


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

"""Virus scanning of uploads: a small interface with a ClamAV (clamd) backend.

Citizens upload files from any device; a caseworker opens them on the office network. Every
file is therefore scanned before it reaches the blob store, when scanning is configured
(``AMTSWEG_CLAMAV_URL``; production refuses to start without it). The backend speaks clamd's
INSTREAM protocol over its socket directly: no client library, no file system shared with clamd
(it may run in its own container or on another host), and the upload streams through in chunks,
never whole in memory.
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass
from typing import IO, Protocol
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app

from amtsweg import health
from amtsweg.config import Settings

log = logging.getLogger(__name__)

EXTENSION_KEY = "amtsweg_scanner"
HEALTH_CHECK_NAME = "virus scanner"

# Well below clamd's StreamMaxLength and its per-chunk limit; one chunk is all that is ever held.
CHUNK_SIZE = 256 * 1024
CONNECT_TIMEOUT_SECONDS = 5.0
# clamd only starts scanning once the whole stream has arrived; a 20 MB PDF with many embedded
# objects takes a few seconds, a hung daemon must not hold a request for minutes.
SCAN_TIMEOUT_SECONDS = 60.0
MAX_REPLY_BYTES = 4096
MAX_SIGNATURE_LENGTH = 120

_END_OF_STREAM = struct.pack(">I", 0)
_STREAM_PREFIX = "stream: "


class ScannerError(Exception):
    """The file could not be scanned; it must not be accepted unscanned."""


class ScannerUnavailable(ScannerError):
    """clamd cannot be reached, timed out, or answered something unexpected."""


class ScanLimitExceeded(ScannerError):
    """clamd refused the stream because it is larger than its ``StreamMaxLength``."""


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str | None = None


class Scanner(Protocol):
    def scan(self, stream: IO[bytes]) -> ScanResult: ...

    def check(self) -> None: ...


@dataclass(frozen=True)
class ClamdAddress:
    """Where clamd listens: a unix socket path, or a TCP host and port."""

    unix_path: str | None = None
    host: str | None = None
    port: int = 3310

    def describe(self) -> str:
        return f"unix://{self.unix_path}" if self.unix_path else f"tcp://{self.host}:{self.port}"


def parse_clamd_url(url: str) -> ClamdAddress:
    """Read ``unix:///run/clamav/clamd.ctl`` or ``tcp://host:3310``."""
    parts = urlsplit(url)
    if parts.scheme == "unix" and parts.path:
        return ClamdAddress(unix_path=unquote(parts.path))
    if parts.scheme == "tcp" and parts.hostname:
        return ClamdAddress(host=parts.hostname, port=parts.port or 3310)
    raise ValueError(f"unsupported clamd URL {url!r}: expected unix:///path or tcp://host:port")


def parse_reply(reply: bytes) -> ScanResult:
    """Turn clamd's answer to one INSTREAM into a result, or raise what went wrong."""
    text = reply.rstrip(b"\x00").decode("utf-8", "replace").strip()
    if text == f"{_STREAM_PREFIX}OK":
        return ScanResult(clean=True)
    if text.startswith(_STREAM_PREFIX) and text.endswith(" FOUND"):
        signature = text[len(_STREAM_PREFIX):-len(" FOUND")].strip()
        return ScanResult(clean=False, signature=_printable(signature) or "unknown")
    if "size limit exceeded" in text:
        raise ScanLimitExceeded("the file is larger than clamd's StreamMaxLength; raise "
                                "StreamMaxLength in clamd.conf above AMTSWEG_MAX_UPLOAD_MB")
    if text.endswith("ERROR"):
        raise ScannerError(f"clamd error: {_printable(text)}")
    raise ScannerUnavailable(f"unexpected clamd reply: {_printable(text)!r}")


def _printable(text: str) -> str:
    # The signature name is shown to the citizen and logged: no control characters, bounded.
    return "".join(ch for ch in text if ch.isprintable())[:MAX_SIGNATURE_LENGTH]


class ClamdScanner:
    """Scan streams with clamd (``zINSTREAM``) over a unix or TCP socket."""

    def __init__(self, address: ClamdAddress, *,
                 connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
                 scan_timeout: float = SCAN_TIMEOUT_SECONDS) -> None:
        self.address = address
        self.connect_timeout = connect_timeout
        self.scan_timeout = scan_timeout

    @classmethod
    def from_url(cls, url: str) -> ClamdScanner:
        return cls(parse_clamd_url(url))

    def scan(self, stream: IO[bytes]) -> ScanResult:
        """Send ``stream`` from its current position to its end; the caller rewinds it."""
        try:
            with self._connect() as connection:
                connection.settimeout(self.scan_timeout)
                sent_all = _send_stream(connection, stream)
                reply = _read_reply(connection)
        except (OSError, EOFError) as error:
            raise ScannerUnavailable(f"{self.address.describe()}: "
                                     f"{type(error).__name__}") from error
        if not reply and not sent_all:
            raise ScannerUnavailable(f"{self.address.describe()} closed the connection")
        return parse_reply(reply)

    def check(self) -> None:
        """Raise unless clamd answers PING with PONG."""
        try:
            with self._connect() as connection:
                connection.settimeout(self.connect_timeout)
                connection.sendall(b"zPING\x00")
                reply = _read_reply(connection)
        except OSError as error:
            raise ScannerUnavailable(f"{self.address.describe()}: "
                                     f"{type(error).__name__}") from error
        if reply.rstrip(b"\x00").strip() != b"PONG":
            raise ScannerUnavailable(f"{self.address.describe()} did not answer PONG")

    def _connect(self) -> socket.socket:
        if self.address.unix_path is not None:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.settimeout(self.connect_timeout)
                connection.connect(self.address.unix_path)
            except BaseException:
                connection.close()
                raise
            return connection
        assert self.address.host is not None
        return socket.create_connection((self.address.host, self.address.port),
                                        timeout=self.connect_timeout)


def _send_stream(connection: socket.socket, stream: IO[bytes]) -> bool:
    """Send the stream as INSTREAM chunks; return ``False`` if clamd hung up part-way."""
    connection.sendall(b"zINSTREAM\x00")
    try:
        while chunk := stream.read(CHUNK_SIZE):
            # Each chunk is its 4-byte big-endian length, then the bytes; two sends, so the
            # chunk is never copied into a second buffer.
            connection.sendall(struct.pack(">I", len(chunk)))
            connection.sendall(chunk)
        connection.sendall(_END_OF_STREAM)
    except (BrokenPipeError, ConnectionResetError):
        # clamd stops reading once the stream passes StreamMaxLength, says why, and closes.
        return False
    return True


def _read_reply(connection: socket.socket) -> bytes:
    reply = b""
    while len(reply) < MAX_REPLY_BYTES:
        try:
            data = connection.recv(MAX_REPLY_BYTES)
        except ConnectionResetError:
            break
        if not data:
            break
        reply += data
        # With the "z" prefix every reply ends with a NUL byte.
        if reply.endswith(b"\x00"):
            break
    return reply


def scanner_from_url(url: str) -> Scanner:
    """Build the scanner that ``AMTSWEG_CLAMAV_URL`` names."""
    return ClamdScanner.from_url(url)


def init_app(app: Flask, settings: Settings) -> None:
    """Scan uploads when a scanner is configured; otherwise (embedded setup) do not."""
    if not settings.clamav_url:
        app.extensions.pop(EXTENSION_KEY, None)
        return
    scanner = scanner_from_url(settings.clamav_url)
    app.extensions[EXTENSION_KEY] = scanner
    health.register_check(app, HEALTH_CHECK_NAME, scanner.check)


def get_scanner() -> Scanner | None:
    scanner: Scanner | None = current_app.extensions.get(EXTENSION_KEY)
    return scanner

"""A real clamd for the tests: Debian's clamav-daemon, started from a temporary directory with a
signature database written here for the EICAR test file (no signature download is possible, and
none is wanted: the tests need to know exactly what is detected)."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.storage.conftest import free_port

# The EICAR anti-virus test file (eicar.org): harmless, and detected by every scanner.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "Eicar-Test-Signature"

STREAM_MAX_MB = 25
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
_CLAMD_CANDIDATES = ("clamd", "/usr/sbin/clamd")


def find_clamd() -> str:
    for candidate in _CLAMD_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail("clamd not found: install Debian's clamav-daemon "
                "(apt-get install -y clamav-daemon); the virus scan tests need a real clamd",
                pytrace=False)


def write_signatures(database: Path) -> None:
    """Detect EICAR by its MD5 (the whole file) and by its bytes anywhere (inside a PDF, also
    in a compressed stream, which clamd decodes before matching)."""
    database.mkdir(parents=True, exist_ok=True)
    md5 = hashlib.md5(EICAR, usedforsecurity=False).hexdigest()
    (database / "amtsweg-test.hdb").write_text(f"{md5}:{len(EICAR)}:{EICAR_SIGNATURE}\n")
    (database / "amtsweg-test.ndb").write_text(f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n")


def write_config(directory: Path, socket_path: Path, tcp_port: int) -> Path:
    config = directory / "clamd.conf"
    config.write_text("\n".join([
        f"LocalSocket {socket_path}",
        f"TCPSocket {tcp_port}",
        "TCPAddr 127.0.0.1",
        f"DatabaseDirectory {directory / 'db'}",
        f"TemporaryDirectory {directory / 'tmp'}",
        f"LogFile {directory / 'clamd.log'}",
        "LogSyslog no",
        "Foreground yes",
        f"StreamMaxLength {STREAM_MAX_MB}M",
        # No User line: clamd keeps running as whoever started it (root in CI, a developer
        # locally), with access to the temporary directory.
        "",
    ]))
    return config


@dataclass
class ClamdProcess:
    directory: Path
    socket_path: Path
    tcp_port: int
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp_port}"

    def log_text(self) -> str:
        log = self.directory / "clamd.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def ping(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            probe.connect(str(socket_path))
            probe.sendall(b"zPING\x00")
            return probe.recv(16).rstrip(b"\x00") == b"PONG"
    except OSError:
        return False


def start_clamd(directory: Path) -> ClamdProcess:
    """Start clamd in ``directory`` and wait until it answers PING."""
    binary = find_clamd()
    write_signatures(directory / "db")
    (directory / "tmp").mkdir(exist_ok=True)
    socket_path = directory / "clamd.ctl"
    tcp_port = free_port()
    config = write_config(directory, socket_path, tcp_port)
    process = subprocess.Popen([binary, "--config-file", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clamd = ClamdProcess(directory, socket_path, tcp_port, process)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"clamd exited with {process.returncode}:\n{clamd.log_text()}",
                        pytrace=False)
        if ping(socket_path):
            return clamd
        time.sleep(0.1)
    clamd.stop()
    pytest.fail(f"clamd did not answer PING within {START_TIMEOUT_SECONDS:.0f} s:\n"
                f"{clamd.log_text()}", pytrace=False)

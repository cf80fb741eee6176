"""Faults made for real: a TCP proxy that cuts the database connection, a damaged SQLite header,
and `amtsweg ihv send` as a separate process that the test kills with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from amtsweg.config import Settings

AMTSWEG = Path(sys.executable).parent / "amtsweg"


# --- the database connection, cut and restored ------------------------------------------------


@dataclass(eq=False)
class _Pair:
    """One proxied connection; the last of its two pumps to stop closes both sockets."""

    client: socket.socket
    server: socket.socket
    running: int = 2
    lock: threading.Lock = field(default_factory=threading.Lock)

    def shutdown(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):  # already shut by the other pump
                sock.shutdown(socket.SHUT_RDWR)

    def pump_stopped(self) -> None:
        with self.lock:
            self.running -= 1
            last = self.running == 0
        if last:
            self.client.close()
            self.server.close()


class TcpProxy:
    """A TCP proxy on loopback between the app and its database.

    ``cut()`` is the database going away as the app sees it: every open connection is closed
    under it and new ones are refused (nothing listens on the port). ``restore()`` listens on
    the same port again, so the app reaches its database under the same URL.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._pairs: set[_Pair] = set()
        self._pumps: list[threading.Thread] = []
        probe = socket.create_server(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR on POSIX
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was shut down by cut()
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.add(pair)
                for source, sink in ((client, server), (server, client)):
                    pump = threading.Thread(target=self._pump, args=(pair, source, sink),
                                            daemon=True)
                    self._pumps.append(pump)
                    pump.start()

    def _pump(self, pair: _Pair, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            pair.shutdown()
            with self._lock:
                self._pairs.discard(pair)
            pair.pump_stopped()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            listener.shutdown(socket.SHUT_RDWR)
            assert self._accepting is not None
            self._accepting.join(timeout=10)
            listener.close()
        with self._lock:
            pairs, pumps = list(self._pairs), list(self._pumps)
            self._pumps.clear()
        for pair in pairs:
            pair.shutdown()
        for pump in pumps:
            pump.join(timeout=10)

    def restore(self) -> None:
        self.start()

    close = cut


# --- SQLite: the database file no longer readable as a database -----------------------------


class DamagedSqliteFile:
    """Overwrite the header of an SQLite file in place and put it back afterwards.

    The app keeps its pooled connections to the same file (same inode), as it would when the
    disk under it fails: every statement that reads the file fails, then works again once the
    header is back. Moving the file away would not do: open connections keep the old inode.
    """

    HEADER = 100

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved: bytes | None = None

    def damage(self) -> None:
        with self.path.open("r+b") as handle:
            self._saved = handle.read(self.HEADER)
            handle.seek(0)
            handle.write(b"\xde\xad" * (self.HEADER // 2))
            handle.flush()
            os.fsync(handle.fileno())

    def repair(self) -> None:
        assert self._saved is not None
        with self.path.open("r+b") as handle:
            handle.write(self._saved)
            handle.flush()
            os.fsync(handle.fileno())
        self._saved = None


# --- `amtsweg ihv send` in its own process ----------------------------------------------------


def command_env(settings: Settings, database_url: str) -> dict[str, str]:
    """The environment of a separate `amtsweg` process on the test's database and instance."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AMTSWEG_")}
    env.update({
        "AMTSWEG_ENV": "test",
        "AMTSWEG_INSTANCE_PATH": str(settings.instance_path),
        "AMTSWEG_SECRET_KEY": settings.secret_key,
        "AMTSWEG_DATABASE_URL": database_url,
        "AMTSWEG_STORAGE_URL": settings.storage_url,
        "AMTSWEG_MAIL_URL": settings.mail_url,
        "AMTSWEG_IHV_OUTBOX_DIR": str(settings.ihv_outbox_dir),
        "AMTSWEG_IHV_INBOX_DIR": str(settings.ihv_inbox_dir),
        "AMTSWEG_IHV_ADAPTER": settings.ihv_adapter,
    })
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def run_command(env: dict[str, str], *args: str, timeout: float = 60) -> Finished:
    done = subprocess.run([str(AMTSWEG), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return Finished(done.returncode, done.stdout, done.stderr)


def kill_at(env: dict[str, str], step: str, *args: str, timeout: float = 60) -> Finished:
    """Run the command until it pauses at ``step``, then kill it with SIGKILL."""
    process = subprocess.Popen([str(AMTSWEG), *args],
                               env={**env, "AMTSWEG_TEST_PAUSE_AT": step},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    assert process.stdout is not None
    seen = b""
    marker = f"paused at {step}\n".encode()
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            while marker not in seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise AssertionError(f"no pause at {step}: {seen.decode(errors='replace')}")
                chunk = os.read(process.stderr.fileno(), 65536)
                if not chunk:  # ended without reaching the step
                    break
                seen += chunk
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        stdout = process.stdout.read()
        seen += process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert marker in seen, f"never paused at {step}: {seen.decode(errors='replace')}"
    assert process.returncode == -signal.SIGKILL
    return Finished(process.returncode, stdout.decode(errors="replace"),
                    seen.decode(errors="replace"))

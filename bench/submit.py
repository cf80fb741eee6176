"""Citizens submitting a UVG application over HTTP, beside a minimal upload endpoint.

Run: .venv/bin/python -m bench.submit [--citizens 24] [--concurrency 6] [--seconds 30]
                                      [--rounds 5] [--workers 3] [--drafts 300]
Needs PostgreSQL (AMTSWEG_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432). It
creates the database ``amtsweg_bench_submit``, migrates it with ``amtsweg db upgrade``, keeps the
documents in a temporary directory (file storage), and drops both at the end.

1. **app**: the real app under gunicorn (``amtsweg.wsgi:app``) on 127.0.0.1 and a free port.
   Each citizen has its own cookie session (``requests.Session``, its own loopback source
   address, as different people have different addresses) and signs in through the login form.
   One citizen walks the whole UVG application as a browser does (every page fetched, its CSRF
   token and field names read from the HTML, the form posted, the redirect followed) three times
   (its median is printed), then answers every question page and the declarations of one more
   application and stops before the documents: a citizen who filled in the form and now sends
   the papers. That draft — the answers exactly as the app stored them — is copied in the
   database for every citizen (``--drafts`` each). Then, ``--concurrency`` at a time,
   citizens **submit**: the documents POST with the two 1 MB PDFs (the other
   required documents marked "sent later") and the submit POST, nothing else. Prints
   submissions per second, the p50/p95 of the submission and of each of the two POSTs, and
   the CPU the workers spent per submission (from /proc, beside the minimal endpoint's; also
   their minor page faults, fresh pages of memory the kernel had to map), with
   what PostgreSQL and this bench's own clients spent meanwhile: the three share the
   machine's cores, so the ratio of the totals is what bounds the throughput ratio.
2. **minimal**: a tiny Flask app (``create_minimal_app`` below) under the same gunicorn settings
   that takes the same two files in one multipart POST, streams each into the same storage with
   ``storage.blobstore.FileBlobStore.put`` and inserts one row. Same concurrency.
   Both servers are up together and take turns: ``--rounds`` rounds, each side ``--seconds``
   ÷ ``--rounds`` per round, the side going first alternating. This machine's speed drifts by a
   third from one minute to the next (other guests on the host); one phase after the other
   measured that drift as often as the app. Ratio = app submissions/s ÷ minimal requests/s over
   all rounds (target ≥ 0.5), each round's ratio printed beside it: the same two files stored
   and one submission recorded, against two files stored and one row inserted.
3. **memory**: the app again with one worker and ``AMTSWEG_MAX_UPLOAD_MB=60``; one citizen
   uploads a 5 MB and then a 50 MB PDF on the documents page while the worker's RSS is sampled
   from /proc every 2 ms. Prints the peak RSS growth over the idle worker for each (must not grow
   with the file).

Everything runs on loopback, each round is bounded in time, and the servers, the database and
the temporary directory are removed at the end (also on Ctrl-C or an error).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, bench/ would come first on sys.path, and bench/queue.py would shadow the
# standard library's ``queue`` for every library that imports it.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATABASE = "amtsweg_bench_submit"
SERVER = os.environ.get("AMTSWEG_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
VENV_BIN = ROOT / ".venv" / "bin"
MB = 1024 * 1024
PASSWORD = "bench-password-long-1"
BASE = "/antrag/unterhaltsvorschuss"
DOCUMENTS_SLUG = "unterlagen"
TARGET_RATIO = 0.5

# The answers a single parent with one child of six gives (as tests/portal/uvg/conftest.py).
APPLICANT = {"first_name": "Maria", "last_name": "Muster", "birth_date": "04.11.1990",
             "street": "Domplatz 1", "postcode": "93047", "city": "Regensburg",
             "phone": "0941 123456", "email": "maria@example.org", "marital_status": "divorced",
             "marital_since": "01.03.2022", "lives_with_other_parent": "no"}
ANSWERS: dict[str, dict[str, str]] = {
    "kinder": {},
    "antragsteller": APPLICANT,
    "anderer-elternteil": {"first_name": "Tom", "last_name": "Vater", "birth_date": "",
                           "address_known": "yes", "street": "Hauptstr. 5", "postcode": "80331",
                           "city": "München", "maintenance_paid": "irregular",
                           "maintenance_amount": "120,50", "maintenance_since": "01.01.2023"},
    "waisenbezuege": {"receives": "no"},
    "frueherer-unterhaltsvorschuss": {"received_before": "no"},
    "andere-leistungen": {"buergergeld": "y", "details": "Jobcenter Regensburg"},
    "bankverbindung": {"account_holder": "Maria Muster", "iban": "DE89 3704 0044 0532 0130 00"},
    "erklaerungen": {"report_changes": "y", "repayment": "y", "truthful": "y", "consent": "y"},
}


def child_answers() -> dict[str, str]:
    from amtsweg.clock import berlin_today

    # The office's day, as the app's own checks of the birth date use it.
    born = berlin_today().replace(day=1) - timedelta(days=6 * 365 + 40)
    text = born.strftime("%d.%m.%Y")
    return {"first_name": "Lea", "last_name": "Muster", "birth_date": text,
            "nationality": "german", "nationality_country": "", "residence_title": "",
            "living_since": text}


# --- the minimal endpoint (served by gunicorn as ``bench.submit:create_minimal_app()``) ---------


def create_minimal_app() -> Any:
    """Two files in, each streamed into FileBlobStore.put, one row inserted: nothing else."""
    import psycopg
    from flask import Flask, request

    from storage.blobstore import FileBlobStore

    app = Flask("minimal")
    store = FileBlobStore(os.environ["BENCH_SUBMIT_STORAGE"])
    url = os.environ["BENCH_SUBMIT_DB"]
    local = threading.local()

    def connection() -> psycopg.Connection[Any]:
        if getattr(local, "connection", None) is None:
            local.connection = psycopg.connect(url, autocommit=True)
        return local.connection  # type: ignore[no-any-return]

    @app.post("/upload")
    def upload() -> tuple[str, int]:
        keys = [store.put(stream.stream).key for stream in request.files.values()]
        connection().execute("INSERT INTO bench_minimal (keys) VALUES (%s)", (",".join(keys),))
        return "ok", 201

    return app


# --- helpers --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_pdf(path: Path, size: int) -> Path:
    """A valid PDF of about ``size`` bytes (one page, a long content stream), written in chunks."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"]
    offsets: list[int] = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        offsets.append(out.tell())
        length = size - out.tell() - 400
        out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % length)
        line = b"0 0 m 1 1 l S\n" * 4096
        remaining = length
        while remaining > 0:
            out.write(line[:remaining])
            remaining -= len(line)
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 5\n0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return path


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (which may hold spaces and
    parentheses), from the state on; ``None`` when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 when it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def minor_faults(pid: int) -> int:
    """Minor page faults of one process so far (0 when it is gone): each is a page of memory
    the kernel had to map and zero, which large short-lived buffers cost again and again."""
    fields = _stat(pid)
    return int(fields[7]) if fields else 0


def database_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine so far (its backends and its
    writers: a commit's WAL flush is the walwriter's or the backend's work)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _comm(entry) == "postgres":
            total += cpu_seconds(int(entry.name))
    return total


def _comm(process: Path) -> str:
    try:
        return (process / "comm").read_text().strip()
    except OSError:
        return ""


def client_cpu() -> float:
    """CPU seconds of this bench process so far: the citizens' HTTP clients (all threads)."""
    times = os.times()
    return times.user + times.system


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def workers_cpu(self) -> float:
        """CPU seconds (user and system) the workers have used so far."""
        return sum(cpu_seconds(pid) for pid in self.worker_pids())

    def workers_faults(self) -> int:
        return sum(minor_faults(pid) for pid in self.worker_pids())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_gunicorn(name: str, target: str, env: dict[str, str], workers: int,
                   log_dir: Path, probe: str, root: Path = ROOT) -> Server:
    """gunicorn serving ``target`` from the checkout at ``root`` (its code first on the path),
    once every worker answers."""
    import requests

    port = free_port()
    log = log_dir / f"{name}.log"
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), target, "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--pythonpath", str(root), "--timeout", "120",
         "--graceful-timeout", "5", "--access-logfile", "-", "--log-level", "warning"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    server = Server(name, process, port, log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} server exited:\n{log.read_text()[-3000:]}")
            try:
                # Every worker must be up before the clock starts.
                if (requests.get(server.url + probe, timeout=15).status_code < 500
                        and len(server.worker_pids()) >= workers):
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} server did not come up:\n{log.read_text()[-3000:]}")
    except BaseException:
        server.stop()  # never leave a server behind (an error here, Ctrl-C)
        raise


# --- a citizen's browser --------------------------------------------------------------------------


TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NAMES = re.compile(r'name="([^"]+)"')


class Citizen:
    """One person's browser: a cookie session from its own loopback address."""

    def __init__(self, base: str, email: str, source_ip: str) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        class SourceAdapter(HTTPAdapter):
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                kwargs["source_address"] = (source_ip, 0)
                super().init_poolmanager(*args, **kwargs)

        self.base = base
        self.email = email
        self.session = requests.Session()
        self.session.mount("http://", SourceAdapter())

    def get(self, path: str) -> tuple[str, set[str], str]:
        response = self.session.get(self.base + path, allow_redirects=False, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code}")
        html = response.text
        match = TOKEN.search(html)
        return html, set(NAMES.findall(html)), match.group(1) if match else ""

    def post(self, path: str, data: dict[str, str], files: Any = None) -> str:
        response = self.session.post(self.base + path, data=data, files=files,
                                     allow_redirects=False, timeout=300)
        if response.status_code != 302:
            errors = re.findall(r'class="kern-error"[^>]*>(.*?)</p>', response.text, re.S)
            raise RuntimeError(f"POST {path}: {response.status_code} "
                               f"{[re.sub(r'<[^>]+>', '', e).strip() for e in errors][:3]}")
        location = response.headers["Location"]
        return location.removeprefix(self.base)

    def fill(self, path: str, answers: dict[str, str], action: str = "continue",
             files: Any = None) -> str:
        """Fetch the page, check that it asks for these fields, post them with its token."""
        _html, names, token = self.get(path)
        unknown = [name for name in answers if name not in names]
        if unknown:
            raise RuntimeError(f"{path} has no fields {unknown}")
        return self.post(path, {"csrf_token": token, "action": action, **answers}, files)

    def log_in(self) -> None:
        _html, _names, token = self.get("/konto/anmelden")
        self.post("/konto/anmelden", {"csrf_token": token, "email": self.email,
                                      "password": PASSWORD})

    def start_draft(self) -> str:
        """Start an application with its first child; return the path of the next page."""
        self.get(f"{BASE}/")
        return self.fill(f"{BASE}/neu", child_answers())

    def walk_to_documents(self) -> str:
        """Answer every question page up to the documents page; return that page's path."""
        path = self.start_draft()
        for _ in range(20):
            slug = path.rstrip("/").split("/")[-1]
            if slug == "unterlagen":
                return path
            if slug not in ANSWERS:
                raise RuntimeError(f"unexpected page {path}")
            path = self.fill(path, ANSWERS[slug])
        raise RuntimeError("no documents page after 20 pages")

    def documents(self, path: str, pdfs: list[Path]) -> tuple[str, float]:
        """Upload the PDFs into the first requirements, mark the others as sent later; return
        the next page and the time of the POST."""
        html, names, token = self.get(path)
        file_fields = re.findall(r'name="(file_[^"]+)"', html)
        if len(file_fields) < len(pdfs):
            raise RuntimeError(f"only {file_fields} on the documents page")
        data = {"csrf_token": token, "action": "continue"}
        for name in file_fields[len(pdfs):]:
            later = "later_" + name.removeprefix("file_")
            if later not in names:
                raise RuntimeError(f"no {later} on the documents page")
            data[later] = "y"
        handles = [pdf.open("rb") for pdf in pdfs]
        try:
            files = [(name, (pdf.name, handle, "application/pdf"))
                     for name, pdf, handle in zip(file_fields, pdfs, handles, strict=False)]
            start = time.perf_counter()
            next_path = self.post(path, data, files)
            return next_path, time.perf_counter() - start
        finally:
            for handle in handles:
                handle.close()

    def prepare(self) -> str:
        """Answer every question page and the declarations, but send no documents yet: the
        draft a citizen leaves before fetching the papers. Returns the documents page's path."""
        documents_path = self.walk_to_documents()
        base = documents_path.rsplit("/", 1)[0]
        self.fill(f"{base}/erklaerungen", ANSWERS["erklaerungen"])
        return documents_path

    def token(self) -> str:
        return self.get(f"{BASE}/")[2]

    def submit_prepared(self, public_id: str, form: DocumentsForm, token: str,
                        pdfs: list[Path]) -> tuple[float, float]:
        """The submission itself: the documents POST with both files, then the submit POST.
        Returns the time of each; nothing else is requested."""
        base = f"{BASE}/{public_id}"
        data = {"csrf_token": token, "action": "continue", **dict.fromkeys(form.later, "y")}
        handles = [pdf.open("rb") for pdf in pdfs]
        try:
            files = [(name, (pdf.name, handle, "application/pdf"))
                     for name, pdf, handle in zip(form.files, pdfs, handles, strict=False)]
            start = time.perf_counter()
            self.post(f"{base}/{DOCUMENTS_SLUG}", data, files)
            upload_time = time.perf_counter() - start
        finally:
            for handle in handles:
                handle.close()
        start = time.perf_counter()
        confirmation = self.post(f"{base}/absenden", {"csrf_token": token})
        if "/bestaetigung" not in confirmation:
            raise RuntimeError(f"submit went to {confirmation}, not the confirmation")
        return upload_time, time.perf_counter() - start

    def apply(self, pdfs: list[Path]) -> tuple[float, float]:
        """The whole application; return the times of the documents POST and the submit POST."""
        path, upload_time = self.documents(self.walk_to_documents(), pdfs)
        path = self.fill(path, ANSWERS["erklaerungen"])  # -> the check page
        _html, _names, token = self.get(path)
        submit_path = path.rsplit("/", 1)[0] + "/absenden"
        start = time.perf_counter()
        confirmation = self.post(submit_path, {"csrf_token": token})
        submit_time = time.perf_counter() - start
        self.get(confirmation)
        return upload_time, submit_time


# --- the phases -----------------------------------------------------------------------------------


@dataclass
class Load:
    done: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # the submit POST / the minimal POST
    flows: list[float] = field(default_factory=list)
    uploads: list[float] = field(default_factory=list)  # the app's documents POST (two files)
    elapsed: float = 0.0
    worker_cpu: float = 0.0  # CPU seconds of the server's workers during the phase
    database_cpu: float = 0.0  # of PostgreSQL
    client_cpu: float = 0.0  # of this bench's HTTP clients
    worker_faults: int = 0  # minor page faults of the server's workers during the phase

    @property
    def faults_each(self) -> float:
        return self.worker_faults / self.done if self.done else 0.0

    @property
    def cpu_ms_each(self) -> float:
        return self.worker_cpu / self.done * 1000 if self.done else 0.0

    def machine_ms_each(self) -> tuple[float, float, float]:
        """CPU ms per operation of the workers, PostgreSQL and the clients."""
        if not self.done:
            return 0.0, 0.0, 0.0
        return (self.worker_cpu / self.done * 1000, self.database_cpu / self.done * 1000,
                self.client_cpu / self.done * 1000)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    def add(self, other: Load) -> None:
        """Count another round of the same side into this one."""
        self.done += other.done
        self.errors += other.errors
        self.latencies += other.latencies
        self.flows += other.flows
        self.uploads += other.uploads
        self.elapsed += other.elapsed
        self.worker_cpu += other.worker_cpu
        self.database_cpu += other.database_cpu
        self.client_cpu += other.client_cpu
        self.worker_faults += other.worker_faults


def with_cpu(server: Server, run: Callable[[], Load]) -> Load:
    """Run one round against ``server`` and note the CPU spent meanwhile by its workers, by
    PostgreSQL and by this bench's clients: the machine's cores are all the three share."""
    before = server.workers_cpu(), database_cpu(), client_cpu()
    faults_before = server.workers_faults()
    load = run()
    load.worker_faults = server.workers_faults() - faults_before
    load.worker_cpu = server.workers_cpu() - before[0]
    load.database_cpu = database_cpu() - before[1]
    load.client_cpu = client_cpu() - before[2]
    return load


def count_submissions(url: str) -> tuple[int, int]:
    """Rows in ``submissions`` and in ``eingaenge`` (the clearing queue) now."""
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT (SELECT count(*) FROM submissions), "
                                 "(SELECT count(*) FROM eingaenge)").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def run_threads(concurrency: int, seconds: float, work: Any) -> Load:
    """``work(worker_index, load, lock)`` in a loop on each thread until the time is up."""
    load, lock = Load(), threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop(index: int) -> None:
        while time.monotonic() < stop_at and len(load.errors) < 20:
            try:
                work(index, load, lock)
            except Exception as error:  # counted and printed, never hidden
                with lock:
                    load.errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=loop, args=(index,), daemon=True)
               for index in range(concurrency)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 600)
    load.elapsed = time.monotonic() - start
    return load


@dataclass(frozen=True)
class DocumentsForm:
    """The documents page's field names: where the two files go, which boxes say "later"."""

    files: list[str]
    later: list[str]


def read_documents_form(citizen: Citizen, path: str, pdf_count: int) -> DocumentsForm:
    html, names, _token = citizen.get(path)
    file_fields = re.findall(r'name="(file_[^"]+)"', html)
    if len(file_fields) < pdf_count:
        raise RuntimeError(f"only {file_fields} on the documents page")
    later = ["later_" + name.removeprefix("file_") for name in file_fields[pdf_count:]]
    missing = [name for name in later if name not in names]
    if missing:
        raise RuntimeError(f"no {missing} on the documents page")
    return DocumentsForm(file_fields[:pdf_count], later)


def clone_drafts(url: str, template_public_id: str, citizen_ids: list[int],
                 per_citizen: int) -> dict[int, list[str]]:
    """Copies of one prepared draft (the answers the app itself stored) for every citizen."""
    import psycopg

    drafts: dict[int, list[str]] = {citizen_id: [] for citizen_id in citizen_ids}
    rows = []
    for citizen_id in citizen_ids:
        for _ in range(per_citizen):
            public_id = secrets.token_urlsafe(18)
            drafts[citizen_id].append(public_id)
            rows.append((public_id, citizen_id, template_public_id))
    with psycopg.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO drafts (public_id, citizen_id, service_code, answers, last_step, "
            "created_at, updated_at, expires_at) SELECT %s, %s, service_code, answers, "
            "last_step, now(), now(), now() + interval '30 days' FROM drafts "
            "WHERE public_id = %s", rows)
    return drafts


def signed_in_citizens(base: str, emails: list[str], first: int = 0) -> list[Citizen]:
    """A browser for each address, signed in, each from its own loopback address."""
    citizens = [Citizen(base, email, f"127.0.{1 + number // 250}.{2 + number % 250}")
                for number, email in enumerate(emails, start=first)]
    for citizen in citizens:
        citizen.log_in()
    return citizens


def prepare_submissions(citizens: list[Citizen], url: str, drafts_each: int, pdf_count: int
                        ) -> tuple[DocumentsForm, list[list[str]], list[str]]:
    """The first citizen answers a whole application but the documents; copies of that draft
    for every citizen. Returns the documents page's fields, each citizen's drafts and CSRF
    token."""
    import psycopg

    template_path = citizens[0].prepare()
    form = read_documents_form(citizens[0], template_path, pdf_count)
    with psycopg.connect(url) as connection:
        ids: dict[str, int] = dict(connection.execute("SELECT email, id FROM citizens").fetchall())
    prepared = clone_drafts(url, template_path.rstrip("/").split("/")[-2],
                            [ids[citizen.email] for citizen in citizens], drafts_each)
    return (form, [prepared[ids[citizen.email]] for citizen in citizens],
            [citizen.token() for citizen in citizens])


def app_load(citizens: list[Citizen], drafts: list[list[str]], tokens: list[str],
             form: DocumentsForm, concurrency: int, seconds: float, pdfs: list[Path]) -> Load:
    turns = [0] * concurrency

    def work(index: int, load: Load, lock: threading.Lock) -> None:
        own = list(range(index, len(citizens), concurrency))
        number = own[turns[index] % len(own)]
        turns[index] += 1
        if not drafts[number]:
            raise RuntimeError("out of prepared drafts: raise --drafts")
        public_id = drafts[number].pop()
        start = time.perf_counter()
        upload_time, submit_time = citizens[number].submit_prepared(public_id, form,
                                                                     tokens[number], pdfs)
        took = time.perf_counter() - start
        with lock:
            load.done += 1
            load.uploads.append(upload_time)
            load.latencies.append(took)
            load.flows.append(submit_time)

    return run_threads(concurrency, seconds, work)


def minimal_load(server: Server, concurrency: int, seconds: float, pdfs: list[Path]) -> Load:
    import requests

    sessions = [requests.Session() for _ in range(concurrency)]

    def work(index: int, load: Load, lock: threading.Lock) -> None:
        handles = [pdf.open("rb") for pdf in pdfs]
        try:
            start = time.perf_counter()
            response = sessions[index].post(
                server.url + "/upload", timeout=120,
                files=[(f"file{number}", (pdf.name, handle, "application/pdf"))
                       for number, (pdf, handle) in enumerate(zip(pdfs, handles,
                                                                  strict=True))])
            took = time.perf_counter() - start
        finally:
            for handle in handles:
                handle.close()
        if response.status_code != 201:
            raise RuntimeError(f"minimal: {response.status_code}")
        with lock:
            load.done += 1
            load.latencies.append(took)

    return run_threads(concurrency, seconds, work)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_during(pid: int, action: Any) -> tuple[int, int]:
    """RSS of ``pid`` before ``action()`` and the highest RSS while it ran (KiB)."""
    before = rss_kb(pid)
    peak = [before]
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        action()
    finally:
        running.clear()
        sampler.join(timeout=5)
    peak[0] = max(peak[0], rss_kb(pid))
    return before, peak[0]


def memory_run(env: dict[str, str], log_dir: Path, pdf_dir: Path,
               email: str) -> list[tuple[str, int, int]]:
    """One worker; upload 1 MB (warm-up), 5 MB and 50 MB on the documents page."""
    server = start_gunicorn("app-memory", "amtsweg.wsgi:app",
                            {**env, "AMTSWEG_MAX_UPLOAD_MB": "60"}, 1, log_dir,
                            "/konto/anmelden")
    results = []
    try:
        (pid,) = server.worker_pids()
        citizen = Citizen(server.url, email, "127.0.1.1")
        citizen.log_in()
        path = citizen.walk_to_documents()
        sizes = [("1 MB (warm-up)", 1), ("5 MB", 5), ("50 MB", 50)]
        for label, size in sizes:
            pdf = write_pdf(pdf_dir / f"memory-{size}.pdf", size * MB)
            html, _names, token = citizen.get(path)
            name = re.findall(r'name="(file_[^"]+)"', html)[0]

            def upload(name: str = name, token: str = token, pdf: Path = pdf) -> None:
                with pdf.open("rb") as handle:
                    citizen.post(path, {"csrf_token": token, "action": "upload"},
                                 [(name, (pdf.name, handle, "application/pdf"))])

            before, peak = peak_during(pid, upload)
            results.append((label, before, peak))
            pdf.unlink()
    finally:
        server.stop()
    return results


# --- database ------------------------------------------------------------------------------------


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


@contextmanager
def bench_database(name: str = DATABASE) -> Iterator[str]:
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(f"CREATE DATABASE {name}")
    try:
        yield f"{SERVER}/{name}"
    finally:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def scratch(prefix: str, folders: tuple[str, ...]) -> Iterator[tuple[Path, list[Server]]]:
    """A temporary directory with ``folders``, and the list of servers started for the run: at
    the end, also on Ctrl-C or an error, every server is stopped and the directory removed."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    servers: list[Server] = []
    try:
        for folder in folders:
            (tmp / folder).mkdir()
        yield tmp, servers
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def app_env(url: str, tmp: Path) -> dict[str, str]:
    """The app's settings for a bench: this database, files and mail under ``tmp``."""
    env = {**os.environ, "AMTSWEG_DATABASE_URL": url,
           "AMTSWEG_STORAGE_URL": f"file://{tmp / 'documents'}",
           "AMTSWEG_INSTANCE_PATH": str(tmp / "instance"),
           "AMTSWEG_SECRET_KEY": secrets.token_hex(32),
           "AMTSWEG_MAIL_URL": f"file://{tmp / 'instance' / 'mail'}"}
    for name in ("AMTSWEG_MAX_UPLOAD_MB", "AMTSWEG_CLAMAV_URL", "AMTSWEG_ENV"):
        env.pop(name, None)
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run([str(VENV_BIN / "amtsweg"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def create_citizens(env: dict[str, str], count: int) -> list[str]:
    """Verified citizens with one password (hashed once: the hash is the same work each time)."""
    script = f"""
import os
from amtsweg.app import create_app
from amtsweg.extensions import db
from amtsweg.citizens.models import Citizen
from amtsweg.db import utcnow
from amtsweg.passwords import hash_password
app = create_app()
with app.app_context():
    digest = hash_password({PASSWORD!r})
    for number in range({count}):
        db.session.add(Citizen(email=f"buerger{{number}}@bench.example", password_hash=digest,
                               email_verified_at=utcnow(), session_epoch=0))
    db.session.commit()
"""
    subprocess.run([str(VENV_BIN / "python"), "-c", script], cwd=ROOT, env=env, check=True)
    return [f"buerger{number}@bench.example" for number in range(count)]


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=30.0, help="per side, all rounds")
    parser.add_argument("--rounds", type=int, default=5,
                        help="turns each side takes, alternating (the seconds split among them)")
    parser.add_argument("--workers", type=int, default=3, choices=range(2, 5))
    parser.add_argument("--drafts", type=int, default=300,
                        help="prepared drafts per citizen (enough for all rounds)")
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 1 and --seconds more than 0")
    args.citizens = max(args.citizens, args.concurrency)

    import psycopg

    started = time.monotonic()
    with scratch("amtsweg-bench-submit-",
                 ("instance", "documents", "minimal", "pdf", "logs")) as (tmp, servers):
        with bench_database() as url:
            env = {**app_env(url, tmp), "BENCH_SUBMIT_STORAGE": str(tmp / "minimal"),
                   "BENCH_SUBMIT_DB": url}
            migrate(env)
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("CREATE TABLE bench_minimal (id bigserial PRIMARY KEY, "
                                   "keys text NOT NULL, created_at timestamptz NOT NULL "
                                   "DEFAULT now())")
            emails = create_citizens(env, args.citizens + 1)
            pdfs = [write_pdf(tmp / "pdf" / f"{name}.pdf", 1 * MB)
                    for name in ("geburtsurkunde", "scheidungsurteil")]

            # 1. the app
            app = start_gunicorn("app", "amtsweg.wsgi:app", env, args.workers, tmp / "logs",
                                 "/konto/anmelden")
            servers.append(app)
            citizens = signed_in_citizens(app.url, emails[:-1])
            citizens[0].apply(pdfs)  # warm-up: every page once in some worker
            whole_flows = []
            for _ in range(3):
                start = time.perf_counter()
                citizens[0].apply(pdfs)
                whole_flows.append(time.perf_counter() - start)
            form, drafts, tokens = prepare_submissions(citizens, url, args.drafts, len(pdfs))
            before_rows = count_submissions(url)

            # 2. the minimal endpoint, up beside the app
            minimal = start_gunicorn("minimal", "bench.submit:create_minimal_app()", env,
                                     args.workers, tmp / "logs", "/upload")
            servers.append(minimal)
            minimal_load(minimal, 1, 2, pdfs)  # warm-up

            # Both sides take turns in short rounds, so a slower minute of this shared machine
            # falls on both and not on one side only.
            slice_seconds = args.seconds / args.rounds
            app_result, minimal_result = Load(), Load()
            round_ratios = []

            def app_round() -> Load:
                return with_cpu(app, lambda: app_load(
                    citizens, drafts, tokens, form, args.concurrency, slice_seconds, pdfs))

            def minimal_round() -> Load:
                return with_cpu(minimal, lambda: minimal_load(
                    minimal, args.concurrency, slice_seconds, pdfs))

            for number in range(args.rounds):
                if number % 2 == 0:
                    app_turn, minimal_turn = app_round(), minimal_round()
                else:
                    minimal_turn, app_turn = minimal_round(), app_round()
                app_result.add(app_turn)
                minimal_result.add(minimal_turn)
                round_ratios.append(app_turn.rate / minimal_turn.rate
                                    if minimal_turn.rate else 0.0)
            app.stop()
            minimal.stop()
            after_rows = count_submissions(url)
            submissions = after_rows[0] - before_rows[0]
            eingaenge = after_rows[1] - before_rows[1]

            # 3. memory of one worker during a 5 MB and a 50 MB upload
            memory = memory_run(env, tmp / "logs", tmp / "pdf", emails[-1])

        ratio = app_result.rate / minimal_result.rate if minimal_result.rate else 0.0
        print(f"\nbench/submit.py: {args.workers} gunicorn workers, {args.concurrency} "
              f"concurrent citizens ({args.citizens} signed in), {args.seconds:.0f} s per side "
              f"in {args.rounds} alternating rounds, "
              f"two 1 MB PDFs per submission, PostgreSQL, file storage\n")
        print(f"{'':10} {'done':>6} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
        for name, load in (("app", app_result), ("minimal", minimal_result)):
            print(f"{name:10} {load.done:6d} {load.rate:7.2f} "
                  f"{pct(load.latencies, 50) * 1000:8.1f} {pct(load.latencies, 95) * 1000:8.1f} "
                  f"{len(load.errors):6d}")
        print("\napp: one submission = the documents POST with both files + the submit POST "
              "(question pages answered before); minimal: one POST with both files")
        print(f"app documents POST p50 {pct(app_result.uploads, 50) * 1000:.1f} ms, p95 "
              f"{pct(app_result.uploads, 95) * 1000:.1f} ms; submit POST p50 "
              f"{pct(app_result.flows, 50) * 1000:.1f} ms, p95 "
              f"{pct(app_result.flows, 95) * 1000:.1f} ms")
        print(f"whole application, one citizen alone (~25 requests, every page fetched and "
              f"posted): {statistics.median(whole_flows) * 1000:.0f} ms (median of 3)")
        print(f"rows written in the app's rounds: {submissions} submissions, {eingaenge} queue "
              f"items (expected {app_result.done} each)")
        app_cpu, minimal_cpu = app_result.cpu_ms_each, minimal_result.cpu_ms_each
        print(f"CPU of the server's workers: {app_cpu:.1f} ms per submission, minimal "
              f"{minimal_cpu:.1f} ms per POST (the app's own work: {app_cpu - minimal_cpu:.1f} ms "
              f"more; the same CPU for both: {minimal_cpu / app_cpu if app_cpu else 0:.2f})")
        print(f"minor page faults of the workers: {app_result.faults_each:.0f} per submission, "
              f"minimal {minimal_result.faults_each:.0f} per POST")
        app_split, minimal_split = app_result.machine_ms_each(), minimal_result.machine_ms_each()
        print("CPU of the whole machine per operation (workers + PostgreSQL + the bench's "
              "clients):")
        for name, split in (("app", app_split), ("minimal", minimal_split)):
            print(f"  {name:8} {split[0]:5.1f} + {split[1]:4.1f} + {split[2]:4.1f} = "
                  f"{sum(split):5.1f} ms")
        if sum(app_split):
            print(f"  minimal ÷ app: {sum(minimal_split) / sum(app_split):.2f}; at the target "
                  f"the app's submission would use at most "
                  f"{sum(minimal_split) / TARGET_RATIO:.1f} ms")
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        print("ratio in each round: " + " ".join(f"{value:.2f}" for value in round_ratios))
        print(f"ratio app/minimal throughput: {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})")
        print("\npeak RSS of the one app worker during one upload on the documents page:")
        base = None
        for label, before, peak in memory:
            print(f"  {label:15} idle {before / 1024:7.1f} MB, peak {peak / 1024:7.1f} MB, "
                  f"growth {(peak - before) / 1024:6.1f} MB")
            if label == "5 MB":
                base = peak - before
        fifty = memory[-1][2] - memory[-1][1]
        if base is not None:
            grows = fifty - base > 10 * 1024
            print(f"  50 MB vs 5 MB growth: {(fifty - base) / 1024:+.1f} MB "
                  f"({'GROWS with the file' if grows else 'flat: does not grow with the file'})")
        for name, load in (("app", app_result), ("minimal", minimal_result)):
            for error in load.errors[:5]:
                print(f"  {name} error: {error}")
        print(f"\ntotal {time.monotonic() - started:.0f} s")
        return 0 if not app_result.errors and not minimal_result.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""A load scenario: citizens applying while clerks page the queue and caseworkers open cases.

Run: .venv/bin/python -m bench.load [--seconds 60] [--users 20] [--workers 3] [--threads 4]
                                    [--database-url URL] [--json results.json]
Needs PostgreSQL (``AMTSWEG_BENCH_POSTGRES``, default postgresql://postgres@127.0.0.1:5432): it
creates the database ``amtsweg_load`` there and drops it at the end. With ``--database-url`` it
uses that (empty) database instead, PostgreSQL or a SQLite file (put into WAL mode), and leaves
dropping it to the caller (tests/test_load_scenario.py does that).

Everything runs on loopback and is removed at the end, also on Ctrl-C, SIGTERM or an error:

1. the database is migrated (``amtsweg db upgrade``) and seeded through the app's own services:
   staff (clerks, caseworkers), citizens, paper items in the clearing queue, open UVG cases of
   each caseworker, and submitted UVG applications (copies of one application a citizen filled
   in over HTTP first);
2. moto's S3 server runs as a process of its own and is the app's document storage;
3. gunicorn serves ``amtsweg.wsgi:app`` with gthread workers on a free port; a hook in every
   worker times each request and, inside it, the thread's CPU time, every SQL statement and
   commit, every S3 call and every password hash;
4. locust (as a library, in a child process: it monkey-patches the whole process for gevent) runs
   for ``--seconds``: **citizens** sign in, walk the UVG application page by page with one PDF
   upload, submit, download the receipt, and read "Meine Anträge" and one application; **clerks**
   page through the clearing queue and open items; **caseworkers** open "Meine Fälle" and a case.
   Every page is fetched, its form read with an HTML parser and posted with its CSRF token, as a
   browser does; each citizen visit is another account from another loopback address. Users do not
   pause between requests: the figures are the capacity of the machine, not an office's ordinary
   day. When the time is up every user finishes the round it is in, so nothing is cut off;
5. baseline, same run: the same number of users request ``/healthz`` (the cheapest page that
   still goes through gunicorn, Flask, the database and the S3 server) for ``--baseline-seconds``.

Printed: per request kind count, throughput, p50/p95 and errors; the ratio of the scenario's
throughput to the baseline's; and where the time goes: the server's time per endpoint split into
the thread's CPU, SQL, S3 and password hashing, the CPU each process used, and the database's
own statement times when the server has pg_stat_statements loaded. The exit status is 1 if any
request failed or the submissions in the database differ from the submits answered.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, bench/ would come first on sys.path, and bench/queue.py would shadow the
# standard library's ``queue`` for every library that imports it.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Only the standard library above this line and in bench.submit: the locust child must patch
# the process for gevent before anything imports ssl (requests, urllib3, minio).
from bench.submit import (  # noqa: E402
    ANSWERS,
    BASE,
    DOCUMENTS_SLUG,
    child_answers,
    cpu_seconds,
    free_port,
    pct,
    write_pdf,
)

DATABASE = "amtsweg_load"
SERVER = os.environ.get("AMTSWEG_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
VENV_BIN = Path(sys.executable).parent
PASSWORD = "load-password-long-1"
BUCKET = "amtsweg-load"
PHASE_HEADER = "X-Bench-Phase"
ROUND_LIMIT = 120  # seconds a user may take to finish its round after the time is up
KB = 1024

# The request kinds, as locust names them; each is one page or one POST of a person's visit.
SIGN_IN_FORM = "citizen: sign-in page"
SIGN_IN = "citizen: sign in"
START = "citizen: application start"
FIRST_CHILD_FORM = "citizen: first child page"
FIRST_CHILD = "citizen: first child"
QUESTION = "citizen: question page"
ANSWER = "citizen: answer"
DOCUMENTS = "citizen: documents page"
UPLOAD = "citizen: upload document"
CHECK = "citizen: check answers"
SUBMIT = "citizen: submit"
CONFIRMATION = "citizen: confirmation"
RECEIPT = "citizen: receipt PDF"
MY_APPLICATIONS = "citizen: Meine Anträge"
APPLICATION = "citizen: one application"
STAFF_SIGN_IN_FORM = "staff: sign-in page"
STAFF_SIGN_IN = "staff: sign in"
QUEUE = "clerk: queue"
QUEUE_NEXT = "clerk: queue next page"
QUEUE_ITEM = "clerk: queue item"
MY_CASES = "caseworker: Meine Fälle"
CASE = "caseworker: case"
HEALTH = "baseline: /healthz"
SCENARIO_KINDS = (SIGN_IN_FORM, SIGN_IN, START, FIRST_CHILD_FORM, FIRST_CHILD, QUESTION, ANSWER,
                  DOCUMENTS, UPLOAD, CHECK, SUBMIT, CONFIRMATION, RECEIPT, MY_APPLICATIONS,
                  APPLICATION, STAFF_SIGN_IN_FORM, STAFF_SIGN_IN, QUEUE, QUEUE_NEXT, QUEUE_ITEM,
                  MY_CASES, CASE)

QUEUE_ITEM_LINK = re.compile(r"^/intern/clearing/\d+$")
QUEUE_NEXT_LINK = re.compile(r"^/intern/clearing/\?(.*&)?nach=")
CASE_LINK = re.compile(r"^/intern/faelle/\d+$")
APPLICATION_LINK = re.compile(r"^/konto/antraege/[A-Za-z0-9_-]+$")
RECEIPT_LINK = re.compile(r"^/konto/antraege/[A-Za-z0-9_-]+/eingangsbestaetigung\.pdf$")


# --- a browser's view of a page -------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    values: dict[str, str] = field(default_factory=dict)  # what the browser sends as it stands
    names: set[str] = field(default_factory=set)  # every field of the form
    files: list[str] = field(default_factory=list)  # file inputs, in page order


class Page(HTMLParser):
    """The forms and links of one HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"].split("#", 1)[0])
        elif tag == "form":
            self._form = Form(attributes.get("action", ""),
                              attributes.get("method", "get").lower())
        form, name = self._form, attributes.get("name", "")
        if form is None or (not name and tag != "option"):
            return
        if tag == "input":
            kind = attributes.get("type", "text").lower()
            form.names.add(name)
            if kind == "file":
                form.files.append(name)
            elif kind in {"checkbox", "radio"}:
                if "checked" in attributes:
                    form.values[name] = attributes.get("value", "on")
            elif kind not in {"submit", "button", "image", "reset"}:
                form.values[name] = attributes.get("value", "")
        elif tag == "button":
            form.names.add(name)
        elif tag == "select":
            form.names.add(name)
            self._select = name
        elif tag == "option" and self._select is not None:
            # The first option stands until one is marked selected, as in a browser.
            if "selected" in attributes or self._select not in form.values:
                form.values[self._select] = attributes.get("value", "")
        elif tag == "textarea":
            form.names.add(name)
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea is not None:
            self._form.values[self._textarea] = "".join(self._text)
            self._textarea = None

    def form(self, path: str, answers: dict[str, str], target: str = "") -> Form:
        """The POST form that asks for ``answers`` (and posts to ``target``, when given)."""
        usable = [form for form in self.forms
                  if form.method == "post" and set(answers) <= form.names]
        # Every page also has the header's small forms (language, sign out): only the form
        # that posts to the page itself, or to ``target``, is the page's own.
        usable = [form for form in usable
                  if (local_path(form.action).endswith(target) if target
                      else local_path(form.action) in {"", path})]
        if not usable:
            missing = sorted(set(answers) - set().union(*(f.names for f in self.forms)))
            raise VisitFailed(f"{path}: no form for {sorted(answers)} (missing {missing})")
        return usable[0]

    def matching(self, pattern: re.Pattern[str]) -> list[str]:
        return [link for link in self.links if pattern.match(link)]


class VisitFailed(Exception):
    """A page did not answer as a browser expects; the request is counted as an error."""


@dataclass(frozen=True)
class Reply:
    status: int
    location: str
    text: str


def local_path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def error_summary(status: int, html: str) -> str:
    """What the page said went wrong: the GOV.UK-style error texts, or the status."""
    errors = re.findall(r'class="kern-error"[^>]*>(.*?)</p>', html, re.S)
    texts = [re.sub(r"<[^>]+>", "", error).strip() for error in errors][:3]
    return f"{status} {texts}" if texts else str(status)


class Visit:
    """One person's browser: every page fetched, its form read and posted with its token."""

    def send(self, method: str, path: str, kind: str, expect: int,
             data: dict[str, str] | None = None, files: Any = None) -> Reply:
        raise NotImplementedError

    def get(self, path: str, kind: str) -> Page:
        return Page(self.send("GET", path, kind, 200).text)

    def post(self, path: str, kind: str, data: dict[str, str], files: Any = None) -> str:
        """Post a form; the app answers every good POST with a redirect: return its target."""
        reply = self.send("POST", path, kind, 302, data, files)
        return local_path(reply.location)

    def fill(self, path: str, page: Page, kind: str, answers: dict[str, str],
             action: str | None = "continue", target: str = "", files: Any = None) -> str:
        form = page.form(path, answers, target)
        data = {**form.values, **answers}
        if action is not None:
            data["action"] = action
        return self.post(local_path(form.action) if form.action else path, kind, data, files)

    # --- citizens ---

    def sign_in_citizen(self, email: str) -> None:
        page = self.get("/konto/anmelden", SIGN_IN_FORM)
        self.fill("/konto/anmelden", page, SIGN_IN, {"email": email, "password": PASSWORD},
                  action=None)

    def answer_questions(self, pdf: Path) -> str:
        """Answer every page of the UVG application, one PDF on the documents page (the other
        papers "sent later"), the declarations; return the path of the check page."""
        self.get(f"{BASE}/", START)
        page = self.get(f"{BASE}/neu", FIRST_CHILD_FORM)
        path = self.fill(f"{BASE}/neu", page, FIRST_CHILD, child_answers())
        for _ in range(20):
            slug = path.rstrip("/").rsplit("/", 1)[-1]
            if slug == DOCUMENTS_SLUG:
                break
            if slug not in ANSWERS:
                raise VisitFailed(f"unexpected page {path}")
            page = self.get(path, QUESTION)
            path = self.fill(path, page, ANSWER, ANSWERS[slug])
        else:
            raise VisitFailed("no documents page after 20 pages")
        page = self.get(path, DOCUMENTS)
        form = page.form(path, {})
        if not form.files:
            raise VisitFailed(f"no file field on {path}")
        data = {**form.values, "action": "continue"}
        for name in form.files[1:]:
            later = "later_" + name.removeprefix("file_")
            if later not in form.names:
                raise VisitFailed(f"no {later} on {path}")
            data[later] = "y"
        with pdf.open("rb") as handle:
            path = self.post(path, UPLOAD, data,
                             [(form.files[0], (pdf.name, handle, "application/pdf"))])
        page = self.get(path, QUESTION)  # the declarations
        path = self.fill(path, page, ANSWER, ANSWERS["erklaerungen"])
        if not path.endswith("/pruefen"):
            raise VisitFailed(f"the declarations led to {path}, not the check page")
        return path

    def submit(self, check_path: str) -> None:
        page = self.get(check_path, CHECK)
        confirmation = self.fill(check_path, page, SUBMIT, {}, action=None, target="/absenden")
        if not confirmation.endswith("/bestaetigung"):
            raise VisitFailed(f"submit led to {confirmation}, not the confirmation")
        # Who has just sent an application keeps the receipt: drawn on this first download.
        receipts = self.get(confirmation, CONFIRMATION).matching(RECEIPT_LINK)
        if not receipts:
            raise VisitFailed("the confirmation page links no receipt")
        if not self.send("GET", receipts[0], RECEIPT, 200).text.startswith("%PDF-"):
            raise VisitFailed("the receipt is not a PDF")

    def read_applications(self, rng: random.Random) -> None:
        links = self.get("/konto/antraege", MY_APPLICATIONS).matching(APPLICATION_LINK)
        if not links:
            raise VisitFailed("Meine Anträge lists no application")
        self.get(rng.choice(links), APPLICATION)

    def citizen_visit(self, email: str, pdf: Path, rng: random.Random) -> None:
        self.sign_in_citizen(email)
        self.submit(self.answer_questions(pdf))
        self.read_applications(rng)

    # --- staff ---

    def sign_in_staff(self, username: str) -> None:
        page = self.get("/intern/anmelden", STAFF_SIGN_IN_FORM)
        self.fill("/intern/anmelden", page, STAFF_SIGN_IN,
                  {"username": username, "password": PASSWORD}, action=None)

    def clerk_round(self, rng: random.Random) -> None:
        """The queue's first page, one item, the next page and one item of it."""
        page = self.get("/intern/clearing/", QUEUE)
        items = page.matching(QUEUE_ITEM_LINK)
        if not items:
            raise VisitFailed("the queue is empty")
        self.get(rng.choice(items), QUEUE_ITEM)
        more = page.matching(QUEUE_NEXT_LINK)
        if more:
            items = self.get(more[0], QUEUE_NEXT).matching(QUEUE_ITEM_LINK)
            if items:
                self.get(rng.choice(items), QUEUE_ITEM)

    def caseworker_round(self, rng: random.Random) -> None:
        cases = self.get("/intern/faelle/", MY_CASES).matching(CASE_LINK)
        if not cases:
            raise VisitFailed("Meine Fälle lists no case")
        self.get(rng.choice(cases), CASE)

    def probe(self) -> None:
        self.send("GET", "/healthz", HEALTH, 200)


def source_adapter(source_ip: str) -> Any:
    """A requests adapter that connects from ``source_ip``: different people, different
    addresses, so the per-address sign-in limits count each person on their own."""
    from requests.adapters import HTTPAdapter

    class SourceAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["source_address"] = (source_ip, 0)
            super().init_poolmanager(*args, **kwargs)

    return SourceAdapter()


def loopback_address(group: int, number: int) -> str:
    """Distinct loopback source addresses (127.0.0.0/8 is loopback as a whole)."""
    return f"127.{group}.{number // 250}.{1 + number % 250}"


class PlainVisit(Visit):
    """A visit with plain requests, for the walk through every page before the load."""

    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.session = requests.Session()
        self.session.headers[PHASE_HEADER] = "setup"

    def send(self, method: str, path: str, kind: str, expect: int,
             data: dict[str, str] | None = None, files: Any = None) -> Reply:
        response = self.session.request(method, self.base + path, data=data, files=files,
                                        allow_redirects=False, timeout=120)
        if response.status_code != expect:
            raise VisitFailed(f"{kind}: {method} {path}: "
                              f"{error_summary(response.status_code, response.text)}")
        return Reply(response.status_code, response.headers.get("Location", ""), response.text)

    def close(self) -> None:
        self.session.close()


# --- the gunicorn workers' timing hook (``gunicorn -c`` a file that imports these) ----------------

_request = threading.local()
_timings_lock = threading.Lock()


def _add(what: str, seconds: float, counted: bool = True) -> None:
    if getattr(_request, "started", None) is not None:
        setattr(_request, what, getattr(_request, what) + seconds)
        if counted:
            setattr(_request, f"{what}_count", getattr(_request, f"{what}_count") + 1)


def gunicorn_post_fork(server: Any, worker: Any) -> None:
    """Time every SQL statement, commit, S3 call and password hash of a request, on the thread
    serving it."""
    import urllib3
    from argon2 import PasswordHasher
    from flask import request_started
    from sqlalchemy import event
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
    from sqlalchemy.engine import Engine

    def before(_conn: Any, _cursor: Any, _statement: Any, _parameters: Any, context: Any,
               _many: Any) -> None:
        context.bench_started = time.perf_counter()

    def after(_conn: Any, _cursor: Any, _statement: Any, _parameters: Any, context: Any,
              _many: Any) -> None:
        _add("sql", time.perf_counter() - context.bench_started)

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    # Flask clears the request from the WSGI environ when it is done: note the route before.
    request_started.connect(_note_route, weak=False)

    # A commit is no cursor execute, and on PostgreSQL it waits for the WAL flush.
    for dialect in (PGDialect_psycopg, SQLiteDialect_pysqlite):
        commit = dialect.do_commit

        def timed_commit(self: Any, connection: Any, commit: Any = commit) -> None:
            started = time.perf_counter()
            try:
                commit(self, connection)
            finally:
                _add("sql", time.perf_counter() - started, counted=False)

        dialect.do_commit = timed_commit  # type: ignore[method-assign]

    # minio (the S3 client) sends every call through urllib3's PoolManager; nothing else in the
    # app does. For a download this is the time to the response headers, not the body.
    urlopen = urllib3.PoolManager.urlopen

    def timed_urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return urlopen(self, *args, **kwargs)
        finally:
            _add("s3", time.perf_counter() - started)

    urllib3.PoolManager.urlopen = timed_urlopen  # type: ignore[method-assign]

    # argon2 hashes in C threads of its own (one per lane), outside the request thread's CPU
    # time: measured apart.
    for name in ("hash", "verify"):
        method = getattr(PasswordHasher, name)

        def timed_hashing(self: Any, *args: Any, method: Any = method, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                _add("hashing", time.perf_counter() - started)

        setattr(PasswordHasher, name, timed_hashing)


def _note_route(_app: Any, **_extra: Any) -> None:
    from flask import request

    _request.route = request.url_rule.rule if request.url_rule is not None else "(no route)"


def gunicorn_pre_request(worker: Any, request: Any) -> None:
    _request.route = "(not dispatched)"
    _request.sql = _request.s3 = _request.hashing = 0.0
    _request.sql_count = _request.s3_count = _request.hashing_count = 0
    _request.cpu_started = time.thread_time()
    _request.started = time.perf_counter()


def gunicorn_post_request(worker: Any, request: Any, environ: dict[str, Any],
                          response: Any) -> None:
    """One line per request: endpoint, status, server time, the CPU time of the thread that
    served it, SQL and S3 time and counts, password hashing time."""
    started = getattr(_request, "started", None)
    if started is None:
        return
    took = time.perf_counter() - started
    cpu = time.thread_time() - _request.cpu_started
    _request.started = None
    phase = re.sub(r"[^a-z]", "", environ.get("HTTP_X_BENCH_PHASE", "setup"))[:20] or "setup"
    line = json.dumps([environ.get("REQUEST_METHOD", ""), _request.route,
                       getattr(response, "status_code", 0), took, cpu, _request.sql,
                       _request.sql_count, _request.s3, _request.s3_count, _request.hashing])
    path = Path(os.environ["BENCH_LOAD_TIMINGS"]) / f"{phase}-{os.getpid()}.jsonl"
    with _timings_lock, path.open("a") as out:
        out.write(line + "\n")


GUNICORN_CONFIG = """\
from bench.load import gunicorn_post_fork as post_fork
from bench.load import gunicorn_post_request as post_request
from bench.load import gunicorn_pre_request as pre_request
"""


# --- processes ------------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def children(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(child) for child in children.read_text().split()] if children.exists() else []

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_process(name: str, command: list[str], env: dict[str, str], log_dir: Path,
                  stderr_to_log: bool = True) -> Process:
    """Start a server (stderr into its log) or a client (stderr shown, as it is the run's)."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=stderr if stderr_to_log else None)
    return Process(name, process, log)


def wait_until(ready: Callable[[], bool], process: Process, what: str,
               seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{process.tail()}")
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {seconds:.0f} s:\n{process.tail()}")


def http_status(url: str) -> int:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def start_moto(log_dir: Path) -> tuple[Process, str]:
    port = free_port()
    moto = start_process("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                  "-p", str(port)], dict(os.environ), log_dir)
    return moto, f"127.0.0.1:{port}"


@dataclass
class Gunicorn(Process):
    port: int = 0

    def stop(self, how: signal.Signals = signal.SIGQUIT) -> None:
        # The run is over: no request is left to finish, so no graceful shutdown (SIGQUIT).
        workers = self.children()
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            self.process.wait(timeout=1.5)
        except subprocess.TimeoutExpired:
            # A worker takes seconds to tear the app's modules down at exit; it has nothing
            # left to do, so it is not waited for.
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            super().stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_gunicorn(env: dict[str, str], workers: int, threads: int, work: Path) -> Gunicorn:
    port = free_port()
    config = work / "gunicorn_conf.py"
    config.write_text(GUNICORN_CONFIG)
    server = start_process("gunicorn", [
        str(VENV_BIN / "gunicorn"), "amtsweg.wsgi:app", "--config", str(config),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "gthread",
        "--threads", str(threads), "--timeout", "120", "--graceful-timeout", "5",
        "--log-level", "warning", "--no-control-socket"], env, work / "logs")
    return Gunicorn(server.name, server.process, server.log, port)


def wait_for_gunicorn(server: Gunicorn, workers: int) -> str:
    """Every worker up and the database and S3 reachable before the clock starts."""
    wait_until(lambda: http_status(server.url + "/healthz") == 200
               and len(server.children()) >= workers, server, "gunicorn")
    return server.url


# --- the database ---------------------------------------------------------------------------------


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


@contextlib.contextmanager
def bench_database(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin(f"CREATE DATABASE {DATABASE}")
    try:
        yield f"{SERVER}/{DATABASE}"
    finally:
        admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def use_wal(database_url: str) -> None:
    """SQLite: readers and the one writer of several gunicorn workers do not block each other.

    The journal mode is kept in the database file, so setting it once here is enough."""
    import sqlite3

    path = database_url.split("///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


class StatementStats:
    """pg_stat_statements of the bench database, when the server has it loaded."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.available = False
        self.note = ""
        if not database_url.startswith("postgres"):
            self.note = "database time by statement: needs PostgreSQL (pg_stat_statements)"
            return
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as connection:
            row = connection.execute("SELECT current_setting('shared_preload_libraries')")
            preload = (row.fetchone() or ("",))[0]
            if "pg_stat_statements" not in preload:
                self.note = ("database time by statement: skipped, pg_stat_statements is not in "
                             "the server's shared_preload_libraries (the SQL time per endpoint "
                             "above is measured in the app)")
                return
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.available = True

    def snapshot(self) -> dict[str, tuple[int, float, str]]:
        if not self.available:
            return {}
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT queryid::text, calls, total_exec_time, query FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND query NOT LIKE '%pg_stat_statements%'")
            return {str(queryid): (int(calls), float(total), str(query))
                    for queryid, calls, total, query in rows}

    def since(self, before: dict[str, tuple[int, float, str]]) -> list[tuple[str, int, float]]:
        """(statement, calls, total ms) since ``before``, the most time first."""
        rows = []
        for queryid, (calls, total, query) in self.snapshot().items():
            calls_before, total_before, _query = before.get(queryid, (0, 0.0, ""))
            if calls > calls_before:
                rows.append((query, calls - calls_before, total - total_before))
        return sorted(rows, key=lambda row: -row[2])


# --- the world: accounts, queue items, submissions, cases -----------------------------------------


@dataclass(frozen=True)
class World:
    citizens: list[str]
    template_citizen: str
    clerks: list[str]
    caseworkers: list[str]


def make_app(env: dict[str, str]) -> Any:
    from amtsweg.app import create_app
    from amtsweg.config import load_settings

    return create_app(load_settings(env))


FIRST_NAMES = ["Lea", "Noah", "Mia", "Elias", "Emilia", "Paul", "Sofia", "Emil"]
LAST_NAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Özdemir", "Nguyen"]


def seed_world(app: Any, citizens: int, clerks: int, caseworkers: int, queue_items: int,
               cases_each: int) -> World:
    """Through the app's services: staff and citizens (one password, hashed once), the routing
    rules, paper items in the queue, and open UVG cases of each caseworker with a note."""
    from amtsweg.audit.services import SYSTEM
    from amtsweg.citizens.models import Citizen
    from amtsweg.db import utcnow
    from amtsweg.extensions import db
    from amtsweg.fachbereiche import fachbereich_by_code
    from amtsweg.passwords import hash_password
    from amtsweg.sessions import staff_actor
    from amtsweg.staff.models import Role, Staff, StaffRole
    from backoffice.services import PartyData, add_note, open_case
    from clearing.models import EingangKind
    from clearing.rules import ensure_default_rules
    from clearing.services import Sender, create_eingang

    world = World([f"buerger{number}@load.example" for number in range(citizens)],
                  "vorlage@load.example", [f"clearing{number}" for number in range(clerks)],
                  [f"sb{number}" for number in range(caseworkers)])
    rng = random.Random(9)
    with app.test_request_context("/"):
        digest = hash_password(PASSWORD)
        uvg = fachbereich_by_code("uvg")
        assert uvg is not None
        for email in [*world.citizens, world.template_citizen]:
            db.session.add(Citizen(email=email, password_hash=digest, session_epoch=0,
                                   email_verified_at=utcnow()))
        people: list[Staff] = []
        for names, role in ((world.clerks, Role.CLEARING), (world.caseworkers, Role.CASEWORKER)):
            for number, username in enumerate(names):
                staff = Staff(username=username, full_name=f"{role.title()} {number}",
                              password_hash=digest, active=True, failed_logins=0,
                              session_epoch=0)
                staff.role_rows = [StaffRole(role=role)]
                staff.fachbereiche = [uvg]
                db.session.add(staff)
                people.append(staff)
        db.session.flush()
        ensure_default_rules()
        for number in range(queue_items):
            create_eingang(kind=EingangKind.PAPIEREINGANG, subject=f"Schreiben {number}",
                           sender=Sender(name=f"Absender {number}"), actor=SYSTEM,
                           service_code="uvg", message="Bitte um Rückruf.")
        for caseworker in people[len(world.clerks):]:
            for _ in range(cases_each):
                last = rng.choice(LAST_NAMES)
                parties = [PartyData("child", rng.choice(FIRST_NAMES), last,
                                     f"{rng.randint(2010, 2024)}-0{rng.randint(1, 9)}-15"),
                           PartyData("applicant", rng.choice(FIRST_NAMES), last, "1988-04-11",
                                     "Hauptstraße 1, 97437 Musterstadt")]
                fall = open_case(fachbereich=uvg, parties=parties, responsible=caseworker,
                                 actor=SYSTEM, source_eingang_id=None,
                                 title="Antrag auf Unterhaltsvorschuss")
                add_note(fall, "Unterlagen angefordert, Rückruf am Montag.", caseworker,
                         staff_actor(caseworker))
        db.session.commit()
    return world


def seed_submissions(app: Any, template_public_id: str, world: World, count: int) -> None:
    """Submit copies of the template's draft for the first ``count`` citizens, through the
    portal's own submit (queue item, confirmation mail)."""
    from sqlalchemy import select

    from amtsweg.citizens.models import Citizen
    from amtsweg.clock import berlin_today
    from amtsweg.extensions import db
    from amtsweg.sessions import citizen_actor
    from portal import drafts
    from portal.models import Draft
    from portal.uvg.services import SERVICE_CODE, submit_application

    with app.test_request_context("/"):
        template = db.session.scalar(select(Draft).where(Draft.public_id == template_public_id))
        if template is None:
            raise RuntimeError("the template application's draft is gone")
        answers = copy.deepcopy(template.answers)
        # The copies carry no files of their own: every paper is "sent later".
        answers["documents_later"] = list(dict.fromkeys(
            [*(answers.get("documents_later") or []),
             *(item.requirement for item in template.documents)]))
        people = {citizen.email: citizen for citizen in db.session.scalars(
            select(Citizen).where(Citizen.email.in_(world.citizens[:count])))}
        for email in world.citizens[:count]:
            citizen = people[email]
            draft = drafts.create_draft(citizen, SERVICE_CODE, answers, template.last_step,
                                        citizen_actor(citizen))
            submit_application(draft, citizen, berlin_today())


def seed_through_the_pages(app: Any, base_url: str, world: World, pdf: Path,
                           submissions: int) -> None:
    """One citizen walks every page first, over HTTP; the draft it leaves is the one the
    seeded submissions copy, and a broken page stops the run here, before the clock."""
    template = PlainVisit(base_url)
    try:
        template.sign_in_citizen(world.template_citizen)
        check_path = template.answer_questions(pdf)
        seed_submissions(app, check_path.rstrip("/").split("/")[-2], world, submissions)
        template.submit(check_path)
        template.read_applications(random.Random(1))
    finally:
        template.close()


def count_submissions(app: Any) -> int:
    from sqlalchemy import func, select

    from amtsweg.extensions import db
    from portal.models import Submission

    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Submission)) or 0)


# --- the locust child -----------------------------------------------------------------------------


def drive(spec_path: Path) -> int:
    """Run the scenario, then the baseline, with locust; write every request's time."""
    # locust patches the whole process for gevent when imported: first, before anything else
    # opens sockets or imports ssl.
    from locust import HttpUser, User, constant, task
    from locust.clients import HttpSession
    from locust.env import Environment

    # Started with the setup, so that importing locust overlaps it: wait for the spec.
    parent, deadline = os.getppid(), time.monotonic() + 1800
    while not spec_path.exists():
        if os.getppid() != parent or time.monotonic() > deadline:
            return 1
        time.sleep(0.05)
    spec = json.loads(spec_path.read_text())
    base, think, pdf = spec["base_url"], float(spec["think"]), Path(spec["pdf"])
    accounts = iter(range(10**9))
    staff_numbers = iter(range(10**9))
    probe_numbers = iter(range(10**9))
    results: dict[str, Any] = {}

    class LocustVisit(Visit):
        def __init__(self, user: HttpUser, source_ip: str, phase: str) -> None:
            self.session = HttpSession(base, request_event=user.environment.events.request,
                                       user=user)
            self.session.mount("http://", source_adapter(source_ip))
            self.session.headers[PHASE_HEADER] = phase

        def send(self, method: str, path: str, kind: str, expect: int,
                 data: dict[str, str] | None = None, files: Any = None) -> Reply:
            with self.session.request(method, path, name=kind, catch_response=True,
                                      allow_redirects=False, data=data, files=files,
                                      timeout=120) as response:
                status = response.status_code
                if status == expect:
                    response.success()
                    return Reply(status, response.headers.get("Location", ""), response.text)
                text = response.text if status else ""
                problem = f"{method} {path}: {error_summary(status, text or '')}"
                response.failure(problem)
            raise VisitFailed(problem)

    class CitizenUser(HttpUser):
        fixed_count = int(spec["citizens"])
        wait_time = constant(think)
        host = base

        def on_start(self) -> None:
            self.rng = random.Random()

        @task
        def visit(self) -> None:
            # Each visit is another citizen, from their own address, with a fresh browser.
            number = next(accounts) % len(spec["citizen_emails"])
            visit = LocustVisit(self, loopback_address(1, number), "scenario")
            try:
                visit.citizen_visit(spec["citizen_emails"][number], pdf, self.rng)
            except VisitFailed:
                pass  # counted as a failed request already
            finally:
                visit.session.close()

    class StaffUser(HttpUser):
        abstract = True
        wait_time = constant(think)
        host = base
        usernames: ClassVar[list[str]] = []

        def on_start(self) -> None:
            self.rng = random.Random()
            number = next(staff_numbers)
            self.username = self.usernames[number % len(self.usernames)]
            self.visit = LocustVisit(self, loopback_address(2, number), "scenario")
            self.signed_in = False

        def on_stop(self) -> None:
            self.visit.session.close()

        def work(self) -> None:
            raise NotImplementedError

        @task
        def round(self) -> None:
            try:
                if not self.signed_in:
                    self.visit.sign_in_staff(self.username)
                    self.signed_in = True
                self.work()
            except VisitFailed:
                pass

    class ClerkUser(StaffUser):
        fixed_count = int(spec["clerks"])
        usernames = spec["clerk_usernames"]

        def work(self) -> None:
            self.visit.clerk_round(self.rng)

    class CaseworkerUser(StaffUser):
        fixed_count = int(spec["caseworkers"])
        usernames = spec["caseworker_usernames"]

        def work(self) -> None:
            self.visit.caseworker_round(self.rng)

    class ProbeUser(HttpUser):
        fixed_count = int(spec["citizens"]) + int(spec["clerks"]) + int(spec["caseworkers"])
        wait_time = constant(think)
        host = base

        def on_start(self) -> None:
            self.visit = LocustVisit(self, loopback_address(3, next(probe_numbers)), "baseline")

        def on_stop(self) -> None:
            self.visit.session.close()

        @task
        def probe(self) -> None:
            with contextlib.suppress(VisitFailed):
                self.visit.probe()

    pids = {name: [int(pid) for pid in values] for name, values in spec["pids"].items()}
    pids["locust (this client)"] = [os.getpid()]

    def cpu() -> dict[str, float]:
        return {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}

    def run(phase: str, classes: list[type[User]], seconds: float) -> None:
        kinds: dict[str, dict[str, Any]] = {}
        problems: list[str] = []

        def on_request(request_type: str, name: str, response_time: float,
                       exception: BaseException | None = None, **_: Any) -> None:
            entry = kinds.setdefault(name, {"method": request_type, "times": [], "errors": 0})
            if exception is None:
                entry["times"].append(response_time)
            else:
                entry["errors"] += 1
                if len(problems) < 20:
                    problems.append(f"{name}: {exception}")

        def on_user_error(user_instance: Any, exception: BaseException, tb: Any) -> None:
            # A bug in this scenario's own code must not pass as a quiet run.
            entry = kinds.setdefault("(client error)", {"method": "", "times": [], "errors": 0})
            entry["errors"] += 1
            if len(problems) < 20:
                problems.append(f"client: {type(exception).__name__}: {exception}")

        # At the end every user finishes the round it is in (a citizen's visit, a clerk's
        # pages): nothing is cut off, so what the clients saw is what the server did.
        environment = Environment(user_classes=classes, host=base, stop_timeout=ROUND_LIMIT)
        environment.events.request.add_listener(on_request)
        environment.events.user_error.add_listener(on_user_error)
        runner = environment.create_local_runner()
        users = sum(int(getattr(cls, "fixed_count", 0)) for cls in classes)
        cpu_before = cpu()
        started = time.monotonic()
        runner.start(users, spawn_rate=users)
        time.sleep(seconds)  # gevent's sleep: the users run meanwhile
        runner.stop()
        elapsed = time.monotonic() - started
        runner.quit()
        cpu_after = cpu()
        results[phase] = {"seconds": elapsed, "kinds": kinds, "problems": problems,
                          "cpu": {name: cpu_after[name] - cpu_before[name] for name in pids}}

    run("scenario", [CitizenUser, ClerkUser, CaseworkerUser], float(spec["seconds"]))
    run("baseline", [ProbeUser], float(spec["baseline_seconds"]))
    Path(spec["results"]).write_text(json.dumps(results))
    return 0


# --- the report -----------------------------------------------------------------------------------


def summarise(phase: dict[str, Any]) -> dict[str, Any]:
    """Count, throughput, p50/p95 and errors per request kind and in total."""
    seconds = phase["seconds"]
    kinds = {}
    every: list[float] = []
    errors = 0
    for name, entry in phase["kinds"].items():
        times = entry["times"]
        every.extend(times)
        errors += entry["errors"]
        kinds[name] = {"method": entry["method"], "count": len(times) + entry["errors"],
                       "errors": entry["errors"], "per_s": (len(times) + entry["errors"]) / seconds,
                       "p50_ms": pct(times, 50), "p95_ms": pct(times, 95),
                       "mean_ms": sum(times) / len(times) if times else float("nan")}
    total = {"count": len(every) + errors, "errors": errors,
             "per_s": (len(every) + errors) / seconds, "p50_ms": pct(every, 50),
             "p95_ms": pct(every, 95),
             "mean_ms": sum(every) / len(every) if every else float("nan")}
    return {"seconds": seconds, "kinds": kinds, "total": total, "problems": phase["problems"],
            "cpu": phase["cpu"]}


def server_times(timings: Path, phase: str) -> dict[str, dict[str, float]]:
    """The workers' lines of one phase, per endpoint: server time and its SQL and S3 parts."""
    rows: dict[str, list[list[Any]]] = {}
    for path in sorted(timings.glob(f"{phase}-*.jsonl")):
        for line in path.read_text().splitlines():
            method, rule, _status, *figures = json.loads(line)
            rows.setdefault(f"{method} {rule}", []).append(figures)
    endpoints = {}
    for endpoint, values in rows.items():
        count = len(values)
        took = [value[0] * 1000 for value in values]
        endpoints[endpoint] = {
            "count": count, "p50_ms": pct(took, 50), "p95_ms": pct(took, 95),
            "total_s": sum(took) / 1000,
            "mean_ms": sum(took) / count,
            "cpu_ms": sum(value[1] for value in values) * 1000 / count,
            "sql_ms": sum(value[2] for value in values) * 1000 / count,
            "statements": sum(value[3] for value in values) / count,
            "s3_ms": sum(value[4] for value in values) * 1000 / count,
            "s3_calls": sum(value[5] for value in values) / count,
            "hashing_ms": sum(value[6] for value in values) * 1000 / count}
    return endpoints


def print_report(options: argparse.Namespace, scenario: dict[str, Any],
                 baseline: dict[str, Any], server: dict[str, dict[str, float]],
                 statements: list[tuple[str, int, float]], statement_note: str,
                 database: str, created: int) -> float:
    total, base_total = scenario["total"], baseline["total"]
    ratio = total["per_s"] / base_total["per_s"] if base_total["per_s"] else 0.0
    users = options.citizens_users + options.clerks + options.caseworkers
    print(f"\nbench/load.py: gunicorn {options.workers} workers × {options.threads} threads "
          f"(gthread), {users} users ({options.citizens_users} citizens, {options.clerks} "
          f"clerks, {options.caseworkers} caseworkers), {options.seconds:.0f} s + "
          f"{scenario['seconds'] - options.seconds:.1f} s to finish the rounds in progress, "
          f"{database}, "
          f"S3 (moto), think time {options.think:g} s, {options.pdf_kb} KB PDF per application\n")
    print("| request kind | method | count | per s | p50 ms | p95 ms | errors |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for name in [*SCENARIO_KINDS, *sorted(set(scenario["kinds"]) - set(SCENARIO_KINDS))]:
        kind = scenario["kinds"].get(name)
        if kind is None:
            print(f"| {name} | | 0 | | | | |")
            continue
        print(f"| {name} | {kind['method']} | {kind['count']} | {kind['per_s']:.2f} | "
              f"{kind['p50_ms']:.0f} | {kind['p95_ms']:.0f} | {kind['errors']} |")
    print(f"| **all requests** | | {total['count']} | {total['per_s']:.1f} | "
          f"{total['p50_ms']:.0f} | {total['p95_ms']:.0f} | {total['errors']} |")
    print(f"| baseline: GET /healthz, same users, {baseline['seconds']:.0f} s | GET | "
          f"{base_total['count']} | {base_total['per_s']:.1f} | {base_total['p50_ms']:.0f} | "
          f"{base_total['p95_ms']:.0f} | {base_total['errors']} |")
    submitted = scenario["kinds"].get(SUBMIT, {"count": 0, "errors": 0})
    done = submitted["count"] - submitted["errors"]
    print(f"\napplications submitted: {done} ({done * 60 / scenario['seconds']:.1f} per minute); "
          f"submissions in the database: {created} new")
    print(f"ratio scenario / baseline throughput: {total['per_s']:.1f} / "
          f"{base_total['per_s']:.1f} = {ratio:.2f}")
    for problem in [*scenario["problems"], *baseline["problems"]][:10]:
        print(f"  error: {problem}")

    print("\nWhere the time goes, in the server: per endpoint the request's wall time in the "
          "gunicorn worker; the CPU time of the thread serving it (its Python: routing, forms, "
          "templates, PDFs); the wall time around SQL statements and commits "
          "and around S3 calls (the round trip, the database's or S3 server's work, and waiting "
          "to get the GIL back from the worker's other threads); the wall time of argon2 "
          "password hashing (in C threads of its own, so not in the CPU column); mean ms per "
          "request:\n")
    print("| endpoint | count | p50 ms | p95 ms | mean ms | CPU ms | SQL ms | statements | "
          "S3 ms | hashing ms | share of server time |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    busy = sum(entry["total_s"] for entry in server.values()) or 1.0
    for endpoint, entry in sorted(server.items(), key=lambda item: -item[1]["total_s"]):
        print(f"| {endpoint} | {entry['count']:.0f} | {entry['p50_ms']:.0f} | "
              f"{entry['p95_ms']:.0f} | {entry['mean_ms']:.1f} | {entry['cpu_ms']:.1f} | "
              f"{entry['sql_ms']:.1f} | {entry['statements']:.1f} | {entry['s3_ms']:.1f} | "
              f"{entry['hashing_ms']:.1f} | {entry['total_s'] / busy:.0%} |")

    def part(name: str) -> float:
        return sum(entry[name] * entry["count"] for entry in server.values()) / 1000 / busy

    requests = sum(entry["count"] for entry in server.values()) or 1
    print(f"\nall requests: {busy:.1f} s of server time over {requests:.0f} requests, "
          f"{busy * 1000 / requests:.1f} ms each (the clients saw {total['mean_ms']:.1f} ms: "
          f"the rest is the wait for a free worker thread and the client's own time); of it "
          f"the threads' CPU {part('cpu_ms'):.0%}, inside SQL calls {part('sql_ms'):.0%}, "
          f"inside S3 calls {part('s3_ms'):.0%}, hashing passwords {part('hashing_ms'):.0%} "
          f"(the parts overlap: a SQL call's time also "
          f"holds the driver's CPU, and a thread ready to run waits for the GIL or a core)")
    cores = os.cpu_count() or 1
    spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in scenario["cpu"].items())
    print(f"CPU used by each process during the scenario ({scenario['seconds']:.0f} s × "
          f"{cores} cores = {scenario['seconds'] * cores:.0f} core-seconds): {spent}; "
          f"PostgreSQL's processes and anything else on the machine not counted")
    if statements:
        calls = sum(row[1] for row in statements)
        executing = sum(row[2] for row in statements) / 1000
        print(f"\nDatabase time by statement (pg_stat_statements, scenario and baseline): "
              f"{calls} statements took {executing:.2f} s to execute in PostgreSQL, against "
              f"{part('sql_ms') * busy:.1f} s the workers spent inside SQL calls in the "
              f"scenario; the costliest:\n")
        print("| calls | total ms | mean ms | statement |")
        print("|--:|--:|--:|---|")
        for query, calls, total_ms in statements[:10]:
            text = " ".join(query.split())[:110].replace("|", "\\|")
            print(f"| {calls} | {total_ms:.0f} | {total_ms / calls:.2f} | `{text}` |")
    else:
        print(f"\n{statement_note}")
    return ratio


# --- main -----------------------------------------------------------------------------------------


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the scenario")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=20,
                        help="simultaneous users: a fifth clerks, a fifth caseworkers, the rest "
                             "citizens (at least 3)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each user waits between two rounds")
    parser.add_argument("--workers", type=int, default=3, choices=range(1, 5))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--citizens", type=int, default=200,
                        help="citizen accounts; each visit signs in as the next one, from its own "
                             "address (the portal allows 10 sign-ins per address and minute)")
    parser.add_argument("--submissions", type=int, default=60,
                        help="applications submitted before the run")
    parser.add_argument("--cases", type=int, default=10, help="open cases per caseworker")
    parser.add_argument("--queue-items", type=int, default=120,
                        help="paper items in the clearing queue before the run")
    parser.add_argument("--pdf-kb", type=int, default=300, help="size of the uploaded PDF")
    parser.add_argument("--database-url", default="",
                        help="an existing empty database (postgresql:// or sqlite:///) to use "
                             "instead of creating amtsweg_load; the caller drops it")
    parser.add_argument("--app-env", choices=("development", "test"), default="development",
                        help="AMTSWEG_ENV of the app; 'test' hashes passwords with the test "
                             "suite's cheap argon2 parameters (for the short test run only)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.users < 3:
        parser.error("--users: at least 3 (a citizen, a clerk and a caseworker)")
    staff_each = max(1, round(options.users / 5))
    options.clerks = options.caseworkers = staff_each
    options.citizens_users = options.users - 2 * staff_each
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    if options.drive is not None:
        return drive(options.drive)
    started = time.monotonic()
    # Unwound in reverse: gunicorn stopped, the app's connections closed, the database dropped,
    # moto stopped, the files removed — on success, on an error and on Ctrl-C alike.
    with contextlib.ExitStack() as cleanup:
        work = Path(tempfile.mkdtemp(prefix="amtsweg-bench-load-"))
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        for folder in ("instance", "logs", "timings"):
            (work / folder).mkdir()
        moto, s3_endpoint = start_moto(work / "logs")
        cleanup.callback(moto.stop)
        spec_path = work / "spec.json"
        client = start_process("locust", [sys.executable, "-m", "bench.load", "--drive",
                                          str(spec_path)], {**os.environ, "PYTHONPATH": str(ROOT)},
                               work / "logs", stderr_to_log=False)
        cleanup.callback(client.stop)
        database_url = cleanup.enter_context(bench_database(options.database_url or None))
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("AMTSWEG_")}
        env.update({"AMTSWEG_DATABASE_URL": database_url,
                    "AMTSWEG_STORAGE_URL": f"s3://load:load-secret@{s3_endpoint}/{BUCKET}",
                    "AMTSWEG_INSTANCE_PATH": str(work / "instance"),
                    "AMTSWEG_SECRET_KEY": secrets.token_hex(32),
                    "AMTSWEG_ENV": options.app_env,
                    "AMTSWEG_MAIL_URL": f"file://{work / 'instance' / 'mail'}",
                    "BENCH_LOAD_TIMINGS": str(work / "timings"),
                    "PYTHONPATH": str(ROOT)})
        # Three processes import the app at once (the migration, the workers, this one): on
        # two cores that is the longest part of the set-up.
        migrate = start_process("migrate", [str(VENV_BIN / "amtsweg"), "db", "upgrade"], env,
                                work / "logs")
        cleanup.callback(migrate.stop)
        server = start_gunicorn(env, options.workers, options.threads, work)
        cleanup.callback(server.stop)
        app = make_app(env)
        cleanup.callback(close_connections, app)
        if migrate.process.wait(timeout=600):
            raise RuntimeError(f"amtsweg db upgrade failed:\n{migrate.tail()}")
        steps = {"migrated": time.monotonic() - started}
        if database_url.startswith("sqlite"):
            use_wal(database_url)
        wait_until(lambda: http_status(f"http://{s3_endpoint}/") < 500, moto, "moto")
        world = seed_world(app, options.citizens, options.clerks, options.caseworkers,
                           options.queue_items, options.cases)
        pdf = write_pdf(work / "Geburtsurkunde.pdf", options.pdf_kb * KB)
        steps["seeded"] = time.monotonic() - started
        base_url = wait_for_gunicorn(server, options.workers)
        steps["gunicorn up"] = time.monotonic() - started
        submitted_before = min(options.submissions, options.citizens)
        if submitted_before:
            seed_through_the_pages(app, base_url, world, pdf, submitted_before)
            steps["applications submitted"] = time.monotonic() - started
        print(f"seeded: {options.citizens} citizens, {options.clerks} clerks, "
              f"{options.caseworkers} caseworkers with {options.cases} cases each, "
              f"{options.queue_items} paper items, {submitted_before} submitted applications "
              f"(and the one they copy); set up in {time.monotonic() - started:.1f} s ("
              + ", ".join(f"{step} at {at:.1f} s" for step, at in steps.items()) + ")",
              flush=True)

        statement_stats = StatementStats(database_url)
        statements_before = statement_stats.snapshot()
        submissions_before = count_submissions(app)
        spec = {"base_url": base_url, "think": options.think, "pdf": str(pdf),
                "seconds": options.seconds, "baseline_seconds": options.baseline_seconds,
                "citizens": options.citizens_users, "clerks": options.clerks,
                "caseworkers": options.caseworkers, "citizen_emails": world.citizens,
                "clerk_usernames": world.clerks, "caseworker_usernames": world.caseworkers,
                "pids": {"gunicorn": [server.process.pid, *server.children()],
                         "moto (S3)": [moto.process.pid]},
                "results": str(work / "results.json")}
        (work / "spec.tmp").write_text(json.dumps(spec))
        (work / "spec.tmp").replace(spec_path)  # the client starts when the whole spec is there
        if client.process.wait(timeout=options.seconds + options.baseline_seconds + 300):
            raise RuntimeError(f"the locust client failed (exit {client.process.returncode})")
        results = json.loads((work / "results.json").read_text())
        created = count_submissions(app) - submissions_before
        statements = statement_stats.since(statements_before)

        scenario = summarise(results["scenario"])
        baseline = summarise(results["baseline"])
        server_side = server_times(work / "timings", "scenario")
        database = "SQLite (WAL)" if database_url.startswith("sqlite") else "PostgreSQL"
        ratio = print_report(options, scenario, baseline, server_side, statements,
                             statement_stats.note, database, created)
        errors = scenario["total"]["errors"] + baseline["total"]["errors"]
        submits = scenario["kinds"].get(SUBMIT, {"count": 0, "errors": 0})
        answered = submits["count"] - submits["errors"]
        consistent = answered == created
        if not consistent:
            print(f"MISMATCH: {answered} submits answered, {created} submissions in the database")
        print(f"\ntotal errors: {errors}; whole run {time.monotonic() - started:.0f} s")
        if options.json is not None:
            options.json.write_text(json.dumps({
                "scenario": scenario, "baseline": baseline, "ratio": ratio,
                "server": server_side, "errors": errors,
                "submissions": {"answered": answered, "in_database": created},
                "statements": [list(row) for row in statements[:20]]}, indent=1))
        return 0 if errors == 0 and consistent else 1


def close_connections(app: Any) -> None:
    from amtsweg.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _terminate(signum: int, _frame: Any) -> None:
    # SIGTERM takes the same way out as Ctrl-C: servers stopped, database dropped.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    raise SystemExit(main())

"""Faults, end to end: the S3 server stopped during an upload, the database gone during requests
and back, the SMTP server down at submit, `ihv send` killed at each step, an import file cut in
half. Each fault is real: a server stopped, a connection cut, a process killed, a file cut."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.mail_cli import mail_group
from amtsweg.mail_models import MailStatus, OutboundMail
from amtsweg.office.services import office_form_values, save_office_data
from amtsweg.staff.models import Role, Staff
from ihv.cli import ihv_group
from ihv.models import (
    Booking,
    Direction,
    ImportedFile,
    ImportStatus,
    OrderStatus,
    Sollstellung,
    Transfer,
    TransferCounter,
    TransferStatus,
)
from ihv.transfer import format as fmt
from ihv.transfer import send
from portal.models import DraftDocument, Submission
from storage.blobstore import S3BlobStore
from storage.models import Document
from tests.amtsweg.mail.support import SmtpServer, app_with, body_of, free_port  # noqa: F401
from tests.conftest import POSTGRES_URL, sign_in_citizen, sign_in_staff
from tests.fault_support import (
    DamagedSqliteFile,
    TcpProxy,
    command_env,
    kill_at,
    run_command,
)
from tests.ihv.conftest import create_order, finance  # noqa: F401
from tests.ihv.transfer.support import approved, simulate
from tests.portal.conftest import post_with_files
from tests.portal.uvg.conftest import DECLARATIONS, Wizard, child_answers, fill_all
from tests.storage.conftest import pdf_bytes, start_moto

DOWN_PAGE = "vorübergehend nicht verfügbar"
# Nothing of the machinery may reach a visitor: no traceback, no driver, no SQL.
LEAKS = ("Traceback", "OperationalError", "DatabaseError", "psycopg", "sqlite3", "SELECT ",
         "FROM ", "MaxRetryError", "urllib3", "127.0.0.1")


def _assert_office_page_without_leaks(page: str) -> None:
    assert '<html lang="de"' in page  # the office's layout, not a bare server error
    for leak in LEAKS:
        assert leak not in page, leak


# --- 1. the S3 server stopped during an upload ------------------------------------------------


@pytest.fixture
def moto() -> Iterator[tuple[ThreadedMotoServer, str]]:
    """A moto server of this test alone: it is stopped and started again on the same port."""
    server, endpoint = start_moto()
    yield server, endpoint
    server.stop()


def _objects(url: str) -> set[str]:
    store = S3BlobStore.from_url(url)
    return {str(item.object_name)
            for item in store.client.list_objects(store.bucket, recursive=True)}


def test_s3_stopped_during_an_upload_keeps_the_draft_and_stores_nothing(
        app_with: Callable[..., Flask], create_citizen: Callable[..., Citizen],  # noqa: F811
        moto: tuple[ThreadedMotoServer, str]) -> None:
    server, endpoint = moto
    storage_url = f"s3://testkey:testsecret@{endpoint}/faults-{uuid.uuid4().hex[:12]}"
    s3_app = app_with(storage_url=storage_url)
    client = s3_app.test_client()
    citizen = create_citizen("maria@example.org")
    sign_in_citizen(client, citizen)
    wizard = Wizard(client, citizen)
    wizard.start(child_answers("Lea", 6))
    fill_all(wizard)
    first = pdf_bytes()
    assert wizard.upload("birth_certificate:k1", first, "urkunde.pdf").status_code == 302
    with s3_app.app_context():
        draft = wizard.draft()
        assert draft is not None
        answers_before = draft.answers
        [first_item] = draft.documents
        first_download = wizard.url(f"unterlagen/{first_item.id}")
    stored_before = _objects(storage_url)
    assert len(stored_before) == 1

    server.stop()
    try:
        refused = wizard.upload("separation_proof", pdf_bytes(pages=2), "scheidung.pdf")
        page = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert "<title>Fehler:" in page
        assert "die Dokumentenablage ist nicht erreichbar" in page
        assert "Bitte versuchen Sie es in einigen Minuten erneut." in page
        _assert_office_page_without_leaks(page)
        # The citizen still sees the file sent before and the answers given.
        assert "urkunde.pdf" in page
        with s3_app.app_context():
            draft = wizard.draft()
            assert draft is not None
            assert draft.answers == answers_before
            assert [item.requirement for item in draft.documents] == ["birth_certificate:k1"]
            assert db.session.scalar(select(func.count()).select_from(Document)) == 1
            assert db.session.scalar(select(func.count()).select_from(DraftDocument)) == 1
        # Reading a stored file meanwhile: the office's "try again later" page, not a 500.
        unavailable = client.get(first_download)
        assert unavailable.status_code == 503
        assert DOWN_PAGE in unavailable.get_data(as_text=True)
        _assert_office_page_without_leaks(unavailable.get_data(as_text=True))
    finally:
        server.start()

    assert _objects(storage_url) == stored_before  # no partial blob of the refused upload
    again = wizard.upload("separation_proof", pdf_bytes(pages=2), "scheidung.pdf")
    assert again.status_code == 302, again.get_data(as_text=True)
    with s3_app.app_context():
        draft = wizard.draft()
        assert draft is not None
        items = sorted(draft.documents, key=lambda item: item.id)
        assert [item.requirement for item in items] == ["birth_certificate:k1", "separation_proof"]
        keys = set(db.session.scalars(select(Document.storage_key)))
    assert _objects(storage_url) == keys  # every blob has its row, every row its blob
    download = client.get(first_download)
    assert download.status_code == 200
    assert download.data == first
    download.close()


def test_s3_stopped_while_a_request_with_attachments_is_sent_keeps_the_text(
        app_with: Callable[..., Flask], create_citizen: Callable[..., Citizen],  # noqa: F811
        moto: tuple[ThreadedMotoServer, str]) -> None:
    """The general request and the follow-ups store their files through one function: the
    form comes back with the reason at the file and the typed text, nothing is sent."""
    server, endpoint = moto
    storage_url = f"s3://testkey:testsecret@{endpoint}/faults-{uuid.uuid4().hex[:12]}"
    s3_app = app_with(storage_url=storage_url)
    client = s3_app.test_client()
    sign_in_citizen(client, create_citizen("maria@example.org"))
    text = {"topic": "leistung:beistandschaft", "subject": "Frage zur Beistandschaft",
            "message": "Ich möchte eine Beratung zur Vaterschaft."}
    first = post_with_files(client, "/anfrage", text, [(pdf_bytes(), "brief.pdf")])
    assert first.status_code == 302, first.get_data(as_text=True)
    stored_before = _objects(storage_url)
    assert len(stored_before) == 1  # the letter; the receipt is drawn on its first download
    server.stop()
    try:
        refused = post_with_files(client, "/anfrage", text, [(pdf_bytes(), "brief.pdf")])
    finally:
        server.start()
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "brief.pdf: Die Datei konnte gerade nicht gespeichert werden" in page
    assert "Ich möchte eine Beratung zur Vaterschaft." in page
    _assert_office_page_without_leaks(page)
    with s3_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
        assert db.session.scalar(select(func.count()).select_from(Document)) == 1
    assert _objects(storage_url) == stored_before

    # The receipt's first download while the store is down: the office's 503 page, nothing
    # half-written; once the store is back, the same link draws and stores it.
    receipt_path = first.headers["Location"].replace("/bestaetigung", "/eingangsbestaetigung.pdf")
    server.stop()
    try:
        unavailable = client.get(receipt_path)
    finally:
        server.start()
    assert unavailable.status_code == 503
    with s3_app.app_context():
        assert db.session.scalar(select(Submission.receipt_document_id)) is None
    receipt = client.get(receipt_path)
    assert receipt.status_code == 200
    assert receipt.data.startswith(b"%PDF-")
    receipt.close()
    assert len(_objects(storage_url)) == 2


# --- 2. the database gone during requests, and back -------------------------------------------


class DatabaseFault:
    """The database made unreachable for an app that keeps running, then reachable again."""

    def __init__(self, app: Flask, cut: Callable[[], None], restore: Callable[[], None]) -> None:
        self.app, self.cut, self.restore = app, cut, restore


@pytest.fixture
def database_fault(app: Flask, app_with: Callable[..., Flask]  # noqa: F811
                   ) -> Iterator[DatabaseFault]:
    """PostgreSQL: the app talks to it through a TCP proxy that is cut (every connection closed,
    new ones refused) and listens again. SQLite: the database file's header is overwritten in
    place and written back; the app's open connections stay on the same file."""
    if POSTGRES_URL:
        url = make_url(app.config["AMTSWEG"].database_url)
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        proxy.start()
        try:
            proxied = url.set(host="127.0.0.1", port=proxy.port)
            faulty = app_with(database_url=proxied.render_as_string(hide_password=False))
            yield DatabaseFault(faulty, proxy.cut, proxy.restore)
        finally:
            proxy.close()
        return
    path = Path(make_url(app.config["AMTSWEG"].database_url).database or "")
    damage = DamagedSqliteFile(path)
    yield DatabaseFault(app, damage.damage, damage.repair)


def test_database_gone_gives_503_pages_and_the_app_recovers_without_restart(
        database_fault: DatabaseFault, create_staff: Callable[..., Staff],
        create_citizen: Callable[..., Citizen]) -> None:
    app = database_fault.app
    staff_browser, citizen_browser, monitor = (app.test_client(), app.test_client(),
                                               app.test_client())
    sign_in_staff(staff_browser, create_staff("clearing1", roles=(Role.CLEARING,)))
    sign_in_citizen(citizen_browser, create_citizen("maria@example.org"))
    pages: list[tuple[FlaskClient, str]] = [(staff_browser, "/intern/clearing/"),
                                            (citizen_browser, "/konto/antraege")]
    # Served once before the fault, so the pool holds connections that the fault breaks.
    for browser, path in pages:
        assert browser.get(path).status_code == 200, path

    database_fault.cut()
    try:
        for browser, path in pages:
            response = browser.get(path)
            page = response.get_data(as_text=True)
            assert response.status_code == 503, (path, page[:500])
            assert DOWN_PAGE in page
            _assert_office_page_without_leaks(page)
        health = monitor.get("/healthz")
        assert health.status_code == 503
        assert health.json is not None
        assert health.json["database"] == "unavailable"
    finally:
        database_fault.restore()

    for browser, path in pages:
        response = browser.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
    health = monitor.get("/healthz")
    assert health.status_code == 200
    assert health.json == {"status": "ok", "database": "ok", "storage": "ok"}


# --- 3. the SMTP server down at submit ----------------------------------------------------------


def test_smtp_down_at_submit_the_application_is_in_and_the_mail_follows_once(
        app_with: Callable[..., Flask], create_citizen: Callable[..., Citizen]  # noqa: F811
        ) -> None:
    server = SmtpServer(port=free_port())  # nothing listens there until server.start()
    mail_app = app_with(mail_url=server.url)
    client = mail_app.test_client()
    citizen = create_citizen("maria@example.org")
    sign_in_citizen(client, citizen)
    wizard = Wizard(client, citizen)
    wizard.start(child_answers("Lea", 6))
    fill_all(wizard)
    later = {f"later_{key}": "y" for key in ("birth_certificate__k1", "meldebescheinigung",
                                             "separation_proof", "maintenance_title")}
    assert wizard.page("unterlagen", later).status_code == 302
    assert wizard.page("erklaerungen", DECLARATIONS).status_code == 302

    sent = wizard.post(wizard.url("absenden"))

    assert sent.status_code == 302
    confirmation = client.get(sent.headers["Location"])
    assert confirmation.status_code == 200
    with mail_app.app_context():
        submission = db.session.scalar(select(Submission))
        assert submission is not None
        reference = submission.reference
        assert reference in confirmation.get_data(as_text=True)
        [row] = db.session.scalars(select(OutboundMail)).all()
        assert (row.recipient, row.status, row.attempts) == (
            "maria@example.org", MailStatus.PENDING, 1)
        assert "ConnectionRefusedError" in (row.last_error or "")
    receipt_link = re.search(r'href="([^"]+eingangsbestaetigung\.pdf)"',
                             confirmation.get_data(as_text=True))
    assert receipt_link is not None
    receipt = client.get(receipt_link.group(1))
    assert receipt.status_code == 200
    assert receipt.data.startswith(b"%PDF-")
    receipt.close()

    server.start()
    try:
        runner = mail_app.test_cli_runner()
        delivered = runner.invoke(mail_group, ["send", "--ignore-backoff"])
        assert delivered.exit_code == 0, delivered.output
        assert "sent 1" in delivered.output
        again = runner.invoke(mail_group, ["send", "--ignore-backoff"])
        assert "sent 0" in again.output
        [received] = server.received
    finally:
        server.stop()
    assert received.recipients == ["maria@example.org"]
    assert reference in body_of(received.message)
    with mail_app.app_context():
        assert db.session.scalar(select(OutboundMail.status)) == MailStatus.SENT


# --- 4. `ihv send` killed at each step -----------------------------------------------------------


def _orders_in_files(outbox: Path) -> list[int]:
    ids: list[int] = []
    for path in sorted(outbox.glob("*.xml")):
        ids.extend(order.order_id for order in fmt.iter_orders(path))
    return ids


def _transfers(app: Flask) -> list[tuple[int, TransferStatus]]:
    with app.app_context():
        return [(t.sequence_number, t.status) for t in db.session.scalars(
            select(Transfer).order_by(Transfer.sequence_number))]


def _statuses(app: Flask, ids: list[int]) -> set[OrderStatus]:
    with app.app_context():
        return set(db.session.scalars(select(Sollstellung.status)
                                      .where(Sollstellung.id.in_(ids))))


def test_ihv_send_killed_at_each_step_then_every_order_goes_exactly_once(
        app: Flask, create_order: Callable[..., Sollstellung],  # noqa: F811
        finance: dict[str, Staff]) -> None:  # noqa: F811
    settings: Settings = app.config["AMTSWEG"]
    outbox = settings.ihv_outbox_dir
    with app.app_context():
        ids = [approved(create_order, finance, amount_cents=1_000 + i).id for i in range(3)]
    env = command_env(settings, settings.database_url)

    # Killed while preparing, before the commit: nothing claimed, no sequence number used.
    kill_at(env, "before-prepare-commit", "ihv", "send")
    assert _transfers(app) == []
    with app.app_context():
        assert db.session.scalar(select(TransferCounter.last_sequence)) == 0
        assert db.session.scalar(select(func.count()).select_from(Sollstellung)
                                 .where(Sollstellung.transfer_id.is_not(None))) == 0
    assert not list(outbox.glob("*.xml"))

    # Killed after the prepared transfer was committed: it waits, nothing delivered.
    kill_at(env, "before-deliver", "ihv", "send")
    assert _transfers(app) == [(1, TransferStatus.PREPARED)]
    assert not list(outbox.glob("*.xml"))

    # Killed while the file was being written: never under its real name, only a hidden part
    # (which the treasury's software ignores, as every dot file).
    kill_at(env, "while-writing", "ihv", "send")
    [part] = outbox.iterdir()
    assert re.fullmatch(r"\.AW-IHV-0000-00000001\.xml\.\d+\.part", part.name), part.name

    # Killed after delivery, before the transfer was marked sent; then inside that last step.
    kill_at(env, "after-deliver", "ihv", "send")
    [delivered] = outbox.glob("*.xml")
    first_bytes = delivered.read_bytes()
    kill_at(env, "before-finish-commit", "ihv", "send")
    assert _transfers(app) == [(1, TransferStatus.PREPARED)]
    assert _statuses(app, ids) == {OrderStatus.ANGEORDNET}

    with app.app_context():  # a new order arrives before the next run
        late = approved(create_order, finance, amount_cents=9_000).id

    result = run_command(env, "ihv", "send")

    assert result.returncode == 0, result.stderr
    assert "prepared 1, sent 2, failed 0" in result.stdout
    assert delivered.read_bytes() == first_bytes  # the same file, not a second version
    assert sorted(_orders_in_files(outbox)) == [*ids, late]  # each order in exactly one file
    assert _transfers(app) == [(1, TransferStatus.SENT), (2, TransferStatus.SENT)]
    assert _statuses(app, [*ids, late]) == {OrderStatus.TRANSMITTED}

    with app.app_context():  # and a run after that has nothing left to do
        rerun = send.send_transfers(settings)
    assert (rerun.prepared, rerun.sent, rerun.failed) == ([], [], [])
    assert len(list(outbox.glob("*.xml"))) == 2


# --- 5. an import file cut in half ---------------------------------------------------------------


@pytest.fixture(params=["ihv-xml", "sepa"])
def adapter(request: pytest.FixtureRequest, app: Flask) -> str:
    name: str = request.param
    app.config["AMTSWEG"] = app.config["AMTSWEG"].with_overrides(ihv_adapter=name)
    if name == "sepa":
        with app.app_context():
            values = office_form_values()
            values.update(iban="DE02120300000000202051", bic="BYLADEM1001", bank_name="DKB")
            save_office_data(values, SYSTEM)
            db.session.commit()
    return name


def _import_rows(app: Flask) -> tuple[int, list[ImportStatus]]:
    with app.app_context():
        bookings = db.session.scalar(select(func.count()).select_from(Booking)) or 0
        return bookings, list(db.session.scalars(select(ImportedFile.status)))


def test_return_files_cut_in_half_import_nothing_and_whole_ones_import_fully(
        app: Flask, adapter: str, create_order: Callable[..., Sollstellung],  # noqa: F811
        finance: dict[str, Staff]) -> None:  # noqa: F811
    settings: Settings = app.config["AMTSWEG"]
    inbox = settings.ihv_inbox_dir
    with app.app_context():
        ids = [approved(create_order, finance, amount_cents=2_000 + i).id for i in range(3)]
        if adapter == "ihv-xml":  # a camt.053 statement books the payouts only
            ids.append(approved(create_order, finance, direction=Direction.ANNAHME,
                                amount_cents=5_000, iban=None, bic=None).id)
        assert send.send_transfers(settings).sent == [1]
        simulate(date(2026, 12, 31), receivables="full")
    whole = {path.name: path.read_bytes() for path in inbox.iterdir() if path.is_file()}
    expected = ({"acknowledgement", "bookings"} if adapter == "ihv-xml" else {"camt.053"})
    assert {_kind(content) for content in whole.values()} == expected
    for name, content in whole.items():
        (inbox / name).write_bytes(content[: len(content) // 2])

    runner = app.test_cli_runner()
    cut = runner.invoke(ihv_group, ["receive"])

    assert cut.exit_code == 1
    for name in whole:  # each named, with the reason finance staff can act on
        assert re.search(rf"REJECTED {re.escape(name)}: not a valid file\b", cut.output), \
            cut.output
    assert _import_rows(app) == (0, [ImportStatus.REJECTED] * len(whole))
    assert _statuses(app, ids) == {OrderStatus.TRANSMITTED}
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == sorted(whole)

    for name, content in whole.items():
        (inbox / name).write_bytes(content)
    complete = runner.invoke(ihv_group, ["receive"])

    assert complete.exit_code == 0, complete.output
    assert f"imported {len(whole)} file(s), rejected 0" in complete.output
    assert f"bookings matched {len(ids)}, unclear 0" in complete.output
    bookings, statuses = _import_rows(app)
    assert bookings == len(ids)
    assert sorted(statuses) == sorted([ImportStatus.REJECTED] * len(whole)
                                      + [ImportStatus.IMPORTED] * len(whole))
    assert _statuses(app, ids) == {OrderStatus.BOOKED}


def _kind(content: bytes) -> str:
    if b"camt.053" in content[:4096]:
        return "camt.053"
    return "acknowledgement" if b"<Acknowledgement" in content[:4096] else "bookings"


"""Mail over TLS (STARTTLS and smtps://) to a real SMTP server with its own certificate: the
certificate is verified, and one TLS context serves every connection of a process."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select

from amtsweg import mail
from amtsweg.extensions import db
from amtsweg.mail_models import MailStatus, OutboundMail
from tests.amtsweg.mail.support import SmtpServer, free_port


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as a small office relay might have."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "relay.crt", tmp_path / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class TlsSmtpServer(SmtpServer):
    """The test SMTP server, speaking TLS: STARTTLS required before any mail, or implicit TLS."""

    def __init__(self, certificate: tuple[Path, Path], *, implicit: bool) -> None:
        super().__init__(free_port())
        self.implicit = implicit
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(*certificate)

    @property
    def url(self) -> str:
        if self.implicit:
            return f"smtps://127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}?starttls=true"

    def start(self) -> None:
        options = ({"ssl_context": self.context} if self.implicit
                   else {"tls_context": self.context, "require_starttls": True})
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      **options)
        self._controller.start()


@pytest.fixture(params=["starttls", "smtps"])
def tls_server(request: pytest.FixtureRequest, certificate: tuple[Path, Path]
               ) -> Iterator[TlsSmtpServer]:
    server = TlsSmtpServer(certificate, implicit=request.param == "smtps")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_tls_context(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ssl.SSLContext]]:
    """No TLS context cached yet; the ones made while the test runs are listed."""
    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counting(*args: object, **kwargs: object) -> ssl.SSLContext:
        context = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counting)
    mail.tls_context.cache_clear()
    yield made
    mail.tls_context.cache_clear()  # never leave a context that trusts a test certificate


@pytest.fixture
def trusting(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
             fresh_tls_context: list[ssl.SSLContext]) -> list[ssl.SSLContext]:
    """The relay's certificate is among the trusted ones (as an office's own CA would be)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return fresh_tls_context


def send_mails(app: Flask, count: int) -> list[OutboundMail]:
    with app.app_context():
        for number in range(count):
            mail.queue_mail(f"eltern{number}@example.org", "Ihr Antrag", "Text")
            db.session.commit()  # each delivered after its own commit, as requests do
        rows = list(db.session.scalars(select(OutboundMail).order_by(OutboundMail.id)))
        db.session.expunge_all()
        return rows


def test_mail_over_tls_arrives_and_all_connections_share_one_context(
        app_with: Callable[..., Flask], tls_server: TlsSmtpServer,
        trusting: list[ssl.SSLContext]) -> None:
    app = app_with(mail_url=tls_server.url)

    rows = send_mails(app, 3)

    assert [row.status for row in rows] == [MailStatus.SENT] * 3
    assert sorted(r.recipients[0] for r in tls_server.received) == [
        "eltern0@example.org", "eltern1@example.org", "eltern2@example.org"]
    assert len(trusting) == 1  # three connections, one context


def test_a_relay_whose_certificate_is_not_trusted_gets_nothing(
        app_with: Callable[..., Flask], tls_server: TlsSmtpServer,
        fresh_tls_context: list[ssl.SSLContext], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    app = app_with(mail_url=tls_server.url)

    [row] = send_mails(app, 1)

    assert tls_server.received == []
    assert row.status is MailStatus.PENDING  # kept for `mail send` once the relay is fixed
    assert "SSLCertVerificationError" in (row.last_error or "")


def test_plain_smtp_makes_no_tls_context(app_with: Callable[..., Flask],
                                         fresh_tls_context: list[ssl.SSLContext]) -> None:
    server = SmtpServer(free_port())
    server.start()
    try:
        app = app_with(mail_url=server.url)
        rows = send_mails(app, 2)
    finally:
        server.stop()

    assert [row.status for row in rows] == [MailStatus.SENT] * 2
    assert len(server.received) == 2
    assert fresh_tls_context == []

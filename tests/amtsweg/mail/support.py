"""Test support for outgoing mail: a real SMTP server on loopback and the .eml outbox reader."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from amtsweg.app import create_app
from amtsweg.config import Settings
from amtsweg.extensions import db

LINK = re.compile(r"https?://\S+/konto/\S+")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class CollectingHandler:
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      envelope.content))
        return "250 OK"


class SmtpServer:
    """A real aiosmtpd server on 127.0.0.1, started and stopped at will (to test outages)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = CollectingHandler()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session's SMTP server with an empty inbox for this test."""
    smtp_server.handler.received.clear()
    smtp_server.handler.refuse.clear()
    return smtp_server


@pytest.fixture
def app_with(app: Flask, settings_factory: Callable[..., Settings]
             ) -> Iterator[Callable[..., Flask]]:
    """Another app on the same test database, with some settings changed (e.g. mail_url)."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        other = create_app(settings_factory(**overrides))
        built.append(other)
        return other

    yield build
    for other in built:  # close their connections before the database is truncated
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def mail_dir(app: Flask) -> Path:
    settings: Settings = app.config["AMTSWEG"]
    return settings.instance_path / "mail"


def read_outbox_files(app: Flask) -> list[EmailMessage]:
    """Every .eml the file backend wrote, oldest first."""
    directory = mail_dir(app)
    if not directory.is_dir():
        return []
    messages = []
    for path in sorted(directory.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def mails_to(app: Flask, address: str) -> list[EmailMessage]:
    return [m for m in read_outbox_files(app) if m["To"] == address]


def link_in(message: EmailMessage) -> str:
    match = LINK.search(body_of(message))
    assert match, "no /konto link in the mail"
    return match.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def comparable(page: str, *emails: str) -> str:
    """The page without what differs on every request (CSRF tokens) and the given addresses."""
    page = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', 'name="csrf_token"', page)
    for email in emails:
        page = page.replace(email, "ADDRESS")
    return page


def post_form(client: FlaskClient, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    """Post ``data`` with a fresh CSRF token taken from the page's own form."""
    from tests.conftest import csrf_token

    return client.post(path, data={"csrf_token": csrf_token(client, path), **data}, **kwargs)

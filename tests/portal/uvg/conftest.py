"""Helpers that fill in the UVG application as a parent on a phone would."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.citizens.models import Citizen
from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from portal.models import Draft
from tests.amtsweg.mail.support import app_with, smtp, smtp_server
from tests.conftest import sign_in_citizen
from tests.storage.conftest import image_bytes, pdf_bytes

__all__ = ["app_with", "smtp", "smtp_server"]

BASE = "/antrag/unterhaltsvorschuss"


def years_ago(years: int, days: int = 40) -> date:
    today = berlin_today()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary - timedelta(days=days)


def german(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def child_answers(first_name: str = "Lea", age: int = 6, **overrides: str) -> dict[str, str]:
    born = years_ago(age)
    return {"first_name": first_name, "last_name": "Muster", "birth_date": german(born),
            "nationality": "german", "nationality_country": "", "residence_title": "",
            "living_since": german(born), **overrides}


APPLICANT = {"first_name": "Maria", "last_name": "Muster", "birth_date": "04.11.1990",
             "street": "Domplatz 1", "postcode": "93047", "city": "Regensburg",
             "phone": "0941 123456", "email": "maria@example.org", "marital_status": "divorced",
             "marital_since": "01.03.2022", "lives_with_other_parent": "no"}
OTHER_PARENT = {"first_name": "Tom", "last_name": "Vater", "birth_date": "",
                "address_known": "yes", "street": "Hauptstr. 5", "postcode": "80331",
                "city": "München", "maintenance_paid": "irregular",
                "maintenance_amount": "120,50", "maintenance_since": "01.01.2023"}
ORPHAN = {"receives": "no"}
SGB2 = {"child_sgb2": "yes", "parent_income_600": "yes"}
EARLIER = {"received_before": "no"}
BENEFITS = {"buergergeld": "y", "details": "Jobcenter Regensburg"}
BANK = {"account_holder": "Maria Muster", "iban": "DE89 3704 0044 0532 0130 00"}
DECLARATIONS = {"report_changes": "y", "repayment": "y", "truthful": "y", "consent": "y"}


BOUNDARY = "----amtsweg-uvg-test"


def multipart_body(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> bytes:
    """A multipart body as a browser sends it, built by hand: the test client's spooled
    temporary file for large bodies is never closed (a ResourceWarning, an error here)."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    for name, (filename, content) in files.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                     f"\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def token(client: FlaskClient) -> str:
    page = client.get(f"{BASE}/").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match
    return match.group(1)


@dataclass
class Wizard:
    """One signed-in citizen's browser on the application."""

    client: FlaskClient
    citizen: Citizen
    csrf: str = ""
    public_id: str = ""

    def post(self, path: str, data: dict[str, Any] | None = None, *,
             action: str = "continue", **kwargs: Any) -> Any:
        if not self.csrf:
            self.csrf = token(self.client)
        form = {"csrf_token": self.csrf, "action": action, **(data or {})}
        return self.client.post(path if path.startswith("/") else f"{BASE}/{path}", data=form,
                                **kwargs)

    def url(self, tail: str) -> str:
        return f"{BASE}/{self.public_id}/{tail}"

    def start(self, child: dict[str, str] | None = None) -> Any:
        response = self.post(f"{BASE}/neu", child or child_answers())
        assert response.status_code == 302, response.get_data(as_text=True)
        self.public_id = response.headers["Location"].split("/")[-2]
        return response

    def page(self, tail: str, data: dict[str, Any], **kwargs: Any) -> Any:
        return self.post(self.url(tail), data, **kwargs)

    def upload(self, requirement: str, content: bytes, filename: str,
               action: str = "upload") -> Any:
        if not self.csrf:
            self.csrf = token(self.client)
        name = "file_" + requirement.replace(":", "__")
        body = multipart_body({"csrf_token": self.csrf, "action": action},
                              {name: (filename, content)})
        return self.client.post(self.url("unterlagen"), data=body,
                                content_type=f"multipart/form-data; boundary={BOUNDARY}")

    def draft(self) -> Draft | None:
        db.session.expire_all()
        return db.session.scalar(select(Draft).where(Draft.public_id == self.public_id))


@pytest.fixture
def wizard(app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> Wizard:
    citizen = create_citizen("maria@example.org")
    sign_in_citizen(client, citizen)
    return Wizard(client, citizen)


@pytest.fixture
def other_wizard(app: Flask, create_citizen: Callable[..., Citizen]) -> Wizard:
    client = app.test_client()
    citizen = create_citizen("eve@example.org")
    sign_in_citizen(client, citizen)
    return Wizard(client, citizen)


def fill_all(wizard: Wizard, *, child_ids: tuple[str, ...] = ("k1",),
             sgb2_children: tuple[str, ...] = (), school_children: tuple[str, ...] = (),
             applicant: dict[str, str] | None = None) -> None:
    """Answer every page after the children with plausible answers."""
    pages: list[tuple[str, dict[str, Any]]] = [
        ("kinder", {}), ("antragsteller", applicant or APPLICANT),
        ("anderer-elternteil", OTHER_PARENT), ("waisenbezuege", ORPHAN)]
    pages += [(f"buergergeld/{child}", SGB2) for child in sgb2_children]
    pages += [(f"schule-und-einkommen/{child}", {"attends_school": "yes"})
              for child in school_children]
    pages += [("frueherer-unterhaltsvorschuss", EARLIER), ("andere-leistungen", BENEFITS),
              ("bankverbindung", BANK)]
    for tail, data in pages:
        response = wizard.page(tail, data)
        assert response.status_code == 302, (tail, response.get_data(as_text=True))


def upload_everything(wizard: Wizard, requirements: list[str]) -> None:
    for requirement in requirements:
        content = image_bytes("PNG") if requirement.startswith("meldebescheinigung") else \
            pdf_bytes()
        name = "foto.png" if content.startswith(b"\x89PNG") else f"{requirement}.pdf"
        response = wizard.upload(requirement, content, name)
        assert response.status_code == 302, response.get_data(as_text=True)
    assert wizard.page("unterlagen", {}).status_code == 302

"""The header shows a module's pages only to staff of its Fachbereich."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from amtsweg.staff.models import Role
from tests.conftest import sign_in_staff


def test_the_uvg_calculator_is_in_the_header_only_for_uvg_staff(
        client: FlaskClient, create_staff: Callable[..., Any]) -> None:
    uvg = create_staff(roles=(Role.CASEWORKER,), fachbereiche=("uvg",))
    other = create_staff(roles=(Role.CASEWORKER,), fachbereiche=("beistandschaft",))
    sign_in_staff(client, uvg)
    assert 'href="/intern/uvg/rechner"' in client.get("/intern/").get_data(as_text=True)
    sign_in_staff(client, other)
    page = client.get("/intern/").get_data(as_text=True)
    assert 'href="/intern/uvg/rechner"' not in page
    assert 'href="/intern/faelle/"' in page  # the shared case pages stay

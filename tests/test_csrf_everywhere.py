"""CSRF on every route that changes something (issue 9, part 4).

Every rule of the URL map that accepts POST, PUT, PATCH or DELETE is posted to by the visitor
who would otherwise be let in (the citizen, the member of staff with every role and every
Fachbereich, the anonymous visitor on the sign-in pages), with real ids in the URL and the
body the page's own form would send; only the token is missing, forged, or belongs to another
browser. The answer must be the "form expired" page (400), never a stack trace, and the
database must be exactly as before. A new write route is checked without anyone adding it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

from tests.fuzz_support import (
    World,
    build_path,
    build_world,
    changed_tables,
    fingerprint,
    form_for,
    module_app,
    parse_forms,
    sign_in,
    visitor_for,
    write_rules,
)

# Endpoints that may be posted without a token, each with the reason. None today: even the
# language switch and the sign-out are forms with a token, so no other site can trigger them.
EXEMPT: dict[str, str] = {}
CSRF_PAGE = "errors/csrf.html"


@pytest.fixture(scope="module")
def world_app(tmp_path_factory: pytest.TempPathFactory,
              postgres_schema: str | None) -> Iterator[tuple[Flask, World]]:
    with module_app(tmp_path_factory.mktemp("csrf"), postgres_schema) as app:
        yield app, build_world(app)


def _foreign_token(app: Flask) -> str:
    """A genuine token, issued to another browser's session."""
    other = app.test_client()
    page = other.get("/konto/anmelden").get_data(as_text=True)
    found = [form for form in parse_forms(page) if form.method == "post"]
    token = next(control.value for form in found for control in form.controls
                 if control.name == "csrf_token")
    assert token
    return token


def _body(app: Flask, client: FlaskClient, rule: Rule, path: str) -> list[tuple[str, str]]:
    """What the route's own form sends (without its token), where the route shows that form."""
    if "GET" not in (rule.methods or set()):
        return [("version", "1")]
    page = client.get(path)
    if page.status_code != 200 or page.mimetype != "text/html":
        return []
    found = form_for(app, path, parse_forms(page.get_data(as_text=True)), rule.endpoint)
    if found is None:
        return []
    return [(name, value) for name, value in found[0].baseline() if name != "csrf_token"]


def _attempts(foreign: str) -> list[tuple[str, list[tuple[str, str]], dict[str, str]]]:
    return [("no token", [], {}),
            ("a forged token", [("csrf_token", "IjAwMDAwMDAwMDAwMDAwMDAi.forged.signature")], {}),
            ("another browser's token", [("csrf_token", foreign)], {}),
            ("another browser's token in the header", [], {"X-CSRFToken": foreign})]


def test_the_collector_sees_every_write_route(world_app: tuple[Flask, World]) -> None:
    app, _world = world_app
    endpoints = {rule.endpoint for rule, _method in write_rules(app)}
    # The portal, clearing, backoffice, UVG, IHV and admin write routes, at the time of writing.
    assert len(endpoints) >= 85, sorted(endpoints)
    assert {"citizens.register", "clearing.route", "ihv.anordnen", "uvg.decide",
            "i18n.switch_language"} <= endpoints
    stale = set(EXEMPT) - endpoints
    assert not stale, f"exemptions for routes that no longer exist: {sorted(stale)}"


def test_every_write_route_refuses_a_missing_or_wrong_token_and_changes_nothing(
        world_app: tuple[Flask, World]) -> None:
    app, world = world_app
    client = app.test_client()
    foreign = _foreign_token(app)
    rendered: list[str] = []

    def record(_sender: Flask, template: Any, context: Any, **_extra: Any) -> None:
        rendered.append(str(template.name))

    failures: list[str] = []
    checked = 0
    with template_rendered.connected_to(record, app):
        for rule, method in write_rules(app):
            if rule.endpoint in EXEMPT:
                continue
            path = build_path(app, rule, world)
            sign_in(client, app, visitor_for(rule.endpoint, path), world)
            body = _body(app, client, rule, path)
            before = fingerprint(app)
            for attempt, token, headers in _attempts(foreign):
                rendered.clear()
                response = client.open(path, method=method, data=MultiDict([*body, *token]),
                                       headers=headers)
                page = response.get_data(as_text=True)
                if response.status_code != 400 or CSRF_PAGE not in rendered:
                    failures.append(f"{method} {rule.rule} ({rule.endpoint}) with {attempt}: "
                                    f"{response.status_code}, pages {rendered}")
                if "Traceback" in page:
                    failures.append(f"{method} {rule.rule} with {attempt}: a stack trace")
            changed = changed_tables(before, fingerprint(app))
            if changed:
                failures.append(f"{method} {rule.rule} ({rule.endpoint}) changed "
                                f"{sorted(changed)} without a valid token")
            checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 85


def test_the_same_post_with_the_right_token_gets_through(world_app: tuple[Flask, World]) -> None:
    """The control: the refusals above come from the token, not from the visitor or the URL."""
    app, world = world_app
    client = app.test_client()
    sign_in(client, app, "staff", world)
    rule = next(rule for rule, _method in write_rules(app)
                if rule.endpoint == "backoffice.add_note")
    path = build_path(app, rule, world)
    page = client.get(f"/intern/faelle/{world.second_fall_id}").get_data(as_text=True)
    found = form_for(app, path, parse_forms(page), "backoffice.add_note")
    assert found is not None
    form, target = found
    body = [(name, value) for name, value in form.baseline() if name != "text"]
    before = fingerprint(app)
    refused = client.post(target, data=MultiDict(
        [(n, v) for n, v in body if n != "csrf_token"] + [("text", "Rückruf vereinbart")]))
    assert refused.status_code == 400
    assert not changed_tables(before, fingerprint(app))
    accepted = client.post(target, data=MultiDict([*body, ("text", "Rückruf vereinbart")]))
    assert accepted.status_code == 302, accepted.get_data(as_text=True)
    assert "vermerke" in changed_tables(before, fingerprint(app))

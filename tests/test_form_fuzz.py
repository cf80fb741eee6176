"""Hostile posts to every form of the app (issue 9, part 4), with hypothesis.

Each form is used the browser's way: the page is read as the visitor who may use it (signed in
afresh whenever something changed), its fields and real CSRF token are taken from the HTML,
and then it gets what a hostile or clumsy visitor might send: unicode and control characters,
NUL bytes, 100,000 characters, SQL and markup, wrong types in number, date, IBAN and money
fields, huge and negative numbers, impossible and extreme dates, fields left out or sent twice,
hidden fields changed, fields the form does not have. For every answer:

- never a 5xx, never a stack trace;
- either the form again with its error (4xx, or 200 with the error summary) or the success
  the form is for (a redirect, or the page that shows the result);
- a refusal has written nothing: the fingerprint of every table is as before (the few writes
  a refusal must make, such as counting a failed sign-in, are listed with their reason);
- nothing posted comes back unescaped, and no redirect leaves the site.

Per form: a Latin square of exact probes (every field meets every probe once), three posts of
plausible values with one kind of edge in every field (NUL in the texts; the largest and the
smallest numbers, dates and amounts), then hypothesis examples that change a few fields of the
plausible post. Derandomized: every run sends the same posts, a failure is repeatable.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from types import MappingProxyType
from typing import Any

import pyotp
import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from amtsweg.demo import DEMO_CITIZEN_EMAIL, DEMO_PASSWORD
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from tests.conftest import PASSWORD
from tests.fuzz_support import (
    EDGES,
    MARKUP,
    PROBES,
    UVG,
    Control,
    Fingerprint,
    ParsedForm,
    Posted,
    World,
    build_world,
    changed_tables,
    claimed_queue_item,
    draft_decision,
    draft_order,
    edge_post,
    fingerprint,
    form_for,
    hostile_posts,
    mailed_links,
    matchable_order,
    module_app,
    new_case,
    parse_forms,
    postbox_request,
    probe_post,
    routed_objection,
    send,
    sign_in,
    spare_citizen,
    unclear_booking,
    write_rules,
)

EXAMPLES = 3
SIGN_IN_PAGES = ("/konto/anmelden", "/intern/anmelden")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
ERROR_SUMMARY = 'id="error-summary"'
REFUSALS = (400, 409, 413, 429)
# A list's link parameter that names nothing (a month without a payment run) is a 404.
QUERY_REFUSALS = (*REFUSALS, 404)

# A failed sign-in or password check counts towards the account's lock and is audited: the
# write a refusal is meant to make (protection against guessing, § 35 SGB I audit).
COUNTED_FAILURE = MappingProxyType({
    "staff": "a failed password or code counts towards the lock",
    "audit_entries": "the failed attempt is audited"})
# The documents page of an application in progress keeps what passed when one file of a post
# is refused: the files that passed their checks and the "I will send it later" ticks. The
# refused file stores nothing (the draft is a work in progress, saved on every page).
DRAFT_KEEPS_THE_REST = MappingProxyType({
    "drafts": "the ticks and the files that passed are kept in the draft",
    "draft_documents": "a file that passed is attached to the draft",
    "documents": "a file that passed is stored",
    "audit_entries": "each stored file and the saved draft are audited"})


@dataclass(frozen=True)
class Form:
    endpoint: str
    visitor: str  # see tests.fuzz_support.sign_in
    page: str  # where the browser finds the form, with {w.…} from the World
    variant: str = ""
    renew: Callable[[Flask, World], World] | None = None  # a new object once one is used up
    success_pages: tuple[str, ...] = ()  # templates that show a success with 200
    reads_only: bool = False  # never writes, whatever the answer
    writes_on_refusal: Mapping[str, str] = field(default_factory=dict)
    # "success": the form's success ends on the sign-in page (a new password); "refusal": a
    # refusal may (an account locked after too many failures).
    sign_in_redirect: str = ""
    method: str = "post"
    link_parameters: tuple[str, ...] = ()  # GET: parameters of the page's links, not its form
    reach: Callable[[FlaskClient, World], tuple[str, str]] | None = None  # a page a POST shows
    fill: Callable[[Flask, World], dict[str, str]] | None = None  # what no one could guess

    @property
    def name(self) -> str:
        return f"{self.endpoint}[{self.variant}]" if self.variant else self.endpoint


def _renew(field_name: str, make: Callable[[Flask, World], Any]
           ) -> Callable[[Flask, World], World]:
    def renew(app: Flask, world: World) -> World:
        return replace(world, **{field_name: make(app, world)})

    return renew


def _bulk_confirm_page(client: FlaskClient, _world: World) -> tuple[str, str]:
    """The confirmation exists only as the answer to the selection on the queue page."""
    queue = client.get("/intern/kasse/feststellung").get_data(as_text=True)
    selection = next(form for form in parse_forms(queue) if form.action.endswith("/auswahl"))
    pairs = [(c.name, c.value) for c in selection.controls
             if c.kind == "hidden" or (c.kind == "checkbox" and c.name == "order")]
    answer = client.post(selection.action, data=MultiDict(pairs))
    # Nothing left to establish: no page, so that the renewal adds an order.
    return answer.get_data(as_text=True) if answer.status_code == 200 else "", selection.action


def _current_code(app: Flask, world: World) -> dict[str, str]:
    with app.app_context():
        secret = db.session.get_one(Staff, world.totp_staff_id).totp_secret
    assert secret is not None
    return {"code": pyotp.TOTP(secret).now()}


def _sent_kassenzeichen(app: Flask, world: World) -> dict[str, str]:
    return {"kassenzeichen": matchable_order(app).kassenzeichen, "note": "Zahlung zugeordnet"}


def _fixed(**values: str) -> Callable[[Flask, World], dict[str, str]]:
    def fill(app: Flask, world: World) -> dict[str, str]:
        return values

    return fill


STEPS = ("antragsteller", "anderer-elternteil", "waisenbezuege", "frueherer-unterhaltsvorschuss",
         "andere-leistungen", "bankverbindung", "erklaerungen")
FOLLOW_UPS = ("nachreichen", "nachricht", "veraenderung", "widerspruch")
RECOVERY = ("save_parent", "rechtswahrungsanzeige", "anhoerung", "demand")

FORMS: tuple[Form, ...] = (
    # --- the citizen's account ---------------------------------------------------------------
    Form("citizens.register", "anonymous", "/konto/registrieren",
         success_pages=("citizens/mail_sent.html",)),
    Form("citizens.login", "anonymous", "/konto/anmelden",
         writes_on_refusal={"audit_entries": "the failed attempt is audited"},
         fill=_fixed(email=DEMO_CITIZEN_EMAIL, password=DEMO_PASSWORD)),
    Form("citizens.forgot_password", "anonymous", "/konto/passwort-vergessen",
         success_pages=("citizens/mail_sent.html",)),
    Form("citizens.resend_verification", "anonymous", "/konto/bestaetigung-erneut",
         success_pages=("citizens/mail_sent.html",)),
    Form("citizens.reset_password", "anonymous",
         "/konto/passwort-neu/{w.tokens[reset-password]}",
         sign_in_redirect="success", renew=_renew("tokens", mailed_links)),
    Form("citizens.change_password", "citizen", "/konto/passwort-aendern",
         fill=_fixed(current_password=DEMO_PASSWORD)),
    Form("citizens.change_email", "citizen", "/konto/e-mail-aendern",
         success_pages=("citizens/mail_sent.html",), fill=_fixed(current_password=DEMO_PASSWORD)),
    Form("citizens.delete_account", "spare", "/konto/loeschen",
         success_pages=("citizens/deleted.html",),
         renew=_renew("spare_citizen_id", spare_citizen), fill=_fixed(current_password=PASSWORD)),
    Form("i18n.switch_language", "anonymous", "/leistungen"),
    # --- the portal ----------------------------------------------------------------------------
    Form("portal.general_request", "citizen", "/anfrage"),
    *(Form("portal.follow_up", "citizen",
           "/konto/antraege/{w.submission_id}/" + action, variant=action)
      for action in FOLLOW_UPS),
    Form("portal.postbox_message", "citizen", "/konto/postfach/{w.message_id}",
         renew=_renew("message_id", postbox_request)),
    Form("uvg_antrag.new_application", "citizen", UVG + "/neu"),
    Form("uvg_antrag.add_child", "citizen", UVG + "/{w.draft_id}/kind/neu"),
    *(Form("uvg_antrag.step", "citizen", UVG + "/{w.draft_id}/" + slug,
           variant=slug) for slug in STEPS),
    *(Form("uvg_antrag.child_step", "citizen",
           UVG + "/{w.draft_id}/" + slug + "/{w.draft_child}", variant=slug)
      for slug in ("buergergeld", "schule-und-einkommen")),
    # After the child's other pages: a new birth date may take them away.
    Form("uvg_antrag.child", "citizen", UVG + "/{w.draft_id}/kind/{w.draft_child}"),
    Form("uvg_antrag.documents", "citizen", UVG + "/{w.draft_id}/unterlagen",
         writes_on_refusal=DRAFT_KEEPS_THE_REST),
    # --- staff sign-in and own account ---------------------------------------------------------
    Form("staff_auth.login", "anonymous", "/intern/anmelden",
         writes_on_refusal=COUNTED_FAILURE, fill=_fixed(username="pruefer", password=PASSWORD)),
    Form("staff_auth.totp", "totp", "/intern/anmelden/code",
         writes_on_refusal=COUNTED_FAILURE, sign_in_redirect="refusal", fill=_current_code),
    Form("staff_auth.reauthenticate", "staff", "/intern/bestaetigen",
         writes_on_refusal=COUNTED_FAILURE, sign_in_redirect="refusal",
         fill=_fixed(password=PASSWORD)),
    Form("staff_auth.change_password", "staff", "/intern/passwort"),
    Form("staff_auth.totp_setup", "staff", "/intern/zwei-faktor"),
    # --- administration ------------------------------------------------------------------------
    Form("admin.staff_create", "staff", "/intern/verwaltung/mitarbeitende/neu",
         success_pages=("admin/password_shown.html",)),
    Form("admin.staff_edit", "staff",
         "/intern/verwaltung/mitarbeitende/{w.target_staff_id}"),
    Form("admin.fachbereich_create", "staff", "/intern/verwaltung/fachbereiche/neu"),
    Form("admin.fachbereich_edit", "staff",
         "/intern/verwaltung/fachbereiche/{w.fachbereich_id}"),
    Form("office_settings.edit", "staff", "/intern/verwaltung/amt/"),
    Form("office_settings.remedy", "staff",
         "/intern/verwaltung/amt/belehrung/{w.uvg_fachbereich_id}"),
    # --- clearing ------------------------------------------------------------------------------
    Form("clearing.paper_intake", "staff", "/intern/clearing/papiereingang"),
    *(Form(f"clearing.{action}", "staff",
           "/intern/clearing/{w.claimed_eingang_id}/" + slug,
           renew=_renew("claimed_eingang_id", claimed_queue_item))
      for action, slug in (("route", "weiterleiten"), ("request_information", "nachfordern"),
                           ("reject", "ablehnen"))),
    Form("clearing.rule_edit", "staff", "/intern/clearing/regeln/{w.rule_id}"),
    Form("clearing.bulk_action", "staff", "/intern/clearing/",
         success_pages=("clearing/bulk_result.html",)),
    # --- case work -----------------------------------------------------------------------------
    Form("backoffice.add_note", "staff", "/intern/faelle/{w.second_fall_id}"),
    Form("backoffice.edit_party", "staff",
         "/intern/faelle/{w.second_fall_id}/beteiligte/{w.second_party_id}"),
    Form("backoffice.upload", "staff", "/intern/faelle/{w.fall_id}/dokumente/neu"),
    Form("backoffice.add_deadline", "staff",
         "/intern/faelle/{w.fall_id}/wiedervorlagen/neu",
         fill=_fixed(working_days="")),  # a date or a number of days, not both
    Form("backoffice.assign", "staff", "/intern/faelle/{w.second_fall_id}/zuweisen"),
    Form("backoffice.bulk_reassign", "staff", "/intern/faelle/umverteilen",
         success_pages=("backoffice/bulk.html",)),
    # A case of its own: a closed case has no status left to change to, so the next is new.
    Form("backoffice.change_status", "staff", "/intern/faelle/{w.status_fall_id}",
         renew=_renew("status_fall_id", new_case)),
    Form("decisions.new", "staff", "/intern/faelle/{w.fall_id}/bescheide/neu"),
    *(Form(f"decisions.{action}", "staff",
           "/intern/faelle/{w.fall_id}/bescheide/{w.draft_decision_id}",
           renew=_renew("draft_decision_id", draft_decision)) for action in ("edit", "issue")),
    Form("decisions.new_objection", "staff",
         "/intern/faelle/{w.fall_id}/widersprueche/neu"),
    Form("decisions.attach_objection", "staff", "/intern/faelle/{w.fall_id}/bescheide",
         renew=_renew("objection_eingang_id", routed_objection)),
    Form("decisions.forward", "staff",
         "/intern/faelle/{w.fall_id}/widersprueche/{w.widerspruch_id}/weiterleiten"),
    Form("decisions.outcome", "staff",
         "/intern/faelle/{w.fall_id}/widersprueche/{w.widerspruch_id}/ergebnis"),
    # --- Unterhaltsvorschuss -------------------------------------------------------------------
    Form("uvg.facts", "staff", "/intern/uvg/faelle/{w.open_fall_id}/kinder/"
         "{w.applied_child_id}/angaben"),
    Form("uvg.assess", "staff", "/intern/uvg/faelle/{w.open_fall_id}/kinder/"
         "{w.applied_child_id}/pruefung/age"),
    Form("uvg.change", "staff", "/intern/uvg/faelle/{w.fall_id}/kinder/"
         "{w.granted_child_id}/aenderung",
         fill=_fixed(end_reason="", child_income="", abroad="")),
    Form("uvg.calculate", "staff", "/intern/uvg/faelle/{w.open_fall_id}"),
    Form("uvg.decide", "staff", "/intern/uvg/faelle/{w.open_fall_id}"),
    *(Form(f"uvg_recovery.{action}", "staff",
           "/intern/uvg/faelle/{w.fall_id}/rueckgriff?beteiligter={w.party_id}")
      for action in RECOVERY),
    Form("uvg_calculator.calculator", "staff", "/intern/uvg/rechner",
         reads_only=True),
    # --- payment orders and the treasury -------------------------------------------------------
    Form("backoffice_payments.new_order", "staff",
         "/intern/faelle/{w.fall_id}/sollstellung/neu",
         fill=_fixed(period_start="", period_end="", bic="", purpose="")),
    Form("ihv.edit", "staff", "/intern/kasse/{w.draft_order_id}/bearbeiten"),
    Form("ihv.cancel", "staff", "/intern/kasse/{w.cancel_order_id}",
         renew=_renew("cancel_order_id", draft_order)),
    Form("ihv.bulk_review", "staff", "/intern/kasse/feststellung",
         success_pages=("ihv/bulk_confirm.html",), renew=_renew("cancel_order_id", draft_order)),
    Form("ihv.bulk_confirm", "staff", "/intern/kasse/feststellung/auswahl",
         reach=_bulk_confirm_page, success_pages=("ihv/bulk_result.html",),
         renew=_renew("cancel_order_id", draft_order)),
    Form("ihv_transfers.assign", "staff",
         "/intern/kasse/uebertragungen/klaerungsliste/{w.unclear_booking_id}",
         renew=_renew("unclear_booking_id", unclear_booking), fill=_sent_kassenzeichen),
)

# The search and filter forms, and the paging parameters of the lists: a GET writes nothing.
QUERIES: tuple[Form, ...] = tuple(
    Form(endpoint, "staff", path, method="get", reads_only=True,
         link_parameters=links)
    for endpoint, path, links in (
        ("reports.index", "/intern/statistik/", ()),
        ("clearing.index", "/intern/clearing/", ("nach",)),
        ("backoffice.mine", "/intern/faelle/", ("nach",)),
        ("backoffice.pool", "/intern/faelle/pool", ("nach",)),
        ("backoffice.search", "/intern/faelle/suche", ()),
        ("backoffice.access_log", "/intern/faelle/zugriffe", ("nach",)),
        ("ihv.reconciliation_page", "/intern/kasse/abgleich", ()),
        ("audit.index", "/intern/protokoll/", ("before",)),
        ("admin.staff_list", "/intern/verwaltung/mitarbeitende", ()),
        ("ihv_transfers.index", "/intern/kasse/uebertragungen/", ("seite",)),
        ("uvg_recovery.payment_runs", "/intern/uvg/zahlungslauf", ("monat",)),
    ))

# Write routes without a field to fill: buttons that carry the token (and at most the page's
# version). tests/test_csrf_everywhere.py posts to each of them; the version field is fuzzed
# on the forms that carry one with their inputs (ihv.edit, clearing, UVG facts and changes).
WITHOUT_INPUT: dict[str, str] = {
    "uvg_antrag.submit": "the send button of the check page",
    "uvg_antrag.delete_child": "a remove button",
    "uvg_antrag.children": "continue and save-for-later buttons",
    "uvg_antrag.delete_draft": "a confirm button",
    "uvg_antrag.remove_document": "a remove button",
    "citizens.logout": "the sign-out button",
    "citizens.verify_email": "a confirm button behind the mailed link",
    "citizens.confirm_email_change": "a confirm button behind the mailed link",
    "staff_auth.logout": "the sign-out button",
    "clearing.claim": "a button",
    "clearing.release": "a button",
    "decisions.instruction_defective": "a button",
    "decisions.remedy": "a button",
    "backoffice.mark_deadline": "a button",
    "uvg.take_over": "a button",
    "ihv.feststellen": "a button with the order's version",
    "ihv.anordnen": "a button with the order's version",
    "ihv_transfers.resend": "a button",
    "admin.staff_activate": "a button",
    "admin.staff_deactivate": "a button",
    "admin.staff_unlock": "a button",
    "admin.staff_reset_password": "a button",
    "admin.staff_reset_totp": "a button",
}


@dataclass
class Fuzz:
    """The module's app, world and browser; the world moves on as objects are used up."""

    app: Flask
    world: World
    client: FlaskClient
    rendered: list[str] = field(default_factory=list)
    requests: Iterator[int] = field(default_factory=itertools.count)

    def remote_addr(self) -> str:
        # A new address per request: the per-address rate limits are not what is tested here.
        number = next(self.requests)
        return f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory,
         postgres_schema: str | None) -> Iterator[Fuzz]:
    with module_app(tmp_path_factory.mktemp("fuzz"), postgres_schema) as app:
        state = Fuzz(app, build_world(app), app.test_client())

        def record(_sender: Flask, template: Any, context: Any, **_extra: Any) -> None:
            state.rendered.append(str(template.name))

        with template_rendered.connected_to(record, app):
            yield state


def _form_on_page(fuzz: Fuzz, spec: Form) -> tuple[ParsedForm, str]:
    for attempt in range(2):
        sign_in(fuzz.client, fuzz.app, spec.visitor, fuzz.world)
        path = spec.page.format(w=fuzz.world)
        if spec.reach is not None:
            page, path = spec.reach(fuzz.client, fuzz.world)
        else:
            answer = fuzz.client.get(path, environ_base={"REMOTE_ADDR": fuzz.remote_addr()})
            page = answer.get_data(as_text=True) if answer.status_code == 200 else ""
        found = form_for(fuzz.app, path, parse_forms(page), spec.endpoint, spec.method)
        if found is None and page and spec.link_parameters:
            found = ParsedForm("get", path, ""), path  # a list without a form, only links
        if found is not None:
            form, target = found
            form.controls += [Control(name, "text") for name in spec.link_parameters]
            return form, target
        if spec.renew is None or attempt:
            break
        # An earlier success used the object up (an item routed, a Bescheid issued, a link
        # followed): the posts go on with a new one.
        fuzz.world = spec.renew(fuzz.app, fuzz.world)
    raise AssertionError(f"{spec.name}: no form for {spec.endpoint} on "
                         f"{spec.page.format(w=fuzz.world)}")


def _shown(posted: Posted) -> str:
    return repr([(name, value if len(value) < 80 else f"{value[:40]!r}…({len(value)})")
                 for name, value in posted.pairs] + [(n, f, len(c)) for n, f, c in posted.files])


@dataclass
class Poster:
    """Posts to one form again and again, as a visitor on its page would.

    The page is read again (signed in afresh) only when something changed: after a success, a
    redirect or a write. A refused post leaves the page as it was, so its form, token and
    version are still what the browser holds, and the fingerprint taken after the refusal is
    the one to compare the next post with.
    """

    fuzz: Fuzz
    spec: Form
    page: tuple[ParsedForm, str] | None = None
    state: Fingerprint = field(default_factory=dict)

    def post(self, make: Callable[[ParsedForm, dict[str, str]], Posted]) -> None:
        fuzz, spec = self.fuzz, self.spec
        if self.page is None:
            self.page = _form_on_page(fuzz, spec)
            self.state = fingerprint(fuzz.app)
        form, target = self.page
        posted = make(form, spec.fill(fuzz.app, fuzz.world) if spec.fill else {})
        fuzz.rendered.clear()
        response = send(fuzz.client, spec.method, target, posted,
                        multipart="multipart" in form.enctype, remote_addr=fuzz.remote_addr())
        status, body = response.status_code, response.get_data(as_text=True)
        location = str(response.headers.get("Location", ""))
        what = f"{spec.name}: {spec.method.upper()} {target} with {_shown(posted)} gave {status}"
        assert status < 500, f"{what}\n{body[:3000]}"
        assert "Traceback" not in body, what
        # The page's own token goes with every post: a CSRF refusal would mean the posts
        # never reached the form at all.
        assert "errors/csrf.html" not in fuzz.rendered, f"{what}: refused for its token"
        assert not INLINE_SCRIPT.search(body), f"{what}: a script from the input is on the page"
        for payload in MARKUP:
            if any(payload in value for value in posted.values()):
                assert payload not in body, f"{what}: {payload!r} came back unescaped"
        assert not location.startswith("//"), f"{what}: a redirect off the site, {location}"
        assert not location or location.startswith("/"), f"{what}: a redirect to {location}"
        succeeded = _succeeded(spec, status, location, body, what, fuzz.rendered)
        after = fingerprint(fuzz.app)
        changed = changed_tables(self.state, after)
        if not succeeded or spec.reads_only:
            unexpected = changed - set(spec.writes_on_refusal)
            assert not unexpected, f"{what}: refused, but {sorted(unexpected)} changed"
        if (succeeded and not spec.reads_only) or changed or location:
            self.page = None
        self.state = after


def _succeeded(spec: Form, status: int, location: str, body: str, what: str,
               rendered: list[str]) -> bool:
    if status in (302, 303):
        if location.split("?")[0] not in SIGN_IN_PAGES:
            return True
        assert spec.sign_in_redirect, f"{what}: sent to the sign-in page"
        return spec.sign_in_redirect == "success"
    if status == 200 and (spec.reads_only or set(spec.success_pages) & set(rendered)):
        return True
    if status in (QUERY_REFUSALS if spec.method == "get" else REFUSALS):
        return False
    assert status == 200, f"{what}: neither the form with its error nor the success"
    assert ERROR_SUMMARY in body, f"{what}: no error summary and no success (pages {rendered})"
    return False


def _run(fuzz: Fuzz, spec: Form) -> None:
    poster = Poster(fuzz, spec)
    for round_number in range(len(PROBES)):
        poster.post(partial(probe_post, round_number=round_number))
    for edge in EDGES:
        poster.post(partial(edge_post, edge=edge))

    # The posts are slow and large by design (pages, 100,000 characters); the examples run
    # again and again in one test, against one world that moves on (differing_executors).
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example,
                                     HealthCheck.differing_executors])
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        poster.post(lambda form, fill: data.draw(hostile_posts(form, fill), label="posted"))

    examples()


@pytest.mark.parametrize("spec", FORMS, ids=lambda spec: spec.name)
def test_hostile_posts_to_every_form(fuzz: Fuzz, spec: Form) -> None:
    _run(fuzz, spec)


@pytest.mark.parametrize("spec", QUERIES, ids=lambda spec: spec.name)
def test_hostile_queries_to_every_search_and_list(fuzz: Fuzz, spec: Form) -> None:
    _run(fuzz, spec)


def test_every_write_route_is_fuzzed_or_has_no_input(fuzz: Fuzz) -> None:
    """A new form fails here until it is in FORMS (or named as a bare button)."""
    fuzzed = {spec.endpoint for spec in FORMS}
    routes = {rule.endpoint for rule, _method in write_rules(fuzz.app)}
    missing = routes - fuzzed - set(WITHOUT_INPUT)
    assert not missing, f"write routes neither fuzzed nor listed as without input: {missing}"
    stale = (fuzzed | set(WITHOUT_INPUT)) - routes
    assert not stale, f"entries for routes that no longer exist: {sorted(stale)}"
    assert not fuzzed & set(WITHOUT_INPUT)

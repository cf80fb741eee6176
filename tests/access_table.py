"""Who gets what on every route: the expected answer per (endpoint, method) and visitor.

Read with tests/test_access_table.py, which builds one office in which every URL parameter
names a real thing of citizen A and of the UVG Fachbereich, and asks every route as every kind
of visitor. A route of the app that is missing here fails that test, and so does an entry here
whose route has gone: a new route is never open by accident.

Each entry names the URL parameters it fills from the office (``ids``: they point at A's
things, and are swapped for ids that do not exist to prove that an outsider's answer is the
same either way) and the fixed ones (``fixed``: a step's slug, a condition's code, ...; a value
``@name`` is the office's, e.g. the token of a link mailed to A), and the query string if the
page needs one.

Answers: a status code, or a redirect. ``ALLOWED`` marks a POST that the visitor may send:
what it does is the feature tests' business; here only the refusals are sent, with a valid
CSRF token (so the refusal comes from the access rule), and must change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

# --- the visitors ---------------------------------------------------------------------------

ANONYMOUS: Final = "anonymous"
CITIZEN_A: Final = "citizen_a"  # owns every citizen-side thing in the office
CITIZEN_B: Final = "citizen_b"  # another citizen, asking for A's things
CLERK: Final = "clerk"  # Clearing-Stelle, no Fachbereich
CASEWORKER: Final = "caseworker"  # UVG, responsible for A's case
LEAD: Final = "lead"  # lead of UVG
FESTSTELLER: Final = "feststeller"  # UVG
ANORDNER: Final = "anordner"  # UVG
AUDITOR: Final = "auditor"
ADMIN: Final = "admin"
OTHER_CASEWORKER: Final = "other_caseworker"  # caseworker of Wohngeld, asking for UVG things
OTHER_LEAD: Final = "other_lead"  # lead of Wohngeld, asking for UVG things

CITIZENS = (CITIZEN_A, CITIZEN_B)
STAFF = (CLERK, CASEWORKER, LEAD, FESTSTELLER, ANORDNER, AUDITOR, ADMIN, OTHER_CASEWORKER,
         OTHER_LEAD)
VISITORS = (ANONYMOUS, *CITIZENS, *STAFF)
# Must never see anything of A or of A's case, whatever the answer.
OUTSIDERS = (ANONYMOUS, CITIZEN_B, OTHER_CASEWORKER)


# --- the answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """A 302 to ``path`` (or to any path below it when ``below``)."""

    path: str
    below: bool = False

    def matches(self, location_path: str) -> bool:
        return location_path.startswith(self.path) if self.below else location_path == self.path

    def __str__(self) -> str:
        return f"302 → {self.path}{'…' if self.below else ''}"


class _Allowed:
    def __repr__(self) -> str:
        return "ALLOWED"


ALLOWED: Final = _Allowed()
Answer = int | Redirect | _Allowed

STAFF_LOGIN: Final = Redirect("/intern/anmelden")
CITIZEN_LOGIN: Final = Redirect("/konto/anmelden")
STAFF_HOME: Final = Redirect("/intern/")
ACCOUNT: Final = Redirect("/konto/")


@dataclass(frozen=True)
class Entry:
    expect: Mapping[str, Answer]
    ids: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)
    query: str = ""


# --- kinds of route ---------------------------------------------------------------------------


def everyone(answer: Answer) -> dict[str, Answer]:
    return dict.fromkeys(VISITORS, answer)


def citizens_only(own: Answer, **answers: Answer) -> dict[str, Answer]:
    """Behind the citizen login: anonymous visitors and staff (a staff session is no citizen
    session) go to the citizen sign-in; both citizens get ``own`` (their own things)."""
    return {**everyone(CITIZEN_LOGIN), CITIZEN_A: own, CITIZEN_B: own, **answers}


def citizen_a_only(answer: Answer) -> dict[str, Answer]:
    """A's things by their id: A gets ``answer``, B a plain 404 (as for an id that does not
    exist), everyone else the citizen sign-in."""
    return citizens_only(answer, **{CITIZEN_B: 404})


def staff_only(default: Answer = 403, **answers: Answer) -> dict[str, Answer]:
    """Behind the staff login (deny by default): anonymous visitors and citizens go to the
    staff sign-in; staff get ``default`` unless named."""
    return {ANONYMOUS: STAFF_LOGIN, CITIZEN_A: STAFF_LOGIN, CITIZEN_B: STAFF_LOGIN,
            **dict.fromkeys(STAFF, default), **answers}


def case_staff(answer: Answer) -> dict[str, Answer]:
    """A route of A's UVG case: its caseworker and the UVG lead get ``answer``; staff of
    Wohngeld get 403 (§ 35 SGB I, the attempt is logged), other roles 403."""
    return staff_only(**{CASEWORKER: answer, LEAD: answer})


def uvg_staff(answer: Answer) -> dict[str, Answer]:
    """UVG's own pages outside a case: its caseworkers and lead; Wohngeld's get 403."""
    return staff_only(**{CASEWORKER: answer, LEAD: answer})


def any_case_staff(answer: Answer) -> dict[str, Answer]:
    """Case lists scoped to the visitor's own Fachbereiche: every caseworker and lead."""
    return staff_only(**dict.fromkeys((CASEWORKER, LEAD, OTHER_CASEWORKER, OTHER_LEAD), answer))


def clearing_staff(answer: Answer) -> dict[str, Answer]:
    """The Clearing-Stelle works for the whole office: clerks and every lead."""
    return staff_only(**dict.fromkeys((CLERK, LEAD, OTHER_LEAD), answer))


def clearing_leads(answer: Answer) -> dict[str, Answer]:
    return staff_only(**dict.fromkeys((LEAD, OTHER_LEAD), answer))


def admins(answer: Answer) -> dict[str, Answer]:
    return staff_only(**{ADMIN: answer})


def any_staff(answer: Answer) -> dict[str, Answer]:
    return staff_only(**dict.fromkeys(STAFF, answer))


# The Kasse reads across all Fachbereiche (README, "Kasse"): Feststeller, Anordner and
# auditors; not the leads, who see only their own Fachbereiche (§ 35 SGB I).
KASSE_READERS = (FESTSTELLER, ANORDNER, AUDITOR)
KASSE_WRITERS = (FESTSTELLER, ANORDNER)


def kasse(answer: Answer, readers: tuple[str, ...] = KASSE_READERS) -> dict[str, Answer]:
    return staff_only(**dict.fromkeys(readers, answer))


# Statistics: leads of their own Fachbereiche, admins and auditors (all figures); Feststeller
# and Anordner (the money figures, office-wide). The URL asks for the UVG Fachbereich.
STATISTICS_QUERY = "period=year&year={year}&fachbereich={fachbereich}"


def statistics(*, money: Answer, cases: Answer) -> dict[str, Answer]:
    return staff_only(**{LEAD: cases, ADMIN: cases, AUDITOR: cases, FESTSTELLER: money,
                         ANORDNER: money})


# --- the table ----------------------------------------------------------------------------

DRAFT = {"public_id": "draft"}
DRAFT_CHILD = {"public_id": "draft", "child_id": "draft_child"}
SUBMISSION = {"public_id": "submission"}
FALL = {"fall_id": "fall"}
UVG_CHILD = {"fall_id": "fall", "child_id": "uvg_child"}
LIABLE_PARENT = {"fall_id": "fall", "party_id": "liable_parent"}
DECISION = {"fall_id": "fall", "decision_id": "decision"}
WIDERSPRUCH = {"fall_id": "fall", "widerspruch_id": "widerspruch"}
ORDER = {"order_id": "order"}
EINGANG = {"eingang_id": "eingang"}
STAFF_MEMBER = {"staff_id": "staff_member"}
FACHBEREICH = {"fachbereich_id": "fachbereich"}

GET, POST = "GET", "POST"

TABLE: dict[tuple[str, str], Entry] = {
    # --- public ---------------------------------------------------------------------------
    ("home.index", GET): Entry(everyone(200)),
    ("health.healthz", GET): Entry(everyone(200)),
    ("static", GET): Entry(everyone(200), fixed={"filename": "css/amtsweg.css"}),
    ("assets.kern", GET): Entry(everyone(200), fixed={"filename": "kern.min.css"}),
    ("i18n.switch_language", POST): Entry(everyone(ALLOWED)),
    ("portal.catalogue", GET): Entry(everyone(200)),
    ("portal.leistung", GET): Entry(everyone(200), fixed={"code": "uvg"}),
    ("uvg_antrag.start", GET): Entry(everyone(200)),

    # --- the citizen's account ----------------------------------------------------------------
    ("citizens.login", GET): Entry({**everyone(200), CITIZEN_A: ACCOUNT, CITIZEN_B: ACCOUNT}),
    ("citizens.login", POST): Entry(everyone(ALLOWED)),
    ("citizens.register", GET): Entry({**everyone(200), CITIZEN_A: ACCOUNT, CITIZEN_B: ACCOUNT}),
    ("citizens.register", POST): Entry(everyone(ALLOWED)),
    ("citizens.resend_verification", GET): Entry(everyone(200)),
    ("citizens.resend_verification", POST): Entry(everyone(ALLOWED)),
    ("citizens.forgot_password", GET): Entry(everyone(200)),
    ("citizens.forgot_password", POST): Entry(everyone(ALLOWED)),
    # A link from a mail is its own authority: whoever holds it may use it (it names no id,
    # and a forged or stale one is refused with 400).
    ("citizens.verify_email", GET): Entry(everyone(200), fixed={"token": "@verify_token"}),
    ("citizens.verify_email", POST): Entry(everyone(ALLOWED), fixed={"token": "@verify_token"}),
    ("citizens.reset_password", GET): Entry(everyone(200), fixed={"token": "@reset_token"}),
    ("citizens.reset_password", POST): Entry(everyone(ALLOWED), fixed={"token": "@reset_token"}),
    ("citizens.confirm_email_change", GET): Entry(everyone(200),
                                                  fixed={"token": "@email_token"}),
    ("citizens.confirm_email_change", POST): Entry(everyone(ALLOWED),
                                                   fixed={"token": "@email_token"}),
    ("citizens.account", GET): Entry(citizens_only(200)),
    ("citizens.logout", POST): Entry(citizens_only(ALLOWED)),
    ("citizens.change_password", GET): Entry(citizens_only(200)),
    ("citizens.change_password", POST): Entry(citizens_only(ALLOWED)),
    ("citizens.change_email", GET): Entry(citizens_only(200)),
    ("citizens.change_email", POST): Entry(citizens_only(ALLOWED)),
    ("citizens.delete_account", GET): Entry(citizens_only(200)),
    ("citizens.delete_account", POST): Entry(citizens_only(ALLOWED)),

    # --- the portal ---------------------------------------------------------------------------
    ("portal.general_request", GET): Entry(citizens_only(200)),
    ("portal.general_request", POST): Entry(citizens_only(ALLOWED)),
    ("portal.submissions", GET): Entry(citizens_only(200)),
    ("portal.submission_detail", GET): Entry(citizen_a_only(200), ids=SUBMISSION),
    ("portal.confirmation", GET): Entry(citizen_a_only(200), ids=SUBMISSION),
    ("portal.receipt", GET): Entry(citizen_a_only(200), ids=SUBMISSION),
    ("portal.submission_document", GET): Entry(
        citizen_a_only(200), ids={**SUBMISSION, "item_id": "submission_item"}),
    ("portal.follow_up", GET): Entry(citizen_a_only(200), ids=SUBMISSION,
                                     fixed={"action": "widerspruch"}),
    ("portal.follow_up", POST): Entry(citizen_a_only(ALLOWED), ids=SUBMISSION,
                                      fixed={"action": "widerspruch"}),
    ("portal.postbox", GET): Entry(citizens_only(200)),
    ("portal.postbox_message", GET): Entry(citizen_a_only(200), ids={"public_id": "request"}),
    ("portal.postbox_message", POST): Entry(citizen_a_only(ALLOWED),
                                            ids={"public_id": "request"}),
    ("portal.postbox_attachment", GET): Entry(citizen_a_only(200),
                                              ids={"public_id": "bescheid_message"}),

    # --- the UVG application ------------------------------------------------------------------
    ("uvg_antrag.new_application", GET): Entry(citizens_only(200)),
    ("uvg_antrag.new_application", POST): Entry(citizens_only(ALLOWED)),
    # A's draft still has open questions: resuming and the check page lead to the first one.
    ("uvg_antrag.resume", GET): Entry(citizen_a_only(Redirect("/antrag/unterhaltsvorschuss/",
                                                              below=True)), ids=DRAFT),
    ("uvg_antrag.check", GET): Entry(citizen_a_only(Redirect("/antrag/unterhaltsvorschuss/",
                                                             below=True)), ids=DRAFT),
    ("uvg_antrag.step", GET): Entry(citizen_a_only(200), ids=DRAFT,
                                    fixed={"slug": "antragsteller"}),
    ("uvg_antrag.step", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT,
                                     fixed={"slug": "antragsteller"}),
    ("uvg_antrag.child_step", GET): Entry(citizen_a_only(200), ids=DRAFT_CHILD,
                                          fixed={"slug": "schule-und-einkommen"}),
    ("uvg_antrag.child_step", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT_CHILD,
                                           fixed={"slug": "schule-und-einkommen"}),
    ("uvg_antrag.children", GET): Entry(citizen_a_only(200), ids=DRAFT),
    ("uvg_antrag.children", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT),
    ("uvg_antrag.child", GET): Entry(citizen_a_only(200), ids=DRAFT_CHILD),
    ("uvg_antrag.child", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT_CHILD),
    ("uvg_antrag.add_child", GET): Entry(citizen_a_only(200), ids=DRAFT),
    ("uvg_antrag.add_child", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT),
    ("uvg_antrag.delete_child", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT_CHILD),
    ("uvg_antrag.documents", GET): Entry(citizen_a_only(200), ids=DRAFT),
    ("uvg_antrag.documents", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT),
    ("uvg_antrag.document", GET): Entry(citizen_a_only(200),
                                        ids={**DRAFT, "item_id": "draft_item"}),
    ("uvg_antrag.remove_document", POST): Entry(citizen_a_only(ALLOWED),
                                                ids={**DRAFT, "item_id": "draft_item"}),
    ("uvg_antrag.delete_draft", GET): Entry(citizen_a_only(200), ids=DRAFT),
    ("uvg_antrag.delete_draft", POST): Entry(citizen_a_only(ALLOWED), ids=DRAFT),
    # The draft A sent: sending it again shows her what she sent; to B it is a 404.
    ("uvg_antrag.submit", POST): Entry(citizen_a_only(ALLOWED),
                                       ids={"public_id": "submitted_draft"}),
    ("uvg_antrag.confirmation", GET): Entry(citizen_a_only(200), ids=SUBMISSION),
    ("uvg_antrag.receipt", GET): Entry(citizen_a_only(200), ids=SUBMISSION),

    # --- staff sign-in and own account ------------------------------------------------------
    ("staff_auth.login", GET): Entry({**everyone(200), **dict.fromkeys(STAFF, STAFF_HOME)}),
    ("staff_auth.login", POST): Entry(everyone(ALLOWED)),
    # Without a half-finished login the code page sends everyone back to the sign-in.
    ("staff_auth.totp", GET): Entry(everyone(STAFF_LOGIN)),
    ("staff_auth.totp", POST): Entry(everyone(STAFF_LOGIN)),
    ("staff_auth.totp_setup", GET): Entry(any_staff(200)),
    ("staff_auth.totp_setup", POST): Entry(any_staff(ALLOWED)),
    ("staff_auth.home", GET): Entry(any_staff(200)),
    ("staff_auth.logout", POST): Entry(any_staff(ALLOWED)),
    ("staff_auth.reauthenticate", GET): Entry(any_staff(200)),
    ("staff_auth.reauthenticate", POST): Entry(any_staff(ALLOWED)),
    ("staff_auth.change_password", GET): Entry(any_staff(200)),
    ("staff_auth.change_password", POST): Entry(any_staff(ALLOWED)),

    # --- administration ------------------------------------------------------------------------
    ("admin.index", GET): Entry(admins(Redirect("/intern/verwaltung/mitarbeitende"))),
    ("admin.staff_list", GET): Entry(admins(200)),
    ("admin.staff_create", GET): Entry(admins(200)),
    ("admin.staff_create", POST): Entry(admins(ALLOWED)),
    ("admin.staff_edit", GET): Entry(admins(200), ids=STAFF_MEMBER),
    ("admin.staff_edit", POST): Entry(admins(ALLOWED), ids=STAFF_MEMBER),
    ("admin.staff_activate", POST): Entry(admins(ALLOWED), ids=STAFF_MEMBER),
    ("admin.staff_deactivate", POST): Entry(admins(ALLOWED), ids=STAFF_MEMBER),
    ("admin.staff_unlock", POST): Entry(admins(ALLOWED), ids=STAFF_MEMBER),
    ("admin.staff_reset_password", POST): Entry(admins(ALLOWED), ids=STAFF_MEMBER),
    ("admin.staff_reset_totp", POST): Entry(admins(ALLOWED), ids=STAFF_MEMBER),
    ("admin.fachbereich_list", GET): Entry(admins(200)),
    ("admin.fachbereich_create", GET): Entry(admins(200)),
    ("admin.fachbereich_create", POST): Entry(admins(ALLOWED)),
    ("admin.fachbereich_edit", GET): Entry(admins(200), ids=FACHBEREICH),
    ("admin.fachbereich_edit", POST): Entry(admins(ALLOWED), ids=FACHBEREICH),
    ("office_settings.edit", GET): Entry(admins(200)),
    ("office_settings.edit", POST): Entry(admins(ALLOWED)),
    ("office_settings.remedy", GET): Entry(admins(200), ids=FACHBEREICH),
    ("office_settings.remedy", POST): Entry(admins(ALLOWED), ids=FACHBEREICH),
    ("audit.index", GET): Entry(staff_only(**{ADMIN: 200, AUDITOR: 200})),

    # --- clearing ------------------------------------------------------------------------------
    ("clearing.index", GET): Entry(clearing_staff(200)),
    ("clearing.detail", GET): Entry(clearing_staff(200), ids=EINGANG),
    ("clearing.claim", POST): Entry(clearing_staff(ALLOWED), ids=EINGANG),
    ("clearing.release", POST): Entry(clearing_staff(ALLOWED), ids=EINGANG),
    ("clearing.route", GET): Entry(clearing_staff(200), ids=EINGANG),
    ("clearing.route", POST): Entry(clearing_staff(ALLOWED), ids=EINGANG),
    ("clearing.request_information", GET): Entry(clearing_staff(200), ids=EINGANG),
    ("clearing.request_information", POST): Entry(clearing_staff(ALLOWED), ids=EINGANG),
    ("clearing.reject", GET): Entry(clearing_staff(200), ids=EINGANG),
    ("clearing.reject", POST): Entry(clearing_staff(ALLOWED), ids=EINGANG),
    ("clearing.document_download", GET): Entry(
        clearing_staff(200), ids={**EINGANG, "document_id": "eingang_document"}),
    ("clearing.document_view", GET): Entry(
        clearing_staff(200), ids={**EINGANG, "document_id": "eingang_document"}),
    ("clearing.bulk_action", POST): Entry(clearing_staff(ALLOWED)),
    ("clearing.paper_intake", GET): Entry(clearing_staff(200)),
    ("clearing.paper_intake", POST): Entry(clearing_staff(ALLOWED)),
    ("clearing.rules_list", GET): Entry(clearing_leads(200)),
    ("clearing.rule_edit", GET): Entry(clearing_leads(200), ids={"rule_id": "rule"}),
    ("clearing.rule_edit", POST): Entry(clearing_leads(ALLOWED), ids={"rule_id": "rule"}),
    ("clearing.overview", GET): Entry(clearing_leads(200)),

    # --- cases ---------------------------------------------------------------------------------
    ("backoffice.mine", GET): Entry(any_case_staff(200)),
    ("backoffice.pool", GET): Entry(any_case_staff(200)),
    ("backoffice.search", GET): Entry(any_case_staff(200), query="q=Lea"),
    ("backoffice.bulk_reassign", GET): Entry(staff_only(**{LEAD: 200, OTHER_LEAD: 200})),
    ("backoffice.bulk_reassign", POST): Entry(staff_only(**{LEAD: ALLOWED,
                                                            OTHER_LEAD: ALLOWED})),
    ("backoffice.access_log", GET): Entry(staff_only(**{AUDITOR: 200})),
    ("backoffice.case", GET): Entry(case_staff(200), ids=FALL),
    ("backoffice.change_status", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("backoffice.add_note", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("backoffice.edit_party", GET): Entry(case_staff(200),
                                          ids={**FALL, "party_id": "party"}),
    ("backoffice.edit_party", POST): Entry(case_staff(ALLOWED),
                                           ids={**FALL, "party_id": "party"}),
    ("backoffice.upload", GET): Entry(case_staff(200), ids=FALL),
    ("backoffice.upload", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("backoffice.download", GET): Entry(case_staff(200),
                                        ids={**FALL, "case_document_id": "case_document"}),
    ("backoffice.preview", GET): Entry(case_staff(200),
                                       ids={**FALL, "case_document_id": "case_document"}),
    ("backoffice.add_deadline", GET): Entry(case_staff(200), ids=FALL),
    ("backoffice.add_deadline", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("backoffice.mark_deadline", POST): Entry(case_staff(ALLOWED),
                                              ids={**FALL, "deadline_id": "deadline"},
                                              fixed={"state": "erledigt"}),
    ("backoffice.assign", GET): Entry(case_staff(200), ids=FALL),
    ("backoffice.assign", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("backoffice_payments.new_order", GET): Entry(case_staff(200), ids=FALL),
    ("backoffice_payments.new_order", POST): Entry(case_staff(ALLOWED), ids=FALL),

    # --- decisions and objections -----------------------------------------------------------
    ("decisions.overview", GET): Entry(case_staff(200), ids=FALL),
    ("decisions.new", GET): Entry(case_staff(200), ids=FALL),
    ("decisions.new", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("decisions.edit", GET): Entry(case_staff(200), ids=DECISION),
    ("decisions.edit", POST): Entry(case_staff(ALLOWED), ids=DECISION),
    ("decisions.issue", POST): Entry(case_staff(ALLOWED), ids=DECISION),
    ("decisions.pdf", GET): Entry(case_staff(200), ids=DECISION),
    ("decisions.instruction_defective", POST): Entry(case_staff(ALLOWED), ids=DECISION),
    ("decisions.new_objection", GET): Entry(case_staff(200), ids=FALL),
    ("decisions.new_objection", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("decisions.attach_objection", POST): Entry(
        case_staff(ALLOWED), ids={**FALL, "eingang_id": "objection_eingang"}),
    ("decisions.remedy", POST): Entry(case_staff(ALLOWED), ids=WIDERSPRUCH),
    ("decisions.forward", GET): Entry(case_staff(200), ids=WIDERSPRUCH),
    ("decisions.forward", POST): Entry(case_staff(ALLOWED), ids=WIDERSPRUCH),
    ("decisions.outcome", GET): Entry(case_staff(200), ids=WIDERSPRUCH),
    ("decisions.outcome", POST): Entry(case_staff(ALLOWED), ids=WIDERSPRUCH),

    # --- the UVG case ---------------------------------------------------------------------------
    ("uvg.case", GET): Entry(case_staff(200), ids=FALL),
    ("uvg.take_over", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("uvg.decide", POST): Entry(case_staff(ALLOWED), ids=FALL),
    ("uvg.facts", GET): Entry(case_staff(200), ids=UVG_CHILD),
    ("uvg.facts", POST): Entry(case_staff(ALLOWED), ids=UVG_CHILD),
    ("uvg.assess", GET): Entry(case_staff(200), ids=UVG_CHILD, fixed={"condition": "residence"}),
    ("uvg.assess", POST): Entry(case_staff(ALLOWED), ids=UVG_CHILD,
                                fixed={"condition": "residence"}),
    ("uvg.calculate", POST): Entry(case_staff(ALLOWED), ids=UVG_CHILD),
    ("uvg.calculation", GET): Entry(case_staff(200), ids=UVG_CHILD),
    ("uvg.change", GET): Entry(case_staff(200), ids=UVG_CHILD),
    ("uvg.change", POST): Entry(case_staff(ALLOWED), ids=UVG_CHILD),
    ("uvg_recovery.overview", GET): Entry(case_staff(200), ids=FALL),
    ("uvg_recovery.save_parent", POST): Entry(case_staff(ALLOWED), ids=LIABLE_PARENT),
    ("uvg_recovery.rechtswahrungsanzeige", POST): Entry(case_staff(ALLOWED), ids=LIABLE_PARENT),
    ("uvg_recovery.anhoerung", POST): Entry(case_staff(ALLOWED), ids=LIABLE_PARENT),
    ("uvg_recovery.demand", POST): Entry(case_staff(ALLOWED), ids=LIABLE_PARENT),
    # The payment runs name UVG cases; the calculator is UVG practice.
    ("uvg_recovery.payment_runs", GET): Entry(uvg_staff(200)),
    ("uvg_calculator.calculator", GET): Entry(uvg_staff(200)),
    ("uvg_calculator.calculator", POST): Entry(uvg_staff(ALLOWED)),

    # --- the Kasse ------------------------------------------------------------------------------
    ("ihv.index", GET): Entry(kasse(200)),
    ("ihv.feststellung", GET): Entry(kasse(200, (FESTSTELLER,))),
    # Sign-in in the test is fresh, so the Anordnung's fresh-login rule lets the Anordner in.
    ("ihv.anordnung", GET): Entry(kasse(200, (ANORDNER,))),
    # The order of A's case: the Kasse, and the caseworker and lead of the case's Fachbereich;
    # not Wohngeld's.
    ("ihv.order", GET): Entry(kasse(200, (*KASSE_READERS, CASEWORKER, LEAD)), ids=ORDER),
    ("ihv.edit", GET): Entry(kasse(200, (FESTSTELLER, CASEWORKER, LEAD)), ids=ORDER),
    ("ihv.edit", POST): Entry(kasse(ALLOWED, (FESTSTELLER, CASEWORKER, LEAD)), ids=ORDER),
    ("ihv.feststellen", POST): Entry(kasse(ALLOWED, (FESTSTELLER,)), ids=ORDER),
    ("ihv.anordnen", POST): Entry(kasse(ALLOWED, (ANORDNER,)), ids=ORDER),
    ("ihv.cancel", POST): Entry(kasse(ALLOWED, (FESTSTELLER, ANORDNER, CASEWORKER, LEAD)),
                                ids=ORDER),
    ("ihv.bulk_review", POST): Entry(kasse(ALLOWED, (FESTSTELLER,)),
                                     fixed={"step": "feststellung"}),
    ("ihv.bulk_confirm", POST): Entry(kasse(ALLOWED, (ANORDNER,)), fixed={"step": "anordnung"}),
    ("ihv.reconciliation_page", GET): Entry(kasse(200)),
    ("ihv.reconciliation_csv", GET): Entry(kasse(200), fixed={"grouping": "case"}),
    ("ihv.reconciliation_xlsx", GET): Entry(kasse(200)),
    ("ihv_transfers.transfers", GET): Entry(kasse(200)),
    ("ihv_transfers.transfer", GET): Entry(kasse(200), ids={"transfer_id": "transfer"}),
    ("ihv_transfers.download", GET): Entry(kasse(200), ids={"transfer_id": "transfer"}),
    ("ihv_transfers.resend", POST): Entry(kasse(ALLOWED, KASSE_WRITERS),
                                          ids={"transfer_id": "transfer"}),
    ("ihv_transfers.imports", GET): Entry(kasse(200)),
    ("ihv_transfers.imported_file", GET): Entry(kasse(200), ids={"import_id": "import"}),
    ("ihv_transfers.klaerungsliste", GET): Entry(kasse(200)),
    ("ihv_transfers.assign", GET): Entry(kasse(200, KASSE_WRITERS), ids={"booking_id": "booking"}),
    ("ihv_transfers.assign", POST): Entry(kasse(ALLOWED, KASSE_WRITERS),
                                          ids={"booking_id": "booking"}),

    # --- statistics ------------------------------------------------------------------------------
    ("reports.index", GET): Entry(statistics(money=200, cases=200), query=STATISTICS_QUERY),
    ("reports.all_xlsx", GET): Entry(statistics(money=200, cases=200), query=STATISTICS_QUERY),
    # A UVG figure: case figures, not for the finance roles.
    ("reports.table_csv", GET): Entry(statistics(money=403, cases=200),
                                      fixed={"key": "uvg_children"}, query=STATISTICS_QUERY),
    ("reports.annual_pdf", GET): Entry(statistics(money=403, cases=200),
                                       fixed={"year": "@year"}, query=STATISTICS_QUERY),
    ("reports.annual_xlsx", GET): Entry(statistics(money=403, cases=200),
                                        fixed={"year": "@year"}, query=STATISTICS_QUERY),
}

"""The eligibility checklist of § 1 UVG for one child: each condition met, not met or open.

Pure: the application's answers, the child's confirmed facts and the caseworker's findings go
in, one result per condition comes out. The application's answers only ever suggest a state;
a finding the caseworker recorded (with a note) always wins, because the answers are what the
citizen said, not what the office established (§ 20 SGB X: the office investigates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel.speaklater import LazyString

from amtsweg.translate import lazy_gettext as _l
from backoffice.uvg.calculation import age_band, amounts_for, completes_year_of_life
from backoffice.uvg.models import ConditionState

AGE = "age"
SECTION_1A = "section_1a"
LIVES_WITH_APPLICANT = "lives_with_applicant"
APPLICANT_STATUS = "applicant_status"
NOT_WITH_OTHER_PARENT = "not_with_other_parent"
MAINTENANCE = "maintenance"
RESIDENCE = "residence"
COOPERATION = "cooperation"
NOT_MARRIED = "not_married"
NO_YOUTH_WELFARE = "no_youth_welfare"

CONDITIONS: tuple[str, ...] = (AGE, SECTION_1A, LIVES_WITH_APPLICANT, APPLICANT_STATUS,
                               NOT_MARRIED, NOT_WITH_OTHER_PARENT, MAINTENANCE, RESIDENCE,
                               COOPERATION, NO_YOUTH_WELFARE)

CONDITION_LABELS: dict[str, LazyString] = {
    AGE: _l("The child is under 12, or 12 to 17 (§ 1 Abs. 1 Nr. 1, Abs. 1a UVG)"),
    SECTION_1A: _l("From 12: no SGB II for the child, or the parent earns at least 600 EUR "
                   "gross (§ 1 Abs. 1a UVG)"),
    LIVES_WITH_APPLICANT: _l("The child lives in Germany with the applicant "
                             "(§ 1 Abs. 1 Nr. 2 UVG)"),
    APPLICANT_STATUS: _l("The applicant is single, widowed, divorced or permanently separated "
                         "(§ 1 Abs. 1 Nr. 2 UVG)"),
    NOT_MARRIED: _l("The applicant has not (re)married"),
    NOT_WITH_OTHER_PARENT: _l("The applicant does not live with the other parent "
                              "(§ 1 Abs. 3 UVG)"),
    MAINTENANCE: _l("No, irregular or insufficient maintenance from the other parent "
                    "(§ 1 Abs. 1 Nr. 3 UVG)"),
    RESIDENCE: _l("Residence title rules for foreign nationals are met (§ 1 Abs. 2a UVG)"),
    COOPERATION: _l("No refusal to give information or to cooperate (§ 1 Abs. 3 UVG)"),
    NO_YOUTH_WELFARE: _l("The need is not covered by youth welfare (§ 1 Abs. 4 UVG)"),
}

# Which document of the application proves which condition (portal.uvg.rules requirement
# kinds; a per-child kind carries ":<child key>").
EVIDENCE_KINDS: dict[str, tuple[str, ...]] = {
    AGE: ("birth_certificate",),
    SECTION_1A: ("jobcenter_decision",),
    LIVES_WITH_APPLICANT: ("meldebescheinigung",),
    APPLICANT_STATUS: ("separation_proof", "death_certificate"),
    MAINTENANCE: ("maintenance_title",),
    RESIDENCE: ("residence_title",),
    COOPERATION: ("paternity_proof",),
}
PER_CHILD_KINDS = frozenset({"birth_certificate", "residence_title", "child_income"})

# The answers' values (portal.uvg.rules; repeated here: backoffice must not import portal).
_YES, _NO = "yes", "no"
_FREE_STATUSES = frozenset({"single", "separated", "divorced", "widowed"})
_MARRIED_TOGETHER = "married_together"
_EU_OR_GERMAN = frozenset({"german", "eu"})


@dataclass(frozen=True)
class Finding:
    """The caseworker's latest finding on a condition."""

    state: ConditionState
    note: str
    by: str


@dataclass(frozen=True)
class ConditionResult:
    code: str
    state: ConditionState
    reason: str  # why the state, from the answers (an English msgid already translated)
    from_caseworker: bool
    note: str
    evidence_document_ids: tuple[int, ...]

    @property
    def label(self) -> str:
        return str(CONDITION_LABELS[self.code])


@dataclass(frozen=True)
class ChildCheck:
    """What the checklist needs about one child."""

    birth_date: date
    reference_month: date  # the first month asked for: the age is judged then
    answers: Mapping[str, Any]  # the whole application's answers, {} for a paper case
    child_answers: Mapping[str, Any]  # this child's entry in answers["children"], or {}
    findings: Mapping[str, Finding]
    evidence: Mapping[str, Sequence[int]]  # requirement key -> E-Akte document ids
    maintenance_cents: int = 0


def _part(source: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = source.get(key)
    return found if isinstance(found, Mapping) else {}


def _age_on(birth_date: date, day: date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def _suggest(code: str, check: ChildCheck) -> tuple[ConditionState, str]:
    """The state the answers suggest, and why (untranslated English, shown translated)."""
    answers, child = check.answers, check.child_answers
    applicant = _part(answers, "applicant")
    other = _part(answers, "other_parent")
    if code == AGE:
        # § 1 Abs. 1 Nr. 1 UVG: until the child completes its 18th year of life.
        if completes_year_of_life(check.birth_date, 18) < check.reference_month:
            return ConditionState.NOT_MET, "The child has turned 18."
        return ConditionState.MET, "Date of birth"
    if code == SECTION_1A:
        # § 1 Abs. 1a UVG only applies from the 12th birthday.
        if _age_on(check.birth_date, check.reference_month) < 12:
            return ConditionState.MET, "The child is under 12; checked again at 12."
        sgb2 = _part(child, "sgb2")
        if sgb2.get("child_sgb2") == _NO:
            return ConditionState.MET, "The child receives no SGB II benefits."
        if sgb2.get("parent_income_600") == _YES:
            return ConditionState.MET, "The parent earns at least 600 EUR gross."
        if sgb2.get("child_sgb2") == _YES:
            return ConditionState.OPEN, ("The child receives SGB II and the parent earns less "
                                         "than 600 EUR: check whether UV avoids the need.")
        return ConditionState.OPEN, "Not answered in the application."
    if code == LIVES_WITH_APPLICANT:
        if _part(child, "person").get("living_since") and applicant.get("postcode"):
            return ConditionState.MET, "Living with the applicant since the date given."
        return ConditionState.OPEN, "Not answered in the application."
    if code == APPLICANT_STATUS:
        status = applicant.get("marital_status")
        if status in _FREE_STATUSES:
            return ConditionState.MET, "Marital status given in the application."
        if status == _MARRIED_TOGETHER:
            return ConditionState.NOT_MET, "Married and living together."
        return ConditionState.OPEN, "Not answered in the application."
    if code == NOT_MARRIED:
        status = applicant.get("marital_status")
        if status == _MARRIED_TOGETHER:
            return ConditionState.NOT_MET, "Married and living together."
        if status in _FREE_STATUSES:
            return ConditionState.MET, "Marital status given in the application."
        return ConditionState.OPEN, "Not answered in the application."
    if code == NOT_WITH_OTHER_PARENT:
        together = applicant.get("lives_with_other_parent")
        if together == _NO:
            return ConditionState.MET, "Does not live with the other parent."
        if together == _YES:
            return ConditionState.NOT_MET, "Lives with the other parent."
        return ConditionState.OPEN, "Not answered in the application."
    if code == MAINTENANCE:
        paid = other.get("maintenance_paid")
        if paid in (_NO, "irregular"):
            return ConditionState.MET, "No or irregular maintenance."
        if paid == "regular":
            band_amount = amounts_for(check.reference_month).cents_for(
                age_band(check.birth_date, check.reference_month))
            if check.maintenance_cents >= band_amount:
                return ConditionState.NOT_MET, "Maintenance reaches the UVG amount."
            return ConditionState.MET, "Maintenance below the UVG amount."
        return ConditionState.OPEN, "Not answered in the application."
    if code == RESIDENCE:
        nationality = _part(child, "person").get("nationality")
        if nationality in _EU_OR_GERMAN:
            return ConditionState.MET, "German or EU nationality."
        if nationality:
            return ConditionState.OPEN, "Check the residence title."
        return ConditionState.OPEN, "Not answered in the application."
    if code == COOPERATION:
        if other.get("last_name"):
            return ConditionState.MET, "The other parent is named."
        return ConditionState.OPEN, "The other parent is not named: check the cooperation."
    if code == NO_YOUTH_WELFARE:
        benefits = _part(answers, "benefits")
        if benefits.get("youth_welfare"):
            return ConditionState.NOT_MET, "Youth welfare benefits were given."
        if answers:
            return ConditionState.MET, "No youth welfare benefits given."
        return ConditionState.OPEN, "Not answered in the application."
    raise KeyError(code)


def _evidence(code: str, check: ChildCheck) -> tuple[int, ...]:
    child_key = check.child_answers.get("id")
    found: list[int] = []
    for kind in EVIDENCE_KINDS.get(code, ()):
        key = f"{kind}:{child_key}" if kind in PER_CHILD_KINDS else kind
        found.extend(check.evidence.get(key, ()))
    return tuple(dict.fromkeys(found))


def checklist(check: ChildCheck) -> list[ConditionResult]:
    """Every condition of § 1 UVG for the child, in the order the law names them."""
    results = []
    for code in CONDITIONS:
        state, reason = _suggest(code, check)
        finding = check.findings.get(code)
        results.append(ConditionResult(
            code=code, state=finding.state if finding else state, reason=reason,
            from_caseworker=finding is not None, note=finding.note if finding else "",
            evidence_document_ids=_evidence(code, check)))
    return results


def overall(results: Sequence[ConditionResult]) -> ConditionState:
    """Not met if any condition is not met; met only if every one is."""
    states = {result.state for result in results}
    if ConditionState.NOT_MET in states:
        return ConditionState.NOT_MET
    if ConditionState.OPEN in states:
        return ConditionState.OPEN
    return ConditionState.MET


REASON_MSGIDS = (
    _l("Date of birth"), _l("The child has turned 18."),
    _l("The child is under 12; checked again at 12."),
    _l("The child receives no SGB II benefits."), _l("The parent earns at least 600 EUR gross."),
    _l("The child receives SGB II and the parent earns less than 600 EUR: check whether UV "
       "avoids the need."),
    _l("Not answered in the application."), _l("Living with the applicant since the date given."),
    _l("Marital status given in the application."), _l("Married and living together."),
    _l("Does not live with the other parent."), _l("Lives with the other parent."),
    _l("No or irregular maintenance."), _l("Maintenance reaches the UVG amount."),
    _l("Maintenance below the UVG amount."), _l("German or EU nationality."),
    _l("Check the residence title."), _l("The other parent is named."),
    _l("The other parent is not named: check the cooperation."),
    _l("Youth welfare benefits were given."), _l("No youth welfare benefits given."),
)

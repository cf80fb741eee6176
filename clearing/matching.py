"""Who is this? Existing cases and earlier items that an intake item probably belongs to.

Every match carries its reasons, so the clerk decides and can say why. Matching looks across
all Fachbereiche but sees only the minimal facts of a case (``backoffice.queries.CaseFacts``):
the clearing office needs them to route, not the case file (§ 35 SGB I).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from amtsweg.extensions import db
from amtsweg.translate import lazy_gettext as _l
from backoffice.models import PartyRole
from backoffice.queries import (
    CaseFacts,
    aktenzeichen_in,
    case_by_aktenzeichen,
    case_facts,
    cases_by_party,
)
from backoffice.services import PartyData, parties_from_payload
from clearing.models import Eingang


class MatchReason(enum.StrEnum):
    SAME_CHILD = "same_child"
    SAME_APPLICANT = "same_applicant"
    REFERENCE_QUOTED = "reference_quoted"
    SAME_ACCOUNT = "same_account"


REASON_LABELS = {
    MatchReason.SAME_CHILD: _l("Same child: name and date of birth"),
    MatchReason.SAME_APPLICANT: _l("Same applicant"),
    MatchReason.REFERENCE_QUOTED: _l("Case number or reference quoted"),
    MatchReason.SAME_ACCOUNT: _l("Same citizen account"),
}

# The portal's reference numbers (portal.references, "AW-2026-0000123-4"). clearing may not
# import portal, and an exact lookup on the unique column needs no check digit.
PORTAL_REFERENCE = re.compile(r"\bAW-\d{4}-\d{7}-\d\b")
# Hostile payloads: read at most this much of the answers, this deep, for quoted numbers.
_MAX_SCANNED_CHARS = 20_000
_MAX_DEPTH = 6
# The same account's earlier items: the newest ones are the ones that matter.
_ACCOUNT_ITEMS = 20


@dataclass
class Match:
    """A case, or an earlier item not yet in a case, with why it matched (strongest first)."""

    case: CaseFacts | None = None
    eingang: Eingang | None = None
    reasons: list[MatchReason] = field(default_factory=list)

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS[reason]) for reason in self.reasons]

    @property
    def key(self) -> tuple[str, int]:
        if self.case is not None:
            return ("fall", self.case.fall_id)
        assert self.eingang is not None
        return ("eingang", self.eingang.id)


class _Matches:
    """Collects matches once per case or item, each reason once."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, int], Match] = {}

    def add(self, reason: MatchReason, *, case: CaseFacts | None = None,
            eingang: Eingang | None = None) -> None:
        candidate = Match(case=case, eingang=eingang)
        match = self._by_key.setdefault(candidate.key, candidate)
        if reason not in match.reasons:
            match.reasons.append(reason)

    def sorted(self) -> list[Match]:
        order = list(MatchReason)
        for match in self._by_key.values():
            match.reasons.sort(key=order.index)
        # More reasons first; then cases before loose items; then the strongest reason.
        return sorted(self._by_key.values(),
                      key=lambda m: (-len(m.reasons), m.case is None, order.index(m.reasons[0])))


def find_matches(eingang: Eingang) -> list[Match]:
    """The cases and earlier items ``eingang`` probably belongs to, with the reasons."""
    matches = _Matches()
    parties = parties_from_payload(eingang.payload)
    _match_children(parties, matches)
    _match_applicants(parties, matches)
    _match_quoted_numbers(eingang, matches)
    _match_account(eingang, matches)
    return matches.sorted()


def _match_children(parties: list[PartyData], matches: _Matches) -> None:
    # A child is only matched with its date of birth: a name alone fits too many children.
    for party in parties:
        if party.role != PartyRole.CHILD or party.birth_date_value is None:
            continue
        for case in cases_by_party(party.last_name, party.first_name, party.birth_date_value,
                                   roles=(PartyRole.CHILD,)):
            matches.add(MatchReason.SAME_CHILD, case=case)


def _match_applicants(parties: list[PartyData], matches: _Matches) -> None:
    # Who applies once may have applied before, or may represent a child in another case.
    roles = (PartyRole.APPLICANT, PartyRole.LEGAL_REPRESENTATIVE)
    for party in parties:
        if party.role not in roles or not party.first_name:
            continue
        for case in cases_by_party(party.last_name, party.first_name, party.birth_date_value,
                                   roles=roles):
            matches.add(MatchReason.SAME_APPLICANT, case=case)


def _strings(value: object, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif depth < _MAX_DEPTH and isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif depth < _MAX_DEPTH and isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def _searchable_text(eingang: Eingang) -> str:
    pieces = [eingang.subject or "", eingang.message or ""]
    payload = eingang.payload if isinstance(eingang.payload, dict) else {}
    budget = _MAX_SCANNED_CHARS
    for text in _strings(payload.get("answers")):
        if budget <= 0:
            break
        pieces.append(text[:budget])
        budget -= len(text)
    return "\n".join(pieces)


def _match_quoted_numbers(eingang: Eingang, matches: _Matches) -> None:
    text = _searchable_text(eingang)
    for aktenzeichen in aktenzeichen_in(text):
        case = case_by_aktenzeichen(aktenzeichen)
        if case is not None:
            matches.add(MatchReason.REFERENCE_QUOTED, case=case)
    references = list(dict.fromkeys(PORTAL_REFERENCE.findall(text.upper())))[:10]
    earlier = _items_by_reference(references, exclude=eingang.id)
    if eingang.related_eingang_id is not None and eingang.related is not None:
        # A follow-up names the item it follows as surely as a quoted number would.
        earlier.append(eingang.related)
    _add_items(earlier, MatchReason.REFERENCE_QUOTED, matches)


def _items_by_reference(references: list[str], exclude: int) -> list[Eingang]:
    if not references:
        return []
    return list(db.session.scalars(
        select(Eingang).where(Eingang.reference.in_(references), Eingang.id != exclude)
    ).unique())


def _match_account(eingang: Eingang, matches: _Matches) -> None:
    if eingang.citizen_id is None:
        return
    earlier = list(db.session.scalars(
        select(Eingang).where(Eingang.citizen_id == eingang.citizen_id, Eingang.id != eingang.id)
        .order_by(Eingang.received_at.desc(), Eingang.id.desc()).limit(_ACCOUNT_ITEMS)
    ).unique())
    _add_items(earlier, MatchReason.SAME_ACCOUNT, matches)


def _add_items(items: list[Eingang], reason: MatchReason, matches: _Matches) -> None:
    """An earlier item already in a case stands for its case; one not yet routed for itself."""
    cases = {case.fall_id: case for case in case_facts(
        item.fall_id for item in items if item.fall_id is not None)}
    for item in items:
        case = cases.get(item.fall_id) if item.fall_id is not None else None
        if case is not None:
            matches.add(reason, case=case)
        else:
            matches.add(reason, eingang=item)

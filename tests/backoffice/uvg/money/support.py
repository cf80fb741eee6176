"""Granted UVG children with decided months, as the decision would leave them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from amtsweg.audit.services import SYSTEM
from amtsweg.db import utcnow
from amtsweg.extensions import db
from backoffice.decisions.models import Decision, DecisionKind, DecisionStatus
from backoffice.models import Fall, Party, PartyRole
from backoffice.services import PartyData
from backoffice.uvg.models import UvgChild, UvgChildStatus, UvgEntitlement

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def months(first: date, count: int) -> list[date]:
    result = []
    year, month = first.year, first.month
    for _ in range(count):
        result.append(date(year, month, 1))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return result


def grant(fall: Fall, decided: Sequence[date], cents: int = 22_700, *, iban: str | None = IBAN,
          payee: str = "Sabine Müller", party: Party | None = None) -> UvgChild:
    """A granted child of ``fall`` with entitlements of ``cents`` for every month in
    ``decided``; the caller commits."""
    party = party or next(p for p in fall.parties if p.role is PartyRole.CHILD)
    decision = Decision(fall_id=fall.id, status=DecisionStatus.DRAFT,
                        kind=DecisionKind.BEWILLIGUNG, created_by_name=SYSTEM.name)
    db.session.add(decision)
    db.session.flush()
    child = UvgChild(fall_id=fall.id, party_id=party.id,
                     birth_date=party.birth_date or date(2018, 3, 14),
                     status=UvgChildStatus.GRANTED, payee_name=payee, payee_iban=iban,
                     payee_bic=BIC if iban == IBAN else None, facts_confirmed_at=utcnow())
    db.session.add(child)
    db.session.flush()
    for month in decided:
        db.session.add(UvgEntitlement(uvg_child_id=child.id, fall_id=fall.id, month=month,
                                      paid_cents=cents, decision_id=decision.id))
    db.session.flush()
    return child


OTHER_PARENT = PartyData("other_parent", "Jan", "Schmidt", "1988-01-01",
                         "Lindenweg 5, 97437 Haßfurt")
CHILD = PartyData("child", "Lea", "Müller", "2018-03-14")
APPLICANT = PartyData("applicant", "Sabine", "Müller", "1990-07-01", "Hauptstraße 1, Haßfurt")
OFFICE_IBAN = "DE32700500000000012345"  # the treasury account printed on demands


def office_with_bank() -> None:
    """Office data with the account the liable parent pays into; the caller commits."""
    from amtsweg.office.services import office_form_values, save_office_data

    values = office_form_values()
    values.update(iban=OFFICE_IBAN, bic="BYLADEMMXXX", bank_name="Staatsoberkasse Bayern")
    save_office_data(values, SYSTEM)


def pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    # Whitespace folded: where a line breaks depends on the language of the letter.
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def letter_text(document_id: int | None) -> str:
    """The text of a generated letter, read back from the blob store."""
    from storage.blobstore import get_blobstore
    from storage.models import Document

    document = db.session.get(Document, document_id)
    assert document is not None
    with get_blobstore().open(document.storage_key) as stored:
        return pdf_text(stored.read())

"""What a UVG Bescheid says: the drafted Tenor and Begründung, and the parts every UVG Bescheid
carries whatever the caseworker edits (the amounts per month with every deduction and its legal
basis, § 9 Abs. 2 UVG; the duty to report changes, § 6 Abs. 4; the repayment rule, § 5).

The letter is German (§ 19 SGB X: German is the official language), so its text is German here,
like the letter labels of backoffice.decisions.pdf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from amtsweg.extensions import db
from backoffice.decisions.models import Decision
from backoffice.decisions.pdf import BescheidSection
from backoffice.decisions.services import register_bescheid_sections
from backoffice.uvg.models import (
    UVG_END_REASON_LABELS,
    UvgCalculation,
    UvgChange,
    UvgDecisionChild,
    UvgEndReason,
    UvgOutcome,
)
from ihv.codes import format_kassenzeichen
from ihv.models import Sollstellung

AGE_BANDS_DE = {"0-5": "0–5 Jahre", "6-11": "6–11 Jahre", "12-17": "12–17 Jahre"}
DEDUCTIONS_DE = {
    "maintenance": "Unterhalt des anderen Elternteils",
    "orphan_benefit": "Waisenbezüge",
    "child_income": "Einkommen des Kindes",
}
END_REASONS_DE = {
    UvgEndReason.AGE_18: "das Kind das 18. Lebensjahr vollendet",
    UvgEndReason.AGE_12_WITHOUT_1A: "das Kind das 12. Lebensjahr vollendet und die "
                                    "Voraussetzungen des § 1 Abs. 1a UVG nicht vorliegen",
    UvgEndReason.PARENT_MARRIED: "Sie geheiratet haben (§ 1 Abs. 1 Nr. 2 UVG)",
    UvgEndReason.PARENTS_TOGETHER: "Sie mit dem anderen Elternteil zusammenleben "
                                   "(§ 1 Abs. 3 UVG)",
    UvgEndReason.CHILD_MOVED_OUT: "das Kind nicht mehr bei Ihnen lebt (§ 1 Abs. 1 Nr. 2 UVG)",
    UvgEndReason.MOVED_ABROAD: "das Kind nicht mehr im Inland lebt (§ 1 Abs. 1 Nr. 2 UVG)",
    UvgEndReason.MAINTENANCE_PAID: "der andere Elternteil den Unterhalt in voller Höhe zahlt "
                                   "(§ 1 Abs. 1 Nr. 3 UVG)",
    UvgEndReason.NO_COOPERATION: "Sie die erforderlichen Auskünfte oder die Mitwirkung "
                                 "verweigern (§ 1 Abs. 3 UVG)",
    UvgEndReason.OTHER: "die Voraussetzungen des § 1 UVG nicht mehr vorliegen",
}
assert set(END_REASONS_DE) == set(UVG_END_REASON_LABELS)

DUTIES = (
    "Sie sind verpflichtet, dem Jugendamt jede Änderung in den Verhältnissen, die für die "
    "Leistung erheblich ist, unverzüglich mitzuteilen (§ 6 Abs. 4 UVG), insbesondere wenn\n"
    "– das Kind nicht mehr bei Ihnen lebt oder ins Ausland zieht,\n"
    "– Sie heiraten oder mit dem anderen Elternteil zusammenziehen,\n"
    "– der andere Elternteil Unterhalt zahlt oder Waisenbezüge gezahlt werden,\n"
    "– das Kind die allgemeinbildende Schule verlässt oder eigenes Einkommen erzielt,\n"
    "– Sie umziehen.\n\n"
    "Wer eine Änderung vorsätzlich oder fahrlässig nicht, nicht richtig, nicht vollständig oder "
    "nicht rechtzeitig mitteilt, handelt ordnungswidrig (§ 10 UVG).")
REPAYMENT = (
    "Sie haben die Leistung zu ersetzen, soweit sie gezahlt wurde, weil Sie vorsätzlich oder "
    "fahrlässig falsche oder unvollständige Angaben gemacht oder eine Änderung nicht "
    "mitgeteilt haben, oder weil Sie wussten oder infolge Fahrlässigkeit nicht wussten, dass "
    "die Voraussetzungen für die Zahlung nicht erfüllt waren (§ 5 Abs. 1 UVG). Das Kind hat "
    "die Leistung zurückzuzahlen, soweit es nach der Antragstellung Einkommen im Sinne des "
    "§ 2 Abs. 3 oder 4 UVG erzielt hat, das bei der Bewilligung nicht berücksichtigt worden "
    "ist (§ 5 Abs. 2 UVG).")
PAYMENT_NOTE = (
    "Die Leistung wird monatlich im Voraus auf das von Ihnen angegebene Konto gezahlt "
    "(§ 9 Abs. 3 UVG). Beträge werden auf volle Euro aufgerundet; Beträge unter 5 Euro werden "
    "nicht gezahlt.")


# A passage of a draft only the caseworker can write (the fault behind a § 5 claim) starts
# with this mark; a Bescheid still carrying it is not issued.
TO_COMPLETE = "[Bitte "


@dataclass(frozen=True)
class Texts:
    subject: str
    tenor: str
    begruendung: str


def euro(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d} €"


def _month(value: date) -> str:
    return value.strftime("%m/%Y")


def _german(value: date) -> str:
    return value.strftime("%d.%m.%Y")


# Why a condition of § 1 UVG is not met, as the Begründung says it (eligibility's codes).
NOT_MET_DE = {
    "age": "das Kind das 18. Lebensjahr bereits vollendet hat (§ 1 Abs. 1 Nr. 1 UVG)",
    "section_1a": "das Kind das 12. Lebensjahr vollendet hat und die Voraussetzungen des "
                  "§ 1 Abs. 1a UVG nicht vorliegen",
    "lives_with_applicant": "das Kind nicht im Inland bei Ihnen lebt (§ 1 Abs. 1 Nr. 2 UVG)",
    "applicant_status": "Sie nicht ledig, verwitwet, geschieden oder dauernd getrennt lebend "
                        "sind (§ 1 Abs. 1 Nr. 2 UVG)",
    "not_married": "Sie verheiratet sind und mit Ihrem Ehegatten zusammenleben "
                   "(§ 1 Abs. 1 Nr. 2 UVG)",
    "not_with_other_parent": "Sie mit dem anderen Elternteil zusammenleben (§ 1 Abs. 3 UVG)",
    "maintenance": "der andere Elternteil Unterhalt mindestens in Höhe des "
                   "Unterhaltsvorschusses zahlt (§ 1 Abs. 1 Nr. 3 UVG)",
    "residence": "die Voraussetzungen des § 1 Abs. 2a UVG an den Aufenthaltstitel nicht "
                 "vorliegen",
    "cooperation": "Sie die erforderlichen Auskünfte oder die Mitwirkung verweigert haben "
                   "(§ 1 Abs. 3 UVG)",
    "no_youth_welfare": "der Unterhaltsbedarf durch Leistungen der Kinder- und Jugendhilfe "
                        "gedeckt ist (§ 1 Abs. 4 UVG)",
}


@dataclass(frozen=True)
class ChildOutcome:
    """What the first decision says about one child."""

    name: str
    outcome: UvgOutcome
    calculation: UvgCalculation | None
    ends_at_12: bool = False  # granted only until the 12th birthday (§ 1 Abs. 1a UVG open)
    not_met: tuple[str, ...] = ()  # the conditions found not met (eligibility codes)


def first_decision_texts(children: Sequence[ChildOutcome], *,
                         applicant_received: date | None) -> Texts:
    """The draft of a Bewilligung, Teilbewilligung or Ablehnung; the caseworker may edit it."""
    received = f" vom {_german(applicant_received)}" if applicant_received else ""
    names = ", ".join(child.name for child in children)
    subject = f"Bescheid über Unterhaltsvorschuss für {names}"
    tenor: list[str] = []
    begruendung: list[str] = []
    for child in children:
        name, calculation = child.name, child.calculation
        if child.outcome is UvgOutcome.GRANTED and calculation is not None:
            paid = [month for month in calculation.months if month["paid_cents"]]
            first = date.fromisoformat(paid[0]["month"]) if paid else calculation.first_month
            tenor.append(
                f"Auf Ihren Antrag{received} werden für {name} Leistungen nach dem "
                f"Unterhaltsvorschussgesetz ab {_month(first)} bis längstens "
                f"{_month(calculation.last_month)} bewilligt. Die Höhe der Leistung je Monat "
                f"und die abgezogenen Beträge ergeben sich aus der Berechnung unten.")
            if child.ends_at_12:
                begruendung.append(
                    f"Die Leistung für {name} ist bis zur Vollendung des 12. Lebensjahres "
                    f"bewilligt. Ob sie danach weitergezahlt wird, hängt von den "
                    f"Voraussetzungen des § 1 Abs. 1a UVG ab; wir prüfen sie rechtzeitig.")
            continue
        tenor.append(f"Ihr Antrag{received} auf Leistungen nach dem "
                     f"Unterhaltsvorschussgesetz für {name} wird abgelehnt.")
        if child.not_met:
            reasons = "; ".join(NOT_MET_DE[code] for code in child.not_met)
            begruendung.append(f"Für {name} besteht kein Anspruch auf Unterhaltsvorschuss, "
                               f"weil {reasons}.")
        else:
            begruendung.append(
                f"Für {name} ergibt sich nach Abzug der anzurechnenden Einkünfte "
                f"(§ 2 Abs. 3 und 4 UVG) in keinem Monat ein zahlbarer Betrag; Beträge unter "
                f"5 Euro werden nicht gezahlt (§ 9 Abs. 3 UVG).")
    if any(child.outcome is UvgOutcome.GRANTED for child in children):
        begruendung.append(
            "Die Leistung bemisst sich nach § 2 UVG: Mindestunterhalt der jeweiligen "
            "Altersstufe abzüglich des Kindergeldes für ein erstes Kind. Auf die Leistung "
            "werden Unterhaltszahlungen des anderen Elternteils und Waisenbezüge angerechnet "
            "(§ 2 Abs. 3 UVG), bei einem Kind, das keine allgemeinbildende Schule mehr "
            "besucht, außerdem die Hälfte seines Einkommens (§ 2 Abs. 4 UVG). Rückwirkend wird "
            "die Leistung höchstens für den Monat vor dem Monat der Antragstellung gezahlt "
            "(§ 4 UVG).")
    return Texts(subject, "\n\n".join(tenor), "\n\n".join(begruendung))


def change_texts(kind: Any, name: str, change: UvgChange, end_reason: UvgEndReason | None,
                 calculation: UvgCalculation) -> Texts:
    """The draft of an Änderungsbescheid or an Einstellung."""
    if end_reason is not None:
        last_day = change.effective_on.fromordinal(change.effective_on.toordinal() - 1)
        return Texts(
            f"Einstellung des Unterhaltsvorschusses für {name}",
            f"Die Leistungen nach dem Unterhaltsvorschussgesetz für {name} werden mit Ablauf "
            f"des {_german(last_day)} eingestellt. Der Bewilligungsbescheid wird insoweit für "
            f"die Zukunft aufgehoben (§ 48 SGB X).",
            f"Die Leistung endet, weil {END_REASONS_DE[end_reason]}. Sie haben uns dies am "
            f"{_german(change.reported_on)} mitgeteilt. Für den letzten Monat wird die "
            f"Leistung anteilig gezahlt, je Tag 1/30 des Monatsbetrags (§ 2 Abs. 1 S. 3 UVG).")
    return Texts(
        f"Änderung des Unterhaltsvorschusses für {name}",
        f"Die Leistungen nach dem Unterhaltsvorschussgesetz für {name} werden ab "
        f"{_month(calculation.first_month)} neu festgesetzt. Die Höhe je Monat und die "
        f"abgezogenen Beträge ergeben sich aus der Berechnung unten. Der bisherige Bescheid "
        f"wird insoweit aufgehoben (§ 48 SGB X).",
        f"Sie haben uns am {_german(change.reported_on)} eine Änderung mitgeteilt, die ab "
        f"{_german(change.effective_on)} wirkt. Die Leistung wurde ab diesem Monat neu "
        f"berechnet (§ 2 Abs. 3 und 4 UVG). Zu wenig gezahlte Beträge werden nachgezahlt; "
        f"zu viel gezahlte Beträge werden mit gesondertem Bescheid zurückgefordert.")


def recovery_texts(name: str, change: UvgChange, over: Mapping[date, int]) -> Texts:
    total = sum(over.values())
    months = ", ".join(f"{_month(month)}: {euro(cents)}" for month, cents in over.items())
    return Texts(
        f"Rückforderung von Unterhaltsvorschuss für {name}",
        f"Sie haben zu viel gezahlten Unterhaltsvorschuss für {name} in Höhe von "
        f"{euro(total)} zu ersetzen (§ 5 Abs. 1 UVG).",
        f"Aufgrund der Änderung vom {_german(change.effective_on)} stand für folgende Monate "
        f"eine geringere oder keine Leistung zu; gezahlt wurde mehr: {months}. "
        f"{TO_COMPLETE}darlegen, warum die Voraussetzungen des § 5 Abs. 1 UVG vorliegen "
        f"(Verschulden oder Kennenmüssen), und die Anhörung nach § 24 SGB X erwähnen.]")


# --- the table of amounts ---------------------------------------------------------------------


def _deduction_text(deductions: Sequence[Mapping[str, Any]]) -> str:
    if not deductions:
        return "–"
    return "\n".join(f"{DEDUCTIONS_DE.get(str(d['kind']), str(d['kind']))} "
                     f"{euro(int(d['cents']))} ({d['legal_basis']})" for d in deductions)


def _row_key(month: Mapping[str, Any]) -> tuple[Any, ...]:
    return (month["age_band"], month["table_cents"], month["days"], month["gross_cents"],
            _deduction_text(month["deductions"]), month["paid_cents"])


# The body of the letter is 165 mm wide (pdf.py: A4 less 25 mm and 20 mm margins).
AMOUNT_COLUMNS_MM = (25, 21, 21, 12, 20, 46, 20)


def amount_table(months: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The months as table rows; consecutive months with the same figures share one row."""
    header = ["Zeitraum", "Altersstufe", "Monatsbetrag", "Tage", "Anspruch",
              "Abzüge (Rechtsgrundlage)", "Zahlbetrag"]
    rows: list[list[str]] = [header]
    groups: list[tuple[date, date, Mapping[str, Any]]] = []
    for month in months:
        day = date.fromisoformat(str(month["month"]))
        if groups and _row_key(groups[-1][2]) == _row_key(month):
            groups[-1] = (groups[-1][0], day, groups[-1][2])
        else:
            groups.append((day, day, month))
    for first, last, month in groups:
        period = _month(first) if first == last else f"{_month(first)} – {_month(last)}"
        rows.append([period, AGE_BANDS_DE.get(str(month["age_band"]), str(month["age_band"])),
                     euro(int(month["table_cents"])),
                     f"{month['days']}/{month['days_in_basis']}",
                     euro(int(month["gross_cents"])), _deduction_text(month["deductions"]),
                     euro(int(month["paid_cents"]))])
    return rows


def sections_for(decision: Decision) -> list[BescheidSection]:
    """The UVG parts of a Bescheid; nothing for a decision the UVG page did not prepare."""
    rows = list(db.session.scalars(select(UvgDecisionChild)
                                   .where(UvgDecisionChild.decision_id == decision.id)
                                   .order_by(UvgDecisionChild.id)))
    if not rows:
        return []
    sections: list[BescheidSection] = []
    for row in rows:
        name = row.child.party.full_name
        if row.calculation is not None and row.outcome in (
                UvgOutcome.GRANTED, UvgOutcome.CHANGED, UvgOutcome.ENDED):
            months = [month for month in row.calculation.months
                      if row.from_month is None
                      or date.fromisoformat(str(month["month"])) >= row.from_month]
            sections.append(BescheidSection(
                heading=f"Berechnung für {name} (§ 9 Abs. 2 UVG)",
                text=PAYMENT_NOTE, table=amount_table(months), after_tenor=True,
                column_widths_mm=AMOUNT_COLUMNS_MM))
        if row.outcome is UvgOutcome.RECOVERY:
            sections.append(_recovery_section(decision, row))
    sections.append(BescheidSection(heading="Ihre Mitteilungspflichten (§ 6 Abs. 4 UVG)",
                                    text=DUTIES))
    sections.append(BescheidSection(heading="Ersatz- und Rückzahlungspflicht (§ 5 UVG)",
                                    text=REPAYMENT))
    return sections


def _recovery_section(decision: Decision, row: UvgDecisionChild) -> BescheidSection:
    change = db.session.get(UvgChange, row.change_id) if row.change_id else None
    order = db.session.get(Sollstellung, change.recovery_order_id) \
        if change is not None and change.recovery_order_id else None
    if order is None:
        return BescheidSection(heading="Zahlung", text=f"Zu zahlen: {euro(row.amount_cents)}.")
    return BescheidSection(
        heading="Zahlung",
        text=(f"Bitte überweisen Sie {euro(order.amount_cents)} bis zum "
              f"{_german(order.due_date)} unter Angabe des Kassenzeichens "
              f"{format_kassenzeichen(order.kassenzeichen)} auf das unten genannte Konto."),
        table=[["Kassenzeichen", "Betrag", "Fällig am"],
               [format_kassenzeichen(order.kassenzeichen), euro(order.amount_cents),
                _german(order.due_date)]])


register_bescheid_sections(sections_for)

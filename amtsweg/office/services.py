"""Reading and saving the office's letter data; every letter reads it through ``office_data``."""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass

from flask import current_app
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select

from amtsweg.audit.services import Actor, record
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.office.models import OfficeProfile, RemedyText
from amtsweg.staff.models import Fachbereich
from amtsweg.translate import gettext as _

# The built-in Rechtsbehelfsbelehrung (§ 36 SGB X: remedy, authority, seat, deadline, form).
# Bavaria: Art. 15 AGVwGO makes the Widerspruch optional in the areas it lists, so the
# addressee may choose between Widerspruch and direct Klage (model wording: "nach Ihrer Wahl
# entweder Widerspruch einlegen oder unmittelbar Klage erheben"). Whether UVG is in that list
# is UNVERIFIED (DOMAIN.md §2): the office must check this text before using it, and the admin
# page says so until the office has saved its own. Placeholders use string.Template ($name), never
# str.format: an admin-edited text must not be able to reach Python attributes.
DEFAULT_REMEDY_TEXT = (
    "Gegen diesen Bescheid können Sie nach Ihrer Wahl entweder Widerspruch einlegen oder "
    "unmittelbar Klage erheben.\n\n"
    "Wenn Sie Widerspruch einlegen: Der Widerspruch ist innerhalb eines Monats nach "
    "Bekanntgabe dieses Bescheids schriftlich, elektronisch oder zur Niederschrift bei "
    "${office_name}, ${office_address}, einzulegen. Er kann auch bei "
    "${widerspruchsbehoerde_name}, ${widerspruchsbehoerde_address}, eingelegt werden.\n\n"
    "Wenn Sie Klage erheben: Die Klage ist innerhalb eines Monats nach Bekanntgabe dieses "
    "Bescheids bei dem ${court_name}, ${court_address}, schriftlich, zur Niederschrift des "
    "Urkundsbeamten der Geschäftsstelle dieses Gerichts oder elektronisch in einer für den "
    "Schriftformersatz zugelassenen Form zu erheben. In der Klage müssen der Kläger, der "
    "Beklagte (Freistaat Bayern) und der Gegenstand des Klagebegehrens bezeichnet werden.\n\n"
    "Hinweise: Die Einlegung eines Rechtsbehelfs per einfacher E-Mail ist nicht zugelassen und "
    "entfaltet keine rechtlichen Wirkungen. Wenn Sie Widerspruch einlegen, können Sie danach "
    "noch Klage erheben, wenn der Widerspruch erfolglos bleibt."
)

DEFAULT_WIDERSPRUCHSBEHOERDE = ("Regierung von Unterfranken", "Peterplatz 9, 97070 Würzburg")
DEFAULT_COURT = ("Bayerischen Verwaltungsgericht Würzburg",
                 "Burkarderstraße 26, 97082 Würzburg")

EDITABLE_FIELDS = (
    "name", "street", "postcode", "city", "phone", "email", "opening_hours", "letterhead",
    "iban", "bic", "bank_name", "widerspruchsbehoerde_name", "widerspruchsbehoerde_address",
    "court_name", "court_address", "signature_line",
)


class OfficeDataInvalid(ValueError):
    """A value the office data cannot take; the message says which and why."""


@dataclass(frozen=True)
class OfficeData:
    """The office as printed on letters."""

    name: str
    street: str
    postcode: str
    city: str
    phone: str
    email: str
    opening_hours: str = ""
    letterhead: str = ""
    iban: str = ""
    bic: str = ""
    bank_name: str = ""
    widerspruchsbehoerde_name: str = ""
    widerspruchsbehoerde_address: str = ""
    court_name: str = ""
    court_address: str = ""
    signature_line: str = ""
    saved_by_office: bool = False

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"

    @property
    def letterhead_lines(self) -> list[str]:
        return [line.strip() for line in self.letterhead.splitlines() if line.strip()]


def _defaults() -> OfficeData:
    settings: Settings = current_app.config["AMTSWEG"]
    office = settings.office
    return OfficeData(
        name=office.name, street=office.street, postcode=office.postcode, city=office.city,
        phone=office.phone, email=office.email,
        opening_hours="Mo–Fr 8:00–12:00 Uhr, Do 14:00–17:30 Uhr",
        letterhead=f"{office.name}\n{office.street}\n{office.postcode} {office.city}",
        widerspruchsbehoerde_name=DEFAULT_WIDERSPRUCHSBEHOERDE[0],
        widerspruchsbehoerde_address=DEFAULT_WIDERSPRUCHSBEHOERDE[1],
        court_name=DEFAULT_COURT[0], court_address=DEFAULT_COURT[1],
        signature_line=office.short_name,
    )


def _profile() -> OfficeProfile | None:
    return db.session.get(OfficeProfile, 1)


def office_data() -> OfficeData:
    """The office's letter data: what an admin saved, else the defaults from the settings."""
    profile = _profile()
    if profile is None:
        return _defaults()
    values = {name: getattr(profile, name) for name in EDITABLE_FIELDS}
    return OfficeData(**values, saved_by_office=True)


def remedy_template(fachbereich: Fachbereich) -> tuple[str, bool]:
    """The Fachbereich's Rechtsbehelfsbelehrung template and whether the office saved it."""
    row = db.session.get(RemedyText, fachbereich.id)
    if row is None:
        return DEFAULT_REMEDY_TEXT, False
    return row.text, True


def render_remedy(template: str, office: OfficeData) -> str:
    """Fill the template's $placeholders from the office data; unknown ones stay visible."""
    values = {
        "office_name": office.name, "office_address": office.address,
        "widerspruchsbehoerde_name": office.widerspruchsbehoerde_name,
        "widerspruchsbehoerde_address": office.widerspruchsbehoerde_address,
        "court_name": office.court_name, "court_address": office.court_address,
    }
    return string.Template(template).safe_substitute(values)


def remedy_text_for(fachbereich: Fachbereich) -> str:
    template, _saved = remedy_template(fachbereich)
    return render_remedy(template, office_data())


# --- validation -----------------------------------------------------------------------------


def normalise_iban(value: str) -> str:
    """The IBAN in electronic form, or OfficeDataInvalid (checksum, length, country)."""
    compact = "".join(value.split()).upper()
    if not compact:
        return ""
    try:
        return str(IBAN(compact).compact)
    except SchwiftyException:
        raise OfficeDataInvalid(
            _("Enter a valid IBAN, like DE02 1203 0000 0000 2020 51.")) from None


def normalise_bic(value: str) -> str:
    compact = "".join(value.split()).upper()
    if not compact:
        return ""
    try:
        return str(BIC(compact, allow_invalid=False).compact)
    except SchwiftyException:
        raise OfficeDataInvalid(_("Enter a valid BIC with 8 or 11 characters.")) from None


# --- saving ---------------------------------------------------------------------------------


def save_office_data(values: dict[str, str], actor: Actor) -> OfficeProfile:
    """Save the office's letter data (creating the row on first save); the caller commits."""
    clean = {name: str(values.get(name, "")).strip() for name in EDITABLE_FIELDS}
    clean["iban"] = normalise_iban(clean["iban"])
    clean["bic"] = normalise_bic(clean["bic"])
    if not clean["name"]:
        raise OfficeDataInvalid(_("Enter the name of the office."))
    profile = _profile()
    before = None if profile is None else {name: getattr(profile, name)
                                           for name in EDITABLE_FIELDS}
    if profile is None:
        profile = OfficeProfile(id=1)
        db.session.add(profile)
    for name, value in clean.items():
        setattr(profile, name, value)
    profile.updated_at = utcnow()
    profile.updated_by_name = actor.name[:200]
    db.session.flush()
    # Office data is no social data: before and after go into the audit entry in full.
    record(actor, "office.saved", "office_profile", 1, before=before, after=clean)
    return profile


def save_remedy_text(fachbereich: Fachbereich, text: str, actor: Actor) -> RemedyText:
    text = text.strip().replace("\r\n", "\n")
    if not text:
        raise OfficeDataInvalid(_("Enter the text of the Rechtsbehelfsbelehrung."))
    row = db.session.get(RemedyText, fachbereich.id)
    before = None if row is None else {"text": row.text}
    if row is None:
        row = RemedyText(fachbereich_id=fachbereich.id, text=text)
        db.session.add(row)
    row.text = text
    row.updated_at = utcnow()
    row.updated_by_name = actor.name[:200]
    db.session.flush()
    record(actor, "office.remedy_text_saved", "fachbereich", fachbereich.id, before=before,
           after={"text": text})
    return row


def office_form_values() -> dict[str, str]:
    """The current values for the admin form (the defaults before the first save)."""
    data = office_data()
    return {name: value for name, value in dataclasses.asdict(data).items()
            if name in EDITABLE_FIELDS}


def remedy_rows() -> list[tuple[Fachbereich, bool]]:
    """Every Fachbereich and whether the office has saved its own remedy text."""
    saved = set(db.session.scalars(select(RemedyText.fachbereich_id)))
    areas = db.session.scalars(select(Fachbereich).order_by(Fachbereich.name))
    return [(area, area.id in saved) for area in areas]

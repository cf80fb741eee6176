"""Kassenzeichen, Haushaltsstellen and purpose texts: pure rules, no Flask, no database.

Kassenzeichen
    ``KZ`` + year (4 digits) + running number (8 digits) + two check digits, stored compact as
    ``KZ20260000012374`` and shown grouped as ``KZ-2026-00000123-74``. The check digits follow
    ISO 7064 MOD 97-10 (the IBAN's algorithm) over the twelve digits: the whole number
    ``year|number|check`` is ≡ 1 (mod 97). A change of one digit alters it by d·10^k and an
    adjacent swap by (a−b)·9·10^k; neither is a multiple of the prime 97 (|d| ≤ 9), so every
    single-digit error and every adjacent transposition, check digits included, is caught.
    Eight digits of running number carry a state-wide service (ten million series a year);
    the whole is 16 characters, within the 20 of the column.

Haushaltsstelle (Buchungsstelle, EDVBK Nr. 9, DOMAIN.md §3)
    ``xx xx/xxx xx-x``: Kapitel (4 digits) / Titel (5 digits) - Prüfziffer (1 digit), optionally
    followed by a sub-part of up to 6 letters or digits (written here after a space). The
    Prüfziffer's algorithm is not published by the Landesamt für Finanzen, so only the format is
    checked; a wrong Prüfziffer is refused by the treasury and comes back as a rejection.
"""

from __future__ import annotations

import re
import unicodedata

KASSENZEICHEN_PREFIX = "KZ"
# ASCII only: \d would also take Arabic-Indic or full-width digits, which int() reads.
_KASSENZEICHEN = re.compile(r"^KZ(\d{4})(\d{8})(\d{2})$", re.ASCII)
MAX_RUNNING_NUMBER = 99_999_999
MAX_PURPOSE_LENGTH = 140  # SEPA unstructured remittance information (EPC)


def _mod97_check_digits(digits: str) -> str:
    # ISO 7064 MOD 97-10: append "00", take the remainder, check = 98 - remainder.
    return f"{98 - int(digits + '00') % 97:02d}"


def make_kassenzeichen(year: int, number: int) -> str:
    """The Kassenzeichen of running number ``number`` in ``year`` (compact form, as stored)."""
    if not 2000 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    if not 1 <= number <= MAX_RUNNING_NUMBER:
        raise ValueError(f"running number out of range: {number}")
    digits = f"{year:04d}{number:08d}"
    return f"{KASSENZEICHEN_PREFIX}{digits}{_mod97_check_digits(digits)}"


def normalise_kassenzeichen(text: str) -> str:
    """Drop spaces and dashes (as people type and print it) and upper-case it."""
    return re.sub(r"[\s\-]", "", text).upper()


def is_valid_kassenzeichen(text: str) -> bool:
    """True if ``text`` (in any grouping) is a Kassenzeichen with correct check digits."""
    if not isinstance(text, str) or len(text) > 40:
        return False
    match = _KASSENZEICHEN.match(normalise_kassenzeichen(text))
    if match is None:
        return False
    year, number, check = match.groups()
    return int(number) >= 1 and int(year + number + check) % 97 == 1


def format_kassenzeichen(text: str) -> str:
    """Grouped for reading aloud and for letters: ``KZ-2026-00000123-45``."""
    compact = normalise_kassenzeichen(text)
    match = _KASSENZEICHEN.match(compact)
    if match is None:
        return compact
    return "-".join((KASSENZEICHEN_PREFIX, *match.groups()))


def kassenzeichen_year(text: str) -> int | None:
    match = _KASSENZEICHEN.match(normalise_kassenzeichen(text))
    return int(match.group(1)) if match else None


# --- Haushaltsstelle ---------------------------------------------------------------------------

# Written with or without the separators: "70 55/101 38-1", "7055/10138-1", "7055101381";
# a sub-part follows after a space, dot or slash.
_HAUSHALTSSTELLE = re.compile(
    r"^(\d{2})\s?(\d{2})\s?/?\s?(\d{3})\s?(\d{2})\s?-?\s?(\d)(?:[\s./]+([A-Za-z0-9]{1,6}))?$",
    re.ASCII)


def normalise_haushaltsstelle(text: str) -> str:
    """The canonical form ``xx xx/xxx xx-x`` (plus `` sub``); ValueError if it is not one."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError("not a Haushaltsstelle")
    match = _HAUSHALTSSTELLE.match(" ".join(text.split()))
    if match is None:
        raise ValueError("not a Haushaltsstelle")
    k1, k2, t1, t2, check, sub = match.groups()
    canonical = f"{k1} {k2}/{t1} {t2}-{check}"
    return f"{canonical} {sub.upper()}" if sub else canonical


def is_valid_haushaltsstelle(text: str) -> bool:
    try:
        normalise_haushaltsstelle(text)
    except ValueError:
        return False
    return True


# --- purpose text ------------------------------------------------------------------------------

# The SEPA Latin character set (EPC best practice): everything else is transliterated or dropped
# so that no bank along the way garbles or refuses the text.
_SEPA_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                          "/-?:().,'+ ")
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe",
                                  "Ü": "Ue", "ß": "ss", "ẞ": "SS", "&": "+", "–": "-",
                                  "—": "-", "„": "'", "“": "'", "”": "'", "‚": "'", "‘": "'",
                                  "’": "'", "\"": "'", "_": "-", ";": ",", "!": ".",
                                  "§": "Par.", "€": "EUR", "ø": "o", "Ø": "O", "æ": "ae",
                                  "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ł": "l", "Ł": "L",
                                  "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th",
                                  "Þ": "Th", "ı": "i"})


def sepa_text(text: str) -> str:
    """``text`` in the SEPA character set: umlauts spelled out, accents dropped, rest removed."""
    text = text.translate(_TRANSLITERATION)
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(char if char in _SEPA_ALLOWED else " "
                   for char in decomposed if not unicodedata.combining(char))
    return " ".join(kept.split())


def purpose_text(kassenzeichen: str, *parts: str) -> str:
    """Verwendungszweck: the Kassenzeichen first (so payee and treasury can match it), then the
    parts, in the SEPA character set, cut to 140 characters."""
    head = normalise_kassenzeichen(kassenzeichen)
    body = sepa_text(" ".join(part for part in parts if part))
    text = f"{head} {body}".strip() if body else head
    return text[:MAX_PURPOSE_LENGTH].rstrip()


def is_sepa_text(text: str) -> bool:
    return all(char in _SEPA_ALLOWED for char in text)

"""The service catalogue: every Leistung of the office, defined in one registry.

A Fachbereich adds its services by registering them (see portal/leistungen.py and the UVG
package); the portal's pages only read this registry, so nothing in the core changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Leistung:
    code: str  # stable identifier, also the routing key of the clearing office
    title: Any  # lazy gettext strings: translated when shown
    fachbereich_code: str
    summary: Any
    who_can_apply: Any
    documents: tuple[Any, ...] = ()
    how_to_apply: Any = ""
    # The endpoint of its own online form; None: citizens use the general request form.
    form_endpoint: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, Leistung] = {}


def register(leistung: Leistung) -> Leistung:
    if leistung.code in _REGISTRY and _REGISTRY[leistung.code] != leistung:
        raise ValueError(f"Leistung {leistung.code!r} is registered twice")
    _REGISTRY[leistung.code] = leistung
    return leistung


def all_leistungen() -> list[Leistung]:
    return sorted(_REGISTRY.values(), key=lambda leistung: str(leistung.title))


def get_leistung(code: str | None) -> Leistung | None:
    return _REGISTRY.get(code or "")

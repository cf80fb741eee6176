"""The header's navigation, filled by each package for its own pages.

A package adds its entries when it is registered, so a new Fachbereich or module shows up in the
navigation without editing the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, request, url_for

from amtsweg.sessions import current_staff
from amtsweg.staff.models import Role, Staff


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy gettext string, translated when the page renders
    roles: frozenset[Role] = frozenset()  # empty: every signed-in staff member
    # A module's page only for staff of its Fachbereich (by code); None: any Fachbereich.
    fachbereich: str | None = None


def add_staff_item(app: Flask, endpoint: str, label: Any, roles: tuple[Role, ...] = (), *,
                   fachbereich: str | None = None) -> None:
    app.extensions.setdefault("amtsweg_staff_nav", []).append(
        NavItem(endpoint, label, frozenset(roles), fachbereich))


def _shows(item: NavItem, staff: Staff) -> bool:
    if item.roles and not staff.has_role(*item.roles):
        return False
    return item.fachbereich is None or any(area.code == item.fachbereich
                                           for area in staff.fachbereiche)


def add_citizen_item(app: Flask, endpoint: str, label: Any) -> None:
    app.extensions.setdefault("amtsweg_citizen_nav", []).append(NavItem(endpoint, label))


def _entries(items: list[NavItem]) -> list[dict[str, Any]]:
    return [{"url": url_for(item.endpoint), "label": str(item.label),
             "current": request.endpoint == item.endpoint} for item in items]


def init_app(app: Flask) -> None:
    @app.context_processor
    def navigation() -> dict[str, Any]:
        def staff_navigation() -> list[dict[str, Any]]:
            staff = current_staff()
            items = [item for item in app.extensions.get("amtsweg_staff_nav", [])
                     if staff is not None and _shows(item, staff)]
            return _entries(items)

        def citizen_navigation() -> list[dict[str, Any]]:
            return _entries(app.extensions.get("amtsweg_citizen_nav", []))

        return {"staff_navigation": staff_navigation, "citizen_navigation": citizen_navigation}

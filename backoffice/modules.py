"""What Fachbereich modules add to the shared case view, without the core naming them.

A module (``backoffice/uvg/`` first) registers the links it offers on a case: its eligibility
check, its calculation, its recovery file. The case view shows every link whose Fachbereich
matches the case; the core never imports a module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from flask_babel.speaklater import LazyString

from backoffice.models import Fall


@dataclass(frozen=True)
class CaseLink:
    label: LazyString
    endpoint: str  # takes the case id as ``fall_id``
    fachbereich_code: str  # shown only on cases of this Fachbereich
    shown: Callable[[Fall], bool] = lambda fall: True


_CASE_LINKS: list[CaseLink] = []


def register_case_link(link: CaseLink) -> None:
    if link not in _CASE_LINKS:
        _CASE_LINKS.append(link)


def case_links(fall: Fall) -> list[tuple[str, str]]:
    """(label, url) of every module link that applies to this case, in registration order."""
    code = fall.fachbereich.code
    return [(str(link.label), url_for(link.endpoint, fall_id=fall.id)) for link in _CASE_LINKS
            if link.fachbereich_code == code and link.shown(fall)]

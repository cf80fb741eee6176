"""The queue's rows and the status badge, rendered in Python.

A clerk pages through the queue all day, fifty items a page. As a Jinja loop with the badge as a
macro every row cost about thirty runtime calls, the largest part of the page's server time. Each
row here is one f-string whose values all pass through ``escape``, so nothing a sender typed
reaches the page unescaped (tests/clearing/test_rows.py checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from amtsweg.translate import gettext as _
from clearing.models import Eingang, EingangKind, EingangStatus

_TONES = {EingangStatus.NEW: "info", EingangStatus.IN_TRIAGE: "warning",
          EingangStatus.WAITING_FOR_CITIZEN: "neutral", EingangStatus.ROUTED: "success",
          EingangStatus.REJECTED: "danger"}


def _badge(tone: str, label: str) -> str:
    return (f'<span class="kern-badge kern-badge--{tone}"><span class="kern-label">'
            f"{escape(label)}</span></span>")


@dataclass(frozen=True)
class BadgeLabels:
    """The translated badge texts, resolved once per page instead of once per row."""

    status: Mapping[EingangStatus, str]
    answered: str
    routed_automatically: str

    @classmethod
    def current(cls, status_labels: Mapping[EingangStatus, object]) -> BadgeLabels:
        return cls({status: str(label) for status, label in status_labels.items()},
                   _("answered"), _("routed automatically"))


def status_badge_html(eingang: Eingang, labels: BadgeLabels) -> str:
    """The item's status, and whether the citizen answered or the routing ran by rule."""
    html = _badge(_TONES.get(eingang.status, "info"), labels.status[eingang.status])
    if eingang.answered_at is not None and eingang.is_open:
        html += " " + _badge("success", labels.answered)
    if eingang.routed_automatically:
        html += " " + _badge("info", labels.routed_automatically)
    return html


def status_badge(eingang: Eingang, status_labels: Mapping[EingangStatus, object]) -> Markup:
    """For the item's own page (one badge): the labels resolved on the spot."""
    return Markup(status_badge_html(eingang, BadgeLabels.current(status_labels)))  # noqa: S704


@dataclass(frozen=True)
class QueueTexts:
    """What every row of one queue page shares: labels, the detail link's prefix, the limit."""

    kinds: Mapping[EingangKind, str]
    services: Mapping[str, str]
    badges: BadgeLabels
    select: str  # "Select item %(number)s"
    overdue: str
    detail_prefix: str
    waiting_limit: int


def queue_rows(items: Iterable[Eingang], ages: Mapping[int, int], received: Mapping[int, str],
               texts: QueueTexts) -> Markup:
    """A table row per item: checkbox for the bulk action, number, kind, service, subject,
    sender, received at, age in working days, status, holder."""
    cell = '<td class="kern-table__cell">'
    prefix = escape(texts.detail_prefix)
    overdue_badge = " " + _badge("danger", texts.overdue)
    lines = []
    for item in items:
        number = int(item.id)
        age = ages[number]
        overdue = item.is_open and age > texts.waiting_limit
        holder = escape(item.claimed_by.full_name) if item.claimed_by is not None else ""
        lines.append(
            f'<tr class="kern-table__row{" queue-row--overdue" if overdue else ""}">'
            f'{cell}<div class="kern-form-check"><input class="kern-form-check__checkbox" '
            f'type="checkbox" name="item_{number}" value="y" id="item_{number}">'
            f'<label class="kern-label" for="item_{number}">'
            f"{escape(texts.select % {'number': number})}</label></div></td>"
            f'{cell}<a class="kern-link" href="{prefix}{number}">{number}</a></td>'
            f"{cell}{escape(texts.kinds[item.kind])}</td>"
            f"{cell}{escape(texts.services.get(item.service_code or '', ''))}</td>"
            f"{cell}{escape(item.subject)}</td>{cell}{escape(item.sender_name)}</td>"
            f"{cell}{escape(received[number])}</td>"
            f"{cell}{age}{overdue_badge if overdue else ''}</td>"
            f"{cell}{status_badge_html(item, texts.badges)}</td>{cell}{holder}</td></tr>")
    return Markup("".join(lines))  # noqa: S704  (every value escaped above)

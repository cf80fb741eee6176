"""The long lists of the backoffice rendered in Python: the case view's timeline and E-Akte, and
the rows of the case lists.

A case with years of history shows a hundred events and as many documents on one page, a case
list fifty cases. As Jinja loops every row cost a dozen runtime calls (attribute lookups,
filters, autoescape of each value), which made the rows two thirds of the page's server time.
Here each row is one f-string whose values all pass through ``html.escape``, so nothing a person
typed reaches the page unescaped (tests/backoffice/test_case_rows.py checks it). The standard
library's escaper returns a plain string: markupsafe's wraps every value in a ``Markup`` object,
which on a hundred rows of four values cost more than the rest of the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from html import escape

from markupsafe import Markup

from amtsweg.clock import BERLIN
from backoffice.models import DocumentOrigin, FallStatus
from backoffice.queries import CaseRow, DocumentRow, EventRow


def berlin_time(moment: datetime) -> str:
    # Formatted by hand, not with Babel's formatter (as costly as a whole row) nor with strftime
    # (half again as slow as this on a long timeline).
    local = moment.astimezone(BERLIN)
    return f"{local.day:02d}.{local.month:02d}.{local.year} {local.hour:02d}:{local.minute:02d}"


def timeline_items(events: Iterable[EventRow], labels: Mapping[str, str]) -> Markup:
    """``<li>`` per event: time, what happened, who, and the summary if there is one."""
    items = []
    for event in events:
        at, kind, summary = event.at, event.kind, event.summary
        tail = f": {escape(summary)}" if summary else ""
        items.append(f'<li><time datetime="{at.isoformat()}">{berlin_time(at)}</time> · '
                     f"{escape(labels.get(kind, kind))} · {escape(event.actor_name)}{tail}</li>")
    return Markup("".join(items))  # noqa: S704  (every value escaped above)


def document_rows(documents: Iterable[DocumentRow], origin_names: Mapping[DocumentOrigin, str],
                  base: str, view_label: str, download_label: str) -> Markup:
    """A table row per document version with its links to the preview and the download."""
    base_html, view_html, download_html = escape(base), escape(view_label), escape(download_label)
    cell = '<td class="kern-table__cell">'
    rows = []
    for entry in documents:
        number = int(entry.id)
        rows.append(
            f'<tr class="kern-table__row">{cell}{escape(entry.title)}</td>'
            f"{cell}{escape(entry.kind)}</td>{cell}{escape(origin_names[entry.origin])}</td>"
            f"{cell}{berlin_time(entry.filed_at)}, {escape(entry.filed_by_name)}</td>"
            f"{cell}{int(entry.version)}</td>"
            f'{cell}<a class="kern-link" href="{base_html}{number}/ansicht">{view_html}</a> · '
            f'<a class="kern-link" href="{base_html}{number}">{download_html}</a></td></tr>')
    return Markup("".join(rows))  # noqa: S704  (every value escaped above)


def case_table_rows(rows: Iterable[CaseRow], status_names: Mapping[FallStatus, str],
                    case_base: str, pool_label: str, overdue_label: str, today: date) -> Markup:
    """The rows of a case list ("Meine Fälle", the pool, the search), fifty at a time."""
    base_html = escape(case_base)
    badge = (' <span class="kern-badge kern-badge--danger"><span class="kern-label">'
             f"{escape(overdue_label)}</span></span>")
    pool_html = escape(pool_label)
    cell = '<td class="kern-table__cell">'
    lines = []
    for row in rows:
        overdue = row.next_due is not None and row.next_due < today
        due = (f"{row.next_due:%d.%m.%Y}{badge if overdue else ''}"
               if row.next_due is not None else "")
        responsible = escape(row.responsible_name) if row.responsible_name else pool_html
        lines.append(
            f'<tr class="kern-table__row{" queue-row--overdue" if overdue else ""}">'
            f'{cell}<a class="kern-link" href="{base_html}{int(row.fall_id)}">'
            f"{escape(row.aktenzeichen)}</a></td>{cell}{escape(row.names)}</td>"
            f"{cell}{escape(row.title)}</td>{cell}{escape(status_names[row.status])}</td>"
            f"{cell}{responsible}</td>{cell}{due}</td></tr>")
    return Markup("".join(lines))  # noqa: S704  (every value escaped above)

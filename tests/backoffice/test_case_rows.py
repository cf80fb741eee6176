"""The Python-rendered rows of the case view and the case lists: right content, and every value a
person typed escaped (they bypass Jinja's autoescape)."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, date, datetime
from typing import Any, cast

from backoffice.case_rows import case_table_rows, document_rows, timeline_items
from backoffice.models import DocumentOrigin, FallStatus
from backoffice.queries import CaseRow

HOSTILE = '<script>alert("x")</script>&\'"'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;&quot;"

# The query rows these functions get from backoffice.queries, as named tuples (cast for mypy).
Event = namedtuple("Event", "id at kind summary actor_name")
Document = namedtuple("Document",
                      "id series_id version origin kind title filed_at filed_by_name")


def test_timeline_items_escape_and_show_berlin_time() -> None:
    winter = datetime(2026, 1, 15, 9, 5, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 9, 5, tzinfo=UTC)
    html = timeline_items(
        cast(Any, [Event(2, winter, "note_added", HOSTILE, HOSTILE),
                   Event(1, summer, "unknown", "", "Kim")]),
        {"note_added": "Vermerk <neu>"})
    assert "<script" not in html
    assert html.count(ESCAPED) == 2
    assert '<time datetime="2026-01-15T09:05:00+00:00">15.01.2026 10:05</time>' in html
    assert "15.07.2026 11:05</time> · unknown · Kim</li>" in html  # summer time, no summary
    assert "Vermerk &lt;neu&gt;" in html
    assert html.count("<li>") == 2


def test_document_rows_escape_and_link_each_version() -> None:
    filed = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    html = document_rows(
        cast(Any, [Document(7, 7, 2, DocumentOrigin.ONLINE, HOSTILE, HOSTILE, filed, HOSTILE)]),
        {DocumentOrigin.ONLINE: "Online"}, "/intern/faelle/3/dokumente/", "Ansehen", "Laden")
    assert "<script" not in html
    assert html.count(ESCAPED) == 3
    assert "03.03.2026 00:30" in html
    assert 'href="/intern/faelle/3/dokumente/7/ansicht">Ansehen</a>' in html
    assert 'href="/intern/faelle/3/dokumente/7">Laden</a>' in html
    assert '<td class="kern-table__cell">2</td>' in html


def test_case_table_rows_mark_overdue_and_the_pool() -> None:
    today = date(2026, 11, 26)
    rows = [CaseRow(fall_id=5, aktenzeichen="UVG-2026-5", title=HOSTILE, status=FallStatus.OPEN,
                    responsible_name=None, opened_at=datetime(2026, 1, 1, tzinfo=UTC),
                    names=HOSTILE, next_due=date(2026, 11, 25)),
            CaseRow(fall_id=4, aktenzeichen="UVG-2026-4", title="Antrag",
                    status=FallStatus.PAYING, responsible_name="Kim <Sachbearbeitung>",
                    opened_at=datetime(2026, 1, 1, tzinfo=UTC), names="Lea", next_due=today)]
    html = case_table_rows(rows, {FallStatus.OPEN: "offen", FallStatus.PAYING: "zahlend"},
                           "/intern/faelle/", "Pool", "überfällig", today)
    first, second = html.split("</tr>")[:2]
    assert "<script" not in html
    assert html.count(ESCAPED) == 2
    assert "queue-row--overdue" in first
    assert "25.11.2026" in first
    assert "überfällig" in first
    assert '<a class="kern-link" href="/intern/faelle/5">UVG-2026-5</a>' in first
    assert ">Pool</td>" in first
    assert ">offen</td>" in first
    # Due today is not overdue yet.
    assert "queue-row--overdue" not in second
    assert "überfällig" not in second
    assert "Kim &lt;Sachbearbeitung&gt;" in second
    assert "26.11.2026" in second

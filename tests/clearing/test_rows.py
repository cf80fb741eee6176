"""The queue's rows and the status badge, rendered in Python: right content, every value a
sender typed escaped (they bypass Jinja's autoescape)."""

from __future__ import annotations

from datetime import UTC, datetime

from amtsweg.staff.models import Staff
from clearing.models import Eingang, EingangKind, EingangStatus
from clearing.rows import BadgeLabels, QueueTexts, queue_rows, status_badge_html

HOSTILE = '<img src=x onerror="alert(1)">&'
ESCAPED = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;"
BADGES = BadgeLabels({EingangStatus.NEW: "neu", EingangStatus.IN_TRIAGE: "in Bearbeitung",
                      EingangStatus.ROUTED: "weitergeleitet",
                      EingangStatus.REJECTED: "abgelehnt",
                      EingangStatus.WAITING_FOR_CITIZEN: "wartet"},
                     "beantwortet", "automatisch weitergeleitet")


def item(number: int, status: EingangStatus, **fields: object) -> Eingang:
    return Eingang(id=number, kind=EingangKind.NEUANTRAG, status=status,
                   received_at=datetime(2026, 11, 2, 8, tzinfo=UTC), **fields)


def test_queue_rows_escape_what_the_sender_typed() -> None:
    clerk = Staff(full_name="Kim <Clearing>")
    rows = [item(12, EingangStatus.IN_TRIAGE, subject=HOSTILE, sender_name=HOSTILE,
                 service_code="uvg", claimed_by=clerk),
            item(13, EingangStatus.NEW, subject="Antrag", sender_name="Lea", service_code=None)]
    texts = QueueTexts(kinds={EingangKind.NEUANTRAG: "Neuantrag"},
                       services={"uvg": "Unterhaltsvorschuss <UVG>"}, badges=BADGES,
                       select="Eingang %(number)s auswählen", overdue="überfällig",
                       detail_prefix="/intern/clearing/", waiting_limit=2)
    html = queue_rows(rows, {12: 3, 13: 1}, {12: "02.11.2026 09:00", 13: "02.11.2026 09:00"},
                      texts)
    first, second = html.split("</tr>")[:2]
    assert "<img" not in html
    assert first.count(ESCAPED) == 2
    assert "Unterhaltsvorschuss &lt;UVG&gt;" in first
    assert "Kim &lt;Clearing&gt;" in first
    assert 'name="item_12" value="y" id="item_12"' in first
    assert ">Eingang 12 auswählen</label>" in first
    assert '<a class="kern-link" href="/intern/clearing/12">12</a>' in first
    # Three working days is over the limit of two; one is not.
    assert "queue-row--overdue" in first
    assert "3 <span class=\"kern-badge kern-badge--danger\">" in first
    assert "queue-row--overdue" not in second
    assert "überfällig" not in second
    assert "kern-badge--info\"><span class=\"kern-label\">neu<" in second


def test_status_badge_tells_answered_and_automatic_routing() -> None:
    answered = item(1, EingangStatus.NEW, answered_at=datetime(2026, 11, 3, tzinfo=UTC))
    automatic = item(2, EingangStatus.ROUTED, routed_by_id=None)
    by_hand = item(3, EingangStatus.ROUTED, routed_by_id=7)
    assert "beantwortet" in status_badge_html(answered, BADGES)
    assert "kern-badge--warning" not in status_badge_html(answered, BADGES)
    assert "automatisch weitergeleitet" in status_badge_html(automatic, BADGES)
    assert "kern-badge--success" in status_badge_html(automatic, BADGES)
    assert "automatisch" not in status_badge_html(by_hand, BADGES)
    # An answer on an item already routed is history, not news.
    routed_answered = item(4, EingangStatus.ROUTED, routed_by_id=7,
                           answered_at=datetime(2026, 11, 3, tzinfo=UTC))
    assert "beantwortet" not in status_badge_html(routed_answered, BADGES)

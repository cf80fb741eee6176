"""The recovery letters to the liable parent, as PDF: Rechtswahrungsanzeige (§ 7 Abs. 2 UVG),
Anhörung (§ 24 SGB X) and Zahlungsaufforderung (demand for payment, § 286 Abs. 1 BGB).

Pure: data in, bytes out, no Flask and no database. The page layout (DIN 5008 letterhead,
address window, information block, footer with the bank, "Seite x von y") is the Bescheid's
from backoffice.decisions.pdf, so every letter of the office looks the same; only the body
differs: no Tenor and no Rechtsbehelfsbelehrung (these letters are no administrative act),
and a table of the months and amounts where money is asked for.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate, NextPageTemplate

from backoffice.decisions.pdf import (
    FOOTER_HEIGHT,
    LEFT,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    RIGHT,
    BescheidData,
    _draw_first_page,
    _draw_later_page,
    _NumberedCanvas,
    _paragraphs,
    _styles,
)


@dataclass(frozen=True)
class AmountRow:
    """One line of the table: a child's month and the amount."""

    label: str
    month: str
    amount: str


@dataclass(frozen=True)
class LetterBody:
    """What the letter says, already in the letter's language (German, § 19 SGB X)."""

    paragraphs: Sequence[str]
    table_header: tuple[str, str, str] = ("", "", "")
    rows: Sequence[AmountRow] = field(default_factory=tuple)
    total_label: str = ""
    total: str = ""
    # After the table: payment details, deadline, legal notes.
    closing_paragraphs: Sequence[str] = field(default_factory=tuple)


def _table(body: LetterBody) -> Table:
    width = PAGE_WIDTH - LEFT - RIGHT
    data: list[list[str]] = [list(body.table_header)]
    data += [[row.label, row.month, row.amount] for row in body.rows]
    if body.total_label:
        data.append([body.total_label, "", body.total])
    table = Table([[Paragraph(escape(cell), _styles()["small"]) for cell in row] for row in data],
                  colWidths=[width * 0.5, width * 0.25, width * 0.25], repeatRows=1)
    style: list[Any] = [
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (2, 0), (2, -1), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if body.total_label:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black))
    table.setStyle(TableStyle(style))
    return table


def _story(data: BescheidData, body: LetterBody) -> list[Flowable]:
    styles = _styles()
    story: list[Flowable] = [NextPageTemplate("later"),
                             Paragraph(escape(data.subject), styles["subject"]),
                             Paragraph(escape(data.labels.salutation), styles["body"])]
    for text in body.paragraphs:
        story += _paragraphs(text, styles["body"])
    if body.rows:
        story += [Spacer(1, 1 * mm), _table(body), Spacer(1, 4 * mm)]
    for text in body.closing_paragraphs:
        story += _paragraphs(text, styles["body"])
    story += [Spacer(1, 4 * mm), Paragraph(escape(data.labels.closing), styles["body"]),
              Spacer(1, 8 * mm), *_paragraphs(data.signature_line, styles["body"])]
    return story


def render_letter(data: BescheidData, body: LetterBody) -> bytes:
    """The letter as PDF bytes. ``data`` carries the office, addressee, date and subject as for
    a Bescheid (its tenor, Begründung and remedy fields are not printed)."""
    buffer = io.BytesIO()
    # /Lang lets a screen reader read the letter in German (§ 19 SGB X: German is the
    # official language).
    doc = BaseDocTemplate(buffer, pagesize=A4, title=data.subject, author=data.office_name,
                          subject=data.aktenzeichen, creator="Amtsweg", lang="de-DE")
    body_width = PAGE_WIDTH - LEFT - RIGHT
    # DIN 5008 form B, as the Bescheid: the subject line begins about 98 mm from the top.
    first = Frame(LEFT, FOOTER_HEIGHT + 4 * mm, body_width,
                  PAGE_HEIGHT - 98 * mm - FOOTER_HEIGHT - 4 * mm, id="first",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    later = Frame(LEFT, FOOTER_HEIGHT + 4 * mm, body_width,
                  PAGE_HEIGHT - 24 * mm - FOOTER_HEIGHT - 4 * mm, id="later",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([
        PageTemplate("first", [first], onPage=lambda c, _d: _draw_first_page(c, data)),
        PageTemplate("later", [later], onPage=lambda c, _d: _draw_later_page(c, data)),
    ])

    def make_canvas(*args: object, **kwargs: object) -> _NumberedCanvas:
        return _NumberedCanvas(*args, page_label=data.labels.page, **kwargs)

    doc.build(_story(data, body), canvasmaker=make_canvas)
    return buffer.getvalue()

"""The Bescheid PDF (reportlab): pure, data in and bytes out, no Flask and no database.

Layout after DIN 5008 form B, roughly: letterhead at the top, the addressee in the window of a
DL envelope (20 mm from the left, 45 mm from the top), the information block (Aktenzeichen,
reference, date, contact) on the right, the subject line, then Tenor, Begründung and
Rechtsbehelfsbelehrung; the office's bank and contact data in the footer of every page and
"Seite x von y" beneath it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import BaseDocTemplate, NextPageTemplate

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 25 * mm
RIGHT = 20 * mm
FOOTER_HEIGHT = 26 * mm
INFO_X = 120 * mm
INFO_LABEL_WIDTH = 22 * mm
INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#4a4a4a")


@dataclass(frozen=True)
class BescheidLabels:
    """Every fixed word on the letter, translated by the caller (the letter is German: § 19
    SGB X makes German the official language)."""

    aktenzeichen: str = "Aktenzeichen"
    reference: str = "Vorgangsnummer"
    date: str = "Datum"
    contact: str = "Kontakt"
    tenor: str = "Entscheidung"
    begruendung: str = "Begründung"
    rechtsbehelfsbelehrung: str = "Rechtsbehelfsbelehrung"
    bank: str = "Bankverbindung"
    opening_hours: str = "Öffnungszeiten"
    page: str = "Seite %(page)s von %(pages)s"
    salutation: str = "Sehr geehrte Damen und Herren,"
    closing: str = "Mit freundlichen Grüßen"


@dataclass(frozen=True)
class BescheidSection:
    """A part a Fachbereich module adds to its Bescheide: a heading, text and an optional
    table (first row the header), e.g. the UVG amounts per month (§ 9 Abs. 2 UVG).

    ``after_tenor`` places it right after the Tenor; otherwise it comes after the Begründung,
    before the Rechtsbehelfsbelehrung (duties, repayment rules).
    """

    heading: str
    text: str = ""
    table: Sequence[Sequence[str]] = ()
    after_tenor: bool = False
    column_widths_mm: Sequence[float] = ()  # empty: reportlab shares the width out


@dataclass(frozen=True)
class BescheidData:
    office_name: str
    office_address: str
    letterhead_lines: Sequence[str]
    return_address: str
    addressee_name: str
    addressee_address: str
    aktenzeichen: str
    decision_date: date
    subject: str
    tenor: str
    begruendung: str
    rechtsbehelfsbelehrung: str
    signature_line: str
    phone: str = ""
    email: str = ""
    opening_hours: str = ""
    iban: str = ""
    bic: str = ""
    bank_name: str = ""
    reference: str = ""
    labels: BescheidLabels = field(default_factory=BescheidLabels)
    sections: Sequence[BescheidSection] = ()


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10.5, leading=14.5,
                          textColor=INK, spaceAfter=2.5 * mm)
    return {
        "body": body,
        "subject": ParagraphStyle("subject", parent=body, fontName="Helvetica-Bold",
                                  fontSize=11.5, leading=15, spaceAfter=5 * mm),
        "heading": ParagraphStyle("heading", parent=body, fontName="Helvetica-Bold",
                                  fontSize=11, spaceBefore=3 * mm, spaceAfter=2 * mm,
                                  keepWithNext=True),
        "small": ParagraphStyle("small", parent=body, fontSize=9.5, leading=12.5),
    }


def _paragraphs(text: str, style: ParagraphStyle) -> list[Flowable]:
    """One Paragraph per blank-line-separated block; single newlines become line breaks.

    Escaped first: a Tenor typed by a caseworker must never be read as reportlab markup.
    """
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [Paragraph(escape(block).replace("\n", "<br/>"), style) for block in blocks if block]


class _NumberedCanvas(Canvas):
    """Keeps every page until the end, so each can say "Seite x von y"."""

    def __init__(self, *args: object, page_label: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._saved_pages: list[dict[str, object]] = []
        self._page_label = page_label

    def showPage(self) -> None:
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        total = len(self._saved_pages)
        for number, state in enumerate(self._saved_pages, start=1):
            self.__dict__.update(state)
            self.setFont("Helvetica", 8.5)
            self.setFillColor(MUTED)
            self.drawRightString(PAGE_WIDTH - RIGHT, 10 * mm,
                                 self._page_label % {"page": number, "pages": total})
            super().showPage()
        super().save()


def _grouped(iban: str) -> str:
    """The IBAN in print form, in groups of four (as people read it off a letter)."""
    return " ".join(iban[index:index + 4] for index in range(0, len(iban), 4))


def _fit(text: str, width: float, font: str, size: float) -> str:
    """``text`` cut (with an ellipsis) so it never runs into the next column."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _draw_footer(canvas: Canvas, data: BescheidData) -> None:
    labels = data.labels
    canvas.setStrokeColor(MUTED)
    canvas.setLineWidth(0.4)
    canvas.line(LEFT, FOOTER_HEIGHT - 2 * mm, PAGE_WIDTH - RIGHT, FOOTER_HEIGHT - 2 * mm)
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(MUTED)
    columns: list[list[str]] = [
        [data.office_name, data.office_address],
        [f"{labels.contact}: {data.phone}", data.email],
    ]
    if data.iban:
        # No bank line at all rather than a label with nothing after it.
        columns.append([f"{labels.bank}: {data.bank_name}".rstrip(": "),
                        f"IBAN {_grouped(data.iban)}", f"BIC {data.bic}" if data.bic else ""])
    width = (PAGE_WIDTH - LEFT - RIGHT) / len(columns)
    for index, lines in enumerate(columns):
        y = FOOTER_HEIGHT - 6 * mm
        for line in lines:
            if line:
                canvas.drawString(LEFT + index * width, y,
                                  _fit(line, width - 3 * mm, "Helvetica", 7.5))
            y -= 3.4 * mm


def _draw_first_page(canvas: Canvas, data: BescheidData) -> None:
    labels = data.labels
    canvas.saveState()
    # Letterhead.
    canvas.setFillColor(INK)
    y = PAGE_HEIGHT - 14 * mm
    for index, line in enumerate(data.letterhead_lines[:4]):
        canvas.setFont("Helvetica-Bold" if index == 0 else "Helvetica", 12 if index == 0 else 9)
        canvas.drawString(LEFT, y, line[:90])
        y -= 6 * mm if index == 0 else 4 * mm
    # Addressee window (DIN 5008 form B: 45 mm from the top, 20 mm from the left edge of the
    # envelope window); the return address line in small print on top.
    window_top = PAGE_HEIGHT - 50 * mm
    canvas.setFont("Helvetica", 7)
    canvas.setFillColor(MUTED)
    canvas.drawString(LEFT, window_top, data.return_address[:100])
    canvas.setFont("Helvetica", 10.5)
    canvas.setFillColor(INK)
    y = window_top - 8 * mm
    for line in [data.addressee_name, *data.addressee_address.splitlines()][:6]:
        # The window of a DL envelope is 85 mm wide (DIN 5008 form B).
        canvas.drawString(LEFT, y, _fit(line.strip(), 80 * mm, "Helvetica", 10.5))
        y -= 4.8 * mm
    # Information block.
    rows = [(labels.aktenzeichen, data.aktenzeichen)]
    if data.reference:
        rows.append((labels.reference, data.reference))
    rows += [(labels.date, data.decision_date.strftime("%d.%m.%Y")),
             (labels.contact, data.phone), ("", data.email)]
    if data.opening_hours:
        rows.append((labels.opening_hours, data.opening_hours.splitlines()[0]))
    y = PAGE_HEIGHT - 50 * mm
    for label, value in rows:
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(INFO_X, y, label)
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(INK)
        canvas.drawString(INFO_X + INFO_LABEL_WIDTH, y,
                          _fit(value, PAGE_WIDTH - RIGHT - INFO_X - INFO_LABEL_WIDTH,
                               "Helvetica", 8.5))
        y -= 4.6 * mm
    _draw_footer(canvas, data)
    canvas.restoreState()


def _draw_later_page(canvas: Canvas, data: BescheidData) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(LEFT, PAGE_HEIGHT - 14 * mm,
                      f"{data.labels.aktenzeichen} {data.aktenzeichen} – "
                      f"{data.decision_date.strftime('%d.%m.%Y')}")
    _draw_footer(canvas, data)
    canvas.restoreState()


def _story(data: BescheidData) -> list[Flowable]:
    styles = _styles()
    labels = data.labels
    story: list[Flowable] = [NextPageTemplate("later"),
                             Paragraph(escape(data.subject), styles["subject"]),
                             Paragraph(escape(labels.salutation), styles["body"])]
    story.append(Paragraph(escape(labels.tenor), styles["heading"]))
    story += _paragraphs(data.tenor, styles["body"])
    for section in data.sections:
        if section.after_tenor:
            story += _section(section, styles)
    if data.begruendung.strip():
        story.append(Paragraph(escape(labels.begruendung), styles["heading"]))
        story += _paragraphs(data.begruendung, styles["body"])
    for section in data.sections:
        if not section.after_tenor:
            story += _section(section, styles)
    story.append(Paragraph(escape(labels.rechtsbehelfsbelehrung), styles["heading"]))
    story += _paragraphs(data.rechtsbehelfsbelehrung, styles["small"])
    story += [Spacer(1, 4 * mm), Paragraph(escape(labels.closing), styles["body"]),
              Spacer(1, 8 * mm), *_paragraphs(data.signature_line, styles["body"])]
    return story


def _section(section: BescheidSection, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    flowables: list[Flowable] = [Paragraph(escape(section.heading), styles["heading"])]
    flowables += _paragraphs(section.text, styles["body"])
    if section.table:
        cell = ParagraphStyle("cell", parent=styles["small"], fontSize=8.5, leading=10.5,
                              spaceAfter=0)
        rows = [[Paragraph(escape(value), cell) for value in row] for row in section.table]
        widths = [width * mm for width in section.column_widths_mm] or None
        table = Table(rows, repeatRows=1, hAlign="LEFT", colWidths=widths)
        table.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.2, MUTED),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]))
        flowables += [table, Spacer(1, 3 * mm)]
    return flowables


def render_bescheid(data: BescheidData) -> bytes:
    """The Bescheid as PDF bytes."""
    buffer = io.BytesIO()
    # /Lang lets a screen reader read the letter in German (§ 19 SGB X: German is the
    # official language).
    doc = BaseDocTemplate(buffer, pagesize=A4, title=data.subject, author=data.office_name,
                          subject=data.aktenzeichen, creator="Amtsweg", lang="de-DE")
    body_width = PAGE_WIDTH - LEFT - RIGHT
    # DIN 5008 form B: the subject line begins about 98 mm from the top.
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

    doc.build(_story(data), canvasmaker=make_canvas)
    return buffer.getvalue()

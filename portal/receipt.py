"""The receipt PDF (Eingangsbestätigung): every answer and every document with its SHA-256."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import format_datetime, get_locale
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from amtsweg.config import Office
from amtsweg.translate import gettext as _
from portal.models import Submission
from storage.models import Document


@dataclass(frozen=True)
class SummarySection:
    """One block of the answers as the citizen saw them on the check-answers page."""

    title: str
    rows: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class ReceiptDocument:
    label: str
    document: Document


# Layout in points: A4 with 20 mm side margins, as the Bescheid.
_LEFT = 20 * mm
_WIDTH = A4[0] - 40 * mm
_TOP = A4[1] - 22 * mm
_BOTTOM = 20 * mm
_BODY = ("Helvetica", 9.5, 12.5)
_SMALL = ("Helvetica", 7.5, 9.5)
_HEADING = ("Helvetica-Bold", 11.5, 14.0)
_TITLE = ("Helvetica-Bold", 16.0, 20.0)
_RULE = colors.HexColor("#d0d3e0")
_GREY = colors.HexColor("#404565")

Font = tuple[str, float, float]  # name, size, leading
_PAGE_TOTAL = "page_total"  # the form that prints the number of pages


class _Writer:
    """Text top to bottom on A4 pages, rows wrapped in columns, page numbers at the foot.

    Drawn directly on the canvas: the receipt is a long list of label/value rows, and laying
    each out as a platypus Paragraph in a Table (an HTML parse per cell) made it the largest part
    of the submit request (about 100 ms for a UVG application). Answers are drawn as plain
    text, so nothing a citizen typed is ever read as markup.
    """

    def __init__(self, canvas: Canvas, footer: Callable[[int], str]) -> None:
        self.canvas = canvas
        self.footer = footer  # page number -> "Eingangsbestätigung … – Seite 1 von"
        self.page, self.y = 1, _TOP
        # All text of a page goes into one text object, font and colour set only on a change:
        # a text object per cell, each with its own state, was most of the drawing time.
        self.text: PDFTextObject | None = None
        self.text_state: tuple[Font, colors.Color] | None = None

    def _end_text(self) -> None:
        if self.text is not None:
            self.canvas.drawText(self.text)
        self.text, self.text_state = None, None

    def _foot(self) -> None:
        # "Seite 1 von 3": the total is a form drawn on every page and filled in by ``finish``,
        # once it is known (a form may be used before it is defined). Its slot is as wide as
        # two digits.
        self._end_text()
        canvas = self.canvas
        canvas.setFont(*_SMALL[:2])
        canvas.setFillColor(colors.black)
        total_at = _LEFT + _WIDTH - stringWidth("99", *_SMALL[:2])
        canvas.drawRightString(total_at - stringWidth(" ", *_SMALL[:2]), 12 * mm,
                               self.footer(self.page))
        canvas.saveState()
        canvas.translate(total_at, 12 * mm)
        canvas.doForm(_PAGE_TOTAL)
        canvas.restoreState()

    def finish(self) -> None:
        self._foot()
        self.canvas.showPage()
        self.canvas.beginForm(_PAGE_TOTAL)
        self.canvas.setFont(*_SMALL[:2])
        self.canvas.setFillColor(colors.black)
        self.canvas.drawString(0, 0, str(self.page))
        self.canvas.endForm()

    def room_for(self, height: float) -> None:
        if self.y - height >= _BOTTOM:
            return
        self._foot()
        self.canvas.showPage()
        self.page, self.y = self.page + 1, _TOP

    def space(self, height: float) -> None:
        self.y -= height

    @staticmethod
    def wrap(text: str, font: Font, width: float) -> list[str]:
        lines: list[str] = []
        for paragraph in (text or "").split("\n"):
            # Most answers fit their column: one measurement instead of one per word and line.
            # Only text spaced as simpleSplit would leave it (no tabs, no double spaces) skips it.
            if (paragraph == " ".join(paragraph.split())
                    and stringWidth(paragraph, font[0], font[1]) <= width):
                lines.append(paragraph)
                continue
            for line in simpleSplit(paragraph, font[0], font[1], width) or [""]:
                lines += _break_long(line, font, width)
        return lines

    def paragraph(self, text: str, font: Font, colour: colors.Color = colors.black,
                  before: float = 0.0, after: float = 0.0, keep: float = 0.0) -> None:
        lines = self.wrap(text, font, _WIDTH)
        self.room_for(before + len(lines) * font[2] + keep)
        self.y -= before
        self._lines(lines, font, _LEFT, self.y, colour)
        self.y -= len(lines) * font[2] + after

    def _lines(self, lines: list[str], font: Font, x: float, top: float,
               colour: colors.Color) -> None:
        if self.text is None:
            self.text = self.canvas.beginText()
        text = self.text
        if self.text_state is None or self.text_state[0] is not font:
            text.setFont(font[0], font[1], font[2])
        if self.text_state is None or self.text_state[1] is not colour:
            text.setFillColor(colour)
        self.text_state = (font, colour)
        text.setTextOrigin(x, top - font[1])
        for line in lines:
            text.textLine(line)

    def row_height(self, cells: Sequence[tuple[str, float, Font]]) -> float:
        return max(len(self.wrap(text, font, width - 4)) * font[2]
                   for text, width, font in cells) + 4

    def row(self, cells: Sequence[tuple[str, float, Font]]) -> None:
        """One table row: cells side by side (text, column width, font), a rule below."""
        wrapped = [(self.wrap(text, font, width - 4), width, font) for text, width, font in cells]
        height = max(len(lines) * font[2] for lines, _width, font in wrapped) + 4
        self.room_for(height)
        x = _LEFT
        for lines, width, font in wrapped:
            self._lines(lines, font, x, self.y, _GREY if font is _SMALL else colors.black)
            x += width
        self.y -= height
        self.canvas.setStrokeColor(_RULE)
        self.canvas.setLineWidth(0.25)
        self.canvas.line(_LEFT, self.y + 1, _LEFT + _WIDTH, self.y + 1)


def _break_long(line: str, font: Font, width: float) -> list[str]:
    """A word wider than its column (a checksum, a long file name) is cut between characters.

    The cut is found by bisection, so even a hostile answer of thousands of characters without
    a space costs a few dozen width measurements per line, not one per character.
    """
    pieces: list[str] = []
    while len(line) > 1 and stringWidth(line, font[0], font[1]) > width:
        low, high = 1, len(line) - 1  # the longest prefix that fits lies in [low, high]
        while low < high:
            middle = (low + high + 1) // 2
            if stringWidth(line[:middle], font[0], font[1]) <= width:
                low = middle
            else:
                high = middle - 1
        pieces.append(line[:low])
        line = line[low:]
    return [*pieces, line]


def _pairs(writer: _Writer, rows: Sequence[tuple[str, str]], split: float) -> None:
    for label, value in rows:
        writer.row([(label, _WIDTH * split, _BODY), (value or "–", _WIDTH * (1 - split), _BODY)])


def render_receipt(office: Office, submission: Submission, sections: Sequence[SummarySection],
                   documents: Sequence[ReceiptDocument]) -> bytes:
    """Build the receipt PDF in memory (a few pages of text; files are only listed)."""
    buffer = io.BytesIO()
    # /Lang: the receipt is written in the citizen's language; a screen reader reads it so.
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1,
                    lang=str(get_locale() or "de").replace("_", "-"))
    canvas.setTitle(_("Receipt %(reference)s", reference=submission.reference))
    canvas.setAuthor(office.name)
    writer = _Writer(canvas, lambda page: _("Receipt %(reference)s – page %(page)s of",
                                            reference=submission.reference, page=page))
    writer.paragraph(office.name, _SMALL, _GREY)
    writer.paragraph(f"{office.street} · {office.postcode} {office.city}", _SMALL, _GREY)
    writer.space(6 * mm)
    writer.paragraph(_("Receipt of your submission"), _TITLE, after=4 * mm)
    _pairs(writer, [
        (_("Reference number"), submission.reference),
        (_("Received on"), format_datetime(submission.submitted_at, "dd.MM.yyyy HH:mm")),
        (_("Concerning"), submission.title),
    ], 0.35)
    for section in sections:
        first_row = (writer.row_height([(section.rows[0][0], _WIDTH * 0.45, _BODY),
                                        (section.rows[0][1] or "–", _WIDTH * 0.55, _BODY)])
                     if section.rows else 0.0)
        # A heading never stands alone at the foot of a page.
        writer.paragraph(section.title, _HEADING, before=5 * mm, after=2 * mm, keep=first_row)
        _pairs(writer, section.rows, 0.45)
    writer.paragraph(_("Documents"), _HEADING, before=5 * mm, after=2 * mm, keep=3 * _BODY[2])
    if not documents:
        writer.paragraph(_("No documents were attached."), _BODY)
    for item in documents:
        writer.row([(f"{item.label}: {item.document.filename}", _WIDTH * 0.38, _BODY),
                    (f"{item.document.size:,} Bytes".replace(",", "."), _WIDTH * 0.17, _BODY),
                    (f"SHA-256 {item.document.sha256}", _WIDTH * 0.45, _SMALL)])
    writer.space(6 * mm)
    writer.paragraph(_(
        "This receipt confirms what reached the office and when. The SHA-256 checksum of each "
        "file lets you and the office show that a document is exactly the one you sent."),
        _SMALL, _GREY)
    writer.finish()
    canvas.save()
    return buffer.getvalue()

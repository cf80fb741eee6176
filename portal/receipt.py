"""The receipt PDF (Eingangsbestätigung): every answer and every document with its SHA-256."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from flask_babel import format_datetime
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import BaseDocTemplate

from amtsweg.config import Office
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


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=16, alignment=0,
                                spaceAfter=4 * mm),
        "heading": ParagraphStyle("heading", parent=base["Heading2"], fontSize=11.5,
                                  spaceBefore=5 * mm, spaceAfter=2 * mm),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontSize=9.5, leading=12.5),
        "small": ParagraphStyle("small", parent=base["BodyText"], fontSize=7.5, leading=9.5,
                                textColor=colors.HexColor("#404565")),
    }


def _table(rows: Sequence[Sequence[Flowable]], widths: list[float]) -> Table:
    table = Table([list(row) for row in rows], colWidths=widths, repeatRows=0)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d3e0")),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # Citizens' answers are text, never markup: escape everything reportlab would interpret.
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render_receipt(office: Office, submission: Submission, sections: Sequence[SummarySection],
                   documents: Sequence[ReceiptDocument]) -> bytes:
    """Build the receipt PDF in memory (a few pages of text; files are only listed)."""
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=22 * mm, bottomMargin=20 * mm,
                            title=_("Receipt %(reference)s", reference=submission.reference),
                            author=office.name)
    width = A4[0] - 40 * mm
    story: list[Flowable] = [
        _p(office.name, styles["small"]),
        _p(f"{office.street} · {office.postcode} {office.city}", styles["small"]),
        Spacer(1, 6 * mm),
        _p(_("Receipt of your submission"), styles["title"]),
        _table([
            [_p(_("Reference number"), styles["body"]), _p(submission.reference, styles["body"])],
            [_p(_("Received on"), styles["body"]),
             _p(format_datetime(submission.submitted_at, "dd.MM.yyyy HH:mm"), styles["body"])],
            [_p(_("Concerning"), styles["body"]), _p(submission.title, styles["body"])],
        ], [width * 0.35, width * 0.65]),
    ]
    for section in sections:
        rows = [[_p(label, styles["body"]), _p(value or "–", styles["body"])]
                for label, value in section.rows]
        block: list[Flowable] = [_p(section.title, styles["heading"])]
        if rows:
            block.append(_table(rows, [width * 0.45, width * 0.55]))
        story.append(KeepTogether(block))
    story.append(_p(_("Documents"), styles["heading"]))
    if documents:
        story.append(_table([
            [_p(f"{item.label}: {item.document.filename}", styles["body"]),
             _p(f"{item.document.size:,} Bytes".replace(",", "."), styles["body"]),
             _p(f"SHA-256 {item.document.sha256}", styles["small"])]
            for item in documents], [width * 0.38, width * 0.17, width * 0.45]))
    else:
        story.append(_p(_("No documents were attached."), styles["body"]))
    story += [Spacer(1, 6 * mm), _p(_(
        "This receipt confirms what reached the office and when. The SHA-256 checksum of each "
        "file lets you and the office show that a document is exactly the one you sent."),
        styles["small"])]
    footer = _("Receipt %(reference)s – page", reference=submission.reference)
    doc.build(story, onFirstPage=_page_number(footer), onLaterPages=_page_number(footer))
    return buffer.getvalue()


def _page_number(label: str):  # type: ignore[no-untyped-def]
    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, f"{label} {doc.page}")
        canvas.restoreState()

    return draw

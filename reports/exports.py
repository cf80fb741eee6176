"""Every table as CSV and XLSX; the yearly UVG report for the state as PDF and XLSX.

CSV is written for German Excel, which is what the office opens it with: UTF-8 with a byte
order mark (without it Excel reads UTF-8 as Windows-1252 and breaks every umlaut), ``;`` as the
separator (Excel-de expects it, because ``,`` is the decimal mark) and amounts as plain decimal
numbers with a decimal comma and no thousands separator ("1234,56"), so Excel reads them as
numbers. Text cells that begin with = + - @ get a leading apostrophe: a value typed by someone
(a staff name, a service code) must never run as a formula in the reader's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from reports.figures import Table
from reports.formatting import euros, format_cell

EURO_FORMAT = '#,##0.00 "€"'
DECIMAL_FORMAT = "#,##0.0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "cents":
        return f"{euros(int(value)):.2f}".replace(".", ",")
    if kind == "count":
        return str(int(value))
    if kind in {"decimal", "hours", "days", "percent"}:
        return f"{float(value):.1f}".replace(".", ",")
    return _safe_text(str(value))


def table_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_safe_text(str(column.label)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(value, column.kind)
                         for value, column in zip(row, table.columns, strict=True)])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _sheet_title(title: str, taken: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ and unique within the workbook.
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:28] or "Tabelle"
    name, number = base, 2
    while name.lower() in taken:
        name = f"{base[:25]} ({number})"
        number += 1
    taken.add(name.lower())
    return name


def _xlsx_value(value: Any, kind: str) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if kind == "cents":
        return euros(int(value)), EURO_FORMAT
    if kind == "count":
        return int(value), "#,##0"
    if kind in {"decimal", "hours", "days", "percent"}:
        return Decimal(f"{float(value):.1f}"), DECIMAL_FORMAT
    return _safe_text(str(value)), None


def tables_xlsx(tables: Sequence[Table], heading: str) -> bytes:
    """One sheet per table: the heading line, bold column headers, euro and number formats."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    taken: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(str(table.title), taken))
        sheet.append([_safe_text(str(table.title))])
        sheet["A1"].font = Font(bold=True, size=12)
        sheet.append([_safe_text(heading)])
        sheet.append([_safe_text(str(column.label)) for column in table.columns])
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        widths = [len(str(column.label)) for column in table.columns]
        for row in table.rows:
            values = [_xlsx_value(value, column.kind)
                      for value, column in zip(row, table.columns, strict=True)]
            sheet.append([value for value, _fmt in values])
            for index, (value, number_format) in enumerate(values):
                if number_format:
                    sheet.cell(row=sheet.max_row, column=index + 1).number_format = number_format
                widths[index] = max(widths[index], len(str(value)) + (4 if number_format else 0))
        if table.note:
            sheet.append([])
            sheet.append([_safe_text(str(table.note))])
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 10), 70)
        sheet.freeze_panes = "A4"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class ReportHeader:
    office: str
    title: str
    subtitle: str
    created_on: date
    created_label: str


def annual_report_pdf(header: ReportHeader, tables: Sequence[Table], locale: str) -> bytes:
    """The yearly UVG report: the office, the year, and each table with its note."""
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11,
                           textColor=colors.HexColor("#444444"))
    heading = ParagraphStyle("heading", parent=body, fontName="Helvetica-Bold", fontSize=11.5,
                             leading=15, spaceBefore=5 * mm, spaceAfter=2 * mm,
                             keepWithNext=True)
    title = ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=15,
                           leading=19, spaceAfter=2 * mm)
    story: list[Flowable] = [
        Paragraph(escape(header.office), small),
        Spacer(1, 4 * mm),
        Paragraph(escape(header.title), title),
        Paragraph(escape(header.subtitle), body),
        Paragraph(escape(f"{header.created_label} {header.created_on:%d.%m.%Y}"), small),
    ]
    for table in tables:
        story.append(Paragraph(escape(str(table.title)), heading))
        data = [[Paragraph(escape(str(column.label)), small) for column in table.columns]]
        for row in table.rows:
            data.append([Paragraph(escape(format_cell(value, column.kind, locale)), body)
                         for value, column in zip(row, table.columns, strict=True)])
        first = 80 * mm if len(table.columns) <= 2 else 55 * mm
        rest = (170 * mm - first) / max(len(table.columns) - 1, 1)
        pdf_table = PdfTable(data, colWidths=[first] + [rest] * (len(table.columns) - 1),
                             repeatRows=1)
        pdf_table.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(pdf_table)
        if table.note:
            story.append(Spacer(1, 1.5 * mm))
            story.append(Paragraph(escape(str(table.note)), small))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                                 topMargin=18 * mm, bottomMargin=18 * mm, title=header.title,
                                 author=header.office)
    document.build(story)
    return buffer.getvalue()

"""1,000 Bescheid PDFs in a row, beside a bare reportlab letter of the same length.

Run: .venv/bin/python -m bench.bescheide [--count 1000]

Both sides render the same text (subject, Tenor, a two-page Begründung, the default
Rechtsbehelfsbelehrung) into A4 PDFs in memory. The Bescheid is ``backoffice.decisions.pdf``:
DIN 5008 letterhead and address window, information block, footer with bank data on every page,
"Seite x von y" (which keeps every page until the end). The baseline is reportlab's
SimpleDocTemplate with the same paragraphs and nothing else. Prints the time per PDF (mean, p50,
p95), the page counts (they must match closely for the comparison to be fair) and the ratio of the
means. Target: ratio ≤ 2. Pure: no database, no Flask.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

from amtsweg.office.services import DEFAULT_REMEDY_TEXT
from backoffice.decisions.pdf import BescheidData, render_bescheid

BEGRUENDUNG = "\n\n".join(
    f"Absatz {number}: Sie haben am 3. November 2026 Unterhaltsvorschuss für Ihr Kind Lea "
    "beantragt. Nach § 1 Abs. 1 UVG hat ein Kind Anspruch, das das zwölfte Lebensjahr noch nicht "
    "vollendet hat und bei einem Elternteil lebt, der ledig, verwitwet oder geschieden ist oder "
    "von seinem Ehegatten dauernd getrennt lebt. Die Unterlagen zeigen, dass diese "
    "Voraussetzungen vorliegen; die Zahlungen des anderen Elternteils werden nach § 2 Abs. 3 "
    "UVG angerechnet." for number in range(1, 13))

REMEDY = (DEFAULT_REMEDY_TEXT
          .replace("${office_name}", "Landratsamt Musterkreis")
          .replace("${office_address}", "Am Landratsamt 1, 97437 Musterstadt")
          .replace("${widerspruchsbehoerde_name}", "Regierung von Unterfranken")
          .replace("${widerspruchsbehoerde_address}", "Peterplatz 9, 97070 Würzburg")
          .replace("${court_name}", "Bayerischen Verwaltungsgericht Würzburg")
          .replace("${court_address}", "Burkarderstraße 26, 97082 Würzburg"))

DATA = BescheidData(
    office_name="Landratsamt Musterkreis", office_address="Am Landratsamt 1, 97437 Musterstadt",
    letterhead_lines=["Landratsamt Musterkreis", "Kreisjugendamt",
                      "Am Landratsamt 1, 97437 Musterstadt"],
    return_address="Landratsamt Musterkreis · Am Landratsamt 1 · 97437 Musterstadt",
    addressee_name="Sabine Müller", addressee_address="Hauptstraße 1\n97437 Haßfurt",
    aktenzeichen="UV-2026-00042", decision_date=date(2026, 11, 26),
    subject="Bescheid über Unterhaltsvorschuss für Lea Müller",
    tenor="Für Ihr Kind Lea wird ab 1. November 2026 Unterhaltsvorschuss in Höhe von 227 € "
          "monatlich bewilligt.\n\nDie Leistung wird monatlich im Voraus gezahlt.",
    begruendung=BEGRUENDUNG, rechtsbehelfsbelehrung=REMEDY,
    signature_line="Im Auftrag\nErika Muster", phone="09521 27-0",
    email="poststelle@musterkreis.example", opening_hours="Mo–Fr 8:00–12:00 Uhr",
    iban="DE02120300000000202051", bic="BYLADEM1001", bank_name="Sparkasse Musterkreis",
)


def bare_letter() -> bytes:
    """The same paragraphs in reportlab's simplest document: no letter layout at all."""
    buffer = io.BytesIO()
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10.5, leading=14.5,
                          spaceAfter=2.5 * mm)
    blocks = [DATA.subject, "Sehr geehrte Damen und Herren,", "Entscheidung", DATA.tenor,
              "Begründung", DATA.begruendung, "Rechtsbehelfsbelehrung", REMEDY,
              "Mit freundlichen Grüßen", DATA.signature_line]
    story: list[Flowable] = [Paragraph(escape(part).replace("\n", "<br/>"), body)
             for block in blocks for part in block.split("\n\n")]
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=25 * mm, rightMargin=20 * mm).build(story)
    return buffer.getvalue()


def bescheid() -> bytes:
    return render_bescheid(DATA)


def measure(render: Callable[[], bytes], count: int) -> tuple[list[float], bytes]:
    render()  # warm-up: fonts and reportlab's caches
    times = []
    pdf = b""
    for _ in range(count):
        start = time.perf_counter()
        pdf = render()
        times.append((time.perf_counter() - start) * 1000)
    return times, pdf


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    for name, render in (("bescheid", bescheid), ("bare letter", bare_letter)):
        times, pdf = measure(render, args.count)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        rows.append((name, statistics.mean(times), percentile(times, 0.5),
                     percentile(times, 0.95), pages, len(pdf)))
    print(f"{args.count} PDFs each, time per PDF in ms")
    print(f"{'':12} {'mean':>7} {'p50':>7} {'p95':>7} {'pages':>5} {'bytes':>7}")
    for name, mean, p50, p95, pages, size in rows:
        print(f"{name:12} {mean:7.2f} {p50:7.2f} {p95:7.2f} {pages:5} {size:7}")
    ratio = rows[0][1] / rows[1][1]
    print(f"ratio bescheid / bare (mean): {ratio:.2f}  (target ≤ 2)")


if __name__ == "__main__":
    main()

"""The printable sheet of binding codes (A4 landscape, one row per lab), for the centre to mail or hand out.
A cell holding a link (a WeChat binding QR's content) is printed as the QR code itself, to be scanned."""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from storage.pdf import find_cjk_font

QR_SIDE = 26 * mm


def _qr(url: str) -> Drawing:
    widget = QrCodeWidget(url, barBorder=2)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(QR_SIDE, QR_SIDE, transform=[QR_SIDE / (x1 - x0), 0, 0, QR_SIDE / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def code_sheet(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    font = find_cjk_font().name
    cell = ParagraphStyle("codes-cell", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    head = ParagraphStyle("codes-title", fontName=font, fontSize=14, leading=20, spaceAfter=6)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
    )
    data = [[Paragraph(escape(str(v)), cell) for v in header]]
    data += [
        [_qr(str(v)) if str(v).startswith(("https://", "http://")) else Paragraph(escape(str(v)), cell) for v in row]
        for row in rows
    ]
    table = Table(data, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    doc.build([Paragraph(escape(title), head), table])
    return out.getvalue()

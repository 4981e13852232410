"""The printable sheet of binding codes (A4 landscape, one row per lab), for the centre to mail or hand out."""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from storage.pdf import find_cjk_font


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
    data += [[Paragraph(escape(str(v)), cell) for v in row] for row in rows]
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

"""Generated PDFs: the fee-deferral agreement (to print, sign and stamp) and the submission receipt.

Chinese needs a CJK font. :func:`find_cjk_font` prefers an embeddable TrueType font (WenQuanYi
Micro Hei / Zen Hei on Debian: ``apt-get install fonts-wqy-microhei``) so the PDF looks the same
everywhere; without one it falls back to reportlab's built-in ``STSong-Light`` CID font, which is
*not embedded* (viewers substitute a local Song/Ming font; poppler needs ``poppler-data``).
CFF-flavoured OpenType fonts (Noto Sans CJK, Source Han) cannot be used by reportlab.

The texts of the agreement (title, body) come from the campaign file; the few fixed labels of the
printed form are Chinese on purpose: it is an official document of a Chinese centre.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from storage.images import AGREEMENT_PDF_MARKER

__all__ = [
    "FONT_ENV",
    "AgreementData",
    "FontChoice",
    "ReceiptData",
    "find_cjk_font",
    "render_agreement",
    "render_receipt",
]

FONT_ENV = "EQA_PDF_FONT"
CID_FALLBACK = "STSong-Light"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# TrueType-outline CJK fonts at the usual Debian/Fedora/Arch paths; .ttc collections use face 0.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


@dataclass(frozen=True)
class FontChoice:
    name: str  # the name registered with reportlab
    path: str | None  # the font file; None for the built-in CID font
    subfont_index: int = 0
    embedded: bool = True  # False for STSong-Light: viewers substitute a local font


@dataclass(frozen=True)
class AgreementData:
    centre: str  # 河南省临床检验中心
    title: str  # 2025年度室间质量评价活动质评费用缓交协议
    year: int
    lab_code: str
    lab_name: str
    institution: str  # institution type display name
    specialties: Sequence[str]  # display names of the chosen specialties
    body: Sequence[str]  # paragraphs of the agreement text (from the campaign file)
    generated_on: date
    document_id: str  # short reference printed in the footer, to match scans to labs
    # The printed words, from the message catalogue (`pdf-*`), as str.format templates: the renderer fills
    # {page}, {document_id}, {year}, {count}, {centre}, {lab_name}, {lab_code}, {date}.
    labels: Mapping[str, str]


@dataclass(frozen=True)
class ReceiptData:
    centre: str
    title: str
    year: int
    lab_code: str
    lab_name: str
    submitted_at: datetime  # aware; a naive value is taken as UTC (how the database stores it)
    revision: int
    receipt_no: str
    sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]  # (heading, [(label, value), ...])
    note: Sequence[str]  # closing paragraphs
    labels: Mapping[str, str]  # as for AgreementData; filled: {page}, {when}, {revision}, {centre}, {receipt_no}


# --------------------------------------------------------------------------- fonts

_register_lock = threading.Lock()


@lru_cache(maxsize=8)
def _register_ttf(path: str, subfont_index: int) -> FontChoice:
    name = f"EqaCJK-{Path(path).stem}-{subfont_index}"
    with _register_lock:
        try:
            font = TTFont(name, path, subfontIndex=subfont_index)
        except Exception as exc:  # reportlab raises TTFError and others for unusable fonts
            raise ValueError(f"{path} is not a usable TrueType CJK font (CFF/OTF fonts are not): {exc}") from exc
        pdfmetrics.registerFont(font)
        pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
    return FontChoice(name=name, path=path, subfont_index=subfont_index, embedded=True)


@lru_cache(maxsize=1)
def _register_cid() -> FontChoice:
    with _register_lock:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
        pdfmetrics.registerFontFamily(
            CID_FALLBACK, normal=CID_FALLBACK, bold=CID_FALLBACK, italic=CID_FALLBACK, boldItalic=CID_FALLBACK
        )
    return FontChoice(name=CID_FALLBACK, path=None, subfont_index=0, embedded=False)


def cid_font() -> FontChoice:
    """reportlab's built-in STSong-Light: always available, never embedded (see module doc)."""
    return _register_cid()


def find_cjk_font(explicit_path: str | None = None) -> FontChoice:
    """The CJK font to render with.

    Order: ``explicit_path``, then the ``EQA_PDF_FONT`` environment variable, then WenQuanYi
    Micro Hei / Zen Hei (and AR PL UMing) at the usual paths, then the built-in
    ``STSong-Light`` CID font, which is not embedded in the PDF: readers substitute a local
    font, so the look varies and a machine without CJK fonts may show nothing.
    An explicitly configured path that is missing or unusable raises (FileNotFoundError,
    ValueError) rather than silently falling back. ``.ttc`` collections use face 0.
    """
    configured = explicit_path or os.environ.get(FONT_ENV) or None
    if configured:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"CJK font not found: {configured}")
        return _register_ttf(configured, 0)
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            try:
                return _register_ttf(candidate, 0)
            except ValueError:
                continue
    return _register_cid()


# --------------------------------------------------------------------------- styles and helpers


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    reference: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle
    label: ParagraphStyle
    note: ParagraphStyle


@lru_cache(maxsize=8)
def _styles(font: str) -> _Styles:
    base = ParagraphStyle("eqa-base", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return _Styles(
        title=ParagraphStyle("eqa-title", parent=base, fontSize=17, leading=25, alignment=TA_CENTER, spaceAfter=2),
        reference=ParagraphStyle(
            "eqa-ref", parent=base, fontSize=9, leading=12, alignment=TA_RIGHT, textColor=colors.HexColor("#555555")
        ),
        heading=ParagraphStyle("eqa-heading", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4),
        body=ParagraphStyle("eqa-body", parent=base, fontSize=11, leading=18, firstLineIndent=22, spaceAfter=3),
        cell=ParagraphStyle("eqa-cell", parent=base, fontSize=10.5, leading=15),
        label=ParagraphStyle("eqa-label", parent=base, fontSize=10.5, leading=15, textColor=colors.HexColor("#333333")),
        note=ParagraphStyle("eqa-note", parent=base, fontSize=9.5, leading=15, textColor=colors.HexColor("#444444")),
    )


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    # Paragraph takes markup: user data must be escaped, and newlines kept as line breaks.
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


_GRID = colors.HexColor("#888888")
_SHADE = colors.HexColor("#EEEEEE")
_MARGIN_X = 20 * mm
_MARGIN_TOP = 18 * mm
_MARGIN_BOTTOM = 24 * mm  # room for the footer reference and QR code
_FRAME_PADDING = 6  # pt: SimpleDocTemplate's frame pads each side, tables must fit inside


def _label(labels: Mapping[str, str], key: str, **values: object) -> str:
    return labels[key].format(**values)


def _footer(font: FontChoice, left: str, page: str, qr_payload: str | None = None) -> Any:
    def draw(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font.name, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        width, _ = A4
        y = 12 * mm
        canvas.drawString(_MARGIN_X, y, left)
        canvas.drawRightString(width - _MARGIN_X - (18 * mm if qr_payload else 0), y, page.format(page=doc.page))
        canvas.setStrokeColor(colors.HexColor("#BBBBBB"))
        canvas.setLineWidth(0.5)
        canvas.line(_MARGIN_X, y + 4 * mm, width - _MARGIN_X, y + 4 * mm)
        if qr_payload:
            size = 15 * mm
            widget = QrCodeWidget(qr_payload, barLevel="M")
            x0, y0, x1, y1 = widget.getBounds()
            drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
            drawing.add(widget)
            renderPDF.draw(drawing, canvas, width - _MARGIN_X - size, 4 * mm)
        canvas.restoreState()

    return draw


def _document(out: io.BytesIO, *, title: str, author: str, subject: str, keywords: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN_X,
        rightMargin=_MARGIN_X,
        topMargin=_MARGIN_TOP,
        bottomMargin=_MARGIN_BOTTOM,
        title=title,
        author=author,
        subject=subject,
        keywords=keywords,
        creator="eqa-bot",
    )


def _table(rows: list[list[Any]], widths: list[float], font: str, *, header: bool, grid: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), font),  # for plain-string cells; never Helvetica
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if grid:
        style.append(("GRID", (0, 0), (-1, -1), 0.6, _GRID))
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), _SHADE))
    table.setStyle(TableStyle(style))
    return table


# --------------------------------------------------------------------------- agreement


class _SignatureBlock(Flowable):
    """The department head's signature box and the larger official-seal box, with a date line.

    On the page where the text ends it takes the rest of the page and draws at its foot; when
    less than its own height is left it starts the next page, at the top.
    """

    SEAL_HEIGHT = 47 * mm  # a standard round seal is 42 mm across
    SIGN_HEIGHT = 28 * mm
    DATE_SPACE = 10 * mm
    MIN_HEIGHT = SEAL_HEIGHT + DATE_SPACE + 2 * mm

    def __init__(self, font: FontChoice, frame_height: float, labels: Mapping[str, str]) -> None:
        super().__init__()
        self.font = font
        self.labels = labels
        self.frame_height = frame_height
        self.width = 0.0
        self.height = self.MIN_HEIGHT

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        at_page_top = availHeight >= self.frame_height - 10 * mm  # (the frame pads 6 pt a side)
        if availHeight < self.MIN_HEIGHT or at_page_top:
            self.height = self.MIN_HEIGHT
        else:
            # A hair under the space left: a flowable exactly as tall as the frame may be refused.
            self.height = availHeight - 0.5
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        w = self.width
        date_y = 2 * mm
        box_bottom = date_y + self.DATE_SPACE
        top = box_bottom + self.SEAL_HEIGHT
        c.saveState()
        c.setStrokeColor(colors.black)
        c.setLineWidth(1.2)
        c.setFont(self.font.name, 11)
        # Signature box (left).
        sign_w = 0.44 * w
        c.rect(0, top - self.SIGN_HEIGHT, sign_w, self.SIGN_HEIGHT)
        c.drawString(3 * mm, top - 7 * mm, self.labels["pdf-signature"])
        # Seal box (right, larger), with a faint circle showing where to stamp.
        seal_x = 0.5 * w
        seal_w = w - seal_x
        c.rect(seal_x, box_bottom, seal_w, self.SEAL_HEIGHT)
        c.drawString(seal_x + 3 * mm, top - 7 * mm, self.labels["pdf-seal"])
        c.setStrokeColor(colors.HexColor("#C8C8C8"))
        c.setLineWidth(0.6)
        c.setDash(3, 3)
        cx, cy = seal_x + seal_w / 2, box_bottom + self.SEAL_HEIGHT / 2 - 2 * mm
        c.circle(cx, cy, 21 * mm)
        c.setDash()
        c.setFillColor(colors.HexColor("#A0A0A0"))
        c.setFont(self.font.name, 8)
        c.drawCentredString(cx, cy - 1.5 * mm, self.labels["pdf-seal-hint"])
        # Date line, under both boxes.
        c.setFillColor(colors.black)
        c.setFont(self.font.name, 11)
        c.drawString(0, date_y + 2 * mm, self.labels["pdf-date-line"])
        c.restoreState()


def render_agreement(data: AgreementData, *, font: FontChoice | None = None) -> bytes:
    """The lab's pre-filled fee-deferral agreement (A4) to print, sign and stamp."""
    L = data.labels
    font = font or find_cjk_font()
    st = _styles(font.name)
    out = io.BytesIO()
    doc = _document(
        out,
        title=data.title,
        author=data.centre,
        subject=f"{data.lab_code} {data.lab_name}",
        keywords=f"{AGREEMENT_PDF_MARKER} {data.document_id}",
    )
    width = doc.width - 2 * _FRAME_PADDING
    story: list[Flowable] = [
        _p(data.title, st.title),
        _p(_label(L, "pdf-agreement-reference", document_id=data.document_id), st.reference),
        Spacer(1, 4 * mm),
    ]
    parties = [
        [_p(L["pdf-party-a"], st.label), _p(data.centre, st.cell)],
        [_p(L["pdf-party-b"], st.label), _p(data.lab_name, st.cell)],
        [_p(L["pdf-lab-code"], st.label), _p(data.lab_code, st.cell)],
    ]
    if data.institution:
        parties.append([_p(L["pdf-institution"], st.label), _p(data.institution, st.cell)])
    story.append(_table(parties, [30 * mm, width - 30 * mm], font.name, header=False, grid=False))

    heading = _label(L, "pdf-specialties-heading", year=data.year, count=len(data.specialties))
    story.append(_p(heading, st.heading))
    # Three specialties per row keeps the whole list short; each name wraps inside its cell.
    per_row = 3
    num_w = 13 * mm
    name_w = width / per_row - num_w
    rows: list[list[Any]] = [[_p(L["pdf-column-number"], st.cell), _p(L["pdf-column-specialty"], st.cell)] * per_row]
    names = list(data.specialties)
    if not names:
        rows.append([_p("—", st.cell), _p(L["pdf-no-specialty"], st.cell)] + [""] * (2 * per_row - 2))
    for start in range(0, len(names), per_row):
        row: list[Any] = []
        for i in range(start, start + per_row):
            row += [_p(i + 1, st.cell), _p(names[i], st.cell)] if i < len(names) else ["", ""]
        rows.append(row)
    story.append(_table(rows, [num_w, name_w] * per_row, font.name, header=True))
    story.append(Spacer(1, 4 * mm))

    story.extend(_p(paragraph, st.body) for paragraph in data.body if paragraph.strip())
    story.append(Spacer(1, 2 * mm))
    story.append(_p(_label(L, "pdf-signed-a", centre=data.centre), st.cell))
    story.append(_p(_label(L, "pdf-signed-b", lab_name=data.lab_name), st.cell))
    story.append(_p(_label(L, "pdf-generated-on", date=data.generated_on.isoformat()), st.note))
    story.append(Spacer(1, 2 * mm))
    story.append(_SignatureBlock(font, doc.height, L))

    left = _label(L, "pdf-agreement-footer", centre=data.centre, lab_code=data.lab_code, document_id=data.document_id)
    footer = _footer(font, left, L["pdf-page"], data.document_id)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


# --------------------------------------------------------------------------- receipt


def _shanghai(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI)


def render_receipt(data: ReceiptData, *, font: FontChoice | None = None) -> bytes:
    """The receipt for a submission: what was sent, when (Beijing time), which revision."""
    L = data.labels
    font = font or find_cjk_font()
    st = _styles(font.name)
    out = io.BytesIO()
    doc = _document(
        out,
        title=data.title,
        author=data.centre,
        subject=f"{data.lab_code} {data.lab_name} {data.receipt_no}",
        keywords=f"eqa-bot:receipt {data.receipt_no}",
    )
    width = doc.width - 2 * _FRAME_PADDING
    label_w = 34 * mm
    when = _shanghai(data.submitted_at).strftime("%Y-%m-%d %H:%M")
    story: list[Flowable] = [_p(data.title, st.title), Spacer(1, 3 * mm)]
    head = [
        [_p(L["pdf-receipt-number"], st.label), _p(data.receipt_no, st.cell)],
        [_p(L["pdf-receipt-lab"], st.label), _p(f"{data.lab_code}　{data.lab_name}", st.cell)],
        [_p(L["pdf-receipt-time"], st.label), _p(_label(L, "pdf-receipt-time-value", when=when), st.cell)],
        [
            _p(L["pdf-receipt-revision"], st.label),
            _p(_label(L, "pdf-receipt-revision-value", revision=data.revision), st.cell),
        ],
        [_p(L["pdf-receipt-issuer"], st.label), _p(data.centre, st.cell)],
    ]
    story.append(_table(head, [label_w, width - label_w], font.name, header=False))
    for heading, fields in data.sections:
        rows = [[_p(label, st.label), _p(value if str(value).strip() else "—", st.cell)] for label, value in fields]
        if not rows:
            continue
        # The heading stays with the start of its table.
        widths = [label_w, width - label_w]
        story.append(KeepTogether([_p(heading, st.heading), _table(rows[:3], widths, font.name, header=False)]))
        if len(rows) > 3:
            story.append(_table(rows[3:], widths, font.name, header=False))
    if data.note:
        story.append(Spacer(1, 4 * mm))
        story.extend(_p(paragraph, st.note) for paragraph in data.note if paragraph.strip())
    left = _label(L, "pdf-receipt-footer", centre=data.centre, receipt_no=data.receipt_no)
    footer = _footer(font, left, L["pdf-page"])
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()

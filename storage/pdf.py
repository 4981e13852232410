"""Generated PDFs: the fee-deferral agreement (to print, sign and stamp) and the submission receipt.

Chinese needs a CJK font. :func:`find_cjk_font` prefers an embeddable TrueType font (WenQuanYi
Micro Hei / Zen Hei on Debian: ``apt-get install fonts-wqy-microhei``) so the PDF looks the same
everywhere; without one it falls back to reportlab's built-in ``STSong-Light`` CID font, which is
*not embedded* (viewers substitute a local Song/Ming font; poppler needs ``poppler-data``).
CFF-flavoured OpenType fonts (Noto Sans CJK, Source Han) cannot be used by reportlab.

The texts of the agreement (title, body) come from the campaign file; the few fixed labels of the
printed form are Chinese on purpose: it is an official document of a Chinese centre.

What a reader of a returned scan can rely on (see :func:`parse_qr_payload` and :func:`agreement_boxes`):

* every page carries, in the footer's right corner, a QR code whose text is the document's identity
  (kind, campaign year, lab code, document number, page n of N; format in :func:`qr_payload`), and the
  printed document number in the footer's left part;
* on the agreement, the signature and seal block always stands at the foot of the last page, so the
  department head's signature box and the official-seal box are at fixed page positions
  (:func:`agreement_boxes`, in PDF points on an A4 page).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from PIL import Image
from reportlab.graphics.barcode import qrencoder
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
    "QR_PREFIX",
    "AgreementBoxes",
    "AgreementData",
    "Box",
    "FontChoice",
    "QrPayload",
    "ReceiptData",
    "agreement_boxes",
    "find_cjk_font",
    "parse_qr_payload",
    "qr_image_modules",
    "qr_payload",
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
    centre: str  # 河南省临床检验中心 (甲方)
    title: str  # 2025年度室间质量评价活动质评费用缓交协议
    year: int
    lab_code: str
    lab_name: str  # the department (检验科 …), printed beneath the institution
    institution: str  # institution type display name
    specialties: Sequence[str]  # display names of the chosen specialties
    body: Sequence[str]  # paragraphs of the agreement text (from the campaign file)
    generated_on: date
    document_id: str  # the document number printed on every page and carried by its QR code
    # The printed words, from the message catalogue (`pdf-*`), as str.format templates: the renderer fills
    # {page}, {pages}, {document_id}, {year}, {count}, {centre}, {lab_name}, {lab_code}, {date}.
    labels: Mapping[str, str]
    # 乙方: the institution (单位) whose official seal goes on the form; empty → the lab's name.
    organisation: str = ""
    credit_code: str = ""  # the institution's unified social credit code
    address: str = ""
    head: str = ""  # the department head (科室负责人) named in step 2, printed at the signature


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
    labels: Mapping[str, str]  # as for AgreementData; filled: {page}, {pages}, {when}, {revision}, {centre}, …


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


# --------------------------------------------------------------------------- the document's identity (QR)

QR_PREFIX = "EQA1"
_QR_KINDS = ("agreement", "receipt")


@dataclass(frozen=True)
class QrPayload:
    """What the QR code in a page's footer says: which document, whose, which page of how many."""

    kind: str  # "agreement" | "receipt"
    year: int  # the campaign year
    lab_code: str
    document_no: str  # the number printed in the footer (AgreementData.document_id, ReceiptData.receipt_no)
    page: int  # 1-based
    pages: int


def qr_payload(payload: QrPayload) -> str:
    """The QR code's text: ``EQA1|<kind>|<year>|<lab code>|<document no.>|<page>/<pages>``.

    Example: ``EQA1|agreement|2025|HN0371-0007|henan-2025-HN0371-0007|1/1``. The lab code and the
    document number are percent-encoded (UTF-8; letters, digits and ``-._~`` stay as they are), so a
    ``|`` or ``/`` never occurs inside a field. :func:`parse_qr_payload` reads it back.
    """
    fields = (
        QR_PREFIX,
        payload.kind,
        str(payload.year),
        quote(payload.lab_code, safe="-._~"),
        quote(payload.document_no, safe="-._~"),
        f"{payload.page}/{payload.pages}",
    )
    return "|".join(fields)


def parse_qr_payload(text: str) -> QrPayload:
    """The identity a decoded QR text carries (see :func:`qr_payload`); ValueError when it is not ours."""
    parts = text.strip().split("|")
    if len(parts) != 6 or parts[0] != QR_PREFIX:
        raise ValueError("not an eqa-bot document code")
    _, kind, year, lab_code, document_no, position = parts
    page, sep, pages = position.partition("/")
    if kind not in _QR_KINDS or not year.isdigit() or not sep or not page.isdigit() or not pages.isdigit():
        raise ValueError("malformed eqa-bot document code")
    number, total = int(page), int(pages)
    if not 1 <= number <= total:
        raise ValueError("page number out of range")
    return QrPayload(kind, int(year), unquote(lab_code), unquote(document_no), number, total)


# A fixed mask pattern: choosing the "best" of the 8 costs 8 trial encodings (~9 ms in pure Python, most of
# a PDF's time) and only tunes the module pattern; every decoder reads the mask from the format bits.
_QR_MASK = 0
_QR_QUIET = 4  # modules of white border the standard asks for
_QR_SCALE = 4  # image pixels per module


@lru_cache(maxsize=512)
def _qr_image(text: str) -> Image.Image:
    """The code encoded once, as a 1-bit image with its quiet zone (one image is far cheaper to write than
    hundreds of rectangles)."""
    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.version = qr.calculate_version()
    qr.makeImpl(False, _QR_MASK)
    n = qr.getModuleCount()
    side = n + 2 * _QR_QUIET
    image = Image.new("1", (side, side), 1)
    pixels = image.load()
    assert pixels is not None
    for row in range(n):
        for col in range(n):
            if qr.isDark(row, col):
                pixels[col + _QR_QUIET, row + _QR_QUIET] = 0
    # Viewers smooth an upscaled image: enlarged here (nearest neighbour) the modules stay sharp.
    return image.resize((side * _QR_SCALE, side * _QR_SCALE), Image.Resampling.NEAREST)


def qr_image_modules(text: str) -> tuple[int, int]:
    """(modules across the symbol, modules of quiet zone each side) of the code drawn for ``text``."""
    return _qr_image(text).width // _QR_SCALE - 2 * _QR_QUIET, _QR_QUIET


def _draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code filling the square (x, y, size), quiet zone included. Inline, not an image XObject: the
    upload pre-check takes an XObject image in our own download for a scan (storage.images)."""
    canvas.drawInlineImage(_qr_image(text), x, y, size, size)


# --------------------------------------------------------------------------- page geometry

_GRID = colors.HexColor("#888888")
_SHADE = colors.HexColor("#EEEEEE")
_PAGE_W, _PAGE_H = A4
_MARGIN_X = 20 * mm
_MARGIN_TOP = 18 * mm
_MARGIN_BOTTOM = 24 * mm  # room for the footer reference and QR code
_FRAME_PADDING = 6  # pt: SimpleDocTemplate's frame pads each side, tables must fit inside
_TEXT_X = _MARGIN_X + _FRAME_PADDING
_TEXT_W = _PAGE_W - 2 * _TEXT_X
_TEXT_BOTTOM = _MARGIN_BOTTOM + _FRAME_PADDING
_QR_SIZE = 18 * mm
_QR_Y = 3 * mm


@dataclass(frozen=True)
class Box:
    """A rectangle on the page in PDF points, origin at the bottom-left corner (PDF's own convention)."""

    x: float
    y: float
    width: float
    height: float

    def fractions(self, page_width: float, page_height: float) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) as fractions of the page, origin top-left: multiply by a scan's
        pixel width and height to find the box in an image of the whole page."""
        return (
            self.x / page_width,
            1 - (self.y + self.height) / page_height,
            (self.x + self.width) / page_width,
            1 - self.y / page_height,
        )


@dataclass(frozen=True)
class AgreementBoxes:
    """Where the agreement asks for ink, on its last page (the signing block always stands at that page's
    foot, whatever the number of specialties)."""

    page_width: float  # A4: 595.3 pt
    page_height: float  # A4: 841.9 pt
    signature: Box  # the department head (科室负责人) signs here
    seal: Box  # the institution's official seal (单位公章) goes here; the guide circle is centred in it
    qr: Box  # the footer QR code of each page (see parse_qr_payload)


class _Sign:
    """The signing block's geometry, relative to its own bottom-left corner."""

    SEAL_HEIGHT = 45 * mm  # a standard round seal is 42 mm across
    SIGN_HEIGHT = 26 * mm
    DATE_SPACE = 9 * mm
    HEIGHT = SEAL_HEIGHT + DATE_SPACE + 2 * mm
    SIGN_WIDTH = 0.46 * _TEXT_W
    SEAL_X = 0.5 * _TEXT_W
    SEAL_WIDTH = _TEXT_W - SEAL_X
    BOX_BOTTOM = DATE_SPACE


def agreement_boxes() -> AgreementBoxes:
    """The signature and seal boxes of the agreement (the last page's), and the footer QR code, in PDF points.

    Fixed by the layout: the signing block is drawn at the foot of the text frame of the last page."""
    top = _TEXT_BOTTOM + _Sign.BOX_BOTTOM + _Sign.SEAL_HEIGHT
    return AgreementBoxes(
        page_width=_PAGE_W,
        page_height=_PAGE_H,
        signature=Box(_TEXT_X, top - _Sign.SIGN_HEIGHT, _Sign.SIGN_WIDTH, _Sign.SIGN_HEIGHT),
        seal=Box(_TEXT_X + _Sign.SEAL_X, _TEXT_BOTTOM + _Sign.BOX_BOTTOM, _Sign.SEAL_WIDTH, _Sign.SEAL_HEIGHT),
        qr=Box(_PAGE_W - _MARGIN_X - _QR_SIZE, _QR_Y, _QR_SIZE, _QR_SIZE),
    )


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
    party: ParagraphStyle


@lru_cache(maxsize=8)
def _styles(font: str) -> _Styles:
    # wordWrap="CJK" breaks Chinese between any two characters but never before 。，、）」 and the like.
    base = ParagraphStyle("eqa-base", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return _Styles(
        title=ParagraphStyle("eqa-title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=2),
        reference=ParagraphStyle(
            "eqa-ref", parent=base, fontSize=9, leading=12, alignment=TA_RIGHT, textColor=colors.HexColor("#555555")
        ),
        heading=ParagraphStyle("eqa-heading", parent=base, fontSize=12, leading=17, spaceBefore=6, spaceAfter=4),
        body=ParagraphStyle("eqa-body", parent=base, fontSize=11, leading=17, firstLineIndent=22, spaceAfter=2),
        cell=ParagraphStyle("eqa-cell", parent=base, fontSize=10.5, leading=14),
        label=ParagraphStyle("eqa-label", parent=base, fontSize=10, leading=14, textColor=colors.HexColor("#333333")),
        note=ParagraphStyle("eqa-note", parent=base, fontSize=9.5, leading=15, textColor=colors.HexColor("#444444")),
        party=ParagraphStyle("eqa-party", parent=base, fontSize=10.5, leading=14),
    )


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    # Paragraph takes markup: user data must be escaped, and newlines kept as line breaks.
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _label(labels: Mapping[str, str], key: str, **values: object) -> str:
    return labels[key].format(**values)


def _after(label: str, value: str) -> str:
    # "乙方（盖章）：X" but "Party B (seal): X" (Fluent trims a message's trailing space).
    return label + value if not label[-1:].isascii() else f"{label} {value}"


FooterFn = Callable[[Canvas, int, int], None]


def _footer(font: FontChoice, left: str, page: str, qr: Callable[[int, int], str] | None = None) -> FooterFn:
    """Draws one page's footer, knowing the page count: the reference, "page n / N", the QR code."""

    def draw(canvas: Canvas, number: int, total: int) -> None:
        canvas.saveState()
        canvas.setFont(font.name, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        y = 12 * mm
        right = _PAGE_W - _MARGIN_X - (_QR_SIZE + 2 * mm if qr else 0)
        canvas.drawString(_MARGIN_X, y, left)
        canvas.drawRightString(right, y, page.format(page=number, pages=total))
        canvas.setStrokeColor(colors.HexColor("#BBBBBB"))
        canvas.setLineWidth(0.5)
        canvas.line(_MARGIN_X, y + 4 * mm, right, y + 4 * mm)
        canvas.restoreState()
        if qr:
            _draw_qr(canvas, qr(number, total), _PAGE_W - _MARGIN_X - _QR_SIZE, _QR_Y, _QR_SIZE)

    return draw


def _canvas_with(footer: FooterFn) -> type[Canvas]:
    """A canvas that holds the pages back until the end, so each footer can say "page n of N"."""

    class FooterCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                footer(self, number, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return FooterCanvas


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


def _table(
    rows: list[list[Any]],
    widths: list[float],
    font: str,
    *,
    header: bool,
    grid: bool = True,
    extra: Sequence[tuple[Any, ...]] = (),
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), font),  # for plain-string cells; never Helvetica
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        *extra,
    ]
    if grid:
        style.append(("GRID", (0, 0), (-1, -1), 0.6, _GRID))
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), _SHADE))
    table.setStyle(TableStyle(style))
    return table


# --------------------------------------------------------------------------- agreement


class _SignatureBlock(Flowable):
    """Where the agreement is signed: 甲方 and 乙方 named, the department head's signature box with the
    head's printed name, the larger official-seal box, and the date line.

    It claims its own height only (so it can be kept together with the last paragraph) and draws itself at
    the foot of the frame: on the page it lands on, nothing follows it, and its boxes stand at the fixed
    positions :func:`agreement_boxes` gives.
    """

    def __init__(
        self, font: FontChoice, st: _Styles, labels: Mapping[str, str], party_a: str, party_b: str, head: str
    ) -> None:
        super().__init__()
        self.font = font
        self.st = st
        self.labels = labels
        self.party_a = party_a
        self.party_b = party_b
        self.head = head
        self.width = _TEXT_W
        self.height = _Sign.HEIGHT

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        L = self.labels
        # Down to the frame's foot (this flowable is the story's last).
        _, here = c.absolutePosition(0, 0)
        c.saveState()
        c.translate(0, _TEXT_BOTTOM - here)
        box_bottom = _Sign.BOX_BOTTOM
        top = box_bottom + _Sign.SEAL_HEIGHT
        c.setStrokeColor(colors.black)
        c.setLineWidth(1.2)
        # Signature box (left, upper part), the head's printed name at its foot.
        c.rect(0, top - _Sign.SIGN_HEIGHT, _Sign.SIGN_WIDTH, _Sign.SIGN_HEIGHT)
        c.setFont(self.font.name, 11)
        c.drawString(3 * mm, top - 7 * mm, L["pdf-signature"])
        c.setFont(self.font.name, 10)
        c.drawString(3 * mm, top - _Sign.SIGN_HEIGHT + 3 * mm, _after(L["pdf-head-name"], self.head or "__________"))
        # The parties under the signature box (wrapped: an institution's name can be long).
        parties = [_p(self.party_a, self.st.party), _p(self.party_b, self.st.party)]
        y = top - _Sign.SIGN_HEIGHT - 2 * mm
        for para in parties:
            _, h = para.wrap(_Sign.SIGN_WIDTH, y)
            y -= h
            para.drawOn(c, 0, y)
            y -= 1 * mm
        # Seal box (right, larger), with a faint circle showing where to stamp.
        c.setStrokeColor(colors.black)
        c.setLineWidth(1.2)
        c.rect(_Sign.SEAL_X, box_bottom, _Sign.SEAL_WIDTH, _Sign.SEAL_HEIGHT)
        c.setFont(self.font.name, 11)
        c.setFillColor(colors.black)
        c.drawString(_Sign.SEAL_X + 3 * mm, top - 7 * mm, L["pdf-seal"])
        c.setStrokeColor(colors.HexColor("#C8C8C8"))
        c.setLineWidth(0.6)
        c.setDash(3, 3)
        cx, cy = _Sign.SEAL_X + _Sign.SEAL_WIDTH / 2, box_bottom + _Sign.SEAL_HEIGHT / 2 - 2 * mm
        c.circle(cx, cy, 20 * mm)
        c.setDash()
        c.setFillColor(colors.HexColor("#A0A0A0"))
        c.setFont(self.font.name, 8)
        c.drawCentredString(cx, cy - 1.5 * mm, L["pdf-seal-hint"])
        # Date line, under both boxes.
        c.setFillColor(colors.black)
        c.setFont(self.font.name, 11)
        c.drawString(0, 2 * mm, L["pdf-date-line"])
        c.restoreState()


def render_agreement(data: AgreementData, *, font: FontChoice | None = None) -> bytes:
    """The lab's pre-filled fee-deferral agreement (A4) to print, sign and stamp.

    乙方 is the institution (its seal goes on the form) with the department beneath; all 16 specialties
    fit on one page with the signing block, which otherwise moves to the next page together with the
    last paragraph of the text (never alone). Every page's footer carries the document number and a QR
    code (see :func:`qr_payload`); the signing boxes are where :func:`agreement_boxes` says.
    """
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
    width = _TEXT_W
    organisation = data.organisation.strip() or data.lab_name
    reference = _label(L, "pdf-agreement-reference", document_id=data.document_id, date=data.generated_on.isoformat())
    story: list[Flowable] = [_p(data.title, st.title), _p(reference, st.reference), Spacer(1, 3 * mm)]

    # The parties: label | value, with the credit code and the lab code side by side.
    label_w, code_label_w = 36 * mm, 27 * mm
    value_w = (width - label_w - code_label_w) * 0.55
    widths = [label_w, value_w, code_label_w, width - label_w - value_w - code_label_w]
    rows: list[list[Any]] = []
    spans: list[tuple[Any, ...]] = []

    def full(label: str, value: str) -> None:
        spans.append(("SPAN", (1, len(rows)), (3, len(rows))))
        rows.append([_p(label, st.label), _p(value or "—", st.cell), "", ""])

    full(L["pdf-party-a"], data.centre)
    full(L["pdf-party-b"], organisation)
    if organisation != data.lab_name:
        full(L["pdf-department"], data.lab_name)
    rows.append(
        [
            _p(L["pdf-credit-code"], st.label),
            _p(data.credit_code or "—", st.cell),
            _p(L["pdf-lab-code"], st.label),
            _p(data.lab_code, st.cell),
        ]
    )
    full(L["pdf-address"], data.address)
    if data.institution:
        full(L["pdf-institution"], data.institution)
    story.append(_table(rows, widths, font.name, header=False, grid=False, extra=spans))

    heading = _label(L, "pdf-specialties-heading", year=data.year, count=len(data.specialties))
    story.append(_p(heading, st.heading))
    # Three specialties per row keeps the whole list short; each name wraps inside its cell.
    per_row = 3
    num_w = 12 * mm
    name_w = width / per_row - num_w
    table: list[list[Any]] = [[_p(L["pdf-column-number"], st.cell), _p(L["pdf-column-specialty"], st.cell)] * per_row]
    names = list(data.specialties)
    if not names:
        table.append([_p("—", st.cell), _p(L["pdf-no-specialty"], st.cell)] + [""] * (2 * per_row - 2))
    for start in range(0, len(names), per_row):
        row: list[Any] = []
        for i in range(start, start + per_row):
            row += [_p(i + 1, st.cell), _p(names[i], st.cell)] if i < len(names) else ["", ""]
        table.append(row)
    story.append(_table(table, [num_w, name_w] * per_row, font.name, header=True))
    story.append(Spacer(1, 3 * mm))

    body = [_p(paragraph, st.body) for paragraph in data.body if paragraph.strip()]
    block = _SignatureBlock(
        font,
        st,
        L,
        _label(L, "pdf-signed-a", centre=data.centre),
        _after(L["pdf-signed-b"], organisation),
        data.head.strip(),
    )
    # The signing block never stands alone: it keeps the last paragraph with it.
    story.extend(body[:-1])
    story.append(KeepTogether([*body[-1:], Spacer(1, 3 * mm), block]))

    left = _label(L, "pdf-agreement-footer", centre=data.centre, lab_code=data.lab_code, document_id=data.document_id)

    def qr(page: int, pages: int) -> str:
        return qr_payload(QrPayload("agreement", data.year, data.lab_code, data.document_id, page, pages))

    doc.build(story, canvasmaker=_canvas_with(_footer(font, left, L["pdf-page"], qr)))
    return out.getvalue()


# --------------------------------------------------------------------------- receipt


def _shanghai(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI)


def render_receipt(data: ReceiptData, *, font: FontChoice | None = None) -> bytes:
    """The receipt for a submission: what was sent, when (Beijing time), which revision.

    The last section and the closing note stay together, so no last page holds the note alone."""
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
    width = _TEXT_W
    label_w = 34 * mm
    widths = [label_w, width - label_w]
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
    story.append(_table(head, widths, font.name, header=False))
    sections: list[list[Flowable]] = []
    for heading, fields in data.sections:
        rows = [[_p(label, st.label), _p(value if str(value).strip() else "—", st.cell)] for label, value in fields]
        if not rows:
            continue
        # The heading stays with the start of its table.
        parts: list[Flowable] = [
            KeepTogether([_p(heading, st.heading), _table(rows[:3], widths, font.name, header=False)])
        ]
        if len(rows) > 3:
            parts.append(_table(rows[3:], widths, font.name, header=False))
        sections.append(parts)
    notes: list[Flowable] = [_p(paragraph, st.note) for paragraph in data.note if paragraph.strip()]
    for parts in sections[:-1]:
        story.extend(parts)
    tail: list[Flowable] = list(sections[-1][-1:]) if sections else []
    if sections:
        story.extend(sections[-1][:-1])
    if notes:
        tail += [Spacer(1, 4 * mm), *notes]
    # The note is never alone on a last page: it travels with the end of the last section.
    story.append(KeepTogether(tail))
    left = _label(L, "pdf-receipt-footer", centre=data.centre, receipt_no=data.receipt_no)

    def qr(page: int, pages: int) -> str:
        return qr_payload(QrPayload("receipt", data.year, data.lab_code, data.receipt_no, page, pages))

    doc.build(story, canvasmaker=_canvas_with(_footer(font, left, L["pdf-page"], qr)))
    return out.getvalue()

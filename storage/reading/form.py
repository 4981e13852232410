"""What the reader knows about our own agreement form: the QR payload and where the signature box, the
seal box and the QR symbol sit on the page.

Everything here is derived from storage/pdf.py (`parse_qr_payload`, `agreement_boxes`, the QR image it
draws), so when the form's layout or payload changes the reader follows by itself. Positions are page
fractions, (x, y) from the top-left corner of an upright A4 page, as (left, top, right, bottom).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.pdf import agreement_boxes, parse_qr_payload, qr_image_modules

__all__ = ["FORM", "FormLayout", "Payload", "parse_payload", "qr_symbol_corners"]


@dataclass(frozen=True)
class Payload:
    """What our QR code (and the printed document number) says."""

    document_id: str  # as printed: "henan-2025-HN0371-0007"
    campaign_id: str  # "henan-2025"
    year: int
    lab_code: str
    page: int | None = None  # n of N, when the payload carries it
    pages: int | None = None


# The printed document number, `{campaign id}-{lab code}` where the campaign id ends in its year (the
# QR code carries it too); read by OCR from the reference line "文档编号：…" or the footer.
_DOCUMENT_ID = re.compile(
    r"^\s*(?P<campaign>[A-Za-z][\w.]*?-(?P<year>(?:19|20)\d{2}))-(?P<lab>[A-Za-z0-9][A-Za-z0-9_-]*?)\s*$"
)
DOCUMENT_ID_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][\w.]*?-(?:19|20)\d{2}-[A-Za-z0-9][A-Za-z0-9_-]*)")


def _campaign_of(document_id: str, lab_code: str) -> str:
    if document_id.endswith("-" + lab_code):
        return document_id[: -len(lab_code) - 1]
    m = _DOCUMENT_ID.match(document_id)
    return m.group("campaign") if m else ""


def parse_payload(text: str) -> Payload | None:
    """The identity in our agreement's QR code (storage.pdf.qr_payload) or in its printed document
    number; None when the text is neither (a receipt's code is not an agreement)."""
    try:
        qr = parse_qr_payload(text or "")
    except ValueError:
        m = _DOCUMENT_ID.match(text or "")
        if m is None:
            return None
        return Payload(f"{m.group('campaign')}-{m.group('lab')}", m.group("campaign"), int(m.group("year")),
                       m.group("lab"))  # fmt: skip
    if qr.kind != "agreement":
        return None
    return Payload(qr.document_no, _campaign_of(qr.document_no, qr.lab_code), qr.year, qr.lab_code, qr.page, qr.pages)


@dataclass(frozen=True)
class FormLayout:
    """Boxes on the page that carries the signature block (the last page), in page fractions."""

    signature_box: tuple[float, float, float, float]
    seal_box: tuple[float, float, float, float]
    qr_box: tuple[float, float, float, float]  # the QR image, quiet zone included
    # Printed text inside the signature box (not counted as ink): the label, the head's name.
    signature_label: tuple[float, float, float, float]
    signature_name: tuple[float, float, float, float]


def _layout() -> FormLayout:
    b = agreement_boxes()
    w, h = b.page_width, b.page_height
    sign = b.signature.fractions(w, h)
    mm_x, mm_y = 72 / 25.4 / w, 72 / 25.4 / h  # one millimetre as a page fraction
    return FormLayout(
        signature_box=sign,
        seal_box=b.seal.fractions(w, h),
        qr_box=b.qr.fractions(w, h),
        # The label "科室负责人签字：" along the top and the printed "科室负责人：…" along the foot.
        signature_label=(sign[0], sign[1], sign[0] + 34 * mm_x, sign[1] + 9 * mm_y),
        signature_name=(sign[0], sign[3] - 7 * mm_y, sign[2], sign[3]),
    )


FORM = _layout()


def qr_symbol_corners(payload: str) -> tuple[tuple[float, float], ...]:
    """The QR symbol's corners (without its quiet zone) in page fractions, in the order OpenCV reports
    them: the symbol's own top-left, top-right, bottom-right, bottom-left."""
    modules, quiet = qr_image_modules(payload)
    left, top, right, bottom = FORM.qr_box
    fx, fy = (right - left) * quiet / (modules + 2 * quiet), (bottom - top) * quiet / (modules + 2 * quiet)
    left, top, right, bottom = left + fx, top + fy, right - fx, bottom - fy
    return ((left, top), (right, top), (right, bottom), (left, bottom))

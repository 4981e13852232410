"""The agreement: whose and which year's it is (our QR code, else the printed document number), and
whether the signature box holds ink and a red seal overlaps the seal box.

Where the boxes are is known from our own form (storage.reading.form). The page is located from the QR
symbol's four corners (an affine map from page fractions to the photo); without a readable QR code, from
the two box labels the OCR found. The page is then resampled upright at 4 px/mm and the boxes looked at.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from PIL import Image, ImageChops, ImageFilter

from storage.reading.engine import Line
from storage.reading.form import DOCUMENT_ID_IN_TEXT, FORM, Payload, parse_payload, qr_symbol_corners
from storage.reading.text import compact

__all__ = ["AgreementReading", "identity_from_text", "inspect_boxes", "page_from_labels", "page_from_qr"]

PX_PER_MM = 4.0
_PAGE_W, _PAGE_H = 210.0, 297.0
INK_MIN = 0.004  # dark pixels / inner signature box: a signature stroke is ≥ 1 % at 4 px/mm
SEAL_MIN = 0.02  # red pixels / seal box
# mm kept clear inside the signature box: the page located from a 11 mm QR code may be a millimetre off,
# and the box frame must not count as ink.
_INSET = 4.0
_DRIFT = 5.0  # mm the label may lie off where the form puts it, on a photo taken at a slant


@dataclass(frozen=True)
class AgreementReading:
    source: str | None  # "qr" | "text" (the printed number) | None: not identified
    document_id: str | None
    campaign_id: str | None
    year: int | None
    lab_code: str | None
    page: int | None
    pages: int | None
    confidence: float
    signature: bool | None  # None: the signature box was not found on this page
    seal: bool | None
    ink: float | None  # the measured fractions, for the reviewer and calibration
    red: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


Affine = tuple[float, float, float, float, float, float]  # page fraction (u, v) -> pixel: a*u+b*v+c, d*u+e*v+f


def _fit(src: Sequence[tuple[float, float]], dst: Sequence[tuple[float, float]]) -> Affine:
    import numpy as np

    a = np.array([[u, v, 1.0] for u, v in src])
    x = np.linalg.lstsq(a, np.array([p[0] for p in dst]), rcond=None)[0]
    y = np.linalg.lstsq(a, np.array([p[1] for p in dst]), rcond=None)[0]
    return (float(x[0]), float(x[1]), float(x[2]), float(y[0]), float(y[1]), float(y[2]))


def page_from_qr(payload: str, corners: Sequence[tuple[float, float]]) -> Affine:
    return _fit(qr_symbol_corners(payload), corners)


# Where the two box labels start (left end, mid-height) on the form, in page fractions.
_SIGN_LABEL = (FORM.signature_box[0] + 3.0 / _PAGE_W, FORM.signature_box[1] + 5.6 / _PAGE_H)
_SEAL_LABEL = (FORM.seal_box[0] + 3.0 / _PAGE_W, FORM.seal_box[1] + 5.6 / _PAGE_H)


def page_from_labels(lines: Sequence[Line], turn: float) -> Affine | None:
    """The page located from the signature and seal labels (a similarity: two points fix it). ``lines``
    are upright (``engine.turned`` by ``turn``); the map returned is to the photo's own pixels."""
    sign = next((x for x in lines if compact(x.text) in ("科室负责人签字", "科室负责人签名")), None)
    seal = next((x for x in lines if compact(x.text) in ("乙方单位公章", "单位公章", "单位盖章")), None)
    if sign is None or seal is None:
        return None

    rad = math.radians(turn)

    def left_mid(line: Line) -> tuple[float, float]:
        (x0, y0), _, _, (x3, y3) = line.box
        x, y = (x0 + x3) / 2, (y0 + y3) / 2
        # Back from the upright frame to the photo's (the inverse of engine.turned).
        return (x * math.cos(rad) - y * math.sin(rad), x * math.sin(rad) + y * math.cos(rad))

    (px, py), (qx, qy) = left_mid(sign), left_mid(seal)
    (u0, v0), u1 = _SIGN_LABEL, _SEAL_LABEL[0]
    # In millimetres the page is a similarity of the photo; fractions scale x and y differently.
    du = (u1 - u0) * _PAGE_W
    scale = math.hypot(qx - px, qy - py) / du
    angle = math.atan2(qy - py, qx - px)
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    a, b = cos * _PAGE_W, -sin * _PAGE_H
    d, e = sin * _PAGE_W, cos * _PAGE_H
    return (a, b, px - a * u0 - b * v0, d, e, py - d * u0 - e * v0)


def _upright_page(image: Image.Image, page: Affine) -> Image.Image:
    """The page resampled upright at PX_PER_MM (outside the photo: white)."""
    w, h = round(_PAGE_W * PX_PER_MM), round(_PAGE_H * PX_PER_MM)
    a, b, c, d, e, f = page
    # Pillow's affine maps output pixels to input pixels; output (X, Y) is the fraction (X / w, Y / h).
    coeffs = (a / w, b / h, c, d / w, e / h, f)
    return image.convert("RGB").transform(
        (w, h), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR, fillcolor=(255, 255, 255)
    )


def _crop(page: Image.Image, box: tuple[float, float, float, float], inset_mm: float = 0.0) -> Image.Image:
    w, h = page.size
    m = inset_mm * PX_PER_MM
    return page.crop((round(box[0] * w + m), round(box[1] * h + m), round(box[2] * w - m), round(box[3] * h - m)))


def _red(rgb: Image.Image) -> Image.Image:
    h, s, v = rgb.convert("HSV").split()
    hue = h.point(lambda x: 255 if x <= 12 or x >= 235 else 0)
    sat = s.point(lambda x: 255 if x >= 60 else 0)
    val = v.point(lambda x: 255 if x >= 60 else 0)
    return ImageChops.darker(ImageChops.darker(hue, sat), val)


def _fraction(mask: Image.Image) -> float:
    hist = mask.histogram()
    return sum(hist[128:]) / max(1, mask.width * mask.height)


def _dark(rgb: Image.Image) -> Image.Image:
    """Ink: clearly darker than the paper around it (light varies across a photo) and not seal red."""
    gray = rgb.convert("L")
    paper = gray.filter(ImageFilter.MaxFilter(9)).filter(ImageFilter.BoxBlur(12))
    # gray / paper < 0.62, as 0/255 (ImageChops keeps to 8 bits: compare gray*1.6 with paper).
    darker = ImageChops.subtract(paper, gray.point(lambda x: min(255, int(x * 1.6))))
    ink = darker.point(lambda x: 255 if x > 0 else 0)
    return ImageChops.subtract(ink, _red(rgb))


def _without_rules(mask: Image.Image) -> Image.Image:
    """The mask less printed rules: rows or columns dark over most of their length are the box's frame
    (seen inside the box when the page is a little off), not handwriting."""
    import numpy as np

    a = np.asarray(mask) > 127
    if a.size == 0:
        return mask
    a = a.copy()
    # Long straight pieces are rules, even tilted (a page located a little off): drop them whole. Straight:
    # the pixels spread less than half a millimetre across their main direction; handwriting wanders.
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(a.astype("uint8"), connectivity=8)
    for i in range(1, count):
        if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) < 12 * PX_PER_MM:
            continue
        ys, xs = np.nonzero(labels == i)
        spread = np.linalg.eigvalsh(np.cov(np.vstack([xs, ys]).astype(float)))
        if math.sqrt(max(0.0, float(spread[0]))) < 0.5 * PX_PER_MM:
            a[labels == i] = False
    rows = a.mean(axis=1) > 0.4
    cols = a.mean(axis=0) > 0.4
    # A rule is a few pixels thick and may be smeared by the resampling: clear its neighbours too.
    for flags, axis in ((rows, 0), (cols, 1)):
        grown = flags | np.roll(flags, 1) | np.roll(flags, -1) | np.roll(flags, 2) | np.roll(flags, -2)
        if axis == 0:
            a[grown, :] = False
        else:
            a[:, grown] = False
    return Image.fromarray((a * 255).astype("uint8"), "L")


def _frame(page: Image.Image, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The box as printed on this photo: its four rules looked for within 10 mm of where the form puts
    them (far from the QR code a tilted page drifts by a few millimetres). Where a rule is not clear,
    the form's position stands."""
    import numpy as np

    w, h = page.size
    reach = round(10 * PX_PER_MM)
    x0, y0, x1, y1 = round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)
    gray = np.asarray(page.convert("L"), dtype=np.int16)
    region = gray[max(0, y0 - reach) : min(h, y1 + reach), max(0, x0 - reach) : min(w, x1 + reach)]
    if region.size == 0:
        return box
    oy, ox = max(0, y0 - reach), max(0, x0 - reach)
    dark = region < np.percentile(region, 90) - 60
    kernel = np.ones(round(1.5 * PX_PER_MM)) / round(1.5 * PX_PER_MM)
    rows = np.convolve(dark.mean(axis=1), kernel, mode="same")
    cols = np.convolve(dark.mean(axis=0), kernel, mode="same")

    def peak(profile: np.ndarray, at: int, offset: int) -> int | None:
        lo, hi = max(0, at - offset - reach), min(len(profile), at - offset + reach)
        if hi <= lo:
            return None
        i = int(np.argmax(profile[lo:hi])) + lo
        return i + offset if profile[i] >= 0.25 else None

    top, bottom = peak(rows, y0, oy), peak(rows, y1, oy)
    left, right = peak(cols, x0, ox), peak(cols, x1, ox)
    if None in (top, bottom, left, right) or abs((bottom - top) - (y1 - y0)) > 4 * PX_PER_MM:  # type: ignore[operator]
        return box
    return (left / w, top / h, right / w, bottom / h)  # type: ignore[operator]


def _has_box(page: Image.Image, box: tuple[float, float, float, float]) -> bool:
    """The box's printed frame is there: its top edge is a dark line across most of the box's width."""
    w, h = page.size
    top = box[1] * h
    strip = page.crop(
        (round(box[0] * w + 8), round(top - 2.5 * PX_PER_MM), round(box[2] * w - 8), round(top + 2.5 * PX_PER_MM))
    ).convert("L")
    if strip.width < 10 or strip.height < 3:
        return False
    import numpy as np

    dark = np.asarray(strip) < 120
    return bool(dark.any(axis=0).mean() >= 0.7)  # columns crossed by a dark pixel


def inspect_boxes(image: Image.Image, page: Affine) -> tuple[bool | None, bool | None, float | None, float | None]:
    """(signed, sealed, ink fraction, red fraction) on this page; None where the box is not on it."""
    upright = _upright_page(image, page)
    if not (_has_box(upright, FORM.signature_box) or _has_box(upright, FORM.seal_box)):
        return None, None, None, None
    box = _frame(upright, FORM.signature_box)
    inner = _crop(upright, box, _INSET)
    dark = _dark(inner)
    # The printed label is not a signature.
    sx0, sy0, _, _ = FORM.signature_box
    lx1, ly1 = FORM.signature_label[2], FORM.signature_label[3]
    lw = round((lx1 - sx0) * upright.width + (_DRIFT - _INSET) * PX_PER_MM)
    lh = round((ly1 - sy0) * upright.height + (_DRIFT - _INSET) * PX_PER_MM)
    dark.paste(0, (0, 0, max(0, lw), max(0, lh)))
    # Nor is the head's name printed along the foot (placed from the frame found on the photo: 1 mm spare).
    name_h = round((FORM.signature_box[3] - FORM.signature_name[1]) * upright.height + (1.0 - _INSET) * PX_PER_MM)
    dark.paste(0, (0, max(0, dark.height - name_h), dark.width, dark.height))
    ink = _fraction(_without_rules(dark))
    seal_area = _crop(upright, FORM.seal_box, -4.0)
    red = _fraction(_red(seal_area))
    return ink >= INK_MIN, red >= SEAL_MIN, round(ink, 4), round(red, 4)


_PAGE_NO = re.compile(r"第\s*(\d{1,2})\s*页(?:\s*[/／共]\s*(\d{1,2})\s*页?)?")


def identity_from_text(lines: Sequence[Line]) -> tuple[Payload | None, float, int | None]:
    """The printed document number (and page number) among the OCR lines."""
    payload, conf, page = None, 0.0, None
    for line in lines:
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", line.text))
        if payload is None:
            for candidate in DOCUMENT_ID_IN_TEXT.findall(text):
                parsed = parse_payload(candidate)
                if parsed is not None:
                    payload, conf = parsed, line.score
                    break
        m = _PAGE_NO.search(text)
        if m and page is None:
            page = int(m.group(1))
    return payload, conf, page

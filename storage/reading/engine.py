"""The OCR engine (rapidocr: PP-OCR detection, direction and recognition models run by onnxruntime) and the
QR decoder (OpenCV), loaded once per process on first use — never at import, so importing the storage layer
stays cheap and a process that never reads a document never pays for the models.

One reading runs at a time per process: onnxruntime already spreads one image over every core, and
two at once would only double the memory (≈ 300 MB each) without finishing sooner.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

__all__ = ["Line", "Picture", "decode_qr", "load_pictures", "ocr", "reading_slot", "turned"]

log = logging.getLogger(__name__)

_load_lock = threading.Lock()
_run_lock = threading.Lock()
_engine: Any = None

OCR_LONG_SIDE = 1600  # px given to the recogniser; detection runs at DET_SIDE
DET_SIDE = 960
MAX_PIXELS = 80_000_000  # as the pre-check: anything larger is a bomb, not a photo


@dataclass(frozen=True)
class Line:
    text: str
    score: float
    box: tuple[tuple[float, float], ...]  # four corners, in the coordinates of the picture given

    @property
    def centre(self) -> tuple[float, float]:
        return (sum(p[0] for p in self.box) / 4, sum(p[1] for p in self.box) / 4)

    @property
    def height(self) -> float:
        _, (x1, y1), (x2, y2), _ = self.box
        return max(1.0, ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5)

    @property
    def width(self) -> float:
        (x0, y0), (x1, y1), _, _ = self.box
        return max(1.0, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        with _load_lock:
            if _engine is None:
                from rapidocr import RapidOCR

                logging.getLogger("RapidOCR").setLevel(logging.ERROR)
                _engine = RapidOCR(
                    params={
                        "Global.log_level": "error",
                        "Global.max_side_len": OCR_LONG_SIDE,
                        # Detection on a smaller copy; the recogniser still cuts lines from the larger one.
                        "Det.limit_type": "max",
                        "Det.limit_side_len": DET_SIDE,
                    }
                )
    return _engine


@contextlib.contextmanager
def reading_slot(timeout: float) -> Any:
    """Hold the process's single reading slot; raises TimeoutError when it stays busy."""
    if not _run_lock.acquire(timeout=max(0.0, timeout)):
        raise TimeoutError("another reading is in progress")
    try:
        yield
    finally:
        _run_lock.release()


def ocr(picture: Image.Image) -> tuple[list[Line], int]:
    """Text lines read from the picture, in its coordinates, and the angle that makes the text upright
    (degrees counter-clockwise, as ``Image.rotate`` takes it)."""
    import numpy as np

    engine = _get_engine()
    rgb = np.asarray(picture.convert("RGB"))[:, :, ::-1].copy()  # rapidocr wants BGR like OpenCV
    ori = engine.load_img(rgb)
    img, op_record = engine.preprocess_img(ori)
    det, cls, rec, crops = engine.run_ocr_steps(img, op_record)
    if det.boxes is None or rec.txts is None:
        return [], 0
    # Each line's reading direction in the picture: the crop's x axis (first box edge), or, for a crop cut
    # tall, the edge the recogniser turned a quarter counter-clockwise onto it; reversed when the direction
    # classifier found it upside down. Voted before build_final_output filters empty texts away (it would
    # misalign the lists).
    labels = cls.cls_res or [("0", 1.0)] * len(det.boxes)
    directions: list[tuple[float, float]] = []  # (angle in degrees, weight)
    for box, (label, _), text in zip(det.boxes, labels, rec.txts, strict=False):
        p0, p1, _, p3 = ((float(x), float(y)) for x, y in box)
        w = math.dist(p0, p1)
        h = math.dist(p0, p3)
        dx, dy = (p0[0] - p3[0], p0[1] - p3[1]) if h >= 1.5 * w else (p1[0] - p0[0], p1[1] - p0[1])
        if str(label) == "180":
            dx, dy = -dx, -dy
        if text.strip() and max(w, h) >= 20:
            directions.append((math.degrees(math.atan2(dy, dx)), float(len(text.strip()))))
    out = engine.build_final_output(ori, det, cls, rec, crops, op_record)
    lines = [
        Line(str(t), float(s), tuple((float(x), float(y)) for x, y in b))
        for b, t, s in zip(out.boxes, out.txts, out.scores, strict=True)
        if str(t).strip()
    ]
    return lines, _upright_angle(directions)


def _upright_angle(directions: list[tuple[float, float]]) -> float:
    """The ``Image.rotate`` angle that makes the text upright: the quarter turn most characters agree on,
    plus the median tilt of the lines that agree."""
    if not directions:
        return 0.0
    votes = {q: 0.0 for q in (0, 90, 180, 270)}
    for angle, weight in directions:
        votes[round(angle / 90) % 4 * 90] += weight
    quarter = max(votes, key=lambda q: (votes[q], q == 0))
    tilts = sorted((a - quarter + 180) % 360 - 180 for a, _ in directions if round(a / 90) % 4 * 90 == quarter)
    return quarter + tilts[len(tilts) // 2]


def turned(lines: list[Line], turn: float) -> list[Line]:
    """The lines' boxes as they would be in the picture turned by ``Image.rotate(turn)`` (about its
    origin: only positions relative to each other matter), each box made axis-aligned. Reading again after
    turning would cost another OCR pass for the same texts."""
    a = math.radians(turn)
    cos, sin = math.cos(a), math.sin(a)
    out = []
    for line in lines:
        pts = [(x * cos + y * sin, -x * sin + y * cos) for x, y in line.box]
        x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
        y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
        out.append(Line(line.text, line.score, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
    return out


def decode_qr(
    picture: Image.Image, *, sizes: tuple[int, ...] = (2000, 4096)
) -> list[tuple[str, tuple[tuple[float, float], ...]]]:
    """Every QR code OpenCV finds and decodes: (text, the symbol's four corners in the picture's pixels).
    Tried on a smaller copy first (quicker), then larger: a small symbol needs ~3 px per module, so a
    low-resolution scan is enlarged for the last try."""
    long = max(picture.size)
    factors = [size / long for size in sizes if size < long] + [1.0]
    if long < sizes[0]:
        factors.append(sizes[-1] / long)
    for factor in factors:
        copy = picture
        if factor != 1.0:
            copy = picture.resize(
                (round(picture.width * factor), round(picture.height * factor)), Image.Resampling.BILINEAR
            )
        found = _decode_qr(copy)
        if found:
            return [(text, tuple((x / factor, y / factor) for x, y in pts)) for text, pts in found]
    return _decode_qr_crops(picture)


def _decode_qr_crops(picture: Image.Image) -> list[tuple[str, tuple[tuple[float, float], ...]]]:
    """A symbol found but not decoded (a few px per module on a phone photo): decoded again from a crop
    around it, enlarged to about 10 px per module."""
    import cv2
    import numpy as np

    gray = np.asarray(picture.convert("L"))
    try:
        ok, quads = cv2.QRCodeDetectorAruco().detectMulti(gray)
    except cv2.error:
        return []
    if not ok or quads is None:
        return []
    found: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    for quad in quads:
        xs, ys = quad[:, 0], quad[:, 1]
        side = max(float(xs.max() - xs.min()), float(ys.max() - ys.min()), 8.0)
        margin = 0.4 * side
        x0, y0 = max(0, int(xs.min() - margin)), max(0, int(ys.min() - margin))
        x1, y1 = min(gray.shape[1], int(xs.max() + margin)), min(gray.shape[0], int(ys.max() + margin))
        scale = max(1.0, 480.0 / side)
        crop = picture.crop((x0, y0, x1, y1))
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.BICUBIC)
        for text, pts in _decode_qr(crop)[:1]:
            found.append((text, tuple((x / scale + x0, y / scale + y0) for x, y in pts)))
    return found


def _decode_qr(picture: Image.Image) -> list[tuple[str, tuple[tuple[float, float], ...]]]:
    import cv2
    import numpy as np

    gray = np.asarray(picture.convert("L"))
    found: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    # The ArUco-based detector finds small symbols the classic one misses; the classic one is the fallback.
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        try:
            ok, texts, points, _ = detector.detectAndDecodeMulti(gray)
        except cv2.error:
            continue
        if ok and points is not None:
            for text, pts in zip(texts, points, strict=False):
                if text:
                    found.append((str(text), tuple((float(x), float(y)) for x, y in pts)))
        if found:
            break
    return found


@dataclass
class Picture:
    """An upright page (EXIF applied) at a bounded size, with the factor back to the original pixels."""

    image: Image.Image
    scale: float  # this picture's pixels per original pixel
    page: int  # 1-based page of a PDF, 1 for a photo


def _open_reduced(data: bytes, long_side: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(io.BytesIO(data))
    if im.width * im.height > MAX_PIXELS:
        raise ValueError("image too large")
    if im.format in ("JPEG", "MPO"):
        # Decoded at 1/2…1/8 by the JPEG decoder itself: a 79-MP photo is never decoded at full size.
        im.draft("RGB", (long_side, long_side))
    im.load()
    with contextlib.suppress(Exception):  # a broken EXIF block must not make a photo unreadable
        im = ImageOps.exif_transpose(im)
    im = im.convert("RGB")
    if max(im.size) > long_side:
        im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return im


def load_pictures(data: bytes, *, long_side: int, max_pages: int = 4) -> list[Picture]:
    """The pages of an upload as upright pictures no larger than ``long_side``: a photo, or each page of a
    PDF (its largest embedded image — a scan — or, for a page without one, the page rendered by poppler)."""
    if b"%PDF-" not in data[:1024]:
        im = _open_reduced(data, long_side)
        return [Picture(im, 1.0, 1)]
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pictures: list[Picture] = []
    for number, page in enumerate(list(reader.pages)[:max_pages], start=1):
        best = None
        try:
            images = list(page.images)
        except Exception:
            images = []
        for item in images:
            try:
                w, h = item.image.size if item.image is not None else (0, 0)
            except Exception:
                continue
            if w * h > MAX_PIXELS:
                continue
            if best is None or w * h > best.image.width * best.image.height:  # type: ignore[union-attr]
                best = item
        if best is not None and best.image is not None:
            im = best.image.convert("RGB")
            rotate = int(page.get("/Rotate", 0) or 0) % 360
            if rotate:
                im = im.rotate(-rotate, expand=True)
            im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
            pictures.append(Picture(im, 1.0, number))
            continue
        rendered = _render_pdf_page(data, number, long_side)
        if rendered is not None:
            pictures.append(Picture(rendered, 1.0, number))
    return pictures


def _render_pdf_page(data: bytes, number: int, long_side: int) -> Image.Image | None:
    """A page without a picture (a PDF made on a computer) rendered by poppler, when it is installed."""
    import shutil
    import subprocess

    if shutil.which("pdftoppm") is None:
        return None
    try:
        done = subprocess.run(
            ["pdftoppm", "-png", "-f", str(number), "-l", str(number), "-scale-to", str(long_side), "-"],
            input=data,
            capture_output=True,
            timeout=20,
            check=True,
        )
        return Image.open(io.BytesIO(done.stdout)).convert("RGB")
    except (subprocess.SubprocessError, OSError, ValueError):
        log.info("pdf page %s could not be rendered for reading", number)
        return None

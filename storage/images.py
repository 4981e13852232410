"""Pre-checks of an uploaded agreement or licence: photo, scan or PDF.

Pre-checks ADVISE; a reviewer decides. A file is refused only when nobody could use it: not a
JPEG/PNG/PDF by its content (the name and declared type are never trusted), too big, a
decompression bomb, corrupt or truncated, or a PDF that needs a password. Everything readable is
accepted, with advice (small, blurred, no red seal visible) as Fluent message ids (``pre-…``).

Calibration (``tests/image_samples.py`` generates the samples; ``tests/test_images.py`` asserts
the margins). Samples: A4 pages with text, a table, a signature, with or without a red seal, as
scans (1240 px PNG) and as 12 MP phone photos (4000×3000 and 3000×4000, the page filling 50–95 %,
tilted 2.5°, unevenly lit, sensor noise σ 0/6/12, JPEG q88), and Telegram-style 1280 px q80 photos.

* Blur: the sheet of paper is found (bright unsaturated rows/columns), scaled to 1000 px wide
  (never up), smoothed with a σ=1 Gaussian, then a 4-neighbour Laplacian; its variance is taken
  per 50 px tile and the score is the 90th percentile (text) minus the 10th (bare paper, i.e. the
  noise floor). Measured, by Gaussian σ at that 1000 px scale: sharp 350–450 (Telegram 200),
  σ 0.4–0.6 → 190–330, σ 0.8–0.9 → 90–140, σ 1.2–1.3 → 42–49, σ 1.5–1.6 → 15–19, σ ≥ 1.8 → ≤ 12,
  independent of the noise level. Text there is ~19 px tall and gets hard to read from σ ≈ 1.5,
  so the threshold is 30.
* Seal: pixels with hue within −25°…+15° of red, saturation ≥ 50/255 and value ≥ 70/255, on the
  page below its top band. The score is the red pixel count in the densest seal-sized square
  window (18 % of the page width) over the page area below the band. Measured: a 4.2 cm seal
  0.0067–0.0099; at 60 % size and half faded 0.0013–0.0022 (0.0006 blurred); 70 % faded
  0.0009–0.0038 (0.0005 blurred); no seal but a red letterhead, red rules in the top band and a
  blue signature: 0 in every sample. The threshold is 0.0003.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import struct
import warnings
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image, ImageChops, ImageFilter, ImageMath, ImageOps, UnidentifiedImageError

from storage.sniff import sniff

__all__ = [
    "ADVICE",
    "AGREEMENT_PDF_MARKER",
    "MESSAGES",
    "Precheck",
    "PrecheckConfig",
    "oriented_jpeg",
    "precheck",
]

# Written into the keywords of the agreement PDF this bot generates (storage/pdf.py), so the
# unsigned download sent straight back can be recognised.
AGREEMENT_PDF_MARKER = "eqa-bot:agreement"

# Message ids with the arguments each is given (checked against the catalogues by tests).
MESSAGES: Mapping[str, frozenset[str]] = {
    msg_id: frozenset(args.split())
    for msg_id, args in {
        "pre-empty": "",
        "pre-too-big": "max_mb",
        "pre-gif": "",
        "pre-heic": "",
        "pre-office-document": "",
        "pre-unsupported-image": "kind",
        "pre-unknown-format": "",
        "pre-bomb": "",
        "pre-corrupt": "",
        "pre-pdf-encrypted": "",
        "pre-pdf-corrupt": "",
        "pre-pdf-unreadable": "reason",
        "pre-huge-image": "",
        "pre-pdf-active": "",
        "pre-pdf-empty": "",
        "pre-looks-fine": "",
        "pre-low-resolution": "width height",
        "pre-blurry": "",
        "pre-no-seal": "",
        "pre-blank-agreement": "",
        "pre-rotated": "",
    }.items()
}
# Issues that mean "you may want to send a better file"; anything else in ``issues`` of an
# accepted file is informational.
ADVICE: frozenset[str] = frozenset({"pre-low-resolution", "pre-blurry", "pre-no-seal", "pre-blank-agreement"})


@dataclass(frozen=True)
class PrecheckConfig:
    max_bytes: int = 20 * 1024 * 1024  # what a Telegram bot can download at all
    min_short_side: int = 800  # px; below → advice to retake closer / send as file
    blur_threshold: float = 30.0  # LoG variance over tiles, p90 − p10, page at 1000 px wide
    seal_min_fraction: float = 0.0003  # red pixels in the densest seal window / page area below band
    top_band: float = 0.15  # letterheads and emblems (also red) live in the top band
    max_pixels: int = 80_000_000  # larger images are refused as decompression bombs
    working_width: int = 1000  # blur is measured at this width so scores compare across cameras
    # Larger images are decoded at reduced size (JPEG by the decoder, PNG band by band), so one
    # check needs a bounded amount of memory (≈ 4 bytes × this) whatever the header claims.
    pixel_budget: int = 12_000_000


@dataclass(frozen=True)
class Precheck:
    accepted: bool  # False => cannot be used at all; the user must send another file
    kind: str  # "jpeg" | "png" | "pdf" | "gif" | "heic" | "docx" | "text" | "unknown" ...
    mime: str  # sniffed from the bytes
    issues: tuple[str, ...]  # message ids: the refusal, or advice and information
    width: int | None
    height: int | None
    pages: int | None
    blur_score: float | None
    seal_score: float | None
    sha256: str
    size: int
    args: Mapping[str, object] = field(default_factory=dict)  # arguments for the messages

    @property
    def looks_fine(self) -> bool:
        return self.accepted and not self.advice

    @property
    def advice(self) -> tuple[str, ...]:
        return tuple(i for i in self.issues if i in ADVICE)


# --------------------------------------------------------------------------- kinds (storage.sniff names them)

_OFFICE = {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "epub"}
_OTHER_IMAGES = {"webp", "bmp", "tif", "jxr", "psd", "ico", "cr2", "jpx", "dwg", "xcf", "dcm"}


def _refusal_for_kind(kind: str) -> tuple[str, dict[str, object]] | None:
    if kind in ("jpeg", "png", "pdf"):
        return None
    if kind == "gif":
        return "pre-gif", {}
    if kind in ("heic", "avif"):
        return "pre-heic", {}
    if kind in _OFFICE:
        return "pre-office-document", {}
    if kind in _OTHER_IMAGES or kind == "tiff":
        return "pre-unsupported-image", {"kind": kind.upper()}
    return "pre-unknown-format", {}


# --------------------------------------------------------------------------- image analysis


class _Unusable(Exception):
    """The file cannot be used; ``args[0]`` is the message id."""


_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=0)
_TILE = 50
_EXIF_ORIENTATION = 0x0112
_ROTATING = {5, 6, 7, 8}  # orientations that swap width and height


@dataclass
class _Analysis:
    width: int
    height: int
    blur_score: float
    seal_score: float | None
    rotated: bool


def _open_guarded(source: io.BytesIO, config: PrecheckConfig) -> Image.Image:
    """Image.open with the bomb guard: Pillow's own (which warns at ~89 MP) made an error, plus ours.

    Our limit is checked explicitly instead of lowering the process-wide Image.MAX_IMAGE_PIXELS,
    which other code shares; catch_warnings is process-wide too before Python 3.14, but it only
    backs up that explicit check.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Unusable("pre-bomb") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _Unusable("pre-corrupt") from exc
    if im.width * im.height > config.max_pixels or im.width <= 0 or im.height <= 0:
        raise _Unusable("pre-bomb")
    return im


def _orientation(im: Image.Image) -> int:
    if im.format == "PNG" and "exif" not in im.info:
        return 1  # Pillow would decode the whole image to look for an eXIf chunk after the pixels
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # malformed EXIF is common in edited photos; treat as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB on white: transparent PNG areas become paper, 16-bit scans are scaled, CMYK converted."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        paper = Image.new("RGB", rgba.size, (255, 255, 255))
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    return im.convert("RGB")


class _Picture:
    """The upright picture at the size a check needs, decoding no more than that.

    JPEGs are reopened and decoded at 1/2…1/8 scale by the decoder itself (``Image.draft``), so a
    12 MP photo never needs a full-size decode for the overview; other images are decoded once.
    """

    def __init__(
        self,
        opener: Callable[[], Image.Image],
        *,
        rotate: int = 0,
        png: bytes | None = None,
        budget: int = PrecheckConfig.pixel_budget,
    ) -> None:
        self._opener = opener
        self._rotate = rotate % 360  # a PDF page's /Rotate, applied after EXIF
        first = opener()
        self.orientation = _orientation(first)
        self._jpeg = first.format in ("JPEG", "MPO")
        w, h = first.size
        if self.orientation in _ROTATING:
            w, h = h, w
        if self._rotate in (90, 270):
            w, h = h, w
        self.width, self.height = w, h
        self._full: Image.Image | None = None
        if self._jpeg:
            return
        if w * h <= budget:
            self._full = self._decode(first)
        elif png is not None:
            self._full = self._upright(_png_reduced(png, _reduction(w * h, budget)))
        else:
            raise _Unusable("pre-huge-image")

    def _upright(self, rgb: Image.Image) -> Image.Image:
        """EXIF orientation and page rotation for an image decoded without its EXIF."""
        method = _TRANSPOSE.get(self.orientation)
        if method is not None:
            rgb = rgb.transpose(method)
        return rgb.rotate(-self._rotate, expand=True) if self._rotate else rgb

    def _decode(self, im: Image.Image) -> Image.Image:
        try:
            im.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise _Unusable("pre-corrupt") from exc
        if self.orientation != 1:
            # A broken EXIF block must not make a readable photo unusable.
            with contextlib.suppress(Exception):
                im = ImageOps.exif_transpose(im)
        rgb = _to_rgb(im)
        return rgb.rotate(-self._rotate, expand=True) if self._rotate else rgb

    def at_least(self, long_side: int) -> Image.Image:
        """Upright RGB whose long side is at least ``long_side`` (or the full size)."""
        if self._full is not None:
            factor = max(1, max(self._full.size) // max(long_side, 1))
            return self._full.reduce(factor) if factor > 1 else self._full
        im = self._opener()
        scale = min(1.0, long_side / max(im.size))
        im.draft("RGB", (max(1, round(im.width * scale)), max(1, round(im.height * scale))))
        return self._decode(im)


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → bytes per pixel at 8 bits
_BAND_PIXELS = 2_000_000  # decoded per step when a PNG is read band by band


def _reduction(pixels: int, budget: int) -> int:
    """The smallest integer factor that brings ``pixels`` within ``budget``."""
    k = max(1, math.isqrt(max(0, pixels - 1) // max(budget, 1)))
    while pixels > budget * k * k:
        k += 1
    return k


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return b"".join([struct.pack(">I", len(body)), kind, body, struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))])


def _png_reduced(data: bytes, factor: int) -> Image.Image:
    """A big PNG as RGB reduced by ``factor``, decoding a band of rows at a time.

    Pillow decodes a PNG whole; here the zlib stream is inflated incrementally and each band of
    filtered rows becomes a small PNG of its own (preceded by the previous band's last row, unfiltered,
    which the filters of the first row may refer to), decoded by Pillow and reduced. Memory: one band.
    8-bit non-interlaced PNGs only (what scanners and phones write); others that big are refused.
    """
    if data[:8] != _PNG_SIGNATURE:
        raise _Unusable("pre-corrupt")
    pos, header, extra, inflater = 8, None, [], zlib.decompressobj()
    width = height = channels = 0
    row_bytes = band_rows = 0
    pending = bytearray()
    out: Image.Image | None = None
    seed: bytes | None = None
    y = 0

    def emit(rows: memoryview, count: int) -> None:
        nonlocal seed, y, out
        assert header is not None and out is not None
        lead = 0 if seed is None else 1
        packer = zlib.compressobj(0)  # stored: only framing, no compression work
        idat = packer.compress(b"\x00" + seed) if seed is not None else b""
        idat += packer.compress(rows) + packer.flush()
        ihdr = struct.pack(">IIBBBBB", width, count + lead, 8, header[3], 0, 0, 0)
        small = b"".join(
            [_PNG_SIGNATURE, _png_chunk(b"IHDR", ihdr), *extra, _png_chunk(b"IDAT", idat), _png_chunk(b"IEND", b"")]
        )
        try:
            band = Image.open(io.BytesIO(small))
            band.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise _Unusable("pre-corrupt") from exc
        seed = band.crop((0, count - 1 + lead, width, count + lead)).tobytes()
        if band.mode not in ("RGB", "L"):
            band = _to_rgb(band)
        out.paste(band.reduce(factor, (0, lead, width, count + lead)), (0, y // factor))
        y += count

    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
            width, height, depth, colour, _, _, interlace = header
            if depth != 8 or interlace or colour not in _PNG_CHANNELS:
                raise _Unusable("pre-huge-image")
            channels = _PNG_CHANNELS[colour]
            row_bytes = 1 + width * channels
            band_rows = max(factor, _BAND_PIXELS // max(width, 1) // factor * factor)
        elif kind in (b"PLTE", b"tRNS"):
            extra.append(_png_chunk(kind, body))
        elif kind == b"IDAT" and header is not None:
            if out is None:
                out = Image.new("RGB", (-(-width // factor), -(-height // factor)), (255, 255, 255))
            chunk = body
            while y < height:
                # Never inflate more than a band at once: a small chunk may expand enormously.
                more = inflater.decompress(chunk, band_rows * row_bytes)
                chunk = inflater.unconsumed_tail
                if not more and not chunk:
                    break
                pending += more
                while len(pending) >= band_rows * row_bytes and y < height:
                    count = min(band_rows, height - y)
                    with memoryview(pending) as view:
                        emit(view[: count * row_bytes], count)
                    del pending[: count * row_bytes]
        elif kind == b"IEND":
            break
    if header is None or out is None:
        raise _Unusable("pre-corrupt")
    while y < height and len(pending) >= row_bytes:
        count = min(band_rows, height - y, len(pending) // row_bytes)
        with memoryview(pending) as view:
            emit(view[: count * row_bytes], count)
        del pending[: count * row_bytes]
    if y < height:
        raise _Unusable("pre-corrupt")  # truncated: fewer rows than the header promised
    return out


def _pixels(im: Image.Image) -> list[float]:
    """Pixel values of a one-band image (Pillow 12.1 renamed getdata, deprecated since)."""
    flat = getattr(im, "get_flattened_data", None)
    return list(flat() if flat is not None else im.getdata())


def _page_box(rgb: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box of the sheet of paper: bright, unsaturated rows and columns.

    A photo shows the desk around the page; the top band and the blur scale are about the page.
    """
    _, sat, val = rgb.convert("HSV").split()
    hist = val.histogram()
    total, seen, p90 = sum(hist), 0, 255
    for level, count in enumerate(hist):
        seen += count
        if seen >= 0.9 * total:
            p90 = level
            break
    threshold = max(60, int(p90 * 0.72))
    bright = val.point(lambda x: 255 if x >= threshold else 0)
    paper = ImageChops.darker(bright, sat.point(lambda x: 255 if x <= 60 else 0))
    rows = _pixels(paper.resize((1, paper.height), Image.Resampling.BOX))
    cols = _pixels(paper.resize((paper.width, 1), Image.Resampling.BOX))
    whole = (0, 0, rgb.width, rgb.height)
    if max(rows) < 0.1 * 255 or max(cols) < 0.1 * 255:
        return whole
    # Rows crossing the sheet are at least half as papery as the most papery row.
    ys = [i for i, r in enumerate(rows) if r >= 0.5 * max(rows)]
    xs = [i for i, c in enumerate(cols) if c >= 0.5 * max(cols)]
    box = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    if (box[2] - box[0]) * (box[3] - box[1]) < 0.04 * rgb.width * rgb.height:
        return whole  # no clear sheet (a close-up, a dark scan): judge the whole picture
    return box


def _blur_score(gray: Image.Image) -> float:
    """Laplacian variance over 50 px tiles: 90th percentile (text) minus 10th (bare paper)."""
    if gray.width < 8 or gray.height < 8:
        return 0.0
    # A slight Gaussian first (Laplacian of Gaussian): sensor noise at pixel scale would
    # otherwise swamp the edge signal in dim photos. In mode I the Laplacian is not clipped to
    # 0…255; the border is unfiltered, so it is dropped.
    lap = gray.filter(ImageFilter.GaussianBlur(1)).convert("I").filter(_LAPLACIAN)
    lap = lap.crop((2, 2, gray.width - 2, gray.height - 2)).convert("F")
    square = ImageMath.lambda_eval(lambda a: a["x"] * a["x"], x=lap)
    tile = min(_TILE, lap.width, lap.height)
    means = _pixels(lap.reduce(tile))
    mean_squares = _pixels(square.reduce(tile))
    variances = sorted(max(0.0, m2 - m * m) for m, m2 in zip(means, mean_squares, strict=True))
    # Sensor noise lifts every tile alike; the quietest tiles (bare paper) measure it.
    return max(0.0, variances[int(0.9 * (len(variances) - 1))] - variances[int(0.1 * (len(variances) - 1))])


def _red_mask(rgb: Image.Image) -> Image.Image:
    """255 where a pixel is saturated red (seal ink), else 0."""
    h, s, v = rgb.convert("HSV").split()
    # Pillow's hue runs 0–255 for 0–360°: −25°…+15° is ≥ 238 or ≤ 10. Faded ink is pink, so
    # saturation only needs to beat warm-lit paper (≈10–40).
    hue = h.point(lambda x: 255 if x <= 10 or x >= 238 else 0)
    sat = s.point(lambda x: 255 if x >= 50 else 0)
    val = v.point(lambda x: 255 if x >= 70 else 0)
    return ImageChops.darker(ImageChops.darker(hue, sat), val)


def _seal_score(page: Image.Image, top_band: float) -> float:
    """Red pixels in the densest seal-sized window, as a fraction of the page below the band."""
    below = page.crop((0, round(page.height * top_band), page.width, page.height))
    if below.width < 10 or below.height < 10:
        return 0.0
    mask = _red_mask(below)
    # Density per cell, then the densest seal-sized square window (a box blur over cells): a
    # seal is a compact cluster, red rules and scattered red print are not.
    cell = max(1, below.width // 100)
    cells = mask.reduce(cell)
    window_cells = max(3, round(0.18 * below.width / cell)) | 1
    dense = cells.filter(ImageFilter.BoxBlur(window_cells // 2))
    peak = dense.getextrema()[1] / 255  # type: ignore[operator]
    return min(1.0, peak * (window_cells * cell) ** 2 / (below.width * below.height))


_OVERVIEW = 1000  # px, long side: enough for page finding and seal colour


def _analyse(picture: _Picture, *, purpose: str, config: PrecheckConfig) -> _Analysis:
    overview = picture.at_least(_OVERVIEW)
    if max(overview.size) > _OVERVIEW:
        overview = overview.copy()
        overview.thumbnail((_OVERVIEW, _OVERVIEW), Image.Resampling.BOX)
    page = _page_box(overview)
    # Blur is judged on the page scaled to the working width, so a page filling half the
    # frame is judged like a scan of the same page (text size is what makes it readable).
    fx = (page[2] - page[0]) / overview.width
    page_px = fx * picture.width
    target = min(config.working_width, page_px)
    detail = picture.at_least(math.ceil(max(picture.width, picture.height) * target / max(page_px, 1)))
    sx, sy = detail.width / overview.width, detail.height / overview.height
    crop = detail.crop((round(page[0] * sx), round(page[1] * sy), round(page[2] * sx), round(page[3] * sy)))
    if crop.width > target:
        crop = crop.resize((round(target), max(1, round(crop.height * target / crop.width))), Image.Resampling.BOX)
    return _Analysis(
        width=picture.width,
        height=picture.height,
        blur_score=_blur_score(crop.convert("L")),
        seal_score=_seal_score(crop, config.top_band) if purpose == "agreement" else None,
        rotated=picture.orientation != 1,
    )


def _advice(analysis: _Analysis, config: PrecheckConfig) -> tuple[list[str], dict[str, object]]:
    issues: list[str] = []
    args: dict[str, object] = {}
    if min(analysis.width, analysis.height) < config.min_short_side:
        issues.append("pre-low-resolution")
        args.update(width=analysis.width, height=analysis.height)
    if analysis.blur_score < config.blur_threshold:
        issues.append("pre-blurry")
    if analysis.seal_score is not None and analysis.seal_score < config.seal_min_fraction:
        issues.append("pre-no-seal")
    if analysis.rotated:
        issues.append("pre-rotated")
    return issues, args


# --------------------------------------------------------------------------- PDF


@dataclass
class _PdfFindings:
    pages: int
    analysis: _Analysis | None
    blank_agreement: bool
    active_content: bool = False  # JavaScript or /Launch: flagged to the reviewer


def _image_xobjects(resources: Any, depth: int = 0) -> list[tuple[Any, Any]]:
    """(key for pypdf's page.images, image XObject) on a page, looking one form deep."""
    found: list[tuple[Any, Any]] = []
    try:
        xobjects = resources["/XObject"].get_object() if resources and "/XObject" in resources else {}
    except Exception:
        return found
    for name, ref in xobjects.items():
        obj = ref.get_object()
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            found.append((name, obj))
        elif subtype == "/Form" and depth < 1:
            found.extend(
                ([name, *([k] if isinstance(k, str) else k)], o)
                for k, o in _image_xobjects(obj.get("/Resources"), depth + 1)
            )
    return found


def _filters(obj: Any) -> list[str]:
    value = obj.get("/Filter")
    if value is None:
        return []
    return [str(f) for f in value] if isinstance(value, list | tuple) else [str(value)]


def _active_content(reader: Any, data: bytes) -> bool:
    """Does the PDF ask a viewer to run something (JavaScript, /Launch) on opening or on a click?"""
    if b"/JavaScript" in data or b"/Launch" in data:
        return True  # uncompressed, the usual case; object streams are walked below

    def acts(obj: Any, depth: int = 0) -> bool:
        obj = obj.get_object() if hasattr(obj, "get_object") else obj
        if depth > 3 or not hasattr(obj, "get"):
            return False
        if str(obj.get("/S", "")) in ("/JavaScript", "/Launch") or "/JS" in obj:
            return True
        nxt = obj.get("/Next")
        return nxt is not None and acts(nxt, depth + 1)

    root = reader.trailer["/Root"].get_object()
    if acts(root.get("/OpenAction") or {}) or "/JavaScript" in (root.get("/Names") or {}):
        return True
    for holder in [root, *list(reader.pages)[:20]]:
        for action in (holder.get("/AA") or {}).values():
            if acts(action):
                return True
    for page in list(reader.pages)[:20]:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if hasattr(annot, "get") and acts(annot.get("/A") or {}):
                return True
    return False


def _unreadable(exc: BaseException) -> _Unusable:
    """ "This file could not be read", with a short technical reason (what the parser tripped on)."""
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())
    reason = "".join(ch for ch in reason if ch.isprintable())[:100]
    return _Unusable("pre-pdf-unreadable", {"reason": reason})


def _check_pdf(data: bytes, *, purpose: str, config: PrecheckConfig) -> _PdfFindings:
    try:
        return _read_pdf(data, purpose=purpose, config=config)
    except _Unusable:
        raise
    except Exception as exc:  # pypdf and crafted structures raise every kind of error
        raise _unreadable(exc) from exc


def _read_pdf(data: bytes, *, purpose: str, config: PrecheckConfig) -> _PdfFindings:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Owner-password-only PDFs (printing restrictions) open with an empty password:
            # every viewer shows them, so they are usable. Anything else needs a password.
            try:
                if not reader.decrypt(""):
                    raise _Unusable("pre-pdf-encrypted")
            except (FileNotDecryptedError, NotImplementedError, PdfReadError, ValueError) as exc:
                raise _Unusable("pre-pdf-encrypted") from exc
        pages = len(reader.pages)
        if pages == 0:
            raise _Unusable("pre-pdf-empty")
        first = reader.pages[0]
    except _Unusable:
        raise
    except Exception as exc:  # not a PDF structure at all
        raise _Unusable("pre-pdf-corrupt") from exc
    images = _image_xobjects(first.get("/Resources"))
    keywords = str((reader.metadata or {}).get("/Keywords", ""))
    active = _active_content(reader, data)

    blank = False
    if AGREEMENT_PDF_MARKER in keywords:
        # Our own download with no picture added to any page: printed, signed and stamped it
        # would come back as a scan or photo, not as this file.
        blank = not images and not any(_image_xobjects(p.get("/Resources")) for p in list(reader.pages)[1:5])
    rotate = int(first.get("/Rotate", 0) or 0)
    if rotate % 90:
        raise ValueError(f"/Rotate {rotate} is not a multiple of 90")
    if not images:
        return _PdfFindings(pages, None, blank, active)

    def area(item: tuple[Any, Any]) -> int:
        obj = item[1]
        try:
            return int(obj.get("/Width", 0)) * int(obj.get("/Height", 0))
        except (TypeError, ValueError):
            return 0

    key, obj = max(images, key=area)
    if area((key, obj)) > config.max_pixels:
        raise _Unusable("pre-bomb")
    if _filters(obj) and _filters(obj)[-1] == "/DCTDecode":
        # A scan page is usually one JPEG: the same path as a photo, decoded at reduced size.
        jpeg_bytes = obj.get_data()
        picture = _Picture(lambda: _open_guarded(io.BytesIO(jpeg_bytes), config), rotate=rotate)
    elif area((key, obj)) > config.pixel_budget:
        # pypdf would decode it whole: too much memory for an advisory check, so it is not analysed.
        return _PdfFindings(pages, None, blank, active)
    else:
        decoded = first.images[key].image
        if decoded is None:
            raise _Unusable("pre-pdf-corrupt")
        picture = _Picture(lambda: decoded, rotate=rotate)
    return _PdfFindings(pages, _analyse(picture, purpose=purpose, config=config), blank, active)


# --------------------------------------------------------------------------- public API


def precheck(
    data: bytes,
    *,
    purpose: Literal["agreement", "licence"],
    config: PrecheckConfig = PrecheckConfig(),  # frozen, so one shared default is safe
) -> Precheck:
    """Check one uploaded file. Never raises for bad input: the verdict is in the result."""
    digest = hashlib.sha256(data).hexdigest()
    kind, mime = sniff(data) if data else ("unknown", "application/octet-stream")

    def refuse(msg_id: str, **args: object) -> Precheck:
        return Precheck(False, kind, mime, (msg_id,), None, None, None, None, None, digest, len(data), args)

    if not data:
        return refuse("pre-empty")
    if len(data) > config.max_bytes:
        max_mb = config.max_bytes / (1024 * 1024)
        return refuse("pre-too-big", max_mb=int(max_mb) if max_mb.is_integer() else round(max_mb, 1))
    refusal = _refusal_for_kind(kind)
    if refusal is not None:
        return refuse(refusal[0], **refusal[1])

    try:
        if kind == "pdf":
            findings = _check_pdf(data, purpose=purpose, config=config)
            analysis, pages = findings.analysis, findings.pages
            issues, args = _advice(analysis, config) if analysis else ([], {})
            if findings.blank_agreement and purpose == "agreement":
                issues.insert(0, "pre-blank-agreement")
            if findings.active_content:
                issues.append("pre-pdf-active")
        else:
            im = _open_guarded(io.BytesIO(data), config)
            if im.format not in ("JPEG", "MPO", "PNG"):
                return refuse(*(_refusal_for_kind(str(im.format).lower()) or ("pre-unknown-format", {})))
            picture = _Picture(
                lambda: _open_guarded(io.BytesIO(data), config),
                png=data if im.format == "PNG" else None,
                budget=config.pixel_budget,
            )
            analysis, pages = _analyse(picture, purpose=purpose, config=config), None
            issues, args = _advice(analysis, config)
    except _Unusable as exc:
        return refuse(str(exc.args[0]), **(exc.args[1] if len(exc.args) > 1 else {}))
    except Exception as exc:  # a crafted file must get a verdict, never an error in the caller
        if kind == "pdf":
            return refuse("pre-pdf-unreadable", **_unreadable(exc).args[1])
        return refuse("pre-corrupt")

    return Precheck(
        accepted=True,
        kind=kind,
        mime=mime,
        issues=tuple(issues),
        width=analysis.width if analysis else None,
        height=analysis.height if analysis else None,
        pages=pages,
        blur_score=round(analysis.blur_score, 1) if analysis else None,
        seal_score=round(analysis.seal_score, 5) if analysis and analysis.seal_score is not None else None,
        sha256=digest,
        size=len(data),
        args=args,
    )


def oriented_jpeg(data: bytes, *, max_side: int = 2560, quality: int = 88) -> bytes:
    """An upright RGB JPEG (EXIF applied, then dropped with any GPS tags) for reviewers.

    Raises ValueError for a PDF or anything that is not a usable JPEG/PNG.
    """
    kind, _ = sniff(data)
    if kind not in ("jpeg", "png"):
        raise ValueError(f"not a JPEG or PNG image: {kind}")
    config = PrecheckConfig()
    try:
        im = _open_guarded(io.BytesIO(data), config)
        if im.format == "PNG" and im.width * im.height > config.pixel_budget:
            # Band by band, like the pre-check: a whole decode of a huge PNG is what a bomb is for.
            picture = _Picture(lambda: _open_guarded(io.BytesIO(data), config), png=data)
            rgb = picture.at_least(max_side)
        else:
            if im.format in ("JPEG", "MPO"):
                im.draft("RGB", (max_side, max_side))
            im.load()
            rgb = _to_rgb(ImageOps.exif_transpose(im))
    except _Unusable as exc:
        raise ValueError(str(exc.args[0])) from exc
    except (OSError, ValueError, SyntaxError, struct.error, zlib.error) as exc:
        raise ValueError("pre-corrupt") from exc
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()

"""Reading the documents: what the licence says (institution, registration number, validity, issuer,
licence type) and whether an agreement photo is this lab's, this year's, signed and sealed.

``read_document(kind, data, context)`` is the one entry point: pure, synchronous, CPU-bound (run it off
the event loop), never raising for bad input, and bounded by ``context.time_limit``. Its result holds the
fields read with their confidence and the findings (message ids in ``reading.ftl``) to tell the lab:
only an agreement of another year or another lab is a refusal; everything else is advice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from storage.reading import engine
from storage.reading.agreement import (
    AgreementReading,
    identity_from_text,
    inspect_boxes,
    page_from_labels,
    page_from_qr,
)
from storage.reading.form import parse_payload
from storage.reading.licence import Field, LicenceReading, label_order, parse_licence, score
from storage.reading.text import institution_core, names_agree, normal_number

__all__ = [
    "MESSAGES",
    "AgreementReading",
    "Field",
    "Finding",
    "LicenceReading",
    "Reading",
    "ReadingContext",
    "read_agreement",
    "read_document",
    "read_licence",
]

log = logging.getLogger(__name__)

LICENCE_SIDE = 1600  # px: licence text is legible and OCR takes about a second
QR_SIDE = 4096  # px: a 15 mm QR code on a phone photo of A4 may need the photo at full size

# Message ids with the arguments each is given (checked against the catalogues by tests).
MESSAGES: Mapping[str, frozenset[str]] = {
    msg_id: frozenset(args.split())
    for msg_id, args in {
        "read-no-licence": "",
        "read-licence-expired": "until",
        "read-licence-expires-before-samples": "until samples",
        "read-licence-name": "name title",
        "read-licence-type": "type institution",
        "read-licence-number": "read typed",
        "read-agreement-year": "year expected",
        "read-agreement-lab": "code",
        "read-agreement-unidentified": "year",
        "read-no-signature": "",
        "read-seal-not-in-box": "",
    }.items()
}


@dataclass(frozen=True)
class ReadingContext:
    """What the document is compared with: the lab's own record and the campaign's dates."""

    campaign_id: str
    year: int
    lab_code: str
    lab_name: str
    deadline: date
    samples_from: date | None = None  # when the campaign sets it, a licence must still be valid then
    invoice_title: str | None = None
    licence_no: str | None = None
    licence_types: tuple[str, ...] = ()  # the licence types this lab's institution type holds; () = any
    institution: str = ""  # the institution type's display name, for the message
    time_limit: float = 10.0  # seconds, for the whole reading


@dataclass(frozen=True)
class Finding:
    code: str  # message id (reading.ftl)
    severity: Literal["refuse", "warn", "info"]
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    kind: str
    status: Literal["read", "not-read"]  # not-read: failed or timed out; the upload proceeds as before
    licence: LicenceReading | None = None
    agreement: AgreementReading | None = None
    findings: tuple[Finding, ...] = ()
    seconds: float = 0.0
    error: str | None = None

    @property
    def refusal(self) -> Finding | None:
        return next((f for f in self.findings if f.severity == "refuse"), None)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warn")

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored with the document."""
        return {
            "kind": self.kind,
            "status": self.status,
            "licence": self.licence.as_dict() if self.licence else None,
            "agreement": self.agreement.as_dict() if self.agreement else None,
            "findings": [{"code": f.code, "severity": f.severity, "args": f.args} for f in self.findings],
            "seconds": round(self.seconds, 2),
            "error": self.error,
        }


class _OutOfTime(Exception):
    pass


class _Clock:
    def __init__(self, limit: float) -> None:
        self.start = time.monotonic()
        self.limit = limit

    def left(self) -> float:
        return self.limit - (time.monotonic() - self.start)

    def check(self) -> None:
        if self.left() <= 0:
            raise _OutOfTime


# --------------------------------------------------------------------------- licence


def read_licence(image: Any) -> tuple[LicenceReading, float]:
    """The licence's fields from one picture (PIL image or bytes), and the angle that made it upright."""
    picture = image
    if isinstance(image, bytes | bytearray):
        picture = engine.load_pictures(bytes(image), long_side=LICENCE_SIDE)[0].image
    lines, angle = engine.ocr(picture)
    # The direction vote can be a half turn off on a page without enough lines; the layout decides.
    upright = engine.turned(lines, angle)
    flipped = engine.turned(lines, angle + 180)
    first, second = parse_licence(upright), parse_licence(flipped)
    if (score(second), label_order(flipped)) > (score(first), label_order(upright)):
        return second, (angle + 180) % 360
    return first, angle % 360


def _licence_findings(reading: LicenceReading, ctx: ReadingContext) -> list[Finding]:
    if not reading.text_found:
        return [Finding("read-no-licence", "warn")]
    out: list[Finding] = []
    valid_to = date.fromisoformat(reading.valid_to.value) if reading.valid_to.value else None
    if valid_to is not None and reading.valid_to.confidence >= 0.5:
        if valid_to < ctx.deadline:
            out.append(Finding("read-licence-expired", "warn", {"until": valid_to.isoformat()}))
        elif ctx.samples_from is not None and valid_to < ctx.samples_from:
            out.append(
                Finding(
                    "read-licence-expires-before-samples",
                    "warn",
                    {"until": valid_to.isoformat(), "samples": ctx.samples_from.isoformat()},
                )
            )
    name = reading.name.value
    if name and reading.name.confidence >= 0.6:
        typed = [n for n in (ctx.invoice_title, ctx.lab_name) if n]
        if typed and not any(names_agree(name, n) for n in typed):
            out.append(Finding("read-licence-name", "warn", {"name": name, "title": ctx.invoice_title or ctx.lab_name}))
    kind = reading.licence_type.value
    if kind and ctx.licence_types and kind not in ctx.licence_types:
        out.append(Finding("read-licence-type", "warn", {"type": kind, "institution": ctx.institution}))
    number = reading.number.value
    if number and ctx.licence_no and normal_number(number) != normal_number(ctx.licence_no):
        out.append(Finding("read-licence-number", "info", {"read": number, "typed": ctx.licence_no}))
    return out


# --------------------------------------------------------------------------- agreement


def read_agreement(image: Any, clock: _Clock | None = None) -> AgreementReading:
    """Identity, signature and seal from one picture of an agreement page (PIL image or bytes)."""
    clock = clock or _Clock(60.0)
    picture = image
    if isinstance(image, bytes | bytearray):
        picture = engine.load_pictures(bytes(image), long_side=QR_SIDE)[0].image
    for text, corners in engine.decode_qr(picture):
        payload = parse_payload(text)
        if payload is None:
            continue
        signed, sealed, ink, red = inspect_boxes(picture, page_from_qr(text, corners))
        return AgreementReading(
            "qr", payload.document_id, payload.campaign_id, payload.year, payload.lab_code,
            payload.page, payload.pages, 1.0, signed, sealed, ink, red,
        )  # fmt: skip
    clock.check()
    # No QR code read: the printed document number and the box labels, by OCR.
    small = picture.copy()
    small.thumbnail((LICENCE_SIDE, LICENCE_SIDE))
    factor = picture.width / small.width
    lines, angle = engine.ocr(small)
    upright = engine.turned(lines, angle)
    payload, confidence, page = identity_from_text(upright)
    located = page_from_labels(upright, angle)
    signed = sealed = None
    ink = red = None
    if located is not None:
        scaled = tuple(v * factor for v in located)
        signed, sealed, ink, red = inspect_boxes(picture, scaled)  # type: ignore[arg-type]
    if payload is None:
        return AgreementReading(None, None, None, None, None, page, None, 0.0, signed, sealed, ink, red)
    return AgreementReading(
        "text", payload.document_id, payload.campaign_id, payload.year, payload.lab_code,
        payload.page or page, payload.pages, round(confidence, 3), signed, sealed, ink, red,
    )  # fmt: skip


def _same_code(a: str | None, b: str | None) -> bool:
    return normal_number(a) == normal_number(b)


def _agreement_findings(reading: AgreementReading, ctx: ReadingContext) -> list[Finding]:
    out: list[Finding] = []
    if reading.source is None:
        out.append(Finding("read-agreement-unidentified", "warn", {"year": ctx.year}))
    else:
        # A number read by OCR refuses only when read with confidence: one misread digit must not turn a
        # good agreement away.
        sure = reading.source == "qr" or reading.confidence >= 0.9
        severity: Literal["refuse", "warn"] = "refuse" if sure else "warn"
        if reading.year is not None and reading.year != ctx.year:
            out.append(Finding("read-agreement-year", severity, {"year": reading.year, "expected": ctx.year}))
        elif reading.lab_code and not _same_code(reading.lab_code, ctx.lab_code):
            out.append(Finding("read-agreement-lab", severity, {"code": reading.lab_code}))
    if reading.signature is False:
        out.append(Finding("read-no-signature", "warn"))
    if reading.seal is False:
        out.append(Finding("read-seal-not-in-box", "warn"))
    return out


def _merge_pages(pages: list[AgreementReading]) -> AgreementReading:
    """One reading for a multi-page upload: the identity of the page that has one, the boxes of the page
    that carries them."""
    identified = next((p for p in pages if p.source == "qr"), None) or next((p for p in pages if p.source), None)
    boxed = next((p for p in pages if p.signature is not None), None)
    base = identified or pages[0]
    if boxed is None or boxed is base:
        return base
    return AgreementReading(
        base.source, base.document_id, base.campaign_id, base.year, base.lab_code, base.page, base.pages,
        base.confidence, boxed.signature, boxed.seal, boxed.ink, boxed.red,
    )  # fmt: skip


# --------------------------------------------------------------------------- entry point


def read_document(kind: str, data: bytes, context: ReadingContext) -> Reading:
    """Read an uploaded licence or agreement (photo or PDF) and compare it with the lab's record."""
    clock = _Clock(context.time_limit)
    try:
        with engine.reading_slot(clock.left()):
            if kind == "licence":
                pictures = engine.load_pictures(data, long_side=LICENCE_SIDE, max_pages=2)
                best: LicenceReading | None = None
                for picture in pictures:
                    clock.check()
                    reading, _ = read_licence(picture.image)
                    if best is None or score(reading) > score(best):
                        best = reading
                    if reading.text_found:
                        break
                if best is None:
                    best = parse_licence([])
                findings = _licence_findings(best, context)
                spent = time.monotonic() - clock.start
                return Reading(kind, "read", licence=best, findings=tuple(findings), seconds=spent)
            pictures = engine.load_pictures(data, long_side=QR_SIDE, max_pages=4)
            readings = []
            for picture in pictures:
                clock.check()
                readings.append(read_agreement(picture.image, clock))
            if not readings:
                return Reading(kind, "not-read", error="no page to read", seconds=time.monotonic() - clock.start)
            merged = _merge_pages(readings)
            findings = _agreement_findings(merged, context)
            spent = time.monotonic() - clock.start
            return Reading(kind, "read", agreement=merged, findings=tuple(findings), seconds=spent)
    except (_OutOfTime, TimeoutError):
        return Reading(kind, "not-read", error="timeout", seconds=time.monotonic() - clock.start)
    except Exception as exc:  # bad input or a broken model must never block an upload
        log.warning("reading a %s failed: %s", kind, type(exc).__name__)
        return Reading(kind, "not-read", error=type(exc).__name__, seconds=time.monotonic() - clock.start)


# Kept for callers comparing names outside a reading (the reviewer card).
core_name = institution_core

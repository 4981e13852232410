"""The reviewer's view of what was read on a submission's documents (storage.reading, stored as
`Document.reading`): each licence field with its confidence beside what the lab typed, mismatches first;
each agreement's identity, signature and seal. A document read while reading was off shows nothing; one
whose reading failed or timed out says "not read"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conversations.campaign import Campaign
from conversations.progress import Progress
from storage.models import Document, Lab
from storage.reading.text import names_agree, normal_number

__all__ = ["document_lines", "reading_lines", "typed_for_reading"]

Tr = Callable[..., str]

_BAD, _OK, _UNKNOWN = "⚠️", "✅", "❔"
_FIELD_FINDINGS = {
    "type": ("read-licence-type",),
    "name": ("read-licence-name",),
    "number": ("read-licence-number",),
    "validity": ("read-licence-expired", "read-licence-expires-before-samples"),
}


def _confidence(field: dict[str, Any] | None) -> str:
    value = (field or {}).get("confidence") or 0.0
    return f"{round(100 * float(value))}%"


def _not_read(t: Tr, reading: dict[str, Any]) -> str:
    return t("rdr-not-read", why=t("rdr-why-timeout" if reading.get("error") == "timeout" else "rdr-why-error"))


def _licence(t: Tr, n: int, reading: dict[str, Any], lab: Lab, typed: dict[str, str | None]) -> list[str]:
    head = t("rdr-licence", n=n)
    if reading.get("status") != "read" or not reading.get("licence"):
        return [head + _not_read(t, reading)]
    lic = reading["licence"]
    if not lic.get("text_found"):
        return [f"{_BAD} {head}{t('rdr-no-text')}"]
    codes = {f.get("code") for f in reading.get("findings") or []}

    def value(key: str) -> str | None:
        return (lic.get(key) or {}).get("value")

    validity = None
    if value("valid_to"):
        validity = t("rdr-validity", **{"from": value("valid_from") or "—", "to": value("valid_to")})
    rows = [
        ("type", value("licence_type"), lic.get("licence_type"), typed["type"]),
        ("name", value("name"), lic.get("name"), typed["name"]),
        ("number", value("number"), lic.get("number"), typed["number"]),
        ("validity", validity, lic.get("valid_to"), typed["validity"]),
        ("authority", value("authority"), lic.get("authority"), None),
    ]
    out: list[tuple[int, str]] = []
    for key, read, field, typed_value in rows:
        if not read:
            mark = _UNKNOWN
        elif any(c in codes for c in _FIELD_FINDINGS.get(key, ())) or _differs(key, read, field, typed_value, lab):
            mark = _BAD
        else:
            mark = _OK
        args = {"mark": mark, "field": t(f"rdr-f-{key}"), "read": read or "—", "confidence": _confidence(field)}
        text = t("rdr-field", typed=typed_value, **args) if typed_value else t("rdr-field-only", **args)
        out.append(({_BAD: 0, _UNKNOWN: 1, _OK: 2}[mark], "  " + text))
    out.sort(key=lambda item: item[0])  # mismatches first
    return [head, *(text for _, text in out)]


def _differs(key: str, read: str, field: dict[str, Any] | None, typed: str | None, lab: Lab) -> bool:
    if not typed:
        return False
    if key == "name":
        return not names_agree(read, typed) and not names_agree(read, lab.name)
    if key == "number":
        return normal_number(read) != normal_number(typed)
    if key == "validity" and lab.licence_valid_to is not None:
        return ((field or {}).get("value") or "") != lab.licence_valid_to.isoformat()
    return False


def _agreement(t: Tr, n: int, reading: dict[str, Any]) -> str:
    if reading.get("status") != "read" or not reading.get("agreement"):
        return t("rdr-agreement", n=n, what=_not_read(t, reading))
    ag = reading["agreement"]
    findings = reading.get("findings") or []
    if ag.get("source") == "qr":
        parts = [t("rdr-qr", document_id=ag.get("document_id"))]
    elif ag.get("source") == "text":
        parts = [t("rdr-text", document_id=ag.get("document_id"), confidence=_confidence(ag))]
    else:
        parts = [t("rdr-unidentified")]
    if ag.get("page"):
        parts.append(t("rdr-page", page=ag["page"]))
    for key, label in (("signature", "rdr-sign"), ("seal", "rdr-seal")):
        state = {True: _OK, False: _BAD}.get(ag.get(key), _UNKNOWN)
        parts.append(t(label, state=state))
    mark = _BAD if any(f.get("severity") in ("warn", "refuse") for f in findings) else _OK
    return f"{mark} " + t("rdr-agreement", n=n, what=" · ".join(parts))


def document_lines(t: Tr, doc: Document, n: int, lab: Lab, typed: dict[str, str | None]) -> list[str]:
    """What was read on one document (the n-th of its kind); nothing when it was not read at all."""
    if not doc.reading:
        return []
    if doc.kind == "licence":
        return _licence(t, n, doc.reading, lab, typed)
    return [_agreement(t, n, doc.reading)]


def reading_lines(t: Tr, p: Progress, typed: dict[str, str | None]) -> list[str]:
    """Lines for the card. ``typed``: what the lab gave, by field (type, name, number, validity)."""
    lines: list[str] = []
    docs: Sequence[Document] = p.licence
    for n, doc in enumerate(docs, 1):
        lines += document_lines(t, doc, n, p.lab, typed)
    for n, doc in enumerate(p.agreement, 1):
        lines += document_lines(t, doc, n, p.lab, typed)
    return lines


def typed_for_reading(t: Tr, campaign: Campaign, lab: Lab, invoice_title: str | None) -> dict[str, str | None]:
    """What the lab gave, to set beside what was read on its licence."""
    kind = campaign.type_by_code.get(lab.institution_type)
    validity = None
    if lab.licence_valid_to:
        start = lab.licence_valid_from.isoformat() if lab.licence_valid_from else "—"
        validity = t("rdr-validity", **{"from": start, "to": lab.licence_valid_to.isoformat()})
    return {
        "type": kind.licence if kind is not None and kind.licence else None,
        "name": invoice_title or lab.name,
        "number": lab.licence_no,
        "validity": validity,
    }

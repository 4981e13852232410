"""The reviewer desk's cards: what a reviewer reads about a submission or a new-lab application, the buttons
under it and the documents sent with it; and the reasons, the translator and the small helpers the rest of the
desk (`handlers.review_alerts`, `handlers.review_decisions`, `handlers.review_returns`, `handlers.review_desk`)
shares.

- A submission is shown as its documents as an album (photos upright, PDFs as documents — Telegram albums
  cannot mix the two), then a card with the lab's summary, the pre-check advice and the buttons approve /
  return.
- Who may use the desk is established from the database and settings for every update (`handlers.roles`), and
  checked again in every step (`_staff_only`): a right withdrawn mid-flow, or a screen reached with forged
  data, changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from conversations import validators
from conversations.context import Ctx
from conversations.events import (
    MAX_TEXT,
    AlbumItem,
    Button,
    FileOut,
    Keyboard,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    global_button,
    keyboard,
)
from conversations.formatting import day, join, moment
from conversations.progress import Progress, progress
from handlers.review_reading import reading_lines, typed_for_reading
from handlers.roles import refuse
from storage.files import DocumentCorrupt, DocumentStore
from storage.heavy import HeavyTimeout, run_heavy
from storage.models import Application, Document, Enrollment, Lab, Review
from storage.repos import reports, reviews
from storage.repos.audit import display_names
from storage.repos.enrollments import active_documents
from storage.repos.people import lab_contacts
from storage.review_copy import RenderFailed, review_copies

log = logging.getLogger(__name__)

REVIEW_LANG = "zh"  # the reviewers' group reads Chinese
SUBJECTS = {"e": "enrollment", "a": "application"}
CODES = {v: k for k, v in SUBJECTS.items()}
ITEMS = ("checklist", "lab_info", "invoice", "mailing", "specialties", "agreement", "licence")
# Why a registration goes back, and what the lab must then send again. "other" comes with the reviewer's
# own words and the items they tick.
ENROLLMENT_REASONS: dict[str, tuple[str, ...]] = {
    "unsigned": ("agreement",),
    "no_seal": ("agreement",),
    "agreement_unreadable": ("agreement",),
    "licence_unreadable": ("licence",),
    "licence_missing": ("licence",),
    "licence_expired": ("licence",),
    "name_mismatch": ("invoice",),
    "other": (),
}
# Why a new-lab application goes back: True when it cannot be corrected (the application ends).
APPLICATION_REASONS: dict[str, bool] = {
    "app_info": False,
    "app_licence": False,
    "app_ineligible": True,
    "app_duplicate": True,
    "other": False,
}

Tr = Callable[..., str]


def tr(ctx: Ctx, lang: str) -> Tr:
    """A translator for another person's language (the review chat, a lab contact)."""
    return lambda key, **args: ctx.services.catalog.t(lang, key, **args)


def fit(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _staff_only(ctx: Ctx, what: str) -> bool:
    """Steps re-check the role on every update: a right withdrawn mid-flow, or a screen reached with forged
    data, changes nothing."""
    if ctx.actor.is_staff:
        return False
    ctx.end()
    refuse(ctx, what)
    return True


async def _who(ctx: Ctx, refs: Sequence[str]) -> dict[str, str]:
    known = await display_names(ctx.session, refs)
    return {r: known.get(r) or r.split(":", 1)[-1] for r in refs}


def _label(ctx: Ctx, options: str, code: str | None, lang: str) -> str:
    lookup = getattr(ctx.campaign, options)
    return lookup[code].label(lang) if code in lookup else (code or "—")


def _normal_name(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s()（）·.,，、\-]", "", text)


def names_agree(a: str, b: str) -> bool:
    """An invoice title and the institution's name agree when one contains the other ("XX医院" and
    "XX医院检验科"), after spacing and brackets are set aside."""
    x, y = _normal_name(a), _normal_name(b)
    return bool(x and y) and (x in y or y in x)


def reason_lines(t: Tr, subject: str, reasons: Sequence[str], note: str | None, *, for_lab: bool) -> list[str]:
    prefix = "rv-why-" if for_lab else "rv-reason-"
    lines = []
    for code in reasons:
        if code == "other":
            lines.append("• " + t("rv-reason-other-text", note=note or ""))
        else:
            lines.append("• " + t(prefix + code.replace("_", "-")))
    return lines


def items_for(reasons: Sequence[str], extra: Sequence[str]) -> list[str]:
    wanted = {i for r in reasons for i in ENROLLMENT_REASONS.get(r, ())} | set(extra)
    return [i for i in ITEMS if i in wanted]


def items_text(t: Tr, items: Sequence[str], lang: str) -> str:
    return join((t(f"item-{i}") for i in items), lang) if items else t("rv-items-none")


def _iso(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def desk_lang(ctx: Ctx) -> str:
    """Cards in the reviewers' group stay in its language whoever presses; elsewhere, the reader's."""
    return REVIEW_LANG if ctx.event.chat_id == ctx.services.review_chat else ctx.lang


# -- cards -------------------------------------------------------------------------------------------------
def _advice_text(t: Tr, doc: Document) -> str:
    pre = doc.precheck or {}
    advice = [
        t("rv-pre-" + str(a).removeprefix("pre-"), width=pre.get("width") or 0, height=pre.get("height") or 0)
        for a in pre.get("advice") or []
    ]
    return "⚠️ " + "、".join(advice) if advice else "✅"


def _docs_line(t: Tr, docs: Sequence[Document]) -> str:
    if not docs:
        return t("rv-docs-none")
    marks = " ".join(f"{n}) {_advice_text(t, d)}" for n, d in enumerate(docs, 1))
    return t("rv-docs-count", count=len(docs)) + " — " + marks


async def _status_line(ctx: Ctx, t: Tr, lang: str, subject: str, status: str, when: Any, last: Review | None) -> str:
    tz = ctx.campaign.tz
    if status in ("submitted", "pending"):
        return t("rv-state-waiting", at=moment(when, lang, tz) if when else "—")
    if last is not None and status in ("approved", "returned", "rejected", "draft"):
        who = (await _who(ctx, [last.reviewer]))[last.reviewer]
        key = {"approved": "rv-state-approved", "rejected": "rv-state-rejected"}.get(last.decision, "rv-state-returned")
        return t(key, who=who, at=moment(last.created_at, lang, tz))
    return t("rv-state-draft")


async def enrollment_card(ctx: Ctx, p: Progress, lang: str, *, alert: bool = False) -> str:
    t, c, lab, enr = tr(ctx, lang), ctx.campaign, p.lab, p.enrollment
    lines = [t("rv-alert-new")] if alert else []
    lines.append(t("rv-card-title", year=enr.year, lab=lab.name, code=lab.code, revision=enr.revision))
    lines.append(
        t(
            "rv-card-lab",
            type=_label(ctx, "type_by_code", lab.institution_type, lang),
            level=_label(ctx, "level_by_code", lab.level, lang) if lab.level else "—",
            city=lab.city,
        )
    )
    contacts = await lab_contacts(ctx.session, lab.id)
    if contacts:
        people = join((f"{x.name or '?'} {x.mobile or ''}".strip() for x in contacts), lang)
        lines.append(t("rv-card-contacts", people=people))
    invoice = enr.invoice or {}
    title, taxpayer = invoice.get("title") or "", invoice.get("taxpayer_id") or ""
    lines.append(t("rv-card-invoice", title=title or "—", taxpayer=taxpayer or "—"))
    if taxpayer and validators.taxpayer_id(taxpayer).warning:
        lines.append("⚠️ " + t("rv-card-taxpayer-warning"))
    if title and not names_agree(title, lab.name):
        lines.append("⚠️ " + t("rv-card-name-differs", title=title, name=lab.name))
    names = [c.specialty_by_code[s].label(lang) for s in enr.specialties or [] if s in c.specialty_by_code]
    lines.append(t("rv-card-specialties", count=len(names), list=join(names, lang) if names else "—"))
    if enr.mandatory_declined:
        declined = [c.specialty_by_code[s].label(lang) for s in enr.mandatory_declined if s in c.specialty_by_code]
        lines.append("⚠️ " + t("rv-card-mandatory-declined", list=join(declined, lang)))
        reasons = enr.mandatory_declined_reasons or {}
        for s in enr.mandatory_declined:
            if s in c.specialty_by_code:
                reason = reasons.get(s) or t("rv-card-no-reason")
                lines.append(t("plan-declined-reason", name=c.specialty_by_code[s].label(lang), reason=reason))
    lines.append(t("rv-card-tests", prev=c.previous_year, count=len(enr.last_year_tests or [])))
    if enr.extra_tests:
        lines.append(t("rv-card-extra-tests", count=len(enr.extra_tests), list=join(enr.extra_tests, lang)))
    lines.append(t("rv-card-agreement", state=_docs_line(t, p.agreement)))
    until = day(lab.licence_valid_to, lang) if lab.licence_valid_to else "—"
    if p.licence_expired:
        licence = "⚠️ " + t("rv-card-licence-expired", until=until, basis=c.licence_basis)
    elif p.licence:
        licence = _docs_line(t, p.licence) + " · " + t("rv-card-valid-until", until=until)
    elif p.licence_on_file:
        licence = t("rv-card-licence-kept", until=until)
    else:
        licence = "⚠️ " + t("rv-docs-none")
    lines.append(t("rv-card-licence", state=licence))
    lines += reading_lines(t, p, typed_for_reading(t, ctx.campaign, lab, title))
    history = await reviews.history(ctx.session, "enrollment", enr.id)
    earlier = [r for r in history if r.revision < enr.revision and r.decision == "returned"]
    if earlier:
        last = earlier[-1]
        lines.append(t("rv-card-last-return", revision=last.revision))
        lines += reason_lines(t, "enrollment", last.reasons or [], last.note, for_lab=False)
    current = next((r for r in reversed(history) if r.revision == enr.revision), None)
    lines.append(await _status_line(ctx, t, lang, "enrollment", enr.status, enr.submitted_at, current))
    if current is not None and current.decision == "returned":
        lines += reason_lines(t, "enrollment", current.reasons or [], current.note, for_lab=False)
        lines.append(t("rv-card-returned-items", items=items_text(t, enr.returned_items or [], lang)))
    return fit("\n".join(lines))


async def application_card(ctx: Ctx, app: Application, lang: str, *, alert: bool = False) -> str:
    t, c, d = tr(ctx, lang), ctx.campaign, app.data or {}
    lines = [t("rv-alert-new-application")] if alert else []
    lines.append(t("rv-app-title", year=c.year, name=d.get("name", "?"), revision=app.revision))
    shown = {
        "institution_type": _label(ctx, "type_by_code", d.get("institution_type"), lang),
        "level": _label(ctx, "level_by_code", d.get("level"), lang) if d.get("level") else None,
    }
    for key, label in (
        ("institution_type", "app-f-type"),
        ("level", "app-f-level"),
        ("name", "app-f-name"),
        ("city", "app-f-city"),
        ("licence_no", "app-f-licence-no"),
        ("licence_valid_from", "app-f-valid-from"),
        ("licence_valid_to", "app-f-valid-to"),
        ("credit_code", "app-f-credit-code"),
        ("address", "app-f-address"),
        ("contact_name", "app-f-contact"),
        ("mobile", "app-f-mobile"),
    ):
        value = shown.get(key, d.get(key))
        if value:
            lines.append(f"{t(label)}：{value}" if lang == "zh" else f"{t(label)}: {value}")
    kind = d.get("institution_type")
    if kind in c.type_by_code:
        ok, reason, reason_en = c.eligibility(kind, d.get("level"))
        if not ok:
            lines.append("⚠️ " + (reason_en if lang == "en" else reason))
    if d.get("credit_code") and validators.credit_code(str(d["credit_code"])).warning:
        lines.append("⚠️ " + t("rv-card-taxpayer-warning"))
    valid_to = _iso(d.get("licence_valid_to"))
    if valid_to is not None and not c.licence_still_valid(valid_to):
        lines.append("⚠️ " + t("rv-card-licence-expired", until=day(valid_to, lang), basis=c.licence_basis))
    for lab in await reports.lab_with_credit_code(ctx.session, str(d.get("credit_code") or ""), str(d.get("name"))):
        if lab.id == app.lab_id:  # the lab its approval created is not a duplicate of it
            continue
        lines.append("⚠️ " + t("rv-app-duplicate-hint", code=lab.code, name=lab.name))
    current = await reviews.standing(ctx.session, "application", app.id, app.revision)
    if current is None and app.status in ("draft", "rejected", "approved"):
        history = await reviews.history(ctx.session, "application", app.id)
        current = history[-1] if history else None
    lines.append(await _status_line(ctx, t, lang, "application", app.status, app.submitted_at, current))
    if current is not None and current.decision != "approved":
        lines += reason_lines(t, "application", current.reasons or [], current.note, for_lab=False)
    if app.lab_id is not None:
        lab = await ctx.session.get(Lab, app.lab_id)
        if lab is not None:
            lines.append(t("rv-app-lab-code", code=lab.code))
    return fit("\n".join(lines))


def card_buttons(t: Tr, subject: str, sid: int, revision: int, *, open_: bool, lab_id: int | None) -> Keyboard:
    s = CODES[subject]
    rows: list[list[Button]] = []
    if open_:
        approve = t("rv-btn-approve-application" if subject == "application" else "rv-btn-approve")
        rows.append(
            [
                global_button(approve, "rv", f"a.{s}.{sid}.{revision}"),
                global_button(t("rv-btn-return"), "rv", f"r.{s}.{sid}.{revision}"),
            ]
        )
    extra = [global_button(t("rv-btn-docs"), "rv", f"docs.{sid}")] if subject == "enrollment" else []
    if lab_id is not None:
        extra.append(global_button(t("rv-btn-lab"), "rv", f"lab.{lab_id}"))
    extra.append(global_button(t("rv-btn-queue"), "rv", "queue"))
    rows.append(extra)
    return keyboard(*rows)


async def _enrollment_messages(
    ctx: Ctx, enr: Enrollment, lang: str, *, chat_id: str | None, platform: str | None, docs: bool, alert: bool = False
) -> list[Outbound]:
    lab = await ctx.session.get(Lab, enr.lab_id)
    assert lab is not None
    p = await progress(ctx.session, ctx.campaign, lab, ctx.now)
    out: list[Outbound] = await document_messages(ctx, p, lang, chat_id=chat_id, platform=platform) if docs else []
    text = await enrollment_card(ctx, p, lang, alert=alert)
    buttons = card_buttons(
        tr(ctx, lang), "enrollment", enr.id, enr.revision, open_=enr.status == "submitted", lab_id=lab.id
    )
    out.append(Reply(text, buttons, chat_id=chat_id, platform=platform))
    return out


async def _application_messages(
    ctx: Ctx, app: Application, lang: str, *, chat_id: str | None, platform: str | None, alert: bool = False
) -> list[Outbound]:
    text = await application_card(ctx, app, lang, alert=alert)
    buttons = card_buttons(
        tr(ctx, lang), "application", app.id, app.revision, open_=app.status == "pending", lab_id=app.lab_id
    )
    return [Reply(text, buttons, chat_id=chat_id, platform=platform)]


# -- documents ---------------------------------------------------------------------------------------------
async def document_messages(
    ctx: Ctx, p: Progress, lang: str, *, chat_id: str | None, platform: str | None
) -> list[Outbound]:
    """The submission's documents: photos (turned upright) as one album, PDFs as another."""
    t, lab, store = tr(ctx, lang), p.lab, ctx.services.store
    docs: list[tuple[str, Document]] = [("agreement", d) for d in p.agreement] + [("licence", d) for d in p.licence]
    if not p.licence and p.licence_from_earlier:
        earlier = await active_documents(ctx.session, lab.id, "licence")
        docs += [("licence", d) for d in earlier if d.enrollment_id != p.enrollment.id]
    photos: list[AlbumItem] = []
    files: list[AlbumItem] = []  # nothing the sender made is forwarded: reviewers get copies we drew
    notes: list[Outbound] = []
    counts = {k: sum(1 for kind, _ in docs if kind == k) for k in ("agreement", "licence")}
    seen = {"agreement": 0, "licence": 0}
    for kind, doc in docs:
        seen[kind] += 1
        caption = t("rv-doc-caption", item=t(f"item-{kind}"), n=seen[kind], total=counts[kind], code=lab.code) + (
            "" if doc.enrollment_id == p.enrollment.id else " · " + t("rv-doc-earlier")
        )
        caption = fit(caption + "\n" + _advice_text(t, doc), 1024)
        stem = f"{lab.code}-{kind}-{seen[kind]}"
        pre = doc.precheck or {}
        keys = pre.get("review_copies")
        if keys is None:  # uploaded before copies were drawn at upload time
            keys = await _draw_copies(store, doc)
        if "pre-pdf-active" in (pre.get("issues") or []):
            caption = fit(t("rv-pre-pdf-active") + "\n" + caption, 1024)
        if not keys:
            notes.append(Reply(fit(caption + "\n" + t("rv-doc-unrenderable")), chat_id=chat_id, platform=platform))
            continue
        if doc.mime == "application/pdf":
            drawn = t("rv-doc-rendered", pages=pre.get("pages") or len(keys), shown=len(keys))
            caption = fit(caption + "\n" + drawn, 1024)
        for n, key in enumerate(keys, 1):
            name = f"{stem}.jpg" if len(keys) == 1 else f"{stem}-p{n}.jpg"
            photos.append(AlbumItem("photo", FileOut(name, "image/jpeg", stored=key), caption if n == 1 else ""))
    return _grouped(photos, chat_id, platform) + _grouped(files, chat_id, platform) + notes


async def _draw_copies(store: DocumentStore, doc: Document) -> list[str]:
    """Re-render a document for reviewers now (in the heavy-work pool); [] when it cannot be drawn."""
    try:
        data = await asyncio.to_thread(store.get, doc.storage_key)
        drawn = await run_heavy(review_copies, data)
        return [await asyncio.to_thread(store.put, image) for image in drawn]
    except (OSError, ValueError, DocumentCorrupt):
        log.warning("document %s: stored file %s missing", doc.id, doc.storage_key[:12])
    except (RenderFailed, HeavyTimeout) as exc:
        log.warning("document %s: no copy for reviewers: %s", doc.id, exc)
    return []


def _grouped(items: list[AlbumItem], chat_id: str | None, platform: str | None) -> list[Outbound]:
    out: list[Outbound] = []
    for start in range(0, len(items), 10):
        chunk = items[start : start + 10]
        if len(chunk) == 1:
            one = chunk[0]
            cls = SendPhoto if one.kind == "photo" else SendDocument
            out.append(cls(one.file, one.caption, chat_id=chat_id, platform=platform))
        else:
            out.append(SendAlbum(tuple(chunk), chat_id=chat_id, platform=platform))
    return out

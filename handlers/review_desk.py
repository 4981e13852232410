"""The reviewer desk: alerts, decisions, results pushed to labs, the queue, a lab's file, figures and bulk
approval.

- Every submission (and every new-lab application) is announced in the reviewers' chat, in the same
  transaction that made it: the documents as an album (photos upright, PDFs as documents — Telegram
  albums cannot mix the two), then a card with the lab's summary, the pre-check advice and the buttons
  approve / return. Centres that watch a WeCom, DingTalk or Feishu group also get a line there
  (`bot.group_robots` delivers it from the outbox; a failure there never touches the chat).
- A decision is a `Review` row, unique per (subject, id, revision): the first reviewer's decision stands,
  the second is told who came first. A decision names the revision it was made on, so a press on the card
  of a submission that has since been sent again changes nothing.
- Return asks for reasons by checklist; each reason names what the lab must send again, and only that is
  reopened. The result goes at once to every active contact of the lab.
- Who may do this is established from the database and settings for every update (`handlers.roles`), and
  checked again in every step here: forged or replayed button data from anyone else changes nothing and is
  logged and audited.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update

from conversations import flow as flows
from conversations import validators
from conversations.context import Ctx
from conversations.events import (
    MAX_TEXT,
    AlbumItem,
    Button,
    Edit,
    FileOut,
    Keyboard,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    keyboard,
    to_payload,
)
from conversations.flow import Flow, Step, register
from conversations.formatting import day, join, moment
from conversations.progress import Progress, progress
from handlers.roles import refuse
from handlers.routing import action, command
from handlers.signals import on
from storage.files import DocumentCorrupt
from storage.images import oriented_jpeg
from storage.models import Application, Contact, Document, Enrollment, Lab, OutboxMessage, Review, UserProfile, utcnow
from storage.repos import reports, reviews
from storage.repos.audit import display_names
from storage.repos.common import insert_ignore
from storage.repos.enrollments import active_documents, enrollment
from storage.repos.people import lab_contacts

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
QUEUE_PAGE = 10
BULK_PAGE = 8
ROBOT_PLATFORMS = ("wecom", "dingtalk", "feishu")
ROBOT_CHAT = "robot"  # group robots have one destination each: their webhook

Tr = Callable[..., str]


def tr(ctx: Ctx, lang: str) -> Tr:
    """A translator for another person's language (the review chat, a lab contact)."""
    return lambda key, **args: ctx.services.catalog.t(lang, key, **args)


def fit(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _emit(ctx: Ctx, action: Outbound) -> None:
    """Into the current chat, or pushed to the chat the action names."""
    if getattr(action, "chat_id", None) is None:
        ctx.send(action)
    else:
        ctx.push(action)


def _staff_only(ctx: Ctx, what: str) -> bool:
    """Steps re-check the role on every update: a right withdrawn mid-flow, or a screen reached with forged
    data, changes nothing."""
    if ctx.actor.is_staff:
        return False
    ctx.end()
    refuse(ctx, what)
    return True


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 12 else None


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
    lines.append(t("rv-card-title", year=c.year, lab=lab.name, code=lab.code, revision=enr.revision))
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
    lines.append(t("rv-card-tests", prev=c.previous_year, count=len(enr.last_year_tests or [])))
    lines.append(t("rv-card-agreement", state=_docs_line(t, p.agreement)))
    until = day(lab.licence_valid_to, lang) if lab.licence_valid_to else "—"
    if p.licence_expired:
        licence = "⚠️ " + t("rv-card-licence-expired", until=until)
    elif p.licence:
        licence = _docs_line(t, p.licence) + " · " + t("rv-card-valid-until", until=until)
    elif p.licence_on_file:
        licence = t("rv-card-licence-kept", until=until)
    else:
        licence = "⚠️ " + t("rv-docs-none")
    lines.append(t("rv-card-licence", state=licence))
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
    if valid_to is not None and valid_to < c.samples_from:
        lines.append("⚠️ " + t("rv-card-licence-expired", until=day(valid_to, lang)))
    for lab in await reports.lab_with_credit_code(ctx.session, str(d.get("credit_code") or ""), str(d.get("name"))):
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
                Button(approve, f"g:rv:a.{s}.{sid}.{revision}"),
                Button(t("rv-btn-return"), f"g:rv:r.{s}.{sid}.{revision}"),
            ]
        )
    extra = [Button(t("rv-btn-docs"), f"g:rv:docs.{sid}")] if subject == "enrollment" else []
    if lab_id is not None:
        extra.append(Button(t("rv-btn-lab"), f"g:rv:lab.{lab_id}"))
    extra.append(Button(t("rv-btn-queue"), "g:rv:queue"))
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
    files: list[AlbumItem] = []
    counts = {k: sum(1 for kind, _ in docs if kind == k) for k in ("agreement", "licence")}
    seen = {"agreement": 0, "licence": 0}
    for kind, doc in docs:
        seen[kind] += 1
        caption = t("rv-doc-caption", item=t(f"item-{kind}"), n=seen[kind], total=counts[kind], code=lab.code) + (
            "" if doc.enrollment_id == p.enrollment.id else " · " + t("rv-doc-earlier")
        )
        caption = fit(caption + "\n" + _advice_text(t, doc), 1024)
        stem = f"{lab.code}-{kind}-{seen[kind]}"
        try:
            data = await asyncio.to_thread(store.get, doc.storage_key)
        except (OSError, ValueError, DocumentCorrupt):
            log.warning("document %s: stored file %s missing", doc.id, doc.storage_key[:12])
            continue
        if doc.mime in ("image/jpeg", "image/png"):
            try:
                upright = await asyncio.to_thread(oriented_jpeg, data)
                key = await asyncio.to_thread(store.put, upright)
                photos.append(AlbumItem("photo", FileOut(f"{stem}.jpg", "image/jpeg", stored=key), caption))
                continue
            except (ValueError, OSError):
                log.info("document %s: not shown as a photo; sent as a file", doc.id)
        same_platform = (doc.uploaded_by or "").split(":", 1)[0] == (platform or ctx.event.platform)
        extension = {"application/pdf": ".pdf", "image/png": ".png"}.get(doc.mime, ".jpg" if "jpeg" in doc.mime else "")
        file = FileOut(
            f"{stem}{extension}",
            doc.mime,
            stored=doc.storage_key,
            platform_file_id=doc.platform_file_id if same_platform else None,
        )
        files.append(AlbumItem("document", file, caption))
    return _grouped(photos, chat_id, platform) + _grouped(files, chat_id, platform)


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


# -- alerts ------------------------------------------------------------------------------------------------
async def robot_alert(ctx: Ctx, text: str, key: str) -> None:
    """Queue a line for each configured group robot (delivered by `bot.group_robots` from the outbox, never
    on the chat's fast path). The dedupe key makes a re-run queue nothing twice."""
    for platform in sorted(ctx.services.group_robots):
        reply = Reply(fit(text, 2000), chat_id=ROBOT_CHAT, platform=platform)
        now = utcnow()
        await insert_ignore(
            ctx.session,
            OutboxMessage,
            {
                "dedupe_key": f"robot:{platform}:{key}",
                "platform": platform,
                "chat_id": ROBOT_CHAT,
                "payload": to_payload(reply),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )


@on("enrollment_submitted")
async def alert_submission(ctx: Ctx, enrollment_id: int, revision: int) -> None:
    enr = await ctx.session.get(Enrollment, enrollment_id)
    if enr is None:
        return
    lab = await ctx.session.get(Lab, enr.lab_id)
    assert lab is not None
    chat = ctx.services.review_chat
    if chat:
        actions = await _enrollment_messages(
            ctx, enr, REVIEW_LANG, chat_id=chat, platform=ctx.event.platform, docs=True, alert=True
        )
        for a in actions:
            ctx.push(a)
    else:
        log.warning("no review chat configured: submission of %s (revision %s) not announced", lab.code, revision)
    t = tr(ctx, REVIEW_LANG)
    await robot_alert(
        ctx,
        t(
            "rv-robot-submission",
            lab=lab.name,
            code=lab.code,
            revision=revision,
            at=moment(ctx.now, "zh", ctx.campaign.tz),
        ),
        f"e{enr.id}.{revision}",
    )


@on("application_submitted")
async def alert_application(ctx: Ctx, application_id: int) -> None:
    app = await ctx.session.get(Application, application_id)
    if app is None:
        return
    chat = ctx.services.review_chat
    if chat:
        for a in await _application_messages(
            ctx, app, REVIEW_LANG, chat_id=chat, platform=ctx.event.platform, alert=True
        ):
            ctx.push(a)
    else:
        log.warning("no review chat configured: application %s not announced", app.id)
    t = tr(ctx, REVIEW_LANG)
    name = str(app.data.get("name") or "?")
    city = str(app.data.get("city") or "")
    await robot_alert(
        ctx,
        t("rv-robot-application", name=name, city=city, at=moment(ctx.now, "zh", ctx.campaign.tz)),
        f"a{app.id}.{app.revision}",
    )


# -- decisions ---------------------------------------------------------------------------------------------
@dataclass
class Decided:
    """What became of a decision: done | resent | taken | not_pending | incomplete | missing."""

    status: str
    name: str = ""
    code: str | None = None
    lab_id: int | None = None
    review: Review | None = None  # the decision that stands
    revision: int | None = None  # the current revision (when the subject was sent again)


async def decide(
    ctx: Ctx,
    subject: str,
    sid: int,
    revision: int,
    decision: str,
    reasons: Sequence[str] = (),
    note: str | None = None,
    items: Sequence[str] = (),
) -> Decided:
    """Approve or return one revision of a registration or an application, unless it was sent again or
    someone decided first. Writes the decision, the new state and the audit entry, and tells the lab."""
    if subject == "enrollment":
        return await _decide_enrollment(ctx, sid, revision, decision, reasons, note, items)
    return await _decide_application(ctx, sid, revision, decision, reasons, note)


async def _precheck(
    ctx: Ctx, subject: str, sid: int, revision: int, current: int, pending: bool, base: dict[str, Any]
) -> Decided | None:
    """Why this decision cannot be taken, or None when it can."""
    if current != revision and pending:
        return Decided("resent", revision=current, **base)
    first = await reviews.standing(ctx.session, subject, sid, revision)
    if first is not None:
        return Decided("taken", review=first, revision=current, **base)
    if current != revision:
        return Decided("resent", revision=current, **base)
    if not pending:
        return Decided("not_pending", **base)
    return None


async def _decide_enrollment(
    ctx: Ctx, sid: int, revision: int, decision: str, reasons: Sequence[str], note: str | None, items: Sequence[str]
) -> Decided:
    enr = await ctx.session.get(Enrollment, sid)
    if enr is None:
        return Decided("missing")
    lab = await ctx.session.get(Lab, enr.lab_id)
    assert lab is not None
    base: dict[str, Any] = {"name": lab.name, "code": lab.code, "lab_id": lab.id}
    refused = await _precheck(ctx, "enrollment", sid, revision, enr.revision, enr.status == "submitted", base)
    if refused is not None:
        return refused
    if decision == "approved":
        # The notice: without both the signed and stamped agreement and the licence, no approval.
        p = await progress(ctx.session, ctx.campaign, lab, ctx.now)
        if not p.agreement or not p.licence_done:
            return Decided("incomplete", **base)
    ours, first = await reviews.record(
        ctx.session,
        subject="enrollment",
        subject_id=sid,
        revision=revision,
        decision=decision,
        reasons=reasons,
        note=note,
        reviewer=ctx.actor.ref,
        at=ctx.now,
    )
    if not ours:
        return Decided("taken", review=first, revision=enr.revision, **base)
    before = {"status": enr.status, "revision": enr.revision, "returned_items": list(enr.returned_items or [])}
    enr.status = decision
    enr.decided_at = ctx.now
    enr.returned_items = list(items) if decision == "returned" else []
    ctx.audit(
        f"review_{decision}",
        "enrollment",
        enr.id,
        lab_id=lab.id,
        before=before,
        after={
            "status": enr.status,
            "revision": revision,
            "reasons": list(reasons),
            "note": note,
            "returned_items": list(enr.returned_items),
        },
    )
    await _tell_lab(ctx, lab, decision, reasons, note, enr.returned_items)
    return Decided("done", review=first, **base)


async def _decide_application(
    ctx: Ctx, sid: int, revision: int, decision: str, reasons: Sequence[str], note: str | None
) -> Decided:
    app = await ctx.session.get(Application, sid)
    if app is None:
        return Decided("missing")
    base: dict[str, Any] = {"name": str(app.data.get("name") or "?")}
    refused = await _precheck(ctx, "application", sid, revision, app.revision, app.status == "pending", base)
    if refused is not None:
        return refused
    final = decision != "approved" and any(APPLICATION_REASONS.get(r, False) for r in reasons)
    recorded = "approved" if decision == "approved" else ("rejected" if final else "returned")
    ours, first = await reviews.record(
        ctx.session,
        subject="application",
        subject_id=sid,
        revision=revision,
        decision=recorded,
        reasons=reasons,
        note=note,
        reviewer=ctx.actor.ref,
        at=ctx.now,
    )
    if not ours:
        return Decided("taken", review=first, revision=app.revision, **base)
    before = {"status": app.status, "revision": app.revision}
    app.decided_at = ctx.now
    if recorded == "approved":
        lab = await _create_lab(ctx, app)
        base |= {"code": lab.code, "lab_id": lab.id}
    else:
        # Returned: back to a draft the applicant corrects and sends again (as the next revision); rejected:
        # the application ends.
        app.status = "rejected" if final else "draft"
        if not final:
            app.revision += 1
        await _tell_applicant(ctx, app, recorded, reasons, note)
    ctx.audit(
        f"review_{recorded}",
        "application",
        app.id,
        lab_id=app.lab_id,
        before=before,
        after={"status": app.status, "revision": app.revision, "reasons": list(reasons), "note": note, **base},
    )
    return Decided("done", review=first, **base)


def _iso(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def _create_lab(ctx: Ctx, app: Application) -> Lab:
    """An approved application becomes a lab with the next free code; the applicant becomes its contact and
    the year's registration is opened, so the lab walks the three steps like any other."""
    d = app.data or {}
    kind = ctx.campaign.type_by_code.get(d.get("institution_type", ""))
    lab = Lab(
        code=await reports.next_lab_code(ctx.session),
        name=str(d.get("name")),
        institution_type=str(d.get("institution_type")),
        level=d.get("level") if kind is None or kind.needs_level else None,
        city=str(d.get("city")),
        licence_no=d.get("licence_no"),
        licence_valid_from=_iso(d.get("licence_valid_from")),
        licence_valid_to=_iso(d.get("licence_valid_to")),
        credit_code=d.get("credit_code"),
        address=d.get("address"),
        source="application",
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(lab)
    await ctx.session.flush()  # a code taken meanwhile fails here; the core retries the whole update
    # One person, one lab at a time (as when binding with a code).
    await ctx.session.execute(
        update(Contact)
        .where(Contact.platform == app.platform, Contact.user_id == app.user_id, Contact.active.is_(True))
        .values(active=False)
    )
    lang = await _language(ctx, app.platform, app.user_id, "zh")
    contact = Contact(
        lab_id=lab.id,
        platform=app.platform,
        user_id=app.user_id,
        chat_id=app.chat_id,
        name=d.get("contact_name"),
        mobile=d.get("mobile"),
        language=lang,
        is_backup=False,
        active=True,
        created_at=ctx.now,
    )
    ctx.session.add(contact)
    await enrollment(ctx.session, lab.id, ctx.campaign.year)
    app.status, app.lab_id = "approved", lab.id
    after = {k: getattr(lab, k) for k in ("code", "name", "institution_type", "level", "city", "credit_code")}
    ctx.audit("lab_created", "lab", lab.id, lab_id=lab.id, after={**after, "application": app.id})
    ctx.audit("bound", "contact", f"{app.platform}:{app.user_id}", lab_id=lab.id, after={"lab": lab.code})
    t = tr(ctx, lang)
    ctx.push(
        Reply(
            t(
                "rv-app-approved",
                name=lab.name,
                code=lab.code,
                year=ctx.campaign.year,
                deadline=day(ctx.campaign.deadline, lang),
            ),
            keyboard(
                [Button(t("btn-continue"), "g:go:journey")],
                [Button(t("btn-status"), "g:go:status"), Button(t("btn-faq"), "g:faq:")],
            ),
            chat_id=app.chat_id,
            platform=app.platform,
        )
    )
    return lab


async def _language(ctx: Ctx, platform: str, user_id: str | None, fallback: str) -> str:
    if user_id is None:
        return fallback
    chosen = await ctx.session.scalar(
        select(UserProfile.language).where(UserProfile.platform == platform, UserProfile.user_id == user_id)
    )
    return chosen if chosen in ("zh", "en") else fallback


async def _tell_lab(
    ctx: Ctx, lab: Lab, decision: str, reasons: Sequence[str], note: str | None, items: Sequence[str]
) -> int:
    """The result, at once, to every active contact of the lab, each in their language."""
    c = ctx.campaign
    contacts = await lab_contacts(ctx.session, lab.id)
    for contact in contacts:
        lang = await _language(ctx, contact.platform, contact.user_id, contact.language or "zh")
        t = tr(ctx, lang)
        if decision == "approved":
            text = t(
                "rv-lab-approved",
                lab=lab.name,
                code=lab.code,
                year=c.year,
                samples=day(c.samples_from, lang),
                fees=c.fees.note_en if lang == "en" else c.fees.note,
            )
            buttons = keyboard(
                [Button(t("btn-status"), "g:go:status")],
                [Button(t("btn-faq"), "g:faq:"), Button(t("btn-contacts"), "g:faq:contacts")],
            )
        else:
            lines = [t("rv-lab-returned", lab=lab.name, code=lab.code, year=c.year)]
            lines += reason_lines(t, "enrollment", reasons, note, for_lab=True)
            lines.append(t("rv-lab-redo", items=items_text(t, items, lang)) if items else t("rv-lab-redo-nothing"))
            lines.append(t("rv-lab-deadline", deadline=day(c.deadline, lang), days=c.days_left(ctx.now)))
            buttons = keyboard(
                [Button(t("rv-btn-resend"), "g:go:journey")],
                [Button(t("btn-status"), "g:go:status"), Button(t("btn-contacts"), "g:faq:contacts")],
            )
            text = "\n".join(lines)
        ctx.push(Reply(fit(text), buttons, chat_id=contact.chat_id or contact.user_id, platform=contact.platform))
    if not contacts:
        log.warning("lab %s has no active contact: the decision waits in its status", lab.code)
    return len(contacts)


async def _tell_applicant(ctx: Ctx, app: Application, decision: str, reasons: Sequence[str], note: str | None) -> None:
    lang = await _language(ctx, app.platform, app.user_id, "zh")
    t = tr(ctx, lang)
    name = str(app.data.get("name") or "")
    lines = [t("rv-app-rejected" if decision == "rejected" else "rv-app-returned", name=name)]
    lines += reason_lines(t, "application", reasons, note, for_lab=True)
    if decision == "rejected":
        lines.append(ctx.campaign.contacts.text(lang))
        buttons = keyboard([Button(t("btn-contacts"), "g:faq:contacts"), Button(t("btn-menu"), "g:go:menu")])
    else:
        lines.append(t("rv-app-correct", deadline=day(ctx.campaign.deadline, lang)))
        buttons = keyboard([Button(t("rv-btn-correct"), "g:go:apply")], [Button(t("btn-contacts"), "g:faq:contacts")])
    ctx.push(Reply(fit("\n".join(lines)), buttons, chat_id=app.chat_id, platform=app.platform))


async def explain(ctx: Ctx, subject: str, sid: int, res: Decided) -> None:
    """Tell the reviewer why nothing changed (toast and message: in a group the message says to whom)."""
    t = ctx.t
    name = f"{res.name}（{res.code}）" if res.code else res.name
    if res.status == "taken" and res.review is not None:
        who = (await _who(ctx, [res.review.reviewer]))[res.review.reviewer]
        text = t(
            "rv-taken",
            name=name,
            who=who,
            decision=t(f"rv-decision-{res.review.decision}"),
            at=moment(res.review.created_at, ctx.lang, ctx.campaign.tz),
        )
    elif res.status == "resent":
        text = t("rv-resent", name=name, revision=res.revision or 0)
    elif res.status == "incomplete":
        text = t("rv-incomplete", name=name)
    elif res.status == "not_pending":
        text = t("rv-not-pending", name=name)
    else:
        text = t("rv-missing")
    ctx.toast(fit(text, 190), alert=True)
    rows = []
    if res.status in ("resent", "not_pending", "taken"):
        rows.append([ctx.gbtn(t("rv-btn-open-current"), "rv", f"o.{CODES[subject]}.{sid}")])
    rows.append([ctx.gbtn(t("rv-btn-queue"), "rv", "queue")])
    who = ctx.actor.name or ctx.actor.user_id
    ctx.say(f"{who}：{text}" if ctx.event.chat_type != "private" else text, rows)


def desk_lang(ctx: Ctx) -> str:
    """Cards in the reviewers' group stay in its language whoever presses; elsewhere, the reader's."""
    return REVIEW_LANG if ctx.event.chat_id == ctx.services.review_chat else ctx.lang


async def _after_decision(ctx: Ctx, subject: str, sid: int, res: Decided, *, edit_message: str | None) -> None:
    """Show the decided card where the decision was taken, and tell the review chat when that was elsewhere."""
    text, buttons = await _card(ctx, subject, sid, desk_lang(ctx))
    if edit_message is not None and ctx.event.kind == "button" and edit_message == ctx.event.message_id:
        ctx.show(text, buttons)
    elif edit_message is not None:
        ctx.push(Edit(edit_message, text, buttons, chat_id=ctx.event.chat_id, platform=ctx.event.platform))
    else:
        ctx.say(text, buttons)
    chat = ctx.services.review_chat
    if chat and ctx.event.chat_id != chat and res.review is not None:
        t = tr(ctx, REVIEW_LANG)
        name = f"{res.name}（{res.code}）" if res.code else res.name
        who = ctx.actor.name or ctx.actor.user_id
        ctx.push(
            Reply(
                t("rv-decided-elsewhere", name=name, who=who, decision=t(f"rv-decision-{res.review.decision}")),
                keyboard([Button(t("rv-btn-open-current"), f"g:rv:o.{CODES[subject]}.{sid}")]),
                chat_id=chat,
                platform=ctx.event.platform,
            )
        )


async def _card(ctx: Ctx, subject: str, sid: int, lang: str) -> tuple[str, Keyboard]:
    if subject == "enrollment":
        enr = await ctx.session.get(Enrollment, sid)
        assert enr is not None
        msgs = await _enrollment_messages(ctx, enr, lang, chat_id=None, platform=None, docs=False)
    else:
        app = await ctx.session.get(Application, sid)
        assert app is not None
        msgs = await _application_messages(ctx, app, lang, chat_id=None, platform=None)
    card = msgs[-1]
    assert isinstance(card, Reply)
    return card.text, card.buttons


# -- buttons -----------------------------------------------------------------------------------------------
@action("rv", role="staff")
async def desk_button(ctx: Ctx, arg: str) -> None:
    parts = arg.split(".")
    op, rest = parts[0], parts[1:]
    if op == "queue":
        await show_queue(ctx, _int(rest[0]) or 0 if rest else 0)
        return
    if op == "stats":
        await show_stats(ctx)
        return
    if op == "bulk":
        await flows.start(ctx, "rv_bulk", "pick", {"sel": [], "page": 0})
        return
    if op in ("o", "a", "r") and len(rest) >= 2 and rest[0] in SUBJECTS and _int(rest[1]) is not None:
        subject, sid = SUBJECTS[rest[0]], _int(rest[1])
        assert sid is not None
        if op == "o":
            await open_subject(ctx, subject, sid)
            return
        revision = _int(rest[2]) if len(rest) > 2 else None
        if revision is not None:
            if op == "a":
                await approve(ctx, subject, sid, revision)
            else:
                await start_return(ctx, subject, sid, revision)
            return
    if op in ("lab", "docs") and rest and (target := _int(rest[0])) is not None:
        await (show_lab(ctx, target) if op == "lab" else send_documents(ctx, target))
        return
    log.warning("update %s: malformed desk button %r from %s", ctx.event.update_id, arg[:40], ctx.actor.ref)
    ctx.toast(ctx.t("button-unknown"), alert=True)


async def approve(ctx: Ctx, subject: str, sid: int, revision: int) -> None:
    res = await decide(ctx, subject, sid, revision, "approved")
    if res.status != "done":
        await explain(ctx, subject, sid, res)
        return
    ctx.toast(ctx.t("rv-approved-toast"))
    await _after_decision(ctx, subject, sid, res, edit_message=ctx.event.message_id)


async def open_subject(ctx: Ctx, subject: str, sid: int) -> None:
    """A submission or application, opened from the queue (or an old message): documents, then the card."""
    if subject == "enrollment":
        enr = await ctx.session.get(Enrollment, sid)
        if enr is None:
            ctx.toast(ctx.t("rv-missing"), alert=True)
            return
        actions = await _enrollment_messages(ctx, enr, desk_lang(ctx), chat_id=None, platform=None, docs=True)
    else:
        app = await ctx.session.get(Application, sid)
        if app is None:
            ctx.toast(ctx.t("rv-missing"), alert=True)
            return
        actions = await _application_messages(ctx, app, desk_lang(ctx), chat_id=None, platform=None)
    for a in actions:
        _emit(ctx, a)


async def send_documents(ctx: Ctx, enr_id: int) -> None:
    enr = await ctx.session.get(Enrollment, enr_id)
    lab = await ctx.session.get(Lab, enr.lab_id) if enr else None
    if enr is None or lab is None:
        ctx.toast(ctx.t("rv-missing"), alert=True)
        return
    p = await progress(ctx.session, ctx.campaign, lab, ctx.now)
    actions = await document_messages(ctx, p, ctx.lang, chat_id=None, platform=None)
    if not actions:
        ctx.say(ctx.t("rv-docs-none-sent", code=lab.code), [[ctx.gbtn(ctx.t("rv-btn-lab"), "rv", f"lab.{lab.id}")]])
        return
    for a in actions:
        _emit(ctx, a)


# -- return with reasons (a flow: the reasons ticked and the reviewer's own words live in the database) ----
async def start_return(ctx: Ctx, subject: str, sid: int, revision: int) -> None:
    # Check first, so nobody spends time on reasons for something decided or sent again meanwhile.
    if subject == "enrollment":
        enr = await ctx.session.get(Enrollment, sid)
        lab = await ctx.session.get(Lab, enr.lab_id) if enr else None
        state = (enr.revision, enr.status == "submitted") if enr else None
        base: dict[str, Any] = {"name": lab.name, "code": lab.code, "lab_id": lab.id} if lab else {}
    else:
        app = await ctx.session.get(Application, sid)
        state = (app.revision, app.status == "pending") if app else None
        base = {"name": str(app.data.get("name") or "?")} if app else {}
    if state is None:
        await explain(ctx, subject, sid, Decided("missing"))
        return
    refused = await _precheck(ctx, subject, sid, revision, state[0], state[1], base)
    if refused is not None:
        await explain(ctx, subject, sid, refused)
        return
    data = {
        "s": CODES[subject],
        "id": sid,
        "rev": revision,
        "reasons": [],
        "note": None,
        "items": [],
        "alert": ctx.event.message_id,
        "new": True,  # the checklist is a new message under the card, which stays as it is
    }
    await flows.start(ctx, "rv_return", "reasons", data)


def _screen(ctx: Ctx, text: str, rows: list[list[Button]]) -> None:
    if ctx.state.data.pop("new", False):
        ctx.say(text, rows)
    else:
        ctx.show(text, rows)


def _reasons_for(subject: str) -> list[str]:
    return list(ENROLLMENT_REASONS if subject == "enrollment" else APPLICATION_REASONS)


async def _subject_name(ctx: Ctx, subject: str, sid: int) -> str:
    if subject == "enrollment":
        enr = await ctx.session.get(Enrollment, sid)
        lab = await ctx.session.get(Lab, enr.lab_id) if enr else None
        return f"{lab.name}（{lab.code}）" if lab else "?"
    app = await ctx.session.get(Application, sid)
    return str(app.data.get("name") or "?") if app else "?"


async def show_reasons(ctx: Ctx) -> None:
    if _staff_only(ctx, "return reasons"):
        return
    d = ctx.state.data
    subject = SUBJECTS.get(d.get("s", ""), "enrollment")
    t = ctx.t
    chosen: list[str] = d.get("reasons") or []
    lines = [t("rv-return-title", name=await _subject_name(ctx, subject, int(d["id"]))), t("rv-return-hint")]
    if d.get("note"):
        lines.append(t("rv-return-note", note=d["note"]))
    rows: list[list[Button]] = []
    for code in _reasons_for(subject):
        if code == "other":
            continue
        mark = "☑ " if code in chosen else "☐ "
        rows.append([ctx.btn(mark + t("rv-reason-" + code.replace("_", "-")), "t", code)])
    other = ("☑ " if d.get("note") else "✏️ ") + t("rv-reason-other")
    rows.append([ctx.btn(other, "other")])
    if subject == "enrollment":
        extra: list[str] = d.get("items") or []
        if d.get("note"):
            lines.append(t("rv-return-other-items"))
            toggles = [ctx.btn(("☑ " if i in extra else "☐ ") + t(f"item-{i}"), "i", i) for i in ITEMS]
            rows += [toggles[n : n + 3] for n in range(0, len(toggles), 3)]
        lines.append(t("rv-return-items", items=items_text(t, items_for(_with_other(d), extra), ctx.lang)))
    count = len(_with_other(d))
    rows.append([ctx.btn(t("rv-return-confirm", count=count), "ok"), ctx.btn(t("rv-return-cancel"), "x")])
    _screen(ctx, "\n".join(lines), rows)


def _with_other(d: dict[str, Any]) -> list[str]:
    chosen = [r for r in d.get("reasons") or [] if r != "other"]
    return [*chosen, "other"] if d.get("note") else chosen


async def on_reasons_button(ctx: Ctx, act: str, arg: str) -> None:
    if _staff_only(ctx, "return reasons"):
        return
    d = ctx.state.data
    subject = SUBJECTS.get(d.get("s", ""), "enrollment")
    if act == "t" and arg in _reasons_for(subject) and arg != "other":
        chosen = list(d.get("reasons") or [])
        d["reasons"] = [r for r in chosen if r != arg] if arg in chosen else [*chosen, arg]
        await show_reasons(ctx)
        return
    if act == "i" and arg in ITEMS and subject == "enrollment":
        extra = list(d.get("items") or [])
        d["items"] = [i for i in extra if i != arg] if arg in extra else [*extra, arg]
        await show_reasons(ctx)
        return
    if act == "other":
        await flows.go(ctx, "note")
        return
    if act == "x":
        ctx.end()
        ctx.show(ctx.t("rv-return-cancelled"), [[ctx.gbtn(ctx.t("rv-btn-queue"), "rv", "queue")]])
        return
    if act == "ok":
        await confirm_return(ctx)
        return
    ctx.toast(ctx.t("button-unknown"))


async def confirm_return(ctx: Ctx) -> None:
    d = ctx.state.data
    subject = SUBJECTS.get(d.get("s", ""), "enrollment")
    reasons = _with_other(d)
    if not reasons:
        ctx.toast(ctx.t("rv-return-choose"), alert=True)
        return
    sid, revision = int(d["id"]), int(d["rev"])
    items = items_for(reasons, d.get("items") or []) if subject == "enrollment" else []
    res = await decide(ctx, subject, sid, revision, "returned", reasons, d.get("note"), items)
    alert = d.get("alert")
    ctx.end()
    if res.status != "done":
        await explain(ctx, subject, sid, res)
        return
    ctx.toast(ctx.t("rv-returned-toast"))
    name = f"{res.name}（{res.code}）" if res.code else res.name
    t = ctx.t
    summary = [t("rv-returned-done", name=name)]
    summary += reason_lines(t, subject, reasons, d.get("note"), for_lab=False)
    if subject == "enrollment":
        summary.append(t("rv-card-returned-items", items=items_text(t, items, ctx.lang)))
    ctx.show("\n".join(summary), [[ctx.gbtn(t("rv-btn-queue"), "rv", "queue")]])
    # The card the reviewer pressed "return" on shows the decision too.
    await _after_decision(ctx, subject, sid, res, edit_message=alert if isinstance(alert, str) else None)


async def show_note(ctx: Ctx) -> None:
    if _staff_only(ctx, "return note"):
        return
    rows = [[ctx.btn(ctx.t("rv-note-back"), "back")]]
    if ctx.state.data.get("note"):
        rows.insert(0, [ctx.btn(ctx.t("rv-note-clear"), "clear")])
    ctx.show(ctx.t("rv-note-ask"), rows)


async def on_note_text(ctx: Ctx, text: str) -> None:
    if _staff_only(ctx, "return note"):
        return
    checked = validators.text_field(text, max_len=300)
    if not checked.ok:
        ctx.say("⚠️ " + ctx.t(checked.error or "", **checked.args), [[ctx.btn(ctx.t("rv-note-back"), "back")]])
        return
    ctx.state.data["note"] = checked.value
    ctx.state.data["new"] = True
    await flows.go(ctx, "reasons")


async def on_note_button(ctx: Ctx, act: str, arg: str) -> None:
    if _staff_only(ctx, "return note"):
        return
    if act == "clear":
        ctx.state.data["note"] = None
        ctx.state.data["items"] = []
    if act in ("clear", "back"):
        await flows.go(ctx, "reasons")
        return
    ctx.toast(ctx.t("button-unknown"))


@command("note", role="staff", leaves_flow=False)
async def note_command(ctx: Ctx) -> None:
    """In a group the bot may see only commands (privacy mode): `/note 文字` gives the "other" reason there."""
    if ctx.state.flow != "rv_return":
        ctx.say(ctx.t("rv-note-nothing"), [[ctx.gbtn(ctx.t("rv-btn-queue"), "rv", "queue")]])
        return
    if not ctx.event.args.strip():
        await flows.go(ctx, "note")
        return
    await on_note_text(ctx, ctx.event.args)


register(
    Flow(
        "rv_return",
        "reasons",
        {
            "reasons": Step(show=show_reasons, on_button=on_reasons_button),
            "note": Step(show=show_note, on_text=on_note_text, on_button=on_note_button),
        },
    )
)


# -- the queue ---------------------------------------------------------------------------------------------
@command("queue", role="staff")
async def queue_command(ctx: Ctx) -> None:
    ctx.end()
    await show_queue(ctx, 0)


async def show_queue(ctx: Ctx, offset: int) -> None:
    t, c = ctx.t, ctx.campaign
    items = await reports.queue(ctx.session, c.year)
    deadline = t("rv-days-left", days=c.days_left(ctx.now)) if not ctx.closed else t("rv-closed")
    if not items:
        ctx.show(
            t("rv-queue-empty") + "\n" + deadline,
            [[ctx.gbtn(t("btn-stats"), "rv", "stats")], [ctx.gbtn(t("btn-menu"), "go", "menu")]],
        )
        return
    offset = max(0, min(offset, (len(items) - 1) // QUEUE_PAGE * QUEUE_PAGE))
    page = items[offset : offset + QUEUE_PAGE]
    lines = [t("rv-queue-title", count=len(items)) + " " + deadline, ""]
    rows: list[list[Button]] = []
    for n, item in enumerate(page, offset + 1):
        since = moment(item.since, ctx.lang, c.tz)
        if item.subject == "enrollment":
            warn = " ⚠️" * (1 if item.advice else 0)
            lines.append(
                f"{n}. "
                + t(
                    "rv-queue-enrollment", code=item.lab_code or "", name=item.name, revision=item.revision, since=since
                )
                + warn
            )
            label = f"{n}. {item.lab_code} {item.name}"
        else:
            lines.append(f"{n}. " + t("rv-queue-application", name=item.name, city=item.city or "", since=since))
            label = f"{n}. 🆕 {item.name}"
        rows.append([ctx.gbtn(fit(label, 60), "rv", f"o.{CODES[item.subject]}.{item.id}")])
    pager = []
    if offset > 0:
        pager.append(ctx.gbtn(t("rv-btn-prev"), "rv", f"queue.{offset - QUEUE_PAGE}"))
    if offset + QUEUE_PAGE < len(items):
        pager.append(ctx.gbtn(t("rv-btn-next"), "rv", f"queue.{offset + QUEUE_PAGE}"))
    rows.append(pager)
    if any(i.subject == "enrollment" for i in items):
        rows.append([ctx.gbtn(t("rv-btn-bulk"), "rv", "bulk"), ctx.gbtn(t("btn-stats"), "rv", "stats")])
    else:
        rows.append([ctx.gbtn(t("btn-stats"), "rv", "stats")])
    ctx.show(fit("\n".join(lines)), [r for r in rows if r])


# -- a lab's file ------------------------------------------------------------------------------------------
@command("lab", role="staff")
async def lab_command(ctx: Ctx) -> None:
    ctx.end()
    query = ctx.event.args.strip()
    if not query:
        ctx.say(ctx.t("rv-lab-usage"), [[ctx.gbtn(ctx.t("rv-btn-queue"), "rv", "queue")]])
        return
    found = await reports.find_labs(ctx.session, query[:100])
    if not found:
        ctx.say(ctx.t("rv-lab-not-found", query=query[:40]), [[ctx.gbtn(ctx.t("rv-btn-queue"), "rv", "queue")]])
        return
    if len(found) == 1:
        await show_lab(ctx, found[0].id)
        return
    rows = [[ctx.gbtn(fit(f"{lab.code} {lab.name}", 60), "rv", f"lab.{lab.id}")] for lab in found]
    ctx.say(ctx.t("rv-lab-choose", count=len(found)), rows)


async def show_lab(ctx: Ctx, lab_id: int) -> None:
    lab = await ctx.session.get(Lab, lab_id)
    if lab is None:
        ctx.toast(ctx.t("rv-missing"), alert=True)
        return
    t, c, lang = ctx.t, ctx.campaign, ctx.lang
    lines = [
        t("rv-file-title", name=lab.name, code=lab.code),
        t(
            "rv-card-lab",
            type=_label(ctx, "type_by_code", lab.institution_type, lang),
            level=_label(ctx, "level_by_code", lab.level, lang) if lab.level else "—",
            city=lab.city,
        ),
        t("rv-file-credit", code=lab.credit_code or "—"),
        t(
            "rv-file-licence",
            number=lab.licence_no or "—",
            start=day(lab.licence_valid_from, lang) if lab.licence_valid_from else "—",
            until=day(lab.licence_valid_to, lang) if lab.licence_valid_to else "—",
        ),
        t("rv-file-address", address=lab.address or "—"),
    ]
    contacts = list(
        await ctx.session.scalars(
            select(Contact).where(Contact.lab_id == lab.id).order_by(Contact.is_backup, Contact.id)
        )
    )
    for x in contacts:
        state = (
            "rv-contact-bound"
            if x.user_id and x.active
            else ("rv-contact-inactive" if x.user_id else "rv-contact-roster")
        )
        role = t("rv-contact-backup") if x.is_backup else t("rv-contact-main")
        lines.append(f"• {role} {x.name or '?'} {x.mobile or ''} — {t(state)}")
    if not contacts:
        lines.append(t("rv-file-no-contacts"))
    enr = await enrollment(ctx.session, lab.id, c.year, create=False)
    rows: list[list[Button]] = []
    if enr is None:
        lines.append(t("rv-file-not-started", year=c.year))
    else:
        p = await progress(ctx.session, c, lab, ctx.now)
        lines += ["", t("rv-file-year", year=c.year, state=t(f"review-state-{enr.status}"), revision=enr.revision)]
        lines.append(
            t(
                "rv-file-steps",
                checklist="✅" if p.checklist_done else "⬜",
                plan="✅" if p.plan_done else "⬜",
                documents="✅" if p.documents_done else "⬜",
            )
        )
        names = [c.specialty_by_code[s].label(lang) for s in enr.specialties or [] if s in c.specialty_by_code]
        if names:
            lines.append(t("rv-card-specialties", count=len(names), list=join(names, lang)))
        history = await reviews.history(ctx.session, "enrollment", enr.id)
        who = await _who(ctx, [r.reviewer for r in history])
        for r in history:
            lines.append(
                t(
                    "rv-file-review",
                    revision=r.revision,
                    decision=t(f"rv-decision-{r.decision}"),
                    who=who[r.reviewer],
                    at=moment(r.created_at, lang, c.tz),
                )
            )
            if r.decision != "approved":
                lines += reason_lines(t, "enrollment", r.reasons or [], r.note, for_lab=False)
        if enr.status != "draft":
            rows.append([ctx.gbtn(t("rv-btn-open-current"), "rv", f"o.e.{enr.id}")])
        if p.agreement or p.licence or p.licence_from_earlier:
            rows.append([ctx.gbtn(t("rv-btn-docs"), "rv", f"docs.{enr.id}")])
    if ctx.actor.is_admin:
        rows.append([ctx.gbtn(t("rv-btn-audit"), "adm", f"audit.{lab.id}.0")])
    rows.append([ctx.gbtn(t("rv-btn-queue"), "rv", "queue"), ctx.gbtn(t("btn-menu"), "go", "menu")])
    ctx.show(fit("\n".join(lines)), rows)


# -- figures -----------------------------------------------------------------------------------------------
STATUS_ORDER = ("approved", "submitted", "returned", "draft", reports.NO_ENROLLMENT)


@command("stats", role="staff")
async def stats_command(ctx: Ctx) -> None:
    ctx.end()
    await show_stats(ctx)


def _tally(t: Tr, counts: Any) -> str:
    total = sum(counts.values())
    parts = [t("rv-stats-total", count=total)]
    parts += [t(f"rv-stats-{s}", count=counts[s]) for s in STATUS_ORDER if counts.get(s)]
    return " · ".join(parts)


async def show_stats(ctx: Ctx) -> None:
    t, c, lang = ctx.t, ctx.campaign, ctx.lang
    s = await reports.stats(ctx.session, c.year)
    deadline = t("rv-days-left", days=c.days_left(ctx.now)) if not ctx.closed else t("rv-closed")
    lines = [
        t("rv-stats-title", year=c.year, at=moment(ctx.now, lang, c.tz)),
        t("rv-stats-deadline", deadline=day(c.deadline, lang)) + " " + deadline,
        "",
        t("rv-stats-labs") + _tally(t, s.by_status),
    ]
    apps = s.applications
    if apps:
        lines.append(
            t(
                "rv-stats-applications",
                pending=apps.get("pending", 0),
                approved=apps.get("approved", 0),
                returned=apps.get("draft", 0),
                rejected=apps.get("rejected", 0),
            )
        )
    lines += ["", t("rv-stats-by-city")]
    order = {city: n for n, city in enumerate(c.cities)}
    for city in sorted(s.by_city, key=lambda x: (order.get(x, 999), x)):
        lines.append(f"• {city}：" + _tally(t, s.by_city[city]))
    lines += ["", t("rv-stats-by-type")]
    for kind in sorted(
        s.by_type, key=lambda k: [x.code for x in c.institution_types].index(k) if k in c.type_by_code else 999
    ):
        lines.append(f"• {_label(ctx, 'type_by_code', kind, lang)}：" + _tally(t, s.by_type[kind]))
    lines += ["", t("rv-stats-specialties")]
    for spec in c.specialties:
        chosen, approved = s.specialty_chosen.get(spec.code, 0), s.specialty_approved.get(spec.code, 0)
        lines.append(t("rv-stats-specialty", name=spec.label(lang), chosen=chosen, approved=approved))
    rows = [[ctx.gbtn(t("rv-btn-queue"), "rv", "queue")]]
    rows.append([ctx.gbtn(t("rv-btn-export"), "adm", "export"), ctx.gbtn(t("btn-menu"), "go", "menu")])
    ctx.show(fit("\n".join(lines)), rows)


# -- bulk approval -----------------------------------------------------------------------------------------
@command("approve", role="staff")
async def approve_command(ctx: Ctx) -> None:
    """`/approve HN0001 HN0002 …`: the confirmation of a bulk approval for these labs."""
    ctx.end()
    codes = [c.upper() for c in re.split(r"[\s,，、;；]+", ctx.event.args) if c][:200]
    if not codes:
        await flows.start(ctx, "rv_bulk", "pick", {"sel": [], "page": 0})
        return
    pending = {i.lab_code: i for i in await reports.queue(ctx.session, ctx.campaign.year) if i.subject == "enrollment"}
    chosen = [[pending[code].id, pending[code].revision] for code in dict.fromkeys(codes) if code in pending]
    missing = [code for code in dict.fromkeys(codes) if code not in pending]
    if missing:
        ctx.note(ctx.t("rv-bulk-not-pending", codes=join(missing, ctx.lang)))
    if not chosen:
        ctx.say(ctx.t("rv-bulk-nothing"), [[ctx.gbtn(ctx.t("rv-btn-queue"), "rv", "queue")]])
        return
    await flows.start(ctx, "rv_bulk", "confirm", {"sel": chosen, "page": 0})


async def _bulk_items(ctx: Ctx) -> list[reports.QueueItem]:
    return [i for i in await reports.queue(ctx.session, ctx.campaign.year) if i.subject == "enrollment"]


async def show_bulk_pick(ctx: Ctx) -> None:
    if _staff_only(ctx, "bulk approval"):
        return
    t, d = ctx.t, ctx.state.data
    items = await _bulk_items(ctx)
    if not items:
        ctx.end()
        ctx.show(t("rv-queue-empty"), [[ctx.gbtn(t("btn-menu"), "go", "menu")]])
        return
    selected = {int(i) for i, _ in d.get("sel") or []}
    pages = (len(items) - 1) // BULK_PAGE + 1
    page = max(0, min(int(d.get("page") or 0), pages - 1))
    d["page"] = page
    rows: list[list[Button]] = []
    for item in items[page * BULK_PAGE : (page + 1) * BULK_PAGE]:
        mark = "☑ " if item.id in selected else "☐ "
        warn = " ⚠️" if item.advice else ""
        rows.append([ctx.btn(fit(f"{mark}{item.lab_code} {item.name}{warn}", 60), "p", f"{item.id}.{item.revision}")])
    nav = []
    if page > 0:
        nav.append(ctx.btn(t("rv-btn-prev"), "page", str(page - 1)))
    nav.append(ctx.btn(t("rv-bulk-page-all"), "all"))
    if page + 1 < pages:
        nav.append(ctx.btn(t("rv-btn-next"), "page", str(page + 1)))
    rows.append(nav)
    rows.append([ctx.btn(t("rv-bulk-review", count=len(selected)), "go"), ctx.btn(t("rv-return-cancel"), "x")])
    text = t("rv-bulk-pick", count=len(items), page=page + 1, pages=pages)
    ctx.show(text, rows)


async def on_bulk_pick(ctx: Ctx, act: str, arg: str) -> None:
    if _staff_only(ctx, "bulk approval"):
        return
    d = ctx.state.data
    sel: list[list[int]] = [list(x) for x in d.get("sel") or []]
    if act == "p":
        sid, _, rev = arg.partition(".")
        if _int(sid) is None or _int(rev) is None:
            ctx.toast(ctx.t("button-unknown"))
            return
        pair = [int(sid), int(rev)]
        d["sel"] = [x for x in sel if x[0] != pair[0]] if any(x[0] == pair[0] for x in sel) else [*sel, pair]
        await show_bulk_pick(ctx)
        return
    if act == "all":
        items = await _bulk_items(ctx)
        page = int(d.get("page") or 0)
        have = {x[0] for x in sel}
        d["sel"] = sel + [
            [i.id, i.revision] for i in items[page * BULK_PAGE : (page + 1) * BULK_PAGE] if i.id not in have
        ]
        await show_bulk_pick(ctx)
        return
    if act == "page" and _int(arg) is not None:
        d["page"] = int(arg)
        await show_bulk_pick(ctx)
        return
    if act == "go":
        if not sel:
            ctx.toast(ctx.t("rv-bulk-choose"), alert=True)
            return
        await flows.go(ctx, "confirm")
        return
    if act == "x":
        ctx.end()
        ctx.show(ctx.t("rv-bulk-cancelled"), [[ctx.gbtn(ctx.t("rv-btn-queue"), "rv", "queue")]])
        return
    ctx.toast(ctx.t("button-unknown"))


async def show_bulk_confirm(ctx: Ctx) -> None:
    if _staff_only(ctx, "bulk approval"):
        return
    t = ctx.t
    sel = [list(x) for x in ctx.state.data.get("sel") or []]
    pending = {i.id: i for i in await _bulk_items(ctx)}
    lines = [t("rv-bulk-confirm", count=len(sel)), ""]
    for n, (sid, _rev) in enumerate(sel, 1):
        item = pending.get(sid)
        if item is None:
            lines.append(f"{n}. #{sid} — " + t("rv-bulk-gone"))
        else:
            lines.append(f"{n}. {item.lab_code} {item.name}" + (" ⚠️" if item.advice else ""))
    text = fit("\n".join(lines))
    rows = [
        [ctx.btn(t("rv-bulk-do", count=len(sel)), "ok")],
        [ctx.btn(t("rv-bulk-change"), "back"), ctx.btn(t("rv-return-cancel"), "x")],
    ]
    ctx.show(text, rows)


async def on_bulk_confirm(ctx: Ctx, act: str, arg: str) -> None:
    if _staff_only(ctx, "bulk approval"):
        return
    if act == "back":
        await flows.go(ctx, "pick")
        return
    if act == "x":
        ctx.end()
        ctx.show(ctx.t("rv-bulk-cancelled"), [[ctx.gbtn(ctx.t("rv-btn-queue"), "rv", "queue")]])
        return
    if act != "ok":
        ctx.toast(ctx.t("button-unknown"))
        return
    sel = [list(x) for x in ctx.state.data.get("sel") or []]
    ctx.end()
    t = ctx.t
    done: list[str] = []
    skipped: list[str] = []
    for sid, rev in sel:
        res = await decide(ctx, "enrollment", int(sid), int(rev), "approved")
        name = f"{res.code} {res.name}" if res.code else f"#{sid}"
        if res.status == "done":
            done.append(name)
        else:
            skipped.append(f"{name} — " + t(f"rv-skip-{res.status.replace('_', '-')}"))
    ctx.audit("bulk_approved", "enrollment", None, after={"approved": len(done), "skipped": len(skipped)})
    lines = [t("rv-bulk-result", approved=len(done), skipped=len(skipped))]
    lines += ["✅ " + x for x in done]
    lines += ["⏭ " + x for x in skipped]
    rows = [[ctx.gbtn(t("rv-btn-queue"), "rv", "queue"), ctx.gbtn(t("btn-stats"), "rv", "stats")]]
    chunks = _chunks(lines)
    for n, chunk in enumerate(chunks):
        if n == 0:
            ctx.show(chunk, rows if len(chunks) == 1 else [])
        else:
            ctx.say(chunk, rows if n == len(chunks) - 1 else [])
    chat = ctx.services.review_chat
    if chat and ctx.event.chat_id != chat and done:
        who = ctx.actor.name or ctx.actor.user_id
        ctx.push(
            Reply(
                tr(ctx, REVIEW_LANG)("rv-bulk-elsewhere", who=who, count=len(done)),
                keyboard([Button(tr(ctx, REVIEW_LANG)("rv-btn-queue"), "g:rv:queue")]),
                chat_id=chat,
                platform=ctx.event.platform,
            )
        )


def _chunks(lines: list[str], limit: int = MAX_TEXT - 96) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = fit(line, limit)
        if current and size + len(line) + 1 > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


register(
    Flow(
        "rv_bulk",
        "pick",
        {
            "pick": Step(show=show_bulk_pick, on_button=on_bulk_pick),
            "confirm": Step(show=show_bulk_confirm, on_button=on_bulk_confirm),
        },
    )
)

__all__ = ["APPLICATION_REASONS", "ENROLLMENT_REASONS", "ITEMS", "decide"]

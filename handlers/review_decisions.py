"""The reviewer desk's decisions: approve or return, a new lab made from an approved application, and the
result told at once to the lab (every active contact) or to the applicant.

- A decision is a `Review` row, unique per (subject, id, revision): the first reviewer's decision stands, the
  second is told who came first. A decision names the revision it was made on, so a press on the card of a
  submission that has since been sent again changes nothing.
- Only the current campaign year's registrations are decided: a card (or a forged button) naming another
  year's enrollment is outdated, and its lab is told nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from conversations.context import Ctx
from conversations.events import Edit, Keyboard, Reply, global_button, keyboard
from conversations.formatting import day, moment
from conversations.progress import progress
from handlers.review_cards import (
    APPLICATION_REASONS,
    CODES,
    REVIEW_LANG,
    _application_messages,
    _enrollment_messages,
    _iso,
    _who,
    desk_lang,
    fit,
    items_text,
    reason_lines,
    tr,
)
from storage.models import Application, Contact, Enrollment, Lab, Review, UserProfile
from storage.repos import reports, reviews
from storage.repos.enrollments import enrollment, refuse_documents
from storage.repos.people import lab_contacts

log = logging.getLogger(__name__)


@dataclass
class Decided:
    """What became of a decision: done | resent | taken | not_pending | incomplete | missing | outdated."""

    status: str
    name: str = ""
    code: str | None = None
    lab_id: int | None = None
    review: Review | None = None  # the decision that stands
    revision: int | None = None  # the current revision (when the subject was sent again)
    year: int | None = None  # the year of an outdated enrollment
    current_id: int | None = None  # this year's enrollment of the same lab, when there is one


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


async def approve_many(ctx: Ctx, sel: Sequence[Sequence[int]]) -> tuple[list[str], list[str]]:
    """Bulk approval of (registration id, revision) pairs, each under the rules of one decision: what was
    approved, and what was skipped with the reason (the chat desk and the web desk both call this)."""
    done: list[str] = []
    skipped: list[str] = []
    for sid, rev in sel:
        res = await decide(ctx, "enrollment", int(sid), int(rev), "approved")
        name = f"{res.code} {res.name}" if res.code else f"#{sid}"
        if res.status == "done":
            done.append(name)
        else:
            skipped.append(f"{name} — " + ctx.t(f"rv-skip-{res.status.replace('_', '-')}"))
    ctx.audit("bulk_approved", "enrollment", None, after={"approved": len(done), "skipped": len(skipped)})
    return done, skipped


async def outdated(ctx: Ctx, enr: Enrollment, base: dict[str, Any]) -> Decided | None:
    """Another campaign year's enrollment is not decided here (it would tell the lab this year's result)."""
    if enr.year == ctx.campaign.year:
        return None
    current = await ctx.session.scalar(
        select(Enrollment.id).where(Enrollment.lab_id == enr.lab_id, Enrollment.year == ctx.campaign.year)
    )
    return Decided("outdated", year=enr.year, current_id=current, **base)


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
    refused = await outdated(ctx, enr, base) or await _precheck(
        ctx, "enrollment", sid, revision, enr.revision, enr.status == "submitted", base
    )
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
    # Returned files are refused: only a new file, received after this decision, can redo the item.
    refused = await refuse_documents(ctx.session, enr, [i for i in enr.returned_items if i in ("agreement", "licence")])
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
            **({"refused_documents": refused} if refused else {}),
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
    mobile = str(d.get("mobile") or "")
    # The notice: after approval the centre sends the BiQAS user name and password by SMS to this mobile.
    sms = t(
        "rv-app-biqas-sms",
        mobile=f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 11 else mobile,
        website=ctx.campaign.website,
    )
    ctx.push(
        Reply(
            t(
                "rv-app-approved",
                name=lab.name,
                code=lab.code,
                year=ctx.campaign.year,
                deadline=day(ctx.campaign.deadline, lang),
            )
            + "\n"
            + sms,
            keyboard(
                [global_button(t("btn-continue"), "go", "journey")],
                [global_button(t("btn-status"), "go", "status"), global_button(t("btn-faq"), "faq")],
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
                samples=day(c.samples_from, lang) if c.samples_from else "none",
                fees=c.fees.note_en if lang == "en" else c.fees.note,
            )
            buttons = keyboard(
                [global_button(t("btn-status"), "go", "status")],
                [global_button(t("btn-faq"), "faq"), global_button(t("btn-contacts"), "faq", "contacts")],
            )
        else:
            lines = [t("rv-lab-returned", lab=lab.name, code=lab.code, year=c.year)]
            lines += reason_lines(t, "enrollment", reasons, note, for_lab=True)
            lines.append(t("rv-lab-redo", items=items_text(t, items, lang)) if items else t("rv-lab-redo-nothing"))
            lines.append(t("rv-lab-deadline", deadline=day(c.deadline, lang), days=c.days_left(ctx.now)))
            buttons = keyboard(
                # "redo" answers below: this notice, with the centre's reasons, stays as it is.
                [global_button(t("rv-btn-resend"), "go", "redo")],
                [global_button(t("btn-status"), "go", "status"), global_button(t("btn-contacts"), "faq", "contacts")],
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
        buttons = keyboard(
            [global_button(t("btn-contacts"), "faq", "contacts"), global_button(t("btn-menu"), "go", "menu")]
        )
    else:
        lines.append(t("rv-app-correct", deadline=day(ctx.campaign.deadline, lang)))
        buttons = keyboard(
            [global_button(t("rv-btn-correct"), "go", "apply")], [global_button(t("btn-contacts"), "faq", "contacts")]
        )
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
    elif res.status == "outdated":
        text = t("rv-outdated", name=name, year=res.year or 0, current=ctx.campaign.year)
    else:
        text = t("rv-missing")
    ctx.toast(fit(text, 190), alert=True)
    rows = []
    if res.status in ("resent", "not_pending", "taken"):
        rows.append([ctx.gbtn(t("rv-btn-open-current"), "rv", f"o.{CODES[subject]}.{sid}")])
    if res.status == "outdated" and res.current_id is not None:
        rows.append([ctx.gbtn(t("rv-btn-open-this-year"), "rv", f"o.{CODES[subject]}.{res.current_id}")])
    rows.append([ctx.gbtn(t("rv-btn-queue"), "rv", "queue")])
    who = ctx.actor.name or ctx.actor.user_id
    ctx.say(f"{who}：{text}" if ctx.event.chat_type != "private" else text, rows)


async def _after_decision(ctx: Ctx, subject: str, sid: int, res: Decided, *, edit_message: str | None) -> None:
    """Show the decided card where the decision was taken, and tell the review chat when that was elsewhere."""
    text, buttons = await _card(ctx, subject, sid, desk_lang(ctx))
    if edit_message is not None and ctx.event.kind == "button" and edit_message == ctx.event.message_id:
        ctx.show(text, buttons)
    elif edit_message is not None:
        ctx.push(Edit(edit_message, text, buttons, chat_id=ctx.event.chat_id, platform=ctx.event.platform))
    else:
        ctx.say(text, buttons)
    if ctx.event.chat_id != ctx.services.review_chat:
        tell_review_chat(ctx, subject, sid, res, ctx.services.review_platform or ctx.event.platform)


def tell_review_chat(ctx: Ctx, subject: str, sid: int, res: Decided, platform: str | None) -> None:
    """The review chat hears of a decision taken elsewhere: in a private chat, or on the web desk."""
    chat = ctx.services.review_chat
    if res.status != "done" or res.review is None or not chat or not platform:
        return
    t = tr(ctx, REVIEW_LANG)
    name = f"{res.name}（{res.code}）" if res.code else res.name
    who = ctx.actor.name or ctx.actor.user_id
    ctx.push(
        Reply(
            t("rv-decided-elsewhere", name=name, who=who, decision=t(f"rv-decision-{res.review.decision}")),
            keyboard([global_button(t("rv-btn-open-current"), "rv", f"o.{CODES[subject]}.{sid}")]),
            chat_id=chat,
            platform=platform,
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


async def approve(ctx: Ctx, subject: str, sid: int, revision: int) -> None:
    res = await decide(ctx, subject, sid, revision, "approved")
    if res.status != "done":
        await explain(ctx, subject, sid, res)
        return
    ctx.toast(ctx.t("rv-approved-toast"))
    await _after_decision(ctx, subject, sid, res, edit_message=ctx.event.message_id)

"""The reviewer desk: its buttons, the queue, a lab's file, figures and bulk approval.

The desk is split by what each part holds:

- `handlers.review_cards`: cards, card buttons, document messages, the reasons and the small shared helpers;
- `handlers.review_alerts`: submissions and applications announced in the reviewers' chat and group robots;
- `handlers.review_decisions`: approve or return, labs made from approved applications, results pushed to labs;
- `handlers.review_returns`: the return-with-reasons flow and `/note`;
- this module: the `rv` buttons (which lead to all of the above), `/queue`, `/lab`, `/stats` and `/approve`.

Who may do this is established from the database and settings for every update (`handlers.roles`), and
checked again in every step here: forged or replayed button data from anyone else changes nothing and is
logged and audited.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import select

from conversations import flow as flows
from conversations.context import Ctx
from conversations.events import MAX_TEXT, Button, Outbound, Reply, global_button, keyboard
from conversations.flow import Flow, Step, register
from conversations.formatting import day, join, moment
from conversations.progress import progress
from handlers.review_cards import (
    APPLICATION_REASONS,
    CODES,
    ENROLLMENT_REASONS,
    ITEMS,
    REVIEW_LANG,
    SUBJECTS,
    Tr,
    _application_messages,
    _enrollment_messages,
    _label,
    _staff_only,
    _who,
    desk_lang,
    document_messages,
    fit,
    reason_lines,
    tr,
)
from handlers.review_decisions import approve, approve_many, decide, explain, outdated
from handlers.review_returns import start_return
from handlers.routing import action, command
from storage.models import Application, Contact, Enrollment, Lab
from storage.repos import reports, reviews
from storage.repos.enrollments import enrollment

log = logging.getLogger(__name__)

QUEUE_PAGE = 10
BULK_PAGE = 8


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 12 else None


def _emit(ctx: Ctx, action: Outbound) -> None:
    """Into the current chat, or pushed to the chat the action names."""
    if getattr(action, "chat_id", None) is None:
        ctx.send(action)
    else:
        ctx.push(action)


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


async def open_subject(ctx: Ctx, subject: str, sid: int) -> None:
    """A submission or application, opened from the queue (or an old message): documents, then the card."""
    if subject == "enrollment":
        enr = await ctx.session.get(Enrollment, sid)
        if enr is None:
            ctx.toast(ctx.t("rv-missing"), alert=True)
            return
        lab = await ctx.session.get(Lab, enr.lab_id)
        base = {"name": lab.name, "code": lab.code, "lab_id": lab.id} if lab else {}
        if (old := await outdated(ctx, enr, base)) is not None:  # its card would show this year's files
            await explain(ctx, subject, sid, old)
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
    if waiting := await reports.waiting_pushes(ctx.session):
        # Pushes a channel with reply windows (WeChat) holds until the lab writes again.
        lines.append(t("rv-stats-waiting", count=waiting))
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
    done, skipped = await approve_many(ctx, sel)
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
                keyboard([global_button(tr(ctx, REVIEW_LANG)("rv-btn-queue"), "rv", "queue")]),
                chat_id=chat,
                platform=ctx.services.review_platform or ctx.event.platform,
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

# Still importable from here, as before the desk was split (they live in review_cards and review_decisions).
__all__ = ["APPLICATION_REASONS", "ENROLLMENT_REASONS", "ITEMS", "decide"]

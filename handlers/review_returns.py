"""The reviewer desk's return with reasons: a flow (`rv_return`) in which the reviewer ticks reasons from a
checklist, and may give their own words (the "other" reason, also by `/note` where the bot sees only
commands). Each reason names what the lab must send again, and only that is reopened. The reasons ticked and
the reviewer's own words live in the database.
"""

from __future__ import annotations

from typing import Any

from conversations import flow as flows
from conversations import validators
from conversations.context import Ctx
from conversations.events import Button
from conversations.flow import Flow, Step, register
from handlers.review_cards import (
    APPLICATION_REASONS,
    CODES,
    ENROLLMENT_REASONS,
    ITEMS,
    SUBJECTS,
    _staff_only,
    items_for,
    items_text,
    reason_lines,
)
from handlers.review_decisions import Decided, _after_decision, _precheck, decide, explain, outdated
from handlers.routing import command
from storage.models import Application, Enrollment, Lab


async def start_return(ctx: Ctx, subject: str, sid: int, revision: int) -> None:
    # Check first, so nobody spends time on reasons for something decided or sent again meanwhile.
    old: Decided | None = None
    if subject == "enrollment":
        enr = await ctx.session.get(Enrollment, sid)
        lab = await ctx.session.get(Lab, enr.lab_id) if enr else None
        state = (enr.revision, enr.status == "submitted") if enr else None
        base: dict[str, Any] = {"name": lab.name, "code": lab.code, "lab_id": lab.id} if lab else {}
        old = await outdated(ctx, enr, base) if enr else None
    else:
        app = await ctx.session.get(Application, sid)
        state = (app.revision, app.status == "pending") if app else None
        base = {"name": str(app.data.get("name") or "?")} if app else {}
    if state is None:
        await explain(ctx, subject, sid, Decided("missing"))
        return
    refused = old or await _precheck(ctx, subject, sid, revision, state[0], state[1], base)
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


@command("note", role="staff")
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

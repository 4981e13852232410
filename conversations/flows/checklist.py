"""Step 1: tick every test the lab performed in the previous year (for participation and pass rates).

Ticks are saved as they are made (`Enrollment.checklist_draft`), prefilled from what was submitted
before, and editable until the deadline. Buttons carry absolute choices ("K on", "K off"), so a double
tap or two quick taps on different items can never undo each other.
"""

from __future__ import annotations

from conversations.context import Ctx
from conversations.events import Button
from conversations.flow import Flow, Step, go, register
from conversations.flows import journey
from conversations.formatting import join
from storage.models import Enrollment, Lab

PAGE = 10


async def _draft(ctx: Ctx) -> tuple[Enrollment, set[str]]:
    enr = await journey.current_enrollment(ctx)
    draft = enr.checklist_draft if enr.checklist_draft is not None else enr.last_year_tests
    known = ctx.campaign.test_index
    return enr, {k for k in draft or [] if k in known}


def _save(enr: Enrollment, selected: set[str], ctx: Ctx) -> None:
    order = list(ctx.campaign.test_index)
    enr.checklist_draft = sorted(selected, key=order.index)


async def show_pick(ctx: Ctx) -> None:
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return
    _, selected = await _draft(ctx)
    code = ctx.state.data.get("sp")
    if code in ctx.campaign.specialty_by_code:
        _show_specialty(ctx, code, selected)
    else:
        _show_overview(ctx, selected, await _blood_supply(ctx))


async def _blood_supply(ctx: Ctx) -> bool:
    lab = await ctx.session.get(Lab, ctx.actor.lab_id)
    kind = ctx.campaign.type_by_code.get(lab.institution_type) if lab else None
    return kind is not None and kind.group == "blood_supply"


def _show_overview(ctx: Ctx, selected: set[str], blood_supply: bool = False) -> None:
    c = ctx.campaign
    buttons = []
    for s in c.specialties:
        n = sum(1 for t in s.tests if f"{s.code}.{t.code}" in selected)
        mark = "☑" if n else "☐"
        buttons.append(ctx.btn(f"{mark} {s.label(ctx.lang)} {n}/{len(s.tests)}", "sp", s.code))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.btn(ctx.t("ck-review"), "sum")])
    rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    # Blood stations are not hospitals: their step 1 is not worded as the hospitals' 绩效考核.
    key = "ck-overview-blood" if blood_supply else "ck-overview"
    ctx.show(ctx.t(key, prev=c.previous_year, count=len(selected)), rows)


def _show_specialty(ctx: Ctx, code: str, selected: set[str]) -> None:
    s = ctx.campaign.specialty_by_code[code]
    pages = max(1, -(-len(s.tests) // PAGE))
    page = min(max(int(ctx.state.data.get("pg", 0)), 0), pages - 1)
    items = s.tests[page * PAGE : (page + 1) * PAGE]
    buttons = []
    for t in items:
        key = f"{s.code}.{t.code}"
        on = key in selected
        label = (
            f"{'☑' if on else '☐'} {t.code} {t.label(ctx.lang)}"
            if t.code != t.name
            else f"{'☑' if on else '☐'} {t.name}"
        )
        buttons.append(ctx.btn(label, "t", f"{key}|{0 if on else 1}"))
    rows: list[list[Button]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.btn(ctx.t("ck-all"), "all", f"{s.code}|1"), ctx.btn(ctx.t("ck-none"), "all", f"{s.code}|0")])
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(ctx.btn(ctx.t("ck-prev"), "pg", f"{s.code}|{page - 1}"))
        if page < pages - 1:
            nav.append(ctx.btn(ctx.t("ck-next"), "pg", f"{s.code}|{page + 1}"))
        rows.append(nav)
    rows.append([ctx.btn(ctx.t("ck-back"), "sp", "")])
    n = sum(1 for t in s.tests if f"{s.code}.{t.code}" in selected)
    text = ctx.t("ck-specialty", name=s.label(ctx.lang), prev=ctx.campaign.previous_year, count=n, total=len(s.tests))
    if pages > 1:
        text += "\n" + ctx.t("ck-page", page=page + 1, pages=pages)
    ctx.show(text, rows)


async def on_pick_button(ctx: Ctx, action: str, arg: str) -> None:
    if journey.refuse_closed(ctx):
        return
    c = ctx.campaign
    if action == "sp":
        ctx.state.data.update(sp=arg if arg in c.specialty_by_code else None, pg=0)
        await show_pick(ctx)
        return
    if action == "pg":
        code, _, page = arg.partition("|")
        if code in c.specialty_by_code and page.isdigit():
            ctx.state.data.update(sp=code, pg=int(page))
        await show_pick(ctx)
        return
    if action == "sum":
        await go(ctx, "summary")
        return
    enr, selected = await _draft(ctx)
    if action == "t":
        key, _, value = arg.partition("|")
        if key not in c.test_index or value not in ("0", "1"):
            ctx.toast(ctx.t("button-unknown"))
            return
        (selected.add if value == "1" else selected.discard)(key)
        ctx.state.data["sp"] = key.split(".", 1)[0]
    elif action == "all":
        code, _, value = arg.partition("|")
        spec = c.specialty_by_code.get(code)
        if spec is None or value not in ("0", "1"):
            ctx.toast(ctx.t("button-unknown"))
            return
        keys = {f"{code}.{t.code}" for t in spec.tests}
        selected = selected | keys if value == "1" else selected - keys
        ctx.state.data["sp"] = code
    else:
        ctx.toast(ctx.t("button-unknown"))
        return
    _save(enr, selected, ctx)
    await show_pick(ctx)


async def show_summary(ctx: Ctx) -> None:
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return
    _, selected = await _draft(ctx)
    lines = [ctx.t("ck-summary", prev=ctx.campaign.previous_year, count=len(selected)), ""]
    for s in ctx.campaign.specialties:
        chosen = [t.code if t.code != t.name else t.name for t in s.tests if f"{s.code}.{t.code}" in selected]
        if chosen:
            lines.append(f"• {s.label(ctx.lang)}（{len(chosen)}）：{join(chosen, ctx.lang)}")
    rows = [[ctx.btn(ctx.t("ck-submit"), "ok")], [ctx.btn(ctx.t("ck-edit"), "edit")]]
    if not selected:
        lines.append(ctx.t("ck-none-selected"))
        rows = [[ctx.btn(ctx.t("ck-edit"), "edit")]]
    ctx.show("\n".join(lines), rows)


async def on_summary_button(ctx: Ctx, action: str, arg: str) -> None:
    if journey.refuse_closed(ctx):
        return
    if action == "edit":
        ctx.state.data.update(sp=None, pg=0)
        await go(ctx, "pick")
        return
    if action != "ok":
        ctx.toast(ctx.t("button-unknown"))
        return
    enr, selected = await _draft(ctx)
    if not selected:
        await show_summary(ctx)
        return
    before = list(enr.last_year_tests or [])
    order = list(ctx.campaign.test_index)
    enr.last_year_tests = sorted(selected, key=order.index)
    enr.checklist_draft = None
    enr.checklist_submitted_at = ctx.now
    journey.fixed(enr, "checklist")
    if enr.status in ("submitted", "approved") and enr.last_year_tests != before:
        # The notice: step 1 may be changed any number of times until the deadline, also after submission.
        # The change is a new revision for the reviewer; nothing else is reopened.
        status = enr.status
        enr.status, enr.revision, enr.submitted_at = "submitted", enr.revision + 1, ctx.now
        ctx.audit(
            "submitted",
            "enrollment",
            enr.id,
            lab_id=enr.lab_id,
            before={"status": status, "revision": enr.revision - 1},
            after={"status": "submitted", "revision": enr.revision, "changed": "checklist"},
        )
        ctx.signal("enrollment_submitted", enrollment_id=enr.id, revision=enr.revision)
        ctx.end()
        ctx.note(ctx.t("ck-resubmitted", revision=enr.revision))
        await journey.resume(ctx)
        return
    ctx.audit(
        "checklist_submitted",
        "enrollment",
        enr.id,
        lab_id=enr.lab_id,
        before={"tests": before},
        after={"tests": enr.last_year_tests},
    )
    ctx.end()
    await journey.resume(ctx, note=ctx.t("ck-done", count=len(selected), prev=ctx.campaign.previous_year))


register(
    Flow(
        "checklist",
        "pick",
        {
            "pick": Step(show=show_pick, on_button=on_pick_button),
            "summary": Step(show=show_summary, on_button=on_summary_button),
        },
    )
)

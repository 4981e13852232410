"""Step 1: tick every test the lab performed in the previous year (for participation and pass rates).

Ticks are saved as they are made (`Enrollment.checklist_draft`), prefilled from what was submitted
before, and editable until the deadline. Tests the catalogue lacks (it is not the centre's annex 3) are
typed as free text (`Enrollment.extra_tests`, drafted in `extra_tests_draft`) and shown to the reviewer.
Buttons carry absolute choices ("K on", "K off"), so a double tap or two quick taps on different items
can never undo each other.
"""

from __future__ import annotations

import re

from conversations import validators
from conversations.context import Ctx
from conversations.events import Button
from conversations.flow import Flow, Step, go, register
from conversations.flows import journey
from conversations.formatting import join
from storage.models import Enrollment, Lab

PAGE = 10
MAX_EXTRA = 30
EXTRA_MAX_LEN = 40
_EXTRA_SPLIT = re.compile(r"[、,，;；\n]+")


async def _draft(ctx: Ctx) -> tuple[Enrollment, set[str]]:
    enr = await journey.current_enrollment(ctx)
    draft = enr.checklist_draft if enr.checklist_draft is not None else enr.last_year_tests
    known = ctx.campaign.test_index
    return enr, {k for k in draft or [] if k in known}


def _extras(enr: Enrollment) -> list[str]:
    draft = enr.extra_tests_draft if enr.extra_tests_draft is not None else enr.extra_tests
    return list(draft or [])


def _save(enr: Enrollment, selected: set[str], ctx: Ctx) -> None:
    order = list(ctx.campaign.test_index)
    enr.checklist_draft = sorted(selected, key=order.index)


async def show_pick(ctx: Ctx) -> None:
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return
    enr, selected = await _draft(ctx)
    code = ctx.state.data.get("sp")
    if code in ctx.campaign.specialty_by_code:
        _show_specialty(ctx, code, selected)
    else:
        _show_overview(ctx, selected, await _blood_supply(ctx), len(_extras(enr)))


async def _blood_supply(ctx: Ctx) -> bool:
    lab = await ctx.session.get(Lab, ctx.actor.lab_id)
    kind = ctx.campaign.type_by_code.get(lab.institution_type) if lab else None
    return kind is not None and kind.group == "blood_supply"


def _show_overview(ctx: Ctx, selected: set[str], blood_supply: bool = False, extras: int = 0) -> None:
    c = ctx.campaign
    buttons = []
    for s in c.specialties:
        n = sum(1 for t in s.tests if f"{s.code}.{t.code}" in selected)
        mark = "☑" if n else "☐"
        buttons.append(ctx.btn(f"{mark} {s.label(ctx.lang)} {n}/{len(s.tests)}", "sp", s.code))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.btn(ctx.t("ck-extra-button", count=extras), "x", "")])
    rows.append([ctx.btn(ctx.t("ck-review"), "sum")])
    rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    # Blood stations are not hospitals: their step 1 is not worded as the hospitals' 绩效考核.
    key = "ck-overview-blood" if blood_supply else "ck-overview"
    ctx.show(ctx.t(key, prev=c.previous_year, count=len(selected) + extras), rows)


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
    if action == "x":
        await go(ctx, "extra")
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
    enr, selected = await _draft(ctx)
    extras = _extras(enr)
    lines = [ctx.t("ck-summary", prev=ctx.campaign.previous_year, count=len(selected) + len(extras)), ""]
    for s in ctx.campaign.specialties:
        chosen = [t.code if t.code != t.name else t.name for t in s.tests if f"{s.code}.{t.code}" in selected]
        if chosen:
            lines.append(f"• {s.label(ctx.lang)}（{len(chosen)}）：{join(chosen, ctx.lang)}")
    if extras:
        lines.append(ctx.t("ck-extra-line", count=len(extras), list=join(extras, ctx.lang)))
    rows = [[ctx.btn(ctx.t("ck-submit"), "ok")], [ctx.btn(ctx.t("ck-edit"), "edit")]]
    if not selected and not extras:
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
    extras = _extras(enr)
    if not selected and not extras:
        await show_summary(ctx)
        return
    before = list(enr.last_year_tests or [])
    extras_before = list(enr.extra_tests or [])
    order = list(ctx.campaign.test_index)
    enr.last_year_tests = sorted(selected, key=order.index)
    enr.extra_tests = extras
    enr.checklist_draft = enr.extra_tests_draft = None
    enr.checklist_submitted_at = ctx.now
    journey.fixed(enr, "checklist")
    changed = enr.last_year_tests != before or extras != extras_before
    if enr.status in ("submitted", "approved") and changed:
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
        before={"tests": before, "extra": extras_before},
        after={"tests": enr.last_year_tests, "extra": extras},
    )
    ctx.end()
    count = len(selected) + len(extras)
    await journey.resume(ctx, note=ctx.t("ck-done", count=count, prev=ctx.campaign.previous_year))


# -- tests the catalogue lacks ------------------------------------------------------------------------------
async def show_extra(ctx: Ctx) -> None:
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return
    enr = await journey.current_enrollment(ctx)
    extras = _extras(enr)
    lines = [ctx.t("ck-extra-intro", prev=ctx.campaign.previous_year, max=MAX_EXTRA)]
    lines.append(ctx.t("ck-extra-list", list=join(extras, ctx.lang)) if extras else ctx.t("ck-extra-empty"))
    removes = [ctx.btn(f"✖ {name}", "xdel", str(i)) for i, name in enumerate(extras)]
    rows: list[list[Button]] = [removes[i : i + 2] for i in range(0, len(removes), 2)]
    rows.append([ctx.btn(ctx.t("ck-back"), "back")])
    ctx.show("\n".join(lines), rows)


def _catalogue_match(ctx: Ctx, name: str) -> str | None:
    """The catalogue key of a typed name that is a listed test ("ALT", "钾"), so it is ticked instead."""
    folded = name.casefold()
    for key, (_, test) in ctx.campaign.test_index.items():
        if folded in (test.code.casefold(), test.name.casefold(), test.label("en").casefold()):
            return key
    return None


async def on_extra_text(ctx: Ctx, text: str) -> None:
    if journey.refuse_closed(ctx):
        return
    enr, selected = await _draft(ctx)
    extras = _extras(enr)
    names: list[str] = []
    for part in _EXTRA_SPLIT.split(text):
        if not part.strip():
            continue
        if _catalogue_match(ctx, part.strip()) is not None:  # "K" is a listed test, however short
            names.append(part.strip())
            continue
        checked = validators.text_field(part, max_len=EXTRA_MAX_LEN, min_len=2)
        if not checked.ok:  # one bad name: nothing is added, and the reply names it
            # The shared text check's emoji message speaks of invoices and envelopes; a test name has its own.
            error = "ck-extra-emoji" if checked.error == "val-text-emoji" else checked.error or ""
            reason = ctx.t(error, **checked.args)
            ctx.note(ctx.t("ck-extra-refused", name=part.strip()[:EXTRA_MAX_LEN], reason=reason))
            await show_extra(ctx)
            return
        names.append(checked.value or "")
    if not names:
        ctx.note(ctx.t("ck-extra-refused", name=text.strip()[:EXTRA_MAX_LEN], reason=ctx.t("val-empty")))
        await show_extra(ctx)
        return
    ticked: list[str] = []
    for name in names:
        key = _catalogue_match(ctx, name)
        if key is not None:
            selected.add(key)
            ticked.append(name)
        elif name.casefold() not in {e.casefold() for e in extras}:
            extras.append(name)
    if len(extras) > MAX_EXTRA:
        ctx.note(ctx.t("ck-extra-too-many", max=MAX_EXTRA))
        await show_extra(ctx)
        return
    enr.extra_tests_draft = extras
    if ticked:
        _save(enr, selected, ctx)
        ctx.note(ctx.t("ck-extra-in-catalogue", list=join(ticked, ctx.lang)))
    await show_extra(ctx)


async def on_extra_button(ctx: Ctx, action: str, arg: str) -> None:
    if journey.refuse_closed(ctx):
        return
    if action == "back":
        ctx.state.data.update(sp=None, pg=0)
        await go(ctx, "pick")
        return
    enr = await journey.current_enrollment(ctx)
    extras = _extras(enr)
    if action != "xdel" or not arg.isdigit() or int(arg) >= len(extras):
        ctx.toast(ctx.t("button-unknown"))
        await show_extra(ctx)
        return
    del extras[int(arg)]
    enr.extra_tests_draft = extras
    await show_extra(ctx)


register(
    Flow(
        "checklist",
        "pick",
        {
            "pick": Step(show=show_pick, on_button=on_pick_button),
            "summary": Step(show=show_summary, on_button=on_summary_button),
            "extra": Step(show=show_extra, on_text=on_extra_text, on_button=on_extra_button),
        },
    )
)

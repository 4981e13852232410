"""The home screen, /start, /help and /status: what the bot does, where the person stands, what next."""

from __future__ import annotations

from conversations.context import Ctx
from conversations.events import Button
from conversations.formatting import day, join
from conversations.progress import Progress, progress
from storage.models import Lab


def deadline_line(ctx: Ctx) -> str:
    c = ctx.campaign
    if ctx.closed:
        return ctx.t("deadline-closed", deadline=day(c.deadline, ctx.lang))
    return ctx.t("deadline-left", deadline=day(c.deadline, ctx.lang), days=c.days_left(ctx.now))


def menu_buttons(ctx: Ctx, *, with_status: bool = True) -> list[list[Button]]:
    """What a person can do from anywhere, by who they are."""
    rows: list[list[Button]] = []
    if ctx.actor.lab_id is not None:
        rows.append([ctx.gbtn(ctx.t("btn-continue"), "go", "journey")])
        if with_status:
            rows.append([ctx.gbtn(ctx.t("btn-status"), "go", "status")])
    elif not ctx.actor.is_staff:
        rows.append([ctx.gbtn(ctx.t("btn-bind"), "go", "bind"), ctx.gbtn(ctx.t("btn-apply"), "go", "apply")])
    if ctx.actor.is_staff:
        rows.append([ctx.gbtn(ctx.t("btn-queue"), "rv", "queue"), ctx.gbtn(ctx.t("btn-stats"), "rv", "stats")])
    rows.append([ctx.gbtn(ctx.t("btn-faq"), "faq", ""), ctx.gbtn(ctx.t("btn-contacts"), "faq", "contacts")])
    return rows


async def show_welcome(ctx: Ctx) -> None:
    c = ctx.campaign
    text = ctx.t(
        "welcome",
        centre=c.centre_en if ctx.lang == "en" else c.centre,
        year=c.year,
        prev=c.previous_year,
        fees=c.fees.mode_en if ctx.lang == "en" else c.fees.mode,
        website=c.website,
        licence=await _licence_name(ctx),
    )
    who = await _who(ctx)
    ctx.show(f"{text}\n\n{who}\n{deadline_line(ctx)}", menu_buttons(ctx))


async def show_help(ctx: Ctx) -> None:
    lines = [ctx.t("help-contact")]
    if ctx.actor.is_staff:
        lines.append(ctx.t("help-reviewer"))
    if ctx.actor.is_admin:
        lines.append(ctx.t("help-admin"))
    ctx.show("\n\n".join(lines), menu_buttons(ctx))


async def _licence_name(ctx: Ctx) -> str:
    """The licence the bound lab's kind holds (a blood centre's is not a hospital's); generic otherwise."""
    lab = await ctx.session.get(Lab, ctx.actor.lab_id) if ctx.actor.lab_id is not None else None
    if lab is None:
        return ctx.t("licence-generic")
    return ctx.campaign.licence_name(lab.institution_type, ctx.lang)


async def _who(ctx: Ctx) -> str:
    if ctx.actor.lab_id is not None:
        lab = await ctx.session.get(Lab, ctx.actor.lab_id)
        assert lab is not None
        return ctx.t("who-contact", lab=lab.name, code=lab.code)
    if ctx.actor.is_staff:
        return ctx.t("who-staff")
    return ctx.t("who-guest")


def step_lines(ctx: Ctx, p: Progress) -> list[str]:
    c = ctx.campaign
    steps = (
        (p.checklist_done, ctx.t("step-checklist", prev=c.previous_year)),
        (p.plan_done, ctx.t("step-plan", year=c.year)),
        (p.documents_done, ctx.t("step-documents")),
    )
    return [("✅ " if done else "⬜ ") + name for done, name in steps]


async def show_status(ctx: Ctx) -> None:
    if ctx.actor.lab_id is None:
        ctx.show(ctx.t("status-unbound") + "\n" + deadline_line(ctx), menu_buttons(ctx, with_status=False))
        return
    lab = await ctx.session.get(Lab, ctx.actor.lab_id)
    assert lab is not None
    p = await progress(ctx.session, ctx.campaign, lab, ctx.now)
    lines = [ctx.t("status-title", year=ctx.campaign.year, lab=lab.name, code=lab.code), ""]
    lines += step_lines(ctx, p)
    if p.missing and p.status not in ("submitted", "approved"):
        lines += ["", ctx.t("status-missing", items=join((ctx.t(m) for m in p.missing), ctx.lang))]
    lines += ["", ctx.t("status-review", state=ctx.t(f"review-state-{p.status}"))]
    if p.returned:
        lines.append(ctx.t("status-returned-items", items=join((ctx.t(f"item-{i}") for i in p.returned), ctx.lang)))
    lines.append(deadline_line(ctx))
    if ctx.closed and p.status not in ("submitted", "approved"):
        lines += ["", ctx.t("closed-consequence"), ctx.campaign.contacts.text(ctx.lang)]
    rows = menu_buttons(ctx, with_status=False)
    if p.status in ("submitted", "approved") and not ctx.closed:
        # Step 1 stays editable until the deadline, also after submission (the notice).
        rows.insert(1, [ctx.gbtn(ctx.t("ck-edit-after"), "go", "checklist")])
    ctx.show("\n".join(lines), rows)

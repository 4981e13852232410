"""Admins issue one-time binding codes for a lab: `/codes HN0001` (a main contact) or
`/codes HN0001 backup` (a backup contact). The plain code is shown once and never stored."""

from __future__ import annotations

from datetime import timedelta

from conversations.context import Ctx
from conversations.flows.home import menu_buttons
from conversations.formatting import day
from handlers.routing import command
from storage.repos.bindings import display_code, issue
from storage.repos.people import lab_by_code

VALID_DAYS = 60


@command("codes", role="admin")
async def codes(ctx: Ctx) -> None:
    parts = ctx.event.args.split()
    if not parts:
        ctx.say(ctx.t("codes-usage"))
        return
    lab = await lab_by_code(ctx.session, parts[0].upper())
    if lab is None:
        ctx.say(ctx.t("codes-unknown-lab", code=parts[0][:32]))
        return
    backup = len(parts) > 1 and parts[1].lower() in ("backup", "备用")
    code = await issue(ctx.session, lab.id, now=ctx.now, created_by=ctx.actor.ref, days=VALID_DAYS, for_backup=backup)
    ctx.audit("binding_code_issued", "lab", lab.id, lab_id=lab.id, after={"backup": backup})
    until = day((ctx.now + timedelta(days=VALID_DAYS)).astimezone(ctx.campaign.tz).date(), ctx.lang)
    ctx.say(
        ctx.t(
            "codes-issued-backup" if backup else "codes-issued",
            lab=lab.name,
            code=lab.code,
            binding=display_code(code),
            link=f"/start {lab.code}_{code}",
            until=until,
        ),
        menu_buttons(ctx),
        secret=True,  # the plain code must not stay in the outbox (nor in backups of it)
    )

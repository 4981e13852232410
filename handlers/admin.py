"""The centre's administration in the chat: reviewers granted and revoked, each lab's audit log, and the
admin buttons. The roster import and binding codes are in `handlers.admin_roster`, the export in
`handlers.admin_export`.

Admins come from settings (EQA_ADMIN_IDS) or are staff admins; every command, button and flow step checks the
role again for the update at hand.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from conversations.context import Ctx
from conversations.events import Reply, global_button, keyboard
from conversations.flows.home import menu_buttons
from conversations.formatting import day, moment
from handlers.admin_export import prepare_export, send_export
from handlers.admin_roster import codes_batch, staff_buttons
from handlers.review_desk import fit
from handlers.roles import is_settings_admin, refuse
from handlers.routing import action, command
from storage.models import Lab
from storage.repos import reports
from storage.repos.audit import display_names, for_lab
from storage.repos.people import lab_by_code
from storage.repos.reviews import grant, revoke, staff_list

log = logging.getLogger(__name__)

AUDIT_PAGE = 15
_USER_ID = re.compile(r"^-?[A-Za-z0-9_.:@-]{1,64}$")


# -- who am I, reviewers --------------------------------------------------------------------------------------
@command("myid")
async def myid(ctx: Ctx) -> None:
    """What an admin needs to grant someone a role."""
    ctx.say(ctx.t("adm-myid", user=ctx.actor.user_id, chat=ctx.actor.chat_id), menu_buttons(ctx))


@command("grant", role="admin")
async def grant_command(ctx: Ctx) -> None:
    parts = ctx.event.args.split()
    if not parts or not _USER_ID.match(parts[0]):
        ctx.say(ctx.t("adm-grant-usage"), staff_buttons(ctx))
        return
    user_id, rest = parts[0], parts[1:]
    role = "reviewer"
    if rest and rest[0].lower() in ("admin", "管理员"):
        # Staff admins are made only by the admins named in settings.
        if not is_settings_admin(ctx.services.admin_ids, ctx.actor.platform, ctx.actor.user_id):
            ctx.say(ctx.t("adm-grant-admin-refused"), staff_buttons(ctx))
            return
        role, rest = "admin", rest[1:]
    name = " ".join(rest)[:60] or None
    outcome, before = await grant(
        ctx.session, ctx.actor.platform, user_id, role=role, name=name, by=ctx.actor.ref, now=ctx.now
    )
    ref = f"{ctx.actor.platform}:{user_id}"
    if outcome != "unchanged":
        ctx.audit("staff_granted", "staff", ref, before=before, after={"role": role, "active": True, "name": name})
        ctx.push(
            Reply(
                ctx.services.catalog.t("zh", "adm-granted-you", role=ctx.services.catalog.t("zh", f"adm-role-{role}")),
                keyboard([global_button(ctx.services.catalog.t("zh", "btn-queue"), "rv", "queue")]),
                chat_id=user_id,
                platform=ctx.actor.platform,
            )
        )
    ctx.say(ctx.t(f"adm-grant-{outcome}", user=user_id, role=ctx.t(f"adm-role-{role}")), staff_buttons(ctx))


@command("revoke", role="admin")
async def revoke_command(ctx: Ctx) -> None:
    parts = ctx.event.args.split()
    if not parts or not _USER_ID.match(parts[0]):
        ctx.say(ctx.t("adm-revoke-usage"), staff_buttons(ctx))
        return
    user_id = parts[0]
    if is_settings_admin(ctx.services.admin_ids, ctx.actor.platform, user_id):
        ctx.say(ctx.t("adm-revoke-settings-admin", user=user_id), staff_buttons(ctx))
        return
    row = await revoke(ctx.session, ctx.actor.platform, user_id)
    if row is None:
        ctx.say(ctx.t("adm-revoke-none", user=user_id), staff_buttons(ctx))
        return
    ctx.audit(
        "staff_revoked",
        "staff",
        f"{ctx.actor.platform}:{user_id}",
        before={"role": row.role, "active": True},
        after={"role": row.role, "active": False},
    )
    ctx.say(ctx.t("adm-revoked", user=user_id, role=ctx.t(f"adm-role-{row.role}")), staff_buttons(ctx))


@command("reviewers", role="admin")
async def reviewers_command(ctx: Ctx) -> None:
    rows = await staff_list(ctx.session)
    names = await display_names(ctx.session, [f"{r.platform}:{r.user_id}" for r in rows])
    lines = [ctx.t("adm-staff-title")]
    for admin_id in sorted(ctx.services.admin_ids):
        lines.append("• " + ctx.t("adm-staff-settings-admin", user=admin_id))
    for r in rows:
        lines.append(
            "• "
            + ctx.t(
                "adm-staff-line",
                user=r.user_id,
                name=r.name or names.get(f"{r.platform}:{r.user_id}", "—"),
                role=ctx.t(f"adm-role-{r.role}"),
                state=ctx.t("adm-staff-active" if r.active else "adm-staff-inactive"),
                since=day(r.granted_at.astimezone(ctx.campaign.tz).date(), ctx.lang),
            )
        )
    if not rows:
        lines.append(ctx.t("adm-staff-none"))
    lines.append(ctx.t("adm-staff-how"))
    ctx.say(fit("\n".join(lines)), staff_buttons(ctx))


# -- the audit log ---------------------------------------------------------------------------------------------
@command("audit", role="admin")
async def audit_command(ctx: Ctx) -> None:
    code = ctx.event.args.strip().split()[0] if ctx.event.args.strip() else ""
    if not code:
        ctx.say(ctx.t("adm-audit-usage"), staff_buttons(ctx))
        return
    lab = await lab_by_code(ctx.session, code.upper()[:32])
    if lab is None:
        found = await reports.find_labs(ctx.session, code[:100])
        lab = found[0] if len(found) == 1 else None
    if lab is None:
        ctx.say(ctx.t("rv-lab-not-found", query=code[:40]), staff_buttons(ctx))
        return
    await show_audit(ctx, lab.id, 0)


def _brief(value: Mapping[str, Any] | None) -> str:
    if not value:
        return ""
    parts = []
    for k, v in value.items():
        text = v if isinstance(v, str) else ("、".join(map(str, v)) if isinstance(v, list) else str(v))
        parts.append(f"{k}={text}")
    return fit("; ".join(parts), 160)


async def show_audit(ctx: Ctx, lab_id: int, offset: int) -> None:
    lab = await ctx.session.get(Lab, lab_id)
    if lab is None:
        ctx.toast(ctx.t("rv-missing"), alert=True)
        return
    entries, total = await for_lab(ctx.session, lab.id, limit=AUDIT_PAGE, offset=offset)
    names = await display_names(ctx.session, {e.actor for e in entries})
    lines = [ctx.t("adm-audit-title", name=lab.name, code=lab.code, total=total), ""]
    for e in entries:
        who = names.get(e.actor, e.actor)
        line = f"{moment(e.at, ctx.lang, ctx.campaign.tz)} · {who} · {e.action}"
        if e.before:
            line += f"\n   {ctx.t('adm-audit-before')}: {_brief(e.before)}"
        if e.after:
            line += f"\n   {ctx.t('adm-audit-after')}: {_brief(e.after)}"
        lines.append(line)
    if not entries:
        lines.append(ctx.t("adm-audit-empty"))
    nav = []
    if offset > 0:
        nav.append(ctx.gbtn(ctx.t("rv-btn-prev"), "adm", f"audit.{lab.id}.{max(0, offset - AUDIT_PAGE)}"))
    if offset + AUDIT_PAGE < total:
        nav.append(ctx.gbtn(ctx.t("rv-btn-next"), "adm", f"audit.{lab.id}.{offset + AUDIT_PAGE}"))
    rows = [nav] if nav else []
    rows.append([ctx.gbtn(ctx.t("rv-btn-lab"), "rv", f"lab.{lab.id}"), ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    ctx.show(fit("\n".join(lines)), rows)


# -- buttons ---------------------------------------------------------------------------------------------------
@action("adm", role="staff", prepare=prepare_export)
async def admin_button(ctx: Ctx, arg: str) -> None:
    parts = arg.split(".")
    if parts[0] == "export":
        await send_export(ctx)
        return
    if not ctx.actor.is_admin:  # the rest is for admins only
        refuse(ctx, f"button adm {parts[0][:16]}")
        return
    if parts[0] == "audit" and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        await show_audit(ctx, int(parts[1]), int(parts[2]))
        return
    if parts[0] == "codes":
        await codes_batch(ctx, [])
        return
    log.warning("update %s: malformed admin button %r from %s", ctx.event.update_id, arg[:40], ctx.actor.ref)
    ctx.toast(ctx.t("button-unknown"), alert=True)

"""Admins remove a person's access to a lab (people leave labs): `/unbind HN0001` lists the people bound to
it, a tap picks one, a second tap confirms. The contact row stays (inactive, for the audit and the history),
the person is told in their own chat, and an audit entry records who removed whom."""

from __future__ import annotations

from conversations.context import Ctx
from conversations.events import Reply, global_button, keyboard
from conversations.flows.home import menu_buttons
from handlers.routing import action, command
from storage.models import Contact, Lab
from storage.repos.people import lab_by_code, lab_contacts


def _who(ctx: Ctx, contact: Contact) -> str:
    role = ctx.t("unbind-role-backup" if contact.is_backup else "unbind-role-main")
    return ctx.t("unbind-person", name=contact.name or "—", role=role, user=f"{contact.platform}:{contact.user_id}")


@command("unbind", role="admin")
async def unbind_command(ctx: Ctx) -> None:
    parts = ctx.event.args.split()
    if not parts:
        ctx.say(ctx.t("unbind-usage"), menu_buttons(ctx))
        return
    lab = await lab_by_code(ctx.session, parts[0].upper())
    if lab is None:
        ctx.say(ctx.t("unbind-unknown-lab", code=parts[0][:32]), menu_buttons(ctx))
        return
    contacts = await lab_contacts(ctx.session, lab.id)
    if not contacts:
        ctx.say(ctx.t("unbind-none", lab=lab.name, code=lab.code), menu_buttons(ctx))
        return
    rows = [[ctx.gbtn(_who(ctx, c), "unb", f"ask.{c.id}")] for c in contacts[:20]]
    rows.append([ctx.gbtn(ctx.t("unbind-btn-cancel"), "unb", "x")])
    ctx.say(ctx.t("unbind-pick", lab=lab.name, code=lab.code), rows)


@action("unb", role="admin")
async def unbind_button(ctx: Ctx, arg: str) -> None:
    op, _, rest = arg.partition(".")
    if op == "x":
        ctx.show(ctx.t("unbind-cancelled"), menu_buttons(ctx))
        return
    contact = await ctx.session.get(Contact, int(rest)) if op in ("ask", "do") and rest.isdigit() else None
    lab = await ctx.session.get(Lab, contact.lab_id) if contact is not None else None
    if contact is None or lab is None:
        ctx.toast(ctx.t("button-unknown"), alert=True)
        return
    who = _who(ctx, contact)
    if not contact.active or contact.user_id is None:  # an old screen, or someone else removed them first
        ctx.show(ctx.t("unbind-already", name=who, lab=lab.name, code=lab.code), menu_buttons(ctx))
        return
    if op == "ask":
        ctx.show(
            ctx.t("unbind-confirm", name=who, lab=lab.name, code=lab.code),
            [
                [
                    ctx.gbtn(ctx.t("unbind-btn-confirm"), "unb", f"do.{contact.id}"),
                    ctx.gbtn(ctx.t("unbind-btn-cancel"), "unb", "x"),
                ]
            ],
        )
        return
    before = {"active": True, "user": f"{contact.platform}:{contact.user_id}", "backup": contact.is_backup}
    # blocked_at cleared too: a contact who blocked the bot is made active again when they write, a removed
    # one must not be.
    contact.active, contact.blocked_at = False, None
    ctx.audit("contact_unbound", "contact", contact.id, lab_id=lab.id, before=before, after={"active": False})
    ctx.show(ctx.t("unbind-done", name=who, lab=lab.name, code=lab.code), menu_buttons(ctx))
    t = ctx.services.catalog
    lang = contact.language if contact.language in ("zh", "en") else "zh"
    ctx.push(
        Reply(
            t.t(lang, "unbind-told", lab=lab.name, code=lab.code),
            keyboard([global_button(t.t(lang, "btn-menu"), "go", "menu")]),
            chat_id=contact.chat_id or contact.user_id,
            platform=contact.platform,
        )
    )

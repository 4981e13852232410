"""Who may do what. Established from the database and settings for every single update, button presses
included: nothing a client sends (button data, a command) grants a role."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.context import Actor, Ctx, Services
from conversations.events import Inbound
from storage.repos.people import active_contact, staff_role

log = logging.getLogger(__name__)


async def resolve_actor(session: AsyncSession, event: Inbound, services: Services) -> Actor:
    is_admin = event.user_id in services.admin_ids
    role = await staff_role(session, event.platform, event.user_id)
    contact = await active_contact(session, event.platform, event.user_id)
    return Actor(
        platform=event.platform,
        user_id=event.user_id,
        chat_id=event.chat_id,
        name=event.user_name,
        is_admin=is_admin or role == "admin",
        is_reviewer=role in ("reviewer", "admin") or is_admin,
        lab_id=contact.lab_id if contact else None,
        contact_id=contact.id if contact else None,
    )


def refuse(ctx: Ctx, what: str) -> None:
    """Answer an unauthorised attempt without revealing anything, and leave a trace."""
    log.warning("refused %s for %s (update %s)", what, ctx.actor.ref, ctx.event.update_id)
    ctx.audit("refused", "permission", what)
    if ctx.event.kind == "button":
        ctx.toast(ctx.t("not-allowed"), alert=True)
    else:
        ctx.say(ctx.t("not-allowed"))

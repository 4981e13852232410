"""Who may do what. Established from the database and settings for every single update, button presses
included: nothing a client sends (button data, a command) grants a role."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.context import Actor, Ctx, Services
from conversations.events import Inbound
from storage.models import Contact
from storage.repos.people import Sender, sender

log = logging.getLogger(__name__)


# A contact's "last seen" is refreshed at most this often: a write per update would cost more than it tells.
SEEN_EVERY = timedelta(minutes=10)


def is_settings_admin(admin_ids: frozenset[str], platform: str, user_id: str) -> bool:
    """EQA_ADMIN_IDS holds platform-qualified ids ("wechat:OPENID", "telegram:123"); a bare id is a Telegram
    one (and, for the console and tests, any platform's but WeChat's: an OPENID is always qualified)."""
    return f"{platform}:{user_id}" in admin_ids or (platform != "wechat" and user_id in admin_ids)


async def resolve_actor(
    session: AsyncSession, event: Inbound, services: Services, now: datetime
) -> tuple[Actor, Sender]:
    """Who sent this update, from the database and settings. A contact who had blocked the bot and writes
    again is active again; any update answers the reminders they were sent."""
    who = await sender(session, event.platform, event.user_id)
    is_admin = is_settings_admin(services.admin_ids, event.platform, event.user_id)
    if who.contact_id is not None:
        stale = who.last_seen_at is None or now - who.last_seen_at >= SEEN_EVERY
        if not who.contact_active or who.unanswered_reminders or stale:
            await session.execute(
                update(Contact)
                .where(Contact.id == who.contact_id)
                .values(active=True, blocked_at=None, unanswered_reminders=0, last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
    actor = Actor(
        platform=event.platform,
        user_id=event.user_id,
        chat_id=event.chat_id,
        name=event.user_name,
        is_admin=is_admin or who.role == "admin",
        is_reviewer=who.role in ("reviewer", "admin") or is_admin,
        lab_id=who.lab_id,
        contact_id=who.contact_id,
    )
    return actor, who


def refuse(ctx: Ctx, what: str) -> None:
    """Answer an unauthorised attempt without revealing anything, and leave a trace."""
    log.warning("refused %s for %s (update %s)", what, ctx.actor.ref, ctx.event.update_id)
    ctx.audit("refused", "permission", what)
    if ctx.event.kind == "button":
        ctx.toast(ctx.t("not-allowed"), alert=True)
    else:
        ctx.say(ctx.t("not-allowed"))
